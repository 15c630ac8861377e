//! `[teleop]`: teleoperation devices (SpaceMouse, gamepad, keyboard) and the intervention arbiter.
//!
//! Every device is mapped to a TCP twist the same way: twist component `i` is device axis `axes[i]` (normalised to
//! `[-1, 1]`), multiplied by `signs[i]`, passed through the dead zone, and scaled by `max_linear` (m/s, components
//! 0–2) or `max_angular` (rad/s, components 3–5). The twist is expressed in `frame`.

use super::Validator;
use serde::{Deserialize, Serialize};

/// The frame a device's twist is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeleopFrameKind {
    /// The robot's base frame: "forward" on the device is +x of the base.
    #[default]
    Base,
    /// The end effector's (TCP) frame: "forward" on the device is +x of the TCP, whatever its orientation.
    EndEffector,
}

/// Which device button (by number) does what. `None` = no button bound.
///
/// SpaceMouse: the bit number in the button report (0 = left / button 1, 1 = right / button 2, …).
/// Gamepad: 0 South (A/✕), 1 East (B/○), 2 North (Y/△), 3 West (X/□), 4 LeftTrigger (L1), 5 RightTrigger (R1),
/// 6 LeftTrigger2 (L2), 7 RightTrigger2 (R2), 8 Select, 9 Start, 10 Mode, 11 LeftThumb, 12 RightThumb,
/// 13 DPadUp, 14 DPadDown, 15 DPadLeft, 16 DPadRight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ButtonBindings {
    /// Held: request the gripper closed.
    pub gripper_close: Option<u8>,
    /// Held: request the gripper open.
    pub gripper_open: Option<u8>,
    /// Held: the human takes over even without moving (executes a zero twist: the arm holds still).
    pub takeover: Option<u8>,
    /// Pressed: label the current episode a success.
    pub success: Option<u8>,
    /// Pressed: label the current episode a failure.
    pub failure: Option<u8>,
    /// Pressed: end the current episode.
    pub stop_episode: Option<u8>,
    /// Pressed: reset the scene and re-record the episode.
    pub reset_episode: Option<u8>,
}

impl ButtonBindings {
    /// Every binding with its key name, for validation and look-ups.
    pub fn all(&self) -> [(&'static str, Option<u8>); 7] {
        [
            ("gripper_close", self.gripper_close),
            ("gripper_open", self.gripper_open),
            ("takeover", self.takeover),
            ("success", self.success),
            ("failure", self.failure),
            ("stop_episode", self.stop_episode),
            ("reset_episode", self.reset_episode),
        ]
    }

    fn validate(&self, v: &mut Validator, key: &str, max_button: u8) {
        let mut used = [false; 256];
        for (name, b) in self.all() {
            let Some(b) = b else { continue };
            if b > max_button {
                v.push(&format!("{key}.{name}"), b.to_string(), &format!("0 ≤ value ≤ {max_button} (button number)"));
            } else if used[b as usize] {
                v.push(&format!("{key}.{name}"), b.to_string(), "a button not bound to another action");
            }
            used[b as usize] = true;
        }
    }
}

/// The axis mapping shared by every device (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AxisMapping {
    /// Twist at full deflection, translation, m/s.
    pub max_linear: f64,
    /// Twist at full deflection, rotation, rad/s.
    pub max_angular: f64,
    /// Dead zone as a fraction of full deflection; the rest of the range is rescaled to start at 0.
    pub deadzone: f64,
    /// Twist component `i` comes from device axis `axes[i]`.
    pub axes: [u8; 6],
    /// Multiplier of each twist component (−1 flips an axis, 0 disables it).
    pub signs: [f64; 6],
}

fn validate_mapping(v: &mut Validator, key: &str, m: &AxisMapping, device_axes: u8) {
    v.range(&format!("{key}.max_linear"), m.max_linear, 0.0, 1.0, "m/s");
    v.range(&format!("{key}.max_angular"), m.max_angular, 0.0, 6.0, "rad/s");
    v.range(&format!("{key}.deadzone"), m.deadzone, 0.0, 0.9, "fraction of full deflection");
    for (i, &a) in m.axes.iter().enumerate() {
        if a >= device_axes {
            v.push(
                &format!("{key}.axes[{i}]"),
                a.to_string(),
                &format!("0 ≤ value ≤ {} (device axis)", device_axes - 1),
            );
        }
    }
    v.range_each(&format!("{key}.signs"), &m.signs, -1.0, 1.0, "");
}

/// `[teleop.spacemouse]`: a 3Dconnexion SpaceMouse over hidraw. Device axes: 0 x (right), 1 y (towards the
/// user), 2 z (down), 3–5 rotations about them (right-handed), as the device reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpaceMouseConfig {
    /// hidraw node to open (`/dev/hidraw3`); `None` finds the first 3Dconnexion device.
    pub path: Option<String>,
    /// Raw count of a full deflection (≈350 for most models).
    pub full_scale: f64,
    /// Full-deflection translation, m/s.
    pub max_linear: f64,
    /// Full-deflection rotation, rad/s.
    pub max_angular: f64,
    /// Dead zone, fraction of full deflection.
    pub deadzone: f64,
    /// Twist component `i` comes from device axis `axes[i]`.
    pub axes: [u8; 6],
    /// Multiplier of each twist component.
    pub signs: [f64; 6],
    /// Button bindings (bit numbers).
    pub buttons: ButtonBindings,
}

impl Default for SpaceMouseConfig {
    /// Mapped for an operator facing the robot's +x: push away → +x, push left → +y, lift → +z.
    fn default() -> Self {
        Self {
            path: None,
            full_scale: 350.0,
            max_linear: 0.1,
            max_angular: 0.5,
            deadzone: 0.08,
            axes: [1, 0, 2, 4, 3, 5],
            signs: [-1.0; 6],
            buttons: ButtonBindings { gripper_close: Some(0), gripper_open: Some(1), ..ButtonBindings::default() },
        }
    }
}

impl SpaceMouseConfig {
    /// The axis mapping of this device.
    pub fn mapping(&self) -> AxisMapping {
        AxisMapping {
            max_linear: self.max_linear,
            max_angular: self.max_angular,
            deadzone: self.deadzone,
            axes: self.axes,
            signs: self.signs,
        }
    }
}

/// `[teleop.gamepad]`: a gamepad through the system's game controller API. Device axes: 0 left stick x (right),
/// 1 left stick y (up), 2 right stick x, 3 right stick y, 4 right minus left analog trigger, 5 d-pad x (right),
/// 6 d-pad y (up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GamepadConfig {
    /// Full-deflection translation, m/s.
    pub max_linear: f64,
    /// Full-deflection rotation, rad/s.
    pub max_angular: f64,
    /// Dead zone, fraction of full deflection.
    pub deadzone: f64,
    /// Twist component `i` comes from device axis `axes[i]`.
    pub axes: [u8; 6],
    /// Multiplier of each twist component.
    pub signs: [f64; 6],
    /// Button bindings (numbers as listed on [`ButtonBindings`]).
    pub buttons: ButtonBindings,
}

impl Default for GamepadConfig {
    /// Left stick: x/y translation; right stick y: z; triggers: roll; d-pad: pitch; right stick x: yaw.
    fn default() -> Self {
        Self {
            max_linear: 0.1,
            max_angular: 0.5,
            deadzone: 0.12,
            axes: [1, 0, 3, 4, 6, 2],
            signs: [1.0, -1.0, 1.0, 1.0, 1.0, -1.0],
            buttons: ButtonBindings {
                gripper_close: Some(0),
                gripper_open: Some(1),
                stop_episode: Some(2),
                reset_episode: Some(3),
                takeover: Some(4),
                failure: Some(8),
                success: Some(9),
            },
        }
    }
}

impl GamepadConfig {
    /// The axis mapping of this device.
    pub fn mapping(&self) -> AxisMapping {
        AxisMapping {
            max_linear: self.max_linear,
            max_angular: self.max_angular,
            deadzone: self.deadzone,
            axes: self.axes,
            signs: self.signs,
        }
    }
}

/// `[teleop.keyboard]`: keys held → twist at a fixed speed (the key layout is fixed, see the teleop crate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyboardConfig {
    /// Translation while a key is held, m/s.
    pub max_linear: f64,
    /// Rotation while a key is held, rad/s.
    pub max_angular: f64,
    /// In a terminal (no key-release events) a key counts as held until this long after its last repeat, ms.
    /// Must exceed the terminal's auto-repeat delay.
    pub key_hold_ms: u64,
}

impl Default for KeyboardConfig {
    fn default() -> Self {
        Self { max_linear: 0.05, max_angular: 0.3, key_hold_ms: 600 }
    }
}

/// `[teleop.leader]`: a leader arm (a second SO-101 with torque off) as the teleop device (`--device leader`).
/// Its joint angles through its kinematics give the human's TCP pose; while the human moves it, the node
/// commands the follower towards that pose (through the intervention arbiter, as a twist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaderConfig {
    /// The leader arm's own cell config (its `[driver]` a `feetech` chain on its own port, calibrated with
    /// `corrigo calibrate`; its `[robot]` the same kinematics as the follower's), relative to the working directory.
    pub config: Option<String>,
    /// The human has taken over while the leader's TCP moves faster than this, m/s.
    pub move_speed: f64,
    /// … or turns faster than this, rad/s.
    pub turn_speed: f64,
    /// … or its jaw opens or closes faster than this, fraction of its range per second.
    pub jaw_speed: f64,
    /// While the human leads, the gripper closes when the leader's jaw is below this fraction of its opening.
    pub close_below: f64,
}

impl Default for LeaderConfig {
    fn default() -> Self {
        Self { config: None, move_speed: 0.02, turn_speed: 0.2, jaw_speed: 0.3, close_below: 0.5 }
    }
}

/// `[teleop]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TeleopConfig {
    /// Rate at which the teleop node reads its device and publishes commands, Hz.
    pub rate_hz: f64,
    /// Frame the device twist is expressed in.
    pub frame: TeleopFrameKind,
    /// Arbiter: teleop commands older than this are ignored, ms.
    pub max_age_ms: u64,
    /// Arbiter: the human keeps control this long after the input falls back inside the dead zone, ms.
    pub hold_ms: u64,
    /// Arbiter: the human takes over when any component of the human's action (in action units, `[-1, 1]`)
    /// exceeds this.
    pub takeover_threshold: f64,
    /// After a device is missing or unplugged, the node tries to open it again this often, ms.
    pub reopen_ms: u64,
    /// SpaceMouse.
    pub spacemouse: SpaceMouseConfig,
    /// Gamepad.
    pub gamepad: GamepadConfig,
    /// Keyboard.
    pub keyboard: KeyboardConfig,
    /// Leader arm.
    pub leader: LeaderConfig,
}

impl Default for TeleopConfig {
    fn default() -> Self {
        Self {
            rate_hz: 50.0,
            frame: TeleopFrameKind::Base,
            max_age_ms: 200,
            hold_ms: 300,
            takeover_threshold: 0.05,
            reopen_ms: 1000,
            spacemouse: SpaceMouseConfig::default(),
            gamepad: GamepadConfig::default(),
            keyboard: KeyboardConfig::default(),
            leader: LeaderConfig::default(),
        }
    }
}

impl TeleopConfig {
    pub(crate) fn validate(&self, v: &mut Validator) {
        v.range("teleop.rate_hz", self.rate_hz, 1.0, 1000.0, "Hz");
        v.range_u64("teleop.max_age_ms", self.max_age_ms, 1, 10_000, "ms");
        v.range_u64("teleop.hold_ms", self.hold_ms, 0, 10_000, "ms");
        v.range("teleop.takeover_threshold", self.takeover_threshold, 0.0, 1.0, "action units");
        v.range_u64("teleop.reopen_ms", self.reopen_ms, 10, 60_000, "ms");
        let sm = &self.spacemouse;
        v.range("teleop.spacemouse.full_scale", sm.full_scale, 1.0, 32_767.0, "raw counts");
        if let Some(p) = &sm.path
            && p.is_empty()
        {
            v.push("teleop.spacemouse.path", format!("{p:?}"), "a hidraw device path, e.g. \"/dev/hidraw0\"");
        }
        validate_mapping(v, "teleop.spacemouse", &sm.mapping(), 6);
        sm.buttons.validate(v, "teleop.spacemouse.buttons", 31);
        validate_mapping(v, "teleop.gamepad", &self.gamepad.mapping(), 7);
        self.gamepad.buttons.validate(v, "teleop.gamepad.buttons", 16);
        v.range("teleop.keyboard.max_linear", self.keyboard.max_linear, 0.0, 1.0, "m/s");
        v.range("teleop.keyboard.max_angular", self.keyboard.max_angular, 0.0, 6.0, "rad/s");
        v.range_u64("teleop.keyboard.key_hold_ms", self.keyboard.key_hold_ms, 10, 5000, "ms");
        let l = &self.leader;
        if l.config.as_deref().is_some_and(str::is_empty) {
            v.push(
                "teleop.leader.config",
                "\"\"".into(),
                "the leader arm's config file, e.g. \"hardware_configs/so101_leader.toml\"",
            );
        }
        v.range("teleop.leader.move_speed", l.move_speed, 0.001, 1.0, "m/s");
        v.range("teleop.leader.turn_speed", l.turn_speed, 0.01, 10.0, "rad/s");
        v.range("teleop.leader.jaw_speed", l.jaw_speed, 0.01, 10.0, "fraction/s");
        v.range("teleop.leader.close_below", l.close_below, 0.0, 1.0, "fraction");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        let mut v = Validator::default();
        TeleopConfig::default().validate(&mut v);
        assert!(v.is_ok(), "{:?}", v.into_problems());
        let mut bad = TeleopConfig::default();
        bad.spacemouse.axes[2] = 6;
        bad.gamepad.buttons.success = Some(0);
        bad.rate_hz = 0.0;
        let mut v = Validator::default();
        bad.validate(&mut v);
        let keys: Vec<String> = v.into_problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["teleop.rate_hz", "teleop.spacemouse.axes[2]", "teleop.gamepad.buttons.success"]);
    }
}
