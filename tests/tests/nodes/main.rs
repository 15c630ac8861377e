//! Nodes over the bus and as processes: one test binary (one link) for every test that wires several crates.

mod actor_learner;
mod bus_env;
mod classifier;
mod controller_node;
mod faults;
mod fleet;
mod hostile_controller;
mod hostile_delivery;
mod hostile_env;
mod interventions;
mod netns;
mod record_teleop;
mod replay_view;
mod routing;
mod runlogs;
mod start_from;
