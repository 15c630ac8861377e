//! Shared by the cross-crate tests: typed cells built from the shipped configs (a small, fast `reach` cell on a
//! private loopback bus port; the Dynamixel arm on an emulator's port), written as TOML for the tests that start
//! processes.

use interfaces::CellConfig;
use interfaces::config::{DriverConfig, TaskKind};
use std::path::Path;

/// A shipped config, `hardware_configs/<file>`, parsed and validated.
pub fn shipped(file: &str) -> CellConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hardware_configs").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    CellConfig::from_toml_str(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// Points the cell's bus (peer listening and connecting) at loopback `port`.
pub fn on_port(cfg: &mut CellConfig, port: u16) {
    let ep = format!("tcp/127.0.0.1:{port}");
    cfg.bus.listen = vec![ep.clone()];
    cfg.bus.connect = vec![ep];
}

/// `hardware_configs/sim_panda.toml` turned into a quick `reach` cell: bus on `port`, 3 s episodes, the
/// simulation as fast as possible, a small learner (batch 32, hidden [32, 32], weights every 5 updates).
pub fn reach_cell(port: u16) -> CellConfig {
    let mut cfg = shipped("sim_panda.toml");
    on_port(&mut cfg, port);
    cfg.task.kind = TaskKind::Reach;
    cfg.task.episode_time_s = 3.0;
    let DriverConfig::Sim { realtime, .. } = &mut cfg.driver else { panic!("sim_panda.toml drives no sim arm") };
    *realtime = false;
    cfg.agent.batch_size = 32;
    cfg.agent.hidden = vec![32, 32];
    cfg.agent.publish_every = 5;
    checked(cfg)
}

/// `cfg` after validation (a test that edits a cell into an invalid one fails here, naming the problems).
pub fn checked(cfg: CellConfig) -> CellConfig {
    let problems = cfg.validate();
    assert!(problems.is_empty(), "the test's cell is invalid: {problems:?}");
    cfg
}

/// Writes `cfg` as a TOML file for a process to read.
pub fn write_cell(cfg: &CellConfig, path: &Path) {
    let text = checked(cfg.clone()).to_toml_string().expect("the cell as TOML");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A learner thread on `bus` for the cell `cfg` with its run directory `run_dir`, until `stop` is raised: at most
/// `ratio` update cycles per stored transition, a metrics sample every `progress` (printed as JSON lines; `None`:
/// none). The thread's result is the learner's summary or its error as text.
pub fn start_learner(
    bus: &bus::Bus,
    cfg: &CellConfig,
    run_dir: &Path,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ratio: f64,
    progress: Option<std::time::Duration>,
) -> std::thread::JoinHandle<Result<agent::node::learner::LearnerSummary, String>> {
    let (bus, cfg) = (bus.clone(), cfg.clone());
    let spec = interfaces::env::obs_spec(&cfg);
    let lo = agent::node::learner::LearnerOptions {
        run_dir: run_dir.to_path_buf(),
        max_updates_per_transition: ratio,
        max_updates: None,
        progress_every: progress,
        json: true,
    };
    std::thread::spawn(move || agent::node::learner::run(&bus, &cfg, &spec, &lo, stop).map_err(|e| format!("{e:#}")))
}

/// The options of an actor of cell `cfg` that acts randomly for all its `steps` steps (`seed`), its spool in
/// `spool_dir`, paced at the policy rate when `pace`, waiting at most `ack_wait` for the learner's last
/// acknowledgements.
pub fn random_actor(
    cfg: &CellConfig,
    spool_dir: &Path,
    steps: u64,
    seed: u64,
    pace: bool,
    ack_wait: std::time::Duration,
) -> agent::node::actor::ActorOptions {
    agent::node::actor::ActorOptions {
        actor_id: "actor-0".into(),
        seed,
        pace,
        max_steps: Some(steps),
        spool_dir: spool_dir.to_path_buf(),
        spool: agent::delivery::SpoolOptions::from_config(&cfg.actor),
        random_steps: steps,
        final_ack_wait: ack_wait,
    }
}
