//! Errors of the teleop crate. Every device error names the device (and its path where it has one).

use interfaces::drivers::DriverError;
use thiserror::Error;

/// What went wrong with a teleoperation device or the node.
#[derive(Debug, Error)]
pub enum TeleopError {
    /// The device is not present (not plugged in, no permission to see it, no receiver paired).
    #[error("{device}: not found ({detail})")]
    NotFound {
        /// Device (`spacemouse`, `gamepad`, `keyboard`) and path where known.
        device: String,
        /// What was looked for, and where.
        detail: String,
    },
    /// The device exists but could not be opened or read.
    #[error("{device}: {what}: {source}")]
    Io {
        /// Device and path.
        device: String,
        /// What was attempted (`open`, `read`…).
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The device went away while in use (unplugged, receiver out of range, gamepad disconnected).
    #[error("{device}: disconnected ({detail})")]
    Disconnected {
        /// Device and path.
        device: String,
        /// Cause.
        detail: String,
    },
    /// A HID report could not be decoded.
    #[error("{device}: bad report: {source}")]
    Report {
        /// Device and path.
        device: String,
        /// Why the report was rejected.
        #[source]
        source: crate::spacemouse::ReportError,
    },
    /// The bus failed (publisher or subscriber could not be declared, or a message could not be sent).
    #[error("teleop node: bus: {0}")]
    Bus(#[from] bus::BusError),
}

impl TeleopError {
    /// Converts into the driver-trait error of `interfaces` (for [`interfaces::drivers::TeleopDevice`]).
    pub fn into_driver_error(self) -> DriverError {
        match self {
            TeleopError::NotFound { device, detail } | TeleopError::Disconnected { device, detail } => {
                DriverError::Disconnected { device, detail }
            }
            TeleopError::Io { device, what, source } => {
                DriverError::Disconnected { device, detail: format!("{what}: {source}") }
            }
            TeleopError::Report { device, source } => DriverError::Corrupt { device, detail: source.to_string() },
            TeleopError::Bus(e) => DriverError::Disconnected { device: "bus".into(), detail: e.to_string() },
        }
    }
}
