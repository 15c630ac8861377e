//! Residual RL on a frozen base policy (`agent.base_policy`, `agent.residual_scale`): the action is
//! `clamp(base(s) + scale · tanh(u), −1, 1)` with `tanh(u)` the learned residual, and the actor and the critic see
//! the base action beside the observation's features (`[features, base(s)]`), as in Policy Decorator and ResFiT.
//! The residual's initial mean is near 0, so a fresh residual policy acts like its base; a residual scale of 0 is
//! exactly the base.
//!
//! The base maps the observation's proprio vector (the arm's state and, where the cell has them, object entries;
//! the last `input` columns of the learner's features) to `[B, A]` actions in `[−1, 1]`:
//! - corrigo's BC policy (`corrigo bc`, a state-based policy-layout safetensors file: the mean of its squashed
//!   Gaussian, `tanh μ`), or
//! - a TorchScript module (`torch.jit.save`) whose `forward(proprio: Tensor[B, P]) -> Tensor[B, A]`, only with
//!   `agent.trust_torchscript = true`.
//!
//! Trust: a safetensors file is data (named arrays of numbers; corrigo checks every shape before using it). A
//! TorchScript file is a *program*: loading it and calling `forward` runs the operations it was saved with, which
//! can read and write files, open sockets or exhaust memory, with the rights of the learner and of every actor
//! that loads it. A base policy that does not parse as safetensors is therefore refused unless the config says
//! `agent.trust_torchscript = true` (an error naming that key); set it only for a file you would run as code.
//!
//! Image-conditioned base policies are not supported yet.

use crate::error::{AgentError, Result, io_err};
use crate::nn::{Mlp, ParamBuilder, ParamGroup, Rng};
use tch::{Device, Kind, Tensor};

/// A frozen base policy.
#[derive(Debug)]
pub struct BasePolicy {
    kind: BaseKind,
    input: i64,
    action_dim: i64,
    scale: f64,
    source: String,
}

#[derive(Debug)]
enum BaseKind {
    Bc { net: Mlp, params: ParamGroup },
    Script(tch::CModule),
}

impl BasePolicy {
    /// Loads `path` for observations with `proprio_dim` proprio values and `action_dim` actions, on `device`, with
    /// residual bound `scale`. Errors name the file and what does not fit. A file that is not corrigo's safetensors
    /// weights is loaded as TorchScript (code) only when `trust_torchscript`; otherwise it is refused with
    /// [`AgentError::Config`] on `agent.trust_torchscript`, before libtorch reads it.
    pub fn load(
        path: &str,
        proprio_dim: usize,
        action_dim: usize,
        scale: f64,
        trust_torchscript: bool,
        device: Device,
    ) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(io_err("read the base policy", std::path::Path::new(path)))?;
        let err = |reason: String| AgentError::Weights { source_name: path.to_string(), reason };
        let (input, action_dim) = (proprio_dim as i64, action_dim as i64);
        let kind = match crate::nn::weights::from_bytes(&bytes, path) {
            Ok(l) => {
                if l.tensors.keys().any(|k| k.starts_with("encoder.")) {
                    return Err(err("an image-based BC policy cannot be a base policy yet (train it with \
                                    agent.use_images = false)"
                        .into()));
                }
                let shape = |k: &str| l.get(k).map(|t| t.size());
                let first = shape("pi.0.weight").ok_or_else(|| err("no `pi.0.weight`: not a corrigo policy".into()))?;
                let mut hidden = Vec::new();
                while let Some(s) = shape(&format!("pi.{}.weight", hidden.len())) {
                    hidden.push(s[1]);
                }
                if first[0] != input {
                    return Err(err(format!(
                        "the base policy takes {} proprio values, this cell's observation has {input}",
                        first[0]
                    )));
                }
                let head = shape("pi.head.weight").ok_or_else(|| err("no `pi.head.weight`".into()))?;
                if head[1] != 2 * action_dim {
                    return Err(err(format!("the base policy has {} actions, this cell {action_dim}", head[1] / 2)));
                }
                let mut pb = ParamBuilder::default();
                let net = Mlp::declare(&mut pb, "pi.", input, &hidden, Some(2 * action_dim));
                let params = pb.build(device, &mut Rng::new(0), false);
                params.load("", path, &|k: &str| l.get(k))?;
                BaseKind::Bc { net, params }
            }
            Err(_) if !trust_torchscript => {
                return Err(AgentError::Config {
                    key: "agent.trust_torchscript".into(),
                    value: "false".into(),
                    reason: format!(
                        "the base policy {path} is not corrigo policy weights (safetensors); loading it as a \
                         TorchScript module would run the code it contains with this process's rights: set \
                         agent.trust_torchscript = true only if you trust that file as a program"
                    ),
                });
            }
            Err(_) => {
                let m = tch::CModule::load_on_device(path, device).map_err(|e| {
                    err(format!("neither corrigo policy weights (safetensors) nor a TorchScript module: {e}"))
                })?;
                BaseKind::Script(m)
            }
        };
        let base = Self { kind, input, action_dim, scale, source: path.to_string() };
        // A probe: the module must map [1, P] to [1, A].
        let probe = base.try_actions(&Tensor::zeros([1, input], (Kind::Float, device)))?;
        if probe.size() != [1, action_dim] {
            return Err(err(format!(
                "maps a [1, {input}] observation to {:?}, expected [1, {action_dim}]",
                probe.size()
            )));
        }
        Ok(base)
    }

    /// Proprio values the base reads (the last ones of the features).
    pub fn input(&self) -> i64 {
        self.input
    }

    /// The residual bound.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    fn try_actions(&self, proprio: &Tensor) -> Result<Tensor> {
        let _g = tch::no_grad_guard();
        let a = match &self.kind {
            BaseKind::Bc { net, params } => net.forward(params, proprio).narrow(1, 0, self.action_dim).tanh(),
            BaseKind::Script(m) => m.forward_ts(&[proprio]).map_err(|e| AgentError::Weights {
                source_name: self.source.clone(),
                reason: format!("the TorchScript base policy failed: {e}"),
            })?,
        };
        Ok(a.to_kind(Kind::Float).clamp(-1.0, 1.0))
    }

    /// Base actions `[B, A]` for the proprio vectors at the end of `feats: [B, F]` (no gradients).
    pub fn actions(&self, feats: &Tensor) -> Tensor {
        let w = feats.size()[1];
        let p = feats.narrow(1, w - self.input, self.input);
        // A TorchScript module that accepted the probe fails here only on device or memory errors: act safely by
        // holding the base's action at 0 rather than panicking inside the learner.
        self.try_actions(&p).unwrap_or_else(|e| {
            tracing::error!("{e}");
            Tensor::zeros([feats.size()[0], self.action_dim], (Kind::Float, feats.device()))
        })
    }

    /// `feats` with the base actions appended: what the residual actor and the critic see.
    pub fn augment(&self, feats: &Tensor) -> Tensor {
        Tensor::cat(&[feats.shallow_clone(), self.actions(feats)], 1)
    }

    /// The executed action `clamp(base + scale · residual, −1, 1)` for residuals in `[−1, 1]`, with the base read
    /// from the last `A` columns of augmented features ([`BasePolicy::augment`]).
    pub fn combine(&self, augmented: &Tensor, residual: &Tensor) -> Tensor {
        let w = augmented.size()[1];
        let base = augmented.narrow(1, w - self.action_dim, self.action_dim);
        (base + residual * self.scale).clamp(-1.0, 1.0)
    }
}

/// The base policy `cfg` names, if any, for observations of `proprio_dim` values and `action_dim` actions.
pub fn from_config(
    cfg: &interfaces::config::AgentConfig,
    proprio_dim: usize,
    action_dim: usize,
    device: Device,
) -> Result<Option<BasePolicy>> {
    cfg.base_policy
        .as_deref()
        .map(|p| BasePolicy::load(p, proprio_dim, action_dim, cfg.residual_scale, cfg.trust_torchscript, device))
        .transpose()
}
