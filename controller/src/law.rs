//! The Cartesian impedance law with nullspace posture and SERL-style per-axis error clipping.
//!
//! Per cycle, with `x` the TCP pose, `x_d` the (workspace-clamped) target, `J` the TCP Jacobian, `M` the mass
//! matrix and `J̄ = M⁻¹Jᵀ(JM⁻¹Jᵀ)⁻¹` the dynamically consistent inverse:
//!
//! ```text
//! e      = [p_d − p ; log(R_d Rᵀ)]                  (rotation vector, base frame)
//! e_c    = clip(e) per axis to ±translational_clip / ±rotational_clip
//! F      = K e_c − D ẋ,             ẋ = J q̇
//! τ_null = k_ns (q_posture − q) − 2√k_ns q̇
//! τ      = Jᵀ F + (I − Jᵀ J̄ᵀ) τ_null + C(q, q̇) q̇ (+ g(q) when the arm does not compensate gravity itself)
//! ```
//!
//! Clipping the error bounds the force a far target can produce (`|F_i| ≤ K_i·clip_i` at rest), so the TCP moves
//! towards a distant target at a bounded speed of about `K_i·clip_i / D_i`.
//!
//! Real-time: [`ImpedanceLaw::compute`] uses stack types only and never allocates.

use crate::model::{JointColumn, Kinematics, RobotModel};
use interfaces::config::check_gains;
use interfaces::drivers::{JointVec, MAX_DOF};
use interfaces::msg::ImpedanceGains;
use nalgebra::{Isometry3, SMatrix, Vector3, Vector6};
use thiserror::Error;

/// Regularisation added to `J M⁻¹ Jᵀ` before solving, so the nullspace projector stays finite at singularities.
const LAMBDA_REGULARISATION: f64 = 1e-6;

/// Gains rejected by [`ValidatedGains::new`]; the gains in force stay unchanged.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("impedance gains rejected: {}", .problems.join("; "))]
pub struct GainsError {
    /// Each out-of-range value with its key and allowed range.
    pub problems: Vec<String>,
}

/// Impedance gains that passed [`interfaces::config::check_gains`]: the only way gains reach the law.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidatedGains(ImpedanceGains);

impl ValidatedGains {
    /// Validates `g` against [`interfaces::config::gain_ranges`]. Allocates (call it off the real-time thread).
    pub fn new(g: ImpedanceGains) -> Result<Self, GainsError> {
        let problems = check_gains(&g, "gains");
        if problems.is_empty() {
            Ok(Self(g))
        } else {
            Err(GainsError { problems: problems.iter().map(ToString::to_string).collect() })
        }
    }
    /// The gains.
    pub fn get(&self) -> &ImpedanceGains {
        &self.0
    }
}

/// One evaluation of the law.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LawOutput {
    /// Joint torques, N·m (before the safety envelope).
    pub tau: JointVec,
    /// Pose error before clipping: `[ex, ey, ez]` m, then rotation vector rad, base frame.
    pub error: [f64; 6],
    /// True when any error axis was clipped.
    pub clipped: bool,
    /// TCP twist `ẋ = J q̇`: m/s then rad/s, base frame.
    pub twist: [f64; 6],
}

/// The Cartesian impedance law.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpedanceLaw {
    gains: ValidatedGains,
    posture: JointVec,
    add_gravity: bool,
}

impl ImpedanceLaw {
    /// A law with `gains`, the nullspace `posture` (rad) and whether to add `g(q)` (true when the arm does not
    /// compensate gravity itself).
    pub fn new(gains: ValidatedGains, posture: JointVec, add_gravity: bool) -> Self {
        Self { gains, posture, add_gravity }
    }
    /// Gains in force.
    pub fn gains(&self) -> &ImpedanceGains {
        self.gains.get()
    }
    /// Replaces the gains (already validated).
    pub fn set_gains(&mut self, g: ValidatedGains) {
        self.gains = g;
    }
    /// Whether `g(q)` is added.
    pub fn adds_gravity(&self) -> bool {
        self.add_gravity
    }

    /// Evaluates the law at the measured `q` (rad), `dq` (rad/s) with kinematics `kin = model.kinematics(q)`,
    /// towards `target` (base frame). No allocation.
    pub fn compute(
        &self,
        model: &RobotModel,
        kin: &Kinematics,
        q: &JointVec,
        dq: &JointVec,
        target: &Isometry3<f64>,
    ) -> LawOutput {
        let g = self.gains.get();
        let dof = model.dof();
        let j = kin.jacobian();
        let dqv = JointColumn::from_column_slice(dq);
        let twist: Vector6<f64> = j * dqv;

        let ep = target.translation.vector - kin.tcp.translation.vector;
        let eo = (target.rotation * kin.tcp.rotation.inverse()).scaled_axis();
        let mut clipped = false;
        let mut f = Vector6::zeros();
        for i in 0..3 {
            let (cp, co) = (clip(ep[i], g.translational_clip[i]), clip(eo[i], g.rotational_clip[i]));
            clipped |= cp != ep[i] || co != eo[i];
            f[i] = g.translational_stiffness[i] * cp - g.translational_damping[i] * twist[i];
            f[i + 3] = g.rotational_stiffness[i] * co - g.rotational_damping[i] * twist[i + 3];
        }
        let mut tau: JointColumn = j.transpose() * f;

        // Nullspace posture, projected with the dynamically consistent projector (I − Jᵀ J̄ᵀ).
        let mut tn = JointColumn::zeros();
        let kns = g.nullspace_stiffness;
        let dns = 2.0 * kns.sqrt();
        for i in 0..dof {
            tn[i] = kns * (self.posture[i] - q[i]) - dns * dq[i];
        }
        let m = model.mass_matrix(kin);
        if kns > 0.0
            && let Some(chol) = m.cholesky()
        {
            let minv_jt: SMatrix<f64, MAX_DOF, 6> = chol.solve(&j.transpose());
            let a = j * minv_jt + SMatrix::<f64, 6, 6>::identity() * LAMBDA_REGULARISATION;
            if let Some(achol) = a.cholesky() {
                let w = achol.solve(&(j * chol.solve(&tn)));
                tau += tn - j.transpose() * w;
            }
        }

        let bias = model.bias(kin, dq, self.add_gravity);
        let mut out = [0.0; MAX_DOF];
        for i in 0..dof {
            out[i] = tau[i] + bias[i];
        }
        LawOutput {
            tau: out,
            error: [ep.x, ep.y, ep.z, eo.x, eo.y, eo.z],
            clipped,
            twist: [twist[0], twist[1], twist[2], twist[3], twist[4], twist[5]],
        }
    }
}

fn clip(v: f64, c: f64) -> f64 {
    v.clamp(-c, c)
}

/// Pose error `[p_d − p; log(R_d Rᵀ)]` between two poses (m, rad), base frame.
pub fn pose_error(target: &Isometry3<f64>, current: &Isometry3<f64>) -> (Vector3<f64>, Vector3<f64>) {
    (
        target.translation.vector - current.translation.vector,
        (target.rotation * current.rotation.inverse()).scaled_axis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::panda_config;

    fn law(add_gravity: bool) -> (RobotModel, ImpedanceLaw) {
        let cfg = panda_config();
        let model = RobotModel::from_config(&cfg.robot).expect("model");
        let mut posture = [0.0; MAX_DOF];
        posture[..7].copy_from_slice(&cfg.controller.nullspace_posture);
        let gains = ValidatedGains::new(cfg.controller.gains).expect("gains");
        (model, ImpedanceLaw::new(gains, posture, add_gravity))
    }

    #[test]
    fn at_the_target_at_rest_the_law_outputs_gravity_and_posture_only() {
        let (model, law) = law(true);
        let q = [0.1, -0.6, 0.05, -2.2, 0.02, 1.7, 0.8];
        let kin = model.kinematics(&q);
        let out = law.compute(&model, &kin, &q, &[0.0; MAX_DOF], &kin.tcp);
        let g = model.gravity_torque(&kin);
        // Remaining torque is the projected posture term: it produces no TCP force, i.e. J̄ᵀ τ ≈ 0.
        let resid = JointColumn::from_fn(|i, _| out.tau[i] - g[i]);
        let j = kin.jacobian();
        let m = model.mass_matrix(&kin);
        let lambda_inv = j * m.cholesky().expect("spd").solve(&j.transpose());
        let f = lambda_inv.cholesky().expect("spd").solve(&(j * m.cholesky().expect("spd").solve(&resid)));
        assert!(f.norm() < 1e-4, "posture torque leaks into the task space: {f}");
        assert!(!out.clipped);
    }

    #[test]
    fn a_far_target_produces_a_clipped_bounded_force() {
        let (model, law) = law(false);
        let q = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785];
        let kin = model.kinematics(&q);
        let mut far = kin.tcp;
        far.translation.vector += Vector3::new(1.0, -1.0, 1.0);
        let out = law.compute(&model, &kin, &q, &[0.0; MAX_DOF], &far);
        assert!(out.clipped);
        let near = {
            let mut t = kin.tcp;
            t.translation.vector += Vector3::new(0.01, -0.01, 0.01);
            law.compute(&model, &kin, &q, &[0.0; MAX_DOF], &t)
        };
        for i in 0..MAX_DOF {
            assert!((out.tau[i] - near.tau[i]).abs() < 1e-9, "far target must act like the clip-distance target");
        }
    }

    #[test]
    fn out_of_range_gains_are_rejected_with_the_key() {
        let mut g = panda_config().controller.gains;
        g.translational_stiffness[1] = 1e6;
        let err = ValidatedGains::new(g).expect_err("must reject");
        assert!(err.problems.iter().any(|p| p.contains("translational_stiffness[1]")), "{err}");
    }
}
