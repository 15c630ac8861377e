//! Joint-space dynamics `M(q) q̈ + C(q, q̇) q̇ + g(q) = τ`: mass matrix by the composite-rigid-body algorithm,
//! bias forces by recursive Newton–Euler, both in base-frame spatial coordinates.

use super::spatial::{Force, Motion, SpatialInertia};
use super::{JointMatrix, Kinematics, RobotModel};
use interfaces::drivers::{JointVec, MAX_DOF};

impl RobotModel {
    /// Each link's spatial inertia about the base origin at the configuration `k`.
    fn spatial_inertias(&self, k: &Kinematics) -> [SpatialInertia; MAX_DOF] {
        let mut out = [SpatialInertia::zero(); MAX_DOF];
        for (i, s) in out.iter_mut().enumerate().take(self.dof) {
            let l = &self.links[i];
            let r = k.links[i].rotation.to_rotation_matrix();
            let c = k.links[i] * nalgebra::Point3::from(l.com);
            *s = SpatialInertia::new(l.mass, c.coords, r.matrix() * l.inertia * r.matrix().transpose());
        }
        out
    }

    /// Joint twists `Sᵢ` at configuration `k`.
    fn joint_twists(&self, k: &Kinematics) -> [Motion; MAX_DOF] {
        let mut s = [Motion::zero(); MAX_DOF];
        for (i, si) in s.iter_mut().enumerate().take(self.dof) {
            *si = Motion::revolute(k.axis(i), k.origin(i));
        }
        s
    }

    /// Joint-space mass matrix `M(q)`, kg·m² (CRBA: `M_ij = Sᵢᵀ I^c_max(i,j) S_j`, with `I^c_j` the composite
    /// inertia of links `j..n`). The block past `dof` is the identity.
    pub fn mass_matrix(&self, k: &Kinematics) -> JointMatrix {
        let inert = self.spatial_inertias(k);
        let s = self.joint_twists(k);
        let mut m = JointMatrix::identity();
        let mut composite = SpatialInertia::zero();
        for j in (0..self.dof).rev() {
            composite = composite.add(&inert[j]);
            let f = composite.mul(&s[j]);
            for i in 0..=j {
                let v = s[i].dot(&f);
                m[(i, j)] = v;
                m[(j, i)] = v;
            }
        }
        m
    }

    /// Inverse dynamics by recursive Newton–Euler: `τ = M(q) q̈ + C(q, q̇) q̇ + g(q)` (the gravity term only when
    /// `with_gravity`). N·m.
    pub fn inverse_dynamics(&self, k: &Kinematics, dq: &JointVec, ddq: &JointVec, with_gravity: bool) -> JointVec {
        let inert = self.spatial_inertias(k);
        let s = self.joint_twists(k);
        // Gravity enters as a fictitious upward acceleration of the base.
        let mut a = Motion::zero();
        if with_gravity {
            a.v = -self.gravity;
        }
        let mut v = Motion::zero();
        let mut f = [Force::zero(); MAX_DOF];
        for i in 0..self.dof {
            let vj = s[i].scale(dq[i]);
            v = v.add(&vj);
            // Ṡᵢ q̇ᵢ = vᵢ ×ₘ (Sᵢ q̇ᵢ)
            a = a.add(&v.cross_motion(&vj)).add(&s[i].scale(ddq[i]));
            f[i] = inert[i].mul(&a).add(&v.cross_force(&inert[i].mul(&v)));
        }
        let mut tau = [0.0; MAX_DOF];
        let mut acc = Force::zero();
        for i in (0..self.dof).rev() {
            acc = acc.add(&f[i]);
            tau[i] = s[i].dot(&acc);
        }
        tau
    }

    /// Bias torques `C(q, q̇) q̇ (+ g(q) when with_gravity)`, N·m.
    pub fn bias(&self, k: &Kinematics, dq: &JointVec, with_gravity: bool) -> JointVec {
        self.inverse_dynamics(k, dq, &[0.0; MAX_DOF], with_gravity)
    }

    /// Gravity torques `g(q)`, N·m.
    pub fn gravity_torque(&self, k: &Kinematics) -> JointVec {
        self.inverse_dynamics(k, &[0.0; MAX_DOF], &[0.0; MAX_DOF], true)
    }
}
