//! # controller
//!
//! The arm side of corrigo: the rigid-body [`model`] built from the cell config, the Cartesian impedance [`law`],
//! the safety [`envelope`] (decorators around any [`interfaces::drivers::ArmDriver`]), the synchronous
//! [`core::ControllerCore`] and the real-time loop in [`rt`] with its non-RT [`rt::ControllerHandle`], the
//! [`gripper`] command shaping, the `bench` figures (behind the `bench` feature), and the real-arm [`drivers`].
//!
//! Units are SI; poses and twists are in the robot's base frame; joint vectors are fixed
//! [`interfaces::drivers::JointVec`] arrays. What runs in the 1 kHz loop never allocates.

#[cfg(feature = "bench")]
pub mod bench;
pub mod core;
pub mod drivers;
pub mod envelope;
pub mod gripper;
pub mod law;
pub mod model;
pub mod rt;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

// A counting global allocator for this crate's unit tests: an `unsafe impl` that only forwards to the system
// allocator (the one `unsafe` outside the FFI edges, test builds only).
#[cfg(test)]
#[allow(unsafe_code)]
mod no_alloc_tests;
