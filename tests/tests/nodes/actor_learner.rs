//! Actor and learner as two processes over loopback: weights arrive at the actor, every transition arrives at
//! the learner, and killing (`kill -9`) and restarting the learner three times neither loses nor duplicates a
//! transition while training resumes from its checkpoint.

use tests::common;

use agent::replay::ReplayStore;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tests::corrigo;

fn cell_config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("cell.toml");
    let mut cfg = common::reach_cell(port);
    cfg.agent.checkpoint_every = 10;
    common::write_cell(&cfg, &path);
    path
}

#[test]
fn actor_and_learner_processes_store_every_transition_once_across_learner_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let cfg = cell_config(dir.path(), port);
    let run = dir.path().join("run");
    let status = corrigo(&[
        "record",
        "--scripted",
        "--episodes",
        "2",
        "--config",
        cfg.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ])
    .status()
    .unwrap();
    assert!(status.success(), "recording demos");

    let mut learner = tests::spawn_learner(&cfg, &run, &dir.path().join("learner1.log"));
    let steps = 600;
    let actor_dir = dir.path().join("actor");
    let mut actor = tests::spawn_fast_actor(&cfg, &actor_dir, steps as u64);
    // Let training start and a checkpoint be written, then crash the learner.
    let ckpt = run.join("checkpoint.safetensors");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ckpt.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if !ckpt.exists() {
        let _ = actor.kill();
        let _ = learner.kill();
        let log1 = std::fs::read_to_string(dir.path().join("learner1.log")).unwrap_or_default();
        panic!("the learner wrote no checkpoint in 120 s; its log:\n{log1}");
    }
    // kill -9 at three moments: after the first checkpoint, then each time shortly after a restart had its store
    // open (some of them while it stores the actor's resends).
    let mut rng_ms = [700u64, 150, 1200].into_iter();
    for k in 2..=4 {
        learner.kill().unwrap();
        learner.wait().unwrap();
        let log = dir.path().join(format!("learner{k}.log"));
        learner = tests::spawn_learner(&cfg, &run, &log);
        if k == 4 {
            break;
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("replay store opened") {
            assert!(Instant::now() < deadline, "restart {k} opened no store in 120 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(rng_ms.next().unwrap_or(500)));
    }
    let deadline = Instant::now() + Duration::from_secs(240);
    let actor_status = loop {
        if let Some(s) = actor.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the actor finished");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    actor.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    // SIGINT only once the restarted learner is up (its handler installed and its store open).
    let log_path = dir.path().join("learner4.log");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log_path).unwrap_or_default().contains("resumed from") && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill").args(["-INT", &learner.id().to_string()]).status();
    let learner_status = learner.wait().unwrap();
    let log2 = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(learner_status.success(), "the learner stops cleanly on SIGINT ({learner_status}):\n{log2}");
    assert!(actor_status.success(), "every transition acknowledged: {out}");
    assert!(out.contains(&format!("actor: {steps} steps")), "{out}");
    assert!(out.contains(&format!("{steps} acknowledged")), "{out}");
    let version: u64 = out.rsplit("weights v").next().and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    assert!(version >= 1, "policy weights arrived at the actor: {out}");

    assert!(log2.contains("resumed from"), "the restarted learner resumes from its checkpoint:\n{log2}");

    let cfg_text = std::fs::read_to_string(&cfg).unwrap();
    let cell = interfaces::CellConfig::from_toml_str(&cfg_text, "cell.toml").unwrap();
    let spec = interfaces::env::obs_spec(&cell);
    let store = ReplayStore::open_read_only(run.join("replay"), &spec).unwrap();
    // Exactly once across the crashes: the records keep their actor session and number, and every restarted
    // learner raises its marks to what its store holds, so the actor's resends of records made durable before
    // a kill are dropped as duplicates.
    assert_eq!(store.online_len(), steps, "every transition stored exactly once");
    assert!(store.demo_len() > 0);
}
