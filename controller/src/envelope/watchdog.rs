//! Command watchdog.

use interfaces::Stamp;

/// Trips when no new target arrived for longer than the period:
///
/// ```text
/// stale ⇔ now − t_last_target > watchdog_ms
/// ```
///
/// The controller then holds the TCP pose measured at the trip until a new target arrives. Time is the
/// controller's clock (the sim's mock clock in simulation). Real-time safe.
#[derive(Debug, Clone)]
pub struct Watchdog {
    period_ns: u64,
    last: Option<Stamp>,
    trips: u64,
}

impl Watchdog {
    /// A watchdog of `period_ms` milliseconds; not armed until the first target.
    pub fn new(period_ms: f64) -> Self {
        Self { period_ns: (period_ms * 1e6).max(0.0) as u64, last: None, trips: 0 }
    }
    /// A target arrived at `now`.
    pub fn feed(&mut self, now: Stamp) {
        self.last = Some(now);
    }
    /// Disarms (after a trip or a reset) until the next target.
    pub fn disarm(&mut self) {
        self.last = None;
    }
    /// True (and counted, then disarmed) when the last target is older than the period at `now`.
    pub fn check(&mut self, now: Stamp) -> bool {
        match self.last {
            Some(t) if now.0.saturating_sub(t.0) > self.period_ns => {
                self.trips += 1;
                self.last = None;
                true
            }
            _ => false,
        }
    }
    /// Trips so far.
    pub fn trips(&self) -> u64 {
        self.trips
    }
}
