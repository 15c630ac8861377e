//! `corrigo record`: demonstrations into a run directory's demo buffer, scripted or teleoperated.

use super::common::{BusArgs, ConfigArg, EnvArg, RunDirArg, open_bus, run_dir_help, stop_flag};
use agent::node::recorder;
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;
use corrigo_app::nodes::env;

/// Arguments of `corrigo record`.
#[derive(Args, Debug)]
#[command(mut_arg("run_dir", |a| a.help(run_dir_help(
    "Run directory whose demo buffer receives them (no learner may have it open)"
))))]
pub struct RecordArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Use the simulator's scripted expert (with noise); only successful episodes are kept.
    #[arg(long, required_unless_present = "teleop", conflicts_with = "teleop")]
    scripted: bool,
    /// A human teleoperates the simulated cell (run `corrigo teleop --device …` or the panel beside it); only
    /// episodes marked successful are kept.
    #[arg(long)]
    teleop: bool,
    /// With --teleop: publish the simulated cameras for the operator panel.
    #[arg(long)]
    cameras: bool,
    /// With --teleop, the environment: `sim` (the simulated cell in this process) or `bus` (a cell whose
    /// controller and cameras are other nodes: a real arm, or the simulated one under `corrigo controller`).
    #[arg(long, value_enum, default_value_t = EnvArg::Sim, requires = "teleop")]
    env: EnvArg,
    // With --teleop: the bus endpoints (`--scripted` opens no bus).
    #[command(flatten)]
    bus: BusArgs,
    /// Demonstrations to record.
    #[arg(long, default_value_t = 20)]
    episodes: usize,
    #[command(flatten)]
    run_dir: RunDirArg,
}

/// Runs `corrigo record`; returns the exit code ([`exit::FAILURE`] when fewer teleoperated demonstrations than
/// asked for were kept).
pub fn run(args: RecordArgs) -> Result<i32> {
    let cfg = args.bus.load(&args.cfg)?;
    let run_dir = args.run_dir.resolve(&cfg);
    if args.teleop {
        let stop = stop_flag()?;
        let bus = open_bus(&cfg)?;
        let opts = recorder::HumanRecordOptions {
            run_dir: run_dir.clone(),
            episodes: args.episodes,
            seed: cfg.task.seed ^ 0x4d,
        };
        let mut cell = env::open(&bus, &cfg, args.env.into(), opts.seed, args.cameras)?;
        let s = recorder::run(&cfg, &bus, &opts, stop, cell.env.as_mut(), cell.needs_pacing)?;
        println!(
            "{}: {} demonstrations kept ({} transitions), {} discarded",
            run_dir.display(),
            s.kept,
            s.transitions,
            s.discarded
        );
        if s.commands_refused > 0 {
            println!(
                "record: {} commands refused (a key that may not carry them, e.g. a reset on teleop/episode)",
                s.commands_refused
            );
        }
        return Ok(if s.kept == args.episodes { exit::OK } else { exit::FAILURE });
    }
    let n = corrigo_app::run_training::ensure_demos(&cfg, &run_dir, args.episodes, cfg.task.seed)?;
    println!("{}: {n} demonstration transitions in the demo buffer", run_dir.display());
    Ok(exit::OK)
}
