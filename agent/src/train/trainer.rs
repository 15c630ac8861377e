//! Training in one thread against the simulated environment: demonstrations (recorded on first run), then
//! SAC with RLPD interleaving one environment step with `updates_per_step` update cycles, periodic evaluation
//! with confidence intervals, checkpoints, and resumption from the replay store + checkpoint.
//!
//! This is the loop behind `corrigo bench learning` and the end-to-end learning test; the actor and learner nodes
//! run the same pieces across the bus.

use super::eval::{SuccessRate, evaluate};
use super::expert::scripted_demos;
use crate::replay::{Action, GripperAction, ReplayStore, StoreOptions, Transition};
use crate::sac::{Learner, Policy};
use anyhow::{Context, Result};
use interfaces::CellConfig;
use interfaces::env::Env;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::Instant;

/// Settings of a training run.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Environment steps to run (in total, counting those of an earlier run that is resumed).
    pub env_steps: u64,
    /// Scripted demonstrations to record when the demo buffer is empty.
    pub demos: usize,
    /// Standard deviation of the noise added to the expert's actions.
    pub demo_noise: f64,
    /// Evaluate every this many environment steps (0: only at the end).
    pub eval_every: u64,
    /// Episodes per evaluation.
    pub eval_episodes: u64,
    /// Update cycles per environment step once learning has started.
    pub updates_per_step: u64,
    /// Run directory: `replay/` and `checkpoint.safetensors` live here.
    pub run_dir: PathBuf,
    /// Seed of the environment's episodes and the exploration.
    pub seed: u64,
    /// Stop early once an evaluation reaches this success rate (point estimate).
    pub stop_at_success: Option<f64>,
    /// Stop (after a final evaluation) once this much wall-clock time has passed.
    pub max_wall: Option<std::time::Duration>,
}

/// One evaluation point of the learning curve.
#[derive(Debug, Clone, Copy)]
pub struct CurvePoint {
    /// Environment steps so far.
    pub env_steps: u64,
    /// Update cycles so far.
    pub updates: u64,
    /// Evaluation success rate.
    pub success: SuccessRate,
    /// Mean evaluation return.
    pub eval_return: f64,
    /// Wall-clock seconds since the start of this run (demo recording and encoder pretraining included).
    pub wall_s: f64,
    /// The learner's diagnostics at this point ([`crate::sac::Learner::diagnostics`]).
    pub diagnostics: Option<interfaces::msg::LearnerDiagnostics>,
    /// Exploration episodes (the training env's) finished since the previous point, and how many succeeded.
    pub explore: (u64, u64),
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The learning curve.
    pub curve: Vec<CurvePoint>,
    /// Environment steps done.
    pub env_steps: u64,
    /// The image encoder's pretraining, when this run did it (cached features, first run).
    pub pretrain: Option<crate::features::PretrainReport>,
}

/// Trains on `env`, evaluating on `eval_env`; `on_point` is called with each evaluation (for progress output).
pub fn train(
    cfg: &CellConfig,
    opts: &TrainOptions,
    env: &mut dyn Env,
    eval_env: &mut dyn Env,
    mut on_point: impl FnMut(&CurvePoint),
) -> Result<TrainReport> {
    // Wall clock from here: demonstrations and the encoder's pretraining count against the budget.
    let start = Instant::now();
    let spec = env.spec().clone();
    std::fs::create_dir_all(&opts.run_dir).with_context(|| format!("creating {}", opts.run_dir.display()))?;
    let mut store = ReplayStore::open(opts.run_dir.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent))?;
    if store.demo_len() == 0 && opts.demos > 0 {
        let demos = scripted_demos(env, opts.demos, opts.demo_noise, opts.seed ^ 0xde70)?;
        for ep in &demos {
            for t in &ep.transitions {
                store.append_demo(t)?;
            }
        }
        store.flush()?;
        tracing::info!(episodes = demos.len(), transitions = store.demo_len(), "recorded scripted demonstrations");
    }
    let device = crate::default_device();
    // Image-based on a CPU: the frozen encoder (pretrained on the demos once, then reused) and its features.
    let prepared = crate::features::prepare(&cfg.agent, &mut store, &opts.run_dir, device, |m| tracing::info!("{m}"))?;
    if spec.cameras.is_empty() || store.frame_encoder().is_some() {
        // State-sized networks are small: one intra-op thread beats a team of OpenMP threads that spin at every
        // barrier (and leaves the other core to the simulator).
        tch::set_num_threads(1);
    }
    let agent_cfg = cfg.agent.with_task_defaults(cfg.task.reward);
    let mut learner = Learner::for_store(&agent_cfg, cfg.task.discount, &store, device)?;
    let ckpt = opts.run_dir.join("checkpoint.safetensors");
    if ckpt.exists() {
        learner.load_checkpoint(&ckpt)?;
        tracing::info!(updates = learner.updates(), "resumed from {}", ckpt.display());
    }
    if learner.bc_prior_left() > 0 && store.demo_len() > 0 {
        let t = Instant::now();
        let steps = learner.fit_bc_prior(&store, |i, n, loss| {
            if i % (n / 5).max(1) == 0 {
                tracing::info!(step = i, of = n, loss, "behaviour prior");
            }
        })?;
        tracing::info!(steps, seconds = t.elapsed().as_secs_f64(), "behaviour prior fitted");
    }
    if learner.pretraining_left() > 0 && store.demo_len() > 0 {
        let t = Instant::now();
        let done = learner.pretrain(&store, |i, n, m| {
            if i % (n / 10).max(1) == 0 {
                tracing::info!(
                    cycle = i,
                    of = n,
                    critic_loss = m.critic_loss,
                    q = m.q_mean,
                    entropy = m.entropy,
                    alpha = m.temperature,
                    gripper_loss = m.gripper_loss,
                    "offline pretraining"
                );
            }
        })?;
        learner.save_checkpoint(&ckpt)?;
        tracing::info!(cycles = done, seconds = t.elapsed().as_secs_f64(), "offline pretraining done");
    }
    let mut policy = Policy::new(&cfg.agent, &spec, device)?;
    policy.load_weights(&learner.policy_weights()?)?;
    let mut curve = Vec::new();
    if agent_cfg.pretrain_cycles() > 0 && store.online_len() == 0 && opts.eval_every > 0 {
        // The pretrained policy before any online step.
        let p = eval_point(&mut learner, &store, &mut policy, eval_env, opts.eval_episodes, 0, start, (0, 0))?;
        on_point(&p);
        curve.push(p);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5eed);
    let mut steps = store.online_len() as u64;
    let (mut obs, mut stamp) = env.reset()?;
    let mut episode = 1_000_000 + steps;
    let warmup = if store.demo_len() > 0 { 0 } else { cfg.agent.warmup_steps };
    // WSRL: rollouts of the pretrained policy before the first online update (online data only afterwards).
    let first_update = if agent_cfg.online_only() { warmup.max(cfg.agent.offline_warmup_steps) } else { warmup };
    let min_batch = (cfg.agent.batch_size / 2).max(1) as usize;
    let mut next_eval = if opts.eval_every == 0 { opts.env_steps } else { steps + opts.eval_every };
    let mut last_eval_at = u64::MAX;
    // Exploration episodes and successes since the last evaluation.
    let mut explored = (0u64, 0u64);
    while steps < opts.env_steps {
        let out_of_time = opts.max_wall.is_some_and(|m| start.elapsed() > m);
        let action = if steps < warmup { random_action(spec.action_dim, &mut rng) } else { policy.act(&obs, false)? };
        let s = env.step(&action)?;
        store.append(&Transition::from_step(&obs, stamp, action, &s, episode))?;
        steps += 1;
        if s.done || s.truncated {
            explored.0 += 1;
            explored.1 += u64::from(s.success);
            (obs, stamp) = env.reset()?;
            episode += 1;
        } else {
            obs = s.obs;
            stamp = s.stamp_ns;
        }
        if steps >= first_update && store.online_len() >= min_batch {
            for _ in 0..opts.updates_per_step {
                learner.update(&store)?;
            }
            if learner.updates() % cfg.agent.publish_every == 0 {
                policy.load_weights(&learner.policy_weights()?)?;
            }
            if learner.updates() % cfg.agent.checkpoint_every == 0 {
                store.flush()?;
                learner.save_checkpoint(&ckpt)?;
            }
        }
        if steps >= next_eval || steps >= opts.env_steps || out_of_time {
            last_eval_at = steps;
            next_eval += opts.eval_every.max(1);
            let explore = std::mem::take(&mut explored);
            let p = eval_point(&mut learner, &store, &mut policy, eval_env, opts.eval_episodes, steps, start, explore)?;
            on_point(&p);
            curve.push(p);
            let success = p.success;
            if out_of_time || opts.stop_at_success.is_some_and(|t| success.rate() >= t) {
                break;
            }
        }
    }
    if last_eval_at != steps {
        let explore = std::mem::take(&mut explored);
        let p = eval_point(&mut learner, &store, &mut policy, eval_env, opts.eval_episodes, steps, start, explore)?;
        on_point(&p);
        curve.push(p);
    }
    store.flush()?;
    learner.save_checkpoint(&ckpt)?;
    let pretrain = match prepared {
        crate::features::Prepared::Pretrained { report, .. } => Some(report),
        _ => None,
    };
    Ok(TrainReport { curve, env_steps: steps, pretrain })
}

/// Evaluates the learner's current policy and returns the curve point (with the learner's diagnostics and the
/// exploration episodes `explore` since the last point).
#[allow(clippy::too_many_arguments)]
fn eval_point(
    learner: &mut Learner,
    store: &ReplayStore,
    policy: &mut Policy,
    eval_env: &mut dyn Env,
    episodes: u64,
    env_steps: u64,
    start: Instant,
    explore: (u64, u64),
) -> Result<CurvePoint> {
    policy.load_weights(&learner.policy_weights()?)?;
    let (success, eval_return) = evaluate(eval_env, policy, episodes)?;
    let diagnostics = learner.diagnostics(store).ok();
    Ok(CurvePoint {
        env_steps,
        updates: learner.updates(),
        success,
        eval_return,
        wall_s: start.elapsed().as_secs_f64(),
        diagnostics,
        explore,
    })
}

/// A uniformly random action: continuous part in [-1, 1], gripper close / stay / open.
pub fn random_action(action_dim: usize, rng: &mut impl Rng) -> Action {
    Action {
        continuous: (0..action_dim).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
        gripper: [GripperAction::Close, GripperAction::Stay, GripperAction::Open][rng.random_range(0..3)],
    }
}
