//! Latched emergency stop (outermost stage).

use super::SafetyStage;
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec, MAX_DOF};
use interfaces::msg::LimitCounters;

/// Once tripped, every [`ArmDriver::write_torque`] is replaced by [`ArmDriver::safe_stop`] (the backend's safe
/// state: brakes or a hold), whatever the caller commands:
///
/// ```text
/// latched ⇒ write_torque(τ) ≡ safe_stop()        latched is cleared only by reset()
/// ```
///
/// Real-time safe (the trip is a flag; `safe_stop` is the backend's).
#[derive(Debug)]
pub struct EStopLatch<S> {
    inner: S,
    latched: bool,
}

impl<S: SafetyStage> EStopLatch<S> {
    /// An unlatched stop around `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner, latched: false }
    }
    /// Latches the stop.
    pub fn trip(&mut self) {
        self.latched = true;
    }
    /// Clears the latch (a deliberate operator action).
    pub fn reset(&mut self) {
        self.latched = false;
    }
    /// True while latched.
    pub fn is_latched(&self) -> bool {
        self.latched
    }
}

impl<S: SafetyStage> ArmDriver for EStopLatch<S> {
    fn info(&self) -> &ArmInfo {
        self.inner.info()
    }
    fn read_state(&mut self) -> Result<JointState, DriverError> {
        self.inner.read_state()
    }
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        if self.latched { self.inner.safe_stop() } else { self.inner.write_torque(tau) }
    }
    fn safe_stop(&mut self) -> Result<(), DriverError> {
        self.inner.safe_stop()
    }
    fn recover(&mut self) -> Result<(), DriverError> {
        self.inner.recover()
    }
}

impl<S: SafetyStage> SafetyStage for EStopLatch<S> {
    type Base = S::Base;
    fn add_counts(&self, c: &mut LimitCounters) {
        self.inner.add_counts(c);
    }
    fn applied_torque(&self) -> JointVec {
        if self.latched { [0.0; MAX_DOF] } else { self.inner.applied_torque() }
    }
    fn base(&self) -> &S::Base {
        self.inner.base()
    }
    fn base_mut(&mut self) -> &mut S::Base {
        self.inner.base_mut()
    }
}
