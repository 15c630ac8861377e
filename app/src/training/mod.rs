//! Learning a task: the environment over the simulated cell, the scripted expert that records demonstrations,
//! and the actor/learner loops.

pub mod env;
pub mod eval;
pub mod expert;
pub mod sim_env;
pub mod trainer;
pub mod wire;
