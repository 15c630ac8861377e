//! The `corrigo` binary's building blocks: config-file loading, node wiring and the benchmark programs.
//! The binary itself (`src/main.rs`) only parses the command line and dispatches here.

pub mod bench;
pub mod bus_env;
pub mod calibrate;
pub mod config_file;
pub mod exit;
pub mod nodes;
pub mod replay_source;
pub mod report;
pub mod run_controller;
pub mod run_scripted;
pub mod run_training;
