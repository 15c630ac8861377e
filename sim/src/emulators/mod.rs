//! Emulators of real devices, backed by the simulated arm, so drivers run their real I/O paths in tests.
//!
//! - [`dynamixel`]: a Dynamixel Protocol 2.0 servo chain on a pseudo-terminal;
//! - [`feetech`]: a Feetech STS servo chain (the SO-101) on a pseudo-terminal;
//! - [`ur_rtde`]: a Universal Robots e-Series controller's RTDE server on a loopback TCP port;
//! - [`franka_fci`]: a Franka robot's FCI (TCP command port, UDP state stream) on loopback sockets.

#[cfg(feature = "bench")]
pub mod bench;
pub mod dynamixel;
pub mod feetech;
pub mod franka_fci;
pub mod ur_rtde;

pub use dynamixel::{DynamixelEmulator, EmulatorOptions, FaultInjection, ServoView};
pub use feetech::{FeetechEmulator, FeetechEmulatorOptions, Hand};
