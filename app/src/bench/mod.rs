//! Benchmark programs behind `corrigo bench …`. Each prints its figures; none asserts on timing.

pub mod bus;
pub mod chaos;
pub mod fleet;
pub mod learning;
