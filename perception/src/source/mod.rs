//! Camera sources: where images come from before the pipeline.
//!
//! A [`FrameSource`] delivers one image per [`FrameSource::grab`], stamped at grab with the monotonic clock.
//! Sources are opened (and reopened after a failure) by a [`SourceOpener`], so the camera thread can reconnect
//! with backoff without knowing what kind of source it drives. [`opener_for`] builds the opener a camera's
//! config asks for: OpenCV's `VideoCapture` ([`VideoSource`]) for devices, files and streams, the simulator's
//! offscreen camera ([`CameraAdapter`] around `sim::SimCamera`) for `sim`.

mod adapter;
mod video;

pub use adapter::CameraAdapter;
pub use video::{VideoKind, VideoSource};

use crate::error::{PerceptionError, SourceError};
use interfaces::config::{CameraConfig, CameraSource};
use interfaces::drivers::SimCameras;
use interfaces::time::Stamp;
use opencv::core::Mat;

/// Channel order of a captured image (OpenCV decodes to BGR; the simulator renders RGB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    /// Blue, green, red (OpenCV's native order).
    Bgr,
    /// Red, green, blue.
    Rgb,
}

/// One grabbed image, borrowed from its source until the next grab.
#[derive(Debug)]
pub struct Captured<'a> {
    /// Capture time: host monotonic clock (or the simulator's clock for `sim` sources), taken when the grab
    /// returned, before decoding.
    pub stamp: Stamp,
    /// 8-bit, 3-channel image of the configured capture size.
    pub image: &'a Mat,
    /// Channel order of `image`.
    pub order: ChannelOrder,
}

/// A source of camera images.
pub trait FrameSource: Send {
    /// The device path, file, URL or `sim:<camera>`, for messages.
    fn describe(&self) -> &str;
    /// True when [`grab`](Self::grab) returns at once instead of waiting for the device (video files, the
    /// simulator): the camera thread then paces it at the configured frame rate.
    fn needs_pacing(&self) -> bool;
    /// Blocks until the next image and returns it. An image whose stamp is not later than the previous one's is
    /// a repeat, and the camera thread does not publish it.
    fn grab(&mut self) -> Result<Captured<'_>, SourceError>;
}

/// Opens a camera's source; called again after every failure (with backoff) until it succeeds or returns a
/// [final](SourceError::is_final) error.
pub type SourceOpener = Box<dyn FnMut() -> Result<Box<dyn FrameSource>, SourceError> + Send>;

/// The opener a camera's config asks for. `sim` sources take their camera from `sim_cell` (the simulated cell
/// of this process, which implements [`SimCameras`]) and fail with [`PerceptionError::NoSimulation`] without one.
pub fn opener_for(cfg: &CameraConfig, sim_cell: Option<&mut dyn SimCameras>) -> Result<SourceOpener, PerceptionError> {
    match &cfg.source {
        CameraSource::Sim { camera } => {
            let Some(cell) = sim_cell else {
                return Err(PerceptionError::NoSimulation { camera: cfg.name.clone(), model_camera: camera.clone() });
            };
            let sim_camera =
                cell.open_camera(cfg).map_err(|reason| PerceptionError::Sim { camera: cfg.name.clone(), reason })?;
            Ok(CameraAdapter::opener(sim_camera, format!("sim:{camera}"), cfg.capture_width, cfg.capture_height))
        }
        CameraSource::Device { .. } | CameraSource::Uri { .. } => {
            let cfg = cfg.clone();
            Ok(Box::new(move || VideoSource::open(&cfg).map(|s| Box::new(s) as Box<dyn FrameSource>)))
        }
    }
}
