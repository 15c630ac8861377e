//! Range checks that collect every problem with its key path, value and allowed range.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One invalid value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Key path, e.g. `controller.gains.translational_stiffness[2]`.
    pub key: String,
    /// The offending value as written.
    pub value: String,
    /// What is allowed, e.g. `0 ≤ value ≤ 5000 (N/m)`.
    pub allowed: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key `{}` = {} is not allowed; allowed: {}", self.key, self.value, self.allowed)
    }
}

/// Collects [`Problem`]s.
#[derive(Debug, Default)]
pub struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    /// Records a problem.
    pub fn push(&mut self, key: &str, value: String, allowed: &str) {
        self.problems.push(Problem { key: key.to_string(), value, allowed: allowed.to_string() });
    }
    /// Checks `lo ≤ value ≤ hi` (and finiteness).
    pub fn range(&mut self, key: &str, value: f64, lo: f64, hi: f64, unit: &str) {
        if !(value.is_finite() && value >= lo && value <= hi) {
            self.push(key, format!("{value}"), &format!("{lo} ≤ value ≤ {hi} ({unit})"));
        }
    }
    /// Checks each element of a slice against `lo ≤ value ≤ hi`.
    pub fn range_each(&mut self, key: &str, values: &[f64], lo: f64, hi: f64, unit: &str) {
        for (i, &x) in values.iter().enumerate() {
            self.range(&format!("{key}[{i}]"), x, lo, hi, unit);
        }
    }
    /// Checks `lo ≤ value ≤ hi` for integers.
    pub fn range_u64(&mut self, key: &str, value: u64, lo: u64, hi: u64, unit: &str) {
        if !(lo..=hi).contains(&value) {
            self.push(key, format!("{value}"), &format!("{lo} ≤ value ≤ {hi} ({unit})"));
        }
    }
    /// True when no problem was recorded.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
    /// The problems found.
    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }
}
