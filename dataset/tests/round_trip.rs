//! Export a store to a LeRobotDataset v3 folder and import it into a fresh run directory: the transitions come
//! back equal (tables exact; images within the codec's loss, PSNR ≥ 35 dB), the folder has LeRobot's layout, and
//! bad input is refused with the file and column named.

use agent::replay::{Action, GripperAction, Observation, ReplayStore, StoreOptions, Transition};
use dataset::{BufferChoice, Codec, ExportOptions, ImportOptions, Mapping};
use interfaces::CellConfig;
use std::path::Path;

fn cell(images: bool) -> CellConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../hardware_configs/sim_panda.toml");
    let text = std::fs::read_to_string(path).expect("shipped config");
    let mut cfg = CellConfig::from_toml_str(&text, path).expect("valid config");
    cfg.agent.use_images = images;
    cfg
}

/// A smooth picture with a square that moves with `step`: compressible like a camera's view.
fn frame(h: usize, w: usize, cam: usize, step: usize) -> Vec<u8> {
    let mut f = vec![0u8; h * w * 3];
    for y in 0..h {
        for x in 0..w {
            let p = (y * w + x) * 3;
            f[p] = (x * 255 / w) as u8;
            f[p + 1] = (y * 255 / h) as u8;
            f[p + 2] = (60 + 40 * cam) as u8;
            let (sx, sy) = (10 + step * 3 % (w - 30), 20 + cam * 10);
            if (sx..sx + 20).contains(&x) && (sy..sy + 20).contains(&y) {
                f[p..p + 3].copy_from_slice(&[230, 40, 40]);
            }
        }
    }
    f
}

fn obs(cfg: &CellConfig, spec: &agent::ObsSpec, ep: u64, k: usize) -> Observation {
    let _ = cfg;
    Observation {
        proprio: (0..spec.proprio_dim).map(|i| ep as f32 + k as f32 * 0.01 + i as f32 * 0.1).collect(),
        images: spec.cameras.iter().enumerate().map(|(c, cam)| frame(cam.height, cam.width, c, k)).collect(),
    }
}

/// `episodes` episodes of `len` steps into the demo buffer, the last of them ended by its time limit.
fn record(cfg: &CellConfig, run_dir: &Path, episodes: u64, len: usize) -> Vec<Transition> {
    let spec = interfaces::env::obs_spec(cfg);
    let mut store = ReplayStore::open(run_dir.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent)).unwrap();
    let mut all = Vec::new();
    for ep in 0..episodes {
        for k in 0..len {
            let last = k + 1 == len;
            let t = Transition {
                obs: obs(cfg, &spec, ep, k),
                action: Action {
                    continuous: (0..spec.action_dim).map(|i| ((k + i) as f32 * 0.13).sin()).collect(),
                    gripper: [GripperAction::Open, GripperAction::Stay, GripperAction::Close][k % 3],
                },
                reward: if last { 1.0 } else { 0.0 },
                next_obs: obs(cfg, &spec, ep, k + 1),
                done: last && ep + 1 != episodes,
                truncated: last && ep + 1 == episodes,
                intervention: k % 5 == 1,
                gripper_changed: k % 3 == 0,
                episode: 100 + ep,
                obs_stamp_ns: 1_000_000 + k as u64 * 100_000_000,
                next_stamp_ns: 1_000_000 + (k as u64 + 1) * 100_000_000,
            };
            store.append_demo(&t).unwrap();
            all.push(t);
        }
    }
    store.flush().unwrap();
    all
}

fn read_back(cfg: &CellConfig, run_dir: &Path) -> Vec<Transition> {
    let spec = interfaces::env::obs_spec(cfg);
    let store = ReplayStore::open_read_only(run_dir.join("replay"), &spec).unwrap();
    (0..store.demo_len()).map(|i| store.get(true, i).unwrap()).collect()
}

fn round_trip(codec: Codec) {
    let cfg = cell(true);
    let tmp = tempfile::tempdir().unwrap();
    let (src, out, dst) = (tmp.path().join("src"), tmp.path().join("ds"), tmp.path().join("dst"));
    let sent = record(&cfg, &src, 3, 12);
    let opts = ExportOptions { buffer: BufferChoice::Demo, codec, ..Default::default() };
    let rep = dataset::export(&cfg, &src, &out, &opts).unwrap();
    assert_eq!((rep.episodes, rep.frames), (3, 36));
    for f in [
        "meta/info.json",
        "meta/stats.json",
        "meta/tasks.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "data/chunk-000/file-000.parquet",
        "videos/observation.images.front/chunk-000/file-000.mp4",
        "videos/observation.images.wrist/chunk-000/file-000.mp4",
    ] {
        assert!(out.join(f).is_file(), "{f} is written");
    }
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta/info.json")).unwrap()).unwrap();
    assert_eq!(info["codebase_version"], "v3.0");
    assert_eq!(info["fps"], 10);
    assert_eq!(info["total_frames"], 36);
    assert_eq!(info["features"]["observation.state"]["shape"], serde_json::json!([13]));
    assert_eq!(info["features"]["observation.images.front"]["info"]["video.codec"], codec.info_name());

    // Frame k of episode e sits at from_timestamp(e) + k / fps in its camera's file.
    let mut reader = dataset::video::VideoReader::open(
        &out.join("videos/observation.images.front/chunk-000/file-000.mp4"),
        128,
        128,
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut n = 0;
    while reader.next_frame(&mut buf).unwrap() {
        let t = reader.last_time_s().expect("frames carry time stamps");
        assert!((t - n as f64 / 10.0).abs() < 1e-4, "frame {n} at {t} s, expected {} s", n as f64 / 10.0);
        n += 1;
    }
    assert_eq!(n, 36, "every frame of the three episodes is in the file");

    let imported = dataset::import(&cfg, &out, &dst, &ImportOptions { as_demo: true, ..Default::default() }).unwrap();
    assert_eq!((imported.episodes, imported.transitions), (3, 36));
    let got = read_back(&cfg, &dst);
    assert_eq!(got.len(), sent.len());
    let mut worst = f64::INFINITY;
    for (i, (a, b)) in sent.iter().zip(&got).enumerate() {
        let last_of_episode = i % 12 == 11;
        assert_eq!(a.obs.proprio, b.obs.proprio, "transition {i}: proprio");
        if !last_of_episode {
            assert_eq!(a.next_obs.proprio, b.next_obs.proprio, "transition {i}: next proprio");
        }
        assert_eq!(a.action, b.action, "transition {i}: action");
        assert_eq!(
            (a.reward, a.done, a.truncated, a.intervention, a.gripper_changed, a.obs_stamp_ns, a.next_stamp_ns),
            (b.reward, b.done, b.truncated, b.intervention, b.gripper_changed, b.obs_stamp_ns, b.next_stamp_ns),
            "transition {i}: flags"
        );
        for (c, (x, y)) in a.obs.images.iter().zip(&b.obs.images).enumerate() {
            let p = dataset::video::psnr(x, y);
            assert!(p >= 35.0, "transition {i} camera {c}: PSNR {p:.1} dB < 35 dB ({codec:?})");
            worst = worst.min(p);
        }
    }
    // Episodes keep their boundaries (new ids, after every id of the destination store).
    let ids: Vec<u64> = got.iter().map(|t| t.episode).collect();
    assert_eq!(ids[0], ids[11]);
    assert_ne!(ids[11], ids[12]);
    eprintln!("{codec:?}: worst PSNR {worst:.1} dB");
}

#[test]
fn av1_round_trip_keeps_every_transition() {
    round_trip(Codec::Av1);
}

#[test]
fn h264_round_trip_keeps_every_transition() {
    round_trip(Codec::H264);
}

#[test]
fn state_only_round_trip_is_exact() {
    let cfg = cell(false);
    let tmp = tempfile::tempdir().unwrap();
    let (src, out, dst) = (tmp.path().join("src"), tmp.path().join("ds"), tmp.path().join("dst"));
    let sent = record(&cfg, &src, 2, 7);
    let demo = ExportOptions { buffer: BufferChoice::Demo, ..Default::default() };
    dataset::export(&cfg, &src, &out, &demo).unwrap();
    assert!(!out.join("videos").exists(), "no cameras, no videos");
    dataset::import(&cfg, &out, &dst, &ImportOptions { as_demo: true, ..Default::default() }).unwrap();
    let got = read_back(&cfg, &dst);
    for (i, (a, b)) in sent.iter().zip(&got).enumerate() {
        assert_eq!(a.obs, b.obs, "transition {i}");
        assert_eq!((a.action.clone(), a.reward, a.done), (b.action.clone(), b.reward, b.done), "transition {i}");
    }
}

#[test]
fn an_export_selects_episodes_and_never_overwrites() {
    let cfg = cell(false);
    let tmp = tempfile::tempdir().unwrap();
    let (src, out) = (tmp.path().join("src"), tmp.path().join("ds"));
    record(&cfg, &src, 4, 5);
    let opts = ExportOptions { buffer: BufferChoice::Demo, episodes: Some(1..3), ..Default::default() };
    let rep = dataset::export(&cfg, &src, &out, &opts).unwrap();
    assert_eq!((rep.episodes, rep.frames), (2, 10));
    let err = dataset::export(&cfg, &src, &out, &opts).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    let none = ExportOptions { buffer: BufferChoice::Online, ..Default::default() };
    let err = dataset::export(&cfg, &src, &tmp.path().join("empty"), &none).unwrap_err().to_string();
    assert!(err.contains("no episode to export"), "{err}");
    assert!(!tmp.path().join("empty").exists() && !tmp.path().join(".empty.partial").exists());
}

#[test]
fn a_dataset_that_does_not_fit_the_cell_is_refused_naming_the_column() {
    let cfg = cell(false);
    let tmp = tempfile::tempdir().unwrap();
    let (src, out) = (tmp.path().join("src"), tmp.path().join("ds"));
    record(&cfg, &src, 1, 5);
    dataset::export(&cfg, &src, &out, &ExportOptions::default()).unwrap();
    // An image-based cell: 13 proprio values, cameras the dataset lacks.
    let err =
        dataset::import(&cell(true), &out, &tmp.path().join("a"), &ImportOptions::default()).unwrap_err().to_string();
    assert!(err.contains("observation.state") && err.contains("13"), "{err}");
    // A mapping to a column that does not exist.
    let mut mapping = Mapping::default();
    mapping.set("action=action.joints").unwrap();
    let opts = ImportOptions { mapping, ..Default::default() };
    let err = dataset::import(&cfg, &out, &tmp.path().join("b"), &opts).unwrap_err().to_string();
    assert!(err.contains("action.joints") && err.contains("missing"), "{err}");
    assert!(Mapping::default().set("joints=x").is_err());
    // Not a dataset.
    let err = dataset::import(&cfg, &src, &tmp.path().join("c"), &ImportOptions::default()).unwrap_err().to_string();
    assert!(err.contains("meta/info.json"), "{err}");
}

/// Datasets recorded with `image` features (PNG bytes in the table, as `datasets.Image` stores them) import too:
/// the exported video features are rewritten as image features and read back to the same pixels as the videos.
#[test]
fn image_features_import_like_video_features() {
    use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
    use arrow_schema::{DataType, Field};
    use std::sync::Arc;

    let cfg = cell(true);
    let tmp = tempfile::tempdir().unwrap();
    let (src, out, via_video, via_image) =
        (tmp.path().join("src"), tmp.path().join("ds"), tmp.path().join("a"), tmp.path().join("b"));
    record(&cfg, &src, 2, 6);
    let opts = ExportOptions { buffer: BufferChoice::Demo, ..Default::default() };
    dataset::export(&cfg, &src, &out, &opts).unwrap();
    let import = ImportOptions { as_demo: true, ..Default::default() };
    dataset::import(&cfg, &out, &via_video, &import).unwrap();
    let decoded = read_back(&cfg, &via_video);

    // Rewrite: every camera as a PNG column of the data table, no videos.
    let data = out.join("data/chunk-000/file-000.parquet");
    let batches = dataset::table::read_table(&data).unwrap();
    assert_eq!(batches.len(), 1, "a small table comes back as one batch");
    let batch = batches[0].clone();
    let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (c, name) in ["front", "wrist"].iter().enumerate() {
        let pngs: Vec<Vec<u8>> = decoded
            .iter()
            .map(|t| {
                let img = image::RgbImage::from_raw(128, 128, t.obs.images[c].clone()).unwrap();
                let mut png = Vec::new();
                img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
                png
            })
            .collect();
        let bytes: ArrayRef = Arc::new(arrow_array::BinaryArray::from_iter_values(pngs.iter()));
        let paths: ArrayRef = Arc::new(arrow_array::StringArray::from(vec![None::<&str>; pngs.len()]));
        let s = StructArray::from(vec![
            (Arc::new(Field::new("bytes", DataType::Binary, true)), bytes),
            (Arc::new(Field::new("path", DataType::Utf8, true)), paths),
        ]);
        fields.push(Field::new(format!("observation.images.{name}"), s.data_type().clone(), true));
        columns.push(Arc::new(s));
    }
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let file = std::fs::File::create(&data).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    std::fs::remove_dir_all(out.join("videos")).unwrap();
    let info_path = out.join("meta/info.json");
    let mut info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&info_path).unwrap()).unwrap();
    for name in ["front", "wrist"] {
        let f = &mut info["features"][format!("observation.images.{name}")];
        f["dtype"] = "image".into();
        f.as_object_mut().unwrap().remove("info");
    }
    std::fs::write(&info_path, serde_json::to_string(&info).unwrap()).unwrap();

    dataset::import(&cfg, &out, &via_image, &import).unwrap();
    let got = read_back(&cfg, &via_image);
    assert_eq!(got.len(), decoded.len());
    for (i, (a, b)) in decoded.iter().zip(&got).enumerate() {
        assert_eq!(a.obs, b.obs, "transition {i}: PNG frames are lossless");
    }
}

fn venv_python() -> String {
    match std::env::var("CORRIGO_VENV_PYTHON") {
        Ok(p) if Path::new(&p).exists() => p,
        _ => panic!("the project's Python virtualenv is missing: run `make setup` (scripts/setup.sh) first"),
    }
}

/// The exported folder read by an independent reader (`tests/lerobot_reader.py`: pyarrow for the tables, PyAV
/// with its own FFmpeg for the videos): schema, row counts, episode boundaries, frame counts and timestamps.
#[test]
fn an_independent_reader_accepts_the_exported_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lerobot_reader.py");
    for (name, images, codec) in [("h264", true, Codec::H264), ("av1", true, Codec::Av1), ("state", false, Codec::H264)]
    {
        let cfg = cell(images);
        let (src, out) = (tmp.path().join(format!("src-{name}")), tmp.path().join(format!("ds-{name}")));
        record(&cfg, &src, 3, 9);
        let opts = ExportOptions { buffer: BufferChoice::Demo, codec, ..Default::default() };
        dataset::export(&cfg, &src, &out, &opts).unwrap();
        let run = std::process::Command::new(venv_python())
            .arg(script)
            .arg(&out)
            .output()
            .expect("run the Python reader (pyarrow and av are installed by scripts/setup.sh)");
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{name}: the independent reader refused the folder:\n{stdout}\n{stderr}");
        assert_eq!(stdout.trim(), "ok 3 27", "{name}");
    }
}

/// A dataset with a missing video file, a truncated data table or a column of the wrong shape is refused with an
/// error naming the file (and the column), and the run directory is not created.
#[test]
fn broken_datasets_are_refused_and_nothing_is_written() {
    let cfg = cell(true);
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    record(&cfg, &src, 2, 5);
    let fresh = |name: &str| {
        let out = tmp.path().join(name);
        let opts = ExportOptions { buffer: BufferChoice::Demo, ..Default::default() };
        dataset::export(&cfg, &src, &out, &opts).unwrap();
        out
    };
    let refused = |ds: &Path, opts: &ImportOptions| {
        let run = tmp.path().join(format!("run-{}", ds.file_name().unwrap().to_string_lossy()));
        let err = dataset::import(&cfg, ds, &run, opts).expect_err("refused").to_string();
        assert!(!run.exists(), "nothing is written to the run directory ({err})");
        err
    };
    let ds = fresh("missing-video");
    let video = ds.join("videos/observation.images.wrist/chunk-000/file-000.mp4");
    std::fs::remove_file(&video).unwrap();
    let err = refused(&ds, &ImportOptions::default());
    assert!(err.contains(&video.display().to_string()), "{err}");

    let ds = fresh("truncated-table");
    let table = ds.join("data/chunk-000/file-000.parquet");
    let bytes = std::fs::read(&table).unwrap();
    std::fs::write(&table, &bytes[..bytes.len() / 2]).unwrap();
    let err = refused(&ds, &ImportOptions::default());
    assert!(err.contains(&table.display().to_string()), "{err}");

    let ds = fresh("wrong-shape");
    let mut mapping = Mapping::default();
    mapping.set("state=action").unwrap();
    let err = refused(&ds, &ImportOptions { mapping, ..Default::default() });
    assert!(err.contains("column `action`") && err.contains("13"), "{err}");
}
