//! The top bar: cell, controller mode, e-stop and watchdog state, nodes alive, the e-stop button, and the stale
//! data warning.

use super::style::{BAD, MUTED, OK, WARN, badge, dot};
use super::{ESTOP_LABEL, Panel};
use egui::{Button, Color32, RichText, Ui, vec2};
use interfaces::Stamp;
use interfaces::msg::{Command, ControllerMode};

/// Nodes a full cell runs; shown even when absent.
const EXPECTED_NODES: [&str; 5] = ["controller", "camera", "actor", "learner", "teleop"];

/// Colour and text of a controller mode.
pub(super) fn mode_badge(mode: ControllerMode) -> (&'static str, Color32) {
    match mode {
        ControllerMode::Idle => ("IDLE", MUTED),
        ControllerMode::Tracking => ("TRACKING", OK),
        ControllerMode::WatchdogHold => ("WATCHDOG HOLD", WARN),
        ControllerMode::EStopped => ("E-STOPPED", BAD),
        ControllerMode::Fault => ("FAULT", BAD),
    }
}

pub(super) fn show(p: &mut Panel, ui: &mut Ui, now: Stamp) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.label(RichText::new(format!("corrigo · {}", p.cell)).size(20.0).strong());
            ui.horizontal(|ui| match &p.state.arm {
                Some(a) => {
                    let (text, color) = mode_badge(a.msg.mode);
                    ui.label("controller");
                    badge(ui, text, color);
                    ui.separator();
                    ui.label("e-stop");
                    if a.msg.estop {
                        badge(ui, "LATCHED", BAD)
                    } else {
                        badge(ui, "clear", OK)
                    };
                    ui.separator();
                    ui.label("watchdog");
                    if a.msg.mode == ControllerMode::WatchdogHold {
                        badge(ui, "holding (no fresh target)", WARN)
                    } else {
                        badge(ui, "ok", OK)
                    };
                }
                None => {
                    badge(ui, "no arm state received", WARN);
                }
            });
            ui.horizontal(|ui| {
                ui.label("nodes");
                let mut shown: Vec<&str> = EXPECTED_NODES.to_vec();
                shown.extend(p.state.alive.iter().map(String::as_str).filter(|n| !EXPECTED_NODES.contains(n)));
                for node in shown {
                    let alive = p.state.alive.contains(node);
                    let color = if alive { OK } else { MUTED };
                    dot(ui, color, alive);
                    badge(ui, node, color).on_hover_text(if alive {
                        "alive"
                    } else {
                        "not running (no liveliness token)"
                    });
                }
            });
        });
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let estop = Button::new(RichText::new(ESTOP_LABEL).size(26.0).strong().color(Color32::WHITE))
                .fill(Color32::from_rgb(200, 20, 20))
                .min_size(vec2(220.0, 64.0));
            if ui.add(estop).on_hover_text("Emergency stop (Space). Latches until reset.").clicked() {
                p.send(Command::EStop);
            }
            ui.label(RichText::new("Space = e-stop").color(MUTED));
        });
    });
    let stale = p.state.stale(now);
    if !stale.is_empty() {
        let text = stale
            .iter()
            .map(|s| format!("{} {} old (limit {})", s.what, super::style::age(s.age_s), super::style::age(s.limit_s)))
            .collect::<Vec<_>>()
            .join(" · ");
        egui::Frame::new().fill(Color32::from_rgb(120, 70, 0)).inner_margin(6.0).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(format!("{STALE_LABEL}: {text}")).strong().color(Color32::WHITE));
        });
    }
    ui.add_space(2.0);
}

/// Start of the stale data warning (tests look for it).
pub const STALE_LABEL: &str = "STALE DATA";
