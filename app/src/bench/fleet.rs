//! `corrigo bench fleet`: wall-clock time to a target evaluation success with a fleet of simulated cells feeding
//! one learner, against the same with one cell, with the same learner settings.
//!
//! Each fleet size runs on its own: demonstrations recorded once per run directory (scripted, `demos` of them),
//! then `n` simulated cells (`<cell>_0 …`), each with its own MuJoCo world, seed and actor **paced at the policy
//! rate** as a real arm would be, and one learner serving them all (`[fleet]`), in one process on one bus
//! session. Every `eval_every` of wall-clock time the newest published policy is evaluated (deterministic, on a
//! separate simulated cell, `eval_episodes` episodes); the run ends at the first evaluation at or above `target`
//! or when `budget` has passed. Printed: for each size the time to the target (from the first acting step), the
//! fleet's environment steps and the learner's update cycles by then, and the ratio of each size's time to the
//! first size's. The sizes run one after the other (a run is minutes long; nothing else should load the machine).

use agent::node::{actor as actor_node, learner as learner_node};
use agent::train::eval::evaluate;
use anyhow::{Context, Result};
use interfaces::CellConfig;
use interfaces::config::DriverConfig;
use interfaces::keys::{POLICY_WEIGHTS, TRANSITIONS};
use interfaces::msg_training::{PolicyWeights, TransitionMsg};
use sim::SimEnv;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Settings of the benchmark.
#[derive(Debug, Clone)]
pub struct FleetBench {
    /// Fleet sizes to run, in order (the smallest one is the reference of the ratio).
    pub sizes: Vec<usize>,
    /// Evaluation success that ends a run, 0–1.
    pub target: f64,
    /// Wall-clock time between evaluations.
    pub eval_every: Duration,
    /// Episodes per evaluation.
    pub eval_episodes: u64,
    /// Longest run per size.
    pub budget: Duration,
    /// Scripted demonstrations recorded into each run directory.
    pub demos: usize,
    /// Seed of the learner, the cells and the evaluation.
    pub seed: u64,
    /// Working directory (one run directory per size).
    pub work: PathBuf,
}

/// What one fleet size reached.
#[derive(Debug, Clone)]
struct SizeResult {
    cells: usize,
    /// `(seconds, env steps, update cycles, success)` at the first evaluation at or above the target.
    reached: Option<(f64, u64, u64, f64)>,
    best: f64,
    elapsed: f64,
    steps: u64,
}

/// Runs the benchmark, printing a line per evaluation and a summary table.
pub fn run(base: &CellConfig, b: &FleetBench) -> Result<()> {
    let mut cfg = base.clone();
    cfg.agent.use_images = false;
    cfg.driver = DriverConfig::Sim { timestep: 0.001, realtime: false };
    // One in-process session: nothing listens, nothing is joined.
    cfg.bus.listen = Vec::new();
    cfg.bus.connect = Vec::new();
    cfg.bus.multicast_scouting = false;
    println!(
        "corrigo bench fleet: {:?}, state-based, reward {:?}, actors paced at {} Hz; target {:.0} % over {} \
         evaluation episodes every {:.0} s; budget {:.0} min per size; {} demos; learner: ≤ 1 update cycle per \
         stored transition, batch {}, hidden {:?}, device {:?}",
        cfg.task.kind,
        cfg.task.reward,
        cfg.task.policy_hz,
        100.0 * b.target,
        b.eval_episodes,
        b.eval_every.as_secs_f64(),
        b.budget.as_secs_f64() / 60.0,
        b.demos,
        cfg.agent.batch_size,
        cfg.agent.hidden,
        agent::default_device()
    );
    let mut results = Vec::new();
    for &n in &b.sizes {
        println!("\n{n} cell(s):");
        results.push(run_size(&cfg, b, n)?);
    }
    println!(
        "\nsummary (time from the first acting step to the first evaluation ≥ {:.0} %; ratio: against the smallest \
         fleet run):",
        100.0 * b.target
    );
    println!(
        "  {:>5} {:>12} {:>12} {:>10} {:>9} {:>14}",
        "cells", "time s", "env steps", "updates", "success", "ratio vs fewest"
    );
    // The reference of the ratio: the smallest fleet run (one cell, normally).
    let reference = results.iter().min_by_key(|r| r.cells).map(|r| r.cells);
    let first = results.iter().find(|r| Some(r.cells) == reference).and_then(|r| r.reached.map(|x| x.0));
    for r in &results {
        match r.reached {
            Some((t, steps, updates, s)) => println!(
                "  {:>5} {:>12.0} {:>12} {:>10} {:>8.0}% {:>14}",
                r.cells,
                t,
                steps,
                updates,
                100.0 * s,
                first.map_or("–".into(), |f| format!("{:.2}×", t / f))
            ),
            None => println!(
                "  {:>5} not reached in {:.0} s ({} env steps, best {:.0} %)",
                r.cells,
                r.elapsed,
                r.steps,
                100.0 * r.best
            ),
        }
    }
    Ok(())
}

fn run_size(cfg: &CellConfig, b: &FleetBench, n: usize) -> Result<SizeResult> {
    let run_dir = b.work.join(format!("cells-{n}"));
    if run_dir.exists() {
        std::fs::remove_dir_all(&run_dir).with_context(|| format!("clearing {}", run_dir.display()))?;
    }
    let demos = crate::run_training::ensure_demos(cfg, &run_dir, b.demos, b.seed)?;
    println!("  {demos} demo transitions in {}", run_dir.display());
    let names = crate::run_training::fleet_names(&cfg.cell.name, n);
    let mut learner_cfg = cfg.clone();
    learner_cfg.task.seed = b.seed;
    if n > 1 {
        learner_cfg.fleet.cells = names.clone();
    }
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name)?;
    let weights = bus.for_cell(&names[0]).subscribe::<PolicyWeights>(POLICY_WEIGHTS, None)?;
    let sent: Vec<_> = names
        .iter()
        .map(|c| bus.for_cell(c).subscribe::<TransitionMsg>(TRANSITIONS, None))
        .collect::<Result<_, _>>()?;
    let spec = interfaces::env::obs_spec(cfg);
    let learner_stop = Arc::new(AtomicBool::new(false));
    let learner = {
        let (bus, stop, spec) = (bus.clone(), learner_stop.clone(), spec.clone());
        let lo = learner_node::LearnerOptions {
            run_dir: run_dir.clone(),
            max_updates_per_transition: 1.0,
            max_updates: None,
            progress_every: None,
            json: false,
        };
        std::thread::Builder::new()
            .name("learner".into())
            .spawn(move || learner_node::run(&bus, &learner_cfg, &spec, &lo, stop))?
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut actors = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut c = cfg.clone();
        c.cell.name = name.clone();
        let seed = b.seed.wrapping_mul(1000).wrapping_add(i as u64);
        let ao = actor_node::ActorOptions {
            actor_id: "actor-0".into(),
            seed,
            pace: true,
            max_steps: None,
            spool_dir: run_dir.join("spool").join(name),
            spool: agent::delivery::SpoolOptions::from_config(&c.actor),
            random_steps: 0,
            final_ack_wait: Duration::from_secs(5),
        };
        let (bus, stop) = (bus.for_cell(name), stop.clone());
        actors.push(std::thread::Builder::new().name(format!("actor {name}")).spawn(move || {
            let mut env = SimEnv::new(&c, seed)?;
            actor_node::run(&bus, &c, &ao, stop, &mut env)
        })?);
    }
    let mut eval_env = SimEnv::new(cfg, b.seed ^ 0xe7a1)?;
    let mut policy = agent::sac::Policy::new(&cfg.agent, &spec, tch::Device::Cpu)?;
    println!("  {:>8} {:>10} {:>8} {:>28}", "wall s", "env steps", "updates", "success [95% CI]");
    let mut steps = 0u64;
    let mut started: Option<Instant> = None;
    let mut result = SizeResult { cells: n, reached: None, best: 0.0, elapsed: 0.0, steps: 0 };
    let t0 = Instant::now();
    let mut next_eval = t0 + b.eval_every;
    let mut latest: Option<PolicyWeights> = None;
    loop {
        for s in &sent {
            while s.try_recv().is_some() {
                steps += 1;
                started.get_or_insert_with(Instant::now);
            }
        }
        if let Some(w) = weights.latest() {
            latest = Some(w.msg);
        }
        let since = started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        if since > b.budget.as_secs_f64() || actors.iter().any(|a| a.is_finished()) || learner.is_finished() {
            result.elapsed = since;
            break;
        }
        if Instant::now() < next_eval || started.is_none() {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        next_eval = Instant::now() + b.eval_every;
        let Some(w) = &latest else { continue };
        policy.load_weights(&w.safetensors)?;
        let (rate, _) = evaluate(&mut eval_env, &mut policy, b.eval_episodes)?;
        // The evaluation's moment: the weights it used were published before it began.
        println!("  {:>8.0} {:>10} {:>8} {:>28}", since, steps, w.updates, rate.to_string());
        result.best = result.best.max(rate.rate());
        if rate.rate() >= b.target {
            result.reached = Some((since, steps, w.updates, rate.rate()));
            result.elapsed = since;
            break;
        }
    }
    result.steps = steps;
    stop.store(true, Ordering::Release);
    for a in actors {
        match a.join() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => println!("  an actor failed: {e:#}"),
            Err(_) => println!("  an actor panicked"),
        }
    }
    learner_stop.store(true, Ordering::Release);
    match learner.join() {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => println!("  the learner failed: {e:#}"),
        Err(_) => println!("  the learner panicked"),
    }
    Ok(result)
}
