//! The actor → learner delivery protocol, apart from the bus that carries it (so it is tested without one).
//!
//! - **Actor side, [`Spool`]**: every transition gets the next number of the actor's *session* (the actor's id
//!   plus its start time: numbers restart with every actor process, the session keeps the learner's marks
//!   apart) and stays in the spool, on disk, until the learner acknowledges it. Unacknowledged transitions are
//!   resent, oldest first, a window at a time, with a doubling wait while no acknowledgement comes; a full spool
//!   is backpressure: the actor waits instead of piling up more; a restarted actor resends its spool.
//! - **Learner side, [`Inbox`]**: per session only the contiguous sequence is stored (go-back-N): a number at or
//!   below the session's mark is a duplicate, one past a gap waits for the actor's in-order resend. Accepted
//!   numbers are *pending* until the learner has made them durable; [`Inbox::acknowledge`] then moves them into
//!   the marks and returns the cumulative acknowledgements to publish, so an acknowledgement never covers a
//!   transition that is not on disk. The marks (and the weights version) persist in `acks.json` beside the
//!   replay store, so a restarted learner is not sent what it already stored.
//! - **Trust** (a well-formed message may come from the wrong sender or carry hostile values): the spool
//!   applies no acknowledgement above what it has sent ([`Spool::ack`]); the actor applies acknowledgements and
//!   weights of the one learner session it follows only ([`LearnerLink`]); the learner judges every transition on
//!   its own — cell, sender (the session's nonce), number, sizes, finiteness, flags and budgets — and refuses and
//!   counts a bad one without refusing its cell or moving its session's mark ([`Intake`]).
//!
//! Time is passed in (`Instant`s), so the resend rules are tested with no sleeping.

pub mod intake;
pub mod learner_link;
pub mod spool;

pub use intake::{Admission, Intake, IntakeCounts, IntakeLimits, Refusal};
pub use learner_link::{LearnerLink, LinkCounts, WeightsVerdict};
pub use spool::{Spool, SpoolOptions, SpoolRecovery};

use crate::error::{AgentError, Result, io_err};
use std::collections::BTreeMap;
use std::path::Path;

/// A random nonce for a new session (never 0): the actor sends it with every transition of the session, and the
/// learner binds the session to it ([`Inbox::bind`]).
pub fn session_nonce() -> u64 {
    rand::random::<u64>().max(1)
}

/// A session tag for actor `actor_id` (the actor node passes `<cell>/<id>`) unique to this process start:
/// `<actor_id>@<ns since the epoch>`. An actor's
/// [`Spool`] numbers its messages within one session, so the learner tells a restarted actor from a resend.
pub fn session_of(actor_id: &str) -> String {
    let ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{actor_id}@{ns}")
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
    /// Session → the nonce its transitions carry (bound by the first one stored): another nonce is another sender.
    #[serde(default)]
    pub nonces: BTreeMap<String, u64>,
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

    /// Raises the marks to what the replay store holds (its records carry their session and number, see
    /// [`crate::replay::ReplayStore::delivered`]): records made durable after the marks were last saved (a
    /// crash between the two) count as stored, so their resent copies are duplicates. Returns how many sessions'
    /// marks rose.
    pub fn raise_marks(&mut self, stored: &BTreeMap<String, u64>) -> usize {
        let mut n = 0;
        for (s, seq) in stored {
            let m = self.marks.acked.entry(s.clone()).or_insert(0);
            if *seq > *m {
                *m = *seq;
                n += 1;
            }
        }
        n
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

    /// The nonce `session` is bound to (`None`: not bound yet).
    pub fn nonce(&self, session: &str) -> Option<u64> {
        self.marks.nonces.get(session).copied()
    }

    /// Binds `session` to `nonce` unless it is bound already (saved with the marks); returns whether `session`
    /// is bound to `nonce` now.
    pub fn bind(&mut self, session: &str, nonce: u64) -> bool {
        *self.marks.nonces.entry(session.to_string()).or_insert(nonce) == nonce
    }

    /// True when nothing of `session` was ever stored or bound (its first number would open a new session).
    pub fn is_new(&self, session: &str) -> bool {
        !self.pending.contains_key(session)
            && !self.marks.acked.contains_key(session)
            && !self.marks.nonces.contains_key(session)
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
    fn actor_and_learner_lose_nothing_over_a_lossy_link_and_restarts_of_both() {
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acks.json");
        let spool_dir = dir.path().join("spool");
        let opts = SpoolOptions {
            cap_bytes: 1 << 20,
            segment_bytes: 64,
            resend_after: Duration::from_millis(500),
            resend_max: Duration::from_secs(4),
            window: 100,
            window_bytes: 1 << 20,
            sync_every: Duration::ZERO,
        };
        let t0 = Instant::now();
        let (mut o, _) = Spool::open(&spool_dir, "a@1", opts.clone()).unwrap();
        let mut inbox = Inbox::load(&path).unwrap();
        let mut stored: Vec<(String, u64)> = Vec::new();
        // A message is its session and number, as the real one carries them.
        let msg = |session: &str, seq: u64| format!("{session}#{seq}").into_bytes();
        let deliver = |inbox: &mut Inbox, m: &[u8], stored: &mut Vec<(String, u64)>| {
            let text = String::from_utf8(m.to_vec()).unwrap();
            let (session, seq) = text.split_once('#').unwrap();
            let seq: u64 = seq.parse().unwrap();
            if inbox.receive(session, seq) == Receipt::Next {
                inbox.accept(session, seq);
                stored.push((session.to_string(), seq));
            }
        };
        // Numbers 1..=10 sent; every third is lost on the way.
        for k in 1..=10u64 {
            let m = msg(o.session(), o.next_seq());
            if o.push(t0, &m).unwrap() && k % 3 != 0 {
                deliver(&mut inbox, &m, &mut stored);
            }
        }
        assert_eq!(stored.len(), 2, "nothing past the first gap is stored");
        for (s, upto) in inbox.acknowledge() {
            o.ack(t0, &s, upto).unwrap();
        }
        inbox.save(&path).unwrap();
        // Both restart: the learner from its saved marks, the actor from its spool with a new session.
        drop(o);
        let (mut o, rec) = Spool::open(&spool_dir, "a@2", opts).unwrap();
        assert_eq!(rec.transitions, 8, "the unacknowledged 3..=10 are found again");
        for _ in 0..3 {
            let m = msg(o.session(), o.next_seq());
            o.push(t0, &m).unwrap();
        }
        let mut inbox = Inbox::load(&path).unwrap();
        let mut t = t0;
        let mut rounds = 0;
        while !o.is_empty() {
            rounds += 1;
            assert!(rounds < 100, "delivery does not converge");
            t += Duration::from_secs(5);
            for m in o.due(t).unwrap() {
                deliver(&mut inbox, &m, &mut stored);
            }
            for (s, upto) in inbox.acknowledge() {
                o.ack(t, &s, upto).unwrap();
            }
        }
        let mut want: Vec<(String, u64)> = (1..=10).map(|n| ("a@1".to_string(), n)).collect();
        want.extend((1..=3).map(|n| ("a@2".to_string(), n)));
        stored.sort();
        assert_eq!(stored, want, "every number of both sessions stored exactly once");
        drop(o);
        let left: Vec<_> = std::fs::read_dir(&spool_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "spool"))
            .collect();
        assert!(left.is_empty(), "an acknowledged spool leaves no segment behind: {left:?}");
    }

    #[test]
    fn marks_rise_to_what_the_store_holds_and_never_fall() {
        let mut i = Inbox::default();
        i.accept("a@1", 5);
        i.acknowledge();
        let stored: BTreeMap<String, u64> = [("a@1".to_string(), 3), ("b@1".to_string(), 7)].into();
        assert_eq!(i.raise_marks(&stored), 1);
        assert_eq!(i.receive("a@1", 5), Receipt::Duplicate, "a mark never falls");
        assert_eq!(i.receive("b@1", 7), Receipt::Duplicate, "stored before the marks were saved");
        assert_eq!(i.receive("b@1", 8), Receipt::Next);
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
