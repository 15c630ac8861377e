//! Nodes wired by the app: each connects a library component to the bus.

pub mod controller_bridge;
pub mod env;
pub mod pacer;
pub mod sim_scene;
