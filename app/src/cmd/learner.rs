//! `corrigo learner`: the headless training daemon.

use super::common::{BusArgs, ConfigArg, RunDirArg, json_output, open_bus, run_dir_help, stop_flag};
use agent::node::learner as learner_node;
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;
use std::time::Duration;

/// Arguments of `corrigo learner`.
#[derive(Args, Debug)]
#[command(mut_arg("run_dir", |a| a.help(run_dir_help(
    "Run directory (replay store, checkpoint, acknowledgement marks)"
))))]
pub struct LearnerArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    #[command(flatten)]
    run_dir: RunDirArg,
    /// Stop after this many update cycles.
    #[arg(long)]
    max_updates: Option<u64>,
    /// Update cycles per stored online transition, at most.
    #[arg(long, default_value_t = 1.0)]
    ratio: f64,
    /// Progress line period, seconds.
    #[arg(long, default_value_t = 5.0)]
    progress: f64,
    #[command(flatten)]
    bus: BusArgs,
}

/// Runs `corrigo learner`; returns the exit code.
pub fn run(args: LearnerArgs) -> Result<i32> {
    let cfg = args.bus.load(&args.cfg)?;
    let stop = stop_flag()?;
    let bus = open_bus(&cfg)?;
    let spec = interfaces::env::obs_spec(&cfg);
    let opts = learner_node::LearnerOptions {
        run_dir: args.run_dir.resolve(&cfg),
        max_updates_per_transition: args.ratio,
        max_updates: args.max_updates,
        progress_every: Some(Duration::from_secs_f64(args.progress.max(0.1))),
        json: json_output(),
    };
    let s = learner_node::run(&bus, &cfg, &spec, &opts, stop)?;
    println!(
        "learner: stored {} transitions ({} duplicates dropped), {} update cycles, weights v{}",
        s.stored, s.duplicates, s.updates, s.version
    );
    Ok(exit::OK)
}
