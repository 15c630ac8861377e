//! OpenCV `VideoCapture` sources: V4L2 devices (by index or path), video files and network streams.

use super::{Captured, ChannelOrder, FrameSource};
use crate::error::SourceError;
use interfaces::config::{CameraConfig, CameraSource};
use interfaces::time::{Clock, MonotonicClock};
use opencv::core::{Mat, MatTraitConst, Vector};
use opencv::imgproc;
use opencv::prelude::{VideoCaptureTrait, VideoCaptureTraitConst};
use opencv::videoio::{self, VideoCapture, VideoWriter};
use std::path::Path;

/// What a [`VideoSource`] reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoKind {
    /// A V4L2 device (`/dev/video<N>`): grab blocks until the device delivers the next frame.
    Device,
    /// A video file: decoded as fast as asked, so the camera thread paces it at the configured rate; its end is
    /// final ([`SourceError::Ended`]).
    File,
    /// An RTSP/HTTP stream (a URI with `://`): a closed stream or a read timeout is a grab error, and the camera
    /// thread reopens it.
    Stream,
}

impl VideoKind {
    /// The kind and the path/URL OpenCV opens for a camera source (`None` for `sim`).
    pub fn of(source: &CameraSource) -> Option<(VideoKind, String)> {
        match source {
            CameraSource::Sim { .. } => None,
            CameraSource::Device { index } => Some((VideoKind::Device, format!("/dev/video{index}"))),
            CameraSource::Uri { uri } if uri.contains("://") => Some((VideoKind::Stream, uri.clone())),
            CameraSource::Uri { uri } if uri.starts_with("/dev/") => Some((VideoKind::Device, uri.clone())),
            CameraSource::Uri { uri } => Some((VideoKind::File, uri.clone())),
        }
    }
}

/// A camera read through OpenCV's `VideoCapture`. Delivers BGR8 images of the configured capture size, stamped
/// with the host's monotonic clock when `grab` returns (before decoding).
pub struct VideoSource {
    camera: String,
    source: String,
    kind: VideoKind,
    cap: VideoCapture,
    width: u32,
    height: u32,
    frames: u64,
    raw: Mat,
    bgr: Mat,
}

impl std::fmt::Debug for VideoSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoSource")
            .field("camera", &self.camera)
            .field("source", &self.source)
            .field("kind", &self.kind)
            .field("frames", &self.frames)
            .finish()
    }
}

impl VideoSource {
    /// Opens the device, file or stream of `cfg` and requests its capture size, frame rate and pixel format.
    ///
    /// Errors: [`SourceError::MissingDevice`] when the device node does not exist, [`SourceError::UnreadableFile`]
    /// when a file is missing or not decodable, [`SourceError::WrongSize`] when the device or file delivers
    /// another size than `capture_width`×`capture_height`, [`SourceError::Open`] otherwise. Streams wait at most
    /// `stale_ms` to open and to read a frame.
    pub fn open(cfg: &CameraConfig) -> Result<Self, SourceError> {
        let camera = cfg.name.clone();
        let Some((kind, source)) = VideoKind::of(&cfg.source) else {
            return Err(SourceError::Open { camera, device: "sim".into(), reason: "not an OpenCV source".into() });
        };
        let open_err = |reason: String| SourceError::Open { camera: camera.clone(), device: source.clone(), reason };
        let cv_err = |e: opencv::Error| open_err(e.to_string());
        let cap = match kind {
            VideoKind::Device => {
                if !Path::new(&source).exists() {
                    return Err(SourceError::MissingDevice { camera, device: source });
                }
                VideoCapture::from_file(&source, videoio::CAP_V4L2).map_err(cv_err)?
            }
            VideoKind::File => {
                if !Path::new(&source).is_file() {
                    return Err(SourceError::UnreadableFile { camera, device: source, reason: "no such file".into() });
                }
                VideoCapture::from_file(&source, videoio::CAP_FFMPEG).map_err(cv_err)?
            }
            VideoKind::Stream => {
                let ms = cfg.stale_ms.round() as i32;
                let params = Vector::<i32>::from_slice(&[
                    videoio::CAP_PROP_OPEN_TIMEOUT_MSEC,
                    ms,
                    videoio::CAP_PROP_READ_TIMEOUT_MSEC,
                    ms,
                ]);
                VideoCapture::from_file_with_params(&source, videoio::CAP_FFMPEG, &params).map_err(cv_err)?
            }
        };
        if !cap.is_opened().map_err(cv_err)? {
            return Err(match kind {
                VideoKind::File => SourceError::UnreadableFile {
                    camera,
                    device: source,
                    reason: "not a video OpenCV can decode".into(),
                },
                _ => open_err("OpenCV could not open it (busy, not a capture device, or unreachable)".into()),
            });
        }
        let mut s = Self {
            camera,
            source,
            kind,
            cap,
            width: cfg.capture_width,
            height: cfg.capture_height,
            frames: 0,
            raw: Mat::default(),
            bgr: Mat::default(),
        };
        if kind == VideoKind::Device {
            s.request_mode(cfg)?;
        }
        s.check_size()?;
        Ok(s)
    }

    /// Asks a device for the configured pixel format, size and rate (V4L2 wants the format first). The device
    /// may round the rate; a different size is refused by [`Self::check_size`].
    fn request_mode(&mut self, cfg: &CameraConfig) -> Result<(), SourceError> {
        let err = |e: opencv::Error| SourceError::Open {
            camera: self.camera.clone(),
            device: self.source.clone(),
            reason: format!("setting the capture mode: {e}"),
        };
        if let Some(f) = &cfg.pixel_format {
            let c: Vec<char> = f.chars().collect();
            if let [a, b, c, d] = c[..] {
                let code = VideoWriter::fourcc(a, b, c, d).map_err(err)?;
                self.cap.set(videoio::CAP_PROP_FOURCC, f64::from(code)).map_err(err)?;
            }
        }
        self.cap.set(videoio::CAP_PROP_FRAME_WIDTH, f64::from(cfg.capture_width)).map_err(err)?;
        self.cap.set(videoio::CAP_PROP_FRAME_HEIGHT, f64::from(cfg.capture_height)).map_err(err)?;
        self.cap.set(videoio::CAP_PROP_FPS, cfg.fps).map_err(err)?;
        // One driver buffer: the newest frame, not a queue of old ones.
        self.cap.set(videoio::CAP_PROP_BUFFERSIZE, 1.0).map_err(err)?;
        let fps = self.cap.get(videoio::CAP_PROP_FPS).unwrap_or(0.0);
        if (fps - cfg.fps).abs() > 0.5 {
            tracing::warn!(camera = %self.camera, device = %self.source, requested = cfg.fps, got = fps, "device frame rate differs");
        }
        Ok(())
    }

    /// Refuses a source whose reported frame size differs from the configured capture size (0 = unknown yet).
    fn check_size(&self) -> Result<(), SourceError> {
        let w = self.cap.get(videoio::CAP_PROP_FRAME_WIDTH).unwrap_or(0.0).round() as u32;
        let h = self.cap.get(videoio::CAP_PROP_FRAME_HEIGHT).unwrap_or(0.0).round() as u32;
        if w != 0 && h != 0 && (w, h) != (self.width, self.height) {
            return Err(self.wrong_size(w, h));
        }
        Ok(())
    }

    fn wrong_size(&self, got_width: u32, got_height: u32) -> SourceError {
        SourceError::WrongSize {
            camera: self.camera.clone(),
            device: self.source.clone(),
            got_width,
            got_height,
            width: self.width,
            height: self.height,
        }
    }

    /// What kind of source this is.
    pub fn kind(&self) -> VideoKind {
        self.kind
    }

    /// Frames grabbed since it was opened.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    fn grab_error(&self, reason: String) -> SourceError {
        SourceError::Grab { camera: self.camera.clone(), device: self.source.clone(), reason }
    }
}

impl FrameSource for VideoSource {
    fn describe(&self) -> &str {
        &self.source
    }

    fn needs_pacing(&self) -> bool {
        self.kind == VideoKind::File
    }

    fn grab(&mut self) -> Result<Captured<'_>, SourceError> {
        let ok = self.cap.grab().map_err(|e| self.grab_error(e.to_string()))?;
        let stamp = MonotonicClock.now();
        if !ok {
            return Err(match self.kind {
                VideoKind::File => {
                    SourceError::Ended { camera: self.camera.clone(), device: self.source.clone(), frames: self.frames }
                }
                VideoKind::Stream => self.grab_error("no frame: the stream closed or timed out".into()),
                VideoKind::Device => self.grab_error("no frame: the device was unplugged or timed out".into()),
            });
        }
        let ok = self.cap.retrieve(&mut self.raw, 0).map_err(|e| self.grab_error(e.to_string()))?;
        if !ok || self.raw.empty() {
            return Err(self.grab_error("the grabbed frame could not be decoded".into()));
        }
        self.frames += 1;
        let code = match self.raw.channels() {
            3 => None,
            1 => Some(imgproc::COLOR_GRAY2BGR),
            4 => Some(imgproc::COLOR_BGRA2BGR),
            n => return Err(self.grab_error(format!("unsupported image with {n} channels"))),
        };
        let converted = match code {
            None => Ok(false),
            Some(code) => imgproc::cvt_color_def(&self.raw, &mut self.bgr, code).map(|()| true),
        };
        let converted = converted.map_err(|e| self.grab_error(e.to_string()))?;
        let image = if converted { &self.bgr } else { &self.raw };
        let (w, h) = (image.cols() as u32, image.rows() as u32);
        if (w, h) != (self.width, self.height) {
            return Err(self.wrong_size(w, h));
        }
        Ok(Captured { stamp, image, order: ChannelOrder::Bgr })
    }
}
