//! What shows a learning run going wrong early ([`interfaces::msg::LearnerDiagnostics`]): the critic's values on
//! demo against online data and on the actor's own actions, the behaviour-cloning term, the behaviour prior's
//! share, dormant units (ReDo, DrM: τ = 0.025), parameter and input norms. Taken on a batch of its own (a sampler
//! apart from the updates', so watching a run does not change it), without gradients.

use crate::error::Result;
use crate::replay::{BatchSampler, ReplayStore, Source};
use crate::sac::Learner;
use interfaces::msg::LearnerDiagnostics;
use tch::{Kind, Tensor};

/// A hidden unit is dormant when its mean |activation| is at most this share of its layer's mean.
pub const DORMANT_TAU: f64 = 0.025;

/// Mixed into the config seed for the diagnostics' own batch stream.
const DIAG_SEED_MIX: u64 = 0xd1a6_0000_0000_0001;

/// Dormant units and units in `acts` (each `[…, B, H]`: per member of an ensemble when 3-d).
pub fn dormant_units(acts: &[Tensor]) -> (i64, i64) {
    let (mut dormant, mut total) = (0, 0);
    for h in acts {
        // Mean |activation| per unit over the batch: [E, H] or [H].
        let score = h.abs().mean_dim([-2i64].as_slice(), false, Kind::Float);
        let layer_mean = score.mean_dim([-1i64].as_slice(), true, Kind::Float);
        let d = score.le_tensor(&(layer_mean * DORMANT_TAU + 1e-12));
        dormant += d.sum(Kind::Int64).int64_value(&[]);
        total += score.numel() as i64;
    }
    (dormant, total)
}

impl Learner {
    /// The diagnostics on a fresh batch from `store` (half demo, half online when both hold data). Errors when
    /// both buffers are empty.
    pub fn diagnostics(&mut self, store: &ReplayStore) -> Result<LearnerDiagnostics> {
        let spec = self.sampler_spec.clone();
        let (batch_size, device, seed) = (self.cfg.batch_size as usize, self.device, self.cfg.seed);
        let sampler =
            self.diag_sampler.get_or_insert_with(|| BatchSampler::new(&spec, batch_size, device, seed ^ DIAG_SEED_MIX));
        let raw = sampler.sample_many_from(store, 1, Source::Both)?;
        let split = store.demo_len() > 0 && store.online_len() > 0;
        let demo_rows = if split {
            batch_size as i64 / 2
        } else if store.demo_len() > 0 {
            batch_size as i64
        } else {
            0
        };
        let _g = tch::no_grad_guard();
        let augmented = self.with_base(&raw);
        let batch = augmented.as_ref().unwrap_or(&raw);
        let f = if self.s.encoders.is_some() {
            self.s.features(&self.p.critic, self.p.frozen.as_ref(), &batch.images, &batch.proprio)
        } else {
            batch.proprio.shallow_clone()
        };
        let q_of = |a: &Tensor| {
            self.head
                .values(&self.s.ensemble.forward(&self.p.critic, &Tensor::cat(&[&f, a], 1), None))
                .mean_dim([0i64].as_slice(), false, Kind::Float)
        };
        let (mean, log_std) = self.s.actor_head(&self.p.actor, &f);
        let a_pi = self.executed(&f, mean.tanh());
        let q_data = q_of(&batch.action);
        let q_pi = q_of(&a_pi);
        let nll = crate::bc::squashed_nll(&mean, &log_std, &batch.action);
        let fnorm = f.square().sum_dim_intlist([1i64].as_slice(), false, Kind::Float).sqrt();
        let rows = f.size()[0];
        let part = |t: &Tensor, demo: bool| -> Option<f64> {
            let (start, len) = if demo { (0, demo_rows) } else { (demo_rows, rows - demo_rows) };
            (len > 0).then(|| t.narrow(0, start, len).mean(Kind::Float).double_value(&[]))
        };
        let prior_share = match self.prior_proposals(&f) {
            Some(a_bc) => q_of(&a_bc).gt_tensor(&q_pi).to_kind(Kind::Float).mean(Kind::Float).double_value(&[]),
            None => 0.0,
        };
        let critic_acts = self.s.ensemble.hidden_activations(&self.p.critic, &Tensor::cat(&[&f, &batch.action], 1));
        let (dc, tc) = dormant_units(&critic_acts);
        let (da, ta) = dormant_units(&self.s.actor.hidden_activations(&self.p.actor, &f));
        let norm = |t: &Tensor| t.norm().double_value(&[]);
        // With a demo buffer only (or online only) the one side present stands for both columns it fills.
        let or_zero = |x: Option<f64>| x.unwrap_or(0.0);
        Ok(LearnerDiagnostics {
            q_demo: or_zero(part(&q_data, true)),
            q_online: part(&q_data, false),
            q_policy_demo: or_zero(part(&q_pi, true)),
            q_policy_online: part(&q_pi, false),
            bc_nll_demo: or_zero(part(&nll, true)),
            bc_weight: self.finetune_bc_weight(),
            prior_share,
            dormant_critic: dc as f64 / tc.max(1) as f64,
            dormant_actor: da as f64 / ta.max(1) as f64,
            critic_norm: norm(self.p.critic.flat()),
            actor_norm: norm(self.p.actor.flat()),
            feature_norm_demo: or_zero(part(&fnorm, true)),
            feature_norm_online: part(&fnorm, false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_is_dormant_when_its_mean_activation_is_tiny_against_its_layer() {
        // Batch of 4, 4 units: unit 2 silent, unit 3 at 1 % of the others.
        let h = Tensor::from_slice(&[1.0f32, -2.0, 0.0, 0.01, 1.0, 2.0, 0.0, -0.01, -1.0, 2.0, 0.0, 0.01, 1.0, 2.0, 0.0, 0.01])
            .view([4, 4]);
        assert_eq!(dormant_units(&[h.shallow_clone()]), (2, 4));
        // An ensemble of two members: counted per member.
        let e = Tensor::stack(&[h.shallow_clone(), h.ones_like()], 0);
        assert_eq!(dormant_units(&[e]), (2, 8));
    }
}
