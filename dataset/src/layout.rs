//! The LeRobotDataset v3 folder: paths, `meta/info.json` and the features corrigo writes.
//!
//! ```text
//! meta/info.json                     codebase_version "v3.0", fps, features, path templates, totals
//! meta/stats.json                    per feature min/max/mean/std/count/q01…q99
//! meta/tasks.parquet                 task string (pandas index `task`) → task_index
//! meta/episodes/chunk-000/file-000.parquet   one row per episode: length, data and video locations
//! data/chunk-CCC/file-FFF.parquet    one row per frame, one row group per episode
//! videos/observation.images.<camera>/chunk-CCC/file-FFF.mp4   episodes one after the other
//! ```

use crate::video::Codec;
use agent::ObsSpec;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// `codebase_version` of the format written and read.
pub const CODEBASE_VERSION: &str = "v3.0";
/// Files per chunk folder.
pub const CHUNKS_SIZE: usize = 1000;
/// A data file is closed once it holds this many MB.
pub const DATA_FILES_SIZE_MB: usize = 100;
/// A video file is closed once it holds this many MB.
pub const VIDEO_FILES_SIZE_MB: usize = 200;
/// `data_path` template.
pub const DATA_PATH: &str = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
/// `video_path` template.
pub const VIDEO_PATH: &str = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4";

/// The proprio vector.
pub const STATE: &str = "observation.state";
/// The continuous action.
pub const ACTION: &str = "action";
/// Reward of the step.
pub const REWARD: &str = "next.reward";
/// Terminal flag of the step.
pub const DONE: &str = "next.done";
/// The episode was cut by its time limit after this step (corrigo: the learner still bootstraps).
pub const TRUNCATED: &str = "complementary_info.truncated";
/// The human executed this action.
pub const INTERVENTION: &str = "complementary_info.is_intervention";
/// Discrete gripper action: 0 close, 1 stay, 2 open.
pub const GRIPPER: &str = "complementary_info.gripper_action";
/// The gripper action changed the gripper's state.
pub const GRIPPER_CHANGED: &str = "complementary_info.gripper_changed";
/// The frame comes from the demo buffer (demonstrations and interventions).
pub const IS_DEMO: &str = "complementary_info.is_demo";
/// Monotonic time of the observation, ns.
pub const OBS_STAMP: &str = "complementary_info.obs_stamp_ns";
/// Monotonic time of the next observation, ns.
pub const NEXT_STAMP: &str = "complementary_info.next_stamp_ns";

/// The feature key of camera `name`.
pub fn camera_key(name: &str) -> String {
    format!("observation.images.{name}")
}

/// `(chunk, file)` of a data or video file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FileIndex {
    /// Chunk folder number.
    pub chunk: usize,
    /// File number within the chunk.
    pub file: usize,
}

impl FileIndex {
    /// The next file (a new chunk after [`CHUNKS_SIZE`] files).
    pub fn next(self) -> Self {
        if self.file + 1 >= CHUNKS_SIZE {
            Self { chunk: self.chunk + 1, file: 0 }
        } else {
            Self { file: self.file + 1, ..self }
        }
    }
}

/// `data/chunk-CCC/file-FFF.parquet` under `root`.
pub fn data_file(root: &Path, at: FileIndex) -> PathBuf {
    root.join(format!("data/chunk-{:03}/file-{:03}.parquet", at.chunk, at.file))
}

/// `videos/<key>/chunk-CCC/file-FFF.mp4` under `root`.
pub fn video_file(root: &Path, key: &str, at: FileIndex) -> PathBuf {
    root.join(format!("videos/{key}/chunk-{:03}/file-{:03}.mp4", at.chunk, at.file))
}

/// `meta/episodes/chunk-000/file-000.parquet` under `root`.
pub fn episodes_file(root: &Path) -> PathBuf {
    root.join("meta/episodes/chunk-000/file-000.parquet")
}

fn scalar(dtype: &str) -> Value {
    json!({"dtype": dtype, "shape": [1], "names": null})
}

/// Names of the proprio entries (the layout of `interfaces::env::layout`).
fn state_names(dim: usize) -> Value {
    let all = [
        "tcp_dx",
        "tcp_dy",
        "tcp_dz",
        "tcp_rx",
        "tcp_ry",
        "tcp_rz",
        "tcp_vx",
        "tcp_vy",
        "tcp_vz",
        "tcp_wx",
        "tcp_wy",
        "tcp_wz",
        "gripper_opening",
        "object_dx",
        "object_dy",
        "object_dz",
        "object_height",
    ];
    if dim <= all.len() { json!(all[..dim]) } else { json!((0..dim).map(|i| format!("state_{i}")).collect::<Vec<_>>()) }
}

fn action_names(dim: usize) -> Value {
    let all = ["dx", "dy", "dz", "rx", "ry", "rz"];
    if dim <= all.len() {
        json!(all[..dim])
    } else {
        json!((0..dim).map(|i| format!("action_{i}")).collect::<Vec<_>>())
    }
}

/// The `features` object of `meta/info.json` for a cell of `spec`.
pub fn features(spec: &ObsSpec, fps: u32, codec: Codec) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert(
        STATE.into(),
        json!({"dtype": "float32", "shape": [spec.proprio_dim], "names": state_names(spec.proprio_dim)}),
    );
    for cam in &spec.cameras {
        f.insert(
            camera_key(&cam.name),
            json!({
                "dtype": "video",
                "shape": [cam.height, cam.width, 3],
                "names": ["height", "width", "channels"],
                "info": {
                    "video.height": cam.height,
                    "video.width": cam.width,
                    "video.codec": codec.info_name(),
                    "video.pix_fmt": "yuv420p",
                    "video.is_depth_map": false,
                    "video.fps": fps,
                    "video.channels": 3,
                    "has_audio": false
                }
            }),
        );
    }
    f.insert(
        ACTION.into(),
        json!({"dtype": "float32", "shape": [spec.action_dim], "names": action_names(spec.action_dim)}),
    );
    f.insert(REWARD.into(), scalar("float32"));
    f.insert(DONE.into(), scalar("bool"));
    f.insert(TRUNCATED.into(), scalar("bool"));
    f.insert(INTERVENTION.into(), scalar("bool"));
    f.insert(GRIPPER.into(), scalar("int64"));
    f.insert(GRIPPER_CHANGED.into(), scalar("bool"));
    f.insert(IS_DEMO.into(), scalar("bool"));
    f.insert(OBS_STAMP.into(), scalar("int64"));
    f.insert(NEXT_STAMP.into(), scalar("int64"));
    f.insert("timestamp".into(), scalar("float32"));
    f.insert("frame_index".into(), scalar("int64"));
    f.insert("episode_index".into(), scalar("int64"));
    f.insert("index".into(), scalar("int64"));
    f.insert("task_index".into(), scalar("int64"));
    f
}

/// `meta/info.json`.
pub fn info(robot_type: &str, spec: &ObsSpec, fps: u32, codec: Codec, episodes: usize, frames: usize) -> Value {
    json!({
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": episodes,
        "total_frames": frames,
        "total_tasks": 1,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILES_SIZE_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_MB,
        "fps": fps,
        "splits": {"train": format!("0:{episodes}")},
        "data_path": DATA_PATH,
        "video_path": if spec.cameras.is_empty() { Value::Null } else { json!(VIDEO_PATH) },
        "features": Value::Object(features(spec, fps, codec)),
    })
}
