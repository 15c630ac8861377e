//! `meta/stats.json`: per feature minimum, maximum, mean, standard deviation, count and quantiles.
//!
//! Numeric features: per dimension over every frame (exact; quantiles by the nearest-rank rule of
//! `interfaces::stats`). Camera features: per colour channel over every pixel of every frame, values scaled to
//! [0, 1] as LeRobot normalises images, shape `[3, 1, 1]`; quantiles from the exact 256-bin histogram of the 8-bit
//! samples.

use serde_json::{Map, Value, json};

/// The quantiles written, as `(key, q)`.
pub const QUANTILES: [(&str, f64); 5] = [("q01", 0.01), ("q10", 0.10), ("q50", 0.50), ("q90", 0.90), ("q99", 0.99)];

/// Statistics of one numeric feature (`dim` values per frame).
#[derive(Debug, Clone)]
pub struct NumericStats {
    dim: usize,
    values: Vec<Vec<f64>>,
}

impl NumericStats {
    /// Empty statistics of a feature with `dim` values per frame.
    pub fn new(dim: usize) -> Self {
        Self { dim, values: vec![Vec::new(); dim] }
    }

    /// Adds one frame's values (`dim` of them).
    pub fn push(&mut self, row: &[f64]) {
        for (d, v) in row.iter().take(self.dim).enumerate() {
            self.values[d].push(*v);
        }
    }

    /// The JSON object LeRobot reads (`min`, `max`, `mean`, `std` and the quantiles as arrays of `dim`, `count` as
    /// `[frames]`).
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        let mut per = |key: &str, f: &dyn Fn(&mut Vec<f64>) -> f64| {
            let v: Vec<f64> = self.values.iter().map(|col| f(&mut col.clone())).collect();
            out.insert(key.to_string(), json!(v));
        };
        per("min", &|c| c.iter().copied().fold(f64::INFINITY, f64::min));
        per("max", &|c| c.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        per("mean", &|c| mean(c));
        per("std", &|c| std(c));
        for (key, q) in QUANTILES {
            per(key, &|c| {
                c.sort_by(f64::total_cmp);
                nearest_rank(c, q)
            });
        }
        out.insert("count".into(), json!([self.values.first().map_or(0, Vec::len)]));
        Value::Object(out)
    }
}

fn mean(c: &[f64]) -> f64 {
    if c.is_empty() { 0.0 } else { c.iter().sum::<f64>() / c.len() as f64 }
}

fn std(c: &[f64]) -> f64 {
    if c.is_empty() {
        return 0.0;
    }
    let m = mean(c);
    (c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / c.len() as f64).sqrt()
}

/// Nearest-rank quantile of sorted `c`.
fn nearest_rank(c: &[f64], q: f64) -> f64 {
    if c.is_empty() {
        return 0.0;
    }
    let rank = ((q * c.len() as f64).ceil() as usize).clamp(1, c.len());
    c[rank - 1]
}

/// Statistics of one camera feature: a histogram per RGB channel.
#[derive(Debug, Clone)]
pub struct ImageStats {
    hist: [[u64; 256]; 3],
    frames: u64,
}

impl Default for ImageStats {
    fn default() -> Self {
        Self { hist: [[0; 256]; 3], frames: 0 }
    }
}

impl ImageStats {
    /// Adds one RGB frame (`h · w · 3` bytes).
    pub fn push(&mut self, rgb: &[u8]) {
        for px in rgb.chunks_exact(3) {
            self.hist[0][px[0] as usize] += 1;
            self.hist[1][px[1] as usize] += 1;
            self.hist[2][px[2] as usize] += 1;
        }
        self.frames += 1;
    }

    /// The JSON object LeRobot reads: every statistic as `[[[r]], [[g]], [[b]]]` (shape `[3, 1, 1]`), in [0, 1].
    pub fn to_json(&self) -> Value {
        let chan = |f: &dyn Fn(&[u64; 256]) -> f64| -> Value {
            json!(self.hist.iter().map(|h| vec![vec![f(h)]]).collect::<Vec<_>>())
        };
        let n = |h: &[u64; 256]| h.iter().sum::<u64>() as f64;
        let mean = |h: &[u64; 256]| {
            let s: f64 = h.iter().enumerate().map(|(v, &c)| v as f64 * c as f64).sum();
            if n(h) == 0.0 { 0.0 } else { s / n(h) / 255.0 }
        };
        let mut out = Map::new();
        out.insert("min".into(), chan(&|h| h.iter().position(|&c| c > 0).unwrap_or(0) as f64 / 255.0));
        out.insert("max".into(), chan(&|h| h.iter().rposition(|&c| c > 0).unwrap_or(0) as f64 / 255.0));
        out.insert("mean".into(), chan(&mean));
        out.insert(
            "std".into(),
            chan(&|h| {
                let m = mean(h) * 255.0;
                let v: f64 = h.iter().enumerate().map(|(x, &c)| (x as f64 - m).powi(2) * c as f64).sum();
                if n(h) == 0.0 { 0.0 } else { (v / n(h)).sqrt() / 255.0 }
            }),
        );
        for (key, q) in QUANTILES {
            out.insert(
                key.into(),
                chan(&|h| {
                    let rank = ((q * n(h)).ceil() as u64).max(1);
                    let mut acc = 0;
                    for (v, &c) in h.iter().enumerate() {
                        acc += c;
                        if acc >= rank {
                            return v as f64 / 255.0;
                        }
                    }
                    1.0
                }),
            );
        }
        out.insert("count".into(), json!([self.frames]));
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_stats_are_per_dimension() {
        let mut s = NumericStats::new(2);
        for i in 1..=100 {
            s.push(&[f64::from(i), -f64::from(i)]);
        }
        let j = s.to_json();
        assert_eq!(j["min"], json!([1.0, -100.0]));
        assert_eq!(j["max"], json!([100.0, -1.0]));
        assert_eq!(j["mean"], json!([50.5, -50.5]));
        assert_eq!(j["q50"], json!([50.0, -51.0]));
        assert_eq!(j["q99"], json!([99.0, -2.0]));
        assert_eq!(j["count"], json!([100]));
    }

    #[test]
    fn image_stats_are_per_channel_in_unit_range() {
        let mut s = ImageStats::default();
        s.push(&[0, 255, 51, 255, 255, 51]);
        let j = s.to_json();
        assert_eq!(j["min"], json!([[[0.0]], [[1.0]], [[0.2]]]));
        assert_eq!(j["max"], json!([[[1.0]], [[1.0]], [[0.2]]]));
        assert_eq!(j["mean"][0], json!([[0.5]]));
        assert_eq!(j["count"], json!([1]));
    }
}
