//! The subcommands of `corrigo`, one module each; [`common`] holds the argument groups and helpers they share.

pub mod actor;
pub mod bc;
pub mod bench;
pub mod calibrate;
pub mod camera;
pub mod certs;
pub mod classifier;
pub mod common;
pub mod compare;
pub mod config;
pub mod controller;
pub mod dataset;
pub mod eval;
pub mod learner;
pub mod record;
pub mod report;
pub mod router;
pub mod run;
pub mod teleop;
pub mod ui;
