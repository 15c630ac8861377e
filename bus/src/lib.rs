//! # bus
//!
//! Every corrigo node talks through this crate: a zenoh session built from the cell's `[bus]` config
//! ([`Bus::open`]), typed publishers and subscribers for the message types of `interfaces::msg`
//! ([`Publisher`], [`Subscriber`]), QoS derived from each topic's class ([`qos`]), node presence through
//! liveliness tokens ([`Bus::announce`], [`Presence`]) and a router for cells that span machines ([`Router`]).
//!
//! The wire format ([`codec`]) is a CBOR envelope documented in `docs/messages.md`; it names the message's type,
//! so a valid message of another type on a key is refused like garbage. A payload that fails to decode never
//! reaches the node: it is counted ([`Subscriber::decode_errors`]) and logged with its key.
//!
//! Every topic has a maximum payload ([`qos`]; a publisher refuses to send more, [`BusError::Oversize`], and a
//! subscriber refuses more before decoding it, counted in [`SubscriberStats::oversize`]):
//!
//! | topics | max payload |
//! |---|---|
//! | control (arm state, pose targets, teleop, sim scene), telemetry (learner metrics), commands, events, acks, episode reports, scene resets | 64 KiB |
//! | policy frames `camera/<name>/frame` (≤ 1024×1024) | 8 MiB |
//! | full frames `camera/<name>/full` (≤ 8192×8192) | 256 MiB |
//! | transitions `actor/transitions`, policy weights `learner/weights` | 256 MiB |
//!
//! A subscriber's counters ([`Subscriber::counts`]: received, decode errors, oversize, queue drops, sequence
//! gaps) are what the operator panel shows per key.
//!
//! The secure cell profile (`[bus.security]`, [`security`], [`certs`]): TLS with mutual authentication and
//! default-deny access control, each role allowed its own table of keys to put and to subscribe to.
//!
//! Every subscriber queue is bounded, in messages and in bytes ([`qos`]): newest wins, drops counted
//! ([`Subscriber::dropped`]).
//!
//! Threading: publishing is synchronous and cheap (never call it from the 1 kHz control thread; a non-RT bridge
//! does that). Subscribers decode on zenoh's threads and hand values over a channel.

pub mod certs;
pub mod codec;
mod error;
mod presence;
mod publisher;
pub mod qos;
mod router;
pub mod security;
mod session;
mod subscriber;

pub use codec::{DecodeError, decode, encode};
pub use error::BusError;
pub use presence::{NodeToken, Presence};
pub use publisher::Publisher;
pub use router::{Router, on_every_interface};
pub use session::Bus;
pub use subscriber::{ArrivalHook, Received, Subscriber, SubscriberCounts, SubscriberStats};
