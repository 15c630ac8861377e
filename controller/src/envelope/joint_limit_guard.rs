//! Joint position-limit guard.

use super::SafetyStage;
use crate::model::RobotModel;
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec, MAX_DOF};
use interfaces::msg::LimitCounters;

/// Inside the margin `m` of a joint limit, removes torque pushing further towards the limit and adds a
/// spring-damper repulsion. Near the upper limit, with the penetration `s = q − (upper − m) > 0`:
///
/// ```text
/// τᵢ ← min(τᵢ, 0) − k·s − d·max(q̇ᵢ, 0),     k = 0.5·τmaxᵢ / m  (N·m/rad),   d = 0.1·τmaxᵢ  (N·m·s/rad)
/// ```
///
/// and symmetrically near the lower limit (`s = (lower + m) − q`: `τᵢ ← max(τᵢ, 0) + k·s − d·min(q̇ᵢ, 0)`).
/// A margin of 0 disables the guard. Uses the position from the last [`ArmDriver::read_state`]. Real-time safe.
#[derive(Debug)]
pub struct JointLimitGuard<S> {
    inner: S,
    lower: JointVec,
    upper: JointVec,
    tmax: JointVec,
    margin: f64,
    q: JointVec,
    dq: JointVec,
    hits: u64,
}

impl<S: SafetyStage> JointLimitGuard<S> {
    /// Limits from `model`; `margin` in rad.
    pub fn new(inner: S, model: &RobotModel, margin: f64) -> Self {
        Self {
            inner,
            lower: *model.lower(),
            upper: *model.upper(),
            tmax: *model.torque_limit(),
            margin,
            q: [0.0; MAX_DOF],
            dq: [0.0; MAX_DOF],
            hits: 0,
        }
    }
}

impl<S: SafetyStage> ArmDriver for JointLimitGuard<S> {
    fn info(&self) -> &ArmInfo {
        self.inner.info()
    }
    fn read_state(&mut self) -> Result<JointState, DriverError> {
        let s = self.inner.read_state()?;
        self.q = s.q;
        self.dq = s.dq;
        Ok(s)
    }
    // Per-joint loop over several parallel arrays (limits, state, torque).
    #[allow(clippy::needless_range_loop)]
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        let mut out = *tau;
        let mut acted = false;
        if self.margin > 0.0 {
            for i in 0..self.inner.info().dof {
                let k = 0.5 * self.tmax[i] / self.margin;
                let d = 0.1 * self.tmax[i];
                let up = self.q[i] - (self.upper[i] - self.margin);
                let low = (self.lower[i] + self.margin) - self.q[i];
                if up > 0.0 {
                    acted = true;
                    out[i] = out[i].min(0.0) - k * up - d * self.dq[i].max(0.0);
                } else if low > 0.0 {
                    acted = true;
                    out[i] = out[i].max(0.0) + k * low - d * self.dq[i].min(0.0);
                }
            }
        }
        self.hits += u64::from(acted);
        self.inner.write_torque(&out)
    }
    fn safe_stop(&mut self) -> Result<(), DriverError> {
        self.inner.safe_stop()
    }
    fn recover(&mut self) -> Result<(), DriverError> {
        self.inner.recover()
    }
}

impl<S: SafetyStage> SafetyStage for JointLimitGuard<S> {
    type Base = S::Base;
    fn add_counts(&self, c: &mut LimitCounters) {
        c.joint_limit_guards += self.hits;
        self.inner.add_counts(c);
    }
    fn applied_torque(&self) -> JointVec {
        self.inner.applied_torque()
    }
    fn base(&self) -> &S::Base {
        self.inner.base()
    }
    fn base_mut(&mut self) -> &mut S::Base {
        self.inner.base_mut()
    }
}
