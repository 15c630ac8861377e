//! Joint velocity guard.

use super::SafetyStage;
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec, MAX_DOF};
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
/// bounds the result). Uses the velocity from the last [`ArmDriver::read_state`]. Real-time safe.
#[derive(Debug)]
pub struct VelocityGuard<S> {
    inner: S,
    vmax: JointVec,
    tmax: JointVec,
    fraction: f64,
    dq: JointVec,
    hits: u64,
}

impl<S: SafetyStage> VelocityGuard<S> {
    /// `vmax` rad/s, `tmax` N·m, `fraction` in (0, 1].
    pub fn new(inner: S, vmax: JointVec, tmax: JointVec, fraction: f64) -> Self {
        Self { inner, vmax, tmax, fraction, dq: [0.0; MAX_DOF], hits: 0 }
    }
}

impl<S: SafetyStage> ArmDriver for VelocityGuard<S> {
    fn info(&self) -> &ArmInfo {
        self.inner.info()
    }
    fn read_state(&mut self) -> Result<JointState, DriverError> {
        let s = self.inner.read_state()?;
        self.dq = s.dq;
        Ok(s)
    }
    // Per-joint loop over several parallel arrays (limits, state, torque).
    #[allow(clippy::needless_range_loop)]
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        let mut out = *tau;
        let mut acted = false;
        for i in 0..self.inner.info().dof {
            let v = self.dq[i];
            let excess = v.abs() - self.fraction * self.vmax[i];
            if excess > 0.0 {
                acted = true;
                let s = v.signum();
                if out[i] * s > 0.0 {
                    out[i] = 0.0;
                }
                let w = ((1.0 - self.fraction) * self.vmax[i]).max(0.05 * self.vmax[i]);
                out[i] -= s * self.tmax[i] * (excess / w).min(1.0);
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

impl<S: SafetyStage> SafetyStage for VelocityGuard<S> {
    type Base = S::Base;
    fn add_counts(&self, c: &mut LimitCounters) {
        c.velocity_guards += self.hits;
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
