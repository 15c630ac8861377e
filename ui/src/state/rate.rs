use interfaces::Stamp;
use std::collections::VecDeque;

/// Arrival rate of a stream, measured over a sliding window of receipt stamps.
#[derive(Debug, Clone)]
pub struct RateMeter {
    window_ns: u64,
    arrivals: VecDeque<Stamp>,
}

impl Default for RateMeter {
    fn default() -> Self {
        Self::new(2.0)
    }
}

impl RateMeter {
    /// A meter averaging over the last `window_s` seconds.
    pub fn new(window_s: f64) -> Self {
        Self { window_ns: (window_s.max(0.01) * 1e9) as u64, arrivals: VecDeque::new() }
    }

    /// Records an arrival at `t` (stamps must not go backwards; older ones are ignored).
    pub fn record(&mut self, t: Stamp) {
        if self.arrivals.back().is_some_and(|last| t < *last) {
            return;
        }
        self.arrivals.push_back(t);
        while self.arrivals.front().is_some_and(|first| t.0.saturating_sub(first.0) > self.window_ns) {
            self.arrivals.pop_front();
        }
        // Bound memory for very fast streams: dropping the oldest keeps the retained arrivals contiguous, so the
        // estimate stays exact over a shorter span.
        if self.arrivals.len() > 8192 {
            self.arrivals.pop_front();
        }
    }

    /// Messages per second over the window, or `None` with fewer than two arrivals. Arrivals older than the
    /// window at `now` are not counted, so a stream that stopped reads `None`, not its old rate.
    pub fn hz(&self, now: Stamp) -> Option<f64> {
        let recent: Vec<&Stamp> =
            self.arrivals.iter().filter(|t| now.0.saturating_sub(t.0) <= self.window_ns).collect();
        let (first, last) = (recent.first()?, recent.last()?);
        let span = last.secs_since(**first);
        (recent.len() >= 2 && span > 0.0).then(|| (recent.len() - 1) as f64 / span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Stamp {
        Stamp(v * 1_000_000)
    }

    #[test]
    fn rate_of_a_steady_stream() {
        let mut m = RateMeter::new(1.0);
        for i in 0..=30 {
            m.record(ms(i * 33));
        }
        let hz = m.hz(ms(990)).expect("rate");
        assert!((hz - 30.3).abs() < 0.5, "{hz}");
    }

    #[test]
    fn a_stopped_stream_has_no_rate() {
        let mut m = RateMeter::new(1.0);
        m.record(ms(0));
        m.record(ms(100));
        assert!(m.hz(ms(150)).is_some());
        assert!(m.hz(ms(5000)).is_none());
    }
}
