//! A LeRobotDataset v3 folder into a run directory's replay store, so a learner starts from demonstrations
//! recorded with other tools (LeRobot's teleoperation, gym-hil) or exported by corrigo.
//!
//! Frame `k` of an episode of `n` frames becomes the transition `(s_k, a_k, r_k, s_{k+1}, done_k)`; the last one's
//! `s'` is its own observation (LeRobot's convention: it is terminal, so the learner does not bootstrap from it).
//! Columns corrigo does not find take neutral values: `next.reward` 0, `next.done` true on the last frame only,
//! the `complementary_info.*` flags false, the gripper action "stay", stamps from `timestamp`.
//!
//! Trust: a dataset is input from outside, `meta/info.json` included. Every file the import reads (the metadata,
//! the episodes tables, the files `data_path` and `video_path` name) must resolve to a regular file under the
//! dataset's root: absolute paths, `..`, symbolic links that lead out and anything that is not a regular file (a
//! FIFO, a device) are refused before they are read, naming the file. Values are checked where they are read:
//! nulls, non-finite numbers, negative or fractional indices, lengths and stamps are refused naming the file,
//! row and column. Episodes are streamed: a data table is read one batch at a time, frames one at a time, and
//! the rows of an episode must be contiguous and in frame order (as LeRobot writes them).

use crate::error::{DatasetError, Result, io_err};
use crate::layout::{self, FileIndex};
use crate::progress::Progress;
use crate::table;
use crate::video::VideoReader;
use agent::replay::{Action, GripperAction, Observation, ReplayStore, StoreOptions, Transition};
use interfaces::CellConfig;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which columns of the dataset feed the cell's observation and action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The proprio vector's feature (default `observation.state`).
    pub state: String,
    /// The continuous action's feature (default `action`).
    pub action: String,
    /// `(cell camera, feature)`; cameras not listed read `observation.images.<camera>`.
    pub cameras: Vec<(String, String)>,
}

impl Default for Mapping {
    fn default() -> Self {
        Self { state: layout::STATE.into(), action: layout::ACTION.into(), cameras: Vec::new() }
    }
}

impl Mapping {
    /// Applies one `KEY=COLUMN` item of the command line: `state=…`, `action=…` or `camera.<name>=…`.
    pub fn set(&mut self, item: &str) -> std::result::Result<(), String> {
        let (k, v) = item.split_once('=').ok_or_else(|| format!("`{item}`: expected KEY=COLUMN"))?;
        match k {
            "state" => self.state = v.into(),
            "action" => self.action = v.into(),
            _ => match k.strip_prefix("camera.") {
                Some(cam) if !cam.is_empty() => {
                    self.cameras.retain(|(c, _)| c != cam);
                    self.cameras.push((cam.into(), v.into()));
                }
                _ => return Err(format!("`{k}`: the keys are state, action and camera.<name>")),
            },
        }
        Ok(())
    }

    /// The feature feeding camera `name`.
    pub fn camera(&self, name: &str) -> String {
        self.cameras.iter().find(|(c, _)| c == name).map(|(_, f)| f.clone()).unwrap_or_else(|| layout::camera_key(name))
    }
}

/// Settings of [`import`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Into the demo buffer (`true`, the default) or the online buffer.
    pub as_demo: bool,
    /// Column mapping.
    pub mapping: Mapping,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// What [`import`] stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    /// Episodes stored.
    pub episodes: usize,
    /// Transitions stored.
    pub transitions: usize,
    /// Wall time, s.
    pub seconds: f64,
}

/// How a camera's frames are stored in the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameSource {
    Video,
    Image,
}

/// One row of `meta/episodes`.
#[derive(Debug, Clone)]
struct EpisodeMeta {
    index: u64,
    length: usize,
    data: FileIndex,
    /// Per cell camera: file and first frame's time in it.
    videos: Vec<(FileIndex, f64)>,
}

fn meta_err(file: &Path, what: impl Into<String>) -> DatasetError {
    DatasetError::Meta { file: file.to_path_buf(), what: what.into() }
}

fn col_err(file: &Path, column: &str, what: impl Into<String>) -> DatasetError {
    DatasetError::Column { file: file.to_path_buf(), column: column.into(), what: what.into() }
}

fn shape_of(features: &serde_json::Map<String, Value>, key: &str) -> Option<Vec<usize>> {
    features.get(key)?.get("shape")?.as_array()?.iter().map(|v| v.as_u64().map(|n| n as usize)).collect()
}

/// The dataset's root directory, and the files under it that the import may read.
struct Root {
    /// As given (errors name files under it).
    given: PathBuf,
    /// Canonical (every file must resolve under it).
    real: PathBuf,
}

/// A file under the dataset root: its path as named (for errors) and its canonical path (to open).
struct Located {
    shown: PathBuf,
    real: PathBuf,
}

impl Root {
    fn new(root: &Path) -> Result<Self> {
        let real = root.canonicalize().map_err(io_err("open the dataset", root))?;
        if !real.is_dir() {
            return Err(meta_err(root, "not a directory"));
        }
        Ok(Self { given: root.to_path_buf(), real })
    }

    /// `rel` as a regular file under the root. `origin` says where the path came from (errors name it, e.g.
    /// "`data_path` of meta/info.json"). Refused: an absolute path or one with `..`, a path that resolves (through
    /// symbolic links) outside the root, anything but a regular file; checked without opening the file.
    fn file(&self, rel: &Path, origin: &str) -> Result<Located> {
        use std::path::Component;
        let shown = self.given.join(rel);
        if rel.as_os_str().is_empty()
            || !rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(meta_err(
                &shown,
                format!("{origin} names `{}`, which is not a relative path inside the dataset: refused", rel.display()),
            ));
        }
        let real = self.real.join(rel).canonicalize().map_err(io_err("open", &shown))?;
        if !real.starts_with(&self.real) {
            return Err(meta_err(
                &shown,
                format!(
                    "{origin}: leads to {} (through a symbolic link), outside the dataset root {}: refused",
                    real.display(),
                    self.real.display()
                ),
            ));
        }
        let md = std::fs::metadata(&real).map_err(io_err("open", &shown))?;
        if !md.is_file() {
            return Err(meta_err(
                &shown,
                format!("{origin}: not a regular file (a directory, FIFO, device or socket): refused unread"),
            ));
        }
        Ok(Located { shown, real })
    }
}

impl Located {
    /// Opens the file for reading, refusing (without blocking) anything that became something else than a
    /// regular file since it was checked.
    fn open(&self) -> Result<std::fs::File> {
        agent::disk::open_regular(&self.real).map_err(io_err("open", &self.shown))
    }
}

/// Reads the dataset `root` into the store of the run directory `run_dir` (created when missing).
///
/// Errors name the file and column: a feature missing or of the wrong shape for the cell (e.g. a 6-value state for
/// a 13-value proprio), an unsupported `codebase_version`, a video of another size than the cell's camera, a path
/// that leads out of the dataset or to something else than a regular file, a null, non-finite or negative value
/// (naming its row). Everything is checked before the run directory is touched: a refused dataset leaves it as it
/// was.
pub fn import(cfg: &CellConfig, root: &Path, run_dir: &Path, opts: &ImportOptions) -> Result<ImportReport> {
    let t0 = Instant::now();
    let spec = interfaces::env::obs_spec(cfg);
    let root = Root::new(root)?;
    let info_file = root.file(Path::new("meta/info.json"), "the dataset's metadata")?;
    let info_path = info_file.shown.clone();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut info_file.open()?, &mut text).map_err(io_err("read", &info_path))?;
    let info: Value = serde_json::from_str(&text).map_err(|e| meta_err(&info_path, format!("not JSON: {e}")))?;
    let version = info["codebase_version"].as_str().unwrap_or("");
    if !version.starts_with("v3") {
        return Err(meta_err(
            &info_path,
            format!(
                "codebase_version `{version}`: corrigo reads LeRobotDataset v3 (convert older ones with LeRobot's converter)"
            ),
        ));
    }
    let fps = info["fps"]
        .as_f64()
        .filter(|f| f.is_finite() && *f > 0.0)
        .ok_or_else(|| meta_err(&info_path, "no positive `fps`"))?;
    let features = info["features"].as_object().ok_or_else(|| meta_err(&info_path, "no `features` object"))?;
    let map = &opts.mapping;
    // The features the cell needs, with their shapes.
    let want = |key: &str, dim: usize, what: &str| -> Result<()> {
        match shape_of(features, key) {
            None => Err(col_err(
                &info_path,
                key,
                format!("missing: the cell's {what} needs it (map another column with --map)"),
            )),
            Some(s) if s.iter().try_fold(1usize, |a, &b| a.checked_mul(b)) != Some(dim) => Err(col_err(
                &info_path,
                key,
                format!("has shape {s:?}; the cell `{}` expects {dim} values ({what})", cfg.cell.name),
            )),
            Some(_) => Ok(()),
        }
    };
    want(&map.state, spec.proprio_dim, "proprio")?;
    want(&map.action, spec.action_dim, "continuous action")?;
    let mut sources = Vec::new();
    for cam in &spec.cameras {
        let key = map.camera(&cam.name);
        let f = features.get(&key).ok_or_else(|| {
            col_err(
                &info_path,
                &key,
                format!(
                    "missing: the cell's camera `{}` needs it (map one with --map camera.{}=COLUMN)",
                    cam.name, cam.name
                ),
            )
        })?;
        let src = match f["dtype"].as_str() {
            Some("video") => FrameSource::Video,
            Some("image") => FrameSource::Image,
            other => return Err(col_err(&info_path, &key, format!("dtype {other:?}: expected video or image"))),
        };
        let shape = shape_of(features, &key).unwrap_or_default();
        let names: Vec<&str> =
            f["names"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let (h, w) = if names.first() == Some(&"channels") && shape.len() == 3 {
            (shape[1], shape[2])
        } else {
            (shape.first().copied().unwrap_or(0), shape.get(1).copied().unwrap_or(0))
        };
        if (h, w) != (cam.height, cam.width) {
            return Err(col_err(
                &info_path,
                &key,
                format!(
                    "frames are {h}×{w} (height×width); the cell's camera `{}` is {}×{}",
                    cam.name, cam.height, cam.width
                ),
            ));
        }
        sources.push((key, src));
    }
    let template = |key: &str, default: &str| -> Result<String> {
        match &info[key] {
            Value::Null => Ok(default.to_string()),
            Value::String(s) => Ok(s.clone()),
            other => Err(meta_err(&info_path, format!("`{key}` is {other}, expected a path template"))),
        }
    };
    let data_tpl = template("data_path", layout::DATA_PATH)?;
    let video_tpl = template("video_path", layout::VIDEO_PATH)?;
    let episodes = read_episodes(&root, &sources)?;
    let total = episodes.iter().fold(0usize, |a, e| a.saturating_add(e.length));
    let data_of = |at: FileIndex| root.file(&fill(&data_tpl, "", at), "`data_path` of meta/info.json");
    let video_of = |key: &str, at: FileIndex| root.file(&fill(&video_tpl, key, at), "`video_path` of meta/info.json");

    // The episodes of each data file, in index order.
    let mut by_file: BTreeMap<FileIndex, BTreeMap<u64, &EpisodeMeta>> = BTreeMap::new();
    for ep in &episodes {
        by_file.entry(ep.data).or_default().insert(ep.index, ep);
    }
    // Everything the episodes need is checked before the run directory is touched: a missing, misplaced or
    // truncated file, a column that does not fit or a value that is refused leaves it as it was. The tables are
    // streamed (their frames are not read here).
    for (&at, eps) in &by_file {
        check_data_file(&data_of(at)?, map, &spec, eps)?;
    }
    let mut probed = std::collections::BTreeSet::new();
    for ep in &episodes {
        for (c, (key, src)) in sources.iter().enumerate() {
            if *src == FrameSource::Video && probed.insert((c, ep.videos[c].0)) {
                let cam = &spec.cameras[c];
                VideoReader::open(&video_of(key, ep.videos[c].0)?.real, cam.width, cam.height)?;
            }
        }
    }
    let mut store = ReplayStore::open(run_dir.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent))?;
    let base = next_episode_id(&store)?;
    let mut bar = Progress::new("import", total, opts.progress);
    let mut w = EpisodeWriter {
        store: &mut store,
        as_demo: opts.as_demo,
        base,
        stored: 0,
        readers: sources.iter().map(|_| None).collect(),
        pending: None,
        frame: Vec::new(),
    };
    for (&at, eps) in &by_file {
        let data = data_of(at)?;
        let mut columns: Vec<&str> = vec!["episode_index", "frame_index", "timestamp", &map.state, &map.action];
        columns.extend(OPTIONAL_COLUMNS);
        columns.extend(sources.iter().map(|(k, _)| k.as_str()));
        let mut first_row = 0usize;
        let mut current: Option<(u64, usize)> = None;
        for batch in table::batches(data.open()?, &data.shown, Some(columns.as_slice()), STREAM_ROWS)? {
            let batch = batch?;
            let rows = DataBatch::read(&batch, &data.shown, first_row, map, &spec, &sources)?;
            for r in 0..batch.num_rows() {
                let e = rows.episode[r];
                let Some(ep) = eps.get(&e) else {
                    w.end_episode()?;
                    current = None;
                    continue;
                };
                let k = match current {
                    Some((ce, k)) if ce == e => k + 1,
                    _ => {
                        w.end_episode()?;
                        0
                    }
                };
                current = Some((e, k));
                let mut images = Vec::with_capacity(sources.len());
                for (c, (key, src)) in sources.iter().enumerate() {
                    let cam = &spec.cameras[c];
                    images.push(match src {
                        FrameSource::Image => decode_image(&rows.images[c][r], cam, &data.shown, key, first_row + r)?,
                        FrameSource::Video => {
                            let (vat, from_ts) = ep.videos[c];
                            // Located (checked) when the episode starts in it.
                            let video = if k == 0 { Some(video_of(key, vat)?) } else { None };
                            w.video_frame(c, video.as_ref(), vat, from_ts, fps, k, ep.index, cam)?
                        }
                    });
                }
                w.push(&rows, r, ep.index, images, &spec)?;
                bar.set(w.stored);
            }
            first_row += batch.num_rows();
        }
        w.end_episode()?;
    }
    let stored = w.stored;
    drop(w);
    store.flush()?;
    bar.finish();
    Ok(ImportReport { episodes: episodes.len(), transitions: stored, seconds: t0.elapsed().as_secs_f64() })
}

/// Rows of a data table read at a time while importing (frames included).
const STREAM_ROWS: usize = 256;

/// Columns read when present.
const OPTIONAL_COLUMNS: [&str; 8] = [
    layout::REWARD,
    layout::DONE,
    layout::TRUNCATED,
    layout::INTERVENTION,
    layout::GRIPPER,
    layout::GRIPPER_CHANGED,
    layout::OBS_STAMP,
    layout::NEXT_STAMP,
];

/// Decodes one stored image of camera `cam` (refused when it is not exactly the camera's size; the decoder is
/// limited to that size, so a small file claiming a huge image is not expanded).
fn decode_image(
    bytes: &[u8],
    cam: &interfaces::env::CameraSpec,
    file: &Path,
    key: &str,
    row: usize,
) -> Result<Vec<u8>> {
    let bad = |what: String| col_err(file, key, format!("row {row}: {what}"));
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(format!("undecodable image: {e}")))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(cam.width as u32);
    limits.max_image_height = Some(cam.height as u32);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| bad(format!("undecodable image (the camera is {}×{}): {e}", cam.height, cam.width)))?
        .to_rgb8();
    if (img.height() as usize, img.width() as usize) != (cam.height, cam.width) {
        return Err(bad(format!("image is {}×{}, the camera {}×{}", img.height(), img.width(), cam.height, cam.width)));
    }
    Ok(img.into_raw())
}

/// One row waiting for the next one of its episode (its `s'`).
struct PendingRow {
    obs: Observation,
    action: Action,
    reward: f32,
    done: Option<bool>,
    truncated: bool,
    intervention: bool,
    gripper_changed: bool,
    episode: u64,
    obs_stamp_ns: u64,
    next_stamp_ns: Option<u64>,
    /// The row's `timestamp`, ns: the last row's `s'` stamp when the table has no next stamps.
    time_ns: u64,
}

/// Appends the transitions of streamed rows: each row waits for the next row of its episode, whose observation is
/// its `s'`; the last row of an episode is its own `s'` and done (unless the table says otherwise).
struct EpisodeWriter<'a> {
    store: &'a mut ReplayStore,
    as_demo: bool,
    base: u64,
    stored: usize,
    /// Per camera: the open video (its file) and its reader.
    readers: Vec<Option<(FileIndex, VideoReader)>>,
    pending: Option<PendingRow>,
    frame: Vec<u8>,
}

impl EpisodeWriter<'_> {
    /// Frame `k` of episode `index` of camera `c`, from its video (`from_ts` s into the file `at`, which `video`
    /// locates on the episode's first frame).
    #[allow(clippy::too_many_arguments)]
    fn video_frame(
        &mut self,
        c: usize,
        video: Option<&Located>,
        at: FileIndex,
        from_ts: f64,
        fps: f64,
        k: usize,
        index: u64,
        cam: &interfaces::env::CameraSpec,
    ) -> Result<Vec<u8>> {
        if let Some(video) = video {
            let first = (from_ts * fps).round() as usize;
            let reopen = match &self.readers[c] {
                Some((a, r)) => *a != at || r.next_index() > first,
                None => true,
            };
            if reopen {
                self.readers[c] = Some((at, VideoReader::open(&video.real, cam.width, cam.height)?));
            }
            if let Some((_, reader)) = self.readers[c].as_mut() {
                while reader.next_index() < first {
                    if !reader.next_frame(&mut self.frame)? {
                        break;
                    }
                }
            }
        }
        let Some((_, reader)) = self.readers[c].as_mut() else {
            return Err(DatasetError::Usage(format!("episode {index}: frame {k} before its video was opened")));
        };
        if !reader.next_frame(&mut self.frame)? {
            return Err(DatasetError::Video {
                file: reader.path().to_path_buf(),
                what: format!("ends before frame {k} of episode {index} (from {from_ts} s)"),
            });
        }
        Ok(self.frame.clone())
    }

    /// Row `r` of `rows` (episode `index`, its frames `images`): completes the pending row of the same episode.
    fn push(
        &mut self,
        rows: &DataBatch,
        r: usize,
        index: u64,
        images: Vec<Vec<u8>>,
        spec: &agent::ObsSpec,
    ) -> Result<()> {
        let (p, a) = (spec.proprio_dim, spec.action_dim);
        let obs = Observation { proprio: rows.state[r * p..(r + 1) * p].to_vec(), images };
        let stamp = (rows.timestamp[r] * 1e9) as u64;
        if let Some(prev) = self.pending.take() {
            let next_stamp = prev.next_stamp_ns.unwrap_or(stamp);
            self.append(prev, obs.clone(), next_stamp, false)?;
        }
        let episode = self.base.checked_add(index).ok_or_else(|| {
            DatasetError::Usage(format!("episode {index}: no episode id after the run directory's {}", self.base))
        })?;
        self.pending = Some(PendingRow {
            obs,
            action: Action {
                continuous: rows.action[r * a..(r + 1) * a].to_vec(),
                gripper: rows
                    .gripper
                    .as_ref()
                    .and_then(|g| GripperAction::from_index(g[r].clamp(0, 255) as u8))
                    .unwrap_or_default(),
            },
            reward: rows.reward.as_ref().map_or(0.0, |v| v[r]),
            done: rows.done.as_ref().map(|v| v[r]),
            truncated: rows.truncated.as_ref().is_some_and(|v| v[r]),
            intervention: rows.intervention.as_ref().is_some_and(|v| v[r]),
            gripper_changed: rows.gripper_changed.as_ref().is_some_and(|v| v[r]),
            episode,
            obs_stamp_ns: rows.obs_stamp.as_ref().map_or(stamp, |v| v[r]),
            next_stamp_ns: rows.next_stamp.as_ref().map(|v| v[r]),
            time_ns: stamp,
        });
        Ok(())
    }

    /// Ends the current episode: its last row becomes a transition to its own observation.
    fn end_episode(&mut self) -> Result<()> {
        if let Some(prev) = self.pending.take() {
            let next_obs = prev.obs.clone();
            let next_stamp = prev.next_stamp_ns.unwrap_or(prev.time_ns);
            self.append(prev, next_obs, next_stamp, true)?;
        }
        Ok(())
    }

    fn append(&mut self, row: PendingRow, next_obs: Observation, next_stamp_ns: u64, last: bool) -> Result<()> {
        let t = Transition {
            obs: row.obs,
            action: row.action,
            reward: row.reward,
            next_obs,
            done: row.done.unwrap_or(last),
            truncated: row.truncated,
            intervention: row.intervention,
            gripper_changed: row.gripper_changed,
            episode: row.episode,
            obs_stamp_ns: row.obs_stamp_ns,
            next_stamp_ns,
        };
        if self.as_demo {
            self.store.append_demo(&t)?
        } else {
            self.store.append(&t)?
        }
        self.stored += 1;
        Ok(())
    }
}

/// The first episode id after every id in the store (imported episodes never merge with stored ones). Refused
/// when the store already holds the id `u64::MAX` (no id comes after it).
fn next_episode_id(store: &ReplayStore) -> Result<u64> {
    let mut max = None::<u64>;
    for demo in [false, true] {
        let len = if demo { store.demo_len() } else { store.online_len() };
        for i in 0..len {
            if let Some((e, _)) = store.episode_of(demo, i) {
                max = Some(max.map_or(e, |m| m.max(e)));
            }
        }
    }
    match max {
        None => Ok(0),
        Some(m) => m.checked_add(1).ok_or_else(|| {
            DatasetError::Usage(format!(
                "{}: the replay store holds episode id {m}: no id is left for imported episodes",
                store.dir().display()
            ))
        }),
    }
}

/// Fills a LeRobot path template (`{video_key}`, `{chunk_index:03d}`, `{file_index:03d}`).
fn fill(tpl: &str, video_key: &str, at: FileIndex) -> PathBuf {
    PathBuf::from(
        tpl.replace("{video_key}", video_key)
            .replace("{chunk_index:03d}", &format!("{:03}", at.chunk))
            .replace("{file_index:03d}", &format!("{:03}", at.file)),
    )
}

fn read_episodes(root: &Root, sources: &[(String, FrameSource)]) -> Result<Vec<EpisodeMeta>> {
    let rel_dir = Path::new("meta/episodes");
    let dir = root.real.join(rel_dir);
    let shown_dir = root.given.join(rel_dir);
    let mut files = Vec::new();
    for chunk in std::fs::read_dir(&dir).map_err(io_err("list", &shown_dir))? {
        let chunk = chunk.map_err(io_err("list", &shown_dir))?;
        let chunk_rel = rel_dir.join(chunk.file_name());
        if chunk.file_type().map_err(io_err("list", &shown_dir))?.is_dir() {
            let chunk_dir = root.real.join(&chunk_rel);
            for f in std::fs::read_dir(&chunk_dir).map_err(io_err("list", &root.given.join(&chunk_rel)))? {
                let f = f.map_err(io_err("list", &root.given.join(&chunk_rel)))?;
                let rel = chunk_rel.join(f.file_name());
                if rel.extension().is_some_and(|e| e == "parquet") {
                    files.push(rel);
                }
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(meta_err(&shown_dir, "no episodes table (meta/episodes/chunk-*/file-*.parquet)"));
    }
    let mut out: BTreeMap<u64, EpisodeMeta> = BTreeMap::new();
    for rel in &files {
        let file = root.file(rel, "the episodes table")?;
        let path = &file.shown;
        let mut first_row = 0usize;
        for batch in table::batches(file.open()?, path, None, 8192)? {
            let batch = batch?;
            let idx = table::read_index(&batch, path, first_row, "episode_index")?;
            let len = table::read_index(&batch, path, first_row, "length")?;
            let dc = table::read_index(&batch, path, first_row, "data/chunk_index")?;
            let df = table::read_index(&batch, path, first_row, "data/file_index")?;
            let mut vids = Vec::new();
            for (key, src) in sources {
                if *src == FrameSource::Video {
                    let from = format!("videos/{key}/from_timestamp");
                    let t = table::read_f64(&batch, path, first_row, &from)?;
                    if let Some(r) = t.iter().position(|t| *t < 0.0) {
                        return Err(col_err(path, &from, format!("row {}: {} is negative", first_row + r, t[r])));
                    }
                    vids.push(Some((
                        table::read_index(&batch, path, first_row, &format!("videos/{key}/chunk_index"))?,
                        table::read_index(&batch, path, first_row, &format!("videos/{key}/file_index"))?,
                        t,
                    )));
                } else {
                    vids.push(None);
                }
            }
            let at = |c: u64, f: u64| FileIndex { chunk: c as usize, file: f as usize };
            for r in 0..batch.num_rows() {
                let videos = vids
                    .iter()
                    .map(|v| match v {
                        Some((c, f, t)) => (at(c[r], f[r]), t[r]),
                        None => (FileIndex::default(), 0.0),
                    })
                    .collect();
                let meta = EpisodeMeta { index: idx[r], length: len[r] as usize, data: at(dc[r], df[r]), videos };
                if out.insert(idx[r], meta).is_some() {
                    return Err(col_err(
                        path,
                        "episode_index",
                        format!("row {}: episode {} is listed twice", first_row + r, idx[r]),
                    ));
                }
            }
            first_row += batch.num_rows();
        }
    }
    Ok(out.into_values().collect())
}

/// The columns of one batch of a data file that the import uses, row-aligned, every value checked.
struct DataBatch {
    episode: Vec<u64>,
    frame_index: Vec<u64>,
    timestamp: Vec<f64>,
    state: Vec<f32>,
    action: Vec<f32>,
    reward: Option<Vec<f32>>,
    done: Option<Vec<bool>>,
    truncated: Option<Vec<bool>>,
    intervention: Option<Vec<bool>>,
    gripper: Option<Vec<i64>>,
    gripper_changed: Option<Vec<bool>>,
    obs_stamp: Option<Vec<u64>>,
    next_stamp: Option<Vec<u64>>,
    /// Encoded image bytes of each image-feature camera (empty for video cameras), row-aligned.
    images: Vec<Vec<Vec<u8>>>,
}

impl DataBatch {
    /// Reads and checks the columns of `batch` (rows from `first_row` in `path`). Refused, naming the row: a
    /// null, a value that is not finite, a negative index or stamp or time.
    fn read(
        batch: &arrow_array::RecordBatch,
        path: &Path,
        first_row: usize,
        map: &Mapping,
        spec: &agent::ObsSpec,
        sources: &[(String, FrameSource)],
    ) -> Result<Self> {
        let opt_bool = |name: &str| -> Result<Option<Vec<bool>>> {
            if table::has(batch, name) { table::read_bool(batch, path, first_row, name).map(Some) } else { Ok(None) }
        };
        let opt_index = |name: &str| -> Result<Option<Vec<u64>>> {
            if table::has(batch, name) { table::read_index(batch, path, first_row, name).map(Some) } else { Ok(None) }
        };
        let timestamp = table::read_f64(batch, path, first_row, "timestamp")?;
        if let Some(r) = timestamp.iter().position(|t| *t < 0.0) {
            return Err(col_err(path, "timestamp", format!("row {}: {} is negative", first_row + r, timestamp[r])));
        }
        let mut images = vec![Vec::new(); spec.cameras.len()];
        for (c, (key, src)) in sources.iter().enumerate() {
            if *src == FrameSource::Image {
                images[c] = table::read_image_bytes(batch, path, first_row, key)?;
            }
        }
        Ok(Self {
            episode: table::read_index(batch, path, first_row, "episode_index")?,
            frame_index: table::read_index(batch, path, first_row, "frame_index")?,
            timestamp,
            state: table::read_f32_vec(batch, path, first_row, &map.state, spec.proprio_dim)?,
            action: table::read_f32_vec(batch, path, first_row, &map.action, spec.action_dim)?,
            reward: if table::has(batch, layout::REWARD) {
                Some(table::read_f32(batch, path, first_row, layout::REWARD)?)
            } else {
                None
            },
            done: opt_bool(layout::DONE)?,
            truncated: opt_bool(layout::TRUNCATED)?,
            intervention: opt_bool(layout::INTERVENTION)?,
            gripper: if table::has(batch, layout::GRIPPER) {
                Some(table::read_i64(batch, path, first_row, layout::GRIPPER)?)
            } else {
                None
            },
            gripper_changed: opt_bool(layout::GRIPPER_CHANGED)?,
            obs_stamp: opt_index(layout::OBS_STAMP)?,
            next_stamp: opt_index(layout::NEXT_STAMP)?,
            images,
        })
    }
}

/// Checks a data file before anything is written, streaming it without its frames: every column the import uses
/// (values as [`DataBatch::read`] checks them), the rows of each episode of `eps` contiguous and in increasing
/// `frame_index`, and as many as `meta/episodes` says.
fn check_data_file(
    file: &Located,
    map: &Mapping,
    spec: &agent::ObsSpec,
    eps: &BTreeMap<u64, &EpisodeMeta>,
) -> Result<()> {
    let path = &file.shown;
    let mut columns: Vec<&str> = vec!["episode_index", "frame_index", "timestamp", &map.state, &map.action];
    columns.extend(OPTIONAL_COLUMNS);
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    let mut current: Option<(u64, u64)> = None;
    let mut first_row = 0usize;
    for batch in table::batches(file.open()?, path, Some(columns.as_slice()), 8192)? {
        let batch = batch?;
        let rows = DataBatch::read(&batch, path, first_row, map, spec, &[])?;
        for r in 0..batch.num_rows() {
            let (e, f) = (rows.episode[r], rows.frame_index[r]);
            match current {
                Some((ce, cf)) if ce == e => {
                    if f <= cf {
                        return Err(col_err(
                            path,
                            "frame_index",
                            format!(
                                "row {}: frame {f} of episode {e} after frame {cf}: rows out of order",
                                first_row + r
                            ),
                        ));
                    }
                }
                _ => {
                    if counts.contains_key(&e) && eps.contains_key(&e) {
                        return Err(col_err(
                            path,
                            "episode_index",
                            format!("row {}: the rows of episode {e} are not contiguous", first_row + r),
                        ));
                    }
                }
            }
            current = Some((e, f));
            *counts.entry(e).or_insert(0) += 1;
        }
        first_row += batch.num_rows();
    }
    for (e, ep) in eps {
        let n = counts.get(e).copied().unwrap_or(0);
        if n != ep.length {
            return Err(col_err(
                path,
                "episode_index",
                format!("episode {e} has {n} rows; meta/episodes says {}", ep.length),
            ));
        }
    }
    Ok(())
}
