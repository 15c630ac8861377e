//! The keyboard as a teleop device: held keys → a twist at a fixed speed, for the panel (which sees key presses
//! and releases) and for a terminal (which only sees key repeats, see [`TerminalKeyboard`]).
//!
//! Layout (twist components in the configured teleop frame):
//!
//! | keys | does |
//! |---|---|
//! | `W` / `S` | +x / −x (forward / back) |
//! | `A` / `D` | +y / −y (left / right) |
//! | `R` / `F` | +z / −z (up / down) |
//! | `U` / `O` | +roll / −roll (about x) |
//! | `I` / `K` | +pitch / −pitch (about y) |
//! | `J` / `L` | +yaw / −yaw (about z) |
//! | `C` / `V` | gripper close / open (held) |
//! | `Space` | takeover (held: the arm holds still under human control) |
//! | `Enter` / `Backspace` | label the episode a success / failure |
//! | `X` | end the episode |
//! | `Z` | reset and re-record the episode |
//! | `Esc` | e-stop (a terminal's arrow and function keys start with `Esc` too: they e-stop, the safe side) |

use crate::controls::EpisodeControl;
use crate::error::TeleopError;
use crate::source::{DeviceSample, TeleopSource, impl_teleop_device};
use interfaces::config::KeyboardConfig;
use interfaces::drivers::TeleopReading;
use interfaces::time::Stamp;
use std::sync::mpsc;

/// A key with a teleop meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeleopKey {
    /// `W`: +x.
    W,
    /// `S`: −x.
    S,
    /// `A`: +y.
    A,
    /// `D`: −y.
    D,
    /// `R`: +z.
    R,
    /// `F`: −z.
    F,
    /// `U`: +roll.
    U,
    /// `O`: −roll.
    O,
    /// `I`: +pitch.
    I,
    /// `K`: −pitch.
    K,
    /// `J`: +yaw.
    J,
    /// `L`: −yaw.
    L,
    /// `C`: close the gripper.
    C,
    /// `V`: open the gripper.
    V,
    /// `Space`: takeover.
    Space,
    /// `Enter`: success.
    Enter,
    /// `Backspace`: failure.
    Backspace,
    /// `X`: end the episode.
    X,
    /// `Z`: reset the episode.
    Z,
    /// `Esc`: e-stop.
    Esc,
}

/// Keys that drive a twist component: `(key, component, direction)`.
const MOTION_KEYS: [(TeleopKey, usize, f64); 12] = [
    (TeleopKey::W, 0, 1.0),
    (TeleopKey::S, 0, -1.0),
    (TeleopKey::A, 1, 1.0),
    (TeleopKey::D, 1, -1.0),
    (TeleopKey::R, 2, 1.0),
    (TeleopKey::F, 2, -1.0),
    (TeleopKey::U, 3, 1.0),
    (TeleopKey::O, 3, -1.0),
    (TeleopKey::I, 4, 1.0),
    (TeleopKey::K, 4, -1.0),
    (TeleopKey::J, 5, 1.0),
    (TeleopKey::L, 5, -1.0),
];

/// Number of keys (size of the held-key table).
const KEY_COUNT: usize = 20;

impl TeleopKey {
    /// The key a terminal byte stands for (letters in either case, `\r`/`\n`, DEL/BS, space, ESC).
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b.to_ascii_lowercase() {
            b'w' => TeleopKey::W,
            b's' => TeleopKey::S,
            b'a' => TeleopKey::A,
            b'd' => TeleopKey::D,
            b'r' => TeleopKey::R,
            b'f' => TeleopKey::F,
            b'u' => TeleopKey::U,
            b'o' => TeleopKey::O,
            b'i' => TeleopKey::I,
            b'k' => TeleopKey::K,
            b'j' => TeleopKey::J,
            b'l' => TeleopKey::L,
            b'c' => TeleopKey::C,
            b'v' => TeleopKey::V,
            b' ' => TeleopKey::Space,
            b'\r' | b'\n' => TeleopKey::Enter,
            0x7f | 0x08 => TeleopKey::Backspace,
            b'x' => TeleopKey::X,
            b'z' => TeleopKey::Z,
            0x1b => TeleopKey::Esc,
            _ => return None,
        })
    }

    /// The episode control this key issues when pressed, if any.
    pub fn control(self) -> Option<EpisodeControl> {
        match self {
            TeleopKey::Enter => Some(EpisodeControl::Success),
            TeleopKey::Backspace => Some(EpisodeControl::Failure),
            TeleopKey::X => Some(EpisodeControl::Stop),
            TeleopKey::Z => Some(EpisodeControl::Reset),
            _ => None,
        }
    }

    /// True for the e-stop key: every press of it (repeats included) asks for the e-stop.
    pub fn is_estop(self) -> bool {
        self == TeleopKey::Esc
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Key state → twist. Keys are held from [`KeyboardTwist::press`] until [`KeyboardTwist::release`], or, when
/// `auto_release_ns` is set (terminals), until that long after their last press.
#[derive(Debug, Clone)]
pub struct KeyboardTwist {
    cfg: KeyboardConfig,
    /// Time of the last press of each held key.
    held: [Option<Stamp>; KEY_COUNT],
    auto_release_ns: Option<u64>,
}

impl KeyboardTwist {
    /// For a source with press and release events (the panel).
    pub fn new(cfg: &KeyboardConfig) -> Self {
        Self { cfg: cfg.clone(), held: [None; KEY_COUNT], auto_release_ns: None }
    }

    /// For a source with presses and auto-repeats only (a terminal): keys release `key_hold_ms` after their last
    /// repeat.
    pub fn with_auto_release(cfg: &KeyboardConfig) -> Self {
        Self { auto_release_ns: Some(cfg.key_hold_ms * 1_000_000), ..Self::new(cfg) }
    }

    /// A key went down (or repeated) at `now`. Returns the episode control of a fresh press (a repeat of a key
    /// still held issues none).
    pub fn press(&mut self, key: TeleopKey, now: Stamp) -> Option<EpisodeControl> {
        self.expire(now);
        let fresh = self.held[key.index()].is_none();
        self.held[key.index()] = Some(now);
        if fresh { key.control() } else { None }
    }

    /// A key went up.
    pub fn release(&mut self, key: TeleopKey) {
        self.held[key.index()] = None;
    }

    /// Releases every key (focus lost).
    pub fn release_all(&mut self) {
        self.held = [None; KEY_COUNT];
    }

    fn expire(&mut self, now: Stamp) {
        if let Some(hold) = self.auto_release_ns {
            for h in self.held.iter_mut() {
                if h.is_some_and(|t| now.0.saturating_sub(t.0) > hold) {
                    *h = None;
                }
            }
        }
    }

    /// True when `key` is held at `now`.
    pub fn is_held(&mut self, key: TeleopKey, now: Stamp) -> bool {
        self.expire(now);
        self.held[key.index()].is_some()
    }

    /// The reading at `now`: each held motion key adds its direction × `max_linear`/`max_angular` (opposite keys
    /// cancel); `C`/`V` request the gripper (both: nothing); `Space` is takeover.
    pub fn reading(&mut self, now: Stamp) -> TeleopReading {
        self.expire(now);
        let mut twist = [0.0; 6];
        for (key, i, dir) in MOTION_KEYS {
            if self.held[key.index()].is_some() {
                twist[i] += dir * if i < 3 { self.cfg.max_linear } else { self.cfg.max_angular };
            }
        }
        let close = self.held[TeleopKey::C.index()].is_some();
        let open = self.held[TeleopKey::V.index()].is_some();
        let gripper_close = match (close, open) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        TeleopReading { stamp: now, twist, gripper_close, takeover: self.held[TeleopKey::Space.index()].is_some() }
    }
}

/// The keyboard of the terminal the node runs in: stdin switched to non-canonical, no-echo mode (restored on
/// drop; Ctrl-C still interrupts), read byte by byte on a thread named `teleop-keyboard`. A terminal reports key
/// repeats but no releases, so a key counts as held until `key_hold_ms` after its last repeat.
///
/// The reader thread blocks on stdin and ends with the process (or at end of input).
#[derive(Debug)]
pub struct TerminalKeyboard {
    keys: KeyboardTwist,
    bytes: mpsc::Receiver<u8>,
    saved: Option<rustix::termios::Termios>,
    last_polled: Option<TeleopReading>,
    ended: bool,
}

impl TerminalKeyboard {
    /// Takes over the terminal on stdin. [`TeleopError::NotFound`] when stdin is not a terminal.
    pub fn open(cfg: &KeyboardConfig) -> Result<Self, TeleopError> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let stdin = rustix::stdio::stdin();
        let saved = tcgetattr(stdin).map_err(|e| TeleopError::NotFound {
            device: "keyboard".into(),
            detail: format!("stdin is not a terminal ({e}); use the panel's keyboard or another device"),
        })?;
        let mut raw = saved.clone();
        raw.local_modes.remove(LocalModes::ICANON | LocalModes::ECHO);
        tcsetattr(stdin, OptionalActions::Now, &raw).map_err(|e| TeleopError::Io {
            device: "keyboard".into(),
            what: "set the terminal mode",
            source: e.into(),
        })?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("teleop-keyboard".into())
            .spawn(move || {
                use std::io::Read;
                let mut stdin = std::io::stdin().lock();
                let mut b = [0u8; 1];
                while let Ok(1) = stdin.read(&mut b) {
                    if tx.send(b[0]).is_err() {
                        return;
                    }
                }
            })
            .map_err(|source| TeleopError::Io { device: "keyboard".into(), what: "start its thread", source })?;
        Ok(Self {
            keys: KeyboardTwist::with_auto_release(cfg),
            bytes: rx,
            saved: Some(saved),
            last_polled: None,
            ended: false,
        })
    }
}

impl Drop for TerminalKeyboard {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            let _ = rustix::termios::tcsetattr(rustix::stdio::stdin(), rustix::termios::OptionalActions::Now, &saved);
        }
    }
}

impl TeleopSource for TerminalKeyboard {
    fn name(&self) -> &str {
        "keyboard"
    }

    fn sample(&mut self, now: Stamp) -> Result<DeviceSample, TeleopError> {
        let mut controls = Vec::new();
        let mut estop = false;
        loop {
            match self.bytes.try_recv() {
                Ok(b) => {
                    let key = TeleopKey::from_byte(b);
                    estop |= key.is_some_and(TeleopKey::is_estop);
                    if let Some(c) = key.and_then(|k| self.keys.press(k, now)) {
                        controls.push(c);
                    }
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    if !self.ended {
                        self.ended = true;
                        self.keys.release_all();
                        return Err(TeleopError::Disconnected {
                            device: "keyboard".into(),
                            detail: "end of terminal input".into(),
                        });
                    }
                    break;
                }
            }
        }
        Ok(DeviceSample { reading: self.keys.reading(now), controls, estop })
    }
}

impl_teleop_device!(TerminalKeyboard);

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: u64) -> Stamp {
        Stamp(t * 1_000_000)
    }

    #[test]
    fn held_keys_add_up_to_a_twist_and_opposites_cancel() {
        let cfg = KeyboardConfig { max_linear: 0.05, max_angular: 0.3, key_hold_ms: 600 };
        let mut k = KeyboardTwist::new(&cfg);
        assert_eq!(k.press(TeleopKey::W, ms(0)), None);
        k.press(TeleopKey::A, ms(0));
        k.press(TeleopKey::J, ms(0));
        k.press(TeleopKey::C, ms(0));
        let r = k.reading(ms(10_000));
        assert_eq!(r.twist, [0.05, 0.05, 0.0, 0.0, 0.0, 0.3], "panel keys stay held until released");
        assert_eq!(r.gripper_close, Some(true));
        k.press(TeleopKey::S, ms(1));
        k.press(TeleopKey::V, ms(1));
        let r = k.reading(ms(2));
        assert_eq!(r.twist[0], 0.0, "W and S cancel");
        assert_eq!(r.gripper_close, None, "C and V cancel");
        k.release(TeleopKey::W);
        k.release(TeleopKey::C);
        let r = k.reading(ms(3));
        assert_eq!((r.twist[0], r.gripper_close), (-0.05, Some(false)));
        for key in [TeleopKey::R, TeleopKey::F, TeleopKey::U, TeleopKey::I, TeleopKey::K, TeleopKey::L] {
            k.press(key, ms(4));
        }
        k.press(TeleopKey::Space, ms(4));
        let r = k.reading(ms(5));
        assert_eq!(r.twist, [-0.05, 0.05, 0.0, 0.3, 0.0, 0.0]);
        assert!(r.takeover);
    }

    #[test]
    fn terminal_keys_release_after_the_hold_time_and_controls_fire_once() {
        let cfg = KeyboardConfig { max_linear: 0.05, max_angular: 0.3, key_hold_ms: 600 };
        let mut k = KeyboardTwist::with_auto_release(&cfg);
        for &b in b"w" {
            k.press(TeleopKey::from_byte(b).expect("mapped"), ms(0));
        }
        // Auto-repeat every 33 ms keeps it held …
        for t in (500..1000).step_by(33) {
            k.press(TeleopKey::W, ms(t));
            assert_eq!(k.reading(ms(t)).twist[0], 0.05);
        }
        // … and 600 ms after the last repeat it is released.
        assert!(k.is_held(TeleopKey::W, ms(1090)));
        assert!(!k.is_held(TeleopKey::W, ms(1600)));
        assert_eq!(k.reading(ms(1600)).twist, [0.0; 6]);
        // Enter pressed and auto-repeated: one success label.
        assert_eq!(k.press(TeleopKey::from_byte(b'\r').expect("enter"), ms(2000)), Some(EpisodeControl::Success));
        assert_eq!(k.press(TeleopKey::Enter, ms(2033)), None);
        assert_eq!(k.press(TeleopKey::Enter, ms(3000)), Some(EpisodeControl::Success), "a new press after release");
        assert_eq!(TeleopKey::from_byte(0x7f).and_then(TeleopKey::control), Some(EpisodeControl::Failure));
        assert_eq!(TeleopKey::from_byte(b'X').and_then(TeleopKey::control), Some(EpisodeControl::Stop));
        assert_eq!(TeleopKey::from_byte(b'z').and_then(TeleopKey::control), Some(EpisodeControl::Reset));
        assert_eq!(TeleopKey::from_byte(b'q'), None);
        assert!(TeleopKey::from_byte(0x1b).is_some_and(TeleopKey::is_estop), "Esc is the e-stop");
        assert!(!TeleopKey::from_byte(b' ').is_some_and(TeleopKey::is_estop));
    }
}
