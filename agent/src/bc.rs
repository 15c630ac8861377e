//! Behaviour cloning on the same networks as SAC (encoder + actor + gripper head), as a baseline and to warm-start
//! the learner: maximises the likelihood of the demonstrated actions under the tanh-squashed Gaussian, and the
//! gripper head as a 3-way classifier (cross-entropy on its logits). Its weights use the policy layout, so
//! [`crate::sac::Policy::load_weights`] runs a BC policy.

use crate::error::Result;
use crate::nn::augment::random_shift;
use crate::nn::{Adam, Encoders, Mlp, ParamGroup, Rng};
use crate::replay::{Batch, ReplayStore};
use crate::sac::DRQ_PAD;
use crate::sac::losses::{LOG_STD_MAX, LOG_STD_MIN};
use crate::spec::ObsSpec;
use interfaces::config::AgentConfig;
use tch::{Device, Kind, Tensor};

/// Behaviour cloning trainer.
#[derive(Debug)]
pub struct BcTrainer {
    spec: ObsSpec,
    device: Device,
    batch_size: usize,
    encoders: Option<Encoders>,
    enc: ParamGroup,
    frozen: Option<ParamGroup>,
    actor_net: Mlp,
    actor: ParamGroup,
    gripper: Option<(Mlp, ParamGroup)>,
    opts: Vec<Adam>,
    rng: Rng,
    sampler: crate::replay::BatchSampler,
    steps: u64,
}

/// Negative log-likelihood of `action` (in `[-1, 1]`, clipped to ±0.999) under `tanh(N(mean, exp(log_std)))`,
/// per row `[B]`.
pub fn squashed_nll(mean: &Tensor, log_std: &Tensor, action: &Tensor) -> Tensor {
    let a = action.clamp(-0.999, 0.999);
    let u = a.atanh();
    let log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX);
    let z = (u - mean) / log_std.exp();
    let log_n = z.square() * -0.5 - &log_std - 0.5 * (2.0 * std::f64::consts::PI).ln();
    let log_jac = (a.square() * -1.0 + 1.0).log();
    -(log_n - log_jac).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float)
}

impl BcTrainer {
    /// A trainer with fresh weights (pretrained ResNet-10 loaded when configured).
    pub fn new(cfg: &AgentConfig, spec: &ObsSpec, device: Device) -> Result<Self> {
        crate::alloc::keep_freed_memory();
        let mut rng = Rng::new(cfg.seed ^ 0xbc);
        let crate::sac::policy::ActorLayout { encoders, enc_pb, frozen_pb, actor_net, actor_pb, grip_net, grip_pb } =
            crate::sac::policy::ActorLayout::declare(cfg, spec);
        let enc = enc_pb.build(device, &mut rng, true);
        let frozen = encoders.as_ref().filter(|e| e.is_frozen()).map(|_| frozen_pb.build(device, &mut rng, false));
        if let Some(path) = &cfg.encoder.pretrained {
            let cams: Vec<String> = spec.cameras.iter().map(|c| c.name.clone()).collect();
            crate::nn::resnet10::load_pretrained(frozen.as_ref().unwrap_or(&enc), &cams, path)?;
        }
        let actor = actor_pb.build(device, &mut rng, true);
        let gripper = grip_net.map(|n| (n, grip_pb.build(device, &mut rng, true)));
        let mut opts = vec![Adam::new(&enc, cfg.lr), Adam::new(&actor, cfg.lr)];
        if let Some((_, g)) = &gripper {
            opts.push(Adam::new(g, cfg.lr));
        }
        Ok(Self {
            sampler: crate::replay::BatchSampler::new(spec, cfg.batch_size as usize, device, cfg.seed ^ 0xbc5),
            spec: spec.clone(),
            device,
            batch_size: cfg.batch_size as usize,
            encoders,
            enc,
            frozen,
            actor_net,
            actor,
            gripper,
            opts,
            rng,
            steps: 0,
        })
    }

    /// One step on a batch from the store's demo buffer (the online one when no demo exists). Returns the loss.
    pub fn step(&mut self, store: &ReplayStore) -> Result<f64> {
        let b = self.sampler.sample(store)?;
        Ok(self.step_with(&b))
    }

    /// One step on `batch` (on the trainer's device). Returns the loss (NLL + gripper cross-entropy).
    pub fn step_with(&mut self, batch: &Batch) -> f64 {
        let imgs: Vec<Tensor> = batch.images.iter().map(|t| random_shift(t, DRQ_PAD, &mut self.rng)).collect();
        let f = match &self.encoders {
            Some(e) => {
                Tensor::cat(&[e.forward(&self.enc, self.frozen.as_ref(), &imgs), batch.proprio.shallow_clone()], 1)
            }
            None => batch.proprio.shallow_clone(),
        };
        let out = self.actor_net.forward(&self.actor, &f);
        let a = self.spec.action_dim as i64;
        let mut loss = squashed_nll(&out.narrow(1, 0, a), &out.narrow(1, a, a), &batch.action).mean(Kind::Float);
        if let Some((net, g)) = &self.gripper {
            let logits = net.forward(g, &f);
            loss += logits.cross_entropy_for_logits(&batch.gripper);
        }
        let mut groups: Vec<&ParamGroup> = Vec::new();
        if self.encoders.is_some() {
            groups.push(&self.enc);
        }
        groups.push(&self.actor);
        if let Some((_, g)) = &self.gripper {
            groups.push(g);
        }
        let grads = ParamGroup::flat_grads(&loss, &groups);
        let skip = usize::from(self.encoders.is_none());
        for ((opt, group), g) in self.opts.iter_mut().skip(skip).zip(&groups).zip(&grads) {
            opt.step(group, g);
        }
        self.steps += 1;
        loss.double_value(&[])
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Device.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Weights in the policy layout (for [`crate::sac::Policy::load_weights`] and [`crate::sac::Learner::warm_start`]).
    pub fn policy_weights(&self) -> Result<Vec<u8>> {
        let mut named = self.enc.named("");
        if let Some(f) = &self.frozen {
            named.extend(f.named(""));
        }
        named.extend(self.actor.named(""));
        if let Some((_, g)) = &self.gripper {
            named.extend(g.named(""));
        }
        let mut meta = std::collections::HashMap::new();
        meta.insert("updates".into(), "0".into());
        crate::nn::weights::to_bytes(&named, meta)
    }
}
