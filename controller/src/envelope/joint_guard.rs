//! The plumbing shared by the per-joint torque guards: remember the last measured state, let a [`GuardRule`]
//! rewrite the torque joint by joint, count the cycles it acted, and pass everything else through.

use super::SafetyStage;
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec, MAX_DOF};
use interfaces::msg::LimitCounters;

/// What a per-joint guard does to the torque.
pub trait GuardRule: Send {
    /// Rewrites `tau[i]` of joint `i` from its last measured position `q` and velocity `dq`; true when it acted.
    fn apply(&self, i: usize, q: f64, dq: f64, tau: &mut f64) -> bool;
    /// Adds `hits` (cycles in which the rule acted on some joint) to its counter.
    fn count(hits: u64, c: &mut LimitCounters);
}

/// A safety stage applying `R` to every joint of the torque sent down to `S`. Real-time safe.
#[derive(Debug)]
pub struct JointGuard<S, R> {
    inner: S,
    rule: R,
    q: JointVec,
    dq: JointVec,
    hits: u64,
}

impl<S: SafetyStage, R: GuardRule> JointGuard<S, R> {
    pub(crate) fn with_rule(inner: S, rule: R) -> Self {
        Self { inner, rule, q: [0.0; MAX_DOF], dq: [0.0; MAX_DOF], hits: 0 }
    }
}

impl<S: SafetyStage, R: GuardRule> ArmDriver for JointGuard<S, R> {
    fn info(&self) -> &ArmInfo {
        self.inner.info()
    }
    fn read_state(&mut self) -> Result<JointState, DriverError> {
        let s = self.inner.read_state()?;
        self.q = s.q;
        self.dq = s.dq;
        Ok(s)
    }
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        let mut out = *tau;
        let mut acted = false;
        for (i, t) in out.iter_mut().enumerate().take(self.inner.info().dof) {
            acted |= self.rule.apply(i, self.q[i], self.dq[i], t);
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

impl<S: SafetyStage, R: GuardRule> SafetyStage for JointGuard<S, R> {
    type Base = S::Base;
    fn add_counts(&self, c: &mut LimitCounters) {
        R::count(self.hits, c);
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
