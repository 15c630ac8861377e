//! `spacemouse_report`, `spacemouse_uevent`, `gamepad_mapping`: the teleop devices' input parsing and mapping.

use crate::default_cell;
use crate::spacemouse_discover::{VENDOR_3DCONNEXION, is_spacemouse, parse_uevent};
use crate::spacemouse_report::{ReportError, ReportKind, SpaceMouseState};
use crate::teleop_controls::HeldButtons;
use crate::teleop_mapping::axes_to_twist;
use interfaces::config::{AxisMapping, ButtonBindings, GamepadConfig, SpaceMouseConfig};

/// Number of gamepad axes (`teleop::gamepad::GAMEPAD_AXES`).
pub const GAMEPAD_AXES: usize = 7;

/// SpaceMouse reports, each preceded by its length (one byte: a hidraw `read` returns one report), applied in
/// order to one device state. Each report changes exactly what its id and length say, or nothing when refused;
/// the state then maps to a twist within the configured speeds.
pub fn spacemouse_report(data: &[u8]) {
    let cfg = SpaceMouseConfig::default();
    let mut state = SpaceMouseState::default();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let (report, tail) = tail.split_at(usize::from(n).min(tail.len()));
        rest = tail;
        apply_report(&mut state, report);
        let twist = axes_to_twist(&state.normalized(cfg.full_scale), &cfg.mapping());
        check_twist(&twist, &cfg.mapping());
        check_buttons(&cfg.buttons, |b| state.pressed(b), state.buttons);
    }
}

/// What `report` must do to `state`, computed from the layout documented in `report.rs`.
fn apply_report(state: &mut SpaceMouseState, report: &[u8]) {
    let before = *state;
    let i16_at = |i: usize| i16::from_le_bytes([report[i], report[i + 1]]);
    let result = state.apply(report);
    let mut want = before;
    match result {
        Err(ReportError::Empty) => assert!(report.is_empty()),
        Err(ReportError::Short { id, len, need }) => {
            assert_eq!((Some(&id), len), (report.first(), report.len()));
            assert!(len < need && (1..=3).contains(&id), "{result:?}");
        }
        Ok(ReportKind::Motion) => {
            assert!(report[0] == 1 && report.len() >= 13);
            want.axes = std::array::from_fn(|k| i16_at(1 + 2 * k));
        }
        Ok(ReportKind::Translation) => {
            assert!(report[0] == 1 && (7..13).contains(&report.len()));
            (0..3).for_each(|k| want.axes[k] = i16_at(1 + 2 * k));
        }
        Ok(ReportKind::Rotation) => {
            assert!(report[0] == 2 && report.len() >= 7);
            (0..3).for_each(|k| want.axes[3 + k] = i16_at(1 + 2 * k));
        }
        Ok(ReportKind::Buttons) => {
            assert!(report[0] == 3 && report.len() >= 2);
            let mut mask = [0u8; 4];
            let n = (report.len() - 1).min(4);
            mask[..n].copy_from_slice(&report[1..1 + n]);
            want.buttons = u32::from_le_bytes(mask);
        }
        Ok(ReportKind::Ignored(id)) => assert!(report[0] == id && !(1..=3).contains(&id)),
    }
    assert_eq!(*state, want, "report {report:02x?} gave {result:?}");
}

/// A twist from a valid mapping is finite and within the configured speeds.
fn check_twist(twist: &[f64; 6], m: &AxisMapping) {
    for (i, t) in twist.iter().enumerate() {
        let max = if i < 3 { m.max_linear } else { m.max_angular };
        assert!(t.is_finite() && t.abs() <= max, "twist[{i}] = {t} beyond ±{max}: {twist:?}");
    }
}

/// The meaning of the held buttons follows the bindings: the gripper is requested by exactly one of its buttons.
fn check_buttons(b: &ButtonBindings, pressed: impl Fn(u8) -> bool + Copy, mask: u32) {
    for n in 0..40 {
        assert_eq!(pressed(n), n < 32 && mask & (1 << n) != 0);
    }
    let held = HeldButtons::from_bindings(b, pressed);
    let on = |x: Option<u8>| x.is_some_and(pressed);
    let want = match (on(b.gripper_close), on(b.gripper_open)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    };
    assert_eq!(held.gripper_close, want);
    assert_eq!(held.takeover, on(b.takeover));
    assert_eq!(held.controls, [on(b.success), on(b.failure), on(b.stop_episode), on(b.reset_episode)]);
}

/// A hidraw `uevent` file (UTF-8). What it yields is what a canonical file with those ids and that name yields.
pub fn spacemouse_uevent(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some((vendor, product, name)) = parse_uevent(text) else { return };
    assert!(text.contains("HID_ID="));
    assert_eq!(name, name.trim());
    assert!(!name.contains('\n'));
    let canonical = format!("DRIVER=hid-generic\nHID_ID=0003:{vendor:08X}:{product:08X}\nHID_NAME={name}\n");
    assert_eq!(parse_uevent(&canonical), Some((vendor, product, name)));
    if vendor == VENDOR_3DCONNEXION {
        assert!(is_spacemouse(vendor, product));
    }
}

/// Reads fields from the fuzzer's bytes, zeros past the end.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        let n = N.min(self.0.len());
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        b
    }
    fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.take())
    }
    /// A button binding: `0xFF` is none.
    fn binding(&mut self) -> Option<u8> {
        let [b] = self.take();
        (b != 0xFF).then_some(b)
    }
}

/// The bytes [`gamepad_mapping`] reads: axes, buttons, then the `[teleop.gamepad]` section.
pub fn gamepad_input(axes: &[f64; GAMEPAD_AXES], buttons: u32, cfg: &GamepadConfig) -> Vec<u8> {
    let mut out = Vec::new();
    axes.iter().for_each(|a| out.extend(a.to_le_bytes()));
    out.extend(buttons.to_le_bytes());
    for v in [cfg.max_linear, cfg.max_angular, cfg.deadzone] {
        out.extend(v.to_le_bytes());
    }
    out.extend(cfg.axes);
    cfg.signs.iter().for_each(|s| out.extend(s.to_le_bytes()));
    out.extend(cfg.buttons.all().map(|(_, b)| b.unwrap_or(0xFF)));
    out
}

/// A gamepad snapshot (7 axes, a button mask) and a `[teleop.gamepad]` section, mapped as `teleop::gamepad::
/// map_gamepad` does. Whatever the values, nothing panics; when the section passes the config's validation, the
/// twist is finite and within the configured speeds, zero inside the dead zone, and the buttons mean what they are
/// bound to. (The device itself is read by gilrs, whose evdev parsing is not corrigo's.)
pub fn gamepad_mapping(data: &[u8]) {
    let mut r = Bytes(data);
    let axes: [f64; GAMEPAD_AXES] = std::array::from_fn(|_| r.f64());
    let buttons = u32::from_le_bytes(r.take());
    let (max_linear, max_angular, deadzone) = (r.f64(), r.f64(), r.f64());
    let cfg = GamepadConfig {
        max_linear,
        max_angular,
        deadzone,
        axes: r.take(),
        signs: std::array::from_fn(|_| r.f64()),
        buttons: ButtonBindings {
            gripper_close: r.binding(),
            gripper_open: r.binding(),
            takeover: r.binding(),
            success: r.binding(),
            failure: r.binding(),
            stop_episode: r.binding(),
            reset_episode: r.binding(),
        },
    };
    let m = cfg.mapping();
    let twist = axes_to_twist(&axes, &m);
    let pressed = |n: u8| n < 32 && buttons & (1 << n) != 0;
    let held = HeldButtons::from_bindings(&cfg.buttons, pressed);
    let mut cell = default_cell().clone();
    cell.teleop.gamepad = cfg.clone();
    if cell.validate().iter().any(|p| p.key.starts_with("teleop.gamepad")) {
        return;
    }
    check_twist(&twist, &m);
    for (i, t) in twist.iter().enumerate() {
        let raw = axes[usize::from(m.axes[i])];
        if !raw.is_finite() || (raw * m.signs[i]).abs() <= m.deadzone {
            assert_eq!(*t, 0.0, "twist[{i}] from axis value {raw} (dead zone {})", m.deadzone);
        }
    }
    check_buttons(&cfg.buttons, pressed, buttons);
    assert_eq!(held, HeldButtons::from_bindings(&cfg.buttons, pressed));
}
