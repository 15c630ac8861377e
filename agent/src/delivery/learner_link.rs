//! The actor's view of the learner it delivers to: which learner session's acknowledgements and weights it
//! accepts, and which weights versions.
//!
//! A learner names its session (`learner@<start ns>`, new with every start) in every [`PolicyWeights`] and
//! [`TransitionAck`] it publishes. The actor follows **one learner session at a time**:
//! - it binds to the session of the first named weights message whose weights load;
//! - it moves to another session only once the one it follows has been silent for [`LearnerLink::SILENT`], and
//!   only with weights that load (a learner republishes its weights every 2 s, so a restarted learner is
//!   followed within seconds, while a second or stale learner — or a node claiming to be one — cannot take the
//!   actor from a learner that is alive, nor with weights that do not load);
//! - acknowledgements are accepted from the followed session only ([`LearnerLink::admits_ack`]); before any
//!   learner is known, none is (a forged acknowledgement sent while the learner is down releases nothing);
//! - weights versions rise within a session, by at most [`LearnerLink::MAX_JUMP`] at a time, and never beyond
//!   [`LearnerLink::MAX_VERSION`]: a version of `u64::MAX` cannot pin the actor. A new session starts a new
//!   sequence (its first version is taken as it comes, within [`LearnerLink::MAX_VERSION`]).
//!
//! The version is committed only after the weights were loaded ([`LearnerLink::applied`]): a blob that fails to
//! load leaves the version where it was, so the next good publication is applied. Every refusal is counted.
//!
//! What this cannot tell apart: a node that copies the followed learner's session name (it travels in every
//! acknowledgement and weights message) and sends a plausible next version. Under the secure profile only the
//! learner role may put on `learner/weights` and `learner/ack`; under the plain profile every node on the network
//! is trusted as much as the learner.
//!
//! Time is passed in (`Instant`s), so the rules are tested without sleeping.
//!
//! [`PolicyWeights`]: interfaces::msg_training::PolicyWeights
//! [`TransitionAck`]: interfaces::msg_training::TransitionAck

use std::time::{Duration, Instant};

/// What to do with a weights message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsVerdict {
    /// Load it (build the new policy; on success call [`LearnerLink::applied`]).
    Load,
    /// Not newer than the version acting now (a repeat of the learner's periodic republication): ignore it.
    Old,
    /// Refused: it names no learner session.
    Unnamed,
    /// Refused: from another learner session while the followed one is alive.
    OtherLearner,
    /// Refused: a version beyond [`LearnerLink::MAX_VERSION`], or more than [`LearnerLink::MAX_JUMP`] above the
    /// version acting now.
    Implausible,
}

/// Refusals counted by a [`LearnerLink`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// Acknowledgements refused: from no or another learner session.
    pub acks_refused: u64,
    /// Weights refused: unnamed, from another learner session, or of an implausible version.
    pub weights_refused: u64,
    /// Times the actor moved to a new learner session (a learner restart).
    pub learner_changes: u64,
}

/// The learner session an actor follows, and its weights version (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct LearnerLink {
    learner: Option<String>,
    heard: Option<Instant>,
    version: u64,
    counts: LinkCounts,
}

impl LearnerLink {
    /// How long the followed learner session must be silent before another one is followed (the learner
    /// republishes its weights every 2 s).
    pub const SILENT: Duration = Duration::from_secs(5);
    /// Most a version may rise from one applied publication to the next within a session (a learner publishes
    /// a few versions a second at most; the actor may miss some while an episode resets).
    pub const MAX_JUMP: u64 = 100_000;
    /// Highest version accepted at all (2⁴⁰: centuries of publications).
    pub const MAX_VERSION: u64 = 1 << 40;

    /// A link that follows no learner yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The learner session followed (`None` before the first named weights message).
    pub fn learner(&self) -> Option<&str> {
        self.learner.as_deref()
    }

    /// The version of the weights acting now (0: none applied in the followed session).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The refusals so far.
    pub fn counts(&self) -> LinkCounts {
        self.counts
    }

    /// Judges a weights message of `learner`'s session with `version` arriving at `now`. A message of the
    /// followed session refreshes its liveness whatever its version. Nothing else changes until
    /// [`LearnerLink::applied`].
    pub fn judge_weights(&mut self, now: Instant, learner: &str, version: u64) -> WeightsVerdict {
        let verdict = self.verdict(now, learner, version);
        if matches!(verdict, WeightsVerdict::Unnamed | WeightsVerdict::OtherLearner | WeightsVerdict::Implausible) {
            self.counts.weights_refused += 1;
        }
        verdict
    }

    fn verdict(&mut self, now: Instant, learner: &str, version: u64) -> WeightsVerdict {
        if learner.is_empty() {
            return WeightsVerdict::Unnamed;
        }
        if version > Self::MAX_VERSION {
            return WeightsVerdict::Implausible;
        }
        if self.learner.as_deref() == Some(learner) {
            self.heard = Some(now);
            return if version <= self.version {
                WeightsVerdict::Old
            } else if self.version > 0 && version > self.version.saturating_add(Self::MAX_JUMP) {
                WeightsVerdict::Implausible
            } else {
                WeightsVerdict::Load
            };
        }
        let silent = self.heard.is_none_or(|h| now.saturating_duration_since(h) >= Self::SILENT);
        if silent { WeightsVerdict::Load } else { WeightsVerdict::OtherLearner }
    }

    /// Records that `version` of `learner`'s session (judged [`WeightsVerdict::Load`]) was loaded at `now` and
    /// acts now: that session is followed from now on (a new one starts its own version sequence).
    pub fn applied(&mut self, now: Instant, learner: &str, version: u64) {
        if self.learner.as_deref() != Some(learner) {
            if self.learner.is_some() {
                self.counts.learner_changes += 1;
            }
            self.learner = Some(learner.to_string());
            self.version = 0;
        }
        self.heard = Some(now);
        self.version = self.version.max(version);
    }

    /// Whether an acknowledgement naming `learner`'s session may be applied: only the followed session's
    /// (none before a learner is known). Refusals are counted.
    pub fn admits_ack(&mut self, learner: &str) -> bool {
        let ok = !learner.is_empty() && self.learner.as_deref() == Some(learner);
        if !ok {
            self.counts.acks_refused += 1;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_of_u64_max_is_refused_and_the_next_normal_version_applies() {
        let t0 = Instant::now();
        let mut l = LearnerLink::new();
        assert_eq!(l.judge_weights(t0, "learner@1", 3), WeightsVerdict::Load);
        l.applied(t0, "learner@1", 3);
        assert_eq!(l.judge_weights(t0, "learner@1", u64::MAX), WeightsVerdict::Implausible);
        assert_eq!(l.judge_weights(t0, "learner@1", 3 + LearnerLink::MAX_JUMP + 1), WeightsVerdict::Implausible);
        assert_eq!(l.version(), 3, "a refused version is not taken");
        assert_eq!(l.judge_weights(t0, "learner@1", 4), WeightsVerdict::Load);
        l.applied(t0, "learner@1", 4);
        assert_eq!(l.judge_weights(t0, "learner@1", 4), WeightsVerdict::Old, "the periodic republication");
        assert_eq!(l.counts().weights_refused, 2);
    }

    #[test]
    fn a_version_that_failed_to_load_is_not_taken() {
        let t0 = Instant::now();
        let mut l = LearnerLink::new();
        assert_eq!(l.judge_weights(t0, "learner@1", 7), WeightsVerdict::Load);
        // Not applied (the blob was corrupt): no learner is followed yet, the next publication is loaded.
        assert_eq!((l.learner(), l.version()), (None, 0));
        assert_eq!(l.judge_weights(t0, "learner@1", 7), WeightsVerdict::Load);
        l.applied(t0, "learner@1", 7);
        // A corrupt blob of version 8 is not applied: version 8 (and 9) are still loaded when they come.
        assert_eq!(l.judge_weights(t0, "learner@1", 8), WeightsVerdict::Load);
        assert_eq!(l.version(), 7);
        assert_eq!(l.judge_weights(t0, "learner@1", 8), WeightsVerdict::Load);
        // Garbage from a node claiming a new learner session while the followed one is silent takes nothing over.
        let later = t0 + LearnerLink::SILENT * 2;
        assert_eq!(l.judge_weights(later, "learner@9", u64::MAX), WeightsVerdict::Implausible);
        assert_eq!(l.judge_weights(later, "learner@9", 1), WeightsVerdict::Load);
        assert_eq!(l.learner(), Some("learner@1"), "followed until weights of the new session load");
    }

    #[test]
    fn another_learner_is_followed_only_after_the_followed_one_fell_silent() {
        let t0 = Instant::now();
        let mut l = LearnerLink::new();
        assert!(!l.admits_ack("learner@1"), "no acknowledgement before a learner is known");
        assert_eq!(l.judge_weights(t0, "", 1), WeightsVerdict::Unnamed);
        assert_eq!(l.judge_weights(t0, "learner@1", 50), WeightsVerdict::Load);
        l.applied(t0, "learner@1", 50);
        assert!(l.admits_ack("learner@1"));
        assert!(!l.admits_ack("learner@2") && !l.admits_ack(""), "acknowledgements of other sessions are refused");
        let t1 = t0 + LearnerLink::SILENT / 2;
        assert_eq!(l.judge_weights(t1, "learner@2", 1), WeightsVerdict::OtherLearner, "the followed one is alive");
        assert_eq!(l.judge_weights(t1, "learner@1", 50), WeightsVerdict::Old, "it republishes");
        // A restarted learner: the old session falls silent, the new one starts its own sequence.
        let t2 = t1 + LearnerLink::SILENT;
        assert_eq!(l.judge_weights(t2, "learner@2", 1), WeightsVerdict::Load);
        l.applied(t2, "learner@2", 1);
        assert_eq!(l.learner(), Some("learner@2"));
        assert!(l.admits_ack("learner@2") && !l.admits_ack("learner@1"));
        assert_eq!(l.counts(), LinkCounts { acks_refused: 4, weights_refused: 2, learner_changes: 1 });
    }
}
