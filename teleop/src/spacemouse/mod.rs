//! 3Dconnexion SpaceMouse over Linux hidraw: discovery ([`discover`]), report decoding ([`report`]) and the device
//! ([`SpaceMouse`]). No HID library is needed: the kernel's hidraw nodes hand out one input report per `read`.
//!
//! Permissions: the user needs read access to the `/dev/hidrawN` node, e.g. a udev rule
//! `KERNEL=="hidraw*", ATTRS{idVendor}=="256f", MODE="0660", GROUP="plugdev"` (and `046d` for older models).

mod device;
pub mod discover;
pub mod report;

pub use device::SpaceMouse;
pub use discover::{HidrawDevice, find_spacemice};
pub use report::{ReportError, ReportKind, SpaceMouseState};
