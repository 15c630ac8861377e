//! The safety envelope: small stages, each with one job and its formula in its doc comment.
//!
//! Target-level stages act on the pose target before the law: [`workspace_box`] (clamp the target into the box)
//! and [`watchdog`] (stale target → hold the pose). Error clipping lives in the law ([`crate::law`]). The
//! driver-level stages are **decorators around any [`ArmDriver`]**, composed as
//!
//! ```text
//! EStopLatch< JointLimitGuard< VelocityGuard< TorqueLimiter< driver > > > >
//! ```
//!
//! so a torque written by the law passes the e-stop latch, then the joint-limit guard, the velocity guard, and
//! finally the torque clamp and rate limit, which is innermost so that its bounds hold whatever the guards add:
//! every torque that reaches the driver satisfies `|τᵢ| ≤ τmaxᵢ` and `|τᵢ − τᵢ,prev| ≤ rate·Δt`.
//!
//! Each stage counts how often it acted (cycles in which it changed something) into
//! [`interfaces::msg::LimitCounters`].

pub mod estop;
pub mod joint_guard;
pub mod joint_limit_guard;
pub mod torque_limiter;
pub mod velocity_guard;
pub mod watchdog;
pub mod workspace_box;

pub use estop::EStopLatch;
pub use joint_guard::{GuardRule, JointGuard};
pub use joint_limit_guard::JointLimitGuard;
pub use torque_limiter::TorqueLimiter;
pub use velocity_guard::VelocityGuard;
pub use watchdog::Watchdog;
pub use workspace_box::WorkspaceClamp;

use crate::model::RobotModel;
use interfaces::config::ControllerConfig;
use interfaces::drivers::{ArmDriver, JointVec};
use interfaces::msg::LimitCounters;

/// A driver-level safety stage: an [`ArmDriver`] that reports its limit hits and gives access to the driver it
/// protects.
pub trait SafetyStage: ArmDriver {
    /// The unprotected driver at the bottom of the stack.
    type Base: ArmDriver;
    /// Adds this stage's and the inner stages' hit counts to `c`.
    fn add_counts(&self, c: &mut LimitCounters);
    /// The torque last sent to the driver, N·m.
    fn applied_torque(&self) -> JointVec;
    /// The unprotected driver (read access, e.g. to a simulator's world).
    fn base(&self) -> &Self::Base;
    /// The unprotected driver (write access; bypasses the envelope — tests and scene resets only).
    fn base_mut(&mut self) -> &mut Self::Base;
}

/// The full driver-level envelope around a driver `D`.
pub type Envelope<D> = EStopLatch<JointLimitGuard<VelocityGuard<TorqueLimiter<D>>>>;

/// Wraps `driver` in the full envelope with the limits of `model` and `cfg`.
pub fn wrap<D: ArmDriver>(driver: D, model: &RobotModel, cfg: &ControllerConfig) -> Envelope<D> {
    let limiter = TorqueLimiter::new(driver, *model.torque_limit(), cfg.torque_rate_limit / cfg.rate_hz);
    let vel = VelocityGuard::new(limiter, *model.velocity_limit(), *model.torque_limit(), cfg.velocity_guard_fraction);
    let jl = JointLimitGuard::new(vel, model, cfg.joint_limit_margin);
    EStopLatch::new(jl)
}

#[cfg(test)]
mod tests;
