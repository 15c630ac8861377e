//! `[robot]` and `[driver]`: the arm's model and the backend that drives it.

use super::Validator;
use crate::drivers::MAX_DOF;
use serde::{Deserialize, Serialize};

/// Mass properties of a rigid link, in the link's own (modified-DH) frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inertial {
    /// Mass, kg.
    pub mass: f64,
    /// Centre of mass in the link frame, m.
    pub com: [f64; 3],
    /// Inertia about the centre of mass, link-frame axes, kg·m²: `[ixx, iyy, izz, ixy, ixz, iyz]`.
    pub inertia: [f64; 6],
}

impl Inertial {
    fn validate(&self, v: &mut Validator, key: &str) {
        v.range(&format!("{key}.mass"), self.mass, 0.0, 100.0, "kg");
        v.range_each(&format!("{key}.com"), &self.com, -2.0, 2.0, "m");
        v.range_each(&format!("{key}.inertia"), &self.inertia[..3], 0.0, 10.0, "kg·m² (diagonal, ≥ 0)");
        v.range_each(&format!("{key}.inertia"), &self.inertia[3..], -10.0, 10.0, "kg·m²");
        let [a, b, c, ..] = self.inertia;
        if a + b < c - 1e-12 || a + c < b - 1e-12 || b + c < a - 1e-12 {
            v.push(
                &format!("{key}.inertia"),
                format!("{:?}", self.inertia),
                "principal moments satisfying the triangle inequality",
            );
        }
    }
}

/// One revolute joint in Craig's **modified** Denavit–Hartenberg convention (as Franka publishes it): the link
/// frame of joint *i* is reached from the previous one by `RotX(alpha) · TransX(a) · RotZ(q + theta_offset) ·
/// TransZ(d)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointConfig {
    /// Joint name (matches the simulator's joint).
    pub name: String,
    /// Link length along the previous x axis, m.
    pub a: f64,
    /// Link offset along the new z axis, m.
    pub d: f64,
    /// Twist about the previous x axis, rad.
    pub alpha: f64,
    /// Constant added to the joint angle, rad.
    #[serde(default)]
    pub theta_offset: f64,
    /// Lower position limit, rad.
    pub lower: f64,
    /// Upper position limit, rad.
    pub upper: f64,
    /// Velocity limit, rad/s.
    pub velocity_limit: f64,
    /// Torque limit, N·m.
    pub torque_limit: f64,
    /// Mass properties of the link this joint moves.
    pub inertial: Inertial,
    /// Viscous friction in the simulator, N·m·s/rad.
    #[serde(default)]
    pub damping: f64,
}

/// The tool centre point (TCP) relative to the last joint's frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// Position, m.
    pub position: [f64; 3],
    /// Orientation as roll, pitch, yaw (X-Y-Z fixed axes), rad.
    pub rpy: [f64; 3],
    /// Mass properties of the hand (gripper body) rigidly attached to the last link, in the last joint's frame.
    pub hand: Inertial,
}

/// `[robot]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotConfig {
    /// Model name (e.g. `panda`).
    pub model: String,
    /// Gravity in the base frame, m/s².
    #[serde(default = "default_gravity")]
    pub gravity: [f64; 3],
    /// Joints from base to tip.
    pub joints: Vec<JointConfig>,
    /// Tool centre point.
    pub tcp: TcpConfig,
}

fn default_gravity() -> [f64; 3] {
    [0.0, 0.0, -9.81]
}

impl RobotConfig {
    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.joints.len()
    }

    pub(crate) fn validate(&self, v: &mut Validator) {
        if self.joints.is_empty() || self.joints.len() > MAX_DOF {
            v.push("robot.joints", format!("{} joints", self.joints.len()), &format!("1 to {MAX_DOF} joints"));
        }
        v.range_each("robot.gravity", &self.gravity, -20.0, 20.0, "m/s²");
        for (i, j) in self.joints.iter().enumerate() {
            let k = format!("robot.joints[{i}]");
            v.range(&format!("{k}.a"), j.a, -2.0, 2.0, "m");
            v.range(&format!("{k}.d"), j.d, -2.0, 2.0, "m");
            v.range(&format!("{k}.alpha"), j.alpha, -std::f64::consts::PI, std::f64::consts::PI, "rad");
            v.range(&format!("{k}.lower"), j.lower, -6.3, 6.3, "rad");
            v.range(&format!("{k}.upper"), j.upper, -6.3, 6.3, "rad");
            if j.lower >= j.upper {
                v.push(&format!("{k}.upper"), format!("{}", j.upper), &format!("greater than {k}.lower = {}", j.lower));
            }
            v.range(&format!("{k}.velocity_limit"), j.velocity_limit, 0.01, 20.0, "rad/s");
            v.range(&format!("{k}.torque_limit"), j.torque_limit, 0.01, 1000.0, "N·m");
            v.range(&format!("{k}.damping"), j.damping, 0.0, 100.0, "N·m·s/rad");
            j.inertial.validate(v, &format!("{k}.inertial"));
        }
        v.range_each("robot.tcp.position", &self.tcp.position, -1.0, 1.0, "m");
        v.range_each("robot.tcp.rpy", &self.tcp.rpy, -7.0, 7.0, "rad");
        self.tcp.hand.validate(v, "robot.tcp.hand");
    }
}

/// `[driver]`: the backend driving the arm, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriverConfig {
    /// The MuJoCo simulation of the cell.
    Sim {
        /// Physics step, s (1 kHz = 0.001).
        timestep: f64,
        /// Run the simulation against the wall clock (`true`) or as fast as possible (`false`).
        #[serde(default = "default_true")]
        realtime: bool,
    },
}

fn default_true() -> bool {
    true
}

impl DriverConfig {
    pub(crate) fn validate(&self, v: &mut Validator) {
        match self {
            DriverConfig::Sim { timestep, .. } => v.range("driver.timestep", *timestep, 1e-5, 0.01, "s"),
        }
    }
}
