//! A run directory's episodes as a LeRobotDataset v3 folder.
//!
//! Each stored transition `(s, a, r, s', done)` is one frame: `observation.*` = `s`, `action` = `a`, `next.reward`
//! = `r`, `next.done` = `done`, as LeRobot records (the final `s'` of an episode is not a frame; on import the
//! last frame's observation stands in for it, LeRobot's convention). Episodes are the runs of one episode id in a
//! buffer, in store order. The folder is written under a hidden `.<name>.partial` sibling and renamed into place
//! when complete, `meta/info.json` last: an interrupted export never leaves a folder that looks complete.

use crate::error::{DatasetError, Result, io_err};
use crate::layout::{self, FileIndex};
use crate::progress::Progress;
use crate::stats::{ImageStats, NumericStats};
use crate::table::{Column, Columns, TableWriter, write_table};
use crate::video::{Codec, VideoWriter};
use agent::replay::{ReplayStore, Transition};
use interfaces::CellConfig;
use interfaces::config::TaskKind;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which buffer's episodes to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BufferChoice {
    /// Demonstrations and interventions (the demo buffer).
    Demo,
    /// The actor's episodes (the online buffer, interventions included).
    Online,
    /// Both: the online episodes, then the demo buffer's demonstrations (its intervention copies are skipped,
    /// since the online episodes hold them).
    #[default]
    All,
}

/// Settings of [`export`].
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Which buffer.
    pub buffer: BufferChoice,
    /// Which of the selected episodes (by position, end exclusive); all when `None`.
    pub episodes: Option<Range<usize>>,
    /// Video codec.
    pub codec: Codec,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    /// The dataset folder.
    pub out: PathBuf,
    /// Episodes written.
    pub episodes: usize,
    /// Frames written (rows of the data tables).
    pub frames: usize,
    /// Wall time, s.
    pub seconds: f64,
}

/// One episode to export: a run of transitions of one episode id in one buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeRef {
    /// From the demo buffer.
    pub demo: bool,
    /// Indices in that buffer.
    pub rows: Vec<usize>,
}

/// The task string of a cell (meta/tasks.parquet).
pub fn task_text(cfg: &CellConfig) -> String {
    match cfg.task.kind {
        TaskKind::Reach => "reach the target position".into(),
        TaskKind::PickCube => "pick up the cube".into(),
    }
}

/// The dataset's frame rate: the cell's policy rate (LeRobot wants a whole number).
pub fn fps_of(cfg: &CellConfig) -> u32 {
    cfg.task.policy_hz.round().max(1.0) as u32
}

/// Lists the episodes of `store` that `buffer` selects, in store order.
pub fn list_episodes(store: &ReplayStore, buffer: BufferChoice) -> Vec<EpisodeRef> {
    let mut out = Vec::new();
    let mut scan = |demo: bool, skip_interventions: bool| {
        let len = if demo { store.demo_len() } else { store.online_len() };
        let mut current: Option<(u64, EpisodeRef)> = None;
        for i in 0..len {
            let Some((episode, intervention)) = store.episode_of(demo, i) else { break };
            if skip_interventions && intervention {
                continue;
            }
            match &mut current {
                Some((id, ep)) if *id == episode => ep.rows.push(i),
                _ => {
                    if let Some((_, ep)) = current.take() {
                        out.push(ep);
                    }
                    current = Some((episode, EpisodeRef { demo, rows: vec![i] }));
                }
            }
        }
        if let Some((_, ep)) = current {
            out.push(ep);
        }
    };
    match buffer {
        BufferChoice::Demo => scan(true, false),
        BufferChoice::Online => scan(false, false),
        BufferChoice::All => {
            scan(false, false);
            scan(true, true);
        }
    }
    out
}

/// Parses an episode range: `N` (one episode), `A..B` (end exclusive), `A..` or `..B`.
pub fn parse_range(s: &str) -> std::result::Result<Range<usize>, String> {
    let num = |t: &str| t.trim().parse::<usize>().map_err(|_| format!("`{t}` is not an episode number"));
    if let Some((a, b)) = s.split_once("..") {
        let start = if a.is_empty() { 0 } else { num(a)? };
        let end = if b.is_empty() { usize::MAX } else { num(b)? };
        if end <= start {
            return Err(format!("episode range `{s}` is empty"));
        }
        Ok(start..end)
    } else {
        let n = num(s)?;
        let end = n.checked_add(1).ok_or_else(|| format!("episode {n} is past the last possible one"))?;
        Ok(n..end)
    }
}

/// Writes the episodes of the run directory `run_dir` (its store `run_dir/replay`, read only: safe beside a
/// running learner) to the new folder `out`.
///
/// Errors: `out` exists; the selection is empty; the store, a table or a video cannot be read or written.
pub fn export(cfg: &CellConfig, run_dir: &Path, out: &Path, opts: &ExportOptions) -> Result<ExportReport> {
    let t0 = Instant::now();
    if out.exists() {
        return Err(DatasetError::Usage(format!("{}: already exists; export into a new folder", out.display())));
    }
    let replay = run_dir.join("replay");
    if !replay.is_dir() {
        return Err(DatasetError::Usage(format!("{}: no replay store (is this a run directory?)", replay.display())));
    }
    let spec = interfaces::env::obs_spec(cfg);
    let store = ReplayStore::open_read_only(&replay, &spec)?;
    let mut episodes = list_episodes(&store, opts.buffer);
    let available = episodes.len();
    if let Some(r) = &opts.episodes {
        let end = r.end.min(available);
        episodes = if r.start < end { episodes[r.start..end].to_vec() } else { Vec::new() };
    }
    if episodes.is_empty() {
        return Err(DatasetError::Usage(format!(
            "{}: no episode to export ({available} in the selected buffer{})",
            run_dir.display(),
            opts.episodes.as_ref().map(|r| format!(", range {}..{}", r.start, r.end)).unwrap_or_default()
        )));
    }
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "dataset".into());
    let tmp = out.with_file_name(format!(".{name}.partial"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err("remove the unfinished export", &tmp))?;
    }
    let frames = Writer::new(cfg, &spec, &tmp, opts.codec)?.write_all(&store, &episodes, opts.progress)?;
    std::fs::rename(&tmp, out).map_err(io_err("rename into place", out))?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(ExportReport { out: out.to_path_buf(), episodes: episodes.len(), frames, seconds: t0.elapsed().as_secs_f64() })
}

/// The open data and video files and what is known of the episodes written.
struct Writer<'a> {
    cfg: &'a CellConfig,
    spec: &'a agent::ObsSpec,
    root: &'a Path,
    codec: Codec,
    fps: u32,
    data_at: FileIndex,
    data: Option<TableWriter>,
    video_at: Vec<FileIndex>,
    videos: Vec<Option<VideoWriter>>,
    cols: Columns,
    /// Statistics of each table column, in the order of `cols`.
    col_stats: Vec<NumericStats>,
    image_stats: Vec<ImageStats>,
    episodes: Columns,
    frames: usize,
}

impl<'a> Writer<'a> {
    fn new(cfg: &'a CellConfig, spec: &'a agent::ObsSpec, root: &'a Path, codec: Codec) -> Result<Self> {
        std::fs::create_dir_all(root.join("meta/episodes/chunk-000")).map_err(io_err("create", root))?;
        let mut cols = Columns::default();
        cols.add(layout::STATE, Column::F32Vec { dim: spec.proprio_dim, values: Vec::new() });
        cols.add(layout::ACTION, Column::F32Vec { dim: spec.action_dim, values: Vec::new() });
        cols.add(layout::REWARD, Column::F32(Vec::new()));
        cols.add(layout::DONE, Column::Bool(Vec::new()));
        cols.add(layout::TRUNCATED, Column::Bool(Vec::new()));
        cols.add(layout::INTERVENTION, Column::Bool(Vec::new()));
        cols.add(layout::GRIPPER, Column::I64(Vec::new()));
        cols.add(layout::GRIPPER_CHANGED, Column::Bool(Vec::new()));
        cols.add(layout::IS_DEMO, Column::Bool(Vec::new()));
        cols.add(layout::OBS_STAMP, Column::I64(Vec::new()));
        cols.add(layout::NEXT_STAMP, Column::I64(Vec::new()));
        cols.add("timestamp", Column::F32(Vec::new()));
        cols.add("frame_index", Column::I64(Vec::new()));
        cols.add("episode_index", Column::I64(Vec::new()));
        cols.add("index", Column::I64(Vec::new()));
        cols.add("task_index", Column::I64(Vec::new()));
        let mut episodes = Columns::default();
        episodes.add("episode_index", Column::I64(Vec::new()));
        episodes.add("tasks", Column::StrList(Vec::new()));
        episodes.add("length", Column::I64(Vec::new()));
        episodes.add("data/chunk_index", Column::I64(Vec::new()));
        episodes.add("data/file_index", Column::I64(Vec::new()));
        episodes.add("dataset_from_index", Column::I64(Vec::new()));
        episodes.add("dataset_to_index", Column::I64(Vec::new()));
        for cam in &spec.cameras {
            let key = layout::camera_key(&cam.name);
            episodes.add(format!("videos/{key}/chunk_index"), Column::I64(Vec::new()));
            episodes.add(format!("videos/{key}/file_index"), Column::I64(Vec::new()));
            episodes.add(format!("videos/{key}/from_timestamp"), Column::F64(Vec::new()));
            episodes.add(format!("videos/{key}/to_timestamp"), Column::F64(Vec::new()));
        }
        episodes.add("meta/episodes/chunk_index", Column::I64(Vec::new()));
        episodes.add("meta/episodes/file_index", Column::I64(Vec::new()));
        let col_stats = cols
            .cols
            .iter()
            .map(|(_, c)| NumericStats::new(if let Column::F32Vec { dim, .. } = c { *dim } else { 1 }))
            .collect();
        Ok(Self {
            cfg,
            spec,
            root,
            codec,
            fps: fps_of(cfg),
            data_at: FileIndex::default(),
            data: None,
            video_at: vec![FileIndex::default(); spec.cameras.len()],
            videos: spec.cameras.iter().map(|_| None).collect(),
            cols,
            col_stats,
            image_stats: vec![ImageStats::default(); spec.cameras.len()],
            episodes,
            frames: 0,
        })
    }

    fn write_all(mut self, store: &ReplayStore, episodes: &[EpisodeRef], progress: bool) -> Result<usize> {
        let total_frames: usize = episodes.iter().map(|e| e.rows.len()).sum();
        let mut bar = Progress::new("export", total_frames, progress);
        for (e, ep) in episodes.iter().enumerate() {
            let transitions: Vec<Transition> = ep
                .rows
                .iter()
                .map(|&i| {
                    store
                        .get(ep.demo, i)
                        .ok_or_else(|| DatasetError::Usage(format!("transition {i} vanished from the store")))
                })
                .collect::<Result<_>>()?;
            self.write_episode(e, ep.demo, &transitions)?;
            bar.set(self.frames);
        }
        bar.finish();
        if let Some(d) = self.data.take() {
            d.finish()?;
        }
        for v in self.videos.iter_mut() {
            if let Some(v) = v.take() {
                v.finish()?;
            }
        }
        self.write_meta(episodes.len())?;
        Ok(self.frames)
    }

    fn write_episode(&mut self, e: usize, demo: bool, ts: &[Transition]) -> Result<()> {
        // Data file: open (or roll over to) the file this episode goes to.
        let too_big = self.data.as_ref().is_some_and(|d| d.bytes_written() >= layout::DATA_FILES_SIZE_MB << 20);
        if too_big {
            if let Some(d) = self.data.take() {
                d.finish()?;
            }
            self.data_at = self.data_at.next();
        }
        if self.data.is_none() {
            let path = layout::data_file(self.root, self.data_at);
            mkdir_parent(&path)?;
            self.data = Some(TableWriter::create(&path, self.cols.schema(HashMap::new()))?);
        }
        self.cols.clear();
        let from = self.frames;
        for (k, t) in ts.iter().enumerate() {
            let index = (from + k) as i64;
            let timestamp = k as f32 / self.fps as f32;
            let gripper = i64::from(t.action.gripper.index());
            for (c, frame) in t.obs.images.iter().enumerate() {
                self.image_stats[c].push(frame);
            }
            for (name, col) in &mut self.cols.cols {
                match (name.as_str(), col) {
                    (layout::STATE, Column::F32Vec { values, .. }) => values.extend_from_slice(&t.obs.proprio),
                    (layout::ACTION, Column::F32Vec { values, .. }) => values.extend_from_slice(&t.action.continuous),
                    (layout::REWARD, Column::F32(v)) => v.push(t.reward),
                    ("timestamp", Column::F32(v)) => v.push(timestamp),
                    (layout::DONE, Column::Bool(v)) => v.push(t.done),
                    (layout::TRUNCATED, Column::Bool(v)) => v.push(t.truncated),
                    (layout::INTERVENTION, Column::Bool(v)) => v.push(t.intervention),
                    (layout::GRIPPER_CHANGED, Column::Bool(v)) => v.push(t.gripper_changed),
                    (layout::IS_DEMO, Column::Bool(v)) => v.push(demo),
                    (layout::GRIPPER, Column::I64(v)) => v.push(gripper),
                    (layout::OBS_STAMP, Column::I64(v)) => v.push(t.obs_stamp_ns as i64),
                    (layout::NEXT_STAMP, Column::I64(v)) => v.push(t.next_stamp_ns as i64),
                    ("frame_index", Column::I64(v)) => v.push(k as i64),
                    ("episode_index", Column::I64(v)) => v.push(e as i64),
                    ("index", Column::I64(v)) => v.push(index),
                    ("task_index", Column::I64(v)) => v.push(0),
                    _ => {}
                }
            }
        }
        if let Some(d) = self.data.as_mut() {
            d.write_row_group(&self.cols)?;
        }
        for ((_, col), stats) in self.cols.cols.iter().zip(&mut self.col_stats) {
            col.push_rows_to(stats);
        }
        // Videos: this episode's frames appended to each camera's current file.
        let mut video_meta = Vec::new();
        for (c, cam) in self.spec.cameras.iter().enumerate() {
            let key = layout::camera_key(&cam.name);
            let path = layout::video_file(self.root, &key, self.video_at[c]);
            let too_big = self.videos[c].is_some()
                && std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) >= (layout::VIDEO_FILES_SIZE_MB as u64) << 20;
            if too_big {
                if let Some(v) = self.videos[c].take() {
                    v.finish()?;
                }
                self.video_at[c] = self.video_at[c].next();
            }
            if self.videos[c].is_none() {
                let path = layout::video_file(self.root, &key, self.video_at[c]);
                mkdir_parent(&path)?;
                self.videos[c] = Some(VideoWriter::create(&path, cam.width, cam.height, self.fps, self.codec)?);
            }
            if let Some(v) = self.videos[c].as_mut() {
                let start = v.frames();
                for t in ts {
                    v.push(&t.obs.images[c])?;
                }
                let fps = f64::from(self.fps);
                video_meta.push((self.video_at[c], start as f64 / fps, v.frames() as f64 / fps));
            }
        }
        for (name, col) in &mut self.episodes.cols {
            let cam = |name: &str| -> Option<usize> {
                self.spec
                    .cameras
                    .iter()
                    .position(|c| name.starts_with(&format!("videos/{}/", layout::camera_key(&c.name))))
            };
            match (name.as_str(), col) {
                ("episode_index", Column::I64(v)) => v.push(e as i64),
                ("tasks", Column::StrList(v)) => v.push(vec![task_text(self.cfg)]),
                ("length", Column::I64(v)) => v.push(ts.len() as i64),
                ("data/chunk_index", Column::I64(v)) => v.push(self.data_at.chunk as i64),
                ("data/file_index", Column::I64(v)) => v.push(self.data_at.file as i64),
                ("dataset_from_index", Column::I64(v)) => v.push(from as i64),
                ("dataset_to_index", Column::I64(v)) => v.push((from + ts.len()) as i64),
                ("meta/episodes/chunk_index", Column::I64(v)) | ("meta/episodes/file_index", Column::I64(v)) => {
                    v.push(0)
                }
                (n, Column::I64(v)) if n.ends_with("/chunk_index") => {
                    if let Some(c) = cam(n) {
                        v.push(video_meta[c].0.chunk as i64);
                    }
                }
                (n, Column::I64(v)) if n.ends_with("/file_index") => {
                    if let Some(c) = cam(n) {
                        v.push(video_meta[c].0.file as i64);
                    }
                }
                (n, Column::F64(v)) if n.ends_with("/from_timestamp") => {
                    if let Some(c) = cam(n) {
                        v.push(video_meta[c].1);
                    }
                }
                (n, Column::F64(v)) if n.ends_with("/to_timestamp") => {
                    if let Some(c) = cam(n) {
                        v.push(video_meta[c].2);
                    }
                }
                _ => {}
            }
        }
        self.frames += ts.len();
        Ok(())
    }

    fn write_meta(&self, episodes: usize) -> Result<()> {
        let meta = self.root.join("meta");
        write_table(&layout::episodes_file(self.root), &self.episodes, HashMap::new())?;
        // meta/tasks.parquet: pandas' layout (the task string as the frame's index).
        let mut tasks = Columns::default();
        tasks.add("task_index", Column::I64(vec![0]));
        tasks.add("task", Column::Str(vec![task_text(self.cfg)]));
        let pandas = json!({
            "index_columns": ["task"],
            "column_indexes": [
                {"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}
            ],
            "columns": [
                {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64", "metadata": null},
                {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object", "metadata": null}
            ],
            "creator": {"library": "corrigo", "version": env!("CARGO_PKG_VERSION")},
            "pandas_version": "2.2.0"
        });
        write_table(&meta.join("tasks.parquet"), &tasks, HashMap::from([("pandas".to_string(), pandas.to_string())]))?;
        let mut stats = Map::new();
        for ((name, _), s) in self.cols.cols.iter().zip(&self.col_stats) {
            stats.insert(name.clone(), s.to_json());
        }
        for (c, cam) in self.spec.cameras.iter().enumerate() {
            stats.insert(layout::camera_key(&cam.name), self.image_stats[c].to_json());
        }
        write_json(&meta.join("stats.json"), &Value::Object(stats))?;
        let info = layout::info(&self.cfg.robot.model, self.spec, self.fps, self.codec, episodes, self.frames);
        write_json(&meta.join("info.json"), &info)
    }
}

fn mkdir_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(p) => std::fs::create_dir_all(p).map_err(io_err("create", p)),
        None => Ok(()),
    }
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let text =
        serde_json::to_string_pretty(v).map_err(|e| DatasetError::Meta { file: path.into(), what: e.to_string() })?;
    std::fs::write(path, text).map_err(io_err("write", path))?;
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(io_err("sync", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episode_ranges_parse() {
        assert_eq!(parse_range("3"), Ok(3..4));
        assert_eq!(parse_range("2..5"), Ok(2..5));
        assert_eq!(parse_range("..5"), Ok(0..5));
        assert_eq!(parse_range("7.."), Ok(7..usize::MAX));
        assert!(parse_range("5..2").is_err());
        assert!(parse_range("x").is_err());
    }

    /// `usize::MAX` as one episode has no end: refused, not an overflow.
    #[test]
    fn the_last_usize_as_an_episode_is_refused() {
        assert!(parse_range(&usize::MAX.to_string()).is_err());
    }
}
