//! Forward kinematics and the TCP's geometric Jacobian.

use super::{Jacobian, RobotModel};
use interfaces::drivers::{JointVec, MAX_DOF};
use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};

/// The arm's frames at one joint configuration, base frame. Plain stack data (no allocation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kinematics {
    /// Number of joints used.
    pub dof: usize,
    /// Pose of each link frame (joint `i` rotates about this frame's z axis, through its origin).
    pub links: [Isometry3<f64>; MAX_DOF],
    /// Pose of the TCP.
    pub tcp: Isometry3<f64>,
}

impl Kinematics {
    /// Joint `i`'s axis (unit z of its link frame), base frame.
    pub fn axis(&self, i: usize) -> Vector3<f64> {
        self.links[i].rotation * Vector3::z()
    }
    /// Joint `i`'s origin, base frame, m.
    pub fn origin(&self, i: usize) -> Vector3<f64> {
        self.links[i].translation.vector
    }

    /// Geometric Jacobian of the TCP: `[v; ω] = J q̇`, column `i = [zᵢ × (p_tcp − pᵢ); zᵢ]`.
    pub fn jacobian(&self) -> Jacobian {
        let mut j = Jacobian::zeros();
        let p = self.tcp.translation.vector;
        for i in 0..self.dof {
            let z = self.axis(i);
            let v = z.cross(&(p - self.origin(i)));
            j.fixed_view_mut::<3, 1>(0, i).copy_from(&v);
            j.fixed_view_mut::<3, 1>(3, i).copy_from(&z);
        }
        j
    }
}

impl RobotModel {
    /// Forward kinematics at joint positions `q` (rad).
    pub fn kinematics(&self, q: &JointVec) -> Kinematics {
        let mut links = [Isometry3::identity(); MAX_DOF];
        let mut t = Isometry3::identity();
        for (i, link) in links.iter_mut().enumerate().take(self.dof) {
            let rz = Isometry3::from_parts(
                Translation3::identity(),
                UnitQuaternion::from_axis_angle(&Vector3::z_axis(), q[i]),
            );
            t = t * self.joint_origin[i] * rz;
            *link = t;
        }
        Kinematics { dof: self.dof, links, tcp: t * self.tcp }
    }

    /// TCP pose at `q`, base frame.
    pub fn tcp_pose(&self, q: &JointVec) -> Isometry3<f64> {
        self.kinematics(q).tcp
    }
}
