//! A dataset is input from outside: `meta/info.json`'s path templates cannot lead the import out of the dataset
//! (absolute paths, `..`, symbolic links) or onto something that is not a regular file (a FIFO would hang it),
//! and nulls, non-finite numbers and negative indices are refused naming the file, row and column. Episodes are
//! streamed: rows spanning several read batches import exactly.

use agent::replay::{Action, GripperAction, Observation, ReplayStore, StoreOptions, Transition};
use arrow_array::{Array, ArrayRef, RecordBatch};
use dataset::{BufferChoice, ExportOptions, ImportOptions};
use interfaces::CellConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn cell() -> CellConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../hardware_configs/sim_panda.toml");
    let text = std::fs::read_to_string(path).expect("shipped config");
    let mut cfg = CellConfig::from_toml_str(&text, path).expect("valid config");
    cfg.agent.use_images = false;
    cfg
}

/// `episodes` state-only episodes of `len` steps into the demo buffer of `run_dir`.
fn record(cfg: &CellConfig, run_dir: &Path, episodes: u64, len: usize, first_episode: u64) -> Vec<Transition> {
    let spec = interfaces::env::obs_spec(cfg);
    let mut store = ReplayStore::open(run_dir.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent)).unwrap();
    let obs = |ep: u64, k: usize| Observation {
        proprio: (0..spec.proprio_dim).map(|i| ep as f32 + k as f32 * 0.01 + i as f32 * 0.1).collect(),
        images: vec![],
    };
    let mut all = Vec::new();
    for ep in 0..episodes {
        for k in 0..len {
            let last = k + 1 == len;
            let t = Transition {
                obs: obs(ep, k),
                action: Action {
                    continuous: (0..spec.action_dim).map(|i| ((k + i) as f32 * 0.13).sin()).collect(),
                    gripper: [GripperAction::Open, GripperAction::Stay, GripperAction::Close][k % 3],
                },
                reward: if last { 1.0 } else { 0.0 },
                next_obs: obs(ep, k + 1),
                done: last,
                truncated: false,
                intervention: false,
                gripper_changed: false,
                episode: first_episode.saturating_add(ep),
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

/// A fresh export of 2 episodes of 5 steps at `tmp/name`.
fn exported(cfg: &CellConfig, tmp: &Path, name: &str) -> PathBuf {
    let src = tmp.join(format!("src-{name}"));
    record(cfg, &src, 2, 5, 0);
    let out = tmp.join(name);
    dataset::export(cfg, &src, &out, &ExportOptions { buffer: BufferChoice::Demo, ..Default::default() }).unwrap();
    out
}

/// Imports `ds` into a fresh run directory, expecting a refusal that writes nothing; the error text.
fn refused(cfg: &CellConfig, ds: &Path) -> String {
    let run = ds.with_file_name(format!("run-{}", ds.file_name().unwrap().to_string_lossy()));
    let err = dataset::import(cfg, ds, &run, &ImportOptions::default()).expect_err("refused").to_string();
    assert!(!run.exists(), "nothing is written to the run directory ({err})");
    err
}

fn set_info(ds: &Path, key: &str, value: serde_json::Value) {
    let path = ds.join("meta/info.json");
    let mut info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    info[key] = value;
    std::fs::write(&path, serde_json::to_string(&info).unwrap()).unwrap();
}

const DATA: &str = "data/chunk-000/file-000.parquet";
const EPISODES: &str = "meta/episodes/chunk-000/file-000.parquet";

/// Regression (`data_path` was joined to the root as written: an absolute path or `../` read any parquet file on
/// the machine): a template that is not a relative path inside the dataset is refused, naming the key.
#[test]
fn a_data_path_outside_the_dataset_is_refused() {
    let cfg = cell();
    let tmp = tempfile::tempdir().unwrap();
    let ds = exported(&cfg, tmp.path(), "absolute");
    let outside = tmp.path().join("elsewhere.parquet");
    std::fs::copy(ds.join(DATA), &outside).unwrap();
    set_info(&ds, "data_path", outside.display().to_string().into());
    let err = refused(&cfg, &ds);
    assert!(err.contains("data_path") && err.contains("not a relative path inside the dataset"), "{err}");

    let ds = exported(&cfg, tmp.path(), "dotdot");
    set_info(&ds, "data_path", "../elsewhere.parquet".into());
    let err = refused(&cfg, &ds);
    assert!(err.contains("data_path") && err.contains("not a relative path inside the dataset"), "{err}");
}

/// A symbolic link inside the dataset that leads out of it is refused, naming the file.
#[test]
fn a_symlink_out_of_the_dataset_is_refused() {
    let cfg = cell();
    let tmp = tempfile::tempdir().unwrap();
    let ds = exported(&cfg, tmp.path(), "symlink");
    let outside = tmp.path().join("elsewhere.parquet");
    std::fs::rename(ds.join(DATA), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, ds.join(DATA)).unwrap();
    let err = refused(&cfg, &ds);
    assert!(err.contains(&ds.join(DATA).display().to_string()) && err.contains("outside the dataset root"), "{err}");

    // The episodes table too.
    let ds = exported(&cfg, tmp.path(), "symlink-meta");
    let outside = tmp.path().join("episodes.parquet");
    std::fs::rename(ds.join(EPISODES), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, ds.join(EPISODES)).unwrap();
    let err = refused(&cfg, &ds);
    assert!(err.contains("outside the dataset root"), "{err}");
}

/// Regression (a FIFO in place of the data table hung the import forever, waiting for a writer): anything that
/// is not a regular file is refused without being opened for reading.
#[test]
fn a_fifo_in_the_dataset_is_refused_without_hanging() {
    let cfg = cell();
    let tmp = tempfile::tempdir().unwrap();
    let ds = exported(&cfg, tmp.path(), "fifo");
    let data = ds.join(DATA);
    std::fs::remove_file(&data).unwrap();
    let status = std::process::Command::new("mkfifo").arg(&data).status().expect("mkfifo");
    assert!(status.success());
    let (tx, rx) = std::sync::mpsc::channel();
    let (c, d) = (cfg.clone(), ds.clone());
    std::thread::Builder::new()
        .name("import".into())
        .spawn(move || {
            let _ = tx.send(refused(&c, &d));
        })
        .unwrap();
    let err = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(err) => err,
        Err(_) => {
            // Unblock the reader (opening the write end releases it) before failing.
            let _ = std::fs::OpenOptions::new().write(true).open(&data);
            panic!("the import opened the FIFO and waited for a writer");
        }
    };
    assert!(err.contains(&data.display().to_string()) && err.contains("not a regular file"), "{err}");
}

/// Rewrites the table at `path` with column `name` replaced by `f(old column)`.
fn rewrite_column(path: &Path, name: &str, f: impl Fn(&ArrayRef) -> ArrayRef) {
    let batches = dataset::table::read_table(path).unwrap();
    assert_eq!(batches.len(), 1, "a small table is one batch");
    let batch = &batches[0];
    let schema = batch.schema();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(fl, c)| if fl.name() == name { f(c) } else { c.clone() })
        .collect();
    let fields: Vec<arrow_schema::Field> = schema
        .fields()
        .iter()
        .zip(&columns)
        .map(|(fl, c)| arrow_schema::Field::new(fl.name(), c.data_type().clone(), true))
        .collect();
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// An int64 column with row `row` set to `value` (`None`: null).
fn set_i64(c: &ArrayRef, row: usize, value: Option<i64>) -> ArrayRef {
    let a = c.as_any().downcast_ref::<arrow_array::Int64Array>().expect("int64");
    Arc::new((0..a.len()).map(|i| if i == row { value } else { Some(a.value(i)) }).collect::<arrow_array::Int64Array>())
}

/// A `fixed_size_list<float32>` column with value `k` of row `row` set to `value` (`None`: the row is null).
fn set_f32_vec(c: &ArrayRef, row: usize, k: usize, value: Option<f32>) -> ArrayRef {
    let l = c.as_any().downcast_ref::<arrow_array::FixedSizeListArray>().expect("fixed size list");
    let dim = l.value_length() as usize;
    let mut b =
        arrow_array::builder::FixedSizeListBuilder::new(arrow_array::builder::Float32Builder::new(), dim as i32);
    for r in 0..l.len() {
        let v = l.value(r);
        let v = v.as_any().downcast_ref::<arrow_array::Float32Array>().expect("float32");
        for i in 0..dim {
            b.values().append_value(if r == row && i == k { value.unwrap_or(0.0) } else { v.value(i) });
        }
        b.append(!(r == row && value.is_none()));
    }
    Arc::new(b.finish())
}

/// A change to one column.
type Rewrite = Box<dyn Fn(&ArrayRef) -> ArrayRef>;

/// Regression (NaN and nulls were read as values and reached the replay store; a negative `episode_index` was
/// accepted): each is refused, naming the file, the row and the column.
#[test]
fn nulls_non_finite_values_and_negative_indices_are_refused_naming_file_row_and_column() {
    let cfg = cell();
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, &str, &str, Rewrite, &str)> = vec![
        (
            "nan-state",
            DATA,
            "observation.state",
            Box::new(|c| set_f32_vec(c, 3, 2, Some(f32::NAN))),
            "row 3: value 2 is NaN",
        ),
        (
            "inf-action",
            DATA,
            "action",
            Box::new(|c| set_f32_vec(c, 7, 0, Some(f32::INFINITY))),
            "row 7: value 0 is inf",
        ),
        ("null-action", DATA, "action", Box::new(|c| set_f32_vec(c, 4, 0, None)), "row 4 is null"),
        ("null-episode", DATA, "episode_index", Box::new(|c| set_i64(c, 2, None)), "row 2 is null"),
        ("negative-episode", DATA, "episode_index", Box::new(|c| set_i64(c, 6, Some(-1))), "row 6: -1 is negative"),
        (
            "negative-meta-episode",
            EPISODES,
            "episode_index",
            Box::new(|c| set_i64(c, 1, Some(-3))),
            "row 1: -3 is negative",
        ),
        ("negative-length", EPISODES, "length", Box::new(|c| set_i64(c, 0, Some(-5))), "row 0: -5 is negative"),
        (
            "negative-stamp",
            DATA,
            "complementary_info.obs_stamp_ns",
            Box::new(|c| set_i64(c, 1, Some(-1))),
            "row 1: -1 is negative",
        ),
    ];
    for (name, file, column, f, what) in cases {
        let ds = exported(&cfg, tmp.path(), name);
        rewrite_column(&ds.join(file), column, f);
        let err = refused(&cfg, &ds);
        assert!(
            err.contains(&ds.join(file).display().to_string())
                && err.contains(&format!("column `{column}`"))
                && err.contains(what),
            "{name}: {err}"
        );
    }
}

/// A run directory whose store already holds episode id `u64::MAX` has no id left for imported episodes: the
/// import is refused with an error (it overflowed before).
#[test]
fn an_import_into_a_store_holding_episode_u64_max_is_refused() {
    let cfg = cell();
    let tmp = tempfile::tempdir().unwrap();
    let ds = exported(&cfg, tmp.path(), "ds");
    let run = tmp.path().join("run");
    record(&cfg, &run, 1, 2, u64::MAX);
    let err = dataset::import(&cfg, &ds, &run, &ImportOptions::default()).expect_err("refused").to_string();
    assert!(err.contains("no id is left"), "{err}");
}

/// The import streams a data table batch by batch (256 rows): episodes of 300 rows span batches and import exactly,
/// each row's `s'` the next row's observation and the last row of an episode its own.
#[test]
fn episodes_spanning_read_batches_import_exactly() {
    let cfg = cell();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let sent = record(&cfg, &src, 3, 300, 0);
    let ds = tmp.path().join("ds");
    dataset::export(&cfg, &src, &ds, &ExportOptions { buffer: BufferChoice::Demo, ..Default::default() }).unwrap();
    let run = tmp.path().join("run");
    let rep = dataset::import(&cfg, &ds, &run, &ImportOptions { as_demo: true, ..Default::default() }).unwrap();
    assert_eq!((rep.episodes, rep.transitions), (3, 900));
    let spec = interfaces::env::obs_spec(&cfg);
    let store = ReplayStore::open_read_only(run.join("replay"), &spec).unwrap();
    for (i, a) in sent.iter().enumerate() {
        let b = store.get(true, i).unwrap();
        let last = i % 300 == 299;
        assert_eq!((&a.obs, &a.action, a.reward, a.done), (&b.obs, &b.action, b.reward, b.done), "transition {i}");
        let next = if last { &a.obs } else { &a.next_obs };
        assert_eq!(next, &b.next_obs, "transition {i}: s'");
        assert_eq!(b.episode, (i / 300) as u64, "transition {i}: episode");
    }
}
