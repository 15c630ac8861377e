//! `[controller]`, `[workspace]` and `[gripper]`: the impedance controller and its safety envelope.

use super::{Problem, RobotConfig, Validator};
use crate::msg::ImpedanceGains;
use serde::{Deserialize, Serialize};

/// Allowed range of each impedance gain, in the order of [`ImpedanceGains`]' fields: `(key, lo, hi, unit)`.
/// The same ranges apply at load and to gains changed at run time.
pub fn gain_ranges() -> [(&'static str, f64, f64, &'static str); 7] {
    [
        ("translational_stiffness", 0.0, 5000.0, "N/m"),
        ("rotational_stiffness", 0.0, 500.0, "N·m/rad"),
        ("translational_damping", 0.0, 500.0, "N·s/m"),
        ("rotational_damping", 0.0, 100.0, "N·m·s/rad"),
        ("translational_clip", 0.001, 0.2, "m"),
        ("rotational_clip", 0.005, 1.0, "rad"),
        ("nullspace_stiffness", 0.0, 50.0, "N·m/rad"),
    ]
}

/// Validates gains against [`gain_ranges`]; `prefix` is the key path of the gains (e.g. `controller.gains`).
pub fn check_gains(g: &ImpedanceGains, prefix: &str) -> Vec<Problem> {
    let mut v = Validator::default();
    let r = gain_ranges();
    let arrays: [&[f64]; 6] = [
        &g.translational_stiffness,
        &g.rotational_stiffness,
        &g.translational_damping,
        &g.rotational_damping,
        &g.translational_clip,
        &g.rotational_clip,
    ];
    for (vals, (key, lo, hi, unit)) in arrays.iter().zip(r.iter()) {
        v.range_each(&format!("{prefix}.{key}"), vals, *lo, *hi, unit);
    }
    let (key, lo, hi, unit) = r[6];
    v.range(&format!("{prefix}.{key}"), g.nullspace_stiffness, lo, hi, unit);
    v.into_problems()
}

/// `[controller]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerConfig {
    /// Control rate, Hz (1000 for torque-controlled arms).
    pub rate_hz: f64,
    /// A cycle starting later than this is counted as a deadline miss, µs.
    #[serde(default = "default_miss_us")]
    pub deadline_miss_us: f64,
    /// Ask for SCHED_FIFO and mlockall (falls back with a warning when not permitted).
    #[serde(default = "default_true")]
    pub realtime: bool,
    /// SCHED_FIFO priority (1–99).
    #[serde(default = "default_priority")]
    pub rt_priority: u64,
    /// No new pose target for this long → hold the current pose, ms.
    pub watchdog_ms: f64,
    /// Impedance gains at start (changeable at run time within [`gain_ranges`]).
    pub gains: ImpedanceGains,
    /// Maximum change of any joint torque, N·m/s (Franka: 1000).
    pub torque_rate_limit: f64,
    /// Joint posture the nullspace task pulls towards, rad (one per joint).
    pub nullspace_posture: Vec<f64>,
    /// Distance from a joint limit at which the joint-limit guard starts acting, rad.
    pub joint_limit_margin: f64,
    /// Fraction of each joint's velocity limit at which the velocity guard starts damping (0–1].
    pub velocity_guard_fraction: f64,
}

fn default_miss_us() -> f64 {
    500.0
}
fn default_true() -> bool {
    true
}
fn default_priority() -> u64 {
    80
}

impl ControllerConfig {
    pub(crate) fn validate(&self, v: &mut Validator, robot: &RobotConfig) {
        v.range("controller.rate_hz", self.rate_hz, 10.0, 4000.0, "Hz");
        v.range("controller.deadline_miss_us", self.deadline_miss_us, 10.0, 100_000.0, "µs");
        v.range_u64("controller.rt_priority", self.rt_priority, 1, 99, "SCHED_FIFO priority");
        v.range("controller.watchdog_ms", self.watchdog_ms, 1.0, 10_000.0, "ms");
        for p in check_gains(&self.gains, "controller.gains") {
            v.push(&p.key, p.value, &p.allowed);
        }
        v.range("controller.torque_rate_limit", self.torque_rate_limit, 1.0, 100_000.0, "N·m/s");
        v.range("controller.joint_limit_margin", self.joint_limit_margin, 0.0, 0.5, "rad");
        v.range("controller.velocity_guard_fraction", self.velocity_guard_fraction, 0.05, 1.0, "fraction");
        if self.nullspace_posture.len() != robot.joints.len() {
            v.push(
                "controller.nullspace_posture",
                format!("{} values", self.nullspace_posture.len()),
                &format!("one value per joint ({} joints in [robot])", robot.joints.len()),
            );
        } else {
            for (i, (q, j)) in self.nullspace_posture.iter().zip(&robot.joints).enumerate() {
                v.range(
                    &format!("controller.nullspace_posture[{i}]"),
                    *q,
                    j.lower,
                    j.upper,
                    "rad, within the joint's limits",
                );
            }
        }
    }
}

/// `[workspace]`: the axis-aligned box (base frame, metres) every TCP target is clamped into.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceBox {
    /// Lower corner `[x, y, z]`, m.
    pub min: [f64; 3],
    /// Upper corner `[x, y, z]`, m.
    pub max: [f64; 3],
}

impl WorkspaceBox {
    pub(crate) fn validate(&self, v: &mut Validator) {
        v.range_each("workspace.min", &self.min, -3.0, 3.0, "m");
        v.range_each("workspace.max", &self.max, -3.0, 3.0, "m");
        for i in 0..3 {
            if self.min[i] >= self.max[i] {
                v.push(
                    &format!("workspace.max[{i}]"),
                    format!("{}", self.max[i]),
                    &format!("greater than workspace.min[{i}] = {}", self.min[i]),
                );
            }
        }
    }
    /// The point clamped into the box.
    pub fn clamp(&self, p: [f64; 3]) -> [f64; 3] {
        [0, 1, 2].map(|i| p[i].clamp(self.min[i], self.max[i]))
    }
    /// True when the point is inside the box (boundary included).
    pub fn contains(&self, p: [f64; 3]) -> bool {
        (0..3).all(|i| p[i] >= self.min[i] && p[i] <= self.max[i])
    }
}

/// `[gripper]`: a parallel two-finger gripper.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GripperConfig {
    /// Fully open width, m.
    pub max_width: f64,
    /// Largest force the fingers may apply, N.
    pub max_force: f64,
    /// Force used when a command gives none, N.
    pub default_force: f64,
}

impl GripperConfig {
    pub(crate) fn validate(&self, v: &mut Validator) {
        v.range("gripper.max_width", self.max_width, 0.001, 0.3, "m");
        v.range("gripper.max_force", self.max_force, 0.0, 500.0, "N");
        v.range(
            "gripper.default_force",
            self.default_force,
            0.0,
            self.max_force.max(0.0),
            "N, at most gripper.max_force",
        );
    }
}
