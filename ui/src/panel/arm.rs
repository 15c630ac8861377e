//! The arm: mode and safety state, end-effector pose, joint positions and torques against their limits, limit-hit
//! counters and deadline misses.

use super::header::mode_badge;
use super::style::{BAD, MUTED, OK, WARN, age, badge, count, section};
use crate::state::PanelState;
use egui::{Color32, Grid, RichText, Sense, Stroke, StrokeKind, Ui, vec2};
use interfaces::Stamp;
use interfaces::config::{CellConfig, JointConfig};

/// What the panel knows of the robot from the cell config: the limits it draws values against.
#[derive(Debug, Clone)]
pub(super) struct ArmModel {
    joints: Vec<JointConfig>,
    gripper_max_width: f64,
}

impl ArmModel {
    pub(super) fn from_config(cfg: &CellConfig) -> Self {
        Self { joints: cfg.robot.joints.clone(), gripper_max_width: cfg.gripper.max_width }
    }
}

/// Fraction of a joint's range from either limit below which its position is shown as near the limit.
const NEAR_LIMIT: f64 = 0.05;

pub(super) fn show(state: &PanelState, model: &ArmModel, ui: &mut Ui, now: Stamp) {
    ui.horizontal(|ui| {
        section(ui, "Arm");
        if let Some(a) = &state.arm {
            let age_s = now.secs_since(a.received);
            let rate = state.arm_rate.hz(now).map(|hz| format!("{hz:.0} Hz")).unwrap_or_else(|| "– Hz".into());
            let text = format!("state {rate} · {} old · {} cycles", age(age_s), count(a.msg.cycles));
            badge(ui, text, if age_s > state.stale_limits.arm_state_s { BAD } else { MUTED });
        }
    });
    let Some(arm) = &state.arm else {
        ui.label(RichText::new("no arm state received yet (is the controller running?)").color(WARN));
        return;
    };
    let s = &arm.msg;
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(440.0);
            Grid::new("arm_status").num_columns(2).spacing(vec2(12.0, 4.0)).show(ui, |ui| {
                ui.label("mode");
                let (text, color) = mode_badge(s.mode);
                badge(ui, text, color);
                ui.end_row();
                ui.label("e-stop");
                if s.estop {
                    badge(ui, "LATCHED", BAD)
                } else {
                    badge(ui, "clear", OK)
                };
                ui.end_row();
                let p = s.ee_pose.position;
                ui.label("TCP position");
                ui.monospace(format!("x {:7.1}  y {:7.1}  z {:7.1} mm", p[0] * 1e3, p[1] * 1e3, p[2] * 1e3));
                ui.end_row();
                let (r, pi, y) = s.ee_pose.to_isometry().rotation.euler_angles();
                ui.label("TCP orientation");
                ui.monospace(format!(
                    "r {:7.1}  p {:7.1}  y {:7.1} deg",
                    r.to_degrees(),
                    pi.to_degrees(),
                    y.to_degrees()
                ));
                ui.end_row();
                let t = s.ee_twist;
                let v = (t[0] * t[0] + t[1] * t[1] + t[2] * t[2]).sqrt();
                let w = (t[3] * t[3] + t[4] * t[4] + t[5] * t[5]).sqrt();
                ui.label("TCP speed");
                ui.monospace(format!("{:.3} m/s  {:.2} rad/s", v, w));
                ui.end_row();
                let tp = s.pose_target.position;
                let d = ((tp[0] - p[0]).powi(2) + (tp[1] - p[1]).powi(2) + (tp[2] - p[2]).powi(2)).sqrt();
                ui.label("target");
                ui.monospace(format!(
                    "x {:7.1}  y {:7.1}  z {:7.1} mm ({:.1} mm away)",
                    tp[0] * 1e3,
                    tp[1] * 1e3,
                    tp[2] * 1e3,
                    d * 1e3
                ));
                ui.end_row();
                ui.label("gripper");
                ui.monospace(format!(
                    "{:.1} / {:.0} mm (target {:.1}) · {:.1} N",
                    s.gripper.width * 1e3,
                    model.gripper_max_width * 1e3,
                    s.gripper.target_width * 1e3,
                    s.gripper.force
                ));
                ui.end_row();
                ui.label("deadline misses");
                badge(ui, count(s.deadline_misses), if s.deadline_misses > 0 { WARN } else { OK });
                ui.end_row();
            });
        });
        ui.add_space(16.0);
        ui.vertical(|ui| {
            joints(ui, model, s);
            ui.add_space(6.0);
            ui.label(RichText::new("limit hits since start").strong());
            let l = &s.limits;
            let counters = [
                ("workspace clamps", l.workspace_clamps),
                ("error clips", l.error_clips),
                ("torque clamps", l.torque_clamps),
                ("torque-rate clamps", l.torque_rate_clamps),
                ("joint-limit guards", l.joint_limit_guards),
                ("velocity guards", l.velocity_guards),
                ("watchdog trips", l.watchdog_trips),
            ];
            Grid::new("limit_counters").num_columns(6).spacing(vec2(12.0, 2.0)).show(ui, |ui| {
                for (i, (name, n)) in counters.iter().enumerate() {
                    ui.label(*name);
                    badge(ui, count(*n), if *n > 0 { WARN } else { MUTED });
                    if i % 3 == 2 {
                        ui.end_row();
                    }
                }
            });
        });
    });
}

fn joints(ui: &mut Ui, model: &ArmModel, s: &interfaces::msg::ArmState) {
    Grid::new("joints").num_columns(5).spacing(vec2(10.0, 3.0)).show(ui, |ui| {
        ui.label(RichText::new("joint").strong());
        ui.label(RichText::new("position in [lower, upper]").strong());
        ui.label(RichText::new("rad").strong());
        ui.label(RichText::new("torque in ±limit").strong());
        ui.label(RichText::new("N·m").strong());
        ui.end_row();
        for (i, j) in model.joints.iter().enumerate() {
            let q = s.q.get(i).copied();
            let tau = s.tau.get(i).copied();
            ui.label(&j.name);
            match q {
                Some(q) => {
                    let frac = ((q - j.lower) / (j.upper - j.lower)).clamp(0.0, 1.0);
                    let near = !(NEAR_LIMIT..=1.0 - NEAR_LIMIT).contains(&frac);
                    position_bar(ui, frac, if near { BAD } else { OK });
                    ui.monospace(RichText::new(format!("{q:+.3}")).color(if near { BAD } else { Color32::GRAY }));
                }
                None => {
                    ui.label(RichText::new("missing").color(WARN));
                    ui.label("");
                }
            }
            match tau {
                Some(t) => {
                    let frac = (t / j.torque_limit).clamp(-1.0, 1.0);
                    let color = match frac.abs() {
                        a if a > 0.9 => BAD,
                        a if a > 0.7 => WARN,
                        _ => OK,
                    };
                    torque_bar(ui, frac, color);
                    ui.monospace(RichText::new(format!("{t:+6.1}/{:.0}", j.torque_limit)).color(Color32::GRAY));
                }
                None => {
                    ui.label(RichText::new("missing").color(WARN));
                    ui.label("");
                }
            }
            ui.end_row();
        }
    });
}

const BAR: egui::Vec2 = vec2(170.0, 14.0);

/// A joint's range with its position as a marker; the limit margins are shaded.
fn position_bar(ui: &mut Ui, frac: f64, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(BAR, Sense::hover());
    let p = ui.painter();
    p.rect_filled(rect, 2.0, Color32::from_gray(40));
    let margin = rect.width() * NEAR_LIMIT as f32;
    let shade = Color32::from_rgba_unmultiplied(225, 60, 60, 60);
    p.rect_filled(egui::Rect::from_min_size(rect.min, vec2(margin, rect.height())), 2.0, shade);
    p.rect_filled(
        egui::Rect::from_min_size(egui::pos2(rect.max.x - margin, rect.min.y), vec2(margin, rect.height())),
        2.0,
        shade,
    );
    let x = rect.min.x + rect.width() * frac as f32;
    p.rect_filled(egui::Rect::from_center_size(egui::pos2(x, rect.center().y), vec2(4.0, rect.height())), 1.0, color);
    p.rect_stroke(rect, 2.0, Stroke::new(1.0, Color32::from_gray(70)), StrokeKind::Inside);
}

/// A torque as a bar growing from the centre towards ±limit.
fn torque_bar(ui: &mut Ui, frac: f64, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(BAR, Sense::hover());
    let p = ui.painter();
    p.rect_filled(rect, 2.0, Color32::from_gray(40));
    let cx = rect.center().x;
    let x = cx + rect.width() * 0.5 * frac as f32;
    let bar = egui::Rect::from_x_y_ranges(cx.min(x)..=cx.max(x), rect.y_range());
    p.rect_filled(bar, 1.0, color);
    p.line_segment([egui::pos2(cx, rect.min.y), egui::pos2(cx, rect.max.y)], Stroke::new(1.0, Color32::from_gray(120)));
    p.rect_stroke(rect, 2.0, Stroke::new(1.0, Color32::from_gray(70)), StrokeKind::Inside);
}
