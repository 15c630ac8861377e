//! `corrigo run`: the simulated cell learning its task in one process (or the scripted pick with `--scripted`).

use super::common::{BusArgs, ConfigArg, RunDirArg, open_bus, run_dir_help, stop_flag};
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;
use std::time::Duration;

/// Arguments of `corrigo run`.
#[derive(Args, Debug)]
#[command(mut_arg("run_dir", |a| a.help(run_dir_help("Run directory (replay store, checkpoint)"))))]
pub struct RunArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Instead of learning: drive the arm through the 1 kHz real-time loop with the scripted pick, printing
    /// tracking error and loop statistics.
    #[arg(long)]
    scripted: bool,
    #[command(flatten)]
    run_dir: RunDirArg,
    /// Scripted demonstrations recorded on the first run.
    #[arg(long, default_value_t = 20)]
    demos: usize,
    /// Stop after this many environment steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Stop after this many seconds (scripted mode).
    #[arg(long)]
    seconds: Option<f64>,
    /// Run the simulation as fast as the CPU allows instead of at the policy rate.
    #[arg(long)]
    fast: bool,
    /// Simulated cells feeding the one learner (a fleet rehearsal: `<cell>_0 … <cell>_{N-1}`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    actors: u16,
    #[command(flatten)]
    bus: BusArgs,
}

/// Runs `corrigo run`; returns the exit code.
pub fn run(args: RunArgs) -> Result<i32> {
    let cfg = args.bus.load(&args.cfg)?;
    let stop = stop_flag()?;
    let bus = open_bus(&cfg)?;
    if args.scripted {
        let timeout = Duration::from_secs_f64(args.seconds.unwrap_or(60.0));
        let out = corrigo_app::run_scripted::run(&cfg, &bus, stop, Duration::from_secs(2), timeout)?;
        return Ok(if out.lifted { exit::OK } else { exit::FAILURE });
    }
    let opts = corrigo_app::run_training::RunOptions {
        run_dir: args.run_dir.resolve(&cfg),
        demos: args.demos,
        max_steps: args.steps,
        realtime: !args.fast,
        actors: usize::from(args.actors),
    };
    corrigo_app::run_training::run(&cfg, &bus, &opts, stop)?;
    Ok(exit::OK)
}
