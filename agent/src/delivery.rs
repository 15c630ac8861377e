//! The actor → learner delivery protocol, apart from the bus that carries it (so it is tested without one).
//!
//! - **Actor side, [`Outbox`]**: every transition gets the next number of the actor's *session* (the actor's id
//!   plus its start time: numbers restart with every actor process, the session keeps the learner's marks
//!   apart) and stays in the outbox until the learner acknowledges it. When nothing was sent for
//!   `resend_after`, everything unacknowledged is due again, in order. A full outbox is backpressure: the actor
//!   waits instead of piling up more.
//! - **Learner side, [`Inbox`]**: per session only the contiguous sequence is stored (go-back-N): a number at or
//!   below the session's mark is a duplicate, one past a gap waits for the actor's in-order resend. Accepted
//!   numbers are *pending* until the learner has made them durable; [`Inbox::acknowledge`] then moves them into
//!   the marks and returns the cumulative acknowledgements to publish, so an acknowledgement never covers a
//!   transition that is not on disk. The marks (and the weights version) persist in `acks.json` beside the
//!   replay store, so a restarted learner is not sent what it already stored.
//!
//! Time is passed in (`Instant`s), so the resend rule is tested with no sleeping.

use crate::error::{AgentError, Result, io_err};
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

/// A session tag for actor `actor_id` unique to this process start: `<id>@<ns since the epoch>`. An actor's
/// [`Outbox`] numbers its messages within one session, so the learner tells a restarted actor from a resend.
pub fn session_of(actor_id: &str) -> String {
    let ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{actor_id}@{ns}")
}

/// The actor's numbered, unacknowledged messages.
#[derive(Debug)]
pub struct Outbox<M> {
    session: String,
    seq: u64,
    unacked: VecDeque<(u64, M)>,
    capacity: usize,
    resend_after: Duration,
    last_send: Option<Instant>,
    acked: u64,
    resent: u64,
}

impl<M> Outbox<M> {
    /// An empty outbox of session `session` holding at most `capacity` messages, resending after
    /// `resend_after` without a send.
    pub fn new(session: impl Into<String>, capacity: usize, resend_after: Duration) -> Self {
        Self {
            session: session.into(),
            seq: 0,
            unacked: VecDeque::new(),
            capacity: capacity.max(1),
            resend_after,
            last_send: None,
            acked: 0,
            resent: 0,
        }
    }

    /// The session the acknowledgements are addressed to.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// Numbers the next message (`make(session, seq)`, sequence numbers from 1), keeps it, and returns it to
    /// send now (`now`: the time it is sent).
    pub fn push(&mut self, now: Instant, make: impl FnOnce(&str, u64) -> M) -> &M {
        self.seq += 1;
        if self.unacked.is_empty() {
            self.last_send = Some(now);
        }
        self.unacked.push_back((self.seq, make(&self.session, self.seq)));
        &self.unacked.back().expect("just pushed").1
    }

    /// Applies a cumulative acknowledgement `upto` addressed to `session`; returns how many messages it
    /// released (0 for another session's).
    pub fn ack(&mut self, session: &str, upto: u64) -> usize {
        if session != self.session {
            return 0;
        }
        let mut n = 0;
        while self.unacked.front().is_some_and(|(s, _)| *s <= upto) {
            self.unacked.pop_front();
            n += 1;
        }
        self.acked += n as u64;
        n
    }

    /// The unacknowledged messages, oldest first, when they are due again at `now` (some are unacknowledged and
    /// nothing was sent for `resend_after`); the caller sends them all. Counts them as resent.
    pub fn due(&mut self, now: Instant) -> Option<impl Iterator<Item = &M>> {
        let last = self.last_send?;
        if self.unacked.is_empty() || now.saturating_duration_since(last) <= self.resend_after {
            return None;
        }
        self.last_send = Some(now);
        self.resent += self.unacked.len() as u64;
        Some(self.unacked.iter().map(|(_, m)| m))
    }

    /// True when the outbox holds `capacity` messages: wait for acknowledgements before producing more.
    pub fn is_full(&self) -> bool {
        self.unacked.len() >= self.capacity
    }

    /// True when every message is acknowledged.
    pub fn is_empty(&self) -> bool {
        self.unacked.is_empty()
    }

    /// Unacknowledged messages.
    pub fn len(&self) -> usize {
        self.unacked.len()
    }

    /// Messages acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Messages sent again so far.
    pub fn resent(&self) -> u64 {
        self.resent
    }
}

/// What the learner does with an arriving number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// The session's next number: store it, then [`Inbox::accept`] it.
    Next,
    /// At or below what is stored already: drop it.
    Duplicate,
    /// Past a gap: drop it; the actor resends in order.
    AfterGap {
        /// The number the session needs next.
        expected: u64,
    },
}

/// The learner's durable marks: per session the highest number stored and acknowledged, and the newest weights
/// version (kept with the marks so versions keep rising across restarts).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Marks {
    /// Session → highest acknowledged number.
    pub acked: BTreeMap<String, u64>,
    /// Newest published weights version.
    pub version: u64,
}

/// The learner's side of the protocol.
#[derive(Debug, Default)]
pub struct Inbox {
    marks: Marks,
    pending: BTreeMap<String, u64>,
}

impl Inbox {
    /// An inbox resuming from `marks`.
    pub fn new(marks: Marks) -> Self {
        Self { marks, pending: BTreeMap::new() }
    }

    /// The inbox of the marks saved at `path` (none yet: empty marks). Errors: unreadable or corrupt file.
    pub fn load(path: &Path) -> Result<Self> {
        let marks = match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| AgentError::CorruptFile {
                file: path.to_path_buf(),
                reason: format!("corrupt acknowledgement marks: {e}"),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Marks::default(),
            Err(e) => return Err(io_err("read", path)(e)),
        };
        Ok(Self::new(marks))
    }

    /// Saves the marks to `path` atomically and durably: written beside it and synced, renamed over it, then the
    /// directory synced, so that after a power cut the file holds either the old or the new marks, and the new ones
    /// once this returns.
    pub fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.marks)
            .map_err(|e| AgentError::CorruptFile { file: path.to_path_buf(), reason: e.to_string() })?;
        let mut f = std::fs::File::create(&tmp).map_err(io_err("write", &tmp))?;
        f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(io_err("write", &tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io_err("rename", path))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("sync directory", dir))?;
        }
        Ok(())
    }

    /// What to do with number `seq` of `session`.
    pub fn receive(&self, session: &str, seq: u64) -> Receipt {
        let mark = self.pending.get(session).or(self.marks.acked.get(session)).copied().unwrap_or(0);
        if seq <= mark {
            Receipt::Duplicate
        } else if seq != mark + 1 {
            Receipt::AfterGap { expected: mark + 1 }
        } else {
            Receipt::Next
        }
    }

    /// Records that number `seq` of `session` (a [`Receipt::Next`]) was stored, not yet durably.
    pub fn accept(&mut self, session: &str, seq: u64) {
        self.pending.insert(session.to_string(), seq);
    }

    /// True while stored numbers wait for [`Inbox::acknowledge`].
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Call once everything accepted is durable: the pending numbers become marks; returns the
    /// `(session, upto)` acknowledgements to publish. Save the marks afterwards.
    pub fn acknowledge(&mut self) -> Vec<(String, u64)> {
        let acks: Vec<(String, u64)> = std::mem::take(&mut self.pending).into_iter().collect();
        for (s, seq) in &acks {
            self.marks.acked.insert(s.clone(), *seq);
        }
        acks
    }

    /// The durable marks (for re-announcing them to actors that missed an acknowledgement).
    pub fn marks(&self) -> &Marks {
        &self.marks
    }

    /// Raises the weights version and returns it.
    pub fn next_version(&mut self) -> u64 {
        self.marks.version += 1;
        self.marks.version
    }

    /// The newest weights version.
    pub fn version(&self) -> u64 {
        self.marks.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESEND: Duration = Duration::from_millis(500);

    fn outbox() -> Outbox<u64> {
        Outbox::new("a@1", 4, RESEND)
    }

    #[test]
    fn numbers_start_at_one_and_acks_release_in_order() {
        let (t0, mut o) = (Instant::now(), outbox());
        for _ in 0..3 {
            o.push(t0, |_, s| s * 10);
        }
        assert_eq!(o.len(), 3);
        assert_eq!(o.ack("other@2", 3), 0, "another session's acknowledgement releases nothing");
        assert_eq!(o.ack("a@1", 2), 2);
        assert_eq!((o.len(), o.acked()), (1, 2));
        assert_eq!(o.ack("a@1", 2), 0, "a repeated acknowledgement is harmless");
        assert_eq!(o.ack("a@1", 3), 1);
        assert!(o.is_empty());
    }

    #[test]
    fn a_full_outbox_is_backpressure() {
        let (t0, mut o) = (Instant::now(), outbox());
        for _ in 0..4 {
            assert!(!o.is_full());
            o.push(t0, |_, s| s);
        }
        assert!(o.is_full());
        o.ack("a@1", 1);
        assert!(!o.is_full());
    }

    #[test]
    fn everything_unacknowledged_is_resent_in_order_after_the_pause() {
        let (t0, mut o) = (Instant::now(), outbox());
        assert!(o.due(t0 + RESEND * 4).is_none(), "nothing to resend from an empty outbox");
        for _ in 0..3 {
            o.push(t0, |_, s| s);
        }
        assert!(o.due(t0 + RESEND / 2).is_none(), "not due before the pause");
        o.ack("a@1", 1);
        let again: Vec<u64> = o.due(t0 + RESEND * 2).expect("due").copied().collect();
        assert_eq!(again, vec![2, 3]);
        assert_eq!(o.resent(), 2);
        assert!(o.due(t0 + RESEND * 2).is_none(), "a resend restarts the pause");
        assert!(o.due(t0 + RESEND * 4).is_some());
    }

    #[test]
    fn the_learner_stores_the_contiguous_sequence_once() {
        let mut i = Inbox::default();
        assert_eq!(i.receive("a@1", 1), Receipt::Next);
        i.accept("a@1", 1);
        assert_eq!(i.receive("a@1", 1), Receipt::Duplicate, "a resend of a pending number");
        assert_eq!(i.receive("a@1", 3), Receipt::AfterGap { expected: 2 });
        assert_eq!(i.receive("a@1", 2), Receipt::Next);
        i.accept("a@1", 2);
        assert_eq!(i.receive("b@1", 1), Receipt::Next, "sessions are numbered apart");
        assert_eq!(i.acknowledge(), vec![("a@1".to_string(), 2)]);
        assert!(!i.has_pending());
        assert_eq!(i.receive("a@1", 2), Receipt::Duplicate, "an acknowledged number");
    }

    #[test]
    fn actor_and_learner_lose_nothing_over_a_lossy_link_and_a_learner_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acks.json");
        let (t0, mut o) = (Instant::now(), Outbox::<u64>::new("a@1", 100, RESEND));
        let mut inbox = Inbox::load(&path).unwrap();
        let mut stored = Vec::new();
        let deliver = |inbox: &mut Inbox, seq: u64, stored: &mut Vec<u64>| {
            if inbox.receive("a@1", seq) == Receipt::Next {
                inbox.accept("a@1", seq);
                stored.push(seq);
            }
        };
        // Numbers 1..=10 sent; every third is lost on the way.
        for k in 1..=10u64 {
            let seq = *o.push(t0, |_, s| s);
            if k % 3 != 0 {
                deliver(&mut inbox, seq, &mut stored);
            }
        }
        assert_eq!(stored, vec![1, 2], "nothing past the first gap is stored");
        for (s, upto) in inbox.acknowledge() {
            o.ack(&s, upto);
        }
        inbox.save(&path).unwrap();
        // The learner restarts from its saved marks; the actor resends what is unacknowledged.
        let mut inbox = Inbox::load(&path).unwrap();
        let mut t = t0;
        while !o.is_empty() {
            t += RESEND * 2;
            let again: Vec<u64> = o.due(t).expect("due").copied().collect();
            for seq in again {
                deliver(&mut inbox, seq, &mut stored);
            }
            for (s, upto) in inbox.acknowledge() {
                o.ack(&s, upto);
            }
        }
        assert_eq!(stored, (1..=10).collect::<Vec<_>>(), "every number stored exactly once, in order");
        assert_eq!(o.acked(), 10);
    }

    #[test]
    fn corrupt_marks_are_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acks.json");
        std::fs::write(&path, b"{not json").unwrap();
        let e = Inbox::load(&path).unwrap_err().to_string();
        assert!(e.contains("acks.json") && e.contains("corrupt"), "{e}");
    }

    #[test]
    fn marks_and_version_survive_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acks.json");
        let mut i = Inbox::default();
        i.accept("a@1", 5);
        i.acknowledge();
        assert_eq!((i.next_version(), i.next_version()), (1, 2));
        i.save(&path).unwrap();
        let back = Inbox::load(&path).unwrap();
        assert_eq!(back.marks(), i.marks());
        assert_eq!(back.version(), 2);
    }
}
