//! `[agent]`: the learner's settings, with SERL / HIL-SERL defaults.

use super::Validator;
use serde::{Deserialize, Serialize};

/// Image encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncoderKind {
    /// A small CNN trained from scratch (default).
    #[default]
    SmallCnn,
    /// ResNet-10, optionally initialised from pretrained weights.
    Resnet10,
}

/// How an image-based learner trains its encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncoderTraining {
    /// `cached` on a CPU-only learner, `end_to_end` on CUDA (default).
    #[default]
    Auto,
    /// A frozen encoder (pretrained on the demonstrations, or the pretrained ResNet-10 of `pretrained`) whose
    /// features are computed once per stored frame and kept with the replay store: an update costs about as much
    /// as a state-based one. The choice for a CPU-only robot PC.
    Cached,
    /// The encoder trained by the critic with DrQ random shifts on every batch (SERL). The choice on a GPU.
    EndToEnd,
}

/// `[agent.encoder]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncoderConfig {
    /// Architecture.
    pub kind: EncoderKind,
    /// Pretrained weights (safetensors), for `resnet10`.
    pub pretrained: Option<String>,
    /// Keep the pretrained weights frozen.
    pub frozen: bool,
    /// Feature size per camera after the encoder's projection.
    pub features: u64,
    /// Cached frozen features or end-to-end training (see [`EncoderTraining`]).
    pub training: EncoderTraining,
    /// `cached` with `small_cnn`: gradient steps of the encoder's pretraining on the demonstrations.
    pub pretrain_steps: u64,
    /// `cached` with `small_cnn`: keypoints (spatial-softmax channels) per camera; 2 features each.
    pub keypoints: u64,
    /// `cached` with `small_cnn`: keep the encoder of the lowest held-out loss (measured every 100 steps) and stop
    /// after three measurements without a new lowest, instead of training all `pretrain_steps` and keeping the
    /// last. Off by default: it halved the pretraining time, but on `image-sparse` seed 1 the pretrained policy
    /// then started at 25 % against 85 % with the full pretraining (`corrigo bench learning`).
    pub early_stop: bool,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            kind: EncoderKind::SmallCnn,
            pretrained: None,
            frozen: true,
            features: 64,
            training: EncoderTraining::Auto,
            pretrain_steps: 1500,
            keypoints: 16,
            early_stop: false,
        }
    }
}

impl EncoderConfig {
    /// True when an image-based learner on a CUDA (`cuda = true`) or CPU device uses cached frozen features.
    pub fn cached_on(&self, cuda: bool) -> bool {
        match self.training {
            EncoderTraining::Auto => !cuda,
            EncoderTraining::Cached => true,
            EncoderTraining::EndToEnd => false,
        }
    }
}

/// Offline pretraining cycles of a sparse-reward task unless `agent.pretrain_updates` is set.
pub const SPARSE_PRETRAIN_UPDATES: u64 = 1000;

/// The critic's objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriticKind {
    /// Regression: mean squared error against the TD target (default).
    #[default]
    Mse,
    /// Classification ("Stop Regressing", HL-Gauss): each critic predicts a categorical distribution over a fixed
    /// support of `agent.hl_gauss.bins` values; trained by cross-entropy against the TD target smoothed by a
    /// Gaussian and integrated over the bins; Q is the distribution's mean.
    HlGauss,
}

/// `[agent.hl_gauss]`: the support and smoothing of the HL-Gauss critic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HlGaussConfig {
    /// Bins of the support (their centres span `v_min..=v_max` less half a bin at each end).
    pub bins: u64,
    /// Lower end of the support (targets below are clamped to it).
    pub v_min: f64,
    /// Upper end of the support (targets above are clamped to it).
    pub v_max: f64,
    /// The Gaussian's σ as a multiple of the bin width (0.75 in "Stop Regressing").
    pub sigma_ratio: f64,
}

impl Default for HlGaussConfig {
    /// A sparse 0/1 success reward with the episode ending at success: Q lies in `[0, 1]`; the support leaves a
    /// margin of 0.2 at each end for the smoothing. A shaped reward needs `v_min`/`v_max` set to its returns.
    fn default() -> Self {
        Self { bins: 51, v_min: -0.2, v_max: 1.2, sigma_ratio: 0.75 }
    }
}

/// `[agent]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Use the cameras' images as observations (otherwise state only).
    pub use_images: bool,
    /// Learning rate of every optimiser.
    pub lr: f64,
    /// Batch size (half demo, half online: RLPD).
    pub batch_size: u64,
    /// Critic updates per actor update.
    pub critic_actor_ratio: u64,
    /// Critic ensemble size (SERL 10, HIL-SERL 2).
    pub critic_ensemble: u64,
    /// Critics sampled for the target (REDQ subset).
    pub critic_subsample: u64,
    /// Polyak coefficient of the target networks.
    pub tau: f64,
    /// Hidden layer sizes of the MLPs.
    pub hidden: Vec<u64>,
    /// Initial temperature.
    pub init_temperature: f64,
    /// Penalty added to the reward when the gripper changes state.
    pub gripper_penalty: f64,
    /// Environment steps collected with random actions before learning starts.
    pub warmup_steps: u64,
    /// Capacity of the online buffer, transitions (oldest segments evicted).
    pub online_capacity: u64,
    /// Flush interval of the replay store, ms (≤ 1000).
    pub flush_interval_ms: u64,
    /// Publish policy weights every this many updates.
    pub publish_every: u64,
    /// Checkpoint every this many updates.
    pub checkpoint_every: u64,
    /// Image encoder.
    pub encoder: EncoderConfig,
    /// Seed of the learner's random streams (initial weights, batches, policy noise, augmentation).
    pub seed: u64,
    /// Subtract `α · log π(a'|s')` in the critic's target (standard SAC). Unset (the default): on for a shaped
    /// reward, off for a sparse one (SERL's choice), see [`AgentConfig::with_task_defaults`]: with a 0/1 success
    /// reward the entropy backup, α·|log π| per step summed over the horizon, is as large as the return itself and
    /// drowns the success signal (measured with `corrigo bench learning`: state-based sparse `pick_cube` 95 % at
    /// 15 000 env steps without it, 0 % at 12 500 and 35 % at 15 000 with it).
    pub backup_entropy: Option<bool>,
    /// A reward classifier (written by `corrigo classifier`): the environment over the bus takes its reward and
    /// success from it instead of the simulator's ground truth or the operator's label. Needs `use_images`.
    pub reward_classifier: Option<String>,
    /// The critic's objective: `mse` or `hl_gauss`. Unset (the default): `hl_gauss` for a sparse reward, `mse` for
    /// a shaped one, see [`AgentConfig::with_task_defaults`] (measured with `corrigo bench learning --options
    /// plain,hl-gauss`, state-based sparse `pick_cube`, 3 seeds: success at 10 000 env steps, interquartile mean
    /// over seeds, 100 % [100–100 %] with HL-Gauss against 50 % [45–60 %] with MSE).
    pub critic: Option<CriticKind>,
    /// The HL-Gauss critic's support and smoothing.
    pub hl_gauss: HlGaussConfig,
    /// Offline pretraining: update cycles on the demo buffer alone, before online learning starts (0: none).
    /// The critic's objective adds the conservative penalty of `conservative_weight`; the actor's is SAC's plus
    /// behaviour cloning. Unset (the default): [`SPARSE_PRETRAIN_UPDATES`] for a sparse reward, 0 for a shaped
    /// one, see [`AgentConfig::with_task_defaults`] (measured with `corrigo bench learning --options`, state-based
    /// sparse `pick_cube`, 3 seeds: success after 2 000 online steps 98 % [95–100 %] with pretraining against 3 %
    /// [0–10 %] without; with the HL-Gauss critic 100 % [100–100 %]).
    pub pretrain_updates: Option<u64>,
    /// Weight of the conservative (CQL) penalty in the critic's pretraining objective: `w · mean_e(logsumexp over
    /// sampled actions of Q_e(s, ·) − Q_e(s, a_demo))` (CQL(H); the sampled actions: uniform ones and the policy's,
    /// whose values are floored at the demonstration's return-to-go: Cal-QL's calibration). 0: plain TD
    /// pretraining.
    pub conservative_weight: f64,
    /// After pretraining, keep sampling half of every batch from the demo buffer (RLPD, the default). `false`:
    /// WSRL — `offline_warmup_steps` of rollouts from the pretrained policy, then online data only.
    pub retain_offline: bool,
    /// With `retain_offline = false`: environment steps collected with the pretrained policy before the first
    /// online update.
    pub offline_warmup_steps: u64,
    /// After offline pretraining: weight of the behaviour-cloning term (the negative log-likelihood of the batch's
    /// actions: demonstrations, interventions and the policy's own recent rollouts) kept in the online actor
    /// objective, a trust region that stops the first online updates from unlearning the pretrained policy
    /// (measured with `corrigo bench learning --options wsrl`: without it the pretrained policy's 90 % fell to 0 %
    /// within 200 online updates, with it 100 %). 0: SAC's actor objective alone.
    pub finetune_bc_weight: f64,
    /// A behaviour prior (IBRL, Hu et al. 2023): a behaviour-cloning policy fitted to the demonstrations before
    /// learning starts proposes an action beside the actor's; for acting and for the critic's TD target the
    /// proposal the critic values higher is taken, so what the demonstrations do stays available to the agent
    /// however far the actor drifts. Only where the networks' inputs are fixed (state-based, or image-based on
    /// cached frozen features); not with a base policy. Unset (the default): on for a sparse reward with images,
    /// off otherwise, see [`AgentConfig::with_task_defaults`] (measured with `corrigo bench learning --variants
    /// image-sparse --options prior`, default networks, 20 demos: seed 3 ended at 95 % at 20 000 env steps, best
    /// 100 %, against 60 %, best 75 %, without it; seed 2 at 50 %, best 65 %, against 15 %, best 45 %).
    pub bc_prior: Option<bool>,
    /// Behaviour-cloning steps (batches of `batch_size` demo transitions) that fit the behaviour prior.
    pub bc_prior_steps: u64,
    /// Residual RL: a frozen base policy (corrigo's BC policy written by `corrigo bc`, or a TorchScript module
    /// mapping `(proprio [B, P])` → actions `[B, A]` in `[-1, 1]`); the action is the base action plus a learned
    /// residual of at most `residual_scale`, clamped to `[-1, 1]`; actor and critic see the base action.
    pub base_policy: Option<String>,
    /// Bound of the residual, in normalised action units (0: the base policy alone).
    pub residual_scale: f64,
    /// Allow `base_policy` to be a TorchScript module. A TorchScript file is a *program*, not a table of numbers:
    /// loading and running it executes whatever operations it was saved with (file and network I/O included),
    /// with the rights of the learner and of every actor that loads it. Off by default: a base policy that is not
    /// corrigo's safetensors weights is refused, naming this key. Set it only for a file you would run as code.
    pub trust_torchscript: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            use_images: false,
            lr: 3e-4,
            batch_size: 256,
            critic_actor_ratio: 4,
            critic_ensemble: 2,
            critic_subsample: 2,
            tau: 0.005,
            hidden: vec![256, 256],
            init_temperature: 1e-2,
            gripper_penalty: 0.0,
            warmup_steps: 1000,
            online_capacity: 200_000,
            flush_interval_ms: 500,
            publish_every: 50,
            checkpoint_every: 2000,
            encoder: EncoderConfig::default(),
            seed: 0,
            backup_entropy: None,
            reward_classifier: None,
            critic: None,
            hl_gauss: HlGaussConfig::default(),
            pretrain_updates: None,
            conservative_weight: 1.0,
            retain_offline: true,
            offline_warmup_steps: 1000,
            finetune_bc_weight: 1.0,
            bc_prior: None,
            bc_prior_steps: 2000,
            base_policy: None,
            residual_scale: 0.25,
            trust_torchscript: false,
        }
    }
}

impl AgentConfig {
    /// True for a file name TorchScript is saved under (`.pt`, `.pth`, `.ptl`, `.jit`, `.torchscript`): the cheap
    /// check at config load; the loader refuses any base policy that is not safetensors weights without
    /// `agent.trust_torchscript`, whatever its name.
    pub fn looks_like_torchscript(path: &str) -> bool {
        let ext = std::path::Path::new(path).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        matches!(ext.as_deref(), Some("pt" | "pth" | "ptl" | "jit" | "torchscript"))
    }

    /// This config with the settings left to the task filled in, unless set: `backup_entropy` off for a sparse
    /// reward, on for a shaped one; `critic` HL-Gauss for a sparse reward (its default support fits a 0/1 success
    /// reward), MSE for a shaped one; `pretrain_updates` [`SPARSE_PRETRAIN_UPDATES`] for a sparse reward, 0 for a
    /// shaped one; `bc_prior` on for a sparse reward with images, else off.
    pub fn with_task_defaults(&self, reward: super::RewardKind) -> Self {
        let mut c = self.clone();
        let shaped = reward == super::RewardKind::Shaped;
        c.backup_entropy.get_or_insert(shaped);
        c.critic.get_or_insert(if shaped { CriticKind::Mse } else { CriticKind::HlGauss });
        c.pretrain_updates.get_or_insert(if shaped { 0 } else { SPARSE_PRETRAIN_UPDATES });
        c.bc_prior.get_or_insert(!shaped && self.use_images);
        c
    }

    /// True when the behaviour prior is on (`bc_prior`; unset: off, [`AgentConfig::with_task_defaults`] fills it).
    pub fn uses_bc_prior(&self) -> bool {
        self.bc_prior == Some(true) && self.base_policy.is_none()
    }

    /// True for WSRL: pretraining and then online data only (`retain_offline = false`).
    pub fn online_only(&self) -> bool {
        !self.retain_offline && self.pretrain_cycles() > 0
    }

    /// Offline pretraining cycles (`pretrain_updates`, 0 when unset: the task fills it in).
    pub fn pretrain_cycles(&self) -> u64 {
        self.pretrain_updates.unwrap_or(0)
    }

    /// Whether the critic's target subtracts the entropy term (unset: on).
    pub fn entropy_backup(&self) -> bool {
        self.backup_entropy.unwrap_or(true)
    }

    pub(crate) fn validate(&self, v: &mut Validator) {
        v.range("agent.lr", self.lr, 1e-7, 1.0, "");
        v.range_u64("agent.batch_size", self.batch_size, 2, 65_536, "transitions");
        v.range_u64("agent.critic_actor_ratio", self.critic_actor_ratio, 1, 100, "");
        v.range_u64("agent.critic_ensemble", self.critic_ensemble, 1, 64, "critics");
        v.range_u64(
            "agent.critic_subsample",
            self.critic_subsample,
            1,
            self.critic_ensemble.max(1),
            "critics, at most agent.critic_ensemble",
        );
        v.range("agent.tau", self.tau, 0.0, 1.0, "");
        if self.hidden.is_empty() {
            v.push("agent.hidden", "[]".into(), "at least one hidden layer");
        }
        for (i, h) in self.hidden.iter().enumerate() {
            v.range_u64(&format!("agent.hidden[{i}]"), *h, 1, 8192, "units");
        }
        v.range("agent.init_temperature", self.init_temperature, 1e-8, 100.0, "");
        v.range("agent.gripper_penalty", self.gripper_penalty, 0.0, 10.0, "reward units");
        v.range_u64("agent.online_capacity", self.online_capacity, 1000, 100_000_000, "transitions");
        v.range_u64("agent.flush_interval_ms", self.flush_interval_ms, 1, 1000, "ms");
        v.range_u64("agent.publish_every", self.publish_every, 1, 1_000_000, "updates");
        v.range_u64("agent.checkpoint_every", self.checkpoint_every, 1, 10_000_000, "updates");
        v.range_u64("agent.encoder.features", self.encoder.features, 1, 4096, "");
        v.range_u64("agent.encoder.pretrain_steps", self.encoder.pretrain_steps, 1, 1_000_000, "gradient steps");
        v.range_u64("agent.encoder.keypoints", self.encoder.keypoints, 1, 256, "keypoints per camera");
        if self.encoder.training == EncoderTraining::Cached
            && self.encoder.kind == EncoderKind::Resnet10
            && self.encoder.pretrained.is_none()
        {
            v.push(
                "agent.encoder.pretrained",
                "none".into(),
                "a weights file: a cached resnet10 encoder is frozen, so it must be pretrained (or use small_cnn, \
                 which is pretrained on the demonstrations)",
            );
        }
        if self.reward_classifier.is_some() && !self.use_images {
            v.push(
                "agent.reward_classifier",
                format!("{:?}", self.reward_classifier),
                "only with agent.use_images = true (the classifier looks at the cameras)",
            );
        }
        v.range_u64("agent.hl_gauss.bins", self.hl_gauss.bins, 2, 1024, "bins");
        let (lo, hi) = (self.hl_gauss.v_min, self.hl_gauss.v_max);
        if !lo.is_finite() || !hi.is_finite() || hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            v.push("agent.hl_gauss.v_max", hi.to_string(), "a finite value above agent.hl_gauss.v_min (finite)");
        }
        v.range("agent.hl_gauss.sigma_ratio", self.hl_gauss.sigma_ratio, 1e-3, 100.0, "bin widths");
        v.range_u64("agent.pretrain_updates", self.pretrain_cycles(), 0, 10_000_000, "update cycles");
        v.range("agent.conservative_weight", self.conservative_weight, 0.0, 1000.0, "");
        v.range_u64("agent.offline_warmup_steps", self.offline_warmup_steps, 0, 10_000_000, "env steps");
        v.range("agent.finetune_bc_weight", self.finetune_bc_weight, 0.0, 1000.0, "");
        v.range_u64("agent.bc_prior_steps", self.bc_prior_steps, 1, 10_000_000, "behaviour-cloning steps");
        v.range("agent.residual_scale", self.residual_scale, 0.0, 2.0, "normalised action units");
        if let Some(base) = &self.base_policy
            && Self::looks_like_torchscript(base)
            && !self.trust_torchscript
        {
            v.push(
                "agent.trust_torchscript",
                format!("false (agent.base_policy = {base:?})"),
                "true to load a TorchScript base policy: a TorchScript file is code that runs with the learner's and \
                 the actors' rights (or give a safetensors policy written by `corrigo bc`)",
            );
        }
        if self.encoder.kind == EncoderKind::SmallCnn && self.encoder.pretrained.is_some() {
            v.push(
                "agent.encoder.pretrained",
                format!("{:?}", self.encoder.pretrained),
                "only with agent.encoder.kind = \"resnet10\"",
            );
        }
    }
}

#[cfg(test)]
mod trust_tests {
    use super::*;

    fn problems(cfg: &AgentConfig) -> Vec<String> {
        let mut v = Validator::default();
        cfg.validate(&mut v);
        v.into_problems().into_iter().map(|p| p.to_string()).collect()
    }

    /// A TorchScript base policy is code: without `agent.trust_torchscript` the config is refused, naming the key.
    #[test]
    fn a_torchscript_base_policy_needs_trust_torchscript() {
        let cfg = AgentConfig { base_policy: Some("runs/base.pt".into()), ..AgentConfig::default() };
        let p = problems(&cfg);
        assert!(p.iter().any(|p| p.contains("agent.trust_torchscript")), "{p:?}");
        assert!(problems(&AgentConfig { trust_torchscript: true, ..cfg }).is_empty());
        let weights = AgentConfig { base_policy: Some("bc_policy.safetensors".into()), ..AgentConfig::default() };
        assert!(problems(&weights).is_empty());
    }
}
