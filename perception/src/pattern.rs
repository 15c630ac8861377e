//! Synthetic videos for tests and the benchmark, written with OpenCV's own MJPG/AVI writer (no external codec).

use crate::error::PerceptionError;
use opencv::core::{CV_8UC3, Mat, MatTraitManual, Scalar, Size};
use opencv::prelude::{VideoWriterTrait, VideoWriterTraitConst};
use opencv::videoio::{self, VideoWriter};
use std::path::Path;

/// Writes `frames` frames of `width`×`height` at `fps` to `path` (an `.avi` with MJPG at quality 100).
/// `fill(index, bgr)` paints frame `index` into `bgr` (row-major B, G, R bytes, `width·height·3`).
pub fn write_video(
    path: &Path,
    width: u32,
    height: u32,
    fps: f64,
    frames: u64,
    mut fill: impl FnMut(u64, &mut [u8]),
) -> Result<(), PerceptionError> {
    let err = |e: opencv::Error| PerceptionError::OpenCv {
        camera: path.display().to_string(),
        stage: "write",
        reason: e.to_string(),
    };
    let fourcc = VideoWriter::fourcc('M', 'J', 'P', 'G').map_err(err)?;
    let file = path.to_string_lossy();
    let size = Size::new(width as i32, height as i32);
    let mut w =
        VideoWriter::new_with_backend(&file, videoio::CAP_OPENCV_MJPEG, fourcc, fps, size, true).map_err(err)?;
    if !w.is_opened().map_err(err)? {
        return Err(PerceptionError::OpenCv {
            camera: file.into_owned(),
            stage: "write",
            reason: "the MJPG writer could not open the file".into(),
        });
    }
    w.set(videoio::VIDEOWRITER_PROP_QUALITY, 100.0).map_err(err)?;
    let mut img =
        Mat::new_rows_cols_with_default(height as i32, width as i32, CV_8UC3, Scalar::all(0.0)).map_err(err)?;
    for i in 0..frames {
        fill(i, img.data_bytes_mut().map_err(err)?);
        w.write(&img).map_err(err)?;
    }
    w.release().map_err(err)
}
