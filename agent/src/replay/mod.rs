//! The replay store: transitions on disk in append-only, checksummed segment files and in memory in columns,
//! with RLPD's 50/50 demo/online batches.
//!
//! Layout: `<dir>/online/seg-NNNNNNNNNN.log`, `<dir>/demo/seg-NNNNNNNNNN.log`; record framing in [`framing`],
//! record payload in `record.rs`. Each segment is self-contained (its first record carries its obs frames).

mod buffer;
pub mod framing;
mod host_tensor;
pub(crate) mod lock;
mod record;
mod sampler;
mod segment;
mod store;
mod transition;

pub use buffer::Recovery;
pub use sampler::{Batch, BatchSampler, Source};
pub use store::{ReplayStore, StoreOptions, StoreRecovery};
pub use transition::{Action, GripperAction, Observation, Transition};
