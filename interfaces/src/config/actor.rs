//! `[actor]` section: how an actor keeps and resends what the learner has not acknowledged yet.

use super::validate::Validator;
use serde::{Deserialize, Serialize};

/// `[actor]` section.
///
/// The actor writes every transition to an append-only *spool* in its run directory before sending it, and
/// deletes it only once the learner has acknowledged it; RAM holds an index only. While the learner is away the
/// spool grows, up to `spool_mib`; a full spool pauses acting (the panel and the log say so) until
/// acknowledgements free space: nothing is ever dropped. Resending is paced: at most `resend_window` transitions
/// (and 16 MiB) are in flight unacknowledged; when no acknowledgement comes for `resend_after_ms`, the oldest
/// unacknowledged ones are sent again, and the wait doubles after each round without one, up to `resend_max_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActorConfig {
    /// Most disk space the spool takes, MiB. An image cell (two 128×128 cameras) writes ~0.18 MiB per
    /// transition: 2048 MiB hold ~19 minutes of acting at 10 Hz without a learner.
    pub spool_mib: u64,
    /// Wait without an acknowledgement before resending, ms.
    pub resend_after_ms: u64,
    /// Longest wait between resend rounds while no acknowledgement comes (backoff cap), ms.
    pub resend_max_ms: u64,
    /// Most transitions sent and not yet acknowledged.
    pub resend_window: u64,
}

impl Default for ActorConfig {
    fn default() -> Self {
        Self { spool_mib: 2048, resend_after_ms: 2000, resend_max_ms: 30_000, resend_window: 1024 }
    }
}

impl ActorConfig {
    pub(crate) fn validate(&self, v: &mut Validator) {
        v.range_u64("actor.spool_mib", self.spool_mib, 16, 1 << 24, "MiB");
        v.range_u64("actor.resend_after_ms", self.resend_after_ms, 100, 600_000, "ms");
        v.range_u64(
            "actor.resend_max_ms",
            self.resend_max_ms,
            self.resend_after_ms.clamp(100, 600_000),
            3_600_000,
            "ms, at least actor.resend_after_ms",
        );
        v.range_u64("actor.resend_window", self.resend_window, 1, 1_000_000, "transitions");
    }
}
