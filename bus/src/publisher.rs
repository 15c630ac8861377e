use crate::qos::Qos;
use crate::{BusError, codec};
use interfaces::msg::Message;
use interfaces::time::{Clock, MonotonicClock, Stamp};
use std::marker::PhantomData;
use zenoh::Wait;

/// A typed publisher. Fills in the header's sequence number (and the stamp when left at zero).
pub struct Publisher<T: Message> {
    inner: zenoh::pubsub::Publisher<'static>,
    key: String,
    seq: u64,
    _t: PhantomData<fn(T)>,
}

impl<T: Message> std::fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("key", &self.key).field("type", &T::TYPE).field("seq", &self.seq).finish()
    }
}

impl<T: Message> Publisher<T> {
    pub(crate) fn declare(session: &zenoh::Session, key: String, qos: Qos) -> Result<Self, BusError> {
        let inner = session
            .declare_publisher(key.clone())
            .congestion_control(qos.congestion)
            .priority(qos.priority)
            .express(qos.express)
            .wait()
            .map_err(|e| BusError::Declare { what: "publisher", key: key.clone(), reason: e.to_string() })?;
        Ok(Self { inner, key, seq: 0, _t: PhantomData })
    }

    /// The key expression published on.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Publishes `msg`: sets `header.seq` to this publisher's next number, and `header.stamp_ns` to now if it
    /// is zero. Returns the sequence number used.
    pub fn publish(&mut self, msg: &mut T) -> Result<u64, BusError> {
        self.seq += 1;
        let h = msg.header_mut();
        h.seq = self.seq;
        if h.stamp_ns == Stamp(0) {
            h.stamp_ns = MonotonicClock.now();
        }
        let bytes =
            codec::encode(msg).map_err(|reason| BusError::Encode { ty: T::TYPE, key: self.key.clone(), reason })?;
        self.put_raw(bytes)?;
        Ok(self.seq)
    }

    /// Publishes `msg` with its header exactly as given (for messages whose sequence number has a meaning of
    /// its own, such as an actor's transition numbers that the learner acknowledges).
    pub fn publish_as_is(&self, msg: &T) -> Result<(), BusError> {
        let bytes =
            codec::encode(msg).map_err(|reason| BusError::Encode { ty: T::TYPE, key: self.key.clone(), reason })?;
        self.put_raw(bytes)
    }

    /// Sends already-encoded bytes on this publisher's key (used by tests to inject garbage).
    pub fn put_raw(&self, bytes: Vec<u8>) -> Result<(), BusError> {
        self.inner.put(bytes).wait().map_err(|e| BusError::Publish { key: self.key.clone(), reason: e.to_string() })
    }
}
