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
        let (batch_size, device, seed) = (self.cfg.batch_size as usize, self.device, self.cfg.seed);
        let spec = &self.spec;
        let sampler =
            self.diag_sampler.get_or_insert_with(|| BatchSampler::new(spec, batch_size, device, seed ^ DIAG_SEED_MIX));
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
            self.head.values(&self.s.ensemble.forward(&self.p.critic, &Tensor::cat(&[&f, a], 1), None)).mean_dim(
                [0i64].as_slice(),
                false,
                Kind::Float,
            )
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
        // The demo columns read 0 without demo rows (an online-only store); the online ones are `None` without
        // online rows.
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
    use crate::replay::{Action, GripperAction, Observation, StoreOptions, Transition};
    use crate::spec::ObsSpec;
    use interfaces::config::AgentConfig;
    use interfaces::msg::LearnerMetrics;
    use tch::Device;

    fn transition(i: usize, spec: &ObsSpec) -> Transition {
        let obs = |k: usize| Observation {
            proprio: (0..spec.proprio_dim).map(|j| ((k * 7 + j) % 11) as f32 / 11.0).collect(),
            images: vec![],
        };
        Transition {
            obs: obs(i),
            action: Action {
                continuous: (0..spec.action_dim).map(|j| ((i + j) % 5) as f32 / 5.0 - 0.4).collect(),
                gripper: GripperAction::Stay,
            },
            reward: f32::from(u8::from(i.is_multiple_of(9))),
            next_obs: obs(i + 1),
            done: i.is_multiple_of(9),
            truncated: false,
            intervention: false,
            gripper_changed: false,
            episode: i as u64 / 9,
            obs_stamp_ns: i as u64,
            next_stamp_ns: i as u64 + 1,
        }
    }

    /// Every diagnostic is computed on a store with demo and online data, written into `metrics.jsonl` with the
    /// learner's metrics and read back unchanged; the online columns are absent without online data.
    #[test]
    fn each_diagnostic_is_written_and_read_back() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let spec = ObsSpec { proprio_dim: 5, cameras: vec![], action_dim: 3, gripper: false };
        let cfg = AgentConfig {
            hidden: vec![16, 16],
            batch_size: 32,
            bc_prior: Some(true),
            bc_prior_steps: 5,
            pretrain_updates: Some(2),
            ..AgentConfig::default()
        };
        let opts = StoreOptions::from_config(&cfg);
        let mut store = crate::replay::ReplayStore::open(tmp.path().join("replay"), &spec, &opts).expect("store");
        for i in 0..40 {
            store.append_demo(&transition(i, &spec)).expect("demo");
        }
        let mut l = Learner::new(&cfg, 0.9, &spec, Device::Cpu).expect("learner");
        let d = l.diagnostics(&store).expect("demo only");
        assert!(d.q_online.is_none() && d.feature_norm_online.is_none(), "no online data yet: {d:?}");
        assert_eq!(d.prior_share, 0.0, "the prior is not fitted yet");
        assert_eq!(l.fit_bc_prior(&store, |_, _, _| {}).expect("fit"), 5);
        for i in 100..140 {
            store.append(&transition(i, &spec)).expect("online");
        }
        l.update(&store).expect("update");
        let d = l.diagnostics(&store).expect("diagnostics");
        assert!(d.q_online.is_some() && d.q_policy_online.is_some() && d.feature_norm_online.is_some(), "{d:?}");
        assert_eq!(d.bc_weight, cfg.finetune_bc_weight, "after pretraining the BC term keeps its weight");
        for (name, x) in [
            ("q_demo", d.q_demo),
            ("q_policy_demo", d.q_policy_demo),
            ("bc_nll_demo", d.bc_nll_demo),
            ("critic_norm", d.critic_norm),
            ("actor_norm", d.actor_norm),
            ("feature_norm_demo", d.feature_norm_demo),
        ] {
            assert!(x.is_finite() && x != 0.0, "{name} = {x}");
        }
        for (name, x) in
            [("prior_share", d.prior_share), ("dormant_critic", d.dormant_critic), ("dormant_actor", d.dormant_actor)]
        {
            assert!((0.0..=1.0).contains(&x), "{name} = {x}");
        }
        let path = tmp.path().join("metrics.jsonl");
        let m = LearnerMetrics { updates: l.updates(), diagnostics: Some(d), ..LearnerMetrics::default() };
        crate::node::runlog::JsonLines::open(&path).append(&m, &[]);
        let (rows, skipped) = crate::node::runlog::read(&path).expect("read");
        assert_eq!((rows.len(), skipped), (1, 0));
        let back: LearnerMetrics = serde_json::from_value(rows[0].clone()).expect("parse");
        assert_eq!(back.diagnostics, Some(d), "every diagnostic reads back as written");
        assert!(rows[0]["diagnostics"]["dormant_critic"].is_number());
    }

    #[test]
    fn a_unit_is_dormant_when_its_mean_activation_is_tiny_against_its_layer() {
        // Batch of 4, 4 units: unit 2 silent, unit 3 at 1 % of the others.
        let h = Tensor::from_slice(&[
            1.0f32, -2.0, 0.0, 0.01, 1.0, 2.0, 0.0, -0.01, -1.0, 2.0, 0.0, 0.01, 1.0, 2.0, 0.0, 0.01,
        ])
        .view([4, 4]);
        assert_eq!(dormant_units(&[h.shallow_clone()]), (2, 4));
        // An ensemble of two members: counted per member.
        let e = Tensor::stack(&[h.shallow_clone(), h.ones_like()], 0);
        assert_eq!(dormant_units(&[e]), (2, 8));
    }
}
