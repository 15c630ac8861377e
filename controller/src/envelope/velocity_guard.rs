//! Joint velocity guard.

use super::SafetyStage;
use super::joint_guard::{GuardRule, JointGuard};
use interfaces::drivers::JointVec;
use interfaces::msg::LimitCounters;

/// Brakes any joint moving faster than a fraction `f` of its velocity limit `vmaxᵢ`. With `sᵢ = sign(q̇ᵢ)` and
/// the excess `eᵢ = |q̇ᵢ| − f·vmaxᵢ > 0`:
///
/// ```text
/// τᵢ ← 0                      if τᵢ·sᵢ > 0        (no torque accelerating the joint further)
/// τᵢ ← τᵢ − sᵢ·τmaxᵢ·min(1, eᵢ / w),   w = max((1 − f)·vmaxᵢ, 0.05·vmaxᵢ)
/// ```
///
/// i.e. a braking torque growing linearly to the full torque limit at `vmax` (the torque limiter downstream still
/// bounds the result). Uses the velocity from the last `read_state`. Real-time safe.
pub type VelocityGuard<S> = JointGuard<S, VelocityRule>;

/// The rule of [`VelocityGuard`].
#[derive(Debug)]
pub struct VelocityRule {
    vmax: JointVec,
    tmax: JointVec,
    fraction: f64,
}

impl<S: SafetyStage> JointGuard<S, VelocityRule> {
    /// `vmax` rad/s, `tmax` N·m, `fraction` in (0, 1].
    pub fn new(inner: S, vmax: JointVec, tmax: JointVec, fraction: f64) -> Self {
        Self::with_rule(inner, VelocityRule { vmax, tmax, fraction })
    }
}

impl GuardRule for VelocityRule {
    fn apply(&self, i: usize, _q: f64, v: f64, tau: &mut f64) -> bool {
        let excess = v.abs() - self.fraction * self.vmax[i];
        if excess <= 0.0 {
            return false;
        }
        let s = v.signum();
        if *tau * s > 0.0 {
            *tau = 0.0;
        }
        let w = ((1.0 - self.fraction) * self.vmax[i]).max(0.05 * self.vmax[i]);
        *tau -= s * self.tmax[i] * (excess / w).min(1.0);
        true
    }
    fn count(hits: u64, c: &mut LimitCounters) {
        c.velocity_guards += hits;
    }
}
