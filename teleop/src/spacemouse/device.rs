//! An open SpaceMouse: non-blocking reads of its hidraw node, mapped to a twist and buttons.

use super::discover::find_spacemice;
use super::report::SpaceMouseState;
use crate::controls::{HeldButtons, PressDetector};
use crate::error::TeleopError;
use crate::mapping::axes_to_twist;
use crate::source::{DeviceSample, TeleopSource, impl_teleop_device};
use interfaces::config::SpaceMouseConfig;
use interfaces::drivers::TeleopReading;
use interfaces::time::Stamp;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Largest hidraw input report read at once (SpaceMouse reports are 2–13 bytes).
const REPORT_BUF: usize = 64;
/// At most this many reports are read per sample (the device sends ~60–120 per second).
const MAX_REPORTS_PER_SAMPLE: usize = 256;

/// A SpaceMouse opened on its hidraw node (wired, or a wireless receiver).
#[derive(Debug)]
pub struct SpaceMouse {
    name: String,
    path: PathBuf,
    file: File,
    cfg: SpaceMouseConfig,
    state: SpaceMouseState,
    presses: PressDetector,
    bad_reports: u64,
    last_polled: Option<TeleopReading>,
}

impl SpaceMouse {
    /// Opens `cfg.path`, or the first SpaceMouse listed in `/sys/class/hidraw`. Errors name the device and path:
    /// [`TeleopError::NotFound`] when no SpaceMouse is present, [`TeleopError::Io`] when the node cannot be opened
    /// (typically a permission problem, see the module docs).
    pub fn open(cfg: &SpaceMouseConfig) -> Result<Self, TeleopError> {
        let (path, model) = match &cfg.path {
            Some(p) => (PathBuf::from(p), String::from("SpaceMouse")),
            None => {
                let found = find_spacemice(Path::new("/sys/class/hidraw"), Path::new("/dev"));
                let first = found.into_iter().next().ok_or_else(|| TeleopError::NotFound {
                    device: "spacemouse".into(),
                    detail: "no 3Dconnexion device (USB vendor 256f, or 046d product c6xx) in /sys/class/hidraw".into(),
                })?;
                let model = if first.name.is_empty() {
                    format!("{:04x}:{:04x}", first.vendor, first.product)
                } else {
                    first.name
                };
                (first.path, model)
            }
        };
        Self::open_path(&path, &model, cfg)
    }

    /// Opens a given hidraw node (or any file producing SpaceMouse reports, for tests) without blocking reads.
    pub fn open_path(path: &Path, model: &str, cfg: &SpaceMouseConfig) -> Result<Self, TeleopError> {
        let name = format!("spacemouse {} ({model})", path.display());
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)
            .map_err(|source| match source.kind() {
                ErrorKind::NotFound => {
                    TeleopError::NotFound { device: name.clone(), detail: format!("{} does not exist", path.display()) }
                }
                _ => TeleopError::Io { device: name.clone(), what: "open", source },
            })?;
        tracing::info!(device = %name, "SpaceMouse opened");
        Ok(Self {
            name,
            path: path.to_path_buf(),
            file,
            cfg: cfg.clone(),
            state: SpaceMouseState::default(),
            presses: PressDetector::default(),
            bad_reports: 0,
            last_polled: None,
        })
    }

    /// The hidraw node.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reports rejected since opening (too short, empty).
    pub fn bad_reports(&self) -> u64 {
        self.bad_reports
    }

    /// Reads every pending report into the state. `Ok(false)` at end of file (a regular file in tests).
    fn drain(&mut self) -> Result<bool, TeleopError> {
        let mut buf = [0u8; REPORT_BUF];
        for _ in 0..MAX_REPORTS_PER_SAMPLE {
            match self.file.read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    if let Err(e) = self.state.apply(&buf[..n]) {
                        self.bad_reports += 1;
                        tracing::debug!(device = %self.name, error = %e, "SpaceMouse report ignored");
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(TeleopError::Disconnected { device: self.name.clone(), detail: format!("read: {e}") });
                }
            }
        }
        Ok(true)
    }

    /// Maps the accumulated state to a sample (pure; used by [`TeleopSource::sample`]).
    pub fn map_state(state: &SpaceMouseState, cfg: &SpaceMouseConfig, now: Stamp) -> (TeleopReading, HeldButtons) {
        let twist = axes_to_twist(&state.normalized(cfg.full_scale), &cfg.mapping());
        let held = HeldButtons::from_bindings(&cfg.buttons, |n| state.pressed(n));
        (TeleopReading { stamp: now, twist, gripper_close: held.gripper_close, takeover: held.takeover }, held)
    }
}

impl TeleopSource for SpaceMouse {
    fn name(&self) -> &str {
        &self.name
    }

    fn sample(&mut self, now: Stamp) -> Result<DeviceSample, TeleopError> {
        let open = self.drain()?;
        if !open && self.path.starts_with("/dev") {
            // A character device never reaches end of file while plugged in.
            return Err(TeleopError::Disconnected { device: self.name.clone(), detail: "end of file".into() });
        }
        let (reading, held) = Self::map_state(&self.state, &self.cfg, now);
        Ok(DeviceSample { reading, controls: self.presses.pressed(held.controls), estop: false })
    }
}

impl_teleop_device!(SpaceMouse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controls::EpisodeControl;
    use interfaces::config::ButtonBindings;

    #[test]
    fn split_reports_become_a_base_frame_twist_and_buttons() {
        // A SpaceMouse Compact pushed away from the user at full deflection (y = −350), then its left button
        // pressed, then its right one: with the default mapping, away → +x of the base.
        let cfg = SpaceMouseConfig {
            buttons: ButtonBindings { gripper_close: Some(0), success: Some(1), ..ButtonBindings::default() },
            ..SpaceMouseConfig::default()
        };
        let mut state = SpaceMouseState::default();
        state.apply(&[0x01, 0x00, 0x00, 0xa2, 0xfe, 0x00, 0x00]).expect("translation: y = −350");
        state.apply(&[0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]).expect("rotation: none");
        state.apply(&[0x03, 0x01]).expect("buttons: left");
        let (reading, held) = SpaceMouse::map_state(&state, &cfg, Stamp(5));
        assert!((reading.twist[0] - cfg.max_linear).abs() < 1e-12, "{:?}", reading.twist);
        assert_eq!(&reading.twist[1..], &[0.0; 5]);
        assert_eq!(reading.gripper_close, Some(true));
        assert_eq!(held.controls, [false; 4]);
        assert_eq!(reading.stamp, Stamp(5));
        state.apply(&[0x03, 0x02]).expect("buttons: right");
        let (reading, held) = SpaceMouse::map_state(&state, &cfg, Stamp(6));
        assert_eq!(reading.gripper_close, None);
        assert_eq!(PressDetector::default().pressed(held.controls), [EpisodeControl::Success]);
    }

    #[test]
    fn the_device_reads_reports_from_its_node_and_keeps_the_state() {
        // One combined report (newer wireless model) lifting the cap (z = −350 counts, "up" in the device frame).
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("hidraw-recording");
        std::fs::write(&path, [0x01, 0, 0, 0, 0, 0xa2, 0xfe, 0, 0, 0, 0, 0, 0]).expect("write");
        let mut dev = SpaceMouse::open_path(&path, "recording", &SpaceMouseConfig::default()).expect("open");
        assert!(TeleopSource::name(&dev).contains("hidraw-recording"));
        for t in [1, 2] {
            let s = dev.sample(Stamp(t)).expect("sample");
            assert!((s.reading.twist[2] - 0.1).abs() < 1e-12, "lift → +z of the base: {:?}", s.reading.twist);
            assert_eq!(s.reading.stamp, Stamp(t));
        }
        assert_eq!(dev.bad_reports(), 0);
    }

    #[test]
    fn a_missing_node_is_reported_with_its_path() {
        let err = SpaceMouse::open_path(Path::new("/nonexistent/hidraw9"), "test", &SpaceMouseConfig::default())
            .expect_err("no such node");
        let text = err.to_string();
        assert!(text.contains("spacemouse /nonexistent/hidraw9") && text.contains("not found"), "{text}");
    }
}
