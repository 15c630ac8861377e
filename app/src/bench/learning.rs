//! `corrigo bench learning`: `pick_cube` from 20 scripted demonstrations, state-based and image-based (two
//! 128×128 cameras), printing the evaluation success rate (with its 95% interval) and wall-clock time every
//! `eval_every` environment steps.

use crate::training::sim_env::SimEnv;
use crate::training::trainer::{TrainOptions, train};
use anyhow::Result;
use interfaces::CellConfig;
use interfaces::config::{DriverConfig, TaskKind};
use std::time::Duration;

/// Settings of the benchmark.
#[derive(Debug, Clone)]
pub struct LearningBench {
    /// Environment-step budget per variant.
    pub env_steps: u64,
    /// Evaluate every this many steps.
    pub eval_every: u64,
    /// Episodes per evaluation.
    pub eval_episodes: u64,
    /// Wall-clock budget of the image-based variant.
    pub image_budget: Duration,
    /// Run the state-based variant.
    pub state: bool,
    /// Run the image-based variant.
    pub images: bool,
}

/// Runs the benchmark and prints the curves.
pub fn run(base: &CellConfig, b: &LearningBench) -> Result<()> {
    let device = agent::default_device();
    println!("learning benchmark: pick_cube from 20 scripted demos, SAC + RLPD, device {device:?}");
    for images in [false, true] {
        if (images && !b.images) || (!images && !b.state) {
            continue;
        }
        let mut cfg = base.clone();
        cfg.task.kind = TaskKind::PickCube;
        cfg.driver = DriverConfig::Sim { timestep: 0.001, realtime: false };
        cfg.agent.use_images = images;
        let dir = tempfile::tempdir()?;
        let mut env = SimEnv::new(&cfg, 1)?;
        let mut eval_env = SimEnv::new(&cfg, 1_000_000)?;
        let label = if images { "image-based (2 × 128×128 cameras + state)" } else { "state-based" };
        println!(
            "\n{label}: budget {} env steps{}",
            b.env_steps,
            if images { format!(", {} min wall clock", b.image_budget.as_secs() / 60) } else { String::new() }
        );
        println!("  {:>9} {:>8} {:>28} {:>9} {:>9}", "env steps", "updates", "success [95% CI]", "return", "wall s");
        let opts = TrainOptions {
            env_steps: b.env_steps,
            demos: 20,
            demo_noise: 0.1,
            eval_every: b.eval_every,
            eval_episodes: b.eval_episodes,
            updates_per_step: 1,
            run_dir: dir.path().to_path_buf(),
            seed: 1,
            stop_at_success: None,
            max_wall: if images { Some(b.image_budget) } else { None },
        };
        let result = train(&cfg, &opts, &mut env, &mut eval_env, |p| {
            println!(
                "  {:>9} {:>8} {:>28} {:>9.2} {:>9.0}",
                p.env_steps,
                p.updates,
                p.success.to_string(),
                p.eval_return,
                p.wall_s
            );
        });
        match result {
            Ok(r) => {
                let best = r.curve.iter().map(|p| p.success.rate()).fold(0.0, f64::max);
                println!("  {label}: best success {:.0}% after {} env steps", 100.0 * best, r.env_steps);
            }
            Err(e) => println!("  {label}: failed: {e:#}"),
        }
    }
    Ok(())
}
