//! [`Learner`]: SAC with RLPD on one device and one thread — critic ensemble with REDQ target subset, actor,
//! auto-tuned temperature, discrete gripper critic, DrQ augmentation, soft target updates.

use crate::error::Result;
use crate::nn::augment::random_shift;
use crate::nn::fused::StackedMlp;
use crate::nn::params::Init;
use crate::nn::{Adam, ParamBuilder, ParamGroup, Rng};
use crate::replay::{Batch, BatchSampler, ReplayStore, Source};
use crate::sac::base::BasePolicy;
use crate::sac::critic::CriticHead;
use crate::sac::losses;
use crate::sac::model::{self, Params, Structure};
use crate::spec::ObsSpec;
use interfaces::config::AgentConfig;
use tch::{Device, Kind, Tensor};

/// The margin of the gripper critic's large-margin loss during offline pretraining (DQfD's 0.8).
pub const GRIPPER_MARGIN: f64 = 0.8;

/// DrQ padding, pixels.
pub const DRQ_PAD: i64 = 4;

/// Scalars of one update cycle (the last critic step and the actor step).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UpdateMetrics {
    /// Critic loss (mean squared TD error over critics and batch).
    pub critic_loss: f64,
    /// Actor loss.
    pub actor_loss: f64,
    /// Temperature loss.
    pub temperature_loss: f64,
    /// Temperature α after the update.
    pub temperature: f64,
    /// Policy entropy estimate `−mean log π`.
    pub entropy: f64,
    /// Mean Q of the batch's actions.
    pub q_mean: f64,
    /// Gripper critic loss (0 without gripper).
    pub gripper_loss: f64,
    /// Update cycles done so far (after this one).
    pub updates: u64,
}

/// The learner: owns the networks, their targets, the optimisers, the RNG and the batch sampler.
/// Not `Send`-shared: one learner per thread.
#[derive(Debug)]
pub struct Learner {
    pub(crate) cfg: AgentConfig,
    pub(crate) discount: f64,
    pub(crate) spec: ObsSpec,
    pub(crate) device: Device,
    pub(crate) s: Structure,
    pub(crate) p: Params,
    pub(crate) critic_target: ParamGroup,
    pub(crate) gripper_target: Option<ParamGroup>,
    pub(crate) log_alpha: ParamGroup,
    pub(crate) opt_critic: Adam,
    pub(crate) opt_actor: Adam,
    pub(crate) opt_alpha: Adam,
    pub(crate) opt_gripper: Option<Adam>,
    pub(crate) rng: Rng,
    pub(crate) sampler: BatchSampler,
    pub(crate) updates: u64,
    /// The actor and the critic ensemble as the fused CPU path computes them ([`crate::nn::fused`]); `None`: the
    /// steps use autograd.
    pub(crate) fused: Option<FusedNets>,
    /// The frozen encoder of the cached-feature path ([`crate::features`]): the networks see `[features,
    /// proprio]`; the store must carry the same encoder's features.
    pub(crate) frame_encoder: Option<crate::features::FrameEncoder>,
    /// How the critic's outputs become Q values and what it is trained on (`agent.critic`).
    pub(crate) head: CriticHead,
    /// The frozen base policy of residual RL (`agent.base_policy`).
    pub(crate) base: Option<BasePolicy>,
    /// Offline pretraining cycles done (`agent.pretrain_updates`; not counted in `updates`).
    pub(crate) pretrained: u64,
    /// True during an offline pretraining cycle (the gripper critic adds the demonstrations' large-margin loss).
    pub(crate) pretraining: bool,
    /// The demo buffer's returns-to-go (Cal-QL's floor), computed when pretraining starts.
    pub(crate) demo_returns: Vec<f32>,
    /// The behaviour prior (`agent.bc_prior`, [`crate::sac::prior`]).
    pub(crate) prior: Option<crate::sac::prior::Prior>,
    /// Share of the last critic step's TD-target rows that took the prior's proposal.
    pub(crate) prior_share: std::cell::Cell<f64>,
    /// The diagnostics' own batch sampler ([`crate::sac::diagnostics`]), made on first use.
    pub(crate) diag_sampler: Option<BatchSampler>,
}

/// The networks of the fused CPU path.
#[derive(Debug, Clone)]
pub(crate) struct FusedNets {
    pub(crate) actor: StackedMlp,
    pub(crate) critic: StackedMlp,
}

impl Learner {
    /// A fresh learner for `spec` on `device` (see [`crate::default_device`]); `discount` comes from the task.
    /// Weights are initialised from `cfg.seed`; a pretrained ResNet-10 is loaded when configured.
    pub fn new(cfg: &AgentConfig, discount: f64, spec: &ObsSpec, device: Device) -> Result<Self> {
        Self::with_raw_proprio(cfg, discount, spec, spec.proprio_dim, device)
    }

    /// [`Learner::new`] where the observation's own proprio vector is the last `raw_proprio` values of the spec's
    /// (the rest: cached image features), which is what a base policy reads.
    fn with_raw_proprio(
        cfg: &AgentConfig,
        discount: f64,
        spec: &ObsSpec,
        raw_proprio: usize,
        device: Device,
    ) -> Result<Self> {
        crate::alloc::keep_freed_memory();
        let mut rng = Rng::new(cfg.seed);
        let base = crate::sac::base::from_config(cfg, raw_proprio, spec.action_dim, device)?;
        // With a base policy the networks see its action beside the features.
        let mut net_spec = spec.clone();
        if base.is_some() {
            net_spec.proprio_dim += spec.action_dim;
        }
        let (s, p) = model::build(cfg, &net_spec, device, &mut rng)?;
        let fused = Self::fused_nets(device, &s, &p);
        let critic_target = p.critic.duplicate(false);
        let gripper_target = p.gripper.as_ref().map(|g| g.duplicate(false));
        let mut pb = ParamBuilder::default();
        pb.add("log_alpha", &[1], Init::Const(cfg.init_temperature.ln() as f32));
        let log_alpha = pb.build(device, &mut rng, true);
        // The prior needs fixed inputs (state or cached features) and no base policy.
        let prior = (cfg.uses_bc_prior() && s.encoders.is_none()).then(|| {
            let hidden: Vec<i64> = cfg.hidden.iter().map(|&h| h as i64).collect();
            crate::sac::prior::Prior::new(&hidden, s.feat_dim, spec.action_dim as i64, device, &mut rng)
        });
        if cfg.uses_bc_prior() && prior.is_none() {
            tracing::info!(
                "the image encoders train end to end here: the behaviour prior (agent.bc_prior) is not used (it needs \
                 fixed inputs: state, or cached image features)"
            );
        }
        let lr = cfg.lr;
        Ok(Self {
            opt_critic: Adam::new(&p.critic, lr),
            opt_actor: Adam::new(&p.actor, lr),
            opt_alpha: Adam::new(&log_alpha, lr),
            opt_gripper: p.gripper.as_ref().map(|g| Adam::new(g, lr)),
            sampler: BatchSampler::new(spec, cfg.batch_size as usize, device, cfg.seed ^ SAMPLER_SEED_MIX),
            cfg: cfg.clone(),
            discount,
            spec: spec.clone(),
            device,
            s,
            p,
            critic_target,
            gripper_target,
            log_alpha,
            fused,
            rng,
            updates: 0,
            frame_encoder: None,
            head: CriticHead::new(cfg, device),
            base,
            pretrained: 0,
            pretraining: false,
            demo_returns: Vec::new(),
            prior,
            prior_share: std::cell::Cell::new(0.0),
            diag_sampler: None,
        })
    }

    /// The learner for `store`: on the cached-feature path when a frame encoder is attached to it
    /// ([`crate::features::prepare`]) — networks on `[features, proprio]`, trained like a state-based learner (the
    /// fused CPU path on a CPU) — else [`Learner::new`] with the store's spec.
    pub fn for_store(cfg: &AgentConfig, discount: f64, store: &ReplayStore, device: Device) -> Result<Self> {
        match store.frame_encoder() {
            Some(enc) => {
                let spec = crate::features::encoded_spec(store.spec(), enc.dim());
                let mut l = Self::with_raw_proprio(cfg, discount, &spec, store.spec().proprio_dim, device)?;
                l.frame_encoder = Some(enc.clone());
                Ok(l)
            }
            None => Self::new(cfg, discount, store.spec(), device),
        }
    }

    /// True on the cached-feature path.
    pub fn uses_cached_features(&self) -> bool {
        self.frame_encoder.is_some()
    }

    /// The fused CPU path's networks where it applies: on the CPU without cameras.
    fn fused_nets(device: Device, s: &Structure, p: &Params) -> Option<FusedNets> {
        if device != Device::Cpu || s.encoders.is_some() {
            return None;
        }
        Some(FusedNets { actor: s.actor.stacked(&p.actor)?, critic: s.ensemble.stacked(&p.critic) })
    }

    /// True when updates take the fused CPU path ([`crate::nn::fused`]): the default for a state-based learner on
    /// the CPU. Image-based learners and CUDA use autograd.
    pub fn uses_fused_cpu_path(&self) -> bool {
        self.fused.is_some()
    }

    /// Chooses the fused CPU path (`true`, where possible) or autograd (`false`), e.g. to compare the two; returns
    /// whether the fused path is now in use.
    pub fn set_fused_cpu_path(&mut self, on: bool) -> bool {
        self.fused = if on { Self::fused_nets(self.device, &self.s, &self.p) } else { None };
        self.fused.is_some()
    }

    /// The device the model lives on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Update cycles done.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Current temperature α.
    pub fn temperature(&self) -> f64 {
        self.log_alpha.flat().exp().double_value(&[0])
    }

    /// Target entropy `−|A|/2`.
    pub fn target_entropy(&self) -> f64 {
        -(self.spec.action_dim as f64) / 2.0
    }

    /// One update cycle from the store: samples `critic_actor_ratio` RLPD batches in one gather, does that many
    /// critic (and gripper critic) steps and one actor + temperature step. Errors when both buffers are empty.
    /// With `agent.retain_offline = false` (after pretraining) every row comes from the online buffer.
    pub fn update(&mut self, store: &ReplayStore) -> Result<UpdateMetrics> {
        let source = if self.cfg.online_only() { Source::Online } else { Source::Both };
        let batch = self.sampler.sample_many_from(store, self.cfg.critic_actor_ratio as usize, source)?;
        Ok(self.update_with(&batch))
    }

    /// One update cycle on `batch`, which holds `critic_actor_ratio × batch_size` rows on the learner's device
    /// (consecutive `batch_size` rows per critic step; the actor uses the last ones).
    pub fn update_with(&mut self, batch: &Batch) -> UpdateMetrics {
        let augmented = self.with_base(batch);
        let batch = augmented.as_ref().unwrap_or(batch);
        let b = self.cfg.batch_size as i64;
        let ratio = self.cfg.critic_actor_ratio as i64;
        let bc = self.finetune_bc_weight();
        let mut critic = (Tensor::new(), Tensor::new(), Tensor::new());
        let mut last = None;
        for k in 0..ratio {
            let mb = batch.narrow(k * b, b);
            let aug = self.augment(&mb);
            critic = match self.fused.clone() {
                Some(nets) => self.critic_step_fused(&nets, &mb),
                None => self.critic_step(&mb, &aug, None),
            };
            last = Some((mb, aug));
        }
        let (actor_loss, temp_loss, logp) = match &last {
            Some((mb, _)) if let Some(nets) = self.fused.clone() => self.actor_step_fused(&nets, mb, bc),
            Some((mb, aug)) => self.actor_step(mb, &aug.0, bc),
            None => (Tensor::new(), Tensor::new(), Tensor::new()),
        };
        self.updates += 1;
        self.metrics(&critic, &actor_loss, &temp_loss, &logp)
    }

    /// The scalars of a cycle from its last critic step's `(loss, mean Q, gripper loss)`, the actor and
    /// temperature losses and the actor batch's `log π` (undefined tensors count as 0).
    pub(crate) fn metrics(
        &self,
        critic: &(Tensor, Tensor, Tensor),
        actor_loss: &Tensor,
        temp_loss: &Tensor,
        logp: &Tensor,
    ) -> UpdateMetrics {
        let scalar = |t: &Tensor| if t.defined() { t.double_value(&[]) } else { 0.0 };
        UpdateMetrics {
            critic_loss: scalar(&critic.0),
            actor_loss: scalar(actor_loss),
            temperature_loss: scalar(temp_loss),
            temperature: self.temperature(),
            entropy: if logp.defined() { -logp.mean(Kind::Float).double_value(&[]) } else { 0.0 },
            q_mean: scalar(&critic.1),
            gripper_loss: scalar(&critic.2),
            updates: self.updates,
        }
    }

    /// DrQ-shifted copies of the batch's images (obs, next_obs).
    pub(crate) fn augment(&mut self, mb: &Batch) -> (Vec<Tensor>, Vec<Tensor>) {
        let obs = mb.images.iter().map(|t| random_shift(t, DRQ_PAD, &mut self.rng)).collect();
        let next = mb.next_images.iter().map(|t| random_shift(t, DRQ_PAD, &mut self.rng)).collect();
        (obs, next)
    }

    /// The weight of the behaviour-cloning term in the online actor objective: `agent.finetune_bc_weight` after
    /// offline pretraining (not with a base policy), else 0.
    pub(crate) fn finetune_bc_weight(&self) -> f64 {
        if self.cfg.pretrain_cycles() > 0 && self.base.is_none() { self.cfg.finetune_bc_weight } else { 0.0 }
    }

    /// The batch with the base policy's actions appended to `proprio` and `next_proprio` (`None` without a base).
    pub(crate) fn with_base(&self, batch: &Batch) -> Option<Batch> {
        let base = self.base.as_ref()?;
        Some(Batch {
            proprio: base.augment(&batch.proprio),
            next_proprio: base.augment(&batch.next_proprio),
            action: batch.action.shallow_clone(),
            gripper: batch.gripper.shallow_clone(),
            reward: batch.reward.shallow_clone(),
            done: batch.done.shallow_clone(),
            gripper_changed: batch.gripper_changed.shallow_clone(),
            images: batch.images.iter().map(Tensor::shallow_clone).collect(),
            next_images: batch.next_images.iter().map(Tensor::shallow_clone).collect(),
        })
    }

    /// The executed action for the actor's squashed sample `a` at features `feats`: `a` itself, or with a base
    /// policy the base action (the features' last columns) plus the bounded residual `a`.
    pub(crate) fn executed(&self, feats: &Tensor, a: Tensor) -> Tensor {
        match &self.base {
            Some(b) => b.combine(feats, &a),
            None => a,
        }
    }

    pub(crate) fn sample_action(&mut self, feats: &Tensor) -> (Tensor, Tensor) {
        let (mean, log_std) = self.s.actor_head(&self.p.actor, feats);
        let eps = self.rng.normal(&mean.size(), self.device);
        let (a, logp) = losses::squashed_gaussian(&mean, &log_std, &eps);
        (self.executed(feats, a), logp)
    }

    /// One critic step; returns (critic loss, mean Q, gripper loss) as tensors. `conservative = Some((w, floor))`
    /// adds the conservative penalty of offline pretraining with weight `w` and the rows' returns-to-go `floor`
    /// ([`Learner::conservative_penalty`]).
    pub(crate) fn critic_step(
        &mut self,
        mb: &Batch,
        aug: &(Vec<Tensor>, Vec<Tensor>),
        conservative: Option<(f64, &Tensor)>,
    ) -> (Tensor, Tensor, Tensor) {
        let alpha = self.temperature();
        let e = self.cfg.critic_ensemble as usize;
        let m = self.cfg.critic_subsample as usize;
        let (y, f_next_online, f_next_target) = {
            let _no_grad = tch::no_grad_guard();
            let frozen = self.p.frozen.as_ref();
            let f_next_online = self.s.features(&self.p.critic, frozen, &aug.1, &mb.next_proprio);
            let f_next_target = if self.s.encoders.is_some() {
                self.s.features(&self.critic_target, frozen, &aug.1, &mb.next_proprio)
            } else {
                f_next_online.shallow_clone()
            };
            let (a_next, logp_next) = self.sample_action(&f_next_online);
            let subset = (m < e).then(|| Tensor::from_slice(&self.rng.subset(e, m)).to_device(self.device));
            let q_of = |a: &Tensor| {
                self.head.values(&self.s.ensemble.forward(
                    &self.critic_target,
                    &Tensor::cat(&[&f_next_target, a], 1),
                    subset.as_ref(),
                ))
            };
            let q_next = q_of(&a_next);
            let (q_next, logp_next) = self.with_prior_next(&f_next_online, q_next, logp_next, q_of);
            let y = self.td_target(mb, &q_next, &logp_next, alpha);
            (y, f_next_online, f_next_target)
        };
        let f = self.s.features(&self.p.critic, self.p.frozen.as_ref(), &aug.0, &mb.proprio);
        let out = self.s.ensemble.forward(&self.p.critic, &Tensor::cat(&[&f, &mb.action], 1), None);
        let q = self.head.values(&out);
        let loss = self.head.loss(&out, &y);
        let loss = match conservative.filter(|(w, _)| *w > 0.0) {
            Some((w, floor)) => loss + self.conservative_penalty(&f, &q, floor) * w,
            None => loss,
        };
        let g = self.p.critic.flat_grad(&loss);
        self.opt_critic.step(&self.p.critic, &g);
        self.critic_target.soft_update_from(&self.p.critic, self.cfg.tau);
        let grip_loss = self.gripper_step(mb, &f, &f_next_online, &f_next_target);
        (loss.detach(), q.detach().mean(Kind::Float), grip_loss)
    }

    /// The critic's regression target for the batch from the target critics' `q_next` `[E', B]` and the next
    /// action's `log π` ([`losses::critic_target`] with the task's discount and the config's entropy backup).
    pub(crate) fn td_target(&self, mb: &Batch, q_next: &Tensor, logp_next: &Tensor, alpha: f64) -> Tensor {
        losses::critic_target(&mb.reward, &mb.done, self.discount, q_next, logp_next, alpha, self.cfg.entropy_backup())
    }

    /// One gripper-critic step (double DQN) on the features of the batch and of its next observations (online and
    /// target encoders); returns the loss, undefined without a gripper.
    pub(crate) fn gripper_step(
        &mut self,
        mb: &Batch,
        f: &Tensor,
        f_next_online: &Tensor,
        f_next_target: &Tensor,
    ) -> Tensor {
        let mut grip_loss = Tensor::new();
        if let (Some(net), Some(gp), Some(gt), Some(opt)) =
            (&self.s.gripper, &self.p.gripper, &self.gripper_target, self.opt_gripper.as_mut())
        {
            let y = tch::no_grad(|| {
                losses::gripper_target(
                    &mb.reward,
                    &mb.done,
                    &mb.gripper_changed,
                    self.cfg.gripper_penalty,
                    self.discount,
                    &net.forward(gp, f_next_online),
                    &net.forward(gt, f_next_target),
                )
            });
            let q = net.forward(gp, &f.detach());
            let l = losses::gripper_loss(&q, &mb.gripper, &y);
            let l = if self.pretraining { l + losses::large_margin_loss(&q, &mb.gripper, GRIPPER_MARGIN) } else { l };
            let g = gp.flat_grad(&l);
            opt.step(gp, &g);
            gt.soft_update_from(gp, self.cfg.tau);
            grip_loss = l.detach();
        }
        grip_loss
    }

    /// The temperature step on the actor batch's `log π` (a constant here); returns the loss.
    pub(crate) fn temperature_step(&mut self, logp: &Tensor) -> Tensor {
        let t_loss = losses::temperature_loss(self.log_alpha.get(0), logp, self.target_entropy());
        let g = self.log_alpha.flat_grad(&t_loss);
        self.opt_alpha.step(&self.log_alpha, &g);
        t_loss.detach()
    }

    /// Actor and temperature step on the encoder's (gradient-stopped) features of `obs_images`. `bc_weight > 0`
    /// adds the demonstrated actions' negative log-likelihood with that weight (offline pretraining).
    pub(crate) fn actor_step(&mut self, mb: &Batch, obs_images: &[Tensor], bc_weight: f64) -> (Tensor, Tensor, Tensor) {
        let alpha = self.temperature();
        let f = tch::no_grad(|| self.s.features(&self.p.critic, self.p.frozen.as_ref(), obs_images, &mb.proprio));
        let (a, logp) = self.sample_action(&f);
        let q = self.head.values(&self.s.ensemble.forward(&self.p.critic, &Tensor::cat(&[&f, &a], 1), None));
        let loss = losses::actor_loss(&q, &logp, alpha);
        let loss = if bc_weight > 0.0 && self.base.is_none() {
            let (mean, log_std) = self.s.actor_head(&self.p.actor, &f);
            loss + crate::bc::squashed_nll(&mean, &log_std, &mb.action).mean(Kind::Float) * bc_weight
        } else {
            loss
        };
        let g = self.p.actor.flat_grad(&loss);
        self.opt_actor.step(&self.p.actor, &g);
        let t_loss = self.temperature_step(&logp);
        (loss.detach(), t_loss, logp.detach())
    }

    /// The acting policy's weights (encoder, frozen backbone, actor, gripper critic) as safetensors bytes, for
    /// publishing to actors ([`crate::sac::Policy::load_weights`]).
    pub fn policy_weights(&self) -> Result<Vec<u8>> {
        let mut named: Vec<(String, Tensor)> =
            self.p.critic.named("").into_iter().filter(|(n, _)| n.starts_with("encoder.")).collect();
        let mut meta = std::collections::HashMap::new();
        if let Some(e) = &self.frame_encoder {
            named.extend(e.named());
            meta.insert(crate::sac::policy::IMAGE_FEATURES_META.into(), "cached".into());
        }
        if let Some(f) = &self.p.frozen {
            named.extend(f.named(""));
        }
        named.extend(self.p.actor.named(""));
        if let Some(g) = &self.p.gripper {
            named.extend(g.named(""));
        }
        let (prior, prior_meta) = self.prior_for_policy();
        named.extend(prior);
        meta.extend(prior_meta);
        meta.insert("updates".into(), self.updates.to_string());
        crate::nn::weights::to_bytes(&named, meta)
    }
}

/// Mixed into the config seed for the sampler's stream (independent of the learner's).
const SAMPLER_SEED_MIX: u64 = 0x5eed_5a3f_1e00_0001;

impl Learner {
    /// Initialises the actor, the encoder and the gripper critic from policy-layout weights (e.g. a BC run's
    /// [`crate::bc::BcTrainer::policy_weights`]); the critic's target copy of the encoder follows.
    pub fn warm_start(&mut self, bytes: &[u8]) -> Result<()> {
        let l = crate::nn::weights::from_bytes(bytes, "<warm start weights>")?;
        let look = |k: &str| l.get(k);
        self.p.critic.load_subset("encoder.", "<warm start weights>", &|k: &str| look(&format!("encoder.{k}")))?;
        self.p.actor.load("", "<warm start weights>", &look)?;
        if let Some(g) = &self.p.gripper {
            g.load("", "<warm start weights>", &look)?;
        }
        self.critic_target.copy_from(&self.p.critic);
        Ok(())
    }
}
