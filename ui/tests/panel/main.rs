//! The operator panel under egui_kittest: the commands it sends (captured, and over a real bus on loopback), the
//! stale data warning, the gain ranges, the joystick, and snapshots of its main views.

mod fixtures;
mod interaction;
mod over_bus;
mod snapshots;
