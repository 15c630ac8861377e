//! The critic and actor steps of a state-based learner on the fused CPU path ([`crate::nn::fused`]): the same
//! losses, targets and random draws as the autograd steps in `learner.rs`, with the networks' backward passes
//! written out. The squashed-Gaussian head (`[B, A]`, a few small ops) keeps autograd.

use crate::nn::fused::StackedMlp;
use crate::replay::Batch;
use crate::sac::Learner;
use crate::sac::learner::FusedNets;
use crate::sac::losses;
use tch::{Kind, Tensor};

impl Learner {
    /// One critic step on the fused CPU path; returns (critic loss, mean Q, gripper loss) as tensors.
    pub(crate) fn critic_step_fused(&mut self, nets: &FusedNets, mb: &Batch) -> (Tensor, Tensor, Tensor) {
        let alpha = self.temperature();
        let (e, m) = (self.cfg.critic_ensemble as usize, self.cfg.critic_subsample as usize);
        let ens = &nets.critic;
        let (loss, q) = {
            let _no_grad = tch::no_grad_guard();
            let (a_next, logp_next) = self.sample_action_fused(&nets.actor, &mb.next_proprio);
            let subset = (m < e).then(|| self.rng.subset(e, m));
            let q_of = |a: &Tensor| {
                let x = Tensor::cat(&[&mb.next_proprio, a], 1);
                self.head.values(&ens.forward(&self.critic_target, &x, subset.as_deref(), false).out)
            };
            let q_next = q_of(&a_next);
            let (q_next, logp_next) = self.with_prior_next(&mb.next_proprio, q_next, logp_next, q_of);
            let y = self.td_target(mb, &q_next, &logp_next, alpha);
            let tape = ens.forward(&self.p.critic, &Tensor::cat(&[&mb.proprio, &mb.action], 1), None, true);
            let q = self.head.values(&tape.out);
            // The loss and its gradient with respect to the critics' outputs (MSE or HL-Gauss cross-entropy).
            let (loss, dout) = self.head.loss_and_grad(&tape.out, &y);
            let (grad, _) = ens.backward(&self.p.critic, &tape, &dout, true, false);
            let grad = grad.unwrap_or_else(|| unreachable!("parameter gradients were asked for"));
            self.opt_critic.step_fused_cpu(&self.p.critic, &grad, Some((&self.critic_target, self.cfg.tau)));
            (loss, q)
        };
        let grip_loss = self.gripper_step(mb, &mb.proprio, &mb.next_proprio, &mb.next_proprio);
        (loss, q.mean(Kind::Float), grip_loss)
    }

    /// A sampled action and its log-probability for `feats` (no gradients), drawing the same noise as the
    /// autograd path's `sample_action`.
    fn sample_action_fused(&mut self, actor: &StackedMlp, feats: &Tensor) -> (Tensor, Tensor) {
        let out = actor.forward(&self.p.actor, feats, None, false).out.squeeze_dim(0);
        let a = out.size()[1] / 2;
        let eps = self.rng.normal(&[out.size()[0], a], self.device);
        let (act, logp) = losses::squashed_gaussian(&out.narrow(1, 0, a), &out.narrow(1, a, a), &eps);
        (self.executed(feats, act), logp)
    }

    /// Actor and temperature step on the fused CPU path.
    /// `bc_weight > 0` adds the batch actions' negative log-likelihood (as the autograd step does).
    pub(crate) fn actor_step_fused(
        &mut self,
        nets: &FusedNets,
        mb: &Batch,
        bc_weight: f64,
    ) -> (Tensor, Tensor, Tensor) {
        let alpha = self.temperature();
        let (actor, ens) = (&nets.actor, &nets.critic);
        let f = mb.proprio.contiguous();
        let fdim = f.size()[1];
        let atape = tch::no_grad(|| actor.forward(&self.p.actor, &f, None, true));
        let out = atape.out.squeeze_dim(0);
        let na = out.size()[1] / 2;
        // The head's outputs as leaves: autograd differentiates the squashed Gaussian (small) back to them.
        let mean = out.narrow(1, 0, na).detach().set_requires_grad(true);
        let log_std = out.narrow(1, na, na).detach().set_requires_grad(true);
        let eps = self.rng.normal(&[out.size()[0], na], self.device);
        let (a, logp) = losses::squashed_gaussian(&mean, &log_std, &eps);
        // The executed action (with a base policy: base + bounded residual), differentiated by autograd.
        let a = self.executed(&f, a);
        let (loss, da) = tch::no_grad(|| {
            let tape = ens.forward(&self.p.critic, &Tensor::cat(&[&f, &a.detach()], 1), None, true);
            let q = self.head.values(&tape.out);
            let loss = losses::actor_loss(&q, &logp.detach(), alpha);
            // ∂/∂q of −mean_b mean_e q, then through the critic head to its outputs.
            let dq = q.full_like(-1.0 / q.numel() as f64);
            let dout = self.head.value_grad(&tape.out, &dq);
            let (_, dx) = ens.backward(&self.p.critic, &tape, &dout, false, true);
            let dx = dx.unwrap_or_else(|| unreachable!("the input gradient was asked for"));
            (loss, dx.narrow(1, fdim, na))
        });
        // L = mean_b α log π + Σ a · ∂L/∂a (∂L/∂a from the critic, a constant): its gradient at (mean, log σ) is
        // the actor loss's.
        let surrogate = (&logp * alpha).mean(Kind::Float) + (&a * &da).sum(Kind::Float);
        let (loss, surrogate) = if bc_weight > 0.0 && self.base.is_none() {
            let nll = crate::bc::squashed_nll(&mean, &log_std, &mb.action).mean(Kind::Float) * bc_weight;
            (loss + nll.detach(), surrogate + nll)
        } else {
            (loss, surrogate)
        };
        let g = Tensor::run_backward(&[&surrogate], &[&mean, &log_std], false, false);
        let dout = Tensor::cat(&[&g[0], &g[1]], 1).unsqueeze(0);
        tch::no_grad(|| {
            let (grad, _) = actor.backward(&self.p.actor, &atape, &dout, true, false);
            let grad = grad.unwrap_or_else(|| unreachable!("parameter gradients were asked for"));
            self.opt_actor.step_fused_cpu(&self.p.actor, &grad, None);
        });
        let t_loss = self.temperature_step(&logp);
        (loss, t_loss, logp.detach())
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::fused::rel_err;
    use crate::replay::Batch;
    use crate::sac::Learner;
    use crate::spec::ObsSpec;
    use interfaces::config::AgentConfig;
    use tch::{Device, Kind};

    /// A batch from `rng` (not libtorch's global generator, which the tests running beside this one draw from).
    fn batch(rows: i64, spec: &ObsSpec, rng: &mut crate::nn::Rng) -> Batch {
        let p = spec.proprio_dim as i64;
        let cpu = Device::Cpu;
        let below = |rng: &mut crate::nn::Rng, q: f64| rng.normal(&[rows], cpu).lt(q).to_kind(Kind::Float);
        Batch {
            proprio: rng.normal(&[rows, p], cpu),
            next_proprio: rng.normal(&[rows, p], cpu),
            action: rng.normal(&[rows, spec.action_dim as i64], cpu).tanh(),
            gripper: rng.ints(rows as usize, 2, cpu),
            reward: rng.normal(&[rows], cpu),
            // Standard normal quantiles: ≈ 10 % done, ≈ 30 % gripper changes.
            done: below(rng, -1.2816),
            gripper_changed: below(rng, -0.5244),
            images: vec![],
            next_images: vec![],
        }
    }

    /// The fused CPU path and the autograd path make the same updates (same batches, same seed, same random
    /// draws) to float rounding: losses, Q, temperature, and every network, target network and Adam moment after
    /// three update cycles. Default 256-wide critic pair; a 10/2 ensemble with odd widths and the gripper critic;
    /// the HL-Gauss critic with the fine-tuning actor's behaviour-cloning term; a residual policy on a BC base.
    #[test]
    fn fused_cpu_path_matches_autograd() {
        tch::manual_seed(11);
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().join("base.safetensors");
        let bc_cfg = AgentConfig { hidden: vec![32], ..AgentConfig::default() };
        let bc = crate::bc::BcTrainer::new(
            &bc_cfg,
            &ObsSpec { proprio_dim: 11, cameras: vec![], action_dim: 4, gripper: true },
            Device::Cpu,
        )
        .expect("bc");
        std::fs::write(&base, bc.policy_weights().expect("weights")).expect("write");
        let hl = interfaces::config::CriticKind::HlGauss;
        let mse = interfaces::config::CriticKind::Mse;
        let cases = [
            (2u64, 2u64, vec![256u64, 256], false, mse, None, 0u64),
            (10, 2, vec![40, 24, 24], true, mse, None, 0),
            (3, 2, vec![48, 40], true, hl, None, 5),
            (2, 2, vec![40, 24], true, hl, Some(base.display().to_string()), 0),
        ];
        for (ensemble, subsample, hidden, gripper, critic, base_policy, pretrain_updates) in cases {
            let cfg = AgentConfig {
                critic_ensemble: ensemble,
                critic_subsample: subsample,
                hidden: hidden.clone(),
                batch_size: 64,
                critic_actor_ratio: 3,
                critic: Some(critic),
                base_policy,
                // After pretraining the actor keeps a behaviour-cloning term (both paths).
                pretrain_updates: Some(pretrain_updates),
                ..AgentConfig::default()
            };
            let spec = ObsSpec { proprio_dim: 11, cameras: vec![], action_dim: 4, gripper };
            let mut fused = Learner::new(&cfg, 0.9, &spec, Device::Cpu).expect("learner");
            let mut plain = Learner::new(&cfg, 0.9, &spec, Device::Cpu).expect("learner");
            assert!(fused.uses_fused_cpu_path(), "a state-based CPU learner takes the fused path by default");
            assert!(!plain.set_fused_cpu_path(false));
            let (critic0, actor0) = (plain.p.critic.flat().copy(), plain.p.actor.flat().copy());
            let mut rng = crate::nn::Rng::new(17);
            for cycle in 0..3 {
                let b = batch(64 * 3, &spec, &mut rng);
                let (mf, mp) = (fused.update_with(&b), plain.update_with(&b));
                let close = |a: f64, b: f64, what: &str| {
                    assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{what} at cycle {cycle}: {a} vs {b}")
                };
                close(mf.critic_loss, mp.critic_loss, "critic loss");
                close(mf.actor_loss, mp.actor_loss, "actor loss");
                close(mf.temperature_loss, mp.temperature_loss, "temperature loss");
                close(mf.q_mean, mp.q_mean, "mean Q");
                close(mf.entropy, mp.entropy, "entropy");
                close(mf.gripper_loss, mp.gripper_loss, "gripper loss");
            }
            let groups = [
                ("critic", fused.p.critic.flat(), plain.p.critic.flat()),
                ("critic target", fused.critic_target.flat(), plain.critic_target.flat()),
                ("actor", fused.p.actor.flat(), plain.p.actor.flat()),
                ("critic Adam m", &fused.opt_critic.m, &plain.opt_critic.m),
                ("critic Adam v", &fused.opt_critic.v, &plain.opt_critic.v),
                ("actor Adam m", &fused.opt_actor.m, &plain.opt_actor.m),
                ("actor Adam v", &fused.opt_actor.v, &plain.opt_actor.v),
                ("log alpha", fused.log_alpha.flat(), plain.log_alpha.flat()),
            ];
            for (what, a, b) in groups {
                let e = rel_err(a, b);
                assert!(e < 1e-3, "{what} differs after three cycles (ensemble {ensemble}, hidden {hidden:?}): {e}");
            }
            // Adam moves each parameter by about lr a step, whatever its gradient's size, so a wrong gradient shows
            // as changes ~lr apart. Rounding shows only where a gradient is near 0 (√v ~ ε), on a few parameters:
            // with HL-Gauss the logits of bins far from every target have such gradients (softmax ≈ target ≈ 0), so
            // there a single change may differ by up to half a step (the count below still bounds how many).
            let lr = cfg.lr;
            let worst_allowed = if critic == hl { 0.5 * lr } else { 0.1 * lr };
            for (what, a, b, init) in [
                ("critic", fused.p.critic.flat(), plain.p.critic.flat(), &critic0),
                ("actor", fused.p.actor.flat(), plain.p.actor.flat(), &actor0),
            ] {
                let d = ((a - init) - (b - init)).abs();
                let worst = d.max().double_value(&[]);
                let off = d.gt(lr * 1e-2).sum(Kind::Int64).int64_value(&[]);
                assert!(
                    worst < worst_allowed,
                    "{what}: a change differs by {worst} (ensemble {ensemble}, hidden {hidden:?})"
                );
                assert!(off * 1000 <= d.numel() as i64, "{what}: {off} of {} changes differ by > lr/100", d.numel());
                assert!((b - init).abs().mean(Kind::Float).double_value(&[]) > lr, "{what} was updated");
            }
        }
    }
}
