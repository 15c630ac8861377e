//! The behaviour prior (`agent.bc_prior`; IBRL, Hu et al. 2023, arXiv 2311.02198).
//!
//! A behaviour-cloning policy `prior.pi.…` (the actor's layout: features → mean and log-std of a tanh-squashed
//! Gaussian) is fitted to the demonstrations once, before offline pretraining and online learning, and then kept
//! frozen. It proposes `tanh(mean)` beside the actor's action, in two places:
//!
//! - **the TD target:** the next action is, per row, whichever of the actor's sample and the prior's proposal the
//!   target critics (the REDQ subset's minimum) value higher; a row that takes the prior's proposal backs up no
//!   entropy term (the proposal is deterministic);
//! - **acting** ([`crate::sac::Policy::act`]): the actor's action (its mean when deterministic, a sample when
//!   exploring) against the prior's proposal, by the critic ensemble's mean value.
//!
//! The actor keeps learning SAC's objective alone (plus the fine-tuning behaviour-cloning term); when it drifts to
//! actions the critic values less than what the demonstrations do, the agent still acts like the demonstrations,
//! and the critic's targets still see their value. The prior needs fixed network inputs: it is used on the
//! state-based and the cached-feature paths (not end-to-end, where the encoder under it keeps changing) and not
//! with a residual base policy.

use crate::error::Result;
use crate::nn::{Adam, EnsembleMlp, Mlp, ParamBuilder, ParamGroup, Rng};
use crate::replay::{ReplayStore, Source};
use crate::sac::Learner;
use tch::{Device, Kind, Tensor};

/// Parameter-name prefix of the prior's network.
pub(crate) const PRIOR_PREFIX: &str = "prior.pi.";
/// Metadata key of published policy weights that carry the prior and the critic ensemble.
pub(crate) const PRIOR_META: &str = "bc_prior";
/// Metadata key: critics in the published ensemble.
pub(crate) const ENSEMBLE_META: &str = "critic_ensemble";
/// Published tensor: the HL-Gauss critic's bin centres (absent for the MSE critic).
pub(crate) const SUPPORT_TENSOR: &str = "q_support.centres";

/// Metadata entries of published weights.
type Metadata = Vec<(String, String)>;

/// The frozen behaviour-cloning policy.
#[derive(Debug)]
pub(crate) struct Prior {
    pub(crate) net: Mlp,
    pub(crate) p: ParamGroup,
    /// Fitted to the demonstrations (an unfitted prior proposes nothing).
    pub(crate) trained: bool,
}

impl Prior {
    /// Declares the prior's network `feat → hidden… → 2·action`.
    pub(crate) fn declare(hidden: &[i64], feat: i64, action: i64) -> (Mlp, ParamBuilder) {
        let mut pb = ParamBuilder::default();
        let net = Mlp::declare(&mut pb, PRIOR_PREFIX, feat, hidden, Some(2 * action));
        (net, pb)
    }

    /// A fresh, unfitted prior.
    pub(crate) fn new(hidden: &[i64], feat: i64, action: i64, device: Device, rng: &mut Rng) -> Self {
        let (net, pb) = Self::declare(hidden, feat, action);
        Self { net, p: pb.build(device, rng, true), trained: false }
    }

    /// The proposals `tanh(mean)` `[B, A]` for features `f: [B, feat]`.
    pub(crate) fn propose(net: &Mlp, p: &ParamGroup, f: &Tensor) -> Tensor {
        let out = net.forward(p, f);
        let a = out.size()[1] / 2;
        out.narrow(1, 0, a).tanh()
    }
}

/// Per row, where the second proposal's score beats the first's: `[B]` bool. Scores `[B]`.
pub(crate) fn prefer_second(first: &Tensor, second: &Tensor) -> Tensor {
    second.gt_tensor(first)
}

impl Learner {
    /// True when the behaviour prior is configured and fitted: its proposals enter the TD target and the published
    /// policy.
    pub fn uses_bc_prior(&self) -> bool {
        self.prior.as_ref().is_some_and(|p| p.trained)
    }

    /// Behaviour-cloning steps the configured prior still needs (0 without a prior or once it is fitted).
    pub fn bc_prior_left(&self) -> u64 {
        match &self.prior {
            Some(p) if !p.trained => self.cfg.bc_prior_steps,
            _ => 0,
        }
    }

    /// Fits the behaviour prior to the demo buffer: `agent.bc_prior_steps` steps of the demonstrated actions'
    /// negative log-likelihood on batches of `batch_size` demo transitions, `progress(step, steps, loss)` every
    /// step. Does nothing without a configured prior or once it is fitted; errors when the demo buffer is empty.
    /// Returns the steps run.
    pub fn fit_bc_prior(&mut self, store: &ReplayStore, mut progress: impl FnMut(u64, u64, f64)) -> Result<u64> {
        let steps = self.bc_prior_left();
        let Some(prior) = self.prior.as_mut() else { return Ok(0) };
        if steps == 0 {
            return Ok(0);
        }
        let mut opt = Adam::new(&prior.p, self.cfg.lr);
        for i in 1..=steps {
            let batch = self.sampler.sample_many_from(store, 1, Source::Demo)?;
            let out = prior.net.forward(&prior.p, &batch.proprio);
            let a = out.size()[1] / 2;
            let loss =
                crate::bc::squashed_nll(&out.narrow(1, 0, a), &out.narrow(1, a, a), &batch.action).mean(Kind::Float);
            let g = prior.p.flat_grad(&loss);
            opt.step(&prior.p, &g);
            progress(i, steps, loss.double_value(&[]));
        }
        prior.trained = true;
        Ok(steps)
    }

    /// The prior's proposals for features `f` (`None` without a fitted prior).
    pub(crate) fn prior_proposals(&self, f: &Tensor) -> Option<Tensor> {
        let prior = self.prior.as_ref().filter(|p| p.trained)?;
        Some(tch::no_grad(|| Prior::propose(&prior.net, &prior.p, f)))
    }

    /// IBRL's TD target: given the actor's next actions' target values `q_rl: [E', B]` and `log π` `[B]`, and
    /// `q_of(a)` the target values of other next actions, returns per row the values and `log π` of whichever of
    /// the actor's and the prior's proposal at `f_next` the target critics value higher (their minimum); unchanged
    /// without a fitted prior. Records the share of rows that took the prior's proposal.
    pub(crate) fn with_prior_next(
        &self,
        f_next: &Tensor,
        q_rl: Tensor,
        logp: Tensor,
        q_of: impl FnOnce(&Tensor) -> Tensor,
    ) -> (Tensor, Tensor) {
        let Some(a_bc) = self.prior_proposals(f_next) else { return (q_rl, logp) };
        let q_bc = q_of(&a_bc);
        let take = prefer_second(&q_rl.amin([0i64].as_slice(), false), &q_bc.amin([0i64].as_slice(), false));
        self.prior_share.set(take.to_kind(Kind::Float).mean(Kind::Float).double_value(&[]));
        let q = q_bc.where_self(&take.unsqueeze(0), &q_rl);
        let logp = logp.zeros_like().where_self(&take, &logp);
        (q, logp)
    }

    /// The prior's and the critic's tensors for publishing with the policy (empty without a fitted prior), and the
    /// metadata that announces them.
    pub(crate) fn prior_for_policy(&self) -> (Vec<(String, Tensor)>, Metadata) {
        let Some(prior) = self.prior.as_ref().filter(|p| p.trained) else { return (vec![], vec![]) };
        let mut named = prior.p.named("");
        named.extend(self.p.critic.named("").into_iter().filter(|(n, _)| n.starts_with("q.")));
        if let Some(c) = self.head.centres() {
            named.push((SUPPORT_TENSOR.into(), c.shallow_clone()));
        }
        let meta = vec![(PRIOR_META.into(), "1".into()), (ENSEMBLE_META.into(), self.cfg.critic_ensemble.to_string())];
        (named, meta)
    }
}

/// The acting side of the prior ([`crate::sac::Policy`]): the prior's network and the critic ensemble, loaded
/// from published policy weights that carry them.
#[derive(Debug)]
pub(crate) struct ActingPrior {
    net: Mlp,
    p: ParamGroup,
    critic: EnsembleMlp,
    q: ParamGroup,
    /// The HL-Gauss critic's bin centres (`None`: the MSE critic, one output per critic).
    centres: Option<Tensor>,
}

impl ActingPrior {
    /// The prior of published weights `l` for actor features of width `feat` (`None` when they carry none); the
    /// networks of `previous` are reused when they have the same shape (a policy reloads weights often).
    pub(crate) fn load(
        previous: Option<Self>,
        l: &crate::nn::weights::Loaded,
        hidden: &[i64],
        feat: i64,
        action: i64,
        device: Device,
        rng: &mut Rng,
    ) -> Result<Option<Self>> {
        const SOURCE: &str = "<policy weights>";
        if l.metadata.get(PRIOR_META).is_none_or(|v| v != "1") {
            return Ok(None);
        }
        let members: i64 = l.meta(SOURCE, ENSEMBLE_META)?;
        if !(1..=64).contains(&members) {
            return Err(crate::error::AgentError::Weights {
                source_name: SOURCE.into(),
                reason: format!("metadata `{ENSEMBLE_META}` = {members}: expected 1..=64 critics"),
            });
        }
        let centres = l.get(SUPPORT_TENSOR).map(|c| c.to_device(device).to_kind(Kind::Float));
        let outputs = centres.as_ref().map_or(1, |c| c.numel() as i64);
        let same =
            |p: &Self| p.critic.members == members && p.centres.as_ref().map_or(1, |c| c.numel() as i64) == outputs;
        let (net, p, critic, q) = match previous.filter(same) {
            Some(prev) => (prev.net, prev.p, prev.critic, prev.q),
            None => {
                let (net, pb) = Prior::declare(hidden, feat, action);
                let mut qb = ParamBuilder::default();
                let critic = EnsembleMlp::declare(&mut qb, "q.", members, feat + action, hidden, outputs);
                (net, pb.build(device, rng, false), critic, qb.build(device, rng, false))
            }
        };
        let look = |k: &str| l.get(k);
        p.load("", SOURCE, &look)?;
        q.load("", SOURCE, &look)?;
        Ok(Some(Self { net, p, critic, q, centres }))
    }

    /// The ensemble's mean value of actions `a: [B, A]` at features `f`: `[B]`.
    fn value(&self, f: &Tensor, a: &Tensor) -> Tensor {
        let out = self.critic.forward(&self.q, &Tensor::cat(&[f, a], 1), None);
        let q = match &self.centres {
            Some(c) => (out.softmax(-1, Kind::Float) * c).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float),
            None if out.dim() == 3 => out.squeeze_dim(-1),
            None => out,
        };
        q.mean_dim([0i64].as_slice(), false, Kind::Float)
    }

    /// Per row, the actor's action `a_rl` or the prior's proposal, whichever the critics value higher; and whether
    /// the prior's was taken (per row, `[B]` bool).
    pub(crate) fn choose(&self, f: &Tensor, a_rl: &Tensor) -> (Tensor, Tensor) {
        let a_bc = Prior::propose(&self.net, &self.p, f);
        let take = prefer_second(&self.value(f, a_rl), &self.value(f, &a_bc));
        (a_bc.where_self(&take.unsqueeze(1), a_rl), take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ObsSpec;
    use interfaces::config::{AgentConfig, CriticKind};

    fn learner(critic: CriticKind, seed: u64) -> Learner {
        let cfg = AgentConfig {
            hidden: vec![32, 32],
            critic: Some(critic),
            bc_prior: Some(true),
            seed,
            ..AgentConfig::default()
        };
        let spec = ObsSpec { proprio_dim: 6, cameras: vec![], action_dim: 3, gripper: false };
        let mut l = Learner::new(&cfg, 0.9, &spec, Device::Cpu).expect("learner");
        assert!(!l.uses_bc_prior() && l.bc_prior_left() == cfg.bc_prior_steps, "configured but not fitted yet");
        l.prior.as_mut().expect("a state-based learner has the prior").trained = true;
        l
    }

    /// IBRL's target: per row the proposal whose minimum over the target critics is higher; the prior's rows back
    /// up no entropy.
    #[test]
    fn the_td_target_takes_the_proposal_the_target_critics_value_higher() {
        let l = learner(CriticKind::Mse, 3);
        let f = Tensor::zeros([2, 6], (Kind::Float, Device::Cpu));
        let q_rl = Tensor::from_slice(&[0.1f32, 0.5, 0.2, 0.6]).view([2, 2]);
        let q_bc = Tensor::from_slice(&[0.3f32, 0.1, 0.4, 0.2]).view([2, 2]);
        let logp = Tensor::from_slice(&[-1.5f32, -2.0]);
        let (q, lp) = l.with_prior_next(&f, q_rl, logp, |a| {
            assert_eq!(a.size(), [2, 3], "the prior proposes one action per row");
            q_bc.shallow_clone()
        });
        let q: Vec<f32> = Vec::try_from(q.reshape([-1])).unwrap();
        let lp: Vec<f32> = Vec::try_from(lp).unwrap();
        assert_eq!(q, vec![0.3, 0.5, 0.4, 0.6], "row 0 takes the prior's values (min 0.3 > 0.1), row 1 the actor's");
        assert_eq!(lp, vec![0.0, -2.0]);
        assert!((l.prior_share.get() - 0.5).abs() < 1e-9);
    }

    /// The acting policy takes the prior's proposal exactly where the critics value it above the actor's own
    /// action, and the actor's otherwise (seeded random networks: both cases occur).
    #[test]
    fn the_policy_picks_the_priors_proposal_where_the_critic_prefers_it() {
        for critic in [CriticKind::Mse, CriticKind::HlGauss] {
            let l = learner(critic, 5);
            let cfg = AgentConfig { hidden: vec![32, 32], ..AgentConfig::default() };
            let mut policy = crate::sac::Policy::new(&cfg, &l.spec, Device::Cpu).expect("policy");
            let w = l.policy_weights().expect("weights");
            policy.load_weights(&w).expect("load");
            // A reload reuses the prior's networks and loads the weights again.
            policy.load_weights(&w).expect("reload");
            assert!(policy.has_bc_prior(), "the published weights carry the prior");
            let mut rng = crate::nn::Rng::new(9);
            let (mut took, mut kept) = (0, 0);
            for _ in 0..64 {
                let f = rng.normal(&[1, 6], Device::Cpu);
                let obs =
                    crate::replay::Observation { proprio: Vec::try_from(f.reshape([-1])).unwrap(), images: vec![] };
                let a = policy.act(&obs, true).expect("act");
                let a = Tensor::from_slice(&a.continuous).view([1, 3]);
                let (mean, _) = l.s.actor_head(&l.p.actor, &f);
                let a_rl = mean.tanh();
                let a_bc = l.prior_proposals(&f).expect("fitted");
                let q = |a: &Tensor| {
                    l.head
                        .values(&l.s.ensemble.forward(&l.p.critic, &Tensor::cat(&[&f, a], 1), None))
                        .mean(Kind::Float)
                        .double_value(&[])
                };
                let want = if q(&a_bc) > q(&a_rl) { &a_bc } else { &a_rl };
                let off = (&a - want).abs().max().double_value(&[]);
                assert!(off < 1e-5, "{critic:?}: acted {a} where the critic's choice was {want}");
                assert_eq!(policy.took_prior(), q(&a_bc) > q(&a_rl));
                if policy.took_prior() { took += 1 } else { kept += 1 }
            }
            assert!(took > 0 && kept > 0, "{critic:?}: both proposals won somewhere ({took} prior, {kept} actor)");
        }
    }

    /// A fitted prior is checkpointed and comes back fitted.
    #[test]
    fn a_fitted_prior_survives_a_checkpoint() {
        let l = learner(CriticKind::HlGauss, 7);
        let bytes = l.checkpoint_bytes().expect("checkpoint");
        let mut cfg = l.cfg.clone();
        cfg.seed = 8;
        let mut back = Learner::new(&cfg, 0.9, &l.spec, Device::Cpu).expect("learner");
        assert_eq!(back.bc_prior_left(), cfg.bc_prior_steps);
        back.restore_checkpoint(&bytes, "test").expect("restore");
        assert!(back.uses_bc_prior() && back.bc_prior_left() == 0);
        let (a, b) = (&l.prior.as_ref().unwrap().p, &back.prior.as_ref().unwrap().p);
        assert!(a.flat().equal(b.flat()), "the prior's weights came back");
    }

    #[test]
    fn the_second_proposal_wins_only_where_it_scores_higher() {
        let a = Tensor::from_slice(&[0.1f32, 0.5, 0.3]);
        let b = Tensor::from_slice(&[0.2f32, 0.4, 0.3]);
        let m: Vec<bool> = Vec::try_from(prefer_second(&a, &b)).unwrap();
        assert_eq!(m, vec![true, false, false], "ties keep the first (the actor's) proposal");
    }
}
