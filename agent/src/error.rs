//! Typed errors of the learner library. Every I/O error names the file; every shape error names what and where.

use std::path::PathBuf;
use thiserror::Error;

/// Why an agent operation failed.
#[derive(Debug, Error)]
pub enum AgentError {
    /// An I/O operation on a replay segment, checkpoint or weights file failed (disk full, permissions, …).
    /// Records flushed before the failure are still on disk.
    #[error("{op} {file}: {source}")]
    Io {
        /// What was being done (`open`, `append`, `flush`, `read`, `remove`, `write`, `rename`).
        op: &'static str,
        /// The file or directory.
        file: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A transition does not match the store's observation spec.
    #[error("transition does not match the observation spec: {field}: expected {expected}, got {got}")]
    SpecMismatch {
        /// Which field (`proprio`, `next_proprio`, `action`, `images[<camera>]`, …).
        field: String,
        /// Expected size.
        expected: usize,
        /// Size given.
        got: usize,
    },
    /// A record passed its checksum but could not be decoded (written by an incompatible version).
    #[error("{file} at byte {offset}: undecodable record: {reason}")]
    BadRecord {
        /// Segment file.
        file: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A buffer has no transition to sample from.
    #[error("cannot sample: the {buffer} buffer is empty")]
    EmptyBuffer {
        /// `online` or `demo`.
        buffer: &'static str,
    },
    /// A libtorch operation failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A safetensors payload (weights, checkpoint, pretrained encoder) is malformed or lacks a tensor.
    #[error("{source_name}: {reason}")]
    Weights {
        /// File path or `"<bytes>"` for in-memory weights.
        source_name: String,
        /// What is wrong (missing key, wrong shape, wrong dtype, parse error).
        reason: String,
    },
    /// Another process (or another open store in this one) writes this run directory: one writer at a time.
    #[error(
        "{dir}: the run directory is in use by {holder}; stop that process first, or give this one another \
         run directory (--run-dir)"
    )]
    Locked {
        /// The run directory (the replay store's parent).
        dir: PathBuf,
        /// Who holds it, as its lock file says (`pid 1234 (corrigo learner)`), or `another process`.
        holder: String,
    },
    /// A small state file of the run directory (the learner's acknowledgement marks) cannot be parsed.
    #[error("{file}: {reason}")]
    CorruptFile {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A configuration value cannot be used.
    #[error("config `{key}` = {value}: {reason}")]
    Config {
        /// Key path.
        key: String,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
}

impl From<interfaces::env::SpecMismatch> for AgentError {
    fn from(e: interfaces::env::SpecMismatch) -> Self {
        AgentError::SpecMismatch { field: e.field, expected: e.expected, got: e.got }
    }
}

/// Result alias.
pub type Result<T, E = AgentError> = std::result::Result<T, E>;

pub(crate) fn io_err(op: &'static str, file: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AgentError {
    let file = file.into();
    move |source| AgentError::Io { op, file, source }
}
