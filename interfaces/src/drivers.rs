//! Traits implemented by hardware backends (and their simulated stand-ins).
//!
//! Swapping the simulator for a real arm is a config change: the controller only sees these traits. Methods
//! called from the real-time loop ([`ArmDriver::read_state`], [`ArmDriver::write_torque`]) must not allocate on
//! their success path; errors may allocate (they end the normal loop anyway).

use crate::msg::{GripperCommand, GripperState};
use crate::time::Stamp;
use thiserror::Error;

/// Most joints an arm may have. Joint vectors are fixed-size arrays of this length (no allocation in the
/// real-time loop); only the first `dof` entries are meaningful.
pub const MAX_DOF: usize = 7;

/// A joint-space vector: the first `dof` entries are used, the rest are zero.
pub type JointVec = [f64; MAX_DOF];

/// One measurement of the arm's joints.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct JointState {
    /// When the joints were measured.
    pub stamp: Stamp,
    /// Positions, rad.
    pub q: JointVec,
    /// Velocities, rad/s.
    pub dq: JointVec,
    /// Measured joint torques, N·m (zero where the arm cannot measure them).
    pub tau_measured: JointVec,
}

/// Static facts about an arm backend.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmInfo {
    /// Backend name for messages (e.g. `sim`, `dynamixel:/dev/ttyUSB0`).
    pub name: String,
    /// Number of joints (≤ [`MAX_DOF`]).
    pub dof: usize,
    /// True when the arm compensates gravity itself (Franka, UR); the controller then does not add `g(q)`.
    pub gravity_compensated: bool,
}

/// Errors of a driver, naming the device and, where known, the joint or motor ID.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DriverError {
    /// No answer in time.
    #[error("{device}: timeout waiting for {what} after {timeout_ms} ms")]
    Timeout {
        /// Port or address.
        device: String,
        /// What was awaited (e.g. `status packet of ID 3`).
        what: String,
        /// How long it waited.
        timeout_ms: u64,
    },
    /// A packet failed its checksum or framing.
    #[error("{device}: corrupt packet ({detail})")]
    Corrupt {
        /// Port or address.
        device: String,
        /// What was wrong.
        detail: String,
    },
    /// The device is gone (unplugged, connection closed).
    #[error("{device}: disconnected ({detail})")]
    Disconnected {
        /// Port or address.
        device: String,
        /// Cause.
        detail: String,
    },
    /// The hardware reported a fault (error bits, reflex, protective stop).
    #[error("{device}: hardware fault on {unit}: {detail}")]
    HardwareFault {
        /// Port or address.
        device: String,
        /// Joint, motor ID or subsystem.
        unit: String,
        /// Decoded fault.
        detail: String,
    },
    /// A command was refused because it is invalid (wrong size, not finite).
    #[error("{device}: invalid command: {detail}")]
    InvalidCommand {
        /// Port or address.
        device: String,
        /// What was wrong.
        detail: String,
    },
}

/// A torque-controlled arm.
pub trait ArmDriver: Send {
    /// Static facts about the arm.
    fn info(&self) -> &ArmInfo;
    /// Reads the newest joint measurement. Real-time safe on success.
    fn read_state(&mut self) -> Result<JointState, DriverError>;
    /// Sends joint torques (N·m; only the first `dof` entries are used). Real-time safe on success.
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError>;
    /// Brings the arm to its safe state (hold in place or torque off, as the backend is configured).
    /// Called after a fault; must be callable repeatedly.
    fn safe_stop(&mut self) -> Result<(), DriverError>;
    /// Clears a fault the arm itself latched (a Franka reflex, …) so that control can resume; called when the
    /// operator resets the controller's e-stop or fault. Not real-time (it may wait for the robot). Arms without
    /// such a state have nothing to do.
    fn recover(&mut self) -> Result<(), DriverError> {
        Ok(())
    }
}

/// A gripper.
pub trait GripperDriver: Send {
    /// Sends a command (width in metres, force limit in newtons).
    fn command(&mut self, cmd: GripperCommand) -> Result<(), DriverError>;
    /// Reads the gripper's state.
    fn read(&mut self) -> Result<GripperState, DriverError>;
}

/// An RGB image as grabbed from a camera.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// When it was captured (monotonic clock, taken at grab).
    pub stamp: Stamp,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Row-major RGB8 pixels.
    pub rgb: Vec<u8>,
}

/// A camera.
pub trait Camera: Send {
    /// Camera name from the config.
    fn name(&self) -> &str;
    /// Blocks until the next image is available and returns it.
    fn grab(&mut self) -> Result<Image, DriverError>;
}

impl<C: Camera + ?Sized> Camera for Box<C> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn grab(&mut self) -> Result<Image, DriverError> {
        (**self).grab()
    }
}

/// Where the camera node gets the cameras of `sim` sources: the simulated cell of the same process implements it
/// (`sim::SimCell`, `sim::SimWorld`), so the camera node renders simulated cameras without depending on the
/// simulator.
pub trait SimCameras {
    /// Starts the camera of `cfg` (a `sim` source) at its capture size, rendering this cell's world. `Err` says
    /// why not (no such model camera, no renderer).
    fn open_camera(&mut self, cfg: &crate::config::CameraConfig) -> Result<Box<dyn Camera>, String>;
}

/// One reading of a teleoperation device, already scaled and dead-zoned.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TeleopReading {
    /// When it was read.
    pub stamp: Stamp,
    /// Twist `[vx, vy, vz, wx, wy, wz]` in m/s and rad/s, in the device's configured frame.
    pub twist: [f64; 6],
    /// Gripper request from a button: `Some(true)` close, `Some(false)` open.
    pub gripper_close: Option<bool>,
    /// Takeover button held.
    pub takeover: bool,
}

/// A teleoperation device (SpaceMouse, gamepad, keyboard).
pub trait TeleopDevice: Send {
    /// Device name for messages.
    fn name(&self) -> &str;
    /// Returns the newest reading, or `None` if nothing changed since the last call.
    fn poll(&mut self) -> Result<Option<TeleopReading>, DriverError>;
}
