//! What a run leaves behind: `metrics.jsonl` and `episodes.jsonl` appended across a learner restart (nothing
//! rewritten, nothing repeated), the same samples as TensorBoard scalars read back by TensorBoard's loader, and `corrigo eval` on the learner's policy giving the same result on the same
//! seed twice, each appended to `evals.jsonl`.

use tests::common;

use agent::node::actor as actor_node;
use agent::node::runlog;
use interfaces::CellConfig;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn learner(bus: &bus::Bus, cfg: &CellConfig, run_dir: &Path, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let l = common::start_learner(bus, cfg, run_dir, stop, 1.0, Some(Duration::from_millis(200)));
    std::thread::spawn(move || {
        l.join().expect("learner thread").expect("learner");
    })
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p).unwrap_or_default().lines().map(str::to_string).collect()
}

fn wait_lines(p: &Path, more_than: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while lines(p).len() <= more_than {
        assert!(Instant::now() < deadline, "{} never grew past {more_than} lines", p.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn run_logs_append_across_a_learner_restart_and_eval_repeats_on_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::reach_cell(common::free_port());
    let cfg_path = dir.path().join("cell.toml");
    common::write_cell(&cfg, &cfg_path);
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let run = dir.path().join("run");
    let (metrics, episodes) = (run.join("metrics.jsonl"), run.join("episodes.jsonl"));
    // First learner: an actor's 70 steps (two reach episodes and more), then stop (checkpoint + policy).
    let stop = Arc::new(AtomicBool::new(false));
    let first = learner(&bus, &cfg, &run, stop.clone());
    let opts = common::random_actor(&cfg, &dir.path().join("spool"), 70, 4, false, Duration::from_secs(180));
    let mut env = sim::SimEnv::new(&cfg, 4).expect("sim");
    let a = actor_node::run(&bus, &cfg, &opts, Arc::new(AtomicBool::new(false)), &mut env).expect("actor");
    assert_eq!(a.acked, 70);
    wait_lines(&episodes, a.episodes as usize - 1);
    wait_lines(&metrics, 1);
    stop.store(true, Ordering::Release);
    first.join().unwrap();
    let (m1, e1) = (lines(&metrics), lines(&episodes));
    assert_eq!(e1.len() as u64, a.episodes, "every episode report kept");
    // Second learner on the same run directory: it appends.
    let stop = Arc::new(AtomicBool::new(false));
    let second = learner(&bus, &cfg, &run, stop.clone());
    wait_lines(&metrics, m1.len() + 1);
    stop.store(true, Ordering::Release);
    second.join().unwrap();
    let m2 = lines(&metrics);
    assert_eq!(m2[..m1.len()], m1[..], "the first learner's samples are kept as they were");
    assert_eq!(lines(&episodes), e1);
    let (values, skipped) = runlog::read(&metrics).expect("read");
    assert_eq!((values.len(), skipped), (m2.len(), 0), "every line is a JSON object");
    let mut unique = m2.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), m2.len(), "no sample written twice");
    assert!(values.iter().all(|v| v["updates"].is_u64() && v["time_unix_s"].is_f64()));
    assert!(values.last().is_some_and(|v| v["online_size"] == 70));
    // The same samples as TensorBoard scalars, one event file per learner start, read by TensorBoard's own loader.
    let tb = run.join("tb");
    assert_eq!(std::fs::read_dir(&tb).expect("tb/").count(), 2, "one event file per start");
    let python = match std::env::var("CORRIGO_VENV_PYTHON") {
        Ok(p) if Path::new(&p).exists() => p,
        _ => panic!("the project's Python virtualenv is missing: run `make setup` (scripts/setup.sh) first"),
    };
    let out = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tb_reader.py"))
        .arg(&tb)
        .output()
        .expect("run the TensorBoard reader (tensorboard is installed into .venv by scripts/setup.sh)");
    assert!(out.status.success(), "TensorBoard's loader refused the files: {}", String::from_utf8_lossy(&out.stderr));
    let scalars: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let online: Vec<(u64, f64)> = scalars["replay/online"]
        .as_array()
        .expect("the replay/online series")
        .iter()
        .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let want: Vec<(u64, f64)> =
        values.iter().map(|v| (v["step"].as_u64().unwrap(), v["online_size"].as_f64().unwrap())).collect();
    assert_eq!(online, want, "every metrics sample once, in order, across the restart");
    assert_eq!(scalars["learner/updates"].as_array().map(Vec::len), Some(values.len()));

    // The learner's policy, evaluated twice on the same seed: the same outcome, appended each time.
    let eval = || {
        let out = Command::new(tests::corrigo_bin())
            .args(["--json", "eval", "--config", cfg_path.to_str().unwrap(), "--run-dir", run.to_str().unwrap()])
            .args(["--episodes", "3", "--seed", "11"])
            .env("RUST_LOG", "warn")
            .output()
            .expect("corrigo eval");
        assert!(out.status.success(), "eval failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or_default()).expect("JSON");
        v
    };
    let (x, y) = (eval(), eval());
    assert_eq!(x["episodes"], 3);
    assert_eq!(x["per_episode"].as_array().map(Vec::len), Some(3));
    for k in ["successes", "success_rate", "success_ci95", "return_mean", "length_mean", "updates"] {
        assert_eq!(x[k], y[k], "{k} differs between two evaluations on the same seed");
    }
    let returns = |v: &serde_json::Value| -> Vec<f64> {
        v["per_episode"].as_array().unwrap().iter().map(|e| e["episode_return"].as_f64().unwrap()).collect()
    };
    assert_eq!(returns(&x), returns(&y));
    assert_eq!(lines(&run.join("evals.jsonl")).len(), 2);
}
