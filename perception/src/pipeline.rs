//! The per-camera image pipeline: crop → resize (area interpolation) → RGB8 (→ JPEG when configured).
//!
//! Area interpolation averages every source pixel that falls into a destination pixel, so a crop whose size is
//! an integer multiple of the policy size is reduced by exact block means (no aliasing, no ringing).

use crate::error::PerceptionError;
use crate::source::{Captured, ChannelOrder};
use interfaces::config::CameraConfig;
use interfaces::msg::{Frame, Header, PixelEncoding};
use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Rect, Size, ToInputArray, Vector};
use opencv::{imgcodecs, imgproc};

/// Turns captured images into [`Frame`]s of one camera. Keeps its buffers between frames (no allocation per
/// frame after the first, apart from the message's pixel vector).
pub struct Pipeline {
    camera: String,
    crop: Option<Rect>,
    size: Size,
    jpeg_quality: Option<u8>,
    resized: Mat,
    converted: Mat,
    jpeg: Vector<u8>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("camera", &self.camera)
            .field("crop", &self.crop)
            .field("size", &(self.size.width, self.size.height))
            .field("jpeg_quality", &self.jpeg_quality)
            .finish()
    }
}

impl Pipeline {
    /// The pipeline of a camera: its `crop` (validated to lie inside the capture), its policy `width`×`height`
    /// and its `jpeg_quality`.
    pub fn new(cfg: &CameraConfig) -> Self {
        Self {
            camera: cfg.name.clone(),
            crop: cfg.crop.map(|c| Rect::new(c.x as i32, c.y as i32, c.width as i32, c.height as i32)),
            size: Size::new(cfg.width as i32, cfg.height as i32),
            jpeg_quality: cfg.jpeg_quality,
            resized: Mat::default(),
            converted: Mat::default(),
            jpeg: Vector::new(),
        }
    }

    fn err(&self, stage: &'static str) -> impl Fn(opencv::Error) -> PerceptionError + '_ {
        move |e| PerceptionError::OpenCv { camera: self.camera.clone(), stage, reason: e.to_string() }
    }

    /// The policy image: the crop of `cap`, resized with area interpolation to the policy size, as RGB8 (or
    /// JPEG). The frame's stamp is the capture stamp; its sequence number is left for the publisher.
    pub fn policy_frame(&mut self, cap: &Captured<'_>) -> Result<Frame, PerceptionError> {
        let mut resized = std::mem::take(&mut self.resized);
        let r = match self.crop {
            Some(rect) => Mat::roi(cap.image, rect).and_then(|region| resize_into(&region, self.size, &mut resized)),
            None => resize_into(cap.image, self.size, &mut resized),
        };
        let out = r.map_err(self.err("resize")).and_then(|()| self.encode(&resized, cap));
        self.resized = resized;
        out
    }

    /// The whole captured image, unresized, as RGB8 (or JPEG), for the operator panel.
    pub fn full_frame(&mut self, cap: &Captured<'_>) -> Result<Frame, PerceptionError> {
        self.encode(cap.image, cap)
    }

    /// Converts `image` (in `cap`'s channel order) to the published encoding.
    fn encode(&mut self, image: &Mat, cap: &Captured<'_>) -> Result<Frame, PerceptionError> {
        let (width, height) = (image.cols() as u32, image.rows() as u32);
        let (encoding, data) = match self.jpeg_quality {
            None => {
                let data = match cap.order {
                    ChannelOrder::Bgr => {
                        imgproc::cvt_color_def(image, &mut self.converted, imgproc::COLOR_BGR2RGB)
                            .map_err(self.err("colour"))?;
                        self.converted.data_bytes().map_err(self.err("colour"))?.to_vec()
                    }
                    ChannelOrder::Rgb => continuous_bytes(image).map_err(self.err("colour"))?,
                };
                (PixelEncoding::Rgb8, data)
            }
            Some(q) => {
                let bgr = match cap.order {
                    ChannelOrder::Bgr => image,
                    ChannelOrder::Rgb => {
                        imgproc::cvt_color_def(image, &mut self.converted, imgproc::COLOR_RGB2BGR)
                            .map_err(self.err("colour"))?;
                        &self.converted
                    }
                };
                let params = Vector::<i32>::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, i32::from(q)]);
                imgcodecs::imencode(".jpg", bgr, &mut self.jpeg, &params).map_err(self.err("jpeg"))?;
                (PixelEncoding::Jpeg, self.jpeg.as_slice().to_vec())
            }
        };
        Ok(Frame {
            header: Header { seq: 0, stamp_ns: cap.stamp },
            camera: self.camera.clone(),
            width,
            height,
            encoding,
            data,
        })
    }
}

/// Area-resizes `region` to `size` into `out` (a plain copy when it already has that size).
fn resize_into(region: &(impl ToInputArray + MatTraitConst), size: Size, out: &mut Mat) -> opencv::Result<()> {
    if region.size()? == size {
        region.copy_to(out)
    } else {
        imgproc::resize(region, out, size, 0.0, 0.0, imgproc::INTER_AREA)
    }
}

/// The bytes of an 8-bit image row by row, without the padding of a region of interest.
fn continuous_bytes(image: &Mat) -> opencv::Result<Vec<u8>> {
    if image.is_continuous() {
        return Ok(image.data_bytes()?.to_vec());
    }
    let mut out = Mat::default();
    image.copy_to(&mut out)?;
    Ok(out.data_bytes()?.to_vec())
}
