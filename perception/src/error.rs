//! Errors of the camera node, each naming the camera and the device, file or stream involved.

use std::time::Duration;
use thiserror::Error;

/// Why a camera source could not deliver a frame. `source` is the device path, file or URL as configured
/// (or `sim:<camera>` for a simulated camera), in the field `device`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SourceError {
    /// The device does not exist (no such `/dev/video*`).
    #[error("camera `{camera}`: no device {device}")]
    MissingDevice {
        /// Camera name from the config.
        camera: String,
        /// Device path.
        device: String,
    },
    /// The file does not exist or cannot be decoded as video.
    #[error("camera `{camera}`: cannot read video file {device}: {reason}")]
    UnreadableFile {
        /// Camera name from the config.
        camera: String,
        /// File path.
        device: String,
        /// What went wrong.
        reason: String,
    },
    /// The device, stream or simulated camera exists but could not be opened.
    #[error("camera `{camera}`: cannot open {device}: {reason}")]
    Open {
        /// Camera name from the config.
        camera: String,
        /// Device, URL or `sim:<camera>`.
        device: String,
        /// What went wrong.
        reason: String,
    },
    /// A video file reached its end (a stream that closes is a [`SourceError::Grab`] and is reopened).
    #[error("camera `{camera}`: {device} ended after {frames} frames")]
    Ended {
        /// Camera name from the config.
        camera: String,
        /// File path.
        device: String,
        /// Frames read since it was opened.
        frames: u64,
    },
    /// Grabbing or decoding a frame failed (device unplugged, read timeout, corrupt data).
    #[error("camera `{camera}`: grabbing from {device} failed: {reason}")]
    Grab {
        /// Camera name from the config.
        camera: String,
        /// Device, file, URL or `sim:<camera>`.
        device: String,
        /// What went wrong.
        reason: String,
    },
    /// The source is gone for good (a driver object that failed and cannot be reopened).
    #[error("camera `{camera}`: {device} is gone: {reason}")]
    Gone {
        /// Camera name from the config.
        camera: String,
        /// Device or `sim:<camera>`.
        device: String,
        /// What happened.
        reason: String,
    },
    /// The source delivered an image of another size than configured (the crop would not fit).
    #[error("camera `{camera}`: {device} delivers {got_width}×{got_height}, configured {width}×{height}")]
    WrongSize {
        /// Camera name from the config.
        camera: String,
        /// Device, file, URL or `sim:<camera>`.
        device: String,
        /// Delivered width, pixels.
        got_width: u32,
        /// Delivered height, pixels.
        got_height: u32,
        /// Configured `capture_width`, pixels.
        width: u32,
        /// Configured `capture_height`, pixels.
        height: u32,
    },
}

impl SourceError {
    /// True when reopening the source cannot help (a video file that ended or cannot be read): the camera's
    /// thread then stops instead of reconnecting.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            SourceError::Ended { .. }
                | SourceError::UnreadableFile { .. }
                | SourceError::WrongSize { .. }
                | SourceError::Gone { .. }
        )
    }
}

/// Errors of the camera node as a whole.
#[derive(Debug, Error)]
pub enum PerceptionError {
    /// A camera's source failed before the node started.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The bus refused a publisher or subscriber.
    #[error(transparent)]
    Bus(#[from] bus::BusError),
    /// An OpenCV call failed outside a source (pipeline, encoder, test pattern writer).
    #[error("camera `{camera}`: OpenCV failed in {stage}: {reason}")]
    OpenCv {
        /// Camera name (or `bench` for the benchmark's pattern writer).
        camera: String,
        /// Pipeline stage (`crop`, `resize`, `colour`, `jpeg`, `decode`, `write`).
        stage: &'static str,
        /// OpenCV's message.
        reason: String,
    },
    /// A `sim` camera source was configured but the node was started without the simulated cell.
    #[error("camera `{camera}`: source `sim` (model camera `{model_camera}`) needs the simulated cell; none was given")]
    NoSimulation {
        /// Camera name.
        camera: String,
        /// Camera in the MJCF model.
        model_camera: String,
    },
    /// The simulator refused to create a camera.
    #[error("camera `{camera}`: simulated camera: {reason}")]
    Sim {
        /// Camera name.
        camera: String,
        /// The simulator's message.
        reason: String,
    },
    /// A thread could not be started.
    #[error("cannot start thread `{thread}`: {reason}")]
    Thread {
        /// Thread name.
        thread: String,
        /// OS error.
        reason: String,
    },
    /// A frame on the bus is not what its header says (size mismatch, undecodable JPEG).
    #[error("frame of camera `{camera}` ({width}×{height}, {encoding}) is malformed: {reason}")]
    BadFrame {
        /// Camera name in the frame.
        camera: String,
        /// Declared width, pixels.
        width: u32,
        /// Declared height, pixels.
        height: u32,
        /// Declared encoding.
        encoding: String,
        /// What is wrong.
        reason: String,
    },
    /// The benchmark could not run (receiver process, I/O).
    #[error("bench perception: {0}")]
    Bench(String),
}

/// One input of an observation and how old it was when assembly was attempted.
#[derive(Debug, Clone, PartialEq)]
pub struct InputAge {
    /// `camera <name>` or `arm_state`.
    pub input: String,
    /// Age relative to the assembler's clock; `None` when nothing was ever received.
    pub age: Option<Duration>,
}

impl std::fmt::Display for InputAge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.age {
            Some(a) => write!(f, "{} {:.1} ms old", self.input, a.as_secs_f64() * 1e3),
            None => write!(f, "{} never received", self.input),
        }
    }
}

/// Why an observation could not be assembled. Carries every input's age, and what the inputs refused, so the
/// caller can report it.
#[derive(Debug, Error)]
pub enum AssemblyError {
    /// An input is missing or older than `max_age`, or the inputs are further apart in time than `max_skew`.
    #[error(
        "observation out of tolerance (max age {:.1} ms, max skew {:.1} ms, skew {:.1} ms): {}{}",
        max_age.as_secs_f64() * 1e3,
        max_skew.as_secs_f64() * 1e3,
        skew.as_secs_f64() * 1e3,
        ages.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
        refused.iter().map(|r| format!("; {r}")).collect::<String>()
    )]
    OutOfTolerance {
        /// Every input with its age, cameras first in config order, then the arm state.
        ages: Vec<InputAge>,
        /// Time between the oldest and the newest input stamp (zero when an input is missing).
        skew: Duration,
        /// Tolerance on each input's age.
        max_age: Duration,
        /// Tolerance on the spread between inputs.
        max_skew: Duration,
        /// For each input that refused messages (not counting those held back while a stream was confirmed):
        /// how many, and why the last one was refused.
        refused: Vec<String>,
    },
}
