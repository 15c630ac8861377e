//! Joint position-limit guard.

use super::SafetyStage;
use super::joint_guard::{GuardRule, JointGuard};
use crate::model::RobotModel;
use interfaces::drivers::JointVec;
use interfaces::msg::LimitCounters;

/// Inside the margin `m` of a joint limit, removes torque pushing further towards the limit and adds a
/// spring-damper repulsion. Near the upper limit, with the penetration `s = q − (upper − m) > 0`:
///
/// ```text
/// τᵢ ← min(τᵢ, 0) − k·s − d·max(q̇ᵢ, 0),     k = 0.5·τmaxᵢ / m  (N·m/rad),   d = 0.1·τmaxᵢ  (N·m·s/rad)
/// ```
///
/// and symmetrically near the lower limit (`s = (lower + m) − q`: `τᵢ ← max(τᵢ, 0) + k·s − d·min(q̇ᵢ, 0)`).
/// A margin of 0 disables the guard. Uses the position from the last `read_state`. Real-time safe.
pub type JointLimitGuard<S> = JointGuard<S, JointLimitRule>;

/// The rule of [`JointLimitGuard`].
#[derive(Debug)]
pub struct JointLimitRule {
    lower: JointVec,
    upper: JointVec,
    tmax: JointVec,
    margin: f64,
}

impl<S: SafetyStage> JointGuard<S, JointLimitRule> {
    /// Limits from `model`; `margin` in rad.
    pub fn new(inner: S, model: &RobotModel, margin: f64) -> Self {
        let rule = JointLimitRule { lower: *model.lower(), upper: *model.upper(), tmax: *model.torque_limit(), margin };
        Self::with_rule(inner, rule)
    }
}

impl GuardRule for JointLimitRule {
    fn apply(&self, i: usize, q: f64, dq: f64, tau: &mut f64) -> bool {
        if self.margin <= 0.0 {
            return false;
        }
        let k = 0.5 * self.tmax[i] / self.margin;
        let d = 0.1 * self.tmax[i];
        let up = q - (self.upper[i] - self.margin);
        let low = (self.lower[i] + self.margin) - q;
        if up > 0.0 {
            *tau = tau.min(0.0) - k * up - d * dq.max(0.0);
            true
        } else if low > 0.0 {
            *tau = tau.max(0.0) + k * low - d * dq.min(0.0);
            true
        } else {
            false
        }
    }
    fn count(hits: u64, c: &mut LimitCounters) {
        c.joint_limit_guards += hits;
    }
}
