//! Periodic wake-ups with sleep-then-spin timing on `CLOCK_MONOTONIC`.

use interfaces::{Clock, MonotonicClock};

/// Wakes at `t₀ + k·period`: sleeps (absolute `clock_nanosleep`) until `spin` before the deadline, then spins
/// on the clock until the deadline. A cycle that starts more than one period late re-synchronises the schedule
/// to now (cycles are skipped, not bunched). Real-time safe: no allocation, no lock.
#[derive(Debug, Clone)]
pub struct PeriodicTimer {
    clock: MonotonicClock,
    period_ns: u64,
    spin_ns: u64,
    next_ns: u64,
}

/// Default spin window before each deadline, ns.
pub const DEFAULT_SPIN_NS: u64 = 50_000;

impl PeriodicTimer {
    /// A timer of `period_ns`; the first deadline is one period from now.
    pub fn new(period_ns: u64, spin_ns: u64) -> Self {
        let clock = MonotonicClock;
        let now = clock.now().0;
        Self { clock, period_ns, spin_ns: spin_ns.min(period_ns), next_ns: now + period_ns }
    }

    /// Waits for the next deadline and returns how late the wake-up was, ns (≥ 0).
    pub fn wait(&mut self) -> u64 {
        let deadline = self.next_ns;
        let sleep_until = deadline.saturating_sub(self.spin_ns);
        if self.clock.now().0 < sleep_until {
            let ts = rustix::time::Timespec {
                tv_sec: (sleep_until / 1_000_000_000) as i64,
                tv_nsec: (sleep_until % 1_000_000_000) as i64,
            };
            // An interrupted sleep only shortens the sleep; the spin below still reaches the deadline.
            let _ = rustix::thread::clock_nanosleep_absolute(rustix::thread::ClockId::Monotonic, &ts);
        }
        let mut now = self.clock.now().0;
        while now < deadline {
            std::hint::spin_loop();
            now = self.clock.now().0;
        }
        let late = now - deadline;
        self.next_ns = deadline + self.period_ns;
        if now > self.next_ns {
            self.next_ns = now + self.period_ns;
        }
        late
    }
}
