//! Emulators of real devices, backed by the simulated arm, so drivers run their real I/O paths in tests.
//!
//! - [`dynamixel`]: a Dynamixel Protocol 2.0 servo chain on a pseudo-terminal.

pub mod bench;
pub mod dynamixel;

pub use dynamixel::{DynamixelEmulator, EmulatorOptions, FaultInjection, ServoView};
