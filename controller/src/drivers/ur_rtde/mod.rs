//! Universal Robots e-Series arms over RTDE (Real-Time Data Exchange, TCP 30004) in direct torque control.
//!
//! - [`protocol`]: the RTDE wire format (framing, recipes, data packages), pure and fuzzed;
//! - [`arm`]: [`UrRtdeArm`], the [`interfaces::drivers::ArmDriver`]: handshake, the 500 Hz stream, late and
//!   stale packages, the robot's safety and program states as typed errors, the safe stop.
//!
//! The robot side is the URScript program `hardware_configs/ur_rtde_torque.script`: each cycle it reads the
//! torques from the input registers and applies them with `direct_torque`, and it stops the arm when the
//! driver's counter stalls or its stop flag is raised.

pub mod arm;
pub mod protocol;

pub use arm::{RtdeHealth, RtdeSession, UrRtdeArm};

#[cfg(test)]
mod tests;
