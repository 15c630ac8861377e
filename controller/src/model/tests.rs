use super::*;
use crate::testing::{panda_config, random_q};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn panda_tcp_at_zero_configuration_matches_published_geometry() {
    let m = RobotModel::from_config(&panda_config().robot).expect("model");
    let k = m.kinematics(&[0.0; MAX_DOF]);
    // Link 7 sits at x = 0.088, z = 0.333 + 0.316 + 0.384 with its z axis pointing down; the TCP is 0.2104 below.
    let p = k.tcp.translation.vector;
    assert!((p - Vector3::new(0.088, 0.0, 1.033 - 0.2104)).norm() < 1e-12, "{p}");
    assert!((k.axis(6) - Vector3::new(0.0, 0.0, -1.0)).norm() < 1e-12);
}

#[test]
fn jacobian_matches_finite_differences_of_forward_kinematics() {
    let m = RobotModel::from_config(&panda_config().robot).expect("model");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..20 {
        let q = random_q(&m, &mut rng);
        let k = m.kinematics(&q);
        let j = k.jacobian();
        for i in 0..m.dof() {
            let h = 1e-6;
            let mut qp = q;
            qp[i] += h;
            let kp = m.kinematics(&qp);
            let dv = (kp.tcp.translation.vector - k.tcp.translation.vector) / h;
            let dw = (kp.tcp.rotation * k.tcp.rotation.inverse()).scaled_axis() / h;
            assert!((dv - j.fixed_view::<3, 1>(0, i)).norm() < 1e-5, "linear column {i}");
            assert!((dw - j.fixed_view::<3, 1>(3, i)).norm() < 1e-5, "angular column {i}");
        }
    }
}

#[test]
fn mass_matrix_is_symmetric_positive_definite_and_agrees_with_newton_euler() {
    let m = RobotModel::from_config(&panda_config().robot).expect("model");
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for _ in 0..20 {
        let q = random_q(&m, &mut rng);
        let k = m.kinematics(&q);
        let mm = m.mass_matrix(&k);
        assert!((mm - mm.transpose()).norm() < 1e-12);
        assert!(mm.cholesky().is_some(), "M must be positive definite");
        for c in 0..m.dof() {
            let mut e = [0.0; MAX_DOF];
            e[c] = 1.0;
            let col = m.inverse_dynamics(&k, &[0.0; MAX_DOF], &e, false);
            for r in 0..m.dof() {
                assert!((col[r] - mm[(r, c)]).abs() < 1e-10, "M[{r},{c}]");
            }
        }
    }
}

#[test]
fn coriolis_term_conserves_energy() {
    // Without gravity and torque, d/dt(½ q̇ᵀ M q̇) = 0, i.e. q̇ᵀ (½ Ṁ q̇ − C q̇) = 0 for the RNEA bias.
    let m = RobotModel::from_config(&panda_config().robot).expect("model");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..10 {
        let q = random_q(&m, &mut rng);
        let dq = random_q(&m, &mut rng);
        let k = m.kinematics(&q);
        let c = m.bias(&k, &dq, false);
        let h = 1e-6;
        let mut qp = q;
        for i in 0..MAX_DOF {
            qp[i] += h * dq[i];
        }
        let mdot = (m.mass_matrix(&m.kinematics(&qp)) - m.mass_matrix(&k)) / h;
        let dqv = JointColumn::from_column_slice(&dq);
        let lhs = 0.5 * (dqv.transpose() * mdot * dqv)[0];
        let rhs = dqv.dot(&JointColumn::from_column_slice(&c));
        assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
    }
}

#[test]
fn bad_joint_count_is_rejected() {
    let mut cfg = panda_config().robot;
    cfg.joints.clear();
    assert_eq!(RobotModel::from_config(&cfg), Err(ModelError::BadDof { dof: 0, max: MAX_DOF }));
}

/// Joint positions reaching `goal` (position) with the TCP orientation of `posture`, by damped least squares from
/// `posture` within the joint limits; and the position error left.
fn reach(m: &RobotModel, posture: &[f64; MAX_DOF], goal: Vector3<f64>) -> ([f64; MAX_DOF], f64) {
    let rot = m.tcp_pose(posture).rotation;
    let mut q = *posture;
    let mut err = f64::INFINITY;
    for _ in 0..3000 {
        let k = m.kinematics(&q);
        let j = k.jacobian();
        let ep = goal - k.tcp.translation.vector;
        let er = (rot * k.tcp.rotation.inverse()).scaled_axis();
        err = ep.norm();
        let e = nalgebra::SVector::<f64, 6>::from_column_slice(&[ep.x, ep.y, ep.z, er.x, er.y, er.z]);
        let jjt = j * j.transpose() + nalgebra::SMatrix::<f64, 6, 6>::identity() * 1e-3;
        let Some(inv) = jjt.try_inverse() else { break };
        let dq = j.transpose() * inv * e * 0.3;
        for i in 0..m.dof() {
            q[i] = (q[i] + dq[i]).clamp(m.lower()[i], m.upper()[i]);
        }
    }
    (q, err)
}

/// A workspace box with corners the arm cannot reach (or only with a straight elbow) lets exploration drive the TCP
/// to the edge of its reach, where the impedance law pulls along the singular direction and the arm does not come
/// back to its reset pose. Every corner of the shipped 7-DOF cells' boxes, at the home orientation, is reached
/// with the elbow bent and no joint on its limit.
#[test]
fn every_corner_of_the_shipped_panda_workspace_boxes_is_reachable_with_the_elbow_bent() {
    for name in ["sim_panda.toml", "franka_panda.toml"] {
        let path = format!("{}/../hardware_configs/{name}", env!("CARGO_MANIFEST_DIR"));
        let cfg = interfaces::CellConfig::from_toml_str(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
        let m = RobotModel::from_config(&cfg.robot).expect("model");
        let mut posture = [0.0; MAX_DOF];
        posture[..m.dof()].copy_from_slice(&cfg.controller.nullspace_posture[..m.dof()]);
        let (lo, hi) = (cfg.workspace.min, cfg.workspace.max);
        for corner in 0..8 {
            let pick = |i: usize| if corner >> i & 1 == 1 { hi[i] } else { lo[i] };
            let goal = Vector3::new(pick(0), pick(1), pick(2));
            let (q, err) = reach(&m, &posture, goal);
            assert!(err < 1e-3, "{name}: corner {goal:?} is {err:.3} m out of reach");
            for (i, &qi) in q.iter().enumerate().take(m.dof()) {
                let margin = (qi - m.lower()[i]).min(m.upper()[i] - qi);
                assert!(margin > 0.05, "{name}: corner {goal:?} needs joint {} {margin:.3} rad from its limit", i + 1);
            }
            // The elbow (joint 4) at least 0.7 rad from straight (its upper limit is about -0.07 rad).
            assert!(q[3] < -0.7, "{name}: corner {goal:?} needs an almost straight elbow: q4 = {:.2}", q[3]);
        }
    }
}
