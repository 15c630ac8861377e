//! Decoding of 3Dconnexion SpaceMouse HID input reports (one report per `read` on a hidraw node).
//!
//! Two layouts exist:
//! - **Split** (SpaceNavigator, SpaceMouse Compact/Pro, SpaceExplorer, SpacePilot, older wireless): report id 1 =
//!   translation `x, y, z` (3 × i16 LE, 7 bytes with the id), report id 2 = rotation `rx, ry, rz` (7 bytes),
//!   report id 3 = buttons.
//! - **Combined** (newer wireless models and the universal receiver): report id 1 carries translation and
//!   rotation together (6 × i16 LE, 13 bytes with the id); buttons still come as report id 3.
//!
//! Button reports hold a little-endian bitmask after the id (1 to 4 bytes; bit n = button n). Axis values are raw
//! counts, about ±350 at full deflection; axes follow the device's convention (x right, y towards the user, z
//! down, rotations right-handed about those axes).

use thiserror::Error;

/// Why a report was rejected. The previous state is kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReportError {
    /// Zero bytes.
    #[error("empty report")]
    Empty,
    /// Shorter than its id requires.
    #[error("report id {id}: {len} bytes, at least {need} expected")]
    Short {
        /// Report id.
        id: u8,
        /// Bytes received (with the id).
        len: usize,
        /// Bytes needed.
        need: usize,
    },
}

/// What a report changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Translation only (split layout, id 1).
    Translation,
    /// Rotation only (split layout, id 2).
    Rotation,
    /// Translation and rotation (combined layout, id 1, 13 bytes).
    Motion,
    /// Buttons (id 3).
    Buttons,
    /// A report id this parser does not use (battery level, LEDs…): ignored.
    Ignored(u8),
}

/// The device state accumulated from its reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpaceMouseState {
    /// Raw axes `[x, y, z, rx, ry, rz]`, counts.
    pub axes: [i16; 6],
    /// Button bitmask: bit n = button n held.
    pub buttons: u32,
}

fn i16_at(bytes: &[u8], i: usize) -> i16 {
    i16::from_le_bytes([bytes[i], bytes[i + 1]])
}

impl SpaceMouseState {
    /// Applies one report (its first byte is the report id). Lengths are checked before any byte is read; on
    /// error the state is unchanged.
    pub fn apply(&mut self, report: &[u8]) -> Result<ReportKind, ReportError> {
        let (&id, _) = report.split_first().ok_or(ReportError::Empty)?;
        let len = report.len();
        let need = |n: usize| if len >= n { Ok(()) } else { Err(ReportError::Short { id, len, need: n }) };
        match id {
            1 if len >= 13 => {
                for (k, axis) in self.axes.iter_mut().enumerate() {
                    *axis = i16_at(report, 1 + 2 * k);
                }
                Ok(ReportKind::Motion)
            }
            1 => {
                need(7)?;
                for k in 0..3 {
                    self.axes[k] = i16_at(report, 1 + 2 * k);
                }
                Ok(ReportKind::Translation)
            }
            2 => {
                need(7)?;
                for k in 0..3 {
                    self.axes[3 + k] = i16_at(report, 1 + 2 * k);
                }
                Ok(ReportKind::Rotation)
            }
            3 => {
                need(2)?;
                let mut b = [0u8; 4];
                for (dst, src) in b.iter_mut().zip(&report[1..]) {
                    *dst = *src;
                }
                self.buttons = u32::from_le_bytes(b);
                Ok(ReportKind::Buttons)
            }
            other => Ok(ReportKind::Ignored(other)),
        }
    }

    /// Axes normalised by `full_scale` counts (not clamped; the dead zone clamps).
    pub fn normalized(&self, full_scale: f64) -> [f64; 6] {
        self.axes.map(|a| f64::from(a) / full_scale)
    }

    /// True when button `n` (bit number) is held.
    pub fn pressed(&self, n: u8) -> bool {
        n < 32 && self.buttons & (1 << n) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(reports: &[&[u8]]) -> (SpaceMouseState, Vec<ReportKind>) {
        let mut s = SpaceMouseState::default();
        let kinds = reports.iter().map(|r| s.apply(r).expect("valid report")).collect();
        (s, kinds)
    }

    #[test]
    fn split_reports_of_a_wired_spacemouse_compact() {
        // hidraw reads of a SpaceMouse Compact (256f:c635) pushed right and slightly down, then tilted forward,
        // then its left button pressed and released:
        let (s, kinds) = feed(&[
            &[0x01, 0x5e, 0x01, 0x00, 0x00, 0x28, 0x00], // id 1: x = +350, y = 0, z = +40
            &[0x02, 0xf6, 0xff, 0x00, 0x00, 0x00, 0x00], // id 2: rx = −10, ry = 0, rz = 0
            &[0x03, 0x01],                               // id 3: button 0 held
        ]);
        assert_eq!(kinds, [ReportKind::Translation, ReportKind::Rotation, ReportKind::Buttons]);
        assert_eq!(s.axes, [350, 0, 40, -10, 0, 0]);
        assert!(s.pressed(0) && !s.pressed(1));
        let n = s.normalized(350.0);
        assert!((n[0] - 1.0).abs() < 1e-12 && (n[3] + 10.0 / 350.0).abs() < 1e-12);
    }

    #[test]
    fn split_reports_of_a_spacemouse_pro_with_a_two_byte_button_mask() {
        // SpaceMouse Pro (046d:c62b): pulled towards the user and up while twisted counter-clockwise; the report
        // id 3 carries a 4-byte mask here, with the "Fit" (bit 1) and "Ctrl" (bit 9 in byte 2) buttons held.
        let (s, _) = feed(&[
            &[0x01, 0x00, 0x00, 0x9c, 0xff, 0x38, 0xff], // y = −100, z = −200
            &[0x02, 0x00, 0x00, 0x00, 0x00, 0xa2, 0xfe], // rz = −350
            &[0x03, 0x02, 0x02, 0x00, 0x00],
        ]);
        assert_eq!(s.axes, [0, -100, -200, 0, 0, -350]);
        assert_eq!(s.buttons, 0x0202);
        assert!(s.pressed(1) && s.pressed(9) && !s.pressed(0) && !s.pressed(40));
        // Releasing every button and the cap returns to rest.
        let mut s = s;
        s.apply(&[0x03, 0x00, 0x00, 0x00, 0x00]).expect("buttons");
        s.apply(&[0x01, 0, 0, 0, 0, 0, 0]).expect("translation");
        s.apply(&[0x02, 0, 0, 0, 0, 0, 0]).expect("rotation");
        assert_eq!(s, SpaceMouseState::default());
    }

    #[test]
    fn combined_report_of_a_newer_wireless_spacemouse() {
        // SpaceMouse Wireless on the universal receiver (256f:c652): one 13-byte report id 1 per motion sample,
        // here x = +12, y = −300, z = +5, rx = +7, ry = −2, rz = +120; then the right button (bit 1).
        let (s, kinds) = feed(&[
            &[0x01, 0x0c, 0x00, 0xd4, 0xfe, 0x05, 0x00, 0x07, 0x00, 0xfe, 0xff, 0x78, 0x00],
            &[0x03, 0x02, 0x00],
        ]);
        assert_eq!(kinds, [ReportKind::Motion, ReportKind::Buttons]);
        assert_eq!(s.axes, [12, -300, 5, 7, -2, 120]);
        assert!(s.pressed(1));
    }

    #[test]
    fn short_empty_and_unknown_reports_leave_the_state_alone() {
        let mut s = SpaceMouseState { axes: [1, 2, 3, 4, 5, 6], buttons: 1 };
        let before = s;
        assert_eq!(s.apply(&[]), Err(ReportError::Empty));
        assert_eq!(s.apply(&[0x01, 0x10, 0x00]), Err(ReportError::Short { id: 1, len: 3, need: 7 }));
        assert_eq!(s.apply(&[0x02, 0x10]), Err(ReportError::Short { id: 2, len: 2, need: 7 }));
        assert_eq!(s.apply(&[0x03]), Err(ReportError::Short { id: 3, len: 1, need: 2 }));
        // Report id 0x17 (battery level on wireless models) is not motion.
        assert_eq!(s.apply(&[0x17, 0x64]), Ok(ReportKind::Ignored(0x17)));
        assert_eq!(s, before);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // Deterministic pseudo-random byte strings of every length up to 40.
        let mut x: u32 = 0x1234_5678;
        let mut s = SpaceMouseState::default();
        for len in 0..=40usize {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        (x % 5) as u8 * if len % 3 == 0 { 1 } else { 51 }
                    })
                    .collect();
                let _ = s.apply(&bytes);
            }
        }
    }
}
