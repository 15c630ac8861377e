//! Any [`interfaces::drivers::Camera`] (the simulator's `SimCamera`, test cameras) as a [`FrameSource`].

use super::{Captured, ChannelOrder, FrameSource, SourceOpener};
use crate::error::SourceError;
use interfaces::drivers::{Camera, DriverError};
use opencv::core::{CV_8UC3, Mat, MatTraitConst, MatTraitManual, Scalar};

/// Wraps a [`Camera`] whose images are RGB8 of a fixed size. The image's own stamp is the capture stamp (for
/// the simulator: simulated time, the clock the simulated arm's state is stamped with).
pub struct CameraAdapter<C: Camera> {
    camera: C,
    source: String,
    width: u32,
    height: u32,
    image: Mat,
}

impl<C: Camera> std::fmt::Debug for CameraAdapter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraAdapter").field("camera", &self.camera.name()).field("source", &self.source).finish()
    }
}

impl<C: Camera + 'static> CameraAdapter<C> {
    /// Adapts `camera`, which must deliver `width`×`height` images; `source` names it in messages.
    pub fn new(camera: C, source: String, width: u32, height: u32) -> Self {
        Self { camera, source, width, height, image: Mat::default() }
    }

    /// A one-shot opener: the first call hands out the adapted camera; later calls (after it failed) return a
    /// final [`SourceError::Open`], since a driver object cannot be reopened from here.
    pub fn opener(camera: C, source: String, width: u32, height: u32) -> SourceOpener {
        let name = camera.name().to_string();
        let mut once = Some(Self::new(camera, source.clone(), width, height));
        Box::new(move || match once.take() {
            Some(a) => Ok(Box::new(a) as Box<dyn FrameSource>),
            None => Err(SourceError::Gone {
                camera: name.clone(),
                device: source.clone(),
                reason: "the camera driver failed and cannot be reopened".into(),
            }),
        })
    }
}

fn driver_error(camera: &str, source: &str, e: DriverError) -> SourceError {
    SourceError::Grab { camera: camera.to_string(), device: source.to_string(), reason: e.to_string() }
}

impl<C: Camera + 'static> FrameSource for CameraAdapter<C> {
    fn describe(&self) -> &str {
        &self.source
    }

    fn needs_pacing(&self) -> bool {
        true
    }

    fn grab(&mut self) -> Result<Captured<'_>, SourceError> {
        let img = self.camera.grab().map_err(|e| driver_error(self.camera.name(), &self.source, e))?;
        if img.width != self.width
            || img.height != self.height
            || img.rgb.len() != (img.width * img.height * 3) as usize
        {
            return Err(SourceError::WrongSize {
                camera: self.camera.name().to_string(),
                device: self.source.clone(),
                got_width: img.width,
                got_height: img.height,
                width: self.width,
                height: self.height,
            });
        }
        let cv = |e: opencv::Error| SourceError::Grab {
            camera: self.camera.name().to_string(),
            device: self.source.clone(),
            reason: e.to_string(),
        };
        if self.image.rows() != self.height as i32 || self.image.cols() != self.width as i32 {
            self.image =
                Mat::new_rows_cols_with_default(self.height as i32, self.width as i32, CV_8UC3, Scalar::all(0.0))
                    .map_err(cv)?;
        }
        self.image.data_bytes_mut().map_err(cv)?.copy_from_slice(&img.rgb);
        Ok(Captured { stamp: img.stamp, image: &self.image, order: ChannelOrder::Rgb })
    }
}
