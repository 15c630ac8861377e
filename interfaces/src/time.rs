//! Time: monotonic nanosecond stamps and an injectable [`Clock`].
//!
//! Every message carries a [`Stamp`] taken from a [`Clock`]. Real nodes use [`MonotonicClock`]
//! (`CLOCK_MONOTONIC`, comparable between processes on the same host, not between hosts); the simulator and
//! closed-loop tests drive a [`MockClock`] so that runs are deterministic.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Nanoseconds of a monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Stamp(pub u64);

impl Stamp {
    /// Seconds since the clock's origin, as `f64`.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }
    /// Time elapsed from `earlier` to `self` in seconds; negative if `earlier` is later.
    pub fn secs_since(self, earlier: Stamp) -> f64 {
        (self.0 as i128 - earlier.0 as i128) as f64 * 1e-9
    }
    /// `self` plus a number of nanoseconds (saturating).
    pub fn plus_ns(self, ns: u64) -> Stamp {
        Stamp(self.0.saturating_add(ns))
    }
}

/// A source of monotonic time. Implementations must be cheap (called from the 1 kHz control loop) and never
/// go backwards.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Stamp;
}

/// The host's `CLOCK_MONOTONIC`. Real-time safe (a vDSO read, no allocation, no lock).
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now(&self) -> Stamp {
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        Stamp(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }
}

/// A clock that only moves when told to: the simulator advances it by one physics step at a time.
/// Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct MockClock {
    ns: Arc<AtomicU64>,
}

impl MockClock {
    /// A clock at `start`.
    pub fn new(start: Stamp) -> Self {
        Self { ns: Arc::new(AtomicU64::new(start.0)) }
    }
    /// Moves the clock forward by `ns` nanoseconds.
    pub fn advance_ns(&self, ns: u64) {
        self.ns.fetch_add(ns, Ordering::AcqRel);
    }
    /// Sets the clock to `t` if `t` is later than now (a clock never goes backwards).
    pub fn set(&self, t: Stamp) {
        self.ns.fetch_max(t.0, Ordering::AcqRel);
    }
}

impl Clock for MockClock {
    fn now(&self) -> Stamp {
        Stamp(self.ns.load(Ordering::Acquire))
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Stamp {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_clock_never_goes_backwards() {
        let c = MonotonicClock;
        let mut last = c.now();
        for _ in 0..10_000 {
            let t = c.now();
            assert!(t >= last);
            last = t;
        }
        assert!(last.0 > 0);
    }

    #[test]
    fn mock_clock_moves_only_when_told_and_clones_share_time() {
        let c = MockClock::new(Stamp(5));
        let c2 = c.clone();
        assert_eq!(c.now(), Stamp(5));
        c.advance_ns(1_000_000);
        assert_eq!(c2.now(), Stamp(1_000_005));
        c.set(Stamp(3));
        assert_eq!(c.now(), Stamp(1_000_005), "set never moves the clock backwards");
        assert!((Stamp(2_000_000_000).secs_since(Stamp(500_000_000)) - 1.5).abs() < 1e-12);
    }
}
