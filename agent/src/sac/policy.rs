//! [`Policy`]: the acting side — encoder + actor (+ gripper critic), loaded from the learner's published weights.

use crate::error::{AgentError, Result};
use crate::features::FrameEncoder;
use crate::nn::{Encoders, Mlp, ParamBuilder, ParamGroup, Rng};
use crate::replay::{Action, GripperAction, Observation};
use crate::sac::losses::{LOG_STD_MAX, LOG_STD_MIN};
use crate::sac::model::GRIPPER_ACTIONS;
use crate::spec::ObsSpec;
use interfaces::config::AgentConfig;
use tch::{Device, Kind, Tensor};

/// The acting networks, declared (not yet built): image encoders (trainable and frozen parts), the actor
/// `feat → 2·|A|` (mean and log-std) and, with a gripper, the gripper critic `feat → 3`. The policy, the learner's
/// BC pre-training and anything else that acts share this layout, so their weights are interchangeable.
pub(crate) struct ActorLayout {
    pub encoders: Option<Encoders>,
    pub enc_pb: ParamBuilder,
    pub frozen_pb: ParamBuilder,
    pub actor_net: Mlp,
    pub actor_pb: ParamBuilder,
    pub grip_net: Option<Mlp>,
    pub grip_pb: ParamBuilder,
}

impl ActorLayout {
    pub fn declare(cfg: &AgentConfig, spec: &ObsSpec) -> Self {
        let hidden: Vec<i64> = cfg.hidden.iter().map(|&h| h as i64).collect();
        let (mut enc_pb, mut frozen_pb) = (ParamBuilder::default(), ParamBuilder::default());
        let encoders = Encoders::declare(&mut enc_pb, &mut frozen_pb, spec, &cfg.encoder);
        let feat = encoders.as_ref().map_or(0, |e| e.out_dim) + spec.proprio_dim as i64;
        let mut actor_pb = ParamBuilder::default();
        let actor_net = Mlp::declare(&mut actor_pb, "pi.", feat, &hidden, Some(2 * spec.action_dim as i64));
        let mut grip_pb = ParamBuilder::default();
        let grip_net = spec.gripper.then(|| Mlp::declare(&mut grip_pb, "grip.", feat, &hidden, Some(GRIPPER_ACTIONS)));
        Self { encoders, enc_pb, frozen_pb, actor_net, actor_pb, grip_net, grip_pb }
    }
}

/// Metadata key of the policy weights saying which image layout they are in (`cached` or absent).
pub(crate) const IMAGE_FEATURES_META: &str = "image_features";

/// The policy an actor runs: `act(observation) → action` at batch 1, on its own device and thread.
///
/// An image-based policy comes in two layouts, chosen by the weights it loads (metadata `image_features`): the
/// end-to-end one (trainable encoders inside the actor's features) and the cached-feature one
/// ([`crate::features`]: a frozen [`FrameEncoder`] in front of a state-sized actor on `[features, proprio]`).
#[derive(Debug)]
pub struct Policy {
    cfg: AgentConfig,
    /// The observation spec the policy is given (cameras included).
    raw_spec: ObsSpec,
    /// The frozen encoder of the cached-feature layout.
    frame_encoder: Option<FrameEncoder>,
    /// The spec the actor network sees (the encoded spec in the cached-feature layout).
    spec: ObsSpec,
    device: Device,
    encoders: Option<Encoders>,
    enc: ParamGroup,
    frozen: Option<ParamGroup>,
    actor_net: Mlp,
    actor: ParamGroup,
    gripper: Option<(Mlp, ParamGroup)>,
    rng: Rng,
    version: u64,
    /// The frozen base policy of residual RL (`agent.base_policy`), loaded by the actor itself.
    base: Option<crate::sac::base::BasePolicy>,
    /// The behaviour prior and the critics that choose between its proposal and the actor's (when the weights
    /// carry them: [`crate::sac::prior`]).
    prior: Option<crate::sac::prior::ActingPrior>,
    /// Whether the last [`Policy::act`] took the prior's proposal.
    took_prior: bool,
}

impl Policy {
    /// A policy with freshly initialised weights (normally replaced by [`Policy::load_weights`]), in the layout a
    /// learner on `device` would use ([`crate::features::uses_cached_features`]).
    pub fn new(cfg: &AgentConfig, spec: &ObsSpec, device: Device) -> Result<Self> {
        let cached = crate::features::uses_cached_features(cfg, !spec.cameras.is_empty(), device);
        Self::with_layout(cfg, spec, device, cached)
    }

    fn with_layout(cfg: &AgentConfig, raw_spec: &ObsSpec, device: Device, cached: bool) -> Result<Self> {
        crate::alloc::keep_freed_memory();
        let mut rng = Rng::new(cfg.seed ^ 0xac70);
        let frame_encoder =
            if cached { Some(FrameEncoder::declare(&cfg.encoder, raw_spec, device, 0, false)?) } else { None };
        let spec = match &frame_encoder {
            Some(e) => crate::features::encoded_spec(raw_spec, e.dim()),
            None => raw_spec.clone(),
        };
        let base = crate::sac::base::from_config(cfg, raw_spec.proprio_dim, raw_spec.action_dim, device)?;
        let mut net_spec = spec.clone();
        if base.is_some() {
            net_spec.proprio_dim += spec.action_dim;
        }
        let ActorLayout { encoders, enc_pb, frozen_pb, actor_net, actor_pb, grip_net, grip_pb } =
            ActorLayout::declare(cfg, &net_spec);
        let frozen = encoders.as_ref().filter(|e| e.is_frozen()).map(|_| frozen_pb.build(device, &mut rng, false));
        Ok(Self {
            cfg: cfg.clone(),
            raw_spec: raw_spec.clone(),
            frame_encoder,
            spec,
            device,
            enc: enc_pb.build(device, &mut rng, false),
            frozen,
            encoders,
            actor: actor_pb.build(device, &mut rng, false),
            actor_net,
            gripper: grip_net.map(|n| (n, grip_pb.build(device, &mut rng, false))),
            rng,
            version: 0,
            base,
            prior: None,
            took_prior: false,
        })
    }

    /// Loads weights published by [`crate::sac::Learner::policy_weights`]. Errors name the missing or mismatched
    /// tensor; on error the previous weights may be partly replaced.
    pub fn load_weights(&mut self, bytes: &[u8]) -> Result<()> {
        let l = crate::nn::weights::from_bytes(bytes, "<policy weights>")?;
        let cached = l.meta::<String>("<policy weights>", IMAGE_FEATURES_META).is_ok_and(|v| v == "cached");
        if cached != self.frame_encoder.is_some() {
            // The learner chose the other layout (e.g. end-to-end on its GPU while this actor is on a CPU).
            let version = self.version;
            *self = Self::with_layout(&self.cfg, &self.raw_spec, self.device, cached)?;
            self.version = version;
        }
        let look = |k: &str| l.get(k);
        if let Some(e) = &self.frame_encoder {
            e.load("<policy weights>", &look)?;
        }
        self.enc.load("", "<policy weights>", &look)?;
        if let Some(f) = &self.frozen {
            f.load("", "<policy weights>", &look)?;
        }
        self.actor.load("", "<policy weights>", &look)?;
        if let Some((_, g)) = &self.gripper {
            g.load("", "<policy weights>", &look)?;
        }
        self.prior = if self.base.is_none() {
            let hidden: Vec<i64> = self.cfg.hidden.iter().map(|&h| h as i64).collect();
            let feat = self.encoders.as_ref().map_or(0, |e| e.out_dim) + self.spec.proprio_dim as i64;
            let a = self.spec.action_dim as i64;
            crate::sac::prior::ActingPrior::load(self.prior.take(), &l, &hidden, feat, a, self.device, &mut self.rng)?
        } else {
            None
        };
        self.version = l.meta("<policy weights>", "updates").unwrap_or(0);
        Ok(())
    }

    /// True when the loaded weights carry a behaviour prior ([`crate::sac::prior`]).
    pub fn has_bc_prior(&self) -> bool {
        self.prior.is_some()
    }

    /// Whether the last [`Policy::act`] took the behaviour prior's proposal (false without a prior).
    pub fn took_prior(&self) -> bool {
        self.took_prior
    }

    /// Learner updates the loaded weights come from.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Chooses an action for one observation: `tanh(μ)` when `deterministic`, else a sample of the squashed
    /// Gaussian; the gripper action is the gripper critic's argmax. Errors when the observation does not match
    /// the spec.
    pub fn act(&mut self, obs: &Observation, deterministic: bool) -> Result<Action> {
        if obs.proprio.len() != self.raw_spec.proprio_dim {
            return Err(AgentError::SpecMismatch {
                field: "proprio".into(),
                expected: self.raw_spec.proprio_dim,
                got: obs.proprio.len(),
            });
        }
        let mut images = Vec::with_capacity(self.raw_spec.cameras.len());
        for (i, cam) in self.raw_spec.cameras.iter().enumerate() {
            let img = self.raw_spec.camera_frame(&obs.images, i)?;
            let t = Tensor::from_slice(img).view([1, cam.height as i64, cam.width as i64, 3]);
            images.push(t.to_device(self.device));
        }
        let _g = tch::no_grad_guard();
        let mut proprio = Tensor::from_slice(&obs.proprio).view([1, -1]).to_device(self.device);
        if let Some(e) = &self.frame_encoder {
            proprio = Tensor::cat(&[e.encode(&images), proprio], 1);
        }
        let mut f = match &self.encoders {
            Some(e) => Tensor::cat(&[e.forward(&self.enc, self.frozen.as_ref(), &images), proprio], 1),
            None => proprio,
        };
        if let Some(b) = &self.base {
            f = b.augment(&f);
        }
        let out = self.actor_net.forward(&self.actor, &f);
        let a = self.spec.action_dim as i64;
        let mean = out.narrow(1, 0, a);
        let mut act = if deterministic {
            mean.tanh()
        } else {
            let log_std = out.narrow(1, a, a).clamp(LOG_STD_MIN, LOG_STD_MAX);
            let eps = self.rng.normal(&[1, a], self.device);
            (mean + log_std.exp() * eps).tanh()
        };
        if let Some(b) = &self.base {
            act = b.combine(&f, &act);
        }
        self.took_prior = false;
        if let Some(p) = &self.prior {
            let (chosen, took) = p.choose(&f, &act);
            self.took_prior = took.to_kind(Kind::Int64).int64_value(&[0]) != 0;
            act = chosen;
        }
        let continuous: Vec<f32> = Vec::try_from(act.to_device(Device::Cpu).to_kind(Kind::Float).reshape([-1]))?;
        let gripper = match &self.gripper {
            Some((net, g)) => {
                let i = net.forward(g, &f).argmax(-1, false).int64_value(&[0]);
                u8::try_from(i).ok().and_then(GripperAction::from_index).unwrap_or_default()
            }
            None => GripperAction::Stay,
        };
        Ok(Action { continuous, gripper })
    }
}
