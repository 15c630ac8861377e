//! Intervention from the panel: a virtual joystick (mouse drag in a pad, a z strip) and the keyboard, published as
//! [`TeleopCommand`]s from device `panel` so they go through the same intervention arbiter as the hardware
//! devices.
//!
//! Axes, as seen from above with the robot's base at the bottom of the pad: pad up = +x (away from the base),
//! pad left = +y, z strip up = +z. Keyboard (when enabled): W/S ±x, A/D ±y, R/F ±z, Q/E ±yaw, G toggles the
//! gripper. Speeds are scaled to the set maxima (m/s, rad/s).
//!
//! Takeover: while the pad or strip is dragged, a key is held, or "Hold takeover" is on, the panel sends a
//! sample every frame with `takeover = true` (a zero twist holds the arm still); when that ends it sends one
//! last zero sample with `takeover = false`, handing control back to the policy.

use super::Panel;
use super::style::{MUTED, WARN, badge, section};
use egui::{Color32, Key, Pos2, RichText, Sense, Stroke, StrokeKind, Ui, Vec2, vec2};
use interfaces::msg::{Header, TeleopCommand};

/// Device name in the panel's [`TeleopCommand`]s.
pub const DEVICE: &str = "panel";

/// Labels of the joystick controls (tests find the widgets by them).
pub mod labels {
    /// Keyboard teleoperation switch.
    pub const KEYBOARD: &str = "keyboard (W/S A/D R/F Q/E, G gripper)";
    /// Sticky takeover switch.
    pub const HOLD: &str = "Hold takeover";
    /// Gripper close request.
    pub const CLOSE: &str = "Close gripper";
    /// Gripper open request.
    pub const OPEN: &str = "Open gripper";
}

const PAD: Vec2 = vec2(150.0, 150.0);
const STRIP: Vec2 = vec2(30.0, 150.0);

/// The joystick's settings and what it sent last.
#[derive(Debug, Clone)]
pub(super) struct Joystick {
    /// Largest linear speed, m/s.
    max_linear: f64,
    /// Largest angular speed, rad/s.
    max_angular: f64,
    keyboard: bool,
    hold: bool,
    /// Pad deflection `[up, left]`, each in [-1, 1].
    pad: [f64; 2],
    /// Strip deflection (up), [-1, 1].
    strip: f64,
    gripper_closed: bool,
    gripper_request: Option<bool>,
    taking_over: bool,
    last_twist: [f64; 6],
}

impl Default for Joystick {
    fn default() -> Self {
        Self {
            max_linear: 0.05,
            max_angular: 0.3,
            keyboard: false,
            hold: false,
            pad: [0.0; 2],
            strip: 0.0,
            gripper_closed: false,
            gripper_request: None,
            taking_over: false,
            last_twist: [0.0; 6],
        }
    }
}

/// Deflection of `pos` from the centre of `rect`, each axis in [-1, 1] (up and left positive).
fn deflection(rect: egui::Rect, pos: Pos2) -> [f64; 2] {
    let d = pos - rect.center();
    let up = (-d.y / (rect.height() * 0.5)).clamp(-1.0, 1.0);
    let left = (-d.x / (rect.width() * 0.5)).clamp(-1.0, 1.0);
    [f64::from(up), f64::from(left)]
}

pub(super) fn show(p: &mut Panel, ui: &mut Ui) {
    section(ui, "Intervention");
    let j = &mut p.joystick;
    ui.horizontal(|ui| {
        ui.checkbox(&mut j.keyboard, labels::KEYBOARD);
    });
    ui.horizontal(|ui| {
        ui.toggle_value(&mut j.hold, labels::HOLD).on_hover_text("Keep control while the joystick is released");
        if j.taking_over {
            badge(ui, "TAKEOVER", WARN);
        } else {
            ui.label(RichText::new("policy in control").color(MUTED));
        }
    });
    ui.horizontal(|ui| {
        let (rect, resp) = ui.allocate_exact_size(PAD, Sense::drag());
        j.pad = match (resp.dragged(), resp.interact_pointer_pos()) {
            (true, Some(pos)) => deflection(rect, pos),
            _ => [0.0; 2],
        };
        draw_pad(ui, rect, [j.pad[0] as f32, j.pad[1] as f32], "x / y");
        let (rect, resp) = ui.allocate_exact_size(STRIP, Sense::drag());
        j.strip = match (resp.dragged(), resp.interact_pointer_pos()) {
            (true, Some(pos)) => deflection(rect, pos)[0],
            _ => 0.0,
        };
        draw_pad(ui, rect, [j.strip as f32, 0.0], "z");
        ui.vertical(|ui| {
            if ui.button(labels::CLOSE).clicked() {
                j.gripper_request = Some(true);
            }
            if ui.button(labels::OPEN).clicked() {
                j.gripper_request = Some(false);
            }
            ui.add_space(8.0);
            let t = j.last_twist;
            ui.label(RichText::new("twist sent (m/s, rad/s)").color(MUTED).small());
            ui.monospace(format!("v {:+.3} {:+.3} {:+.3}", t[0], t[1], t[2]));
            ui.monospace(format!("w {:+.2} {:+.2} {:+.2}", t[3], t[4], t[5]));
        });
    });
    ui.spacing_mut().slider_width = 180.0;
    ui.add(egui::Slider::new(&mut j.max_linear, 0.005..=0.25).text("max linear speed, m/s").max_decimals(3));
    ui.add(egui::Slider::new(&mut j.max_angular, 0.05..=1.0).text("max angular speed, rad/s").max_decimals(2));
}

/// Reads the keyboard (when enabled and no text field has focus), then sends this frame's sample if the operator
/// is taking over, or the hand-back sample when the takeover just ended.
pub(super) fn publish(p: &mut Panel, ctx: &egui::Context) {
    let j = &mut p.joystick;
    let mut keys = [0.0f64; 4]; // x, y, z, yaw
    if j.keyboard && !ctx.wants_keyboard_input() {
        ctx.input(|i| {
            let axis = |pos: Key, neg: Key| f64::from(i.key_down(pos) as u8) - f64::from(i.key_down(neg) as u8);
            keys = [axis(Key::W, Key::S), axis(Key::A, Key::D), axis(Key::R, Key::F), axis(Key::Q, Key::E)];
            if i.key_pressed(Key::G) {
                j.gripper_request = Some(!j.gripper_closed);
            }
        });
    }
    let lin = |a: f64, b: f64| (a + b).clamp(-1.0, 1.0) * j.max_linear;
    let twist = [
        lin(j.pad[0], keys[0]),
        lin(j.pad[1], keys[1]),
        lin(j.strip, keys[2]),
        0.0,
        0.0,
        keys[3].clamp(-1.0, 1.0) * j.max_angular,
    ];
    let moving = twist.iter().any(|v| *v != 0.0);
    let takeover = j.hold || moving;
    let gripper = j.gripper_request.take();
    if let Some(close) = gripper {
        j.gripper_closed = close;
    }
    let send = takeover || j.taking_over || gripper.is_some();
    j.taking_over = takeover;
    j.last_twist = twist;
    if send {
        let cmd = TeleopCommand {
            header: Header::now(),
            device: DEVICE.into(),
            twist: if takeover { twist } else { [0.0; 6] },
            gripper_close: gripper,
            takeover,
        };
        if let Err(e) = p.sink.send_teleop(cmd) {
            p.notify(format!("joystick: {e}"), true);
        }
    }
}

fn draw_pad(ui: &Ui, rect: egui::Rect, deflection: [f32; 2], label: &str) {
    let painter = ui.painter();
    painter.rect_filled(rect, 6.0, Color32::from_gray(32));
    painter.rect_stroke(rect, 6.0, Stroke::new(1.0, Color32::from_gray(80)), StrokeKind::Inside);
    let c = rect.center();
    let grid = Stroke::new(1.0, Color32::from_gray(60));
    painter.line_segment([egui::pos2(rect.min.x, c.y), egui::pos2(rect.max.x, c.y)], grid);
    painter.line_segment([egui::pos2(c.x, rect.min.y), egui::pos2(c.x, rect.max.y)], grid);
    let knob =
        egui::pos2(c.x - deflection[1] * rect.width() * 0.5 * 0.85, c.y - deflection[0] * rect.height() * 0.5 * 0.85);
    let active = deflection != [0.0, 0.0];
    let color = if active { Color32::from_rgb(235, 170, 40) } else { Color32::from_gray(150) };
    painter.circle_filled(knob, 11.0_f32.min(rect.width() * 0.35), color);
    painter.text(
        rect.left_top() + vec2(6.0, 4.0),
        egui::Align2::LEFT_TOP,
        label,
        egui::FontId::proportional(11.0),
        Color32::from_gray(150),
    );
}
