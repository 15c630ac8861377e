//! `corrigo bc`: trains a behaviour-cloned policy on the demonstrations of a run directory, to act on its own
//! (`corrigo eval --checkpoint FILE`) or as the frozen base of residual RL (`agent.base_policy`).
//!
//! State-based runs only (`agent.use_images = false`): a base policy reads the observation's proprio vector
//! ([`crate::sac::base`]). `max_demos` keeps only the first demonstrations (e.g. a deliberately weak base).

use crate::bc::BcTrainer;
use crate::replay::{ReplayStore, StoreOptions};
use anyhow::{Context, Result, bail};
use interfaces::CellConfig;
use std::path::PathBuf;

/// Settings of a BC run.
#[derive(Debug, Clone)]
pub struct BcOptions {
    /// Run directory whose replay store holds the demonstrations.
    pub run_dir: PathBuf,
    /// Where the policy is written (safetensors, the policy layout).
    pub out: PathBuf,
    /// Gradient steps.
    pub steps: u64,
    /// Use only the first this many demonstrations (all when `None`).
    pub max_demos: Option<usize>,
}

/// What a BC run gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BcReport {
    /// Demonstrations used.
    pub demos: usize,
    /// Their transitions.
    pub transitions: usize,
    /// Mean loss (negative log-likelihood + gripper cross-entropy) of the first and the last tenth of the steps.
    pub loss_first: f64,
    /// See `loss_first`.
    pub loss_last: f64,
}

/// Trains the policy and writes it to `opts.out` (atomically); `progress(step, steps, loss)` is called after each
/// step.
pub fn train_bc(cfg: &CellConfig, opts: &BcOptions, mut progress: impl FnMut(u64, u64, f64)) -> Result<BcReport> {
    if cfg.agent.use_images {
        bail!(
            "corrigo bc trains state-based policies (a base policy reads the proprio vector): set \
             agent.use_images = false (e.g. --set agent.use_images=false) on a run recorded without cameras"
        );
    }
    if opts.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let spec = interfaces::env::obs_spec(cfg);
    let dir = opts.run_dir.join("replay");
    let store = ReplayStore::open_read_only(&dir, &spec)
        .with_context(|| format!("opening the replay store {} (record demonstrations first)", dir.display()))?;
    if store.demo_len() == 0 {
        bail!("{} holds no demonstrations: record some with `corrigo record` first", dir.display());
    }
    // The demonstrations kept, copied into a scratch store beside the output.
    let scratch = opts.out.with_extension("demos.tmp");
    let _ = std::fs::remove_dir_all(&scratch);
    let mut kept = ReplayStore::open(&scratch, &spec, &StoreOptions::from_config(&cfg.agent))
        .with_context(|| format!("creating the scratch store {}", scratch.display()))?;
    let mut episodes: Vec<u64> = Vec::new();
    for i in 0..store.demo_len() {
        let (episode, _) = store.episode_of(true, i).context("a stored demonstration has no episode")?;
        if !episodes.contains(&episode) {
            if opts.max_demos.is_some_and(|m| episodes.len() >= m) {
                continue;
            }
            episodes.push(episode);
        }
        if let Some(t) = store.get(true, i) {
            kept.append_demo(&t)?;
        }
    }
    kept.flush()?;
    let device = crate::default_device();
    tch::set_num_threads(1);
    let mut bc = BcTrainer::new(&cfg.agent, &spec, device)?;
    let tenth = (opts.steps / 10).max(1);
    let (mut first, mut last) = (0.0, 0.0);
    for step in 1..=opts.steps {
        let loss = bc.step(&kept)?;
        if step <= tenth {
            first += loss / tenth as f64;
        }
        if step > opts.steps - tenth {
            last += loss / tenth as f64;
        }
        progress(step, opts.steps, loss);
    }
    let report = BcReport { demos: episodes.len(), transitions: kept.demo_len(), loss_first: first, loss_last: last };
    drop(kept);
    let _ = std::fs::remove_dir_all(&scratch);
    let bytes = bc.policy_weights()?;
    let tmp = opts.out.with_extension("safetensors.tmp");
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &opts.out).with_context(|| format!("writing {}", opts.out.display()))?;
    Ok(report)
}
