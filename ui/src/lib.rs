//! # ui
//!
//! corrigo's operator panel (egui/eframe): what a researcher at the robot cell looks at for hours while a policy
//! learns. It shows the cameras (policy crops and full frames, with age and rate), the arm (TCP pose, joint
//! positions and torques against their limits, controller mode, watchdog and e-stop state, limit-hit counters,
//! deadline misses), the learning curves (success rate, return, intervention rate, losses, temperature,
//! updates/s, buffer sizes) and the policy version, which nodes are alive, a warning when any shown data is
//! stale, and per subscribed key the payloads that did not reach it (decode errors, oversize refusals, queue
//! drops, sequence gaps; highlighted when non-zero). It sends episode commands, success/failure labels, the e-stop (button or Space) and its confirmed reset,
//! gains within their validated ranges, and interventions from a virtual joystick.
//!
//! The panel holds no robot logic: it connects to any running cell through the bus.
//!
//! Structure:
//! - [`PanelState`]: the view-model, the newest value of everything shown, fed by [`BusFeed`] from the bus.
//! - [`Panel`]: draws a `PanelState` and emits commands through an injectable [`CommandSink`] — [`BusSink`]
//!   publishes on the bus, [`RecordingSink`] captures commands in tests.
//! - [`run_panel`]: the window; [`display_available`] tells whether one can be opened.
//! - [`replay::ReplayView`] / [`replay::run_replay`]: a run directory's stored episodes played back (no cell needed).

mod display;
mod error;
pub mod feed;
pub mod panel;
pub mod replay;
pub mod sink;
pub mod state;
mod window;

pub use display::display_available;
pub use error::UiError;
pub use feed::BusFeed;
pub use panel::Panel;
pub use sink::{BusSink, CommandSink, EStopRoute, RecordingSink, Sent};
pub use state::{PanelState, StaleLimits};
pub use window::{run_panel, run_panel_until};
