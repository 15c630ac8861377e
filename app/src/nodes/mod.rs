//! Nodes wired by the app: each connects a library component to the bus.

pub mod actor_node;
pub mod camera_publisher;
pub mod controller_bridge;
pub mod learner_node;
pub mod pacer;
pub mod sim_scene;
