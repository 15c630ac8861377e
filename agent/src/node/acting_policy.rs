//! The actor's policy and where its weights come from: weights arriving on `learner/weights` are judged
//! ([`LearnerLink`]: the learner session the actor follows, a plausible version), loaded into a **new** policy
//! built beside the acting one, checked to act (a finite action on the current observation), and swapped in only
//! when all of that succeeded. A blob that is corrupt, of another layout, or half loadable never replaces the
//! acting policy: the previous one keeps acting, the refusal is counted and said.

use crate::delivery::{LearnerLink, LinkCounts, WeightsVerdict};
use crate::replay::Observation;
use crate::sac::Policy;
use crate::spec::ObsSpec;
use interfaces::config::AgentConfig;
use interfaces::msg_training::PolicyWeights;
use std::time::Instant;

/// What became of a weights message.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsOutcome {
    /// Loaded: this version acts now.
    Applied(u64),
    /// A repeat of the version acting now (the learner republishes): nothing to do.
    Current,
    /// Refused before loading: no, another or a not followed learner session, or an implausible version.
    Refused(WeightsVerdict),
    /// The blob did not load, or the loaded policy did not act (the text says why): the previous policy acts on.
    Failed(String),
}

/// The acting policy and the learner it follows (see the module doc).
#[derive(Debug)]
pub struct ActingPolicy {
    policy: Policy,
    link: LearnerLink,
    cfg: AgentConfig,
    spec: ObsSpec,
    device: tch::Device,
    failed: u64,
}

impl ActingPolicy {
    /// A freshly initialised policy for `spec` (acting before any weights arrive), following no learner yet.
    pub fn new(cfg: &AgentConfig, spec: &ObsSpec, device: tch::Device) -> crate::Result<Self> {
        Ok(Self {
            policy: Policy::new(cfg, spec, device)?,
            link: LearnerLink::new(),
            cfg: cfg.clone(),
            spec: spec.clone(),
            device,
            failed: 0,
        })
    }

    /// The policy acting now.
    pub fn policy(&mut self) -> &mut Policy {
        &mut self.policy
    }

    /// The weights version acting now (0: none loaded).
    pub fn version(&self) -> u64 {
        self.link.version()
    }

    /// The learner session followed (its acknowledgements are the only ones applied).
    pub fn learner(&self) -> Option<&str> {
        self.link.learner()
    }

    /// Refusals so far: the link's (acknowledgements and weights refused by session or version) and the weights
    /// that failed to load or act.
    pub fn counts(&self) -> (LinkCounts, u64) {
        (self.link.counts(), self.failed)
    }

    /// Whether an acknowledgement naming `learner`'s session may be applied (counted when not).
    pub fn admits_ack(&mut self, learner: &str) -> bool {
        self.link.admits_ack(learner)
    }

    /// Offers weights `w` arriving at `now`; `probe` is the observation the policy acts on next (the new policy
    /// must give a finite action on it). Errors never escape: the outcome says what happened.
    pub fn offer(&mut self, now: Instant, w: &PolicyWeights, probe: &Observation) -> WeightsOutcome {
        match self.link.judge_weights(now, &w.learner, w.version) {
            WeightsVerdict::Load => {}
            WeightsVerdict::Old => return WeightsOutcome::Current,
            v => return WeightsOutcome::Refused(v),
        }
        match self.build(&w.safetensors, probe) {
            Ok(p) => {
                self.policy = p;
                self.link.applied(now, &w.learner, w.version);
                WeightsOutcome::Applied(w.version)
            }
            Err(e) => {
                self.failed += 1;
                WeightsOutcome::Failed(e)
            }
        }
    }

    /// A new policy with `bytes` loaded whole, acting finitely on `probe`.
    fn build(&self, bytes: &[u8], probe: &Observation) -> Result<Policy, String> {
        let mut p = Policy::new(&self.cfg, &self.spec, self.device).map_err(|e| e.to_string())?;
        p.load_weights(bytes).map_err(|e| e.to_string())?;
        let a = p.act(probe, true).map_err(|e| format!("the loaded policy does not act: {e}"))?;
        if a.continuous.iter().any(|x| !x.is_finite()) {
            return Err("the loaded policy's action is not finite".into());
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sac::Learner;

    fn spec(action_dim: usize) -> ObsSpec {
        ObsSpec { proprio_dim: 4, cameras: Vec::new(), action_dim, gripper: false }
    }

    fn weights(seed: u64, spec: &ObsSpec, learner: &str, version: u64) -> PolicyWeights {
        let cfg = AgentConfig { seed, ..AgentConfig::default() };
        let l = Learner::new(&cfg, 0.99, spec, tch::Device::Cpu).unwrap();
        PolicyWeights {
            version,
            learner: learner.into(),
            safetensors: l.policy_weights().unwrap(),
            ..Default::default()
        }
    }

    fn obs() -> Observation {
        Observation { proprio: vec![0.1, -0.2, 0.3, 0.05], images: Vec::new() }
    }

    fn action(p: &mut ActingPolicy) -> Vec<f32> {
        p.policy().act(&obs(), true).unwrap().continuous
    }

    #[test]
    fn a_version_of_u64_max_does_not_pin_the_actor() {
        let s = spec(2);
        let mut p = ActingPolicy::new(&AgentConfig::default(), &s, tch::Device::Cpu).unwrap();
        let t0 = Instant::now();
        assert_eq!(p.offer(t0, &weights(1, &s, "learner@1", 1), &obs()), WeightsOutcome::Applied(1));
        let pinned = PolicyWeights { version: u64::MAX, ..weights(2, &s, "learner@1", 0) };
        assert_eq!(p.offer(t0, &pinned, &obs()), WeightsOutcome::Refused(WeightsVerdict::Implausible));
        assert_eq!(p.offer(t0, &weights(3, &s, "learner@1", 2), &obs()), WeightsOutcome::Applied(2));
        assert_eq!(p.version(), 2);
    }

    #[test]
    fn weights_that_do_not_load_whole_keep_the_acting_policy() {
        let s = spec(2);
        let mut p = ActingPolicy::new(&AgentConfig::default(), &s, tch::Device::Cpu).unwrap();
        let t0 = Instant::now();
        assert_eq!(p.offer(t0, &weights(1, &s, "learner@1", 1), &obs()), WeightsOutcome::Applied(1));
        let before = action(&mut p);
        // A corrupt blob, and weights of another action size (their first layers fit, the last does not).
        let mut corrupt = weights(2, &s, "learner@1", 2);
        corrupt.safetensors.truncate(corrupt.safetensors.len() / 2);
        assert!(matches!(p.offer(t0, &corrupt, &obs()), WeightsOutcome::Failed(_)));
        assert_eq!(action(&mut p), before, "the previous policy acts on");
        let other = weights(3, &spec(3), "learner@1", 2);
        assert!(matches!(p.offer(t0, &other, &obs()), WeightsOutcome::Failed(_)));
        assert_eq!(action(&mut p), before, "nothing half-loaded");
        assert_eq!(p.version(), 1);
        // The same version, whole, is still applied.
        assert_eq!(p.offer(t0, &weights(4, &s, "learner@1", 2), &obs()), WeightsOutcome::Applied(2));
        assert_ne!(action(&mut p), before);
        assert_eq!(p.counts().1, 2);
    }

    #[test]
    fn acknowledgements_are_taken_from_the_followed_learner_only() {
        let s = spec(2);
        let mut p = ActingPolicy::new(&AgentConfig::default(), &s, tch::Device::Cpu).unwrap();
        assert!(!p.admits_ack("learner@1"), "none before a learner's weights loaded");
        let mut garbage = weights(1, &s, "learner@1", 1);
        garbage.safetensors = b"not a safetensors file".to_vec();
        assert!(matches!(p.offer(Instant::now(), &garbage, &obs()), WeightsOutcome::Failed(_)));
        assert!(!p.admits_ack("learner@1"), "weights that do not load follow no learner");
        assert_eq!(p.offer(Instant::now(), &weights(1, &s, "learner@1", 1), &obs()), WeightsOutcome::Applied(1));
        assert!(p.admits_ack("learner@1"));
        assert!(!p.admits_ack("learner@2") && !p.admits_ack(""));
    }
}
