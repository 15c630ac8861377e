//! # teleop
//!
//! Human input for corrigo: teleoperation devices and the intervention arbiter.
//!
//! - Devices, each mapped to a TCP twist (m/s, rad/s) plus gripper and takeover with per-device scaling, dead zone
//!   and axis mapping from `[teleop.<device>]`: a 3Dconnexion SpaceMouse read straight from Linux hidraw
//!   ([`spacemouse`]), gamepads through gilrs ([`gamepad`]), the keyboard of the panel or a terminal
//!   ([`keyboard`]). The twist is expressed in `teleop.frame` (base or end effector, [`frame`]).
//! - The node ([`run_teleop_node`], `corrigo teleop`) publishes [`interfaces::msg::TeleopCommand`]s at
//!   `teleop.rate_hz`, episode controls on `teleop/episode` and its device's e-stop on its own `<node>/estop`; a
//!   missing device is reported and retried.
//! - The arbiter ([`InterventionArbiter`]), called by the actor once per step: the human's action replaces the
//!   policy's while the human is moving (plus a hold time); flagged steps go to the online and demo buffers.
//!
//! Units are SI; published twists are in the robot's base frame.

pub mod arbiter;
pub mod controls;
mod error;
pub mod frame;
pub mod gamepad;
pub mod keyboard;
#[cfg(feature = "leader")]
pub mod leader;
pub mod mapping;
mod node;
pub mod source;
pub mod spacemouse;

pub use arbiter::{
    Action, ArbiterConfig, Arbitration, GripperAction, InterventionArbiter, InterventionStats, Overridden, Routing,
    TeleopInput,
};
pub use controls::EpisodeControl;
pub use error::TeleopError;
#[cfg(feature = "leader")]
pub use leader::{LeaderArm, LeaderPose};
pub use node::{DeviceChoice, TeleopNodeReport, run_teleop_node, run_teleop_node_with};
pub use source::{DeviceSample, TeleopSource};
