//! # perception
//!
//! corrigo's camera node: camera sources, the image pipeline, frame publishing, and the observation assembly the
//! actor builds on.
//!
//! - **Sources** ([`source`]): OpenCV `VideoCapture` for V4L2 devices (by index or `/dev/video*` path, with the
//!   requested size, rate and pixel format), video files and RTSP/HTTP streams ([`VideoSource`]); the MuJoCo
//!   cameras of the simulated cell, handed in through [`interfaces::drivers::SimCameras`] (perception does not
//!   depend on the simulator), or any [`interfaces::drivers::Camera`] ([`CameraAdapter`]).
//!   [`list_video_devices`] lists the V4L2 devices present with their modes.
//! - **Pipeline** ([`Pipeline`]): crop to the configured region → resize with area interpolation to the policy
//!   size (default 128×128) → RGB8, or JPEG when `jpeg_quality` is set (for subscribers on other machines).
//! - **Node** ([`run_camera_node`]): one thread per camera (`camera-<name>`) publishing on
//!   `corrigo/<cell>/camera/<name>/frame` every new capture, stamped with its capture time (monotonic, taken at
//!   grab), and the whole image on `corrigo/<cell>/camera/<name>/full` ([`FULL_FRAME`]) at `full_frame_hz`.
//!   A camera that stalls is reported stale, one that fails is reopened with backoff, and an image is never
//!   published twice ([`CameraStatus`], events on `corrigo/<cell>/camera/event`).
//! - **Observations** ([`ObservationAssembler`]): the newest frame of each camera and the newest arm state,
//!   paired within a [`ObservationTolerance`], or an [`AssemblyError`] that reports each input's age. Each input
//!   is bound to one publisher's stream ([`StreamGate`]) and checked before it is held (declared size, data
//!   length, the JPEG's own header before decoding: [`jpeg_dimensions`]); what is refused is counted, never
//!   fatal.
//! - **Benchmark** (`bench`, behind the `bench` feature): grab → another process latency and CPU cost (`corrigo bench perception`).
//!
//! Pixel layout everywhere: row-major, 3 bytes per pixel R, G, B, no padding (`len = width·height·3`).

#[cfg(feature = "bench")]
pub mod bench;
mod decode;
mod devices;
mod error;
pub mod gate;
mod node;
mod observation;
pub mod pattern;
mod pipeline;
pub mod source;
mod topics;

pub use decode::{JpegHeaderError, jpeg_dimensions, to_rgb8};
pub use devices::{CaptureMode, VideoDevice, format_device_list, list_video_devices, list_video_devices_in};
pub use error::{AssemblyError, InputAge, PerceptionError, SourceError};
pub use gate::{Admitted, GatePolicy, MAX_STAMP, Refusal, Refusals, Reporter, StreamGate};
pub use node::{
    CameraHealth, CameraNode, CameraNodeBuilder, CameraState, CameraStatus, INITIAL_BACKOFF, MAX_BACKOFF, NODE,
    run_camera_node,
};
pub use observation::{CameraInput, Observation, ObservationAssembler, ObservationTolerance, arm_state_problem};
pub use pipeline::Pipeline;
pub use source::{
    CameraAdapter, Captured, ChannelOrder, FrameSource, SourceOpener, VideoKind, VideoSource, opener_for,
};
pub use topics::FULL_FRAME;
