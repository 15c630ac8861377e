//! Exit codes of `corrigo`, so scripts and supervisors can tell failures apart.

/// Success.
pub const OK: i32 = 0;
/// A runtime failure (a node failed, a device fault, I/O).
pub const FAILURE: i32 = 1;
/// Bad command line (clap's own code).
pub const USAGE: i32 = 2;
/// The config file is missing, unreadable or invalid.
pub const CONFIG: i32 = 3;
/// The bus could not be opened (endpoint in use, bad address).
pub const BUS: i32 = 4;
/// Stopped by an e-stop or a safety fault.
pub const SAFETY_STOP: i32 = 5;
