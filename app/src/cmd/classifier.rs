//! `corrigo classifier`: trains a real cell's reward classifier from its recorded episodes.

use super::common::{ConfigArg, RunDirArg, run_dir_help};
use agent::train::classifier;
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;
use std::path::PathBuf;

/// Arguments of `corrigo classifier`.
#[derive(Args, Debug)]
#[command(mut_arg("run_dir", |a| a.help(run_dir_help(
    "Run directory whose replay store holds the episodes (recorded with `agent.use_images = true`)"
))))]
pub struct ClassifierArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    #[command(flatten)]
    run_dir: RunDirArg,
    /// Output file (default: `<run-dir>/classifier.safetensors`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Training steps.
    #[arg(long, default_value_t = 500)]
    steps: usize,
    /// Frames per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Success probability above which a frame counts as success.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
}

/// Runs `corrigo classifier`; returns the exit code ([`exit::USAGE`] for out-of-range settings).
pub fn run(args: ClassifierArgs) -> Result<i32> {
    let cfg = args.cfg.load()?;
    if !(0.0..=1.0).contains(&args.threshold) || args.steps == 0 || args.batch == 0 {
        eprintln!("error: --threshold must lie in [0, 1], --steps and --batch above 0");
        return Ok(exit::USAGE);
    }
    let run_dir = args.run_dir.resolve(&cfg);
    let out = args.out.clone().unwrap_or_else(|| run_dir.join("classifier.safetensors"));
    let opts = classifier::ClassifierOptions {
        run_dir,
        out: out.clone(),
        steps: args.steps,
        batch: args.batch,
        threshold: args.threshold,
        progress_every: 50,
    };
    let r = classifier::train(&cfg, &opts)?;
    let m = r.metrics;
    println!(
        "{}: held out {} success / {} other frames: precision {:.3}, recall {:.3}, accuracy {:.3} at \
         threshold {}; set `agent.reward_classifier = \"{}\"` to reward with it",
        out.display(),
        r.held_out.0,
        r.held_out.1,
        m.precision,
        m.recall,
        m.accuracy,
        args.threshold,
        out.display()
    );
    Ok(exit::OK)
}
