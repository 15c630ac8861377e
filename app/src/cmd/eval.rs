//! `corrigo eval`: the deterministic policy of a run evaluated on the cell, never trained on.

use super::common::{BusArgs, ConfigArg, EnvArg, RunDirArg, json_output, open_bus, run_dir_help};
use agent::node::runlog::{JsonLines, unix_now};
use agent::train::eval::{SuccessRate, evaluate_episodes};
use anyhow::{Context, Result};
use clap::Args;
use corrigo_app::exit;
use corrigo_app::nodes::env::{self, EnvChoice};
use std::path::PathBuf;

/// Arguments of `corrigo eval`.
#[derive(Args, Debug)]
#[command(mut_arg("run_dir", |a| a.help(run_dir_help(
    "Run directory: its policy is evaluated and the result appended to <run-dir>/evals.jsonl"
))))]
pub struct EvalArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    #[command(flatten)]
    run_dir: RunDirArg,
    /// Policy weights to evaluate (default: `<run-dir>/policy.safetensors`, written by the learner with every
    /// checkpoint).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Episodes.
    #[arg(long, default_value_t = 20)]
    episodes: u64,
    /// Seed of the episodes (the same seed gives the same scenes).
    #[arg(long)]
    seed: Option<u64>,
    /// The environment: `sim` steps the simulated cell in this process; `bus` drives the cell's controller and
    /// cameras as other nodes (a real cell: success from the reward classifier or the operator's labels).
    #[arg(long, value_enum, default_value_t = EnvArg::Sim)]
    env: EnvArg,
    #[command(flatten)]
    bus: BusArgs,
    /// Several run directories (one per seed of a setting), comma-separated: each one's policy evaluated on the
    /// same episodes, then the interquartile mean of their success rates with its 95 % bootstrap interval over
    /// the runs, and each run's value.
    #[arg(long, value_delimiter = ',', conflicts_with = "checkpoint")]
    runs: Vec<PathBuf>,
}

/// Runs `corrigo eval`; returns the exit code.
pub fn run(args: EvalArgs) -> Result<i32> {
    let cfg = args.bus.load(&args.cfg)?;
    if args.episodes == 0 {
        eprintln!("error: --episodes must be at least 1");
        return Ok(exit::USAGE);
    }
    if !args.runs.is_empty() {
        let mut rates = Vec::new();
        for dir in &args.runs {
            let (k, n) = eval_one(&args, &cfg, dir, &dir.join("policy.safetensors"))?;
            rates.push((dir.clone(), k as f64 / n as f64));
        }
        let values: Vec<f64> = rates.iter().map(|r| r.1).collect();
        let (lo, hi) = agent::train::eval::iqm_bootstrap_95(&values, 10_000, 1);
        println!(
            "{} runs: interquartile mean of the success rates {:.0}% [{:.0}–{:.0}%] (95% bootstrap over the runs); \
             per run: {}",
            rates.len(),
            100.0 * agent::train::eval::interquartile_mean(&values),
            100.0 * lo,
            100.0 * hi,
            rates.iter().map(|(d, r)| format!("{} {:.0}%", d.display(), 100.0 * r)).collect::<Vec<_>>().join(", ")
        );
        return Ok(exit::OK);
    }
    let run_dir = args.run_dir.resolve(&cfg);
    let weights = args.checkpoint.clone().unwrap_or_else(|| run_dir.join("policy.safetensors"));
    eval_one(&args, &cfg, &run_dir, &weights)?;
    Ok(exit::OK)
}

/// Evaluates the policy `weights` for the run directory `run_dir` (printing and appending the result to its
/// `evals.jsonl`); `(successes, episodes)`.
fn eval_one(
    args: &EvalArgs,
    cfg: &interfaces::CellConfig,
    run_dir: &std::path::Path,
    weights: &std::path::Path,
) -> Result<(u64, u64)> {
    let cfg = cfg.clone();
    let bytes = std::fs::read(weights).with_context(|| {
        format!(
            "reading the policy {} (the learner writes <run-dir>/policy.safetensors with every checkpoint; \
             is this the run directory of a learner that has checkpointed?)",
            weights.display()
        )
    })?;
    let spec = interfaces::env::obs_spec(&cfg);
    let mut policy = agent::sac::Policy::new(&cfg.agent, &spec, tch::Device::Cpu)?;
    policy.load_weights(&bytes).with_context(|| format!("loading the policy {}", weights.display()))?;
    let seed = args.seed.unwrap_or(cfg.task.seed);
    let choice: EnvChoice = args.env.into();
    let bus = if choice == EnvChoice::Bus { Some(open_bus(&cfg)?) } else { None };
    let mut sim;
    let mut cell;
    let e: &mut dyn interfaces::env::Env = match &bus {
        None => {
            sim = sim::SimEnv::new(&cfg, seed).context("opening the simulated cell")?;
            &mut sim
        }
        Some(b) => {
            cell = env::open(b, &cfg, choice, seed, false)?;
            cell.env.as_mut()
        }
    };
    let json = json_output();
    eprintln!(
        "evaluating {} (policy after {} updates): {} episodes, seed {seed}, deterministic, not trained on",
        weights.display(),
        policy.version(),
        args.episodes
    );
    let n = args.episodes;
    let mut bar = dataset::Progress::of("eval", n as usize, "episodes", true);
    let outcomes = evaluate_episodes(e, &mut policy, n, &mut |done, _| bar.set(done as usize))?;
    bar.finish();
    let successes = outcomes.iter().filter(|o| o.success).count() as u64;
    let rate = SuccessRate::new(successes, n);
    let mean = |f: &dyn Fn(&agent::train::eval::EpisodeOutcome) -> f64| outcomes.iter().map(f).sum::<f64>() / n as f64;
    let ret = mean(&|o| o.episode_return);
    let len = mean(&|o| o.length as f64);
    let cycle = mean(&|o| o.cycle_ms);
    let record = serde_json::json!({
        "time_unix_s": unix_now(),
        "policy": weights.display().to_string(),
        "updates": policy.version(),
        "episodes": n,
        "seed": seed,
        "env": format!("{:?}", args.env).to_lowercase(),
        "successes": successes,
        "success_rate": rate.rate(),
        "success_ci95": [rate.lo, rate.hi],
        "return_mean": ret,
        "length_mean": len,
        "cycle_ms_mean": cycle,
        "per_episode": outcomes,
    });
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let mut log = JsonLines::open(run_dir.join("evals.jsonl"));
    log.append(&record, &[]);
    if json {
        println!("{record}");
    } else {
        println!(
            "success {rate} (Wilson 95% interval), return {ret:.2}, episode length {len:.1} steps, cycle {cycle:.1} ms; \
             appended to {}",
            log.path().display()
        );
    }
    Ok((successes, n))
}
