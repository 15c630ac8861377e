//! The structure shared by the learner and the acting policy: encoders, actor, critic ensemble, gripper critic,
//! and the parameter groups that hold them. Parameter names: `encoder.<camera>.…` (trainable encoder parts, in the
//! critic group), `encoder.<camera>.resnet.…` (frozen backbone), `q.…` (critic ensemble), `pi.…` (actor),
//! `grip.…` (gripper critic).

use crate::error::{AgentError, Result};
use crate::nn::{Encoders, EnsembleMlp, Mlp, ParamBuilder, ParamGroup, Rng};
use crate::spec::ObsSpec;
use interfaces::config::{AgentConfig, EncoderKind};
use tch::{Device, Tensor};

/// Gripper actions (close, stay, open).
pub const GRIPPER_ACTIONS: i64 = 3;

/// The networks' structure (parameter indices), without the parameters.
#[derive(Debug, Clone)]
pub struct Structure {
    /// Image encoders (`None` for state-only).
    pub encoders: Option<Encoders>,
    /// Actor: features → `[mean, log_std]` (`2A`).
    pub actor: Mlp,
    /// Critic ensemble: `[features, action]` → `[E, B]` (MSE) or `[E, B, bins]` (HL-Gauss).
    pub ensemble: EnsembleMlp,
    /// Gripper critic: features → `[B, 3]`.
    pub gripper: Option<Mlp>,
    /// Feature width: encoder output + proprio.
    pub feat_dim: i64,
}

/// The parameters of a full agent.
#[derive(Debug)]
pub struct Params {
    /// Critic: trainable encoder parts + ensemble.
    pub critic: ParamGroup,
    /// Frozen backbone (ResNet-10 with `frozen`), shared by online and target critics.
    pub frozen: Option<ParamGroup>,
    /// Actor.
    pub actor: ParamGroup,
    /// Gripper critic.
    pub gripper: Option<ParamGroup>,
}

/// Declares and allocates the networks for `spec` on `device`, initialised from `rng`; loads the pretrained
/// ResNet-10 named in the config.
pub fn build(cfg: &AgentConfig, spec: &ObsSpec, device: Device, rng: &mut Rng) -> Result<(Structure, Params)> {
    let hidden: Vec<i64> = cfg.hidden.iter().map(|&h| h as i64).collect();
    let mut critic_pb = ParamBuilder::default();
    let mut frozen_pb = ParamBuilder::default();
    let encoders = Encoders::declare(&mut critic_pb, &mut frozen_pb, spec, &cfg.encoder);
    let feat_dim = encoders.as_ref().map_or(0, |e| e.out_dim) + spec.proprio_dim as i64;
    let a = spec.action_dim as i64;
    let outputs = crate::sac::critic::CriticHead::new(cfg, Device::Cpu).outputs();
    let ensemble =
        EnsembleMlp::declare(&mut critic_pb, "q.", cfg.critic_ensemble as i64, feat_dim + a, &hidden, outputs);
    let mut actor_pb = ParamBuilder::default();
    let actor = Mlp::declare(&mut actor_pb, "pi.", feat_dim, &hidden, Some(2 * a));
    let mut grip_pb = ParamBuilder::default();
    let gripper = spec.gripper.then(|| Mlp::declare(&mut grip_pb, "grip.", feat_dim, &hidden, Some(GRIPPER_ACTIONS)));
    let critic = critic_pb.build(device, rng, true);
    let frozen = encoders.as_ref().filter(|e| e.is_frozen()).map(|_| frozen_pb.build(device, rng, false));
    let actor_p = actor_pb.build(device, rng, true);
    let gripper_p = gripper.as_ref().map(|_| grip_pb.build(device, rng, true));
    if cfg.encoder.kind == EncoderKind::Resnet10
        && let Some(path) = &cfg.encoder.pretrained
    {
        let cams: Vec<String> = spec.cameras.iter().map(|c| c.name.clone()).collect();
        let group = frozen.as_ref().unwrap_or(&critic);
        crate::nn::resnet10::load_pretrained(group, &cams, path)?;
    }
    if (cfg.critic_subsample > cfg.critic_ensemble) || cfg.critic_subsample == 0 {
        return Err(AgentError::Config {
            key: "agent.critic_subsample".into(),
            value: cfg.critic_subsample.to_string(),
            reason: format!("must be in 1..={}", cfg.critic_ensemble),
        });
    }
    Ok((
        Structure { encoders, actor, ensemble, gripper, feat_dim },
        Params { critic, frozen, actor: actor_p, gripper: gripper_p },
    ))
}

impl Structure {
    /// Features `[B, feat_dim]`: encoded images (with `enc` = the group holding the trainable encoder parts)
    /// followed by the proprio vector.
    pub fn features(
        &self,
        enc: &ParamGroup,
        frozen: Option<&ParamGroup>,
        images: &[Tensor],
        proprio: &Tensor,
    ) -> Tensor {
        match &self.encoders {
            Some(e) => Tensor::cat(&[e.forward(enc, frozen, images), proprio.shallow_clone()], 1),
            None => proprio.shallow_clone(),
        }
    }

    /// Actor head: `(mean, log_std)`, each `[B, A]` (log_std not yet clamped).
    pub fn actor_head(&self, actor: &ParamGroup, feats: &Tensor) -> (Tensor, Tensor) {
        let out = self.actor.forward(actor, feats);
        let a = out.size()[1] / 2;
        (out.narrow(1, 0, a), out.narrow(1, a, a))
    }
}
