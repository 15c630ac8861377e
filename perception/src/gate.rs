//! Which publisher an input is taken from: a [`StreamGate`] binds an input (the arm state, one camera's frames) to
//! one publisher's stream and refuses every message that does not continue it, so that another node on the same
//! key (a stale process, a buggy script, a hostile peer) cannot steer what the actor observes, and one message
//! with an absurd stamp cannot pin the input.
//!
//! A publisher's stream is what the bus lets a receiver tell apart: every [`bus::Publisher`] numbers its messages
//! 1, 2, 3, … (`header.seq`) and stamps them on its own clock. The gate adopts one stream and then accepts a
//! message only when
//!
//! - its sequence number continues the adopted one's: higher than the last accepted, by no more than the message
//!   rate allows for the time between their arrivals ([`GatePolicy::max_msgs_per_s`], plus
//!   [`GatePolicy::seq_slack`]); a second publisher numbers its own messages from 1 and is refused;
//! - its stamp is not older than the last accepted, does not jump further ahead of it than the time between
//!   their arrivals allows ([`GatePolicy::max_jump`], [`GatePolicy::max_rate`]: no jump of hours), lies within
//!   [`MAX_STAMP`] (no clock counts to `u64::MAX`), and, where the receiver has a reference clock, is not further
//!   ahead of it than [`GatePolicy::max_ahead`].
//!
//! **Adoption.** The first stream is adopted at once where there is a reference clock to check its stamps
//! against, otherwise after [`GatePolicy::confirm`] consistent messages (a single forged message never is). A
//! different stream is refused for as long as the adopted one keeps delivering; after
//! [`GatePolicy::silence`] without an accepted message (the publisher was restarted, or is gone) the next
//! stream is adopted, and the caller reports it ([`Admitted::Adopted`]).
//!
//! **Limits.** The sequence number is the only mark of a publisher a message carries: a peer that reads the
//! stream and continues its numbering can still slip single messages in. Under the secure profile the bus's
//! access rules decide who may publish on the key at all; the gate is the second line there and the only one
//! under the plain profile.

use interfaces::time::Stamp;
use std::time::{Duration, Instant};

/// Largest stamp any clock of a cell reaches, ns (2^62 ns, 146 years of uptime): beyond it a stamp is refused
/// whatever else is known.
pub const MAX_STAMP: Stamp = Stamp(1 << 62);

/// How long a [`Reporter`] waits between two warnings about the same input.
pub const REPORT_EVERY: Duration = Duration::from_secs(5);

/// How a [`StreamGate`] judges messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GatePolicy {
    /// After this long without an accepted message, another stream may be adopted.
    pub silence: Duration,
    /// Largest stamp step between two accepted messages beyond what the wall time between their arrivals
    /// allows.
    pub max_jump: Duration,
    /// How fast the publisher's clock may run against wall time (1: wall time; a simulator run as fast as
    /// possible runs faster).
    pub max_rate: u32,
    /// How far a stamp may lie ahead of the receiver's reference clock, when there is one.
    pub max_ahead: Duration,
    /// The publisher's highest message rate, per second: bounds how far the sequence number may advance between
    /// two arrivals.
    pub max_msgs_per_s: u64,
    /// Sequence numbers a stream may advance beyond what [`max_msgs_per_s`](Self::max_msgs_per_s) allows.
    pub seq_slack: u64,
    /// Consistent messages a new stream delivers before it is adopted when there is no reference clock.
    pub confirm: u32,
}

impl Default for GatePolicy {
    /// 1 s of silence before another stream is adopted; stamps on wall time (rate 2 at most) with 1 s of jump
    /// and 100 ms ahead of the reference; at most 10 000 messages per second, 256 of slack; 3 messages to
    /// confirm a stream.
    fn default() -> Self {
        Self {
            silence: Duration::from_secs(1),
            max_jump: Duration::from_secs(1),
            max_rate: 2,
            max_ahead: Duration::from_millis(100),
            max_msgs_per_s: 10_000,
            seq_slack: 256,
            confirm: 3,
        }
    }
}

/// Why a message was not taken.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The sequence number does not continue the adopted stream's: another publisher, a replay, or a jump.
    #[error("sequence number {seq} does not continue the adopted publisher's {last} (another publisher or a replay)")]
    Sequence {
        /// The message's number.
        seq: u64,
        /// The last accepted number.
        last: u64,
    },
    /// The stamp is older than the last accepted one.
    #[error("stamp {stamp} ns is older than the last accepted {last} ns")]
    Stale {
        /// The message's stamp, ns.
        stamp: u64,
        /// The last accepted stamp, ns.
        last: u64,
    },
    /// The stamp jumps further past the last accepted one than the time between their arrivals allows.
    #[error("stamp {stamp} ns jumps {jump_ms:.1} ms past the last accepted, more than the {allowed_ms:.1} ms allowed")]
    Jump {
        /// The message's stamp, ns.
        stamp: u64,
        /// Its distance from the last accepted stamp, ms.
        jump_ms: f64,
        /// The largest distance allowed, ms.
        allowed_ms: f64,
    },
    /// The stamp lies too far ahead of the receiver's clock, or beyond [`MAX_STAMP`].
    #[error("stamp {stamp} ns lies ahead of the receiver's clock ({reference} ns) by more than {max_ms:.1} ms")]
    Ahead {
        /// The message's stamp, ns.
        stamp: u64,
        /// The receiver's clock, ns ([`MAX_STAMP`] where the stamp is beyond any clock).
        reference: u64,
        /// The largest lead allowed, ms.
        max_ms: f64,
    },
    /// Held back while a new stream delivers the messages that confirm it ([`GatePolicy::confirm`]).
    #[error("held back while a new publisher is confirmed ({seen} of {confirm} consistent messages)")]
    Unconfirmed {
        /// Consistent messages of the stream seen so far.
        seen: u32,
        /// Messages needed.
        confirm: u32,
    },
    /// The receiver's clock has no reading yet (the environment over the bus before its first arm state).
    #[error("the receiver's clock has no reading yet")]
    NoClock,
    /// The message is not of the published size or encoding, or not from where it claims to be.
    #[error("{0}")]
    Malformed(String),
}

impl Refusal {
    /// True for refusals that are part of normal operation (a stream being confirmed, no clock yet): counted,
    /// never warned about.
    pub fn is_routine(&self) -> bool {
        matches!(self, Refusal::Unconfirmed { .. } | Refusal::NoClock)
    }
}

/// How many messages of an input were refused, by reason, and how often a stream was adopted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refusals {
    /// [`Refusal::Sequence`].
    pub sequence: u64,
    /// [`Refusal::Stale`].
    pub stale: u64,
    /// [`Refusal::Jump`].
    pub jump: u64,
    /// [`Refusal::Ahead`].
    pub ahead: u64,
    /// [`Refusal::Unconfirmed`] and [`Refusal::NoClock`].
    pub held: u64,
    /// [`Refusal::Malformed`].
    pub malformed: u64,
    /// Streams adopted (the first, and each one after a silence).
    pub adoptions: u64,
}

impl Refusals {
    /// Counts `r` (saturating).
    pub fn count(&mut self, r: &Refusal) {
        let c = match r {
            Refusal::Sequence { .. } => &mut self.sequence,
            Refusal::Stale { .. } => &mut self.stale,
            Refusal::Jump { .. } => &mut self.jump,
            Refusal::Ahead { .. } => &mut self.ahead,
            Refusal::Unconfirmed { .. } | Refusal::NoClock => &mut self.held,
            Refusal::Malformed(_) => &mut self.malformed,
        };
        *c = c.saturating_add(1);
    }

    /// Messages refused for a reason other than a routine one (held back while confirming, no clock yet).
    pub fn hostile(&self) -> u64 {
        [self.sequence, self.stale, self.jump, self.ahead, self.malformed]
            .iter()
            .fold(0u64, |a, b| a.saturating_add(*b))
    }
}

/// What [`StreamGate::admit`] did with an accepted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// The message continues the adopted stream.
    Continued,
    /// The message's stream was adopted; `after` is how long the one before had been silent (`None`: the first).
    Adopted {
        /// Silence of the stream adopted before, if there was one.
        after: Option<Duration>,
    },
}

/// The last accepted message of a stream, and when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Track {
    seq: u64,
    stamp: Stamp,
    /// Arrival, host monotonic clock, ns.
    arrived: Stamp,
    /// Consistent messages seen (candidates only).
    seen: u32,
}

/// Candidate streams followed at once while none is adopted without a reference clock.
const CANDIDATES: usize = 4;

/// Binds an input to one publisher's stream (see the module's documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamGate {
    policy: GatePolicy,
    adopted: Option<Track>,
    candidates: [Option<Track>; CANDIDATES],
}

impl StreamGate {
    /// A gate that has adopted no stream yet.
    pub fn new(policy: GatePolicy) -> Self {
        Self { policy, adopted: None, candidates: [None; CANDIDATES] }
    }

    /// The policy in force.
    pub fn policy(&self) -> GatePolicy {
        self.policy
    }

    /// The stamp of the last accepted message, if any.
    pub fn last_stamp(&self) -> Option<Stamp> {
        self.adopted.map(|t| t.stamp)
    }

    /// Judges the message numbered `seq`, stamped `stamp`, that arrived at `arrived` (host monotonic clock, ns),
    /// against the adopted stream and, when given, the receiver's clock `reference` (same clock as the stamps);
    /// accepts it (and remembers it) or says why not. Arrivals are expected in order; never panics or
    /// overflows, whatever the numbers.
    pub fn admit(
        &mut self,
        seq: u64,
        stamp: Stamp,
        arrived: Stamp,
        reference: Option<Stamp>,
    ) -> Result<Admitted, Refusal> {
        let p = self.policy;
        if stamp > MAX_STAMP {
            return Err(Refusal::Ahead { stamp: stamp.0, reference: MAX_STAMP.0, max_ms: 0.0 });
        }
        if let Some(r) = reference {
            let limit = r.0.saturating_add(duration_ns(p.max_ahead));
            if stamp.0 > limit {
                return Err(Refusal::Ahead { stamp: stamp.0, reference: r.0, max_ms: ms(p.max_ahead) });
            }
        }
        let msg = Track { seq, stamp, arrived, seen: 1 };
        let mut after = None;
        if let Some(a) = self.adopted {
            match continues(&p, &a, &msg) {
                Ok(()) => {
                    self.adopted = Some(msg);
                    return Ok(Admitted::Continued);
                }
                Err(e) => {
                    let silent = Duration::from_nanos(arrived.0.saturating_sub(a.arrived.0));
                    if silent < p.silence {
                        return Err(e);
                    }
                    after = Some(silent);
                }
            }
        }
        if reference.is_some() || p.confirm <= 1 {
            return Ok(self.adopt(msg, after));
        }
        // No clock to check a new stream against: it proves itself with `confirm` consistent messages.
        if let Some(c) = self.candidates.iter_mut().flatten().find(|c| continues(&p, c, &msg).is_ok()) {
            let seen = c.seen.saturating_add(1);
            *c = Track { seen, ..msg };
            if seen >= p.confirm {
                return Ok(self.adopt(msg, after));
            }
            return Err(Refusal::Unconfirmed { seen, confirm: p.confirm });
        }
        let slot = match self.candidates.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                let stalest = self.candidates.iter().enumerate().min_by_key(|(_, c)| c.map(|c| c.arrived));
                stalest.map_or(0, |(i, _)| i)
            }
        };
        self.candidates[slot] = Some(msg);
        Err(Refusal::Unconfirmed { seen: 1, confirm: p.confirm })
    }

    fn adopt(&mut self, msg: Track, after: Option<Duration>) -> Admitted {
        self.adopted = Some(msg);
        self.candidates = [None; CANDIDATES];
        Admitted::Adopted { after }
    }
}

/// Whether `msg` continues the stream whose last accepted message is `last`.
fn continues(p: &GatePolicy, last: &Track, msg: &Track) -> Result<(), Refusal> {
    let elapsed_ns = msg.arrived.0.saturating_sub(last.arrived.0);
    let max_step = p.seq_slack.saturating_add(scale(elapsed_ns, p.max_msgs_per_s) / 1_000_000_000);
    if msg.seq <= last.seq || msg.seq - last.seq > max_step {
        return Err(Refusal::Sequence { seq: msg.seq, last: last.seq });
    }
    if msg.stamp < last.stamp {
        return Err(Refusal::Stale { stamp: msg.stamp.0, last: last.stamp.0 });
    }
    let allowed = duration_ns(p.max_jump).saturating_add(scale(elapsed_ns, u64::from(p.max_rate)));
    let jump = msg.stamp.0 - last.stamp.0;
    if jump > allowed {
        return Err(Refusal::Jump {
            stamp: msg.stamp.0,
            jump_ms: jump as f64 * 1e-6,
            allowed_ms: allowed as f64 * 1e-6,
        });
    }
    Ok(())
}

/// `a · b`, saturating.
fn scale(a: u64, b: u64) -> u64 {
    u64::try_from(u128::from(a) * u128::from(b)).unwrap_or(u64::MAX)
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Rate-limited warnings about one input's refusals: the first refusal is reported at once, later ones at most
/// every [`REPORT_EVERY`], with how many were refused since the last warning. Routine refusals
/// ([`Refusal::is_routine`]) are never reported.
#[derive(Debug, Default)]
pub struct Reporter {
    last: Option<Instant>,
    since: u64,
}

impl Reporter {
    /// Notes that a message of `input` was refused for `why`, and warns when it is time to.
    pub fn refused(&mut self, input: &str, why: &Refusal) {
        if why.is_routine() {
            return;
        }
        self.since = self.since.saturating_add(1);
        if self.last.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
            tracing::warn!(input, refused = self.since, "{input}: refused {} message(s) (last: {why})", self.since);
            self.since = 0;
            self.last = Some(Instant::now());
        }
    }

    /// Reports that `input` now follows another publisher (`after`: the silence of the one before).
    pub fn adopted(&mut self, input: &str, seq: u64, stamp: Stamp, after: Option<Duration>) {
        match after {
            None => tracing::debug!(input, seq, stamp = stamp.0, "{input}: following the publisher at sequence {seq}"),
            Some(d) => tracing::warn!(
                input,
                seq,
                stamp = stamp.0,
                "{input}: now following another publisher (sequence {seq}, stamp {} ns) after {:.1} s without a \
                 message from the one before",
                stamp.0,
                d.as_secs_f64()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn gate(confirm: u32) -> StreamGate {
        StreamGate::new(GatePolicy { confirm, ..GatePolicy::default() })
    }

    #[test]
    fn a_second_publisher_is_refused_while_the_first_delivers() {
        let mut g = gate(1);
        assert_eq!(g.admit(500, Stamp(10 * MS), Stamp(10 * MS), None), Ok(Admitted::Adopted { after: None }));
        assert_eq!(g.admit(501, Stamp(11 * MS), Stamp(11 * MS), None), Ok(Admitted::Continued));
        // Another publisher numbers its messages from 1, with stamps of its choosing.
        assert!(matches!(g.admit(1, Stamp(12 * MS), Stamp(12 * MS), None), Err(Refusal::Sequence { .. })));
        assert!(matches!(g.admit(u64::MAX, Stamp(12 * MS), Stamp(12 * MS), None), Err(Refusal::Sequence { .. })));
        assert_eq!(g.admit(502, Stamp(12 * MS), Stamp(12 * MS), None), Ok(Admitted::Continued));
        // Losses are gaps the message rate explains: 10 000 per second at most, plus the slack.
        assert_eq!(g.admit(502 + 256 + 1000, Stamp(112 * MS), Stamp(112 * MS), None), Ok(Admitted::Continued));
    }

    #[test]
    fn absurd_stale_or_jumping_stamps_are_refused_and_pin_nothing() {
        let mut g = gate(1);
        g.admit(1, Stamp(10 * MS), Stamp(10 * MS), None).unwrap();
        assert!(matches!(g.admit(2, Stamp(u64::MAX), Stamp(11 * MS), None), Err(Refusal::Ahead { .. })));
        assert!(matches!(g.admit(2, Stamp(9 * MS), Stamp(11 * MS), None), Err(Refusal::Stale { .. })));
        // Two hours later in 1 ms: a jump no clock makes.
        let hours = Stamp(2 * 3600 * 1000 * MS);
        assert!(matches!(g.admit(2, hours, Stamp(11 * MS), None), Err(Refusal::Jump { .. })));
        assert_eq!(g.admit(2, Stamp(11 * MS), Stamp(11 * MS), None), Ok(Admitted::Continued));
        assert_eq!(g.last_stamp(), Some(Stamp(11 * MS)));
        // Ahead of the receiver's clock by more than the tolerance.
        let e = g.admit(3, Stamp(500 * MS), Stamp(12 * MS), Some(Stamp(12 * MS))).unwrap_err();
        assert!(matches!(e, Refusal::Ahead { .. }), "{e}");
        assert_eq!(g.admit(3, Stamp(12 * MS), Stamp(12 * MS), Some(Stamp(12 * MS))), Ok(Admitted::Continued));
    }

    #[test]
    fn another_stream_is_adopted_only_after_the_first_fell_silent() {
        let mut g = gate(1);
        g.admit(100, Stamp(10 * MS), Stamp(10 * MS), None).unwrap();
        assert!(g.admit(1, Stamp(20 * MS), Stamp(900 * MS), None).is_err(), "0.89 s of silence is not enough");
        assert_eq!(
            g.admit(2, Stamp(20 * MS), Stamp(1100 * MS), None),
            Ok(Admitted::Adopted { after: Some(Duration::from_millis(1090)) })
        );
        let e = g.admit(101, Stamp(11 * MS), Stamp(1101 * MS), None).unwrap_err();
        assert!(matches!(e, Refusal::Stale { .. }), "the old stream is now the other one: {e}");
    }

    #[test]
    fn without_a_clock_a_new_stream_proves_itself_and_one_forged_message_never_does() {
        let mut g = gate(3);
        // A forged message first, then the real stream interleaved with more forgeries from a fresh publisher.
        assert!(matches!(g.admit(7, Stamp(MAX_STAMP.0), Stamp(MS), None), Err(Refusal::Unconfirmed { .. })));
        assert!(matches!(g.admit(40, Stamp(40 * MS), Stamp(2 * MS), None), Err(Refusal::Unconfirmed { .. })));
        assert!(g.admit(1, Stamp(3 * MS), Stamp(3 * MS), None).is_err());
        assert!(matches!(g.admit(41, Stamp(41 * MS), Stamp(3 * MS), None), Err(Refusal::Unconfirmed { .. })));
        assert_eq!(g.admit(42, Stamp(42 * MS), Stamp(4 * MS), None), Ok(Admitted::Adopted { after: None }));
        assert!(matches!(g.admit(8, Stamp(MAX_STAMP.0), Stamp(5 * MS), None), Err(Refusal::Sequence { .. })));
        assert_eq!(g.last_stamp(), Some(Stamp(42 * MS)));
    }

    #[test]
    fn refusals_are_counted_by_reason() {
        let mut r = Refusals::default();
        r.count(&Refusal::Malformed("x".into()));
        r.count(&Refusal::NoClock);
        r.count(&Refusal::Stale { stamp: 1, last: 2 });
        assert_eq!((r.malformed, r.held, r.stale, r.hostile()), (1, 1, 1, 2));
    }
}
