//! Franka Emika arms (Panda) through the Franka Control Interface (FCI), protocol version 5, in torque control at
//! 1 kHz. A robot whose system image speaks another FCI version (FR3 images use newer ones, with another state
//! layout) is refused at Connect, naming both versions.
//!
//! - [`protocol`]: the FCI wire format (command messages over TCP, robot state and command datagrams over UDP),
//!   pure and fuzzed;
//! - [`arm`]: [`FrankaArm`], the [`interfaces::drivers::ArmDriver`]: connect with version check, collision
//!   thresholds, the torque motion, reflexes and the user stop as typed errors, the recovery command.
//!
//! Written from the protocol's published layout rather than on `franka-rs`, which wraps the C++ library
//! (not pure Rust) and does not expose the datagram parsers that the emulator and the fuzz targets use.

pub mod arm;
pub mod protocol;

pub use arm::{FciHealth, FrankaArm};

/// The robot's real-time rate, Hz.
pub const FCI_RATE_HZ: f64 = 1000.0;

#[cfg(test)]
mod tests;
