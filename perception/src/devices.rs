//! The V4L2 video devices present (`/dev/video*`) and the capture modes they offer, for `corrigo camera --list`.

use linuxvideo::format::{FrameIntervals, FrameSizes};
use linuxvideo::{BufType, CapabilityFlags, Device, Fract};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One capture mode: pixel format, size and the frame rates offered at that size.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureMode {
    /// FOURCC, e.g. `MJPG`, `YUYV` (the value for a camera's `pixel_format`).
    pub fourcc: String,
    /// The driver's description of the format.
    pub description: String,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Frame rates, Hz, highest first (empty when the driver does not enumerate them).
    pub fps: Vec<f64>,
}

/// A `/dev/video*` node.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoDevice {
    /// Device path.
    pub path: PathBuf,
    /// Index usable as `source = { kind = "device", index = N }` (the number in `/dev/videoN`).
    pub index: Option<u32>,
    /// Card name reported by the driver.
    pub card: String,
    /// Driver name.
    pub driver: String,
    /// Bus location (e.g. `usb-0000:00:14.0-1`).
    pub bus: String,
    /// True when the node captures video (UVC cameras also expose metadata-only nodes).
    pub capture: bool,
    /// Capture modes (empty for non-capture nodes).
    pub modes: Vec<CaptureMode>,
    /// Why the node could not be queried, if it could not.
    pub error: Option<String>,
}

/// Lists the `/dev/video*` nodes of this machine, sorted by index, with their capture modes. Returns an empty
/// list when there are none; a node that cannot be opened (permissions, busy) is listed with its `error`.
pub fn list_video_devices() -> Vec<VideoDevice> {
    list_video_devices_in(Path::new("/dev"))
}

/// [`list_video_devices`] in another directory (tests).
pub fn list_video_devices_in(dir: &Path) -> Vec<VideoDevice> {
    let mut paths: Vec<(Option<u32>, PathBuf)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let rest = name.strip_prefix("video")?;
                    Some((rest.parse::<u32>().ok(), e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths.into_iter().map(|(index, path)| query(path, index)).collect()
}

fn query(path: PathBuf, index: Option<u32>) -> VideoDevice {
    let mut d = VideoDevice {
        path,
        index,
        card: String::new(),
        driver: String::new(),
        bus: String::new(),
        capture: false,
        modes: Vec::new(),
        error: None,
    };
    let dev = match Device::open(&d.path) {
        Ok(dev) => dev,
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOTTY.raw_os_error()) => {
            d.error = Some("not a V4L2 device".into());
            return d;
        }
        Err(e) => {
            d.error = Some(format!("cannot open: {e}"));
            return d;
        }
    };
    match dev.capabilities() {
        Ok(c) => {
            d.card = c.card().to_string();
            d.driver = c.driver().to_string();
            d.bus = c.bus_info().to_string();
            d.capture = c.device_capabilities().contains(CapabilityFlags::VIDEO_CAPTURE);
        }
        Err(e) => {
            d.error = Some(format!("cannot query capabilities: {e}"));
            return d;
        }
    }
    if !d.capture {
        return d; // metadata or output node of a camera
    }
    for desc in dev.formats(BufType::VIDEO_CAPTURE) {
        let desc = match desc {
            Ok(desc) => desc,
            Err(e) => {
                d.error = Some(format!("cannot enumerate formats: {e}"));
                break;
            }
        };
        let pf = desc.pixel_format();
        let sizes: Vec<(u32, u32)> = match dev.frame_sizes(pf) {
            Ok(FrameSizes::Discrete(sizes)) => sizes.iter().map(|s| (s.width(), s.height())).collect(),
            // A range of sizes: its bounds.
            Ok(FrameSizes::Stepwise(s) | FrameSizes::Continuous(s)) => {
                vec![(s.min_width(), s.min_height()), (s.max_width(), s.max_height())]
            }
            Err(_) => Vec::new(),
        };
        for (width, height) in sizes {
            let mut fps: Vec<f64> = match dev.frame_intervals(pf, width, height) {
                Ok(FrameIntervals::Discrete(iv)) => iv.iter().filter_map(|i| rate(i.fract())).collect(),
                // A range of intervals: the fastest and the slowest rate.
                Ok(FrameIntervals::Stepwise(s) | FrameIntervals::Continuous(s)) => {
                    [s.min(), s.max()].into_iter().filter_map(rate).collect()
                }
                Err(_) => Vec::new(),
            };
            fps.sort_by(|a, b| b.total_cmp(a));
            fps.dedup();
            d.modes.push(CaptureMode {
                fourcc: pf.to_string(),
                description: desc.description().to_string(),
                width,
                height,
                fps,
            });
        }
    }
    d
}

/// Frame rate, Hz, of a frame interval in seconds.
fn rate(interval: &Fract) -> Option<f64> {
    (interval.numerator() > 0).then(|| f64::from(interval.denominator()) / f64::from(interval.numerator()))
}

/// A human-readable listing (what `corrigo camera --list` prints). Says so when no device was found.
pub fn format_device_list(devices: &[VideoDevice]) -> String {
    let mut s = String::new();
    if devices.is_empty() {
        s.push_str("no V4L2 video devices found (no /dev/video* present)\n");
        return s;
    }
    for d in devices {
        let _ = write!(s, "{}", d.path.display());
        if !d.card.is_empty() {
            let _ = write!(s, ": {} (driver {}, {})", d.card, d.driver, d.bus);
        }
        if let Some(e) = &d.error {
            let _ = write!(s, " — {e}");
        } else if !d.capture {
            s.push_str(" — no video capture (metadata or output node)");
        }
        s.push('\n');
        for m in &d.modes {
            let rates: Vec<String> = m
                .fps
                .iter()
                .map(|f| format!("{f:.4}").trim_end_matches('0').trim_end_matches('.').to_string())
                .collect();
            let _ = writeln!(
                s,
                "    {} {}×{} @ {} Hz  ({})",
                m.fourcc,
                m.width,
                m.height,
                if rates.is_empty() { "?".to_string() } else { rates.join(", ") },
                m.description
            );
        }
        if let (Some(i), true) = (d.index, d.capture) {
            let _ = writeln!(s, "    config: source = {{ kind = \"device\", index = {i} }}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_devices_is_said_plainly() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("null"), b"").unwrap();
        let found = list_video_devices_in(dir.path());
        assert!(found.is_empty());
        assert_eq!(format_device_list(&found), "no V4L2 video devices found (no /dev/video* present)\n");
        // The real /dev must not fail either, whatever is present.
        let _ = format_device_list(&list_video_devices());
    }

    #[test]
    fn nodes_that_are_not_v4l2_devices_are_listed_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["video10", "video2", "video-extra"] {
            std::fs::write(dir.path().join(name), b"not a device").unwrap();
        }
        let found = list_video_devices_in(dir.path());
        let idx: Vec<Option<u32>> = found.iter().map(|d| d.index).collect();
        assert_eq!(idx, [None, Some(2), Some(10)]);
        for d in &found {
            assert!(!d.capture && d.modes.is_empty());
            assert!(d.error.as_deref().is_some_and(|e| e.contains("not a V4L2 device")), "{d:?}");
        }
        let text = format_device_list(&found);
        assert!(text.contains("video2 — not a V4L2 device"), "{text}");
        assert!(!text.contains("config:"), "{text}");
    }
}
