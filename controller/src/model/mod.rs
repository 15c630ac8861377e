//! The arm's rigid-body model, built from the cell config ([`interfaces::config::RobotConfig`]).
//!
//! Frames follow Craig's **modified** Denavit–Hartenberg convention (as documented on
//! [`interfaces::config::JointConfig`]): link frame *i* is reached from frame *i−1* by
//! `RotX(alpha) · TransX(a) · RotZ(q + theta_offset) · TransZ(d)`; every quantity returned here is expressed in the
//! robot's **base frame** (z up) unless its doc says otherwise. Units are SI.
//!
//! Real-time contract: every method after [`RobotModel::from_config`] works on fixed-size arrays and nalgebra
//! stack types ([`MAX_DOF`] wide; entries past `dof` are zero) and performs **no heap allocation**, so it can run in
//! the 1 kHz control loop.

mod dynamics;
mod kinematics;
mod spatial;

pub use kinematics::Kinematics;

use interfaces::config::{Inertial, RobotConfig};
use interfaces::drivers::MAX_DOF;
use nalgebra::{Isometry3, Matrix3, Rotation3, SMatrix, Translation3, UnitQuaternion, Vector3};
use thiserror::Error;

/// A geometric Jacobian: rows `[vx, vy, vz, wx, wy, wz]` (base frame), one column per joint (unused columns zero).
pub type Jacobian = SMatrix<f64, 6, MAX_DOF>;
/// A joint-space matrix (mass matrix); the block past `dof` is the identity so it stays invertible.
pub type JointMatrix = SMatrix<f64, MAX_DOF, MAX_DOF>;
/// A joint-space vector as a nalgebra column.
pub type JointColumn = SMatrix<f64, MAX_DOF, 1>;

/// Why a model could not be built from a config.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// The number of joints is not between 1 and [`MAX_DOF`].
    #[error("robot.joints: {dof} joints, a model supports 1 to {max}")]
    BadDof {
        /// Joints in the config.
        dof: usize,
        /// Most joints supported.
        max: usize,
    },
}

/// Mass properties of one rigid link in its own link frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkInertia {
    /// Mass, kg.
    pub mass: f64,
    /// Centre of mass in the link frame, m.
    pub com: Vector3<f64>,
    /// Inertia about the centre of mass, link-frame axes, kg·m².
    pub inertia: Matrix3<f64>,
}

impl LinkInertia {
    /// From the config's [`Inertial`] (`[ixx, iyy, izz, ixy, ixz, iyz]`).
    pub fn from_inertial(i: &Inertial) -> Self {
        let [xx, yy, zz, xy, xz, yz] = i.inertia;
        Self { mass: i.mass, com: Vector3::from(i.com), inertia: Matrix3::new(xx, xy, xz, xy, yy, yz, xz, yz, zz) }
    }

    /// The rigid union of two bodies expressed in the same frame (parallel-axis theorem).
    pub fn combined(&self, other: &LinkInertia) -> LinkInertia {
        let m = self.mass + other.mass;
        if m <= 0.0 {
            return LinkInertia { mass: 0.0, com: Vector3::zeros(), inertia: Matrix3::zeros() };
        }
        let com = (self.com * self.mass + other.com * other.mass) / m;
        let shift = |b: &LinkInertia| {
            let r = b.com - com;
            b.inertia + b.mass * (Matrix3::identity() * r.dot(&r) - r * r.transpose())
        };
        LinkInertia { mass: m, com, inertia: shift(self) + shift(other) }
    }
}

/// The arm's kinematic and dynamic model.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotModel {
    dof: usize,
    /// Fixed part of each joint transform, parent frame → link frame at `q = 0`:
    /// `RotX(alpha) · TransX(a) · TransZ(d) · RotZ(theta_offset)` (RotZ(q) commutes with TransZ(d)).
    joint_origin: [Isometry3<f64>; MAX_DOF],
    /// Link mass properties; the last link includes the hand.
    links: [LinkInertia; MAX_DOF],
    /// TCP in the last link's frame.
    tcp: Isometry3<f64>,
    /// Gravity in the base frame, m/s².
    gravity: Vector3<f64>,
    lower: [f64; MAX_DOF],
    upper: [f64; MAX_DOF],
    velocity_limit: [f64; MAX_DOF],
    torque_limit: [f64; MAX_DOF],
}

/// The fixed transform of a modified-DH joint at `q = 0`.
pub fn dh_origin(a: f64, d: f64, alpha: f64, theta_offset: f64) -> Isometry3<f64> {
    let rot = Rotation3::from_axis_angle(&Vector3::x_axis(), alpha)
        * Rotation3::from_axis_angle(&Vector3::z_axis(), theta_offset);
    let pos =
        Vector3::new(a, 0.0, 0.0) + Rotation3::from_axis_angle(&Vector3::x_axis(), alpha) * Vector3::new(0.0, 0.0, d);
    Isometry3::from_parts(Translation3::from(pos), UnitQuaternion::from_rotation_matrix(&rot))
}

/// The TCP transform from the config: position then roll-pitch-yaw about fixed X, Y, Z axes.
pub fn tcp_transform(position: [f64; 3], rpy: [f64; 3]) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::from(Vector3::from(position)),
        UnitQuaternion::from_euler_angles(rpy[0], rpy[1], rpy[2]),
    )
}

impl RobotModel {
    /// Builds the model. The hand's inertial (`robot.tcp.hand`) is merged into the last link.
    pub fn from_config(cfg: &RobotConfig) -> Result<Self, ModelError> {
        let dof = cfg.joints.len();
        if dof == 0 || dof > MAX_DOF {
            return Err(ModelError::BadDof { dof, max: MAX_DOF });
        }
        let zero = LinkInertia { mass: 0.0, com: Vector3::zeros(), inertia: Matrix3::zeros() };
        let mut m = RobotModel {
            dof,
            joint_origin: [Isometry3::identity(); MAX_DOF],
            links: [zero; MAX_DOF],
            tcp: tcp_transform(cfg.tcp.position, cfg.tcp.rpy),
            gravity: Vector3::from(cfg.gravity),
            lower: [0.0; MAX_DOF],
            upper: [0.0; MAX_DOF],
            velocity_limit: [0.0; MAX_DOF],
            torque_limit: [0.0; MAX_DOF],
        };
        for (i, j) in cfg.joints.iter().enumerate() {
            m.joint_origin[i] = dh_origin(j.a, j.d, j.alpha, j.theta_offset);
            m.links[i] = LinkInertia::from_inertial(&j.inertial);
            m.lower[i] = j.lower;
            m.upper[i] = j.upper;
            m.velocity_limit[i] = j.velocity_limit;
            m.torque_limit[i] = j.torque_limit;
        }
        m.links[dof - 1] = m.links[dof - 1].combined(&LinkInertia::from_inertial(&cfg.tcp.hand));
        Ok(m)
    }

    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.dof
    }
    /// Lower joint limits, rad.
    pub fn lower(&self) -> &[f64; MAX_DOF] {
        &self.lower
    }
    /// Upper joint limits, rad.
    pub fn upper(&self) -> &[f64; MAX_DOF] {
        &self.upper
    }
    /// Joint velocity limits, rad/s.
    pub fn velocity_limit(&self) -> &[f64; MAX_DOF] {
        &self.velocity_limit
    }
    /// Joint torque limits, N·m.
    pub fn torque_limit(&self) -> &[f64; MAX_DOF] {
        &self.torque_limit
    }
    /// Gravity in the base frame, m/s².
    pub fn gravity(&self) -> Vector3<f64> {
        self.gravity
    }
    /// TCP in the last link's frame.
    pub fn tcp(&self) -> &Isometry3<f64> {
        &self.tcp
    }
    /// Link `i`'s mass properties (the last includes the hand).
    pub fn link(&self, i: usize) -> &LinkInertia {
        &self.links[i]
    }
}

#[cfg(test)]
mod tests;
