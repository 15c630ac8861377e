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
    /// Payloads that failed to decode (never delivered): not CBOR, another schema version, another message type.
    pub decode_errors: AtomicU64,
    /// Payloads larger than the topic's limit ([`crate::qos`]), refused before decoding (never delivered).
    pub oversize: AtomicU64,
    /// Messages dropped because the node did not keep up (queue full).
    pub queue_drops: AtomicU64,
    /// Messages missing according to the publishers' sequence numbers.
    pub seq_gaps: AtomicU64,
}

impl SubscriberStats {
    /// The counters now.
    pub fn counts(&self) -> SubscriberCounts {
        SubscriberCounts {
            received: self.received.load(Ordering::Relaxed),
            decode_errors: self.decode_errors.load(Ordering::Relaxed),
            oversize: self.oversize.load(Ordering::Relaxed),
            queue_drops: self.queue_drops.load(Ordering::Relaxed),
            seq_gaps: self.seq_gaps.load(Ordering::Relaxed),
        }
    }
}

/// A copy of a subscriber's counters ([`SubscriberStats`]) at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriberCounts {
    /// Payloads delivered to the node.
    pub received: u64,
    /// Payloads that failed to decode.
    pub decode_errors: u64,
    /// Payloads over the topic's limit, refused before decoding.
    pub oversize: u64,
    /// Messages dropped because the queue was full.
    pub queue_drops: u64,
    /// Messages missing according to the publishers' sequence numbers.
    pub seq_gaps: u64,
}

/// Publishers' keys whose sequence numbers a subscriber follows at most (a wildcard subscription receives every
/// key a hostile peer invents); past it the table starts over, so memory stays bounded.
const MAX_TRACKED_KEYS: usize = 1024;

/// True for the 1st, 1000th, 2000th… occurrence: a flood of bad payloads cannot flood the log.
fn worth_a_warning(count: u64) -> bool {
    count == 1 || count.is_multiple_of(1000)
}

/// Notes `seq` from the publisher on `key` and returns how many numbers were skipped since its previous message
/// (0 for the first, a repeat or a step back: a restarted publisher). Never overflows, whatever the numbers.
fn seq_gap(last: &Mutex<HashMap<String, u64>>, key: &str, seq: u64) -> u64 {
    let Ok(mut last) = last.lock() else { return 0 };
    if let Some(prev) = last.get_mut(key) {
        let gap = seq.saturating_sub(*prev).saturating_sub(1);
        *prev = seq;
        return gap;
    }
    if last.len() >= MAX_TRACKED_KEYS {
        last.clear();
    }
    last.insert(key.to_string(), seq);
    0
}

/// A typed subscriber. Messages are decoded on zenoh's threads and queued; [`Subscriber::recv_timeout`],
/// [`Subscriber::try_recv`] and [`Subscriber::latest`] take them out.
///
/// Hostile input never reaches the node and never stops the subscriber: a payload over the topic's limit is
/// refused before it is decoded, one that does not decode as this topic's type (garbage, another schema version,
/// a valid message of another type) is dropped; both are counted ([`SubscriberStats`]) and logged with their key
/// (the first and every 1000th). The queue is bounded where the topic's class says so ([`crate::qos`]): when it
/// is full, new messages are dropped and counted, and the queued ones stay.
pub struct Subscriber<T: Message> {
    _inner: zenoh::pubsub::Subscriber<()>,
    rx: flume::Receiver<Received<T>>,
    stats: Arc<SubscriberStats>,
    key: String,
    qos: Qos,
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
        let max_payload = qos.max_payload;
        let last_seq: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());
        let inner = session
            .declare_subscriber(key.clone())
            .callback(move |sample| {
                let key = sample.key_expr().as_str();
                let size = sample.payload().len();
                if size > max_payload {
                    let n = st.oversize.fetch_add(1, Ordering::Relaxed) + 1;
                    if worth_a_warning(n) {
                        tracing::warn!(key = %key, count = n, size, limit = max_payload,
                            "refused a {size}-byte {} payload: over its key's limit of {max_payload} bytes", T::TYPE);
                    }
                    return;
                }
                // Contiguous payloads are borrowed; a fragmented one is copied once, within the limit.
                let bytes = sample.payload().to_bytes();
                match codec::decode::<T>(&bytes) {
                    Ok(msg) => {
                        let gap = seq_gap(&last_seq, key, msg.header().seq);
                        if gap > 0 {
                            // Saturating: a hostile jump to u64::MAX reads as "very many", never wraps to few.
                            let _ = st.seq_gaps.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |g| {
                                Some(g.saturating_add(gap))
                            });
                        }
                        let r = Received { key: key.to_string(), received: MonotonicClock.now(), msg };
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
                        if worth_a_warning(n) {
                            tracing::warn!(key = %key, count = n, error = %e, "dropped an undecodable {} payload", T::TYPE);
                        }
                    }
                }
            })
            .wait()
            .map_err(|e| BusError::Declare { what: "subscriber", key: key.clone(), reason: e.to_string() })?;
        Ok(Self { _inner: inner, rx, stats, key, qos })
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

    /// Payloads that failed to decode so far (oversize payloads are counted apart, [`SubscriberStats::oversize`]).
    pub fn decode_errors(&self) -> u64 {
        self.stats.decode_errors.load(Ordering::Relaxed)
    }

    /// All counters.
    pub fn stats(&self) -> &SubscriberStats {
        &self.stats
    }

    /// A copy of all counters now.
    pub fn counts(&self) -> SubscriberCounts {
        self.stats.counts()
    }

    /// Messages waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.rx.len()
    }

    /// Capacity of the queue (`None`: unbounded), from the topic's class ([`crate::qos`]).
    pub fn queue_capacity(&self) -> Option<usize> {
        self.qos.queue
    }

    /// Largest payload accepted, bytes (the topic's limit, [`crate::qos`]).
    pub fn max_payload(&self) -> usize {
        self.qos.max_payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_gaps_never_overflow_and_restarts_are_not_gaps() {
        let last = Mutex::new(HashMap::new());
        assert_eq!(seq_gap(&last, "k", u64::MAX), 0);
        assert_eq!(seq_gap(&last, "k", u64::MAX), 0, "a repeat");
        assert_eq!(seq_gap(&last, "k", 1), 0, "a step back (restarted publisher)");
        assert_eq!(seq_gap(&last, "k", 5), 3);
        assert_eq!(seq_gap(&last, "k", u64::MAX), u64::MAX - 6);
        assert_eq!(seq_gap(&last, "other", 9), 0, "each key counts apart");
    }

    #[test]
    fn tracked_keys_are_bounded() {
        let last = Mutex::new(HashMap::new());
        for i in 0..10 * MAX_TRACKED_KEYS {
            seq_gap(&last, &format!("k{i}"), 1);
        }
        assert!(last.lock().map(|m| m.len()).unwrap_or(0) <= MAX_TRACKED_KEYS);
    }

    #[test]
    fn warnings_are_rate_limited() {
        let warned: Vec<u64> = (1..=3000).filter(|n| worth_a_warning(*n)).collect();
        assert_eq!(warned, [1, 1000, 2000, 3000]);
    }
}
