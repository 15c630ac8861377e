use crate::qos::Qos;
use crate::{BusError, codec};
use interfaces::msg::Message;
use std::marker::PhantomData;
use zenoh::Wait;

/// A typed publisher. Fills in the header's sequence number (and the stamp when left at zero). Refuses to send a
/// payload larger than its topic's limit ([`crate::qos`]) with [`BusError::Oversize`].
pub struct Publisher<T: Message> {
    inner: zenoh::pubsub::Publisher<'static>,
    key: String,
    seq: u64,
    max_payload: usize,
    _t: PhantomData<fn(T)>,
}

impl<T: Message> std::fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("key", &self.key)
            .field("type", &T::TYPE)
            .field("seq", &self.seq)
            .field("max_payload", &self.max_payload)
            .finish()
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
        Ok(Self { inner, key, seq: 0, max_payload: qos.max_payload, _t: PhantomData })
    }

    /// Largest payload this publisher sends, bytes (its topic's limit, [`crate::qos`]).
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// The key expression published on.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Publishes `msg`: sets `header.seq` to this publisher's next number and leaves the stamp as the caller set
    /// it: a zero stamp is sent as zero, meaning "no stamp" (a receiver treats its age as unknown), never filled
    /// with this host's clock, so a message without a measurement time cannot look fresh (stamp messages produced
    /// now with [`interfaces::msg::Header::now`]). Returns the sequence number used. A message whose encoding exceeds the topic's limit is not sent
    /// ([`BusError::Oversize`]; its sequence number is used up, so subscribers count a gap).
    pub fn publish(&mut self, msg: &mut T) -> Result<u64, BusError> {
        self.seq += 1;
        let h = msg.header_mut();
        h.seq = self.seq;
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

    /// Sends already-encoded bytes on this publisher's key (an actor resending spooled transitions; tests
    /// injecting garbage). Bytes over the topic's limit are refused ([`BusError::Oversize`]), like messages.
    pub fn put_raw(&self, bytes: Vec<u8>) -> Result<(), BusError> {
        if bytes.len() > self.max_payload {
            return Err(BusError::Oversize { key: self.key.clone(), size: bytes.len(), limit: self.max_payload });
        }
        self.inner.put(bytes).wait().map_err(|e| BusError::Publish { key: self.key.clone(), reason: e.to_string() })
    }
}
