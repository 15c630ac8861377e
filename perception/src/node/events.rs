//! Notable camera events (stale, reconnect, end, failure) for the operator: logged and published as
//! [`Event`]s on `corrigo/<cell>/camera/event`.

use bus::{Bus, Publisher};
use interfaces::keys::EVENT;
use interfaces::msg::{Event, Header, Level};
use std::sync::Mutex;

/// The node's event publisher, shared by its threads (one publisher, so sequence numbers stay gap-free).
#[derive(Debug)]
pub struct CameraEvents {
    publisher: Mutex<Publisher<Event>>,
}

/// Name of the camera node in events and liveliness.
pub const NODE: &str = "camera";

impl CameraEvents {
    pub(crate) fn declare(bus: &Bus) -> Result<Self, bus::BusError> {
        Ok(Self { publisher: Mutex::new(bus.publisher::<Event>(EVENT, Some(NODE))?) })
    }

    /// Logs `text` at `level` and publishes it; a failure to publish is logged, never returned.
    pub(crate) fn report(&self, level: Level, text: String) {
        match level {
            Level::Info => tracing::info!("{text}"),
            Level::Warn => tracing::warn!("{text}"),
            Level::Error => tracing::error!("{text}"),
        }
        let mut ev = Event { header: Header::now(), node: NODE.into(), level, text };
        if let Ok(mut p) = self.publisher.lock()
            && let Err(e) = p.publish(&mut ev)
        {
            tracing::warn!("cannot publish a camera event: {e}");
        }
    }
}
