//! What an observation and an action look like: the spec of the environment contract, re-exported from
//! [`interfaces::env`] (one definition for every crate).

pub use interfaces::env::{CameraSpec, ObsSpec, SpecMismatch};
