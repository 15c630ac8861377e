//! Typed errors of the dataset library: every one names the file, the column or the episode it is about.

use std::path::PathBuf;
use thiserror::Error;

/// Why an export or import failed.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// A file or directory operation failed (disk full, permissions, …).
    #[error("{op} {file}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        file: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A parquet table could not be read or written.
    #[error("{file}: parquet: {what}")]
    Parquet {
        /// The table.
        file: PathBuf,
        /// What went wrong.
        what: String,
    },
    /// A video could not be encoded or decoded.
    #[error("{file}: video: {what}")]
    Video {
        /// The video file.
        file: PathBuf,
        /// What went wrong.
        what: String,
    },
    /// A column of the dataset does not fit the cell (missing, wrong type, wrong shape).
    #[error("{file}: column `{column}`: {what}")]
    Column {
        /// The table.
        file: PathBuf,
        /// The column (feature) name.
        column: String,
        /// What does not fit.
        what: String,
    },
    /// `meta/info.json` or another metadata file is missing or malformed.
    #[error("{file}: {what}")]
    Meta {
        /// The metadata file.
        file: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A request that cannot be carried out (an empty selection, an existing output, a bad range).
    #[error("{0}")]
    Usage(String),
    /// The replay store failed.
    #[error(transparent)]
    Store(#[from] agent::AgentError),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, DatasetError>;

/// Maps an I/O error of `op` on `file`.
pub(crate) fn io_err(op: &'static str, file: &std::path::Path) -> impl FnOnce(std::io::Error) -> DatasetError {
    let file = file.to_path_buf();
    move |source| DatasetError::Io { op, file, source }
}

/// Maps a parquet/arrow error on `file`.
pub(crate) fn pq_err(file: &std::path::Path) -> impl FnOnce(parquet::errors::ParquetError) -> DatasetError {
    let file = file.to_path_buf();
    move |e| DatasetError::Parquet { file, what: e.to_string() }
}

/// Maps an arrow error on `file`.
pub(crate) fn arrow_err(file: &std::path::Path) -> impl FnOnce(arrow_schema::ArrowError) -> DatasetError {
    let file = file.to_path_buf();
    move |e| DatasetError::Parquet { file, what: e.to_string() }
}
