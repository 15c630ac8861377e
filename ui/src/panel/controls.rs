//! Episode and safety controls: start/stop/reset the episode, label it, and reset a latched e-stop (only after a
//! confirmation).

use super::style::{BAD, MUTED, OK, WARN, age, section};
use super::{Notice, Panel};
use egui::{Button, Color32, Id, RichText, Ui, vec2};
use interfaces::Stamp;
use interfaces::msg::Command;

/// Labels of the controls (tests find the widgets by them).
pub mod labels {
    /// Starts an episode.
    pub const START: &str = "Start episode";
    /// Stops the current episode.
    pub const STOP: &str = "Stop episode";
    /// Resets the scene to the episode's start.
    pub const RESET: &str = "Reset episode";
    /// Labels the episode a success.
    pub const SUCCESS: &str = "Mark success";
    /// Labels the episode a failure.
    pub const FAILURE: &str = "Mark failure";
    /// Opens the e-stop reset confirmation.
    pub const ESTOP_RESET: &str = "Reset e-stop…";
    /// Confirms the e-stop reset.
    pub const ESTOP_RESET_CONFIRM: &str = "Yes, reset the e-stop";
    /// Cancels the e-stop reset.
    pub const ESTOP_RESET_CANCEL: &str = "Cancel";
}

pub(super) fn show(p: &mut Panel, ui: &mut Ui, now: Stamp) {
    section(ui, "Episode");
    let wide = vec2((ui.available_width() - 2.0 * ui.spacing().item_spacing.x) / 3.0, 32.0);
    ui.horizontal(|ui| {
        if ui.add(Button::new(labels::START).min_size(wide)).clicked() {
            p.send(Command::StartEpisode);
        }
        if ui.add(Button::new(labels::STOP).min_size(wide)).clicked() {
            p.send(Command::StopEpisode);
        }
        if ui.add(Button::new(labels::RESET).min_size(wide)).clicked() {
            p.send(Command::ResetEpisode);
        }
    });
    let half = vec2((ui.available_width() - ui.spacing().item_spacing.x) / 2.0, 32.0);
    ui.horizontal(|ui| {
        let success = Button::new(RichText::new(labels::SUCCESS).strong().color(Color32::WHITE))
            .fill(Color32::from_rgb(30, 120, 60))
            .min_size(half);
        if ui.add(success).on_hover_text("Label the current episode a success").clicked() {
            p.send(Command::Label(true));
        }
        let failure = Button::new(RichText::new(labels::FAILURE).strong().color(Color32::WHITE))
            .fill(Color32::from_rgb(130, 50, 40))
            .min_size(half);
        if ui.add(failure).on_hover_text("Label the current episode a failure").clicked() {
            p.send(Command::Label(false));
        }
    });
    ui.add_space(8.0);
    section(ui, "Safety");
    ui.horizontal(|ui| {
        let latched = p.state.arm.as_ref().map(|a| a.msg.estop);
        let reset = Button::new(labels::ESTOP_RESET).min_size(vec2(150.0, 28.0));
        if ui.add(reset).on_hover_text("Clear a latched e-stop (asks for confirmation)").clicked() {
            p.confirm_estop_reset = true;
        }
        match latched {
            Some(true) => ui.label(RichText::new("e-stop latched").color(BAD).strong()),
            Some(false) => ui.label(RichText::new("e-stop clear").color(OK)),
            None => ui.label(RichText::new("e-stop state unknown").color(WARN)),
        };
    });
    ui.add_space(4.0);
    notices(&p.notices, ui, now);
}

fn notices(notices: &std::collections::VecDeque<Notice>, ui: &mut Ui, now: Stamp) {
    for n in notices.iter().rev().take(3) {
        let color = if n.error { BAD } else { MUTED };
        ui.label(RichText::new(format!("{} ({} ago)", n.text, age(now.secs_since(n.at)))).color(color).small());
    }
}

/// The confirmation dialog of the e-stop reset; sends the reset only on an explicit confirmation (Escape
/// cancels).
pub(super) fn confirm_estop_reset(p: &mut Panel, ctx: &egui::Context) {
    if !p.confirm_estop_reset {
        return;
    }
    let mut confirmed = false;
    let mut cancelled = ctx.input(|i| i.key_pressed(egui::Key::Escape));
    // A window, not a modal: the e-stop button must stay clickable while the question is open.
    egui::Window::new(RichText::new("Reset the e-stop?").size(18.0).strong())
        .id(Id::new("estop_reset_confirm"))
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.set_width(380.0);
            ui.label("The controller will accept pose targets again and the arm may move.");
            ui.label("Make sure the cell is clear and the cause of the stop is fixed.");
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                let confirm = Button::new(RichText::new(labels::ESTOP_RESET_CONFIRM).strong().color(Color32::WHITE))
                    .fill(Color32::from_rgb(170, 110, 0));
                if ui.add(confirm).clicked() {
                    confirmed = true;
                }
                if ui.button(labels::ESTOP_RESET_CANCEL).clicked() {
                    cancelled = true;
                }
            });
        });
    if confirmed {
        p.send(Command::ResetEStop);
    }
    if confirmed || cancelled {
        p.confirm_estop_reset = false;
    }
}
