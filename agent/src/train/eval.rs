//! Evaluation: success rate of the deterministic policy over a number of episodes, with its 95% confidence
//! interval (Wilson score interval, which stays inside [0, 1] and is honest for small samples).

use crate::sac::Policy;
use anyhow::Result;
use interfaces::env::Env;

/// A success rate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SuccessRate {
    /// Successes.
    pub successes: u64,
    /// Episodes.
    pub episodes: u64,
    /// Lower bound of the 95% interval.
    pub lo: f64,
    /// Upper bound of the 95% interval.
    pub hi: f64,
}

impl SuccessRate {
    /// From counts.
    pub fn new(successes: u64, episodes: u64) -> Self {
        let (lo, hi) = wilson_95(successes, episodes);
        Self { successes, episodes, lo, hi }
    }
    /// Point estimate (0 when there are no episodes).
    pub fn rate(&self) -> f64 {
        if self.episodes == 0 { 0.0 } else { self.successes as f64 / self.episodes as f64 }
    }
}

impl std::fmt::Display for SuccessRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0}% [{:.0}–{:.0}%] ({}/{})",
            100.0 * self.rate(),
            100.0 * self.lo,
            100.0 * self.hi,
            self.successes,
            self.episodes
        )
    }
}

/// Wilson score interval at 95% for `k` successes in `n` trials; `(0, 1)` when `n = 0`.
pub fn wilson_95(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n) + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Runs `episodes` evaluation episodes with the deterministic policy; returns the success rate and mean return.
pub fn evaluate(env: &mut dyn Env, policy: &mut Policy, episodes: u64) -> Result<(SuccessRate, f64)> {
    let mut successes = 0;
    let mut total = 0.0;
    for _ in 0..episodes {
        let (mut obs, _) = env.reset()?;
        loop {
            let a = policy.act(&obs, true)?;
            let s = env.step(&a)?;
            total += f64::from(s.reward);
            obs = s.obs;
            if s.done || s.truncated {
                successes += u64::from(s.success);
                break;
            }
        }
    }
    Ok((SuccessRate::new(successes, episodes), total / episodes.max(1) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_matches_known_values() {
        // 9 of 10: the textbook Wilson 95% interval is [0.596, 0.982].
        let (lo, hi) = wilson_95(9, 10);
        assert!((lo - 0.5958).abs() < 1e-3 && (hi - 0.9821).abs() < 1e-3, "{lo} {hi}");
        let (lo, hi) = wilson_95(0, 20);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.1611).abs() < 1e-3, "{hi}");
        assert_eq!(wilson_95(0, 0), (0.0, 1.0));
        assert_eq!(SuccessRate::new(9, 10).to_string(), "90% [60–98%] (9/10)");
    }
}
