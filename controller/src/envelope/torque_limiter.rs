//! Torque clamp and torque-rate limit (innermost stage).

use super::SafetyStage;
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec, MAX_DOF};
use interfaces::msg::LimitCounters;

/// Clamps every joint torque to its limit and its change per cycle to the rate limit:
///
/// ```text
/// τ'ᵢ = clamp(τᵢ, −τmaxᵢ, τmaxᵢ)
/// τ''ᵢ = clamp(τ'ᵢ, τᵢ,prev − Δ, τᵢ,prev + Δ),   Δ = torque_rate_limit / rate_hz   (N·m per cycle)
/// ```
///
/// Since `τ_prev` is itself within limits, `τ''` satisfies both bounds. A non-finite torque is refused with
/// [`DriverError::InvalidCommand`] and nothing is written. Real-time safe.
///
/// Re-armed by [`ArmDriver::safe_stop`]: once the backend holds the arm by its own means (brakes, a position hold,
/// torque off), none of the torque last written is applied any more, so `τ_prev` becomes zero and the first torque
/// after the stop (an e-stop reset, a recovered fault) ramps up from zero at the rate limit instead of jumping to
/// within `Δ` of the torque that was in force before the stop.
#[derive(Debug)]
pub struct TorqueLimiter<D> {
    inner: D,
    limit: JointVec,
    max_step: f64,
    prev: JointVec,
    clamps: u64,
    rate_clamps: u64,
}

impl<D: ArmDriver> TorqueLimiter<D> {
    /// `limit` in N·m per joint; `max_step` in N·m per cycle. The previous torque starts at zero.
    pub fn new(inner: D, limit: JointVec, max_step: f64) -> Self {
        Self { inner, limit, max_step, prev: [0.0; MAX_DOF], clamps: 0, rate_clamps: 0 }
    }
    /// Largest change per cycle, N·m.
    pub fn max_step(&self) -> f64 {
        self.max_step
    }
}

impl<D: ArmDriver> ArmDriver for TorqueLimiter<D> {
    fn info(&self) -> &ArmInfo {
        self.inner.info()
    }
    fn read_state(&mut self) -> Result<JointState, DriverError> {
        self.inner.read_state()
    }
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        let dof = self.inner.info().dof;
        if let Some(i) = tau.iter().take(dof).position(|t| !t.is_finite()) {
            return Err(DriverError::InvalidCommand {
                device: self.inner.info().name.clone(),
                detail: format!("joint {i} torque is not finite ({})", tau[i]),
            });
        }
        let mut out = [0.0; MAX_DOF];
        let (mut clamped, mut rated) = (false, false);
        for i in 0..dof {
            let a = tau[i].clamp(-self.limit[i], self.limit[i]);
            clamped |= a != tau[i];
            let b = a.clamp(self.prev[i] - self.max_step, self.prev[i] + self.max_step);
            rated |= b != a;
            out[i] = b;
        }
        self.clamps += u64::from(clamped);
        self.rate_clamps += u64::from(rated);
        self.inner.write_torque(&out)?;
        self.prev = out;
        Ok(())
    }
    fn safe_stop(&mut self) -> Result<(), DriverError> {
        self.prev = [0.0; MAX_DOF];
        self.inner.safe_stop()
    }
    fn recover(&mut self) -> Result<(), DriverError> {
        self.inner.recover()
    }
}

impl<D: ArmDriver> SafetyStage for TorqueLimiter<D> {
    type Base = D;
    fn add_counts(&self, c: &mut LimitCounters) {
        c.torque_clamps += self.clamps;
        c.torque_rate_clamps += self.rate_clamps;
    }
    fn applied_torque(&self) -> JointVec {
        self.prev
    }
    fn base(&self) -> &D {
        &self.inner
    }
    fn base_mut(&mut self) -> &mut D {
        &mut self.inner
    }
}
