//! corrigo's datasets: a run directory's episodes as a **LeRobotDataset v3** folder (parquet tables + one mp4 per
//! camera, `meta/info.json`), readable by LeRobot's loader, pandas and video players, and such a folder read back
//! into a run directory's replay store ([`import`]), so that demonstrations recorded with other tools seed a
//! corrigo learner.
//!
//! - [`export::export`]: `corrigo export RUN_DIR OUT [--buffer demo|online|all] [--episodes RANGE] [--codec h264|av1]`.
//! - [`import::import`]: `corrigo import DATASET RUN_DIR [--as demo|online] [--map state=COL --map action=COL
//!   --map camera.<name>=COL]`.
//!
//! Formats through maintained libraries: Arrow/Parquet (`parquet`, `arrow-*`) for the tables, FFmpeg's libraries
//! (`ffmpeg-next` on Debian's libavcodec/libavformat/libswscale) for the video: H.264 through x264 in yuv420p by
//! default, AV1 through SVT-AV1 (LeRobot's default) on request; any codec FFmpeg decodes is read (AV1 through
//! dav1d, H.264, …). The folder layout and the columns are described in [`layout`].
//!
//! This crate sits apart from `agent` so that FFmpeg and Arrow are linked only by what moves datasets (the binary
//! and its tests), not by the learner library.

pub mod error;
pub mod export;
pub mod import;
pub mod layout;
mod progress;
pub use progress::Progress;
pub mod stats;
pub mod table;
pub mod video;

#[cfg(feature = "bench")]
pub mod bench;

pub use error::{DatasetError, Result};
pub use export::{BufferChoice, ExportOptions, ExportReport, export};
pub use import::{ImportOptions, ImportReport, Mapping, import};
pub use video::Codec;
