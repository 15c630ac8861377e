//! The learner's random numbers, drawn on the host from a seeded ChaCha8 stream so that a checkpoint can store the
//! exact state (libtorch's generators are not saved): initial weights, policy noise, REDQ subsets, DrQ shifts.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

/// A seeded, checkpointable random stream.
#[derive(Debug, Clone)]
pub struct Rng {
    inner: ChaCha8Rng,
}

impl Rng {
    /// A stream from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { inner: ChaCha8Rng::seed_from_u64(seed) }
    }
    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        self.inner.random::<f64>()
    }
    /// Uniform integer in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.inner.random_range(0..n)
    }
    /// `k` distinct indices from `0..n`, in increasing order (REDQ subset).
    pub fn subset(&mut self, n: usize, k: usize) -> Vec<i64> {
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..k.min(n) {
            let j = i + self.below(n - i);
            idx.swap(i, j);
        }
        let mut s: Vec<i64> = idx[..k.min(n)].iter().map(|&i| i as i64).collect();
        s.sort_unstable();
        s
    }
    /// A `shape` tensor of standard normal values (Box–Muller) on `device`.
    pub fn normal(&mut self, shape: &[i64], device: Device) -> Tensor {
        let n: i64 = shape.iter().product();
        let mut v = Vec::with_capacity(n as usize);
        while v.len() < n as usize {
            let u1 = 1.0 - self.uniform(); // (0, 1]
            let u2 = self.uniform();
            let r = (-2.0 * u1.ln()).sqrt();
            let th = std::f64::consts::TAU * u2;
            v.push((r * th.cos()) as f32);
            v.push((r * th.sin()) as f32);
        }
        v.truncate(n as usize);
        Tensor::from_slice(&v).reshape(shape).to_device(device)
    }
    /// `n` integers uniform in `0..=hi` as an i64 tensor on `device`.
    pub fn ints(&mut self, n: usize, hi: i64, device: Device) -> Tensor {
        let v: Vec<i64> = (0..n).map(|_| self.inner.random_range(0..=hi)).collect();
        Tensor::from_slice(&v).to_device(device)
    }
    /// State for checkpoints: seed and word position.
    pub fn state(&self) -> ([u8; 32], u128) {
        (self.inner.get_seed(), self.inner.get_word_pos())
    }
    /// Restores [`Rng::state`].
    pub fn set_state(&mut self, seed: [u8; 32], word_pos: u128) {
        self.inner = ChaCha8Rng::from_seed(seed);
        self.inner.set_word_pos(word_pos);
    }
}
