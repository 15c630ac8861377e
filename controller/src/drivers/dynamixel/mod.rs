//! Dynamixel Protocol 2.0 servo chains over a serial port.
//!
//! - [`protocol`]: the packet codec (framing, byte stuffing, CRC-16), pure and fuzzed;
//! - [`control_table`]: addresses and units of the X and P series;
//! - [`bus`]: transactions (ping, read, write, reboot, sync read, sync write) over a [`bus::SerialLink`];
//! - [`arm`]: [`DynamixelArm`], the [`interfaces::drivers::ArmDriver`] with retries, fault mapping and safe stop.
//!
//! The codec is written here rather than taken from `dynamixel2` (built on `serial2`, not this workspace's
//! `serialport`) or `rustypot` (register access generated per model, no access to the raw packet parser that the
//! emulator and the fuzz targets use).

pub mod arm;
pub mod bus;
pub mod control_table;
pub mod protocol;

pub use crate::drivers::serial::latency_timer_ms;
pub use arm::{BusHealth, BusTiming, DynamixelArm, bus_watchdog_units};
pub use bus::{BusError, DynamixelBus, SerialLink};
pub use control_table::ControlTable;

#[cfg(test)]
mod tests;
