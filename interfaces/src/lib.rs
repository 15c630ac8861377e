//! # interfaces
//!
//! The vocabulary every corrigo crate shares, and nothing else: message types with their units and frames
//! ([`msg`]), the discrete gripper action ([`action`]), the environment contract (one observation, one action, the spec, the
//! `Env` trait: [`env`]), key expressions of the bus ([`keys`]), the time source ([`time`]), the percentile rule of every printed figure ([`stats`]), the traits that hardware backends
//! implement ([`drivers`]), and the cell configuration schema with its validation ([`config`]).
//!
//! This crate is pure: it performs no I/O (reading the config *file* is the caller's job; parsing and validating
//! its text happens here), so it can be used from the real-time control thread and from tests alike.
//!
//! Conventions used everywhere:
//! - SI units: metres, radians, seconds, newtons, newton-metres. Durations in messages are nanoseconds (`*_ns`).
//! - Poses are expressed in the robot's **base frame** unless a field says otherwise; orientations are unit
//!   quaternions stored `[w, x, y, z]`.
//! - Timestamps are nanoseconds of the host's monotonic clock (`CLOCK_MONOTONIC`), see [`time`].

pub mod action;
pub mod config;
pub mod drivers;
pub mod env;
pub mod keys;
pub mod msg;
pub mod msg_training;
pub mod stats;
pub mod time;

pub use config::{CellConfig, ConfigError};
pub use time::{Clock, MockClock, MonotonicClock, Stamp};
