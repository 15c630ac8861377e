//! `[[cameras]]`: one entry per camera.

use super::Validator;
use serde::{Deserialize, Serialize};

/// Where a camera's images come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CameraSource {
    /// A camera of the MuJoCo model, rendered offscreen.
    Sim {
        /// Camera name in the MJCF model.
        camera: String,
    },
    /// A V4L2 device by index (`/dev/video<index>`).
    Device {
        /// Device index.
        index: u32,
    },
    /// A device path, a video file or a stream URL (RTSP/HTTP), opened by OpenCV.
    Uri {
        /// Path or URL.
        uri: String,
    },
}

/// A crop rectangle in source pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crop {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// One camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Name, used in keys (`corrigo/<cell>/camera/<name>/frame`).
    pub name: String,
    /// Source.
    pub source: CameraSource,
    /// Requested capture width, pixels.
    pub capture_width: u32,
    /// Requested capture height, pixels.
    pub capture_height: u32,
    /// Requested frame rate, Hz.
    pub fps: f64,
    /// Region of the captured image to keep (whole image when absent).
    #[serde(default)]
    pub crop: Option<Crop>,
    /// Policy image width after resizing, pixels.
    #[serde(default = "default_policy_size")]
    pub width: u32,
    /// Policy image height after resizing, pixels.
    #[serde(default = "default_policy_size")]
    pub height: u32,
    /// Requested pixel format as a V4L2 FOURCC (e.g. `MJPG`, `YUYV`); the driver's default when absent.
    #[serde(default)]
    pub pixel_format: Option<String>,
    /// Rate of the full (uncropped, unresized) frames for the operator panel, Hz (at most `fps`); 0 publishes none.
    #[serde(default = "default_full_frame_hz")]
    pub full_frame_hz: f64,
    /// JPEG quality (1–100) of published frames, for subscribers on other machines; raw RGB8 when absent.
    #[serde(default)]
    pub jpeg_quality: Option<u8>,
    /// A camera with no new frame for this long is reported stale and reopened, milliseconds.
    #[serde(default = "default_stale_ms")]
    pub stale_ms: f64,
}

fn default_policy_size() -> u32 {
    128
}

fn default_full_frame_hz() -> f64 {
    5.0
}

fn default_stale_ms() -> f64 {
    1000.0
}

impl CameraConfig {
    pub(crate) fn validate(&self, v: &mut Validator, key: &str) {
        if !crate::keys::is_valid_chunk(&self.name) {
            v.push(&format!("{key}.name"), format!("{:?}", self.name), "letters, digits, '_' and '-' only, not empty");
        }
        v.range_u64(&format!("{key}.capture_width"), self.capture_width.into(), 8, 8192, "pixels");
        v.range_u64(&format!("{key}.capture_height"), self.capture_height.into(), 8, 8192, "pixels");
        v.range(&format!("{key}.fps"), self.fps, 0.1, 500.0, "Hz");
        v.range_u64(&format!("{key}.width"), self.width.into(), 8, 1024, "pixels");
        v.range_u64(&format!("{key}.height"), self.height.into(), 8, 1024, "pixels");
        if let Some(f) = &self.pixel_format
            && !(f.len() == 4 && f.chars().all(|c| c.is_ascii_alphanumeric() || c == ' '))
        {
            v.push(
                &format!("{key}.pixel_format"),
                format!("{f:?}"),
                "a four-character code such as \"MJPG\" or \"YUYV\"",
            );
        }
        v.range(&format!("{key}.full_frame_hz"), self.full_frame_hz, 0.0, 500.0, "Hz (capped at fps)");
        if let Some(q) = self.jpeg_quality {
            v.range_u64(&format!("{key}.jpeg_quality"), q.into(), 1, 100, "JPEG quality");
        }
        v.range(&format!("{key}.stale_ms"), self.stale_ms, 10.0, 60_000.0, "ms");
        if let Some(c) = self.crop
            && (c.width == 0
                || c.height == 0
                || c.x + c.width > self.capture_width
                || c.y + c.height > self.capture_height)
        {
            v.push(
                &format!("{key}.crop"),
                format!("{c:?}"),
                &format!("a non-empty rectangle inside the {}×{} capture", self.capture_width, self.capture_height),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::CellConfig;

    const DEFAULT: &str = include_str!("../../../hardware_configs/sim_panda.toml");

    #[test]
    fn capture_options_default_and_are_range_checked() {
        let cfg = CellConfig::from_toml_str(DEFAULT, "cell.toml").unwrap_or_else(|e| panic!("{e}"));
        let c = &cfg.cameras[0];
        assert_eq!((c.pixel_format.as_deref(), c.full_frame_hz, c.jpeg_quality, c.stale_ms), (None, 5.0, None, 1000.0));
        let text = DEFAULT.replacen(
            "fps = 30.0",
            "fps = 30.0\npixel_format = \"MJPEG\"\njpeg_quality = 0\nfull_frame_hz = -1.0\nstale_ms = 1.0",
            1,
        );
        let msg = CellConfig::from_toml_str(&text, "cell.toml").unwrap_err().to_string();
        for key in ["pixel_format", "jpeg_quality", "full_frame_hz", "stale_ms"] {
            assert!(msg.contains(&format!("cameras[0].{key}")), "{key} not reported: {msg}");
        }
    }
}
