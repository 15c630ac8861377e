//! # tests
//!
//! corrigo's cross-crate and end-to-end tests live in this crate's `tests/` folder, one binary per theme:
//! `nodes` (actor and learner as processes, the bus environment, interventions, teleop recording, the controller
//! node, the reward classifier, intervention routing into the replay store), `learning` (learning in the
//! simulated cell), `hil` (every real-arm driver against its device emulator, with one step-response check) and
//! `camera_node` (the perception node's sources and faults). This library holds what they share.

pub mod common;
pub mod hil;

use std::path::{Path, PathBuf};

/// The workspace's root folder (holding `hardware_configs/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `corrigo` binary of the build these tests belong to: `target/<profile>/corrigo`, next to the folder of
/// the test binary (`target/<profile>/deps/`). `cargo test --workspace` builds it (the `corrigo` package has
/// integration tests of its own); panics with what to run when it is missing.
pub fn corrigo_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let bin = profile_dir.join("corrigo");
    assert!(
        bin.exists(),
        "{} is not built: run `cargo build -p corrigo` (or the whole suite with `cargo test --workspace`)",
        bin.display()
    );
    bin
}

/// `corrigo ARGS…` ([`corrigo_bin`]) with the test suites' log filter (`info`, zenoh at `warn`).
pub fn corrigo(args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(corrigo_bin());
    c.args(args).env("RUST_LOG", "info,zenoh=warn");
    c
}

/// A `corrigo learner` process for the cell config `cfg` on run directory `run`, a progress line every second,
/// its log (stderr) written to `log`.
pub fn spawn_learner(cfg: &Path, run: &Path, log: &Path) -> std::process::Child {
    let err = std::fs::File::create(log).expect("the learner's log file");
    let (cfg, run) = (cfg.to_str().expect("a UTF-8 config path"), run.to_str().expect("a UTF-8 run directory"));
    corrigo(&["learner", "--config", cfg, "--run-dir", run, "--progress", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(err)
        .spawn()
        .expect("start the learner")
}

/// A `corrigo actor` process for the cell config `cfg` with its run directory (spool) `run`: `steps` steps as fast
/// as the cell steps (`--fast`), waiting up to 600 s for the last acknowledgements; its stdout piped (the summary
/// line), its stderr discarded.
pub fn spawn_fast_actor(cfg: &Path, run: &Path, steps: u64) -> std::process::Child {
    let (cfg, run) = (cfg.to_str().expect("a UTF-8 config path"), run.to_str().expect("a UTF-8 run directory"));
    let steps = steps.to_string();
    corrigo(&["actor", "--config", cfg, "--run-dir", run, "--steps", &steps, "--fast", "--ack-wait", "600"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the actor")
}
