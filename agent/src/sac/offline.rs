//! Offline-to-online: pretraining on the demo buffer before online learning (`agent.pretrain_updates`).
//!
//! A pretraining cycle is an update cycle on batches drawn from the demo buffer alone, on the autograd path:
//! - the critic's objective is its TD objective (MSE or HL-Gauss) plus a conservative penalty (CQL(H), Kumar et
//!   al. 2020) of weight `agent.conservative_weight`: `mean_e [log Σ_j exp(Q_e(s, a_j) − log μ(a_j)) − log 2N −
//!   Q_e(s, a_demo)]` over `N` uniform actions and `N` of the policy's own (`μ` their densities, importance
//!   sampling), which pushes down the value of actions the demonstrations do not take and keeps the pretrained
//!   critic from overestimating them; calibrated as in Cal-QL (Nakamoto et al. 2023): the policy's actions' values
//!   enter the penalty as `max(Q_e(s, a_π), G(s))`, with `G` the demonstration's discounted return-to-go from `s`
//!   ([`returns_to_go`]), so the critic is not pushed below what the demonstrations reached (plain CQL's values
//!   drift ever lower with a sparse reward, and online fine-tuning first unlearns them);
//! - the actor's is SAC's plus the demonstrated actions' negative log-likelihood (weight 1; not with a base policy,
//!   whose residual starts at 0);
//! - the gripper critic's is its double-DQN TD loss plus DQfD's large-margin loss on the demonstrated gripper
//!   actions (margin [`crate::sac::GRIPPER_MARGIN`]), so the pretrained policy closes the gripper where
//!   the demonstrations did.
//!
//! Afterwards online learning continues as usual: with `agent.retain_offline = true` on RLPD batches (half demo),
//! with `false` (WSRL, Zhou et al. 2024) on online data only, after `agent.offline_warmup_steps` of rollouts from the
//! pretrained policy (the loops that collect data decide that: [`crate::train::trainer`] and the learner node).
//! Pretraining cycles are counted apart from `updates` and checkpointed, so a restart does not pretrain twice.

use crate::error::Result;
use crate::replay::{Batch, ReplayStore, Source};
use crate::sac::{Learner, UpdateMetrics};
use tch::{Kind, Tensor};

/// Sampled actions per state, of each kind (uniform, policy), in the conservative penalty.
pub const CONSERVATIVE_SAMPLES: i64 = 4;

impl Learner {
    /// Pretraining cycles done.
    pub fn pretrained(&self) -> u64 {
        self.pretrained
    }

    /// Pretraining cycles still to do (`agent.pretrain_updates` less those done); none once online updates have
    /// started (e.g. a run resumed from a checkpoint written before pretraining was configured).
    pub fn pretraining_left(&self) -> u64 {
        if self.updates > 0 {
            return 0;
        }
        self.cfg.pretrain_cycles().saturating_sub(self.pretrained)
    }

    /// One pretraining cycle on the demo buffer: `critic_actor_ratio` conservative critic steps and one actor step
    /// with the behaviour-cloning term. Errors when the demo buffer is empty.
    pub fn pretrain_cycle(&mut self, store: &ReplayStore) -> Result<UpdateMetrics> {
        if self.demo_returns.len() != store.demo_len() {
            self.demo_returns = returns_to_go(store, self.discount);
        }
        let raw = self.sampler.sample_many_from(store, self.cfg.critic_actor_ratio as usize, Source::Demo)?;
        let mc: Vec<f32> = self.sampler.last_rows().iter().map(|&i| self.demo_returns[i]).collect();
        let mc = Tensor::from_slice(&mc).to_device(self.device);
        let augmented = self.with_base(&raw);
        let batch = augmented.as_ref().unwrap_or(&raw);
        let b = self.cfg.batch_size as i64;
        self.pretraining = true;
        let mut critic = (Tensor::new(), Tensor::new(), Tensor::new());
        let mut last = None;
        for k in 0..self.cfg.critic_actor_ratio as i64 {
            let mb = batch.narrow(k * b, b);
            let aug = self.augment(&mb);
            let floor = mc.narrow(0, k * b, b);
            critic = self.critic_step(&mb, &aug, Some((self.cfg.conservative_weight, &floor)));
            last = Some((mb, aug));
        }
        let (actor_loss, temp_loss, logp) = match &last {
            Some((mb, aug)) => self.actor_step(mb, &aug.0, 1.0),
            None => (Tensor::new(), Tensor::new(), Tensor::new()),
        };
        self.pretraining = false;
        self.pretrained += 1;
        Ok(self.metrics(&critic, &actor_loss, &temp_loss, &logp))
    }

    /// Runs the pretraining cycles left, calling `progress(done, total, metrics)` after each; returns the cycles
    /// run now.
    pub fn pretrain(&mut self, store: &ReplayStore, mut progress: impl FnMut(u64, u64, &UpdateMetrics)) -> Result<u64> {
        let left = self.pretraining_left();
        for _ in 0..left {
            let m = self.pretrain_cycle(store)?;
            progress(self.pretrained, self.cfg.pretrain_cycles(), &m);
        }
        Ok(left)
    }

    /// The conservative penalty (CQL(H) with importance sampling, Cal-QL's calibration) of critics at features
    /// `f: [B, F]` whose values at the batch's actions are `q_data: [E, B]`, with `floor: [B]` the demonstrations'
    /// returns-to-go: see the module docs. The policy's actions carry no gradient.
    pub(crate) fn conservative_penalty(&mut self, f: &Tensor, q_data: &Tensor, floor: &Tensor) -> Tensor {
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
            self.head
                .values(&self.s.ensemble.forward(&self.p.critic, &Tensor::cat(&[&f_rep, a], 1), None))
                .view([e, n, b])
        };
        let q_unif = q_of(&unif) - log_unif;
        // Cal-QL: the policy's actions are not pushed below the value the demonstrations reached from there.
        let q_pi = q_of(&a_pi).maximum(&floor.view([1, 1, b])) - logp_pi.view([1, n, b]);
        let all = Tensor::cat(&[q_unif, q_pi], 1);
        let lse = all.logsumexp([1i64].as_slice(), false) - ((2 * n) as f64).ln();
        (lse - q_data).mean(Kind::Float)
    }

    /// Offline losses on held-out `batch`, with no update and no random draws: the critics' TD loss against the
    /// target critics at the policy's mean next action, and the actor's negative log-likelihood of the batch's
    /// actions (the behaviour-cloning loss). State-based and cached-feature learners (no image augmentation).
    pub fn offline_losses(&self, batch: &Batch) -> (f64, f64) {
        let _g = tch::no_grad_guard();
        let augmented = self.with_base(batch);
        let mb = augmented.as_ref().unwrap_or(batch);
        let frozen = self.p.frozen.as_ref();
        let f = self.s.features(&self.p.critic, frozen, &mb.images, &mb.proprio);
        let f_next = self.s.features(&self.critic_target, frozen, &mb.next_images, &mb.next_proprio);
        let (mean, _) = self.s.actor_head(&self.p.actor, &f_next);
        let a_next = self.executed(&f_next, mean.tanh());
        let q_next =
            self.head.values(&self.s.ensemble.forward(&self.critic_target, &Tensor::cat(&[&f_next, &a_next], 1), None));
        let y =
            crate::sac::losses::critic_target(&mb.reward, &mb.done, self.discount, &q_next, &q_next.get(0), 0.0, false);
        let td = self.head.loss(&self.s.ensemble.forward(&self.p.critic, &Tensor::cat(&[&f, &mb.action], 1), None), &y);
        let (mean, log_std) = self.s.actor_head(&self.p.actor, &f);
        let bc = crate::bc::squashed_nll(&mean, &log_std, &mb.action).mean(Kind::Float);
        (td.double_value(&[]), bc.double_value(&[]))
    }

    /// A `shape` tensor uniform in `[−1, 1]` from the learner's checkpointed stream.
    fn uniform(&mut self, shape: &[i64]) -> Tensor {
        let n: i64 = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| (self.rng.uniform() * 2.0 - 1.0) as f32).collect();
        Tensor::from_slice(&v).reshape(shape).to_device(self.device)
    }
}

/// The discounted return-to-go of every demo transition: `G_i = r_i + γ (1 − done_i) G_{i+1}` within its episode,
/// 0 after an episode's last stored transition (truncated or cut short).
pub fn returns_to_go(store: &ReplayStore, discount: f64) -> Vec<f32> {
    let n = store.demo_len();
    let mut g = vec![0.0f32; n];
    let mut next: Option<(u64, f64)> = None;
    for i in (0..n).rev() {
        let (episode, _) = store.episode_of(true, i).unwrap_or((u64::MAX, false));
        let (r, done, _) = store.reward_of(true, i).unwrap_or((0.0, true, false));
        let tail = match next {
            Some((e, v)) if e == episode && !done => v,
            _ => 0.0,
        };
        let v = r as f64 + discount * tail;
        g[i] = v as f32;
        next = Some((episode, v));
    }
    g
}
