//! Fixed-rate pacing for the nodes' non-real-time loops.

use std::time::{Duration, Instant};

/// Sleeps until the next tick of a fixed period. A loop that falls behind starts again from now instead of
/// running a burst of late ticks.
#[derive(Debug)]
pub struct Pacer {
    period: Duration,
    next: Instant,
}

impl Pacer {
    /// Ticks every `period`, the first one a period from now.
    pub fn new(period: Duration) -> Self {
        Self { period, next: Instant::now() }
    }

    /// Waits for the next tick.
    pub fn wait(&mut self) {
        self.next += self.period;
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        } else {
            self.next = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_at_the_period_and_does_not_burst_after_a_stall() {
        let mut p = Pacer::new(Duration::from_millis(5));
        let t0 = Instant::now();
        for _ in 0..4 {
            p.wait();
        }
        assert!(t0.elapsed() >= Duration::from_millis(20), "{:?}", t0.elapsed());
        std::thread::sleep(Duration::from_millis(30)); // a stall: several ticks missed
        p.wait(); // late: returns at once and restarts from now
        let t1 = Instant::now();
        p.wait();
        assert!(t1.elapsed() >= Duration::from_millis(4), "the next tick is a full period later: {:?}", t1.elapsed());
    }
}
