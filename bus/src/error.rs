use thiserror::Error;

/// Errors of the bus, naming the key expression or endpoint involved.
#[derive(Debug, Error)]
pub enum BusError {
    /// The zenoh session could not be opened.
    #[error("cannot open the bus session (mode {mode}, listen {listen:?}, connect {connect:?}): {reason}")]
    Open {
        /// Session mode.
        mode: String,
        /// Listen endpoints.
        listen: Vec<String>,
        /// Connect endpoints.
        connect: Vec<String>,
        /// zenoh's error.
        reason: String,
    },
    /// A publisher, subscriber or token could not be declared.
    #[error("cannot declare {what} on `{key}`: {reason}")]
    Declare {
        /// Publisher, subscriber, liveliness token…
        what: &'static str,
        /// Key expression.
        key: String,
        /// zenoh's error.
        reason: String,
    },
    /// A message could not be sent.
    #[error("cannot publish on `{key}`: {reason}")]
    Publish {
        /// Key expression.
        key: String,
        /// Cause.
        reason: String,
    },
    /// A payload larger than its topic's limit ([`crate::qos`]) was not sent.
    #[error("refused to publish {size} bytes on `{key}`: the limit of this topic is {limit} bytes (bus::qos)")]
    Oversize {
        /// Key expression.
        key: String,
        /// Encoded payload size, bytes.
        size: usize,
        /// The topic's limit, bytes.
        limit: usize,
    },
    /// A message could not be encoded.
    #[error("cannot encode a {ty} for `{key}`: {reason}")]
    Encode {
        /// Message type.
        ty: &'static str,
        /// Key expression.
        key: String,
        /// Cause.
        reason: String,
    },
    /// A certificate, key or role registry of the secure profile could not be read, written or used.
    #[error("{path}: {reason}")]
    Security {
        /// The file or folder involved.
        path: String,
        /// Cause.
        reason: String,
    },
}
