//! Teleoperation input: a human's velocity command from any device (SpaceMouse, gamepad, keyboard, the panel's
//! virtual joystick), on its way to the intervention arbiter.

use super::{Header, Message};
use serde::{Deserialize, Serialize};

/// One sample of a teleoperation device, published on `teleop/command` while the device is in use (typically at
/// 10–100 Hz). The intervention arbiter turns it into the executed action while `takeover` is held.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TeleopCommand {
    /// Stamp = when the device was read.
    pub header: Header,
    /// Device that produced it (`spacemouse`, `gamepad`, `keyboard`, `panel`…).
    pub device: String,
    /// Requested TCP twist in the robot's base frame: `[vx, vy, vz]` m/s then `[wx, wy, wz]` rad/s.
    pub twist: [f64; 6],
    /// Gripper request: `Some(true)` close, `Some(false)` open, `None` no change.
    pub gripper_close: Option<bool>,
    /// The human is taking over: while true the arbiter executes this command instead of the policy's action.
    pub takeover: bool,
}

impl Message for TeleopCommand {
    const TYPE: &'static str = "TeleopCommand";
    fn header(&self) -> &Header {
        &self.header
    }
    fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}
