//! `corrigo bench learning`: `pick_cube` from 20 scripted demonstrations, printing the evaluation success rate
//! (with its 95% interval) against environment steps and wall-clock time every `eval_every` steps, for three
//! settings:
//!
//! - `state-shaped`: state-based with the privileged object entries and the dense shaped reward (the easy
//!   reference);
//! - `state-sparse`: state-based (object entries given), sparse success reward;
//! - `image-sparse`: the real-cell setting: two 128×128 cameras + the arm's proprio, **no object state**, sparse
//!   success reward (the simulator's success signal standing in for the reward classifier), trained the way the
//!   learner's device chooses (cached frozen features on a CPU, end-to-end DrQ on CUDA).
//!
//! and, not run unless named, `reach-sparse`: state-based `reach` (the TCP to a random goal), sparse reward, from
//! 20 scripted demonstrations (e.g. the 5-joint SO-101: `--config hardware_configs/sim_so101.toml`).
//!
//! `--seeds N` runs each setting with N seeds (learner, exploration and episodes) and prints every seed's final and
//! best success and their interquartile mean across seeds (the mean of the middle half after dropping
//! ⌊N/4⌋ seeds at each end; the plain mean below four seeds) with its 95 % percentile-bootstrap interval over the
//! seeds ([`agent::train::eval::iqm_bootstrap_95`]).

use agent::train::eval::{interquartile_mean, iqm_bootstrap_95};
use agent::train::trainer::{CurvePoint, TrainOptions, train};
use anyhow::{Result, bail};
use interfaces::CellConfig;
use interfaces::config::{DriverConfig, RewardKind, TaskKind};
use sim::SimEnv;
use std::time::Duration;

/// One setting of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// State-based, privileged object state, shaped reward.
    StateShaped,
    /// State-based, privileged object state, sparse reward.
    StateSparse,
    /// Image-based, no object state, sparse reward.
    ImageSparse,
    /// State-based `reach`, sparse reward (not in the default list).
    ReachSparse,
}

impl Variant {
    /// The default settings, in the order they run.
    pub const ALL: [Variant; 3] = [Variant::StateShaped, Variant::StateSparse, Variant::ImageSparse];
    /// Every setting that can be named.
    pub const NAMED: [Variant; 4] =
        [Variant::StateShaped, Variant::StateSparse, Variant::ImageSparse, Variant::ReachSparse];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::StateShaped => "state-shaped",
            Variant::StateSparse => "state-sparse",
            Variant::ImageSparse => "image-sparse",
            Variant::ReachSparse => "reach-sparse",
        }
    }

    /// Parses a comma-separated list of names.
    pub fn parse_list(s: &str) -> Result<Vec<Variant>> {
        s.split(',')
            .map(|n| {
                let n = n.trim();
                Self::NAMED.into_iter().find(|v| v.name() == n).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown variant `{n}`: one of state-shaped, state-sparse, image-sparse, reach-sparse"
                    )
                })
            })
            .collect()
    }

    fn label(self) -> &'static str {
        match self {
            Variant::StateShaped => "state-based, privileged object state, shaped reward",
            Variant::StateSparse => "state-based, privileged object state, sparse reward",
            Variant::ImageSparse => "image-based (2 × 128×128 cameras + arm proprio, no object state), sparse reward",
            Variant::ReachSparse => "reach, state-based, sparse reward",
        }
    }

    fn images(self) -> bool {
        self == Variant::ImageSparse
    }

    /// The cell config of this setting.
    pub fn config(self, base: &CellConfig) -> CellConfig {
        let mut cfg = base.clone();
        cfg.task.kind = if self == Variant::ReachSparse { TaskKind::Reach } else { TaskKind::PickCube };
        cfg.driver = DriverConfig::Sim { timestep: 0.001, realtime: false };
        cfg.agent.use_images = self.images();
        cfg.task.reward = if self == Variant::StateShaped { RewardKind::Shaped } else { RewardKind::Sparse };
        cfg
    }
}

/// Settings of the benchmark.
#[derive(Debug, Clone)]
pub struct LearningBench {
    /// Environment-step budget per run.
    pub env_steps: u64,
    /// Evaluate every this many steps.
    pub eval_every: u64,
    /// Episodes per evaluation.
    pub eval_episodes: u64,
    /// Wall-clock budget of an image-based run.
    pub image_budget: Duration,
    /// The settings to run.
    pub variants: Vec<Variant>,
    /// Seeds per setting (`first_seed`, `first_seed + 1`, …).
    pub seeds: u64,
    /// The first seed.
    pub first_seed: u64,
}

/// One seed's outcome.
struct SeedResult {
    seed: u64,
    last: Option<CurvePoint>,
    best: Option<CurvePoint>,
    error: Option<String>,
}

/// Runs the benchmark and prints the curves and the summary.
pub fn run(base: &CellConfig, b: &LearningBench) -> Result<()> {
    if b.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let device = agent::default_device();
    println!(
        "learning benchmark: cell {} ({} joints), 20 scripted demos, SAC + RLPD, device {device:?}, {} seed(s), budget {} \
         env steps ({} min wall clock for image-based runs)",
        base.cell.name,
        base.robot.joints.len(),
        b.seeds,
        b.env_steps,
        b.image_budget.as_secs() / 60
    );
    let mut summary = Vec::new();
    for &v in &b.variants {
        let cfg = v.config(base);
        let mut results = Vec::new();
        for seed in b.first_seed..b.first_seed + b.seeds {
            println!("\n{} — seed {seed}", v.label());
            results.push(run_seed(&cfg, b, v, seed));
        }
        summary.push((v, results));
    }
    println!("\nsummary (evaluation success of the deterministic policy, {} episodes per evaluation)", b.eval_episodes);
    for (v, results) in &summary {
        println!("  {}:", v.label());
        for r in results {
            match (&r.error, &r.last, &r.best) {
                (Some(e), ..) => println!("    seed {}: failed: {e}", r.seed),
                (None, Some(last), Some(best)) => println!(
                    "    seed {}: final {} at {} env steps, {:.0} s; best {} at {} env steps, {:.0} s",
                    r.seed, last.success, last.env_steps, last.wall_s, best.success, best.env_steps, best.wall_s
                ),
                _ => println!("    seed {}: no evaluation", r.seed),
            }
        }
        let finals: Vec<f64> = results.iter().filter_map(|r| r.last.map(|p| p.success.rate())).collect();
        let bests: Vec<f64> = results.iter().filter_map(|r| r.best.map(|p| p.success.rate())).collect();
        let ci = |v: &[f64]| {
            let (lo, hi) = iqm_bootstrap_95(v, 10_000, 1);
            format!("{:.0}% [{:.0}–{:.0}%]", 100.0 * interquartile_mean(v), 100.0 * lo, 100.0 * hi)
        };
        println!(
            "    interquartile mean over {} seed(s) [95% bootstrap interval over seeds, 10 000 resamples]: final {}, \
             best {}",
            finals.len(),
            ci(&finals),
            ci(&bests)
        );
    }
    Ok(())
}

fn run_seed(cfg: &CellConfig, b: &LearningBench, v: Variant, seed: u64) -> SeedResult {
    let mut cfg = cfg.clone();
    cfg.agent.seed = seed;
    let fail = |e: anyhow::Error| SeedResult { seed, last: None, best: None, error: Some(format!("{e:#}")) };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return fail(e.into()),
    };
    let envs = SimEnv::new(&cfg, seed * 1_000).and_then(|e| Ok((e, SimEnv::new(&cfg, 1_000_000 + seed * 1_000)?)));
    let (mut env, mut eval_env) = match envs {
        Ok(e) => e,
        Err(e) => return fail(e.into()),
    };
    println!(
        "  {:>9} {:>8} {:>28} {:>9} {:>9} {:>9}",
        "env steps", "updates", "success [95% CI]", "return", "wall s", "ETA s"
    );
    let opts = TrainOptions {
        env_steps: b.env_steps,
        demos: 20,
        demo_noise: 0.1,
        eval_every: b.eval_every,
        eval_episodes: b.eval_episodes,
        updates_per_step: 1,
        run_dir: dir.path().to_path_buf(),
        seed,
        stop_at_success: None,
        max_wall: if v.images() { Some(b.image_budget) } else { None },
    };
    let (budget, wall_budget) = (b.env_steps, if v.images() { Some(b.image_budget.as_secs_f64()) } else { None });
    let result = train(&cfg, &opts, &mut env, &mut eval_env, |p| {
        // What is left of the step budget at this run's pace (or of the wall-clock budget, if sooner).
        let by_steps = p.wall_s / p.env_steps.max(1) as f64 * budget.saturating_sub(p.env_steps) as f64;
        let eta = wall_budget.map_or(by_steps, |w| by_steps.min((w - p.wall_s).max(0.0)));
        println!(
            "  {:>9} {:>8} {:>28} {:>9.2} {:>9.0} {:>9.0}",
            p.env_steps,
            p.updates,
            p.success.to_string(),
            p.eval_return,
            p.wall_s,
            eta
        );
    });
    match result {
        Ok(r) => {
            if let Some(p) = r.pretrain {
                println!(
                    "  encoder pretraining: {} steps in {:.0} s on {} demo frames, held-out loss {:.4} → {:.4} ({} frames)",
                    p.steps, p.seconds, p.train_frames, p.heldout_before, p.heldout_after, p.heldout_frames
                );
            }
            let best = r.curve.iter().copied().fold(None::<CurvePoint>, |acc, p| match acc {
                Some(a) if a.success.rate() >= p.success.rate() => Some(a),
                _ => Some(p),
            });
            SeedResult { seed, last: r.curve.last().copied(), best, error: None }
        }
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_parse_and_configure() {
        assert_eq!(
            Variant::parse_list("state-sparse,image-sparse").unwrap(),
            vec![Variant::StateSparse, Variant::ImageSparse]
        );
        assert!(Variant::parse_list("pixels").is_err());
        let base = crate::config_file::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../hardware_configs/sim_panda.toml"
        )))
        .unwrap();
        let c = Variant::ImageSparse.config(&base);
        assert!(c.agent.use_images && c.task.reward == RewardKind::Sparse);
        assert_eq!(Variant::StateShaped.config(&base).task.reward, RewardKind::Shaped);
    }
}
