//! `corrigo run`: the simulated cell learning its task in one process — scripted demonstrations on the first
//! run, then the actor and the learner as threads on one bus session (the same nodes `corrigo actor` and
//! `corrigo learner` run as separate processes), with progress lines on the terminal.
//!
//! With `actors > 1` it rehearses a fleet on one machine: that many simulated cells (`<cell>_0`, `<cell>_1`, …,
//! each its own MuJoCo world, seed and actor, on its own keys) and one learner serving them all (`[fleet]`).

use crate::nodes::env::{self, EnvChoice};
use agent::node::{actor as actor_node, learner as learner_node};
use agent::replay::{ReplayStore, StoreOptions};
use agent::train::expert::scripted_demos_with;
use anyhow::{Context, Result};
use bus::Bus;
use interfaces::CellConfig;
use interfaces::env::obs_spec;
use sim::SimEnv;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Records `n` scripted demonstrations into the demo buffer of the store in `run_dir` unless it already holds
/// some. Returns the number of demo transitions in the store. Must not run while a learner has the store open.
pub fn ensure_demos(cfg: &CellConfig, run_dir: &Path, n: usize, seed: u64) -> Result<usize> {
    let spec = obs_spec(cfg);
    // Looked at read only first: the learner opens the store for writing (and says so) afterwards.
    let have = ReplayStore::open_read_only(run_dir.join("replay"), &spec)?.demo_len();
    if have > 0 || n == 0 {
        return Ok(have);
    }
    let mut store = ReplayStore::open(run_dir.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent))?;
    println!("recording {n} scripted demonstrations of {:?} (first run only)…", cfg.task.kind);
    let mut env = SimEnv::new(cfg, seed ^ 0xde70)?;
    let mut bar = dataset::Progress::of("demos", n, "demos", true);
    let demos = scripted_demos_with(&mut env, n, 0.1, seed, &mut |k, _| bar.set(k))?;
    bar.finish();
    for (i, ep) in demos.iter().enumerate() {
        for t in &ep.transitions {
            store.append_demo(t)?;
        }
        println!("  demo {:>2}/{n}: {} steps, return {:.2}", i + 1, ep.transitions.len(), ep.episode_return);
    }
    store.flush()?;
    Ok(store.demo_len())
}

/// Settings of `corrigo run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run directory.
    pub run_dir: std::path::PathBuf,
    /// Scripted demonstrations recorded on the first run.
    pub demos: usize,
    /// Stop after this many environment steps.
    pub max_steps: Option<u64>,
    /// Pace the simulated cell at the policy rate.
    pub realtime: bool,
    /// Simulated cells (1: the cell itself; more: a fleet `<cell>_0 … <cell>_{N-1}` feeding one learner).
    pub actors: usize,
}

/// Names of the cells of a rehearsal fleet of `n` simulated cells of `cell` (`cell` itself when `n` is 1).
pub fn fleet_names(cell: &str, n: usize) -> Vec<String> {
    if n <= 1 { vec![cell.to_string()] } else { (0..n).map(|i| format!("{cell}_{i}")).collect() }
}

/// Runs demos (first run), learner and actor until `stop` is set or `max_steps` is reached.
pub fn run(cfg: &CellConfig, bus: &Bus, opts: &RunOptions, stop: Arc<AtomicBool>) -> Result<()> {
    std::fs::create_dir_all(&opts.run_dir).with_context(|| format!("creating {}", opts.run_dir.display()))?;
    let demos = ensure_demos(cfg, &opts.run_dir, opts.demos, cfg.task.seed)?;
    println!("run directory {} ({demos} demo transitions); Ctrl-C stops and checkpoints", opts.run_dir.display());
    let spec = obs_spec(cfg);
    let names = fleet_names(&cfg.cell.name, opts.actors);
    let mut learner_cfg = cfg.clone();
    if names.len() > 1 {
        learner_cfg.fleet.cells = names.clone();
        println!("fleet rehearsal: {} simulated cells ({}) feeding one learner", names.len(), names.join(", "));
    }
    let learner_stop = Arc::new(AtomicBool::new(false));
    let learner = {
        let (bus, cfg, stop) = (bus.clone(), learner_cfg, learner_stop.clone());
        let lo = learner_node::LearnerOptions {
            run_dir: opts.run_dir.clone(),
            max_updates_per_transition: 1.0,
            max_updates: None,
            progress_every: Some(Duration::from_secs(5)),
            json: false,
        };
        std::thread::Builder::new()
            .name("learner".into())
            .spawn(move || learner_node::run(&bus, &cfg, &spec, &lo, stop))
            .context("starting the learner thread")?
    };
    let mut actors = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let mut cell_cfg = cfg.clone();
        cell_cfg.cell.name = name.clone();
        let seed = cfg.task.seed.wrapping_add(i as u64);
        let spool_dir =
            if names.len() > 1 { opts.run_dir.join("spool").join(name) } else { opts.run_dir.join("spool") };
        let ao = actor_node::ActorOptions {
            actor_id: "actor-0".into(),
            seed,
            pace: opts.realtime,
            max_steps: opts.max_steps,
            spool_dir: spool_dir.join("actor-0"),
            spool: agent::delivery::SpoolOptions::from_config(&cfg.actor),
            random_steps: 0,
            final_ack_wait: Duration::from_secs(10),
        };
        let (bus, stop) = (bus.for_cell(name), stop.clone());
        // The panel's camera views: the first cell's cameras are published when a display shows them.
        let cameras = i == 0 && ui::display_available();
        actors.push(
            std::thread::Builder::new()
                .name(format!("actor {name}"))
                .spawn(move || {
                    // The simulated cell's renderers live on the thread that opens it.
                    let mut cell = env::open(&bus, &cell_cfg, EnvChoice::InProcess, seed, cameras)?;
                    actor_node::run(&bus, &cell_cfg, &ao, stop, cell.env.as_mut())
                })
                .context("starting an actor thread")?,
        );
    }
    if !opts.realtime {
        // Said on the panel too (repeated, for a panel that opens later): episodes there pass faster than a real
        // arm could run them.
        let text = "faster than real time: the simulated cell steps as fast as the CPU allows (--fast), not at the \
                    policy rate a real arm runs at";
        println!("{text}");
        let mut events =
            bus.for_cell(&names[0]).publisher::<interfaces::msg::Event>(interfaces::keys::EVENT, Some("run"))?;
        let stop = stop.clone();
        std::thread::Builder::new().name("fast notice".into()).spawn(move || {
            while !stop.load(Ordering::Acquire) {
                let _ = events.publish(&mut interfaces::msg::Event {
                    header: interfaces::msg::Header::now(),
                    node: "run".into(),
                    level: interfaces::msg::Level::Info,
                    text: text.into(),
                });
                for _ in 0..200 {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        })?;
    }
    if ui::display_available() {
        println!("operator panel: opening (closing the window stops the run)");
        let mut panel_cfg = cfg.clone();
        panel_cfg.cell.name = names[0].clone();
        match ui::run_panel_until(bus.for_cell(&names[0]), panel_cfg, Some(stop.clone())) {
            Ok(()) => stop.store(true, Ordering::Release),
            Err(e) => eprintln!("operator panel failed: {e}; the run goes on headless (Ctrl-C stops it)"),
        }
    } else {
        println!(
            "no display (DISPLAY and WAYLAND_DISPLAY are unset): running headless. Watch it from a machine with a \
             screen with `corrigo ui --connect tcp/<this-host>:7447`, or follow the progress lines here."
        );
    }
    let actor_results: Vec<_> =
        actors.into_iter().map(|a| a.join().map_err(|_| anyhow::anyhow!("an actor thread panicked"))).collect();
    learner_stop.store(true, Ordering::Release);
    let learner_result = learner.join().map_err(|_| anyhow::anyhow!("the learner thread panicked"))?;
    let mut a = actor_node::ActorSummary::default();
    for r in actor_results {
        let s = r??;
        a.steps += s.steps;
        a.episodes += s.episodes;
        a.successes += s.successes;
    }
    let l = learner_result?;
    println!(
        "stopped: {} env steps in {} episodes ({} successful), {} update cycles, weights v{}",
        a.steps, a.episodes, a.successes, l.updates, l.version
    );
    Ok(())
}
