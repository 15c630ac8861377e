//! Starting from what the user has, through the commands: `corrigo bc` trains a policy on the first demonstrations
//! of a run directory, `corrigo eval` scores it, and the learner node pretrains offline (checkpointed) and learns a
//! residual on it as its base policy.

use tests::common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn corrigo(args: &[&str]) -> String {
    let out = Command::new(tests::corrigo_bin()).args(args).env("RUST_LOG", "warn").output().expect("run corrigo");
    assert!(
        out.status.success(),
        "corrigo {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn corrigo_bc_trains_a_base_that_the_learner_pretrains_a_residual_on() {
    let port = common::free_port();
    let mut cfg = common::reach_cell(port);
    let dir = tempfile::tempdir().unwrap();
    let (run, cell) = (dir.path().join("run"), dir.path().join("cell.toml"));
    common::write_cell(&cfg, &cell);
    let (run_s, cell_s) = (run.to_str().unwrap(), cell.to_str().unwrap());
    corrigo(&["record", "--scripted", "--episodes", "3", "--config", cell_s, "--run-dir", run_s]);
    let out = corrigo(&["bc", "--config", cell_s, "--run-dir", run_s, "--steps", "40", "--demos", "2"]);
    let base = run.join("bc_policy.safetensors");
    assert!(out.contains("2 demonstrations") && base.exists(), "corrigo bc said: {out}");
    assert!(!run.join("bc_policy.demos.tmp").exists(), "the scratch store is removed");
    let eval = corrigo(&[
        "--json",
        "eval",
        "--config",
        cell_s,
        "--run-dir",
        run_s,
        "--checkpoint",
        base.to_str().unwrap(),
        "--episodes",
        "2",
        "--seed",
        "3",
    ]);
    let v: serde_json::Value = serde_json::from_str(eval.lines().last().unwrap_or_default()).expect("eval JSON");
    assert_eq!(v["episodes"], 2, "the BC policy was evaluated: {v}");

    // The learner node: 6 pretraining cycles on the demos, a residual on the BC base; checkpointed before it
    // serves any cell, so a restart does not pretrain again.
    cfg.agent.pretrain_updates = Some(6);
    cfg.agent.base_policy = Some(base.display().to_string());
    let cfg = common::checked(cfg);
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let ckpt = run.join("checkpoint.safetensors");
    let read = |path: &std::path::Path| {
        agent::nn::weights::from_bytes(&std::fs::read(path).expect("checkpoint"), "checkpoint").expect("parse")
    };
    let mut actor_after_pretraining = None;
    for start in 0..2 {
        let stop = Arc::new(AtomicBool::new(false));
        let learner = common::start_learner(&bus, &cfg, &run, stop.clone(), 1.0, None);
        let t0 = Instant::now();
        while !(ckpt.exists() && run.join("policy.safetensors").exists()) {
            assert!(t0.elapsed() < Duration::from_secs(120), "start {start}: no checkpoint after pretraining");
            assert!(!learner.is_finished(), "start {start}: the learner stopped: {:?}", learner.join());
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Release);
        learner.join().unwrap().unwrap_or_else(|e| panic!("start {start}: {e}"));
        let c = read(&ckpt);
        assert_eq!(c.metadata.get("pretrained").map(String::as_str), Some("6"), "start {start}: six cycles");
        assert_eq!(
            c.metadata.get("updates").map(String::as_str),
            Some("0"),
            "start {start}: no online data, no update"
        );
        // The restart pretrains no further: its actor is the first start's, unchanged.
        let actor = c.get("actor.flat").expect("actor");
        match &actor_after_pretraining {
            None => actor_after_pretraining = Some(actor),
            Some(first) => assert!(first.equal(&actor), "the restart changed the pretrained actor"),
        }
    }
    // The policy the learner wrote acts on the base (it loads the base file itself).
    let mut policy = agent::sac::Policy::new(&cfg.agent, &interfaces::env::obs_spec(&cfg), tch::Device::Cpu).unwrap();
    policy.load_weights(&std::fs::read(run.join("policy.safetensors")).unwrap()).expect("residual policy weights");
}
