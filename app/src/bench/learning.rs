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
//!
//! `--options plain,hl-gauss,pretrain,wsrl,residual` runs each setting once per agent option ([`AgentOption`]),
//! side by side on the same seeds, and adds to the summary each option's environment steps to 80 % success and its
//! success after the first 2 000 online steps. On the image-based setting the options of one seed share the image
//! encoder that the first of them pretrained on the seed's demonstrations (they differ in the agent alone).

use agent::replay::{ReplayStore, StoreOptions};
use agent::sac::Policy;
use agent::train::bc::{BcOptions, train_bc};
use agent::train::eval::{SuccessRate, evaluate, interquartile_mean, iqm_bootstrap_95};
use agent::train::expert::scripted_demos;
use agent::train::trainer::{CurvePoint, TrainOptions, train};
use anyhow::{Result, bail};
use interfaces::CellConfig;
use interfaces::config::{DriverConfig, RewardKind, TaskKind};
use interfaces::env::Env;
use sim::SimEnv;
use std::path::PathBuf;
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

/// An agent option compared against plain SAC + RLPD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentOption {
    /// The agent as configured, with the task's defaults (a sparse reward: HL-Gauss critic, offline pretraining).
    Configured,
    /// SAC + RLPD with the MSE critic and no pretraining (unless the config sets them).
    Plain,
    /// `agent.critic = "hl_gauss"`.
    HlGauss,
    /// Offline pretraining (`agent.pretrain_updates`, conservative critic), RLPD batches afterwards.
    Pretrain,
    /// Pretraining, then WSRL: `agent.retain_offline = false`.
    Wsrl,
    /// Residual RL on a BC base trained on the first 5 demonstrations (`agent.base_policy`).
    Residual,
    /// The configured agent with the behaviour prior (`agent.bc_prior = true`, IBRL).
    Prior,
    /// The configured agent without the behaviour prior (`agent.bc_prior = false`).
    NoPrior,
}

/// Pretraining cycles of the `pretrain` and `wsrl` options unless the config sets `agent.pretrain_updates`.
pub const BENCH_PRETRAIN_UPDATES: u64 = 1000;
/// Demonstrations the `residual` option's deliberately weak BC base is trained on.
pub const WEAK_BASE_DEMOS: usize = 5;

impl AgentOption {
    /// Every option, in the order they run.
    pub const ALL: [AgentOption; 8] = [
        AgentOption::Configured,
        AgentOption::Plain,
        AgentOption::HlGauss,
        AgentOption::Pretrain,
        AgentOption::Wsrl,
        AgentOption::Residual,
        AgentOption::Prior,
        AgentOption::NoPrior,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            AgentOption::Configured => "configured",
            AgentOption::Plain => "plain",
            AgentOption::HlGauss => "hl-gauss",
            AgentOption::Pretrain => "pretrain",
            AgentOption::Wsrl => "wsrl",
            AgentOption::Residual => "residual",
            AgentOption::Prior => "prior",
            AgentOption::NoPrior => "no-prior",
        }
    }

    /// Parses a comma-separated list of names.
    pub fn parse_list(s: &str) -> Result<Vec<AgentOption>> {
        s.split(',')
            .map(|n| {
                let n = n.trim();
                Self::ALL.into_iter().find(|v| v.name() == n).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown option `{n}`: one of configured, plain, hl-gauss, pretrain, wsrl, residual, prior, \
                         no-prior"
                    )
                })
            })
            .collect()
    }

    /// `cfg` with this option applied (the residual option's base policy is set by the run, which trains it).
    /// Every option but `hl-gauss` uses the MSE critic, and every option but `pretrain` and `wsrl` no pretraining,
    /// unless the config says otherwise.
    pub fn apply(self, cfg: &CellConfig) -> CellConfig {
        let mut c = cfg.clone();
        match self {
            AgentOption::Configured => return c,
            AgentOption::Prior | AgentOption::NoPrior => {
                c.agent.bc_prior = Some(self == AgentOption::Prior);
                return c;
            }
            _ => {}
        }
        c.agent.critic.get_or_insert(interfaces::config::CriticKind::Mse);
        c.agent.pretrain_updates.get_or_insert(0);
        let pretrain = match c.agent.pretrain_updates {
            Some(n) if n > 0 => n,
            _ => BENCH_PRETRAIN_UPDATES,
        };
        match self {
            AgentOption::Configured
            | AgentOption::Plain
            | AgentOption::Residual
            | AgentOption::Prior
            | AgentOption::NoPrior => {}
            AgentOption::HlGauss => c.agent.critic = Some(interfaces::config::CriticKind::HlGauss),
            AgentOption::Pretrain => c.agent.pretrain_updates = Some(pretrain),
            AgentOption::Wsrl => {
                c.agent.pretrain_updates = Some(pretrain);
                c.agent.retain_offline = false;
            }
        }
        c
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
    /// The agent options compared (`[Configured]`: the configured agent alone).
    pub options: Vec<AgentOption>,
}

/// One seed's outcome.
struct SeedResult {
    seed: u64,
    last: Option<CurvePoint>,
    best: Option<CurvePoint>,
    /// The first evaluation at ≥ 80 %.
    at_80: Option<CurvePoint>,
    /// The evaluation at 2 000 online steps (the first at or after them).
    at_2000: Option<CurvePoint>,
    /// The residual option's base policy alone: its success.
    base: Option<SuccessRate>,
    error: Option<String>,
}

/// Runs the benchmark and prints the curves and the summary.
pub fn run(base: &CellConfig, b: &LearningBench) -> Result<()> {
    if b.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if b.options.contains(&AgentOption::Residual) && b.variants.iter().any(|v| v.images()) {
        bail!(
            "the residual option needs a state-based setting: its base policy reads the proprio vector, which on the \
             image-based setting holds no object state (image-conditioned base policies are not supported yet); \
             run it with --variants state-sparse"
        );
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
    let options = if b.options.is_empty() { vec![AgentOption::Configured] } else { b.options.clone() };
    let compare = options != [AgentOption::Configured];
    for &v in &b.variants {
        let mut per_option = Vec::new();
        for &o in &options {
            per_option.push((o, Vec::new()));
        }
        // Seeds outermost, options inside: the options of one seed run one after the other (the host's load
        // drifts over a long run).
        for seed in b.first_seed..b.first_seed + b.seeds {
            // An image-based setting's options of one seed share the image encoder the first of them pretrained
            // (the same 20 demos): the options differ in the agent alone, and each run saves its pretraining time.
            let shared = match tempfile::tempdir() {
                Ok(d) => d,
                Err(e) => bail!("cannot create a temporary directory for the shared encoder: {e}"),
            };
            for (o, results) in &mut per_option {
                let cfg = o.apply(&v.config(base));
                println!(
                    "\n{}{} — seed {seed}",
                    v.label(),
                    if compare { format!(", option {}", o.name()) } else { String::new() }
                );
                results.push(run_seed(&cfg, b, v, *o, seed, shared.path()));
            }
        }
        for (o, results) in per_option {
            summary.push((v, o, results));
        }
    }
    println!("\nsummary (evaluation success of the deterministic policy, {} episodes per evaluation)", b.eval_episodes);
    for (v, o, results) in &summary {
        println!("  {}{}:", v.label(), if compare { format!(", option {}", o.name()) } else { String::new() });
        for r in results {
            match (&r.error, &r.last, &r.best) {
                (Some(e), ..) => println!("    seed {}: failed: {e}", r.seed),
                (None, Some(last), Some(best)) => println!(
                    "    seed {}: final {} at {} env steps, {:.0} s; best {} at {} env steps, {:.0} s{}{}{}",
                    r.seed,
                    last.success,
                    last.env_steps,
                    last.wall_s,
                    best.success,
                    best.env_steps,
                    best.wall_s,
                    match &r.at_80 {
                        Some(p) => format!("; ≥ 80 % first at {} env steps", p.env_steps),
                        None => "; never ≥ 80 %".into(),
                    },
                    match &r.at_2000 {
                        Some(p) => format!("; at {} online steps {}", p.env_steps, p.success),
                        None => String::new(),
                    },
                    match &r.base {
                        Some(s) => format!("; the base policy alone {s}"),
                        None => String::new(),
                    }
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
        let early: Vec<f64> = results.iter().filter_map(|r| r.at_2000.map(|p| p.success.rate())).collect();
        println!(
            "    interquartile mean over {} seed(s) [95% bootstrap interval over seeds, 10 000 resamples]: final {}, \
             best {}, after 2 000 online steps {}",
            finals.len(),
            ci(&finals),
            ci(&bests),
            if early.is_empty() { "–".to_string() } else { ci(&early) }
        );
        let worst = |pick: fn(&SeedResult) -> Option<CurvePoint>| {
            results
                .iter()
                .filter_map(|r| pick(r).map(|p| (r.seed, p)))
                .min_by(|a, b| a.1.success.rate().total_cmp(&b.1.success.rate()))
        };
        if let (Some((fs, f)), Some((bs, b))) = (worst(|r| r.last), worst(|r| r.best)) {
            println!(
                "    worst seed: final {} (seed {fs}, at {} env steps); lowest best {} (seed {bs}, at {} env steps)",
                f.success, f.env_steps, b.success, b.env_steps
            );
        }
        let kept = results
            .iter()
            .filter(|r| matches!((r.last, r.best), (Some(l), Some(b)) if b.success.rate() - l.success.rate() <= 0.10 + 1e-9))
            .count();
        println!("    seeds ending within 10 points of their own best (no unlearning): {kept} of {}", results.len());
        let to_80: Vec<String> =
            results.iter().map(|r| r.at_80.map_or_else(|| "never".to_string(), |p| p.env_steps.to_string())).collect();
        println!("    env steps to ≥ 80 % per seed: {}", to_80.join(", "));
    }
    Ok(())
}

/// One run of setting `v` with option `o` on `seed`. An image-based run takes the frame encoder from
/// `shared_encoder` when an earlier option of this seed left one there, and otherwise leaves its own there.
fn run_seed(
    cfg: &CellConfig,
    b: &LearningBench,
    v: Variant,
    o: AgentOption,
    seed: u64,
    shared_encoder: &std::path::Path,
) -> SeedResult {
    let mut cfg = cfg.clone();
    cfg.agent.seed = seed;
    let fail = |e: anyhow::Error| SeedResult {
        seed,
        last: None,
        best: None,
        at_80: None,
        at_2000: None,
        base: None,
        error: Some(format!("{e:#}")),
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return fail(e.into()),
    };
    let mut base = None;
    if o == AgentOption::Residual {
        match weak_base(&cfg, dir.path(), seed, b.eval_episodes) {
            Ok((path, success)) => {
                println!("  base policy: BC on {WEAK_BASE_DEMOS} demos, alone {success}");
                cfg.agent.base_policy = Some(path.display().to_string());
                base = Some(success);
            }
            Err(e) => return fail(e),
        }
    }
    let shared = shared_encoder.join(agent::features::ENCODER_FILE);
    let own = dir.path().join(agent::features::ENCODER_FILE);
    if v.images() && shared.exists() {
        if let Err(e) = std::fs::copy(&shared, &own) {
            return fail(anyhow::anyhow!(
                "cannot copy the shared encoder {} to {}: {e}",
                shared.display(),
                own.display()
            ));
        }
        println!("  image encoder: the one this seed's first option pretrained on the same demos");
    }
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
        // No pace yet before the first online step (the pretrained policy's evaluation).
        let eta = if p.env_steps == 0 { "–".to_string() } else { format!("{eta:.0}") };
        println!(
            "  {:>9} {:>8} {:>28} {:>9.2} {:>9.0} {:>9}",
            p.env_steps,
            p.updates,
            p.success.to_string(),
            p.eval_return,
            p.wall_s,
            eta
        );
        if let Some(d) = &p.diagnostics {
            println!("            {}", diagnostics_line(d, p.explore));
        }
    });
    if v.images()
        && !shared.exists()
        && own.exists()
        && let Err(e) = std::fs::copy(&own, &shared)
    {
        println!("  warning: cannot keep the encoder {} for this seed's other options: {e}", own.display());
    }
    match result {
        Ok(r) => {
            if let Some(p) = r.pretrain {
                println!(
                    "  encoder pretraining: {} steps in {:.0} s on {} demo frames, kept step {}, held-out loss {:.4} → \
                     {:.4} ({} frames)",
                    p.steps,
                    p.seconds,
                    p.train_frames,
                    p.best_step,
                    p.heldout_before,
                    p.heldout_after,
                    p.heldout_frames
                );
            }
            let best = r.curve.iter().copied().fold(None::<CurvePoint>, |acc, p| match acc {
                Some(a) if a.success.rate() >= p.success.rate() => Some(a),
                _ => Some(p),
            });
            let at_80 = r.curve.iter().copied().find(|p| p.success.rate() >= 0.8);
            let at_2000 = r.curve.iter().copied().find(|p| p.env_steps >= 2000);
            SeedResult { seed, last: r.curve.last().copied(), best, at_80, at_2000, base, error: None }
        }
        Err(e) => fail(e),
    }
}

/// One line of a curve point's learner diagnostics and exploration successes.
fn diagnostics_line(d: &interfaces::msg::LearnerDiagnostics, explore: (u64, u64)) -> String {
    let opt = |x: Option<f64>| x.map_or_else(|| "–".to_string(), |v| format!("{v:.3}"));
    format!(
        "Q demo {:.3} online {} | Q(π) demo {:.3} online {} | BC nll {:.2} ×{} | prior {:.0} % | dormant critic \
         {:.1} % actor {:.1} % | ‖θ‖ critic {:.1} actor {:.1} | ‖x‖ demo {:.2} online {} | explore {}/{}",
        d.q_demo,
        opt(d.q_online),
        d.q_policy_demo,
        opt(d.q_policy_online),
        d.bc_nll_demo,
        d.bc_weight,
        100.0 * d.prior_share,
        100.0 * d.dormant_critic,
        100.0 * d.dormant_actor,
        d.critic_norm,
        d.actor_norm,
        d.feature_norm_demo,
        opt(d.feature_norm_online),
        explore.1,
        explore.0,
    )
}

/// The `residual` option's base: BC on the first [`WEAK_BASE_DEMOS`] scripted demonstrations of the seed (recorded
/// into `<dir>/base_run`), written to `<dir>/base.safetensors`; returns the file and its own evaluation success.
fn weak_base(cfg: &CellConfig, dir: &std::path::Path, seed: u64, episodes: u64) -> Result<(PathBuf, SuccessRate)> {
    let run = dir.join("base_run");
    let mut env = SimEnv::new(cfg, seed * 1_000 + 500)?;
    let spec = env.spec().clone();
    let demos = scripted_demos(&mut env, WEAK_BASE_DEMOS, 0.1, seed ^ 0xde70)?;
    {
        let mut store = ReplayStore::open(run.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent))?;
        for ep in &demos {
            for t in &ep.transitions {
                store.append_demo(t)?;
            }
        }
        store.flush()?;
    }
    let out = dir.join("base.safetensors");
    let mut plain = cfg.clone();
    plain.agent.base_policy = None;
    train_bc(&plain, &BcOptions { run_dir: run, out: out.clone(), steps: 2000, max_demos: None }, |_, _, _| {})?;
    let mut policy = Policy::new(&plain.agent, &spec, tch::Device::Cpu)?;
    policy.load_weights(&std::fs::read(&out)?)?;
    let mut eval_env = SimEnv::new(cfg, 1_000_000 + seed * 1_000)?;
    let (success, _) = evaluate(&mut eval_env, &mut policy, episodes)?;
    Ok((out, success))
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
        assert_eq!(AgentOption::parse_list("plain,wsrl").unwrap(), vec![AgentOption::Plain, AgentOption::Wsrl]);
        assert!(AgentOption::parse_list("cql").is_err());
        let w = AgentOption::Wsrl.apply(&base);
        assert!(!w.agent.retain_offline && w.agent.pretrain_cycles() > 0 && w.validate().is_empty());
        assert_eq!(AgentOption::Plain.apply(&base).agent.pretrain_updates, Some(0));
        assert_eq!(AgentOption::Configured.apply(&base).agent, base.agent, "the configured agent, untouched");
        let h = AgentOption::HlGauss.apply(&base);
        assert_eq!(h.agent.critic, Some(interfaces::config::CriticKind::HlGauss));
        assert_eq!(AgentOption::Plain.apply(&base).agent.critic, Some(interfaces::config::CriticKind::Mse));
    }

    #[test]
    fn the_residual_option_is_refused_on_the_image_based_setting_before_anything_runs() {
        let base = crate::config_file::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../hardware_configs/sim_panda.toml"
        )))
        .unwrap();
        let b = LearningBench {
            env_steps: 10,
            eval_every: 10,
            eval_episodes: 1,
            image_budget: Duration::from_secs(1),
            variants: vec![Variant::StateSparse, Variant::ImageSparse],
            seeds: 1,
            first_seed: 1,
            options: vec![AgentOption::Plain, AgentOption::Residual],
        };
        let e = run(&base, &b).unwrap_err().to_string();
        assert!(e.contains("residual option needs a state-based setting"), "{e}");
    }
}
