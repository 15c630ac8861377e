//! # bus
//!
//! Every corrigo node talks through this crate: a zenoh session built from the cell's `[bus]` config
//! ([`Bus::open`]), typed publishers and subscribers for the message types of `interfaces::msg`
//! ([`Publisher`], [`Subscriber`]), QoS derived from each topic's class ([`qos`]), node presence through
//! liveliness tokens ([`Bus::announce`], [`Presence`]) and a router for cells that span machines ([`Router`]).
//!
//! The wire format ([`codec`]) is a CBOR envelope documented in `docs/messages.md`. A payload that fails to
//! decode never reaches the node: it is counted ([`Subscriber::decode_errors`]) and logged with its key.
//!
//! Threading: publishing is synchronous and cheap (never call it from the 1 kHz control thread; a non-RT bridge
//! does that). Subscribers decode on zenoh's threads and hand values over a channel.

pub mod codec;
mod error;
mod presence;
mod publisher;
pub mod qos;
mod router;
mod session;
mod subscriber;

pub use codec::{DecodeError, decode, encode};
pub use error::BusError;
pub use presence::{NodeToken, Presence};
pub use publisher::Publisher;
pub use router::Router;
pub use session::Bus;
pub use subscriber::{Received, Subscriber, SubscriberStats};
