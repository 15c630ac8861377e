//! Learning a task: the environments (over the simulated cell in process, or over the bus for a cell whose
//! controller and cameras are other nodes), the scripted expert that records demonstrations, and the
//! actor/learner loops.

pub mod bus_env;
pub mod classifier;
pub mod env;
pub mod eval;
pub mod expert;
pub mod sim_env;
pub mod trainer;
pub mod wire;
