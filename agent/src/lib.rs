//! # agent
//!
//! corrigo's learner library: the replay store ([`replay`]), networks on libtorch ([`nn`]), SAC with RLPD and the
//! discrete gripper critic ([`sac`]; with an MSE or HL-Gauss critic, [`sac::critic`], offline pretraining and WSRL,
//! [`sac::offline`], residual RL on a frozen base policy, [`sac::base`]), behaviour cloning ([`bc`]), the reward classifier ([`classifier`]), the actor
//! and learner nodes with their delivery protocol ([`node`], [`delivery`]), training in one process ([`train`]) and
//! the learner benchmark (`bench`, behind the `bench` feature). `anyhow` is used only by the node and training loops,
//! whose errors end a program; the library parts return [`AgentError`].
//!
//! Conventions: tensors are f32 unless noted; images are uint8 `[B, H, W, 3]` (RGB, HWC) in storage and float
//! `[B, 3, H, W]` in `[0, 1]` inside the networks; continuous actions are in `[-1, 1]`; the device is chosen by the
//! caller (normally [`default_device`]), and everything a model owns lives on that one device and one thread.
//! Building a learner, policy, BC trainer or classifier sets the process's C allocator to keep freed tensor
//! memory for reuse ([`alloc`]): a learner's working set is not faulted in from the kernel again every cycle.
//! A state-based learner on the CPU trains through the fused CPU path ([`nn::fused`]: hand-written backward
//! passes, one kernel per layer activation, fused Adam); image-based learners and CUDA use libtorch's autograd.

pub mod alloc;
pub mod bc;
#[cfg(feature = "bench")]
pub mod bench;
pub mod classifier;
pub mod delivery;
pub mod disk;
pub mod error;
pub mod features;
pub mod nn;
pub mod node;
pub mod replay;
pub mod sac;
pub mod spec;
pub mod train;

pub use error::{AgentError, Result};
pub use spec::{CameraSpec, ObsSpec};

/// CUDA device 0 when libtorch sees a GPU, else the CPU.
pub fn default_device() -> tch::Device {
    tch::Device::cuda_if_available()
}
