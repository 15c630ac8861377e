//! The operator panel: draws a [`PanelState`] and turns the operator's clicks and keys into commands sent
//! through a [`CommandSink`].
//!
//! Layout: a header (cell, controller mode, e-stop and watchdog state, nodes alive, the e-stop button and the
//! stale data warning), controls on the left (episode, labels, e-stop reset, gains, intervention joystick) above
//! the bus counters of the panel's own subscriptions (payloads refused or lost, per key, highlighted when
//! non-zero), and cameras, arm and learning curves in the centre, with the event log at the bottom.
//!
//! Safety: Space triggers the e-stop from anywhere in the panel (the key is taken before any widget sees it, so it
//! never presses a focused button instead); the e-stop button stays clickable while a dialog is open; clearing a
//! latched e-stop needs an explicit confirmation.

mod arm;
mod cameras;
mod controls;
mod gains;
mod header;
mod joystick;
mod learning;
mod style;
mod subscriptions;

pub use controls::labels as control_labels;
pub use gains::labels as gain_labels;
pub use gains::slider_label as gain_slider_label;
pub use header::STALE_LABEL;
pub use joystick::DEVICE as JOYSTICK_DEVICE;
pub use joystick::labels as joystick_labels;
pub use subscriptions::{Counter as BusCounter, SECTION as BUS_SECTION, count_label as bus_count_label};

use crate::sink::CommandSink;
use crate::state::{PanelState, StaleLimits};
use arm::ArmModel;
use cameras::CameraTextures;
use egui::{Event, Key, RichText};
use gains::GainsEditor;
use interfaces::msg::{Command, Level};
use interfaces::{CellConfig, Clock, Stamp};
use joystick::Joystick;
use std::collections::VecDeque;
use std::sync::Arc;
use style::{BAD, MUTED, WARN};

/// Text of the e-stop button.
pub const ESTOP_LABEL: &str = "E-STOP";

/// Width of the controls column, points.
const CONTROLS_WIDTH: f32 = 400.0;

/// A line of feedback about what the panel sent (or failed to send).
#[derive(Debug, Clone)]
struct Notice {
    at: Stamp,
    text: String,
    error: bool,
}

/// The operator panel. Call [`Panel::show`] once per frame; feed [`Panel::state_mut`] from the bus in between.
pub struct Panel {
    cell: String,
    state: PanelState,
    sink: Box<dyn CommandSink>,
    clock: Arc<dyn Clock>,
    model: ArmModel,
    gains: GainsEditor,
    joystick: Joystick,
    confirm_estop_reset: bool,
    textures: CameraTextures,
    notices: VecDeque<Notice>,
}

impl std::fmt::Debug for Panel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Panel").field("cell", &self.cell).field("state", &self.state).finish_non_exhaustive()
    }
}

impl Panel {
    /// A panel for the cell `cfg` (its cameras, joint limits and initial gains) sending through `sink`; `clock`
    /// gives the time data ages are measured against (the receive stamps' clock: [`interfaces::MonotonicClock`]
    /// for a live panel, a [`interfaces::MockClock`] in tests).
    pub fn new(cfg: &CellConfig, sink: Box<dyn CommandSink>, clock: Arc<dyn Clock>) -> Self {
        Self {
            cell: cfg.cell.name.clone(),
            state: PanelState::new(cfg.cameras.iter().map(|c| c.name.clone()), StaleLimits::default()),
            sink,
            clock,
            model: ArmModel::from_config(cfg),
            gains: GainsEditor::new(cfg.controller.gains),
            joystick: Joystick::default(),
            confirm_estop_reset: false,
            textures: CameraTextures::default(),
            notices: VecDeque::new(),
        }
    }

    /// Sets the ages above which shown data is flagged stale.
    pub fn with_stale_limits(mut self, limits: StaleLimits) -> Self {
        self.state.stale_limits = limits;
        self
    }

    /// What the panel shows.
    pub fn state(&self) -> &PanelState {
        &self.state
    }

    /// What the panel shows, to feed it.
    pub fn state_mut(&mut self) -> &mut PanelState {
        &mut self.state
    }

    /// Sends an operator command and notes the outcome for the operator.
    fn send(&mut self, command: Command) {
        let what = match &command {
            Command::SetGains(_) => "SetGains".to_string(),
            Command::Label(true) => "Label(success)".to_string(),
            Command::Label(false) => "Label(failure)".to_string(),
            c => format!("{c:?}"),
        };
        match self.sink.send_command(command) {
            Ok(()) => self.notify(format!("sent {what}"), false),
            Err(e) => {
                tracing::warn!(error = %e, "operator command not sent");
                self.notify(e.to_string(), true);
            }
        }
    }

    fn notify(&mut self, text: String, error: bool) {
        if self.notices.len() >= 20 {
            self.notices.pop_front();
        }
        self.notices.push_back(Notice { at: self.clock.now(), text, error });
    }

    /// Draws one frame and handles the operator's input. Does not request repaints: the caller decides the
    /// refresh rate.
    pub fn show(&mut self, ctx: &egui::Context) {
        let now = self.clock.now();
        if take_space(ctx) {
            self.send(Command::EStop);
        }
        egui::TopBottomPanel::top("header").show(ctx, |ui| header::show(self, ui, now));
        egui::TopBottomPanel::bottom("events").resizable(false).exact_height(96.0).show(ctx, |ui| self.events(ui, now));
        egui::SidePanel::left("controls").resizable(false).exact_width(CONTROLS_WIDTH).show(ctx, |ui| {
            egui::ScrollArea::vertical().id_salt("controls_scroll").show(ui, |ui| {
                ui.add_space(4.0);
                controls::show(self, ui, now);
                ui.separator();
                joystick::show(self, ui);
                ui.separator();
                gains::show(self, ui);
                ui.separator();
                subscriptions::show(&self.state, ui);
            });
        });
        egui::CentralPanel::default().show(ctx, |ui| {
            egui::ScrollArea::vertical().id_salt("views_scroll").show(ui, |ui| {
                cameras::show(&self.state, &mut self.textures, ui, now);
                ui.separator();
                arm::show(&self.state, &self.model, ui, now);
                ui.separator();
                learning::show(&self.state, ui, now);
            });
        });
        controls::confirm_estop_reset(self, ctx);
        joystick::publish(self, ctx);
    }

    fn events(&self, ui: &mut egui::Ui, now: Stamp) {
        ui.horizontal(|ui| {
            style::section(ui, "Events");
            ui.label(RichText::new("newest first").color(MUTED).small());
        });
        egui::ScrollArea::vertical().id_salt("events_scroll").auto_shrink([false, false]).show(ui, |ui| {
            if self.state.events.is_empty() {
                ui.label(RichText::new("no events").color(MUTED));
            }
            for e in self.state.events.iter().rev() {
                let color = match e.msg.level {
                    Level::Info => ui.visuals().text_color(),
                    Level::Warn => WARN,
                    Level::Error => BAD,
                };
                ui.label(
                    RichText::new(format!(
                        "{:>7} ago  {:<10} {:?}: {}",
                        style::age(now.secs_since(e.received)),
                        e.msg.node,
                        e.msg.level,
                        e.msg.text
                    ))
                    .monospace()
                    .color(color),
                );
            }
        });
    }
}

/// Removes every Space key event of this frame (so no focused widget reacts to it) and says whether Space was
/// pressed.
fn take_space(ctx: &egui::Context) -> bool {
    ctx.input_mut(|i| {
        let pressed =
            i.events.iter().any(|e| matches!(e, Event::Key { key: Key::Space, pressed: true, repeat: false, .. }));
        i.events.retain(|e| !matches!(e, Event::Key { key: Key::Space, .. }));
        pressed
    })
}
