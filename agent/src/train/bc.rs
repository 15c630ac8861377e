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

/// Trains the policy and writes it to `opts.out` through [`crate::disk::write_atomic`] (synced, renamed over the
/// old file: a crash leaves the old policy or the new one whole); `progress(step, steps, loss)` is called after
/// each step.
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
    crate::disk::write_atomic(&opts.out, &bytes).context("writing the policy")?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{Action, GripperAction, Observation, Transition};

    /// The policy file is replaced whole through `disk::write_atomic`: a stale temporary file left by a crash,
    /// even a symbolic link at its name, is replaced and never written through, the result is a regular file,
    /// and no temporary file or scratch store stays behind. One gradient step on a few demonstrations.
    #[test]
    fn train_bc_replaces_the_policy_whole_and_never_writes_through_a_stale_temporary() {
        let text = include_str!("../../../hardware_configs/sim_panda.toml");
        let mut cfg = CellConfig::from_toml_str(text, "sim_panda.toml").expect("config");
        cfg.agent.use_images = false;
        let spec = interfaces::env::obs_spec(&cfg);
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path().join("run");
        {
            let mut store =
                ReplayStore::open(run.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent)).expect("store");
            for i in 0..8u64 {
                let obs = |k: u64| Observation { proprio: vec![k as f32 * 0.01; spec.proprio_dim], images: vec![] };
                store
                    .append_demo(&Transition {
                        obs: obs(i),
                        action: Action { continuous: vec![0.1; spec.action_dim], gripper: GripperAction::Stay },
                        next_obs: obs(i + 1),
                        done: i % 4 == 3,
                        episode: i / 4,
                        obs_stamp_ns: i,
                        next_stamp_ns: i + 1,
                        ..Transition::default()
                    })
                    .expect("append");
            }
            store.flush().expect("flush");
        }
        let out_dir = dir.path().join("out");
        std::fs::create_dir(&out_dir).expect("out dir");
        let out = out_dir.join("policy.safetensors");
        std::fs::write(&out, b"old").expect("old policy");
        let outside = dir.path().join("outside");
        std::os::unix::fs::symlink(&outside, out_dir.join("policy.safetensors.tmp")).expect("symlink");
        let opts = BcOptions { run_dir: run, out: out.clone(), steps: 1, max_demos: None };
        let report = train_bc(&cfg, &opts, |_, _, _| {}).expect("bc");
        assert_eq!((report.demos, report.transitions), (2, 8));
        assert!(!outside.exists(), "the policy was written through the symbolic link at the temporary name");
        assert!(std::fs::symlink_metadata(&out).expect("metadata").is_file(), "a regular file, not a link");
        assert_ne!(std::fs::read(&out).expect("read"), b"old");
        let names: Vec<_> = std::fs::read_dir(&out_dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, ["policy.safetensors"]);
    }
}
