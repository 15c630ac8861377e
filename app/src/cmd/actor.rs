//! `corrigo actor`: runs the newest policy and streams transitions to the learner.

use super::common::{BusArgs, ConfigArg, EnvArg, RunDirArg, open_bus, run_dir_help, stop_flag};
use agent::delivery::SpoolOptions;
use agent::node::actor;
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;
use corrigo_app::nodes::env;
use std::time::Duration;

/// Arguments of `corrigo actor`.
#[derive(Args, Debug)]
#[command(mut_arg("run_dir", |a| a.help(run_dir_help(
    "Run directory of this actor: its spool of unacknowledged transitions lives in `<run-dir>/spool/<id>`"
))))]
pub struct ActorArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    #[command(flatten)]
    run_dir: RunDirArg,
    /// Identity of this actor on the bus.
    #[arg(long, default_value = "actor-0")]
    id: String,
    /// Stop after this many environment steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Run the simulation as fast as the CPU allows instead of at the policy rate.
    #[arg(long)]
    fast: bool,
    #[command(flatten)]
    bus: BusArgs,
    /// Publish the simulated cameras for an operator panel (`corrigo ui`) (the in-process environment).
    #[arg(long)]
    cameras: bool,
    /// The environment: `sim` steps the simulated cell in this process; `bus` drives the cell's controller and
    /// cameras running as other nodes (`corrigo controller`, `corrigo camera`), a real arm or the simulated one.
    #[arg(long, value_enum, default_value_t = EnvArg::Sim)]
    env: EnvArg,
    /// At the end, wait at most this many seconds for the learner to acknowledge what is in flight (what is not
    /// stays in the spool and is resent on the next start).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    ack_wait: f64,
}

/// Runs `corrigo actor`; returns the exit code ([`exit::FAILURE`] when transitions are left unacknowledged in the
/// spool).
pub fn run(args: ActorArgs) -> Result<i32> {
    let cfg = args.bus.load(&args.cfg)?;
    let stop = stop_flag()?;
    let bus = open_bus(&cfg)?;
    let mut cell = env::open(&bus, &cfg, args.env.into(), cfg.task.seed, args.cameras)?;
    let opts = actor::ActorOptions {
        actor_id: args.id.clone(),
        seed: cfg.task.seed,
        pace: !args.fast && cell.needs_pacing,
        max_steps: args.steps,
        spool_dir: args.run_dir.resolve(&cfg).join("spool").join(&args.id),
        spool: SpoolOptions::from_config(&cfg.actor),
        random_steps: 0,
        final_ack_wait: Duration::from_secs_f64(args.ack_wait.clamp(0.0, 86_400.0)),
    };
    let s = actor::run(&bus, &cfg, &opts, stop, cell.env.as_mut())?;
    // What was refused, on a line of its own before the summary: the summary line (`actor: N steps, …, weights vN`)
    // is parsed by the benchmarks and tests, and stays the last line of a run that delivered everything.
    println!(
        "actor refused: {} acknowledgements, {} weights, {} commands; {} non-finite transitions not sent",
        s.acks_refused, s.weights_refused, s.commands_refused, s.non_finite_steps
    );
    println!(
        "actor: {} steps, {} episodes ({} successful), {} acknowledged, {} resent, weights v{}",
        s.steps, s.episodes, s.successes, s.acked, s.resent, s.policy_version
    );
    if s.spooled > 0 {
        println!(
            "actor: {} transitions are not acknowledged yet; they stay in the spool {} and are resent on the next start",
            s.spooled,
            opts.spool_dir.display()
        );
    }
    Ok(if s.spooled == 0 { exit::OK } else { exit::FAILURE })
}
