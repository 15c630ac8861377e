//! The learner's intake: what it makes of each transition message before anything is stored.
//!
//! A well-formed message can still come from the wrong sender or carry hostile values, so every message is
//! judged on its own, and a bad one is refused and counted — never its cell, never its session's other messages:
//! - **Its cell**: the session must name the cell whose key it arrived on (`<cell>/<actor>@<start>`).
//! - **Its sender**: the learner binds a session to the nonce of the first message it stores of it
//!   ([`super::Inbox::bind`], saved with the marks); a message of that session with another nonce is another
//!   sender claiming the session ([`Refusal::Hijacked`]), refused before its number is looked at, so it can neither
//!   take the real actor's next number nor make the real one a duplicate.
//! - **Its number**: duplicates and numbers past a gap as before ([`super::Receipt`]).
//! - **Its values**: the gripper action, every size against the learner's spec, and every reward, action and
//!   proprio value finite. A refused message does not move the session's mark: the session's next stored message
//!   is still that number (the real actor's copy, resent from its spool, is taken when it comes).
//! - **Its flags**: `demo` is refused on the wire (demonstrations are written to the store by `corrigo record`,
//!   never sent); an intervention is copied into the demo buffer (which is never evicted) only within its
//!   session's budget ([`IntakeLimits`]): past it, it is stored as an ordinary online transition and counted.
//! - **New sessions** per cell are rate-limited (a token bucket): a flood of invented sessions waits; a
//!   refused new session is not acknowledged, so a real actor's first number is simply resent later.
//!
//! What this cannot tell apart under the plain profile: a node that *listens* to `actor/transitions` sees the
//! session's nonce and can send well-formed, finite transitions in its name. Under the secure profile only the
//! actor role may put on `actor/transitions`.
//!
//! Time is passed in (`Instant`s), so the budgets are tested without sleeping.

use super::{Inbox, Receipt};
use crate::node::wire;
use crate::replay::Transition;
use crate::spec::ObsSpec;
use interfaces::msg_training::TransitionMsg;
use std::collections::HashMap;
use std::time::Instant;

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Its session names another cell than the one whose key it arrived on.
    WrongCell,
    /// Its nonce is not the one its session is bound to: another sender.
    Hijacked,
    /// Flagged `demo`: demonstrations are never sent over the bus.
    DemoFlag,
    /// A gripper action other than 0, 1 or 2.
    BadGripper,
    /// A size does not match the learner's spec (the text names the field).
    Shape(String),
    /// A reward, action or proprio value is NaN or infinite (the field named).
    NonFinite(&'static str),
    /// A new session beyond the cell's budget of new sessions: resent later.
    TooManySessions,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::WrongCell => write!(f, "its session names another cell"),
            Refusal::Hijacked => write!(f, "another sender claims the session (its nonce is not the session's)"),
            Refusal::DemoFlag => write!(f, "flagged as a demonstration (demonstrations are never sent)"),
            Refusal::BadGripper => write!(f, "a gripper action other than 0, 1 or 2"),
            Refusal::Shape(e) => write!(f, "it does not fit the learner's spec ({e})"),
            Refusal::NonFinite(field) => write!(f, "a non-finite value in {field}"),
            Refusal::TooManySessions => write!(f, "too many new sessions on the cell: resent later"),
        }
    }
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Store it (online, and in the demo buffer too when it is an intervention: its `intervention` flag is
    /// cleared when its session's demo budget is spent), then [`Inbox::accept`] its number.
    Store(Box<Transition>),
    /// Stored already: drop it.
    Duplicate,
    /// Past a gap: drop it (the actor resends in order).
    AfterGap,
    /// Refused and counted; its session's mark does not move.
    Refused(Refusal),
}

/// Messages refused or curtailed so far, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeCounts {
    /// Sessions naming another cell.
    pub wrong_cell: u64,
    /// Another sender's nonce.
    pub hijacked: u64,
    /// Flagged `demo`.
    pub demo_flag: u64,
    /// Invalid gripper action.
    pub bad_gripper: u64,
    /// Sizes not matching the spec.
    pub shape: u64,
    /// Non-finite values.
    pub non_finite: u64,
    /// New sessions over the cell's budget.
    pub too_many_sessions: u64,
    /// Interventions stored online only: their session's demo budget was spent.
    pub demo_budget_spent: u64,
}

impl IntakeCounts {
    /// Messages refused in all.
    pub fn refused(&self) -> u64 {
        self.wrong_cell
            + self.hijacked
            + self.demo_flag
            + self.bad_gripper
            + self.shape
            + self.non_finite
            + self.too_many_sessions
    }
}

/// The intake's budgets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntakeLimits {
    /// New sessions a cell may open at once.
    pub new_sessions_burst: f64,
    /// New sessions a cell may open per second, on average, once the burst is spent.
    pub new_sessions_per_s: f64,
    /// Intervention steps a session may copy into the demo buffer at once (a backlog resent after an outage).
    pub demo_burst: f64,
    /// Intervention steps a session may copy into the demo buffer per second once the burst is spent.
    pub demo_per_s: f64,
    /// Intervention steps a session may copy into the demo buffer in all.
    pub demo_total: u64,
}

impl IntakeLimits {
    /// The budgets for a cell acting at `policy_hz`: 16 new sessions at once and one every 10 s after; per
    /// session, interventions at the policy rate (one per step of a human in real time) with a burst of 10
    /// minutes of them (a backlog resent after an outage), and 4 hours of them in all.
    pub fn for_policy_hz(policy_hz: f64) -> Self {
        let hz = if policy_hz.is_finite() && policy_hz > 0.0 { policy_hz } else { 10.0 };
        Self {
            new_sessions_burst: 16.0,
            new_sessions_per_s: 0.1,
            demo_burst: hz * 600.0,
            demo_per_s: hz,
            demo_total: (hz * 4.0 * 3600.0) as u64,
        }
    }
}

/// A token bucket: `burst` tokens at most, refilled at `per_s`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Self {
        Self { tokens: burst, at: now }
    }

    /// Takes one token if there is one.
    fn take(&mut self, now: Instant, burst: f64, per_s: f64) -> bool {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * per_s).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct DemoBudget {
    bucket: Bucket,
    total: u64,
}

/// The learner's intake (see the module doc).
#[derive(Debug)]
pub struct Intake {
    limits: IntakeLimits,
    new_sessions: HashMap<String, Bucket>,
    demo: HashMap<String, DemoBudget>,
    counts: IntakeCounts,
}

/// The first field of `t` holding a NaN or infinite value (`reward`, `action`, `obs.proprio`,
/// `next_obs.proprio`), `None` when every value is finite.
pub fn non_finite(t: &Transition) -> Option<&'static str> {
    let bad = |v: &[f32]| v.iter().any(|x| !x.is_finite());
    if !t.reward.is_finite() {
        Some("reward")
    } else if bad(&t.action.continuous) {
        Some("action")
    } else if bad(&t.obs.proprio) {
        Some("obs.proprio")
    } else if bad(&t.next_obs.proprio) {
        Some("next_obs.proprio")
    } else {
        None
    }
}

impl Intake {
    /// An intake with `limits`.
    pub fn new(limits: IntakeLimits) -> Self {
        Self { limits, new_sessions: HashMap::new(), demo: HashMap::new(), counts: IntakeCounts::default() }
    }

    /// The refusals so far.
    pub fn counts(&self) -> IntakeCounts {
        self.counts
    }

    /// Judges message `m` arriving at `now` on `cell`'s key, against the marks and bindings of `inbox` and the
    /// learner's `spec`. A [`Admission::Store`] binds its session to its nonce (first message) and has taken
    /// its budgets; the caller stores it and then calls [`Inbox::accept`]. Every refusal is counted.
    pub fn admit(
        &mut self,
        now: Instant,
        cell: &str,
        m: TransitionMsg,
        inbox: &mut Inbox,
        spec: &ObsSpec,
    ) -> Admission {
        match self.judge(now, cell, m, inbox, spec) {
            Ok(a) => a,
            Err(r) => {
                let c = &mut self.counts;
                let n = match r {
                    Refusal::WrongCell => &mut c.wrong_cell,
                    Refusal::Hijacked => &mut c.hijacked,
                    Refusal::DemoFlag => &mut c.demo_flag,
                    Refusal::BadGripper => &mut c.bad_gripper,
                    Refusal::Shape(_) => &mut c.shape,
                    Refusal::NonFinite(_) => &mut c.non_finite,
                    Refusal::TooManySessions => &mut c.too_many_sessions,
                };
                *n = n.saturating_add(1);
                Admission::Refused(r)
            }
        }
    }

    fn judge(
        &mut self,
        now: Instant,
        cell: &str,
        m: TransitionMsg,
        inbox: &mut Inbox,
        spec: &ObsSpec,
    ) -> Result<Admission, Refusal> {
        let session = m.actor.clone();
        if session.strip_prefix(cell).is_none_or(|rest| !rest.starts_with('/')) {
            return Err(Refusal::WrongCell);
        }
        if inbox.nonce(&session).is_some_and(|n| n != m.nonce) {
            return Err(Refusal::Hijacked);
        }
        let seq = m.header.seq;
        match inbox.receive(&session, seq) {
            Receipt::Next => {}
            Receipt::Duplicate => return Ok(Admission::Duplicate),
            Receipt::AfterGap { .. } => return Ok(Admission::AfterGap),
        }
        if m.demo {
            return Err(Refusal::DemoFlag);
        }
        let nonce = m.nonce;
        let mut t = wire::from_msg(m).ok_or(Refusal::BadGripper)?;
        t.check(spec).map_err(|e| Refusal::Shape(e.to_string()))?;
        if let Some(field) = non_finite(&t) {
            return Err(Refusal::NonFinite(field));
        }
        let l = self.limits;
        if inbox.is_new(&session) {
            let bucket =
                self.new_sessions.entry(cell.to_string()).or_insert_with(|| Bucket::full(l.new_sessions_burst, now));
            if !bucket.take(now, l.new_sessions_burst, l.new_sessions_per_s) {
                return Err(Refusal::TooManySessions);
            }
        }
        inbox.bind(&session, nonce);
        if t.intervention {
            let b = self
                .demo
                .entry(session)
                .or_insert_with(|| DemoBudget { bucket: Bucket::full(l.demo_burst, now), total: 0 });
            if b.total < l.demo_total && b.bucket.take(now, l.demo_burst, l.demo_per_s) {
                b.total += 1;
            } else {
                t.intervention = false;
                self.counts.demo_budget_spent = self.counts.demo_budget_spent.saturating_add(1);
            }
        }
        Ok(Admission::Store(Box::new(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{Action, GripperAction, Observation};
    use std::time::Duration;

    fn spec() -> ObsSpec {
        ObsSpec { proprio_dim: 3, cameras: Vec::new(), action_dim: 2, gripper: false }
    }

    fn msg(session: &str, seq: u64, nonce: u64) -> TransitionMsg {
        let o = Observation { proprio: vec![0.1, 0.2, 0.3], images: Vec::new() };
        let t = Transition {
            obs: o.clone(),
            action: Action { continuous: vec![0.5, -0.5], gripper: GripperAction::Stay },
            reward: 1.0,
            next_obs: o,
            ..Transition::default()
        };
        let mut m = wire::to_msg(&t, session, seq, false);
        m.nonce = nonce;
        m
    }

    fn stored(a: &Admission) -> bool {
        matches!(a, Admission::Store(_))
    }

    fn limits() -> IntakeLimits {
        IntakeLimits::for_policy_hz(10.0)
    }

    #[test]
    fn a_transition_of_the_wrong_shape_is_refused_and_the_next_good_one_is_stored() {
        let (t0, s) = (Instant::now(), spec());
        let mut inbox = Inbox::default();
        let mut intake = Intake::new(limits());
        let mut odd = msg("cell/intruder@1", 1, 9);
        odd.obs.proprio.push(0.0);
        let a = intake.admit(t0, "cell", odd, &mut inbox, &s);
        assert!(matches!(&a, Admission::Refused(Refusal::Shape(e)) if e.contains("proprio")), "{a:?}");
        // The cell is not refused: an actor's good transitions are stored, before and after another odd one.
        assert!(stored(&intake.admit(t0, "cell", msg("cell/actor@1", 1, 7), &mut inbox, &s)));
        inbox.accept("cell/actor@1", 1);
        let mut forged = msg("cell/actor@1", 2, 7);
        forged.action.pop();
        assert!(matches!(intake.admit(t0, "cell", forged, &mut inbox, &s), Admission::Refused(Refusal::Shape(_))));
        assert!(stored(&intake.admit(t0, "cell", msg("cell/actor@1", 2, 7), &mut inbox, &s)), "the mark did not move");
        let mut bad_gripper = msg("cell/actor@1", 2, 7);
        bad_gripper.gripper = 3;
        assert_eq!(intake.admit(t0, "cell", bad_gripper, &mut inbox, &s), Admission::Refused(Refusal::BadGripper));
        assert_eq!(intake.counts().shape, 2);
        assert_eq!(intake.counts().refused(), 3);
    }

    #[test]
    fn non_finite_rewards_actions_and_proprio_are_refused() {
        let (t0, s) = (Instant::now(), spec());
        let mut inbox = Inbox::default();
        let mut intake = Intake::new(limits());
        type Spoil = fn(&mut TransitionMsg);
        let cases: [(&str, Spoil); 4] = [
            ("reward", |m| m.reward = f32::NAN),
            ("action", |m| m.action[1] = f32::INFINITY),
            ("obs.proprio", |m| m.obs.proprio[0] = f32::NEG_INFINITY),
            ("next_obs.proprio", |m| m.next_obs.proprio[2] = f32::NAN),
        ];
        for (field, spoil) in cases {
            let mut m = msg("cell/actor@1", 1, 7);
            spoil(&mut m);
            assert_eq!(intake.admit(t0, "cell", m, &mut inbox, &s), Admission::Refused(Refusal::NonFinite(field)));
        }
        assert_eq!(intake.counts().non_finite, 4);
        assert!(stored(&intake.admit(t0, "cell", msg("cell/actor@1", 1, 7), &mut inbox, &s)));
    }

    #[test]
    fn a_session_claimed_by_another_sender_is_refused() {
        let (t0, s) = (Instant::now(), spec());
        let mut inbox = Inbox::default();
        let mut intake = Intake::new(limits());
        for seq in 1..=3 {
            assert!(stored(&intake.admit(t0, "cell", msg("cell/actor@1", seq, 7), &mut inbox, &s)));
            inbox.accept("cell/actor@1", seq);
        }
        // Another node takes the session's name and its next number (it read them in an acknowledgement).
        assert_eq!(
            intake.admit(t0, "cell", msg("cell/actor@1", 4, 8), &mut inbox, &s),
            Admission::Refused(Refusal::Hijacked)
        );
        assert_eq!(
            intake.admit(t0, "cell", msg("cell/actor@1", 4, 0), &mut inbox, &s),
            Admission::Refused(Refusal::Hijacked),
            "no nonce is another sender too"
        );
        assert!(stored(&intake.admit(t0, "cell", msg("cell/actor@1", 4, 7), &mut inbox, &s)), "the real one is next");
        // The binding survives a learner restart (it is saved with the marks).
        inbox.acknowledge();
        let dir = tempfile::tempdir().unwrap();
        inbox.save(&dir.path().join("acks.json")).unwrap();
        let mut back = Inbox::load(&dir.path().join("acks.json")).unwrap();
        let mut fresh = Intake::new(limits());
        assert_eq!(
            fresh.admit(t0, "cell", msg("cell/actor@1", 5, 8), &mut back, &s),
            Admission::Refused(Refusal::Hijacked)
        );
        // A session naming another cell, on this cell's key.
        assert_eq!(
            intake.admit(t0, "cell", msg("other/actor@1", 1, 7), &mut inbox, &s),
            Admission::Refused(Refusal::WrongCell)
        );
        assert_eq!(
            intake.admit(t0, "cell", msg("cellar/actor@1", 1, 7), &mut inbox, &s),
            Admission::Refused(Refusal::WrongCell)
        );
        assert_eq!(intake.counts().hijacked, 2);
    }

    #[test]
    fn a_flood_cannot_grow_the_demo_buffer_or_open_sessions_without_bound() {
        let (t0, s) = (Instant::now(), spec());
        let mut inbox = Inbox::default();
        let l = IntakeLimits {
            new_sessions_burst: 3.0,
            new_sessions_per_s: 0.1,
            demo_burst: 5.0,
            demo_per_s: 1.0,
            demo_total: 8,
        };
        let mut intake = Intake::new(l);
        // Demonstrations are never sent.
        let mut demo = msg("cell/a@1", 1, 1);
        demo.demo = true;
        assert_eq!(intake.admit(t0, "cell", demo, &mut inbox, &s), Admission::Refused(Refusal::DemoFlag));
        // Interventions: the burst, then one a second, then nothing past the total; the rest is stored online.
        let mut demo_copies = 0;
        let mut t = t0;
        for seq in 1..=40u64 {
            let mut m = msg("cell/a@1", seq, 1);
            m.intervention = true;
            let Admission::Store(tr) = intake.admit(t, "cell", m, &mut inbox, &s) else { panic!("stored") };
            inbox.accept("cell/a@1", seq);
            demo_copies += u64::from(tr.intervention);
            if seq == 10 {
                assert_eq!(demo_copies, 5, "the burst");
            }
            if seq > 10 {
                t += Duration::from_millis(500);
            }
        }
        assert_eq!(demo_copies, 8, "the session's total");
        assert_eq!(intake.counts().demo_budget_spent, 32);
        // New sessions: the burst (a@1 took one), then one per 10 s.
        let first = |n: usize| msg(&format!("cell/new@{n}"), 1, 1);
        let opened: Vec<bool> = (0..4).map(|n| stored(&intake.admit(t0, "cell", first(n), &mut inbox, &s))).collect();
        assert_eq!(opened, [true, true, false, false]);
        assert!(stored(&intake.admit(t0 + Duration::from_secs(10), "cell", first(3), &mut inbox, &s)));
        assert_eq!(intake.counts().too_many_sessions, 2);
        assert!(
            stored(&intake.admit(t0, "other", msg("other/x@1", 1, 1), &mut inbox, &s)),
            "each cell has its own budget"
        );
    }
}
