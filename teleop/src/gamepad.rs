//! Gamepads through `gilrs` (evdev on Linux): sticks, triggers and d-pad → twist, buttons → gripper, takeover and
//! episode controls.
//!
//! Device axes (as numbered in `[teleop.gamepad] axes`): 0 left stick x (right +), 1 left stick y (up +), 2 right
//! stick x, 3 right stick y, 4 right analog trigger minus left analog trigger, 5 d-pad x (right +), 6 d-pad y
//! (up +). Button numbers are listed on [`interfaces::config::ButtonBindings`].

use crate::controls::{HeldButtons, PressDetector};
use crate::error::TeleopError;
use crate::mapping::axes_to_twist;
use crate::source::{DeviceSample, TeleopSource, impl_teleop_device};
use gilrs::{Axis, Button, EventType, GamepadId, Gilrs};
use interfaces::config::GamepadConfig;
use interfaces::drivers::TeleopReading;
use interfaces::time::Stamp;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

/// Number of device axes.
pub const GAMEPAD_AXES: usize = 7;

/// Buttons in the order of their numbers in the config.
pub const BUTTONS: [Button; 17] = [
    Button::South,
    Button::East,
    Button::North,
    Button::West,
    Button::LeftTrigger,
    Button::RightTrigger,
    Button::LeftTrigger2,
    Button::RightTrigger2,
    Button::Select,
    Button::Start,
    Button::Mode,
    Button::LeftThumb,
    Button::RightThumb,
    Button::DPadUp,
    Button::DPadDown,
    Button::DPadLeft,
    Button::DPadRight,
];

/// The state of a gamepad at one instant, in the crate's own numbering (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GamepadSnapshot {
    /// Device axes, each in `[-1, 1]`.
    pub axes: [f64; GAMEPAD_AXES],
    /// Bit n = button number n held.
    pub buttons: u32,
}

impl GamepadSnapshot {
    /// True when button number `n` is held.
    pub fn pressed(&self, n: u8) -> bool {
        n < 32 && self.buttons & (1 << n) != 0
    }
}

/// Maps a snapshot to a reading (twist in the configured teleop frame) and the buttons' meaning. Pure.
pub fn map_gamepad(s: &GamepadSnapshot, cfg: &GamepadConfig, now: Stamp) -> (TeleopReading, HeldButtons) {
    let twist = axes_to_twist(&s.axes, &cfg.mapping());
    let held = HeldButtons::from_bindings(&cfg.buttons, |n| s.pressed(n));
    (TeleopReading { stamp: now, twist, gripper_close: held.gripper_close, takeover: held.takeover }, held)
}

fn snapshot_of(g: &gilrs::Gamepad<'_>) -> GamepadSnapshot {
    let v = |a: Axis| f64::from(g.value(a));
    let analog = |b: Button| g.button_data(b).map(|d| f64::from(d.value())).unwrap_or(0.0);
    let pad = |pos: Button, neg: Button, axis: Axis| {
        let buttons = f64::from(u8::from(g.is_pressed(pos))) - f64::from(u8::from(g.is_pressed(neg)));
        if buttons != 0.0 { buttons } else { v(axis) }
    };
    let mut buttons = 0u32;
    for (n, b) in BUTTONS.iter().enumerate() {
        if g.is_pressed(*b) {
            buttons |= 1 << n;
        }
    }
    GamepadSnapshot {
        axes: [
            v(Axis::LeftStickX),
            v(Axis::LeftStickY),
            v(Axis::RightStickX),
            v(Axis::RightStickY),
            analog(Button::RightTrigger2) - analog(Button::LeftTrigger2),
            pad(Button::DPadRight, Button::DPadLeft, Axis::DPadX),
            pad(Button::DPadUp, Button::DPadDown, Axis::DPadY),
        ],
        buttons,
    }
}

#[derive(Debug, Default)]
struct Shared {
    snapshot: GamepadSnapshot,
    gone: Option<String>,
}

/// The first connected gamepad, read on its own thread (`teleop-gamepad`).
#[derive(Debug)]
pub struct Gamepad {
    name: String,
    cfg: GamepadConfig,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    presses: PressDetector,
    last_polled: Option<TeleopReading>,
}

fn event_loop(mut gilrs: Gilrs, id: GamepadId, shared: &Mutex<Shared>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let mut gone = None;
        while let Some(ev) = gilrs.next_event_blocking(Some(Duration::from_millis(20))) {
            if ev.id == id && ev.event == EventType::Disconnected {
                gone = Some("the gamepad disconnected".to_string());
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        let g = gilrs.gamepad(id);
        if !g.is_connected() && gone.is_none() {
            gone = Some("the gamepad is no longer connected".to_string());
        }
        let snapshot = snapshot_of(&g);
        if let Ok(mut s) = shared.lock() {
            s.snapshot = snapshot;
            if gone.is_some() {
                s.gone = gone.clone();
            }
        }
        if gone.is_some() {
            return;
        }
    }
}

impl Gamepad {
    /// Opens the first connected gamepad. [`TeleopError::NotFound`] when the platform's gamepad API is unavailable
    /// or no gamepad is connected.
    pub fn open(cfg: &GamepadConfig) -> Result<Self, TeleopError> {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::sync_channel::<Result<String, String>>(1);
        let (sh, st) = (shared.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("teleop-gamepad".into())
            .spawn(move || {
                let gilrs = match Gilrs::new() {
                    Ok(g) => g,
                    Err(e) => {
                        let _ = tx.send(Err(format!("gamepad API unavailable: {e}")));
                        return;
                    }
                };
                let Some((id, name)) = gilrs.gamepads().next().map(|(id, g)| (id, g.name().to_string())) else {
                    let _ = tx.send(Err("no gamepad connected".into()));
                    return;
                };
                let _ = tx.send(Ok(name));
                event_loop(gilrs, id, &sh, &st);
            })
            .map_err(|source| TeleopError::Io { device: "gamepad".into(), what: "start its thread", source })?;
        let opened = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| Err("no answer from gilrs".into()));
        match opened {
            Ok(model) => {
                let name = format!("gamepad {model}");
                tracing::info!(device = %name, "gamepad opened");
                Ok(Self {
                    name,
                    cfg: cfg.clone(),
                    shared,
                    stop,
                    thread: Some(thread),
                    presses: PressDetector::default(),
                    last_polled: None,
                })
            }
            Err(detail) => {
                stop.store(true, Ordering::Relaxed);
                let _ = thread.join();
                Err(TeleopError::NotFound { device: "gamepad".into(), detail })
            }
        }
    }
}

impl Drop for Gamepad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl TeleopSource for Gamepad {
    fn name(&self) -> &str {
        &self.name
    }

    fn sample(&mut self, now: Stamp) -> Result<DeviceSample, TeleopError> {
        let (snapshot, gone) = match self.shared.lock() {
            Ok(s) => (s.snapshot, s.gone.clone()),
            Err(_) => (GamepadSnapshot::default(), Some("its reader thread failed".to_string())),
        };
        if let Some(detail) = gone {
            return Err(TeleopError::Disconnected { device: self.name.clone(), detail });
        }
        let (reading, held) = map_gamepad(&snapshot, &self.cfg, now);
        Ok(DeviceSample { reading, controls: self.presses.pressed(held.controls), estop: false })
    }
}

impl_teleop_device!(Gamepad);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controls::EpisodeControl;

    fn held(buttons: &[usize]) -> u32 {
        buttons.iter().fold(0, |m, b| m | 1 << b)
    }

    #[test]
    fn default_mapping_drives_the_base_frame_from_the_sticks() {
        let cfg = GamepadConfig::default();
        // Left stick fully up (forward) and half left, right stick fully up, d-pad right, A held.
        let s = GamepadSnapshot { axes: [-0.5, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0], buttons: held(&[0]) };
        let (r, h) = map_gamepad(&s, &cfg, Stamp(3));
        let half_past_deadzone = (0.5 - cfg.deadzone) / (1.0 - cfg.deadzone) * cfg.max_linear;
        assert!((r.twist[0] - cfg.max_linear).abs() < 1e-12, "forward → +x: {:?}", r.twist);
        assert!((r.twist[1] - half_past_deadzone).abs() < 1e-12, "left → +y: {:?}", r.twist);
        assert!((r.twist[2] - cfg.max_linear).abs() < 1e-12, "right stick up → +z");
        // D-pad x is not mapped by default; the triggers (axis 4) drive roll.
        assert_eq!(&r.twist[3..], &[0.0; 3]);
        assert_eq!(r.gripper_close, Some(true));
        assert!(!r.takeover && h.controls == [false; 4]);
        // Right stick to the right → yaw clockwise seen from above (−z), right trigger → +roll.
        let s = GamepadSnapshot { axes: [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, -1.0], buttons: 0 };
        let (r, _) = map_gamepad(&s, &cfg, Stamp(4));
        assert!((r.twist[5] + cfg.max_angular).abs() < 1e-12 && (r.twist[3] - cfg.max_angular).abs() < 1e-12);
        assert!((r.twist[4] + cfg.max_angular).abs() < 1e-12, "d-pad down → −pitch");
    }

    #[test]
    fn sticks_at_rest_inside_the_deadzone_give_no_twist_and_buttons_map_to_controls() {
        let cfg = GamepadConfig::default();
        // Worn sticks rest a little off centre.
        let s = GamepadSnapshot { axes: [0.08, -0.1, 0.05, 0.0, 0.0, 0.0, 0.0], buttons: held(&[4, 9]) };
        let (r, h) = map_gamepad(&s, &cfg, Stamp(1));
        assert_eq!(r.twist, [0.0; 6]);
        assert!(r.takeover, "LeftTrigger (4) is takeover by default");
        assert_eq!(PressDetector::default().pressed(h.controls), [EpisodeControl::Success]);
        let (_, h) = map_gamepad(&GamepadSnapshot { buttons: held(&[2, 3, 8]), ..s }, &cfg, Stamp(2));
        assert_eq!(
            PressDetector::default().pressed(h.controls),
            [EpisodeControl::Failure, EpisodeControl::Stop, EpisodeControl::Reset]
        );
    }
}
