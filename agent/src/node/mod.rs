//! The learning loop's nodes on the bus: the actor ([`actor`]: runs the newest policy in any
//! [`interfaces::env::CellEnv`], streams transitions through the [`crate::delivery`] protocol, routes interventions
//! through `teleop`'s arbiter) and the learner ([`learner`]: stores, acknowledges, trains, publishes weights and
//! metrics, checkpoints), the recorder of human demonstrations ([`recorder`]), the command keys the actor and
//! the recorder listen to ([`commands`]), the transitions' bus messages ([`wire`]) and the run directory's JSON-lines logs ([`runlog`]) and TensorBoard event files ([`tboard`]).

pub mod acting_policy;
pub mod actor;
pub mod commands;
pub mod learner;
pub mod recorder;
pub mod runlog;
pub mod tboard;
pub mod wire;
