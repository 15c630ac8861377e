//! The stamp check of pose targets that arrive from outside the process (the bus).
//!
//! A target's `header.stamp_ns` is when it was decided, on the publishing host's `CLOCK_MONOTONIC`; the actor that
//! sends targets runs on the controller's host (docs/messages.md: stamps are comparable on one host only). A
//! target is taken only when its stamp is
//!
//! ```text
//! stamp ≠ 0                                    (0 = "no stamp": of unknown age)
//! stamp ≤ now + TARGET_FUTURE_TOLERANCE_NS     (not from the future: a forged or garbage stamp)
//! now − stamp ≤ TARGET_MAX_AGE_NS              (not a replay of an old target)
//! stamp > newest accepted stamp                (not older than, nor a repeat of, what the arm already follows)
//! ```
//!
//! so a message stamped `u64::MAX` is refused instead of pinning every later target out, and a stale or replayed
//! target never moves the arm. Refusals are counted.

use interfaces::Stamp;
use thiserror::Error;

/// How far in the future (of the controller host's monotonic clock) a target's stamp may be, ns (20 ms).
pub const TARGET_FUTURE_TOLERANCE_NS: u64 = 20_000_000;
/// The oldest a target may be when it is taken, ns (1 s; the command watchdog holds the pose well before).
pub const TARGET_MAX_AGE_NS: u64 = 1_000_000_000;

/// Why a pose target's stamp was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StampError {
    /// Stamp 0: the publisher gave no stamp.
    #[error("pose target has no stamp (stamp_ns = 0)")]
    Missing,
    /// Later than now plus the tolerance.
    #[error("pose target stamped {stamp_ns} ns is {ahead_ns} ns in the future (tolerance {tolerance_ns} ns)")]
    Future {
        /// The target's stamp, ns.
        stamp_ns: u64,
        /// How far ahead of now, ns.
        ahead_ns: u64,
        /// [`TARGET_FUTURE_TOLERANCE_NS`].
        tolerance_ns: u64,
    },
    /// Older than [`TARGET_MAX_AGE_NS`].
    #[error("pose target stamped {stamp_ns} ns is {age_ns} ns old (at most {max_age_ns} ns)")]
    TooOld {
        /// The target's stamp, ns.
        stamp_ns: u64,
        /// Its age, ns.
        age_ns: u64,
        /// [`TARGET_MAX_AGE_NS`].
        max_age_ns: u64,
    },
    /// Not newer than the newest target taken.
    #[error("pose target stamped {stamp_ns} ns is not newer than the newest one taken ({newest_ns} ns)")]
    NotNewer {
        /// The target's stamp, ns.
        stamp_ns: u64,
        /// The newest accepted stamp, ns.
        newest_ns: u64,
    },
}

/// The newest accepted stamp and the count of refusals (see the module's rules). Plain data, no clock: the caller
/// gives the time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetStamps {
    newest: Option<Stamp>,
    refused: u64,
}

impl TargetStamps {
    /// No target taken yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks `stamp` at `now` (the host's monotonic clock) and, when it passes, records it as the newest; a
    /// refusal changes nothing but the count.
    pub fn accept(&mut self, stamp: Stamp, now: Stamp) -> Result<(), StampError> {
        let r = self.check(stamp, now);
        match r {
            Ok(()) => self.newest = Some(stamp),
            Err(_) => self.refused = self.refused.saturating_add(1),
        }
        r
    }

    fn check(&self, stamp: Stamp, now: Stamp) -> Result<(), StampError> {
        if stamp.0 == 0 {
            return Err(StampError::Missing);
        }
        if stamp.0 > now.0.saturating_add(TARGET_FUTURE_TOLERANCE_NS) {
            return Err(StampError::Future {
                stamp_ns: stamp.0,
                ahead_ns: stamp.0 - now.0,
                tolerance_ns: TARGET_FUTURE_TOLERANCE_NS,
            });
        }
        let age_ns = now.0.saturating_sub(stamp.0);
        if age_ns > TARGET_MAX_AGE_NS {
            return Err(StampError::TooOld { stamp_ns: stamp.0, age_ns, max_age_ns: TARGET_MAX_AGE_NS });
        }
        match self.newest {
            Some(n) if stamp <= n => Err(StampError::NotNewer { stamp_ns: stamp.0, newest_ns: n.0 }),
            _ => Ok(()),
        }
    }

    /// Stamps refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// The newest accepted stamp.
    pub fn newest(&self) -> Option<Stamp> {
        self.newest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn stale_future_zero_and_repeated_target_stamps_are_refused_and_counted() {
        let now = Stamp(100 * S);
        let mut g = TargetStamps::new();
        assert_eq!(g.accept(Stamp(0), now), Err(StampError::Missing));
        assert!(matches!(g.accept(Stamp(u64::MAX), now), Err(StampError::Future { .. })));
        assert!(matches!(g.accept(Stamp(now.0 + TARGET_FUTURE_TOLERANCE_NS + 1), now), Err(StampError::Future { .. })));
        assert!(matches!(g.accept(Stamp(now.0 - TARGET_MAX_AGE_NS - 1), now), Err(StampError::TooOld { .. })));
        assert_eq!(g.newest(), None, "nothing refused is recorded");
        // A little ahead (clock read before the bridge's) is fine.
        g.accept(Stamp(now.0 + TARGET_FUTURE_TOLERANCE_NS / 2), now).expect("within the tolerance");
        let newest = g.newest().expect("recorded");
        assert!(matches!(g.accept(newest, now), Err(StampError::NotNewer { .. })), "a repeat");
        assert!(matches!(g.accept(Stamp(now.0 - 1), now), Err(StampError::NotNewer { .. })), "older than the newest");
        let later = Stamp(now.0 + S / 10);
        g.accept(Stamp(later.0 - 5), later).expect("a newer target");
        assert_eq!(g.refused(), 6);
    }

    #[test]
    fn a_hostile_max_stamp_does_not_pin_later_targets_out() {
        let mut g = TargetStamps::new();
        let now = Stamp(10 * S);
        assert!(g.accept(Stamp(u64::MAX), now).is_err());
        g.accept(Stamp(now.0 - 1), now).expect("the legitimate target still passes");
    }
}
