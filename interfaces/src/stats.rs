//! The one statistics helper of every benchmark and every figure corrigo prints: percentiles by the nearest-rank
//! rule, so "p99" means the same in `corrigo bench controller`, `bench bus`, `bench learner` and the drivers'
//! probes.
//!
//! **Rule (nearest rank):** the `q`-quantile of `n` sorted values is the value at rank `⌈q·n⌉` (1-based, at least
//! 1): the smallest value with at least a fraction `q` of the sample at or below it. The median of an even count
//! is the lower middle value; p99 of 1 000 values is the 990th.

/// Percentiles of a sample, in the sample's unit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Percentiles {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// Percentiles of `v` (sorted in place); all zero for an empty sample.
    pub fn of(v: &mut [f64]) -> Self {
        if v.is_empty() {
            return Self::default();
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| quantile_sorted(v, p).unwrap_or_default();
        Self { count: v.len(), p50: q(0.5), p99: q(0.99), p999: q(0.999), max: v[v.len() - 1] }
    }
}

/// The `q`-quantile (`0 ≤ q ≤ 1`) of sorted values by the nearest-rank rule; `None` for no values.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // The small offset keeps products such as 0.99 × 1000 = 990.0000000000001 at rank 990.
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The `q`-quantile of `v` (sorted in place) by the nearest-rank rule; `None` for no values.
pub fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    quantile_sorted(v, q)
}

/// The median (nearest rank: the lower middle value of an even count) of `v`, sorted in place.
pub fn median(v: &mut [f64]) -> Option<f64> {
    quantile(v, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=1000).rev().map(f64::from).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!((p.count, p.p50, p.p99, p.p999, p.max), (1000, 500.0, 990.0, 999.0, 1000.0));
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
        assert_eq!(quantile_sorted(&[3.0], 0.999), Some(3.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_lower_middle_and_quantiles_are_sample_values() {
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
        let mut v = [0.3, 0.1, 0.2];
        assert_eq!((quantile(&mut v, 0.0), quantile(&mut v, 1.0)), (Some(0.1), Some(0.3)));
    }
}
