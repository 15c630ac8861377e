//! Wire encoding: a CBOR (RFC 8949) map `{"schema": u16, "type": text, "msg": {...}}`.
//!
//! `msg` holds the message's fields by name, as documented in `docs/messages.md`; byte buffers (frame pixels)
//! are CBOR byte strings, enums are text (unit variants) or single-key maps (variants with data). Any CBOR library
//! decodes it, e.g. Python's `cbor2.loads(payload)`.

use interfaces::msg::{Message, SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    schema: u16,
    #[serde(rename = "type")]
    ty: &'static str,
    msg: &'a T,
}

#[derive(Deserialize)]
struct EnvelopeIn<T> {
    schema: u16,
    #[serde(rename = "type")]
    ty: String,
    msg: T,
}

#[derive(Deserialize)]
struct EnvelopeHead {
    schema: u16,
    #[serde(rename = "type")]
    ty: String,
}

/// Why a payload was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Not CBOR, or fields missing / of the wrong type.
    #[error("malformed payload ({len} bytes): {reason}")]
    Malformed {
        /// Payload size.
        len: usize,
        /// Decoder's message.
        reason: String,
    },
    /// A schema version this build does not speak.
    #[error("schema version {got}, expected {expected}")]
    Schema {
        /// Version in the payload.
        got: u16,
        /// Version of this build.
        expected: u16,
    },
    /// A different message type than the topic carries.
    #[error("message type `{got}`, expected `{expected}`")]
    WrongType {
        /// Type in the payload.
        got: String,
        /// Type the subscriber wants.
        expected: &'static str,
    },
}

/// Encodes a message into its envelope.
pub fn encode<T: Message>(msg: &T) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(256);
    ciborium::into_writer(&EnvelopeOut { schema: SCHEMA_VERSION, ty: T::TYPE, msg }, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decodes a payload; never panics on any input.
pub fn decode<T: Message>(bytes: &[u8]) -> Result<T, DecodeError> {
    match ciborium::from_reader::<EnvelopeIn<T>, _>(bytes) {
        Ok(env) => {
            if env.schema != SCHEMA_VERSION {
                return Err(DecodeError::Schema { got: env.schema, expected: SCHEMA_VERSION });
            }
            if env.ty != T::TYPE {
                return Err(DecodeError::WrongType { got: env.ty, expected: T::TYPE });
            }
            Ok(env.msg)
        }
        Err(e) => {
            // Report a version or type mismatch rather than a confusing field error when the head is readable.
            if let Ok(head) = ciborium::from_reader::<EnvelopeHead, _>(bytes) {
                if head.schema != SCHEMA_VERSION {
                    return Err(DecodeError::Schema { got: head.schema, expected: SCHEMA_VERSION });
                }
                if head.ty != T::TYPE {
                    return Err(DecodeError::WrongType { got: head.ty, expected: T::TYPE });
                }
            }
            Err(DecodeError::Malformed { len: bytes.len(), reason: e.to_string() })
        }
    }
}
