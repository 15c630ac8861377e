use crate::qos::Qos;
use crate::{BusError, codec};
use interfaces::msg::Message;
use interfaces::time::{Clock, MonotonicClock, Stamp};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zenoh::Wait;

/// A decoded message with where and when it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<T> {
    /// Key expression it was published on (tells instances apart, e.g. cameras).
    pub key: String,
    /// When this process decoded it (monotonic clock).
    pub received: Stamp,
    /// The message.
    pub msg: T,
}

/// Counters of a subscriber.
#[derive(Debug, Default)]
pub struct SubscriberStats {
    /// Payloads delivered to the node.
    pub received: AtomicU64,
    /// Payloads that failed to decode (never delivered).
    pub decode_errors: AtomicU64,
    /// Messages dropped because the node did not keep up (queue full).
    pub queue_drops: AtomicU64,
    /// Messages missing according to the publishers' sequence numbers.
    pub seq_gaps: AtomicU64,
}

/// A typed subscriber. Messages are decoded on zenoh's threads and queued; [`Subscriber::recv_timeout`],
/// [`Subscriber::try_recv`] and [`Subscriber::latest`] take them out.
pub struct Subscriber<T: Message> {
    _inner: zenoh::pubsub::Subscriber<()>,
    rx: flume::Receiver<Received<T>>,
    stats: Arc<SubscriberStats>,
    key: String,
}

impl<T: Message> std::fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber").field("key", &self.key).field("type", &T::TYPE).finish()
    }
}

impl<T: Message> Subscriber<T> {
    pub(crate) fn declare(session: &zenoh::Session, key: String, qos: Qos) -> Result<Self, BusError> {
        let (tx, rx) = match qos.queue {
            Some(n) => flume::bounded(n),
            None => flume::unbounded(),
        };
        let stats = Arc::new(SubscriberStats::default());
        let st = stats.clone();
        let last_seq: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());
        let inner = session
            .declare_subscriber(key.clone())
            .callback(move |sample| {
                let key = sample.key_expr().as_str().to_string();
                let bytes = sample.payload().to_bytes();
                match codec::decode::<T>(&bytes) {
                    Ok(msg) => {
                        let seq = msg.header().seq;
                        if let Ok(mut last) = last_seq.lock() {
                            let prev = last.insert(key.clone(), seq);
                            if let Some(p) = prev
                                && seq > p + 1
                            {
                                st.seq_gaps.fetch_add(seq - p - 1, Ordering::Relaxed);
                            }
                        }
                        let r = Received { key, received: MonotonicClock.now(), msg };
                        match tx.try_send(r) {
                            Ok(()) => {
                                st.received.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                st.queue_drops.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Err(e) => {
                        let n = st.decode_errors.fetch_add(1, Ordering::Relaxed) + 1;
                        // First error and then every 1000th, so a garbage flood cannot flood the log.
                        if n == 1 || n % 1000 == 0 {
                            tracing::warn!(key = %key, count = n, error = %e, "dropped an undecodable {} payload", T::TYPE);
                        }
                    }
                }
            })
            .wait()
            .map_err(|e| BusError::Declare { what: "subscriber", key: key.clone(), reason: e.to_string() })?;
        Ok(Self { _inner: inner, rx, stats, key })
    }

    /// Key expression subscribed to.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Waits up to `timeout` for the next message.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Received<T>> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// The next queued message, if any.
    pub fn try_recv(&self) -> Option<Received<T>> {
        self.rx.try_recv().ok()
    }

    /// Drains the queue and returns the newest message, if any arrived since the last call.
    pub fn latest(&self) -> Option<Received<T>> {
        self.rx.try_iter().last()
    }

    /// Payloads that failed to decode so far.
    pub fn decode_errors(&self) -> u64 {
        self.stats.decode_errors.load(Ordering::Relaxed)
    }

    /// All counters.
    pub fn stats(&self) -> &SubscriberStats {
        &self.stats
    }
}
