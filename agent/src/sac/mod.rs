//! SAC with RLPD: losses, the learner (critic ensemble, actor, temperature, gripper critic), checkpoints, and
//! the acting policy.

pub mod base;
pub mod checkpoint;
pub mod critic;
pub mod diagnostics;
mod fused_step;
mod learner;
pub mod losses;
pub mod model;
pub mod offline;
pub(crate) mod policy;
pub(crate) mod prior;

pub use learner::{DRQ_PAD, GRIPPER_MARGIN, Learner, UpdateMetrics};
pub use policy::Policy;
