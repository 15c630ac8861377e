//! Feetech SCS/STS servo chains ("protocol 0") over a half-duplex serial bus: the SO-100/SO-101 arm.
//!
//! - [`protocol`]: the packet codec (framing, checksum, sign-magnitude fields), pure and fuzzed;
//! - [`control_table`]: addresses and units of the STS series (STS3215);
//! - [`bus`]: transactions (ping, read, write, sync read, sync write) over a [`SerialLink`];
//! - [`arm`]: [`FeetechArm`], the [`interfaces::drivers::ArmDriver`] that renders the controller's torques through
//!   the servos' position loops (the formula and its limits are in [`arm`]'s docs), with retries, fault mapping
//!   and safe stop; [`FeetechGripper`], the jaw servo on the same bus;
//! - [`calibrate`]: the servos' zeros and the joints' ranges measured by hand with torque off.
//!
//! The codec is written here, like the Dynamixel one, so that the emulator (`sim::emulators::feetech`) and the
//! fuzz targets use the very parser the driver runs.

pub mod arm;
pub mod bus;
pub mod calibrate;
pub mod control_table;
pub mod protocol;

pub use crate::drivers::serial::{BusHealth, BusTiming, SerialLink};
pub use arm::{FeetechArm, FeetechGripper};
pub use bus::{BusError, FeetechBus};
pub use calibrate::{Calibration, CalibrationError, Calibrator};

#[cfg(test)]
mod tests;
