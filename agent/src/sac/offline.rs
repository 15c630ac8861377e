//! Offline-to-online: pretraining on the demo buffer before online learning (`agent.pretrain_updates`).
//!
//! A pretraining cycle is an update cycle on batches drawn from the demo buffer alone, on the autograd path:
//! - the critic's objective is its TD objective (MSE or HL-Gauss) plus a conservative penalty (CQL(H), Kumar et
//!   al. 2020) of weight `agent.conservative_weight`: `mean_e [log Σ_j exp(Q_e(s, a_j) − log μ(a_j)) − log 2N −
//!   Q_e(s, a_demo)]` over `N` uniform actions and `N` of the policy's own (`μ` their densities, importance
//!   sampling), which pushes down the value of actions the demonstrations do not take and keeps the pretrained
//!   critic from overestimating them;
//! - the actor's is SAC's plus the demonstrated actions' negative log-likelihood (weight 1; not with a base policy,
//!   whose residual starts at 0).
//!
//! Afterwards online learning continues as usual: with `agent.retain_offline = true` on RLPD batches (half demo),
//! with `false` (WSRL, Zhou et al. 2024) on online data only, after `agent.offline_warmup_steps` of rollouts from the
//! pretrained policy (the loops that collect data decide that: [`crate::train::trainer`] and the learner node).
//! Pretraining cycles are counted apart from `updates` and checkpointed, so a restart does not pretrain twice.

use crate::error::Result;
use crate::replay::{ReplayStore, Source};
use crate::sac::{Learner, UpdateMetrics};
use tch::{Kind, Tensor};

/// Sampled actions per state, of each kind (uniform, policy), in the conservative penalty.
pub const CONSERVATIVE_SAMPLES: i64 = 4;

impl Learner {
    /// Pretraining cycles done.
    pub fn pretrained(&self) -> u64 {
        self.pretrained
    }

    /// Pretraining cycles still to do (`agent.pretrain_updates` less those done).
    pub fn pretraining_left(&self) -> u64 {
        self.cfg.pretrain_updates.saturating_sub(self.pretrained)
    }

    /// One pretraining cycle on the demo buffer: `critic_actor_ratio` conservative critic steps and one actor step
    /// with the behaviour-cloning term. Errors when the demo buffer is empty.
    pub fn pretrain_cycle(&mut self, store: &ReplayStore) -> Result<UpdateMetrics> {
        let raw = self.sampler.sample_many_from(store, self.cfg.critic_actor_ratio as usize, Source::Demo)?;
        let augmented = self.with_base(&raw);
        let batch = augmented.as_ref().unwrap_or(&raw);
        let b = self.cfg.batch_size as i64;
        let mut critic = (Tensor::new(), Tensor::new(), Tensor::new());
        let mut last = None;
        for k in 0..self.cfg.critic_actor_ratio as i64 {
            let mb = batch.narrow(k * b, b);
            let aug = self.augment(&mb);
            critic = self.critic_step(&mb, &aug, self.cfg.conservative_weight);
            last = Some((mb, aug));
        }
        let (actor_loss, temp_loss, logp) = match &last {
            Some((mb, aug)) => self.actor_step(mb, &aug.0, 1.0),
            None => (Tensor::new(), Tensor::new(), Tensor::new()),
        };
        self.pretrained += 1;
        let scalar = |t: &Tensor| if t.defined() { t.double_value(&[]) } else { 0.0 };
        Ok(UpdateMetrics {
            critic_loss: scalar(&critic.0),
            actor_loss: scalar(&actor_loss),
            temperature_loss: scalar(&temp_loss),
            temperature: self.temperature(),
            entropy: if logp.defined() { -logp.mean(Kind::Float).double_value(&[]) } else { 0.0 },
            q_mean: scalar(&critic.1),
            gripper_loss: scalar(&critic.2),
            updates: self.updates,
        })
    }

    /// Runs the pretraining cycles left, calling `progress(done, total, metrics)` after each; returns the cycles
    /// run now.
    pub fn pretrain(
        &mut self,
        store: &ReplayStore,
        mut progress: impl FnMut(u64, u64, &UpdateMetrics),
    ) -> Result<u64> {
        let left = self.pretraining_left();
        for _ in 0..left {
            let m = self.pretrain_cycle(store)?;
            progress(self.pretrained, self.cfg.pretrain_updates, &m);
        }
        Ok(left)
    }

    /// The conservative penalty (CQL(H) with importance sampling) of critics at features `f: [B, F]` whose values
    /// at the batch's actions are `q_data: [E, B]`: see the module docs. The policy's actions carry no gradient.
    pub(crate) fn conservative_penalty(&mut self, f: &Tensor, q_data: &Tensor) -> Tensor {
        let n = CONSERVATIVE_SAMPLES;
        let (b, a_dim) = (f.size()[0], self.spec.action_dim as i64);
        let f_rep = f.repeat([n, 1]);
        // Uniform in [−1, 1]^A: density 2^−A.
        let unif = self.uniform(&[n * b, a_dim]);
        let log_unif = -(a_dim as f64) * std::f64::consts::LN_2;
        let (a_pi, logp_pi) = tch::no_grad(|| {
            let (mean, log_std) = self.s.actor_head(&self.p.actor, &f_rep.detach());
            let eps = self.rng.normal(&mean.size(), self.device);
            let (a, logp) = crate::sac::losses::squashed_gaussian(&mean, &log_std, &eps);
            (self.executed(&f_rep, a), logp)
        });
        let e = q_data.size()[0];
        let q_of = |a: &Tensor| {
            self.head.values(&self.s.ensemble.forward(&self.p.critic, &Tensor::cat(&[&f_rep, a], 1), None)).view([e, n, b])
        };
        let q_unif = q_of(&unif) - log_unif;
        let q_pi = q_of(&a_pi) - logp_pi.view([1, n, b]);
        let all = Tensor::cat(&[q_unif, q_pi], 1);
        let lse = all.logsumexp([1i64].as_slice(), false) - ((2 * n) as f64).ln();
        (lse - q_data).mean(Kind::Float)
    }

    /// A `shape` tensor uniform in `[−1, 1]` from the learner's checkpointed stream.
    fn uniform(&mut self, shape: &[i64]) -> Tensor {
        let n: i64 = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| (self.rng.uniform() * 2.0 - 1.0) as f32).collect();
        Tensor::from_slice(&v).reshape(shape).to_device(self.device)
    }
}
