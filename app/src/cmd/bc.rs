//! `corrigo bc`: trains a behaviour-cloned policy from a run directory's demonstrations (e.g. the frozen base of
//! residual RL, `agent.base_policy`).

use super::common::{ConfigArg, RunDirArg, run_dir_help};
use agent::train::bc::{BcOptions, train_bc};
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;
use std::path::PathBuf;

/// Arguments of `corrigo bc`.
#[derive(Args, Debug)]
#[command(mut_arg("run_dir", |a| a.help(run_dir_help(
    "Run directory whose replay store holds the demonstrations (state-based: agent.use_images = false)"
))))]
pub struct BcArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    #[command(flatten)]
    run_dir: RunDirArg,
    /// Output file (default: `<run-dir>/bc_policy.safetensors`); name it in `agent.base_policy` for residual RL.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Gradient steps.
    #[arg(long, default_value_t = 2000)]
    steps: u64,
    /// Use only the first N demonstrations (default: all).
    #[arg(long)]
    demos: Option<usize>,
}

/// Runs `corrigo bc`; returns the exit code.
pub fn run(args: BcArgs) -> Result<i32> {
    let cfg = args.cfg.load()?;
    if args.steps == 0 || args.demos == Some(0) {
        eprintln!("error: --steps and --demos must be at least 1");
        return Ok(exit::USAGE);
    }
    let run_dir = args.run_dir.resolve(&cfg);
    let out = args.out.clone().unwrap_or_else(|| run_dir.join("bc_policy.safetensors"));
    let opts = BcOptions { run_dir, out: out.clone(), steps: args.steps, max_demos: args.demos };
    let mut bar = dataset::Progress::of("behaviour cloning", args.steps as usize, "steps", true);
    let r = train_bc(&cfg, &opts, |i, _, _| bar.set(i as usize))?;
    bar.finish();
    println!(
        "{}: {} demonstrations ({} transitions), loss {:.3} (first tenth of the steps) → {:.3} (last tenth); \
         `corrigo eval --checkpoint {}` scores it, `--set 'agent.base_policy=\"{}\"'` learns a residual on it",
        out.display(),
        r.demos,
        r.transitions,
        r.loss_first,
        r.loss_last,
        out.display(),
        out.display()
    );
    Ok(exit::OK)
}
