//! A LeRobotDataset v3 folder into a run directory's replay store, so a learner starts from demonstrations
//! recorded with other tools (LeRobot's teleoperation, gym-hil) or exported by corrigo.
//!
//! Frame `k` of an episode of `n` frames becomes the transition `(s_k, a_k, r_k, s_{k+1}, done_k)`; the last one's
//! `s'` is its own observation (LeRobot's convention: it is terminal, so the learner does not bootstrap from it).
//! Columns corrigo does not find take neutral values: `next.reward` 0, `next.done` true on the last frame only,
//! the `complementary_info.*` flags false, the gripper action "stay", stamps from `timestamp`.

use crate::error::{DatasetError, Result, io_err};
use crate::layout::{self, FileIndex};
use crate::progress::Progress;
use crate::table::{self, read_table};
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
    index: i64,
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

/// Reads the dataset `root` into the store of the run directory `run_dir` (created when missing).
///
/// Errors name the file and column: a feature missing or of the wrong shape for the cell (e.g. a 6-value state for
/// a 13-value proprio), an unsupported `codebase_version`, a video of another size than the cell's camera.
pub fn import(cfg: &CellConfig, root: &Path, run_dir: &Path, opts: &ImportOptions) -> Result<ImportReport> {
    let t0 = Instant::now();
    let spec = interfaces::env::obs_spec(cfg);
    let info_path = root.join("meta/info.json");
    let text = std::fs::read_to_string(&info_path).map_err(io_err("read", &info_path))?;
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
    let fps = info["fps"].as_f64().filter(|f| *f > 0.0).ok_or_else(|| meta_err(&info_path, "no positive `fps`"))?;
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
            Some(s) if s.iter().product::<usize>() != dim => Err(col_err(
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
    let data_tpl = info["data_path"].as_str().unwrap_or(layout::DATA_PATH).to_string();
    let video_tpl = info["video_path"].as_str().unwrap_or(layout::VIDEO_PATH).to_string();
    let episodes = read_episodes(root, &sources)?;
    let total: usize = episodes.iter().map(|e| e.length).sum();

    // Everything the episodes need is read or probed before the run directory is touched: a missing or truncated
    // file, or a column that does not fit, leaves it as it was.
    let mut tables: BTreeMap<FileIndex, DataFile> = BTreeMap::new();
    for ep in &episodes {
        let data = match tables.entry(ep.data) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(DataFile::read(&root.join(fill(&data_tpl, "", ep.data)), map, &spec)?)
            }
        };
        let rows = data.rows_of(ep.index);
        if rows.len() != ep.length {
            return Err(col_err(
                &data.path,
                "episode_index",
                format!("episode {} has {} rows; meta/episodes says {}", ep.index, rows.len(), ep.length),
            ));
        }
    }
    let mut probed = std::collections::BTreeSet::new();
    for ep in &episodes {
        for (c, (key, src)) in sources.iter().enumerate() {
            if *src == FrameSource::Video && probed.insert((c, ep.videos[c].0)) {
                let cam = &spec.cameras[c];
                VideoReader::open(&root.join(fill(&video_tpl, key, ep.videos[c].0)), cam.width, cam.height)?;
            }
        }
    }

    let mut store = ReplayStore::open(run_dir.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent))?;
    let base = next_episode_id(&store);
    let mut bar = Progress::new("import", total, opts.progress);
    let mut readers: Vec<Option<(FileIndex, VideoReader)>> = sources.iter().map(|_| None).collect();
    let mut stored = 0;
    let mut frame = Vec::new();
    for ep in &episodes {
        let Some(data) = tables.get(&ep.data) else { continue };
        let rows = data.rows_of(ep.index);
        // Frames of every camera for this episode.
        let mut images: Vec<Vec<Vec<u8>>> = vec![Vec::with_capacity(ep.length); sources.len()];
        for (c, (key, src)) in sources.iter().enumerate() {
            let cam = &spec.cameras[c];
            match src {
                FrameSource::Image => {
                    let bytes = data.images.get(c).ok_or_else(|| col_err(&data.path, key, "no image column"))?;
                    for &r in &rows {
                        let img = image::load_from_memory(&bytes[r])
                            .map_err(|e| col_err(&data.path, key, format!("row {r}: undecodable image: {e}")))?
                            .to_rgb8();
                        if (img.height() as usize, img.width() as usize) != (cam.height, cam.width) {
                            return Err(col_err(
                                &data.path,
                                key,
                                format!(
                                    "row {r}: image is {}×{}, the camera {}×{}",
                                    img.height(),
                                    img.width(),
                                    cam.height,
                                    cam.width
                                ),
                            ));
                        }
                        images[c].push(img.into_raw());
                    }
                }
                FrameSource::Video => {
                    let (at, from_ts) = ep.videos[c];
                    let path = root.join(fill(&video_tpl, key, at));
                    let first = (from_ts * fps).round() as usize;
                    let reopen = match &readers[c] {
                        Some((a, r)) => *a != at || r.next_index() > first,
                        None => true,
                    };
                    if reopen {
                        readers[c] = Some((at, VideoReader::open(&path, cam.width, cam.height)?));
                    }
                    let Some((_, reader)) = readers[c].as_mut() else { continue };
                    while reader.next_index() < first {
                        if !reader.next_frame(&mut frame)? {
                            break;
                        }
                    }
                    for k in 0..ep.length {
                        if !reader.next_frame(&mut frame)? {
                            return Err(DatasetError::Video {
                                file: path.clone(),
                                what: format!("ends before frame {k} of episode {} (from {from_ts} s)", ep.index),
                            });
                        }
                        images[c].push(frame.clone());
                    }
                }
            }
        }
        let episode_id = base + ep.index as u64;
        let n = rows.len();
        for (k, &r) in rows.iter().enumerate() {
            let next = if k + 1 < n { k + 1 } else { k };
            let obs_of = |j: usize| Observation {
                proprio: data.state[rows[j] * spec.proprio_dim..(rows[j] + 1) * spec.proprio_dim].to_vec(),
                images: images.iter().map(|cam| cam[j].clone()).collect(),
            };
            let stamp = |j: usize| (f64::from(data.timestamp[rows[j]]) * 1e9) as u64;
            let t = Transition {
                obs: obs_of(k),
                action: Action {
                    continuous: data.action[r * spec.action_dim..(r + 1) * spec.action_dim].to_vec(),
                    gripper: data
                        .gripper
                        .as_ref()
                        .and_then(|g| GripperAction::from_index(g[r].clamp(0, 255) as u8))
                        .unwrap_or_default(),
                },
                reward: data.reward.as_ref().map_or(0.0, |v| v[r]),
                next_obs: obs_of(next),
                done: data.done.as_ref().map_or(k + 1 == n, |v| v[r]),
                truncated: data.truncated.as_ref().is_some_and(|v| v[r]),
                intervention: data.intervention.as_ref().is_some_and(|v| v[r]),
                gripper_changed: data.gripper_changed.as_ref().is_some_and(|v| v[r]),
                episode: episode_id,
                obs_stamp_ns: data.obs_stamp.as_ref().map_or_else(|| stamp(k), |v| v[r] as u64),
                next_stamp_ns: data.next_stamp.as_ref().map_or_else(|| stamp(next), |v| v[r] as u64),
            };
            if opts.as_demo {
                store.append_demo(&t)?
            } else {
                store.append(&t)?
            }
            stored += 1;
        }
        bar.set(stored);
    }
    store.flush()?;
    bar.finish();
    Ok(ImportReport { episodes: episodes.len(), transitions: stored, seconds: t0.elapsed().as_secs_f64() })
}

/// The first episode id after every id in the store (imported episodes never merge with stored ones).
fn next_episode_id(store: &ReplayStore) -> u64 {
    let mut max = None::<u64>;
    for demo in [false, true] {
        let len = if demo { store.demo_len() } else { store.online_len() };
        for i in 0..len {
            if let Some((e, _)) = store.episode_of(demo, i) {
                max = Some(max.map_or(e, |m| m.max(e)));
            }
        }
    }
    max.map_or(0, |m| m + 1)
}

/// Fills a LeRobot path template (`{video_key}`, `{chunk_index:03d}`, `{file_index:03d}`).
fn fill(tpl: &str, video_key: &str, at: FileIndex) -> PathBuf {
    PathBuf::from(
        tpl.replace("{video_key}", video_key)
            .replace("{chunk_index:03d}", &format!("{:03}", at.chunk))
            .replace("{file_index:03d}", &format!("{:03}", at.file)),
    )
}

fn read_episodes(root: &Path, sources: &[(String, FrameSource)]) -> Result<Vec<EpisodeMeta>> {
    let dir = root.join("meta/episodes");
    let mut files = Vec::new();
    for chunk in std::fs::read_dir(&dir).map_err(io_err("list", &dir))? {
        let chunk = chunk.map_err(io_err("list", &dir))?.path();
        if chunk.is_dir() {
            for f in std::fs::read_dir(&chunk).map_err(io_err("list", &chunk))? {
                let f = f.map_err(io_err("list", &chunk))?.path();
                if f.extension().is_some_and(|e| e == "parquet") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(meta_err(&dir, "no episodes table (meta/episodes/chunk-*/file-*.parquet)"));
    }
    let mut out = BTreeMap::new();
    for path in &files {
        for batch in read_table(path)? {
            let idx = table::read_i64(&batch, path, "episode_index")?;
            let len = table::read_i64(&batch, path, "length")?;
            let dc = table::read_i64(&batch, path, "data/chunk_index")?;
            let df = table::read_i64(&batch, path, "data/file_index")?;
            let mut vids = Vec::new();
            for (key, src) in sources {
                if *src == FrameSource::Video {
                    vids.push(Some((
                        table::read_i64(&batch, path, &format!("videos/{key}/chunk_index"))?,
                        table::read_i64(&batch, path, &format!("videos/{key}/file_index"))?,
                        table::read_f64(&batch, path, &format!("videos/{key}/from_timestamp"))?,
                    )));
                } else {
                    vids.push(None);
                }
            }
            for r in 0..batch.num_rows() {
                let videos = vids
                    .iter()
                    .map(|v| match v {
                        Some((c, f, t)) => (FileIndex { chunk: c[r] as usize, file: f[r] as usize }, t[r]),
                        None => (FileIndex::default(), 0.0),
                    })
                    .collect();
                out.insert(
                    idx[r],
                    EpisodeMeta {
                        index: idx[r],
                        length: len[r].max(0) as usize,
                        data: FileIndex { chunk: dc[r] as usize, file: df[r] as usize },
                        videos,
                    },
                );
            }
        }
    }
    Ok(out.into_values().collect())
}

/// The columns of one data file that the import uses, row-aligned.
struct DataFile {
    path: PathBuf,
    episode: Vec<i64>,
    frame_index: Vec<i64>,
    timestamp: Vec<f32>,
    state: Vec<f32>,
    action: Vec<f32>,
    reward: Option<Vec<f32>>,
    done: Option<Vec<bool>>,
    truncated: Option<Vec<bool>>,
    intervention: Option<Vec<bool>>,
    gripper: Option<Vec<i64>>,
    gripper_changed: Option<Vec<bool>>,
    obs_stamp: Option<Vec<i64>>,
    next_stamp: Option<Vec<i64>>,
    /// Encoded image bytes of each image-feature camera (empty for video cameras), row-aligned.
    images: Vec<Vec<Vec<u8>>>,
}

impl DataFile {
    fn read(path: &Path, map: &Mapping, spec: &agent::ObsSpec) -> Result<Self> {
        let mut d = DataFile {
            path: path.to_path_buf(),
            episode: Vec::new(),
            frame_index: Vec::new(),
            timestamp: Vec::new(),
            state: Vec::new(),
            action: Vec::new(),
            reward: None,
            done: None,
            truncated: None,
            intervention: None,
            gripper: None,
            gripper_changed: None,
            obs_stamp: None,
            next_stamp: None,
            images: vec![Vec::new(); spec.cameras.len()],
        };
        fn extend<T: Clone>(slot: &mut Option<Vec<T>>, v: Option<Vec<T>>) {
            if let Some(v) = v {
                slot.get_or_insert_with(Vec::new).extend(v);
            }
        }
        for batch in read_table(path)? {
            let opt_bool = |name: &str| -> Result<Option<Vec<bool>>> {
                if table::has(&batch, name) { table::read_bool(&batch, path, name).map(Some) } else { Ok(None) }
            };
            let opt_i64 = |name: &str| -> Result<Option<Vec<i64>>> {
                if table::has(&batch, name) { table::read_i64(&batch, path, name).map(Some) } else { Ok(None) }
            };
            d.episode.extend(table::read_i64(&batch, path, "episode_index")?);
            d.frame_index.extend(table::read_i64(&batch, path, "frame_index")?);
            d.timestamp.extend(table::read_f32(&batch, path, "timestamp")?);
            d.state.extend(table::read_f32_vec(&batch, path, &map.state, spec.proprio_dim)?);
            d.action.extend(table::read_f32_vec(&batch, path, &map.action, spec.action_dim)?);
            let reward = if table::has(&batch, layout::REWARD) {
                Some(table::read_f32(&batch, path, layout::REWARD)?)
            } else {
                None
            };
            extend(&mut d.reward, reward);
            extend(&mut d.done, opt_bool(layout::DONE)?);
            extend(&mut d.truncated, opt_bool(layout::TRUNCATED)?);
            extend(&mut d.intervention, opt_bool(layout::INTERVENTION)?);
            extend(&mut d.gripper, opt_i64(layout::GRIPPER)?);
            extend(&mut d.gripper_changed, opt_bool(layout::GRIPPER_CHANGED)?);
            extend(&mut d.obs_stamp, opt_i64(layout::OBS_STAMP)?);
            extend(&mut d.next_stamp, opt_i64(layout::NEXT_STAMP)?);
            for (c, cam) in spec.cameras.iter().enumerate() {
                let key = map.camera(&cam.name);
                if table::has(&batch, &key) {
                    d.images[c].extend(table::read_image_bytes(&batch, path, &key)?);
                }
            }
        }
        Ok(d)
    }

    /// Rows of episode `e`, in frame order.
    fn rows_of(&self, e: i64) -> Vec<usize> {
        let mut rows: Vec<usize> = (0..self.episode.len()).filter(|&r| self.episode[r] == e).collect();
        rows.sort_by_key(|&r| self.frame_index[r]);
        rows
    }
}
