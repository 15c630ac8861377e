//! Frames as subscribers want them: RGB8 whatever the camera published.

use crate::error::PerceptionError;
use interfaces::msg::{Frame, PixelEncoding};
use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Vector};
use opencv::{imgcodecs, imgproc};

/// Returns `frame` with RGB8 pixels (row-major, `width·height·3` bytes): an RGB8 frame is checked and returned as
/// it is, a JPEG frame is decoded. Errors when the size does not match the header or the JPEG is corrupt.
pub fn to_rgb8(mut frame: Frame) -> Result<Frame, PerceptionError> {
    let bad = |frame: &Frame, reason: String| PerceptionError::BadFrame {
        camera: frame.camera.clone(),
        width: frame.width,
        height: frame.height,
        encoding: format!("{:?}", frame.encoding),
        reason,
    };
    match frame.encoding {
        PixelEncoding::Rgb8 => {
            if !frame.is_consistent() {
                let reason = format!("{} bytes, expected width·height·3", frame.data.len());
                return Err(bad(&frame, reason));
            }
            Ok(frame)
        }
        PixelEncoding::Jpeg => {
            let decoded = (|| -> opencv::Result<Option<Vec<u8>>> {
                let bytes = Vector::<u8>::from_slice(&frame.data);
                let bgr = imgcodecs::imdecode(&bytes, imgcodecs::IMREAD_COLOR)?;
                if bgr.empty() || (bgr.cols() as u32, bgr.rows() as u32) != (frame.width, frame.height) {
                    return Ok(None);
                }
                let mut rgb = Mat::default();
                imgproc::cvt_color_def(&bgr, &mut rgb, imgproc::COLOR_BGR2RGB)?;
                Ok(Some(rgb.data_bytes()?.to_vec()))
            })();
            match decoded {
                Ok(Some(rgb)) => {
                    frame.data = rgb;
                    frame.encoding = PixelEncoding::Rgb8;
                    Ok(frame)
                }
                Ok(None) => Err(bad(&frame, "the JPEG is empty or of another size than the header says".into())),
                Err(e) => Err(bad(&frame, e.to_string())),
            }
        }
    }
}
