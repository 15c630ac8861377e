//! The CPU training path of the state-based learner: the critic ensemble and the actor trained without autograd,
//! with hand-written backward passes, one fused kernel per layer activation (bias + LayerNorm + SiLU and its
//! gradient) and a fused Adam + soft-target-update pass. libtorch still does every matrix product (MKL sgemm).
//!
//! Why: on the CPU, a state-based SAC update is a few hundred small ops on `[E, 256, 256]` activations; under
//! autograd each activation takes five to eight passes over memory forward and backward plus an allocation each,
//! and Adam another eight passes over the parameters. Here each is one pass. The learner uses this path on the
//! CPU when there are no cameras (`Learner::uses_fused_cpu_path`); images (convolutions) and CUDA use autograd.
//! The test `fused_cpu_path_matches_autograd` checks both give the same update.
//!
//! The kernels run on the calling thread; the matrix products use libtorch's intra-op threads. corrigo's learner
//! nodes give a state-based learner one intra-op thread (small networks: a thread team costs more at every
//! barrier than it saves).

mod host;
pub(crate) mod kernels;
mod stacked;

pub(crate) use host::with_host;
pub(crate) use stacked::StackedLayer;
pub use stacked::{StackedMlp, Tape};

/// Largest difference between two tensors relative to the largest magnitude of `want` (the fused path's tests).
#[cfg(test)]
pub(crate) fn rel_err(got: &tch::Tensor, want: &tch::Tensor) -> f64 {
    let scale = want.abs().max().double_value(&[]).max(1e-12);
    (got - want).abs().max().double_value(&[]) / scale
}
