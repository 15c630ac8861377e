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
}

fn default_policy_size() -> u32 {
    128
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
