use crate::qos::Qos;
use crate::{BusError, codec};
use interfaces::msg::Message;
use interfaces::time::{Clock, MonotonicClock, Stamp};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use zenoh::Wait;

/// What [`crate::Bus::subscribe_with`] runs on every message as it arrives, before it is queued.
pub type ArrivalHook<T> = Arc<dyn Fn(&Received<T>) + Send + Sync>;

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
    /// Messages dropped from the queue because the node did not keep up: the oldest, to make room for newer ones
    /// (newest wins, [`crate::qos`]).
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
    /// Messages dropped from the full queue (the oldest, newest wins).
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

/// A subscriber's queue: bounded in messages and in payload bytes, newest wins.
///
/// When a new message does not fit, queued ones are dropped until it does: the oldest message of the key that
/// holds the most queued messages (on a single key, simply the oldest), so on a wildcard subscription a flood on
/// one key cannot push out another key's message. A message always fits an empty queue.
struct Ring<T> {
    state: Mutex<RingState<T>>,
    ready: Condvar,
    capacity: usize,
    max_bytes: usize,
}

struct RingState<T> {
    /// (key, payload bytes, message), oldest first.
    items: VecDeque<(String, usize, T)>,
    /// Payload bytes queued.
    bytes: usize,
    /// Messages queued per key.
    per_key: HashMap<String, usize>,
}

impl<T> RingState<T> {
    fn remove(&mut self, index: usize) -> Option<T> {
        let (key, size, item) = self.items.remove(index)?;
        self.bytes -= size;
        if let Some(n) = self.per_key.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.per_key.remove(&key);
            }
        }
        Some(item)
    }

    /// Index of the message to drop: the oldest of the key with the most queued messages.
    fn victim(&self) -> usize {
        if self.per_key.len() <= 1 {
            return 0;
        }
        let most = self.per_key.values().copied().max().unwrap_or(0);
        self.items.iter().position(|(k, _, _)| self.per_key.get(k) == Some(&most)).unwrap_or(0)
    }
}

impl<T> Ring<T> {
    fn new(capacity: usize, max_bytes: usize) -> Self {
        Ring {
            state: Mutex::new(RingState { items: VecDeque::new(), bytes: 0, per_key: HashMap::new() }),
            ready: Condvar::new(),
            capacity: capacity.max(1),
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, RingState<T>> {
        // A panic elsewhere while holding the lock leaves a consistent queue (every change is one push or pop).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` (from `key`, `size` payload bytes); returns how many queued messages were dropped for it.
    fn push(&self, key: &str, size: usize, item: T) -> u64 {
        let mut st = self.lock();
        let mut dropped = 0;
        while !st.items.is_empty() && (st.items.len() >= self.capacity || st.bytes + size > self.max_bytes) {
            let victim = st.victim();
            if st.remove(victim).is_some() {
                dropped += 1;
            }
        }
        st.bytes += size;
        *st.per_key.entry(key.to_string()).or_default() += 1;
        st.items.push_back((key.to_string(), size, item));
        drop(st);
        self.ready.notify_one();
        dropped
    }

    fn pop(&self) -> Option<T> {
        self.lock().remove(0)
    }

    fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if let Some(item) = st.remove(0) {
                return Some(item);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            st = self.ready.wait_timeout(st, left).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Empties the queue and returns its newest message.
    fn newest(&self) -> Option<T> {
        let mut st = self.lock();
        let last = st.items.pop_back().map(|(_, _, item)| item);
        st.items.clear();
        st.per_key.clear();
        st.bytes = 0;
        last
    }

    fn len(&self) -> usize {
        self.lock().items.len()
    }

    fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

/// A typed subscriber. Messages are decoded on zenoh's threads and queued; [`Subscriber::recv_timeout`],
/// [`Subscriber::try_recv`] and [`Subscriber::latest`] take them out.
///
/// Hostile input never reaches the node and never stops the subscriber: a payload over the topic's limit is
/// refused before it is decoded, one that does not decode as this topic's type (garbage, another schema version,
/// a valid message of another type) is dropped; both are counted ([`SubscriberStats`]) and logged with their key
/// (the first and every 1000th). The queue is bounded for every topic, in messages and in payload bytes
/// ([`crate::qos`]): when a new message does not fit, the oldest are dropped to make room (newest wins; on a
/// wildcard subscription, the oldest of the key holding the most), counted in [`Subscriber::dropped`].
pub struct Subscriber<T: Message> {
    _inner: zenoh::pubsub::Subscriber<()>,
    rx: Arc<Ring<Received<T>>>,
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
    pub(crate) fn declare(
        session: &zenoh::Session,
        key: String,
        qos: Qos,
        on_arrival: Option<ArrivalHook<T>>,
    ) -> Result<Self, BusError> {
        let rx = Arc::new(Ring::new(qos.queue, qos.queue_bytes));
        let tx = rx.clone();
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
                        if let Some(hook) = &on_arrival {
                            hook(&r);
                        }
                        let dropped = tx.push(key, size, r);
                        st.received.fetch_add(1, Ordering::Relaxed);
                        if dropped > 0 {
                            let n = st.queue_drops.fetch_add(dropped, Ordering::Relaxed) + dropped;
                            if worth_a_warning(n) || worth_a_warning(n - dropped + 1) {
                                tracing::warn!(key = %key, count = n,
                                    "the node is not keeping up with its {} queue: dropped the oldest", T::TYPE);
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

    /// Waits up to `timeout` for the next message (the oldest queued).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Received<T>> {
        self.rx.pop_timeout(timeout)
    }

    /// The next queued message (the oldest queued), if any.
    pub fn try_recv(&self) -> Option<Received<T>> {
        self.rx.pop()
    }

    /// Drains the queue and returns the newest message, if any arrived since the last call.
    pub fn latest(&self) -> Option<Received<T>> {
        self.rx.newest()
    }

    /// Messages dropped so far from the full queue (the oldest, to make room for newer ones).
    pub fn dropped(&self) -> u64 {
        self.stats.queue_drops.load(Ordering::Relaxed)
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

    /// Payload bytes (encoded sizes) of the messages waiting in the queue now.
    pub fn queued_bytes(&self) -> usize {
        self.rx.bytes()
    }

    /// Messages the queue holds at most ([`crate::qos`]).
    pub fn queue_capacity(&self) -> usize {
        self.qos.queue
    }

    /// Payload bytes the queue holds at most ([`crate::qos`]).
    pub fn queue_bytes(&self) -> usize {
        self.qos.queue_bytes
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

    #[test]
    fn a_full_queue_keeps_the_newest_and_counts_the_dropped() {
        let ring = Ring::new(3, usize::MAX);
        let dropped: u64 = (1..=10).map(|i| ring.push("k", 1, i)).sum();
        assert_eq!(dropped, 7);
        assert_eq!(std::iter::from_fn(|| ring.pop()).collect::<Vec<_>>(), [8, 9, 10]);
    }

    #[test]
    fn a_queue_is_bounded_in_bytes_and_always_takes_one_message() {
        let ring = Ring::new(100, 10);
        assert_eq!(ring.push("k", 4, 'a') + ring.push("k", 4, 'b'), 0);
        assert_eq!(ring.push("k", 4, 'c'), 1, "the oldest goes to make room");
        assert_eq!(ring.bytes(), 8);
        assert_eq!(ring.push("k", 25, 'd'), 2, "a message larger than the bound empties the queue");
        assert_eq!((ring.len(), ring.bytes()), (1, 25));
        assert_eq!(ring.newest(), Some('d'));
        assert_eq!((ring.len(), ring.bytes()), (0, 0));
    }

    #[test]
    fn a_flood_on_one_key_does_not_push_out_another_keys_message() {
        let ring = Ring::new(4, usize::MAX);
        ring.push("op/estop", 1, 0);
        for i in 1..=1000 {
            ring.push("hostile/estop", 1, i);
        }
        let left: Vec<i32> = std::iter::from_fn(|| ring.pop()).collect();
        assert_eq!(left, [0, 998, 999, 1000], "the other key's message stays, the flood keeps its newest");
        // Two keys flooding alternately share the queue evenly.
        for i in 0..100 {
            ring.push(if i % 2 == 0 { "a" } else { "b" }, 1, i);
        }
        assert_eq!(std::iter::from_fn(|| ring.pop()).collect::<Vec<_>>(), [96, 97, 98, 99]);
        assert_eq!(ring.lock().per_key.len(), 0, "no key left counted");
    }

    #[test]
    fn waiting_for_a_message_returns_when_one_arrives_or_at_the_timeout() {
        let ring = Arc::new(Ring::new(2, usize::MAX));
        assert_eq!(ring.pop_timeout(Duration::from_millis(1)), None);
        let r = ring.clone();
        let t = std::thread::spawn(move || r.pop_timeout(Duration::from_secs(60)));
        ring.push("k", 1, 5);
        assert_eq!(t.join().expect("the waiting thread"), Some(5));
    }
}
