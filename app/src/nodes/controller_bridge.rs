//! The controller's non-real-time bridge: moves pose targets and operator commands from the bus into the
//! real-time loop (through [`ControllerHandle`]'s lock-free cells) and publishes the arm state. A driver fault
//! (the loop holds the arm in its safe state) is published as an error [`Event`] naming the device.
//!
//! Runs on its own named thread; the 1 kHz loop never sees zenoh. A rejected command (gains out of range, a
//! gripper command out of limits), a refused pose target (bad stamp, see [`controller::rt::TargetStamps`]) or a
//! refused reset is answered with an [`Event`] naming why; the gains in force stay.
//!
//! # What a hostile or runaway peer cannot do here
//!
//! - **Starve the e-stop.** An `EStop` on either key is latched as it arrives, by the subscription's arrival hook
//!   on the bus's thread ([`Bus::subscribe_with`]; the latch is one atomic), so neither this thread's scheduling
//!   nor a flood that pushes it out of a full queue delays it. Each pass then also services e-stops first — every `EStop` on any `<node>/estop` key, then every
//!   `EStop` among the operator commands read in the pass — before it executes any other command, and checks the
//!   e-stop keys again between commands. A pass reads at most [`COMMANDS_READ_PER_PASS`] operator commands
//!   (reading is cheap: they were decoded on arrival) and executes at most [`COMMANDS_EXECUTED_PER_PASS`] of the
//!   others; the rest of a flood is dropped and counted, so a pass's work is bounded and the state keeps its rate.
//! - **Undo an e-stop with an earlier reset.** Messages carry their arrival time at this process
//!   ([`bus::Received::received`]), one clock for every key: a `ResetEStop` that arrived before (or with) an
//!   e-stop already serviced is dropped, whichever key each came on. The loop itself refuses a reset issued
//!   before the latch or within its dwell ([`controller::core::ControllerCore::request_reset`]).
//! - **Flood the event log.** Events are rate-limited per kind ([`EventGate`]): a burst passes, then one per
//!   [`EVENT_REFILL`]; the suppressed ones are counted and the count is told in the next event of that kind.

use bus::{Bus, Received};
use controller::rt::{CommandError, ControllerHandle};
use interfaces::keys::{ARM_STATE, ESTOP, EVENT, OPERATOR_COMMAND, POSE_TARGET};
use interfaces::msg::{ArmState, Command, Event, Header, Level, OperatorCommand, PoseTarget};
use interfaces::{Clock, MonotonicClock, Stamp};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Operator commands read from the bus in one pass at most (e-stops among them are serviced at once).
pub const COMMANDS_READ_PER_PASS: usize = 1024;
/// Operator commands other than `EStop` executed in one pass at most; those read beyond it are dropped and counted.
pub const COMMANDS_EXECUTED_PER_PASS: usize = 16;
/// Messages read from the e-stop keys in one check at most (an e-stop flood only latches what is latched).
pub const ESTOPS_READ_PER_CHECK: usize = 256;
/// Events of one kind that may go out back to back.
pub const EVENT_BURST: u32 = 32;
/// After a burst, one event of a kind per this interval.
pub const EVENT_REFILL: Duration = Duration::from_millis(100);

/// Settings of the bridge.
#[derive(Debug, Clone, Copy)]
pub struct BridgeOptions {
    /// Arm-state publishing rate, Hz.
    pub state_hz: f64,
}

/// A token bucket for the events of one kind: [`EVENT_BURST`] back to back, then one per [`EVENT_REFILL`].
/// Suppressed events are counted; the count goes with the next admitted one.
#[derive(Debug, Clone)]
pub struct EventGate {
    tokens: u32,
    refilled: Instant,
    suppressed: u64,
}

impl EventGate {
    /// A full bucket at `now`.
    pub fn new(now: Instant) -> Self {
        Self { tokens: EVENT_BURST, refilled: now, suppressed: 0 }
    }

    /// Whether an event may go out at `now`: `Some(n)` with the number of events of this kind suppressed since the
    /// last one admitted, or `None` (this one is suppressed and counted).
    pub fn admit(&mut self, now: Instant) -> Option<u64> {
        let elapsed = now.saturating_duration_since(self.refilled);
        let refills = (elapsed.as_nanos() / EVENT_REFILL.as_nanos()).min(u128::from(EVENT_BURST)) as u32;
        if refills > 0 {
            self.tokens = (self.tokens + refills).min(EVENT_BURST);
            self.refilled += EVENT_REFILL * refills;
        }
        if self.tokens == 0 {
            self.suppressed = self.suppressed.saturating_add(1);
            return None;
        }
        self.tokens -= 1;
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// The kinds of event the bridge rate-limits separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    EStop,
    CommandRejected,
    ResetRefused,
    CommandsDropped,
    TargetRefused,
    Fault,
}

/// The kinds of event rate-limited apart (e-stops, rejected commands, refused resets, dropped commands, refused
/// targets, faults): at most this many [`EventGate`]s' worth of events go out.
pub const EVENT_KINDS: usize = 6;

/// The bridge's event publisher with one [`EventGate`] per kind.
struct Reporter {
    events: bus::Publisher<Event>,
    gates: [EventGate; EVENT_KINDS],
}

impl Reporter {
    fn report(&mut self, kind: EventKind, level: Level, text: impl FnOnce() -> String) {
        let Some(suppressed) = self.gates[kind as usize].admit(Instant::now()) else { return };
        let mut text = text();
        if suppressed > 0 {
            text.push_str(&format!(" ({suppressed} more like it suppressed)"));
        }
        tracing::event!(tracing::Level::WARN, "{text}");
        let mut e = Event { header: Header::now(), node: "controller".into(), level, text };
        if let Err(err) = self.events.publish(&mut e) {
            tracing::warn!("cannot publish controller event: {err}");
        }
    }
}

/// What one pass of the bridge keeps between passes.
struct Passes {
    /// Arrival time of the newest e-stop latched on arrival (by the subscriptions' hook).
    estop_arrival: Arc<AtomicU64>,
    /// Arrival time of the newest e-stop serviced (resets that arrived until then are dropped).
    last_estop_arrival: Stamp,
    /// Refused resets the loop had reported at the last pass.
    refused_resets: u64,
    /// Operator commands read and not executed (over [`COMMANDS_EXECUTED_PER_PASS`]).
    dropped_commands: u64,
    /// Resets dropped for arriving before or with an e-stop.
    stale_resets: u64,
    /// The commands of this pass (kept to reuse its memory).
    batch: Vec<Received<OperatorCommand>>,
}

/// Starts the bridge thread; it runs until `stop` is set or the loop stops.
pub fn spawn(
    bus: &Bus,
    handle: Arc<ControllerHandle>,
    opts: BridgeOptions,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<JoinHandle<()>> {
    let mut state_pub = bus.publisher::<ArmState>(ARM_STATE, None)?;
    let events = bus.publisher::<Event>(EVENT, Some("controller"))?;
    let targets = bus.subscribe::<PoseTarget>(POSE_TARGET, None)?;
    // Every `EStop` is latched as it arrives, on the bus's thread (the latch is one atomic), before it is queued:
    // neither this thread's scheduling nor a flood that pushes it out of a full queue can delay it. Its arrival
    // time is kept, so that a reset that arrived before it is dropped even when the e-stop itself never reaches
    // this thread's queue.
    let estop_arrival = Arc::new(AtomicU64::new(0));
    let latch = {
        let (handle, arrival) = (handle.clone(), estop_arrival.clone());
        move |r: &Received<OperatorCommand>| {
            if matches!(r.msg.command, Command::EStop) && handle.command(&Command::EStop).is_ok() {
                arrival.fetch_max(r.received.0, Ordering::AcqRel);
            }
        }
    };
    let commands = bus.subscribe_with::<OperatorCommand>(OPERATOR_COMMAND, None, latch.clone())?;
    // Any node's e-stop (`<node>/estop`, open to every certified node in the secure profile); nothing else there.
    let estops = bus.subscribe_with::<OperatorCommand>(ESTOP, Some("*"), latch)?;
    let token = bus.announce("controller")?;
    let period = Duration::from_secs_f64(1.0 / opts.state_hz.clamp(1.0, 1000.0));
    std::thread::Builder::new()
        .name("controller-bridge".into())
        .spawn(move || {
            let _token = token;
            let mut pacer = super::pacer::Pacer::new(period);
            let now = Instant::now();
            let mut reporter = Reporter { events, gates: std::array::from_fn(|_| EventGate::new(now)) };
            let mut passes = Passes {
                estop_arrival,
                last_estop_arrival: Stamp(0),
                refused_resets: 0,
                dropped_commands: 0,
                stale_resets: 0,
                batch: Vec::with_capacity(COMMANDS_READ_PER_PASS),
            };
            while !stop.load(Ordering::Acquire) && handle.is_running() {
                pass(&handle, &estops, &commands, &mut passes, &mut reporter);
                while let Some(e) = handle.next_fault() {
                    reporter.report(EventKind::Fault, Level::Error, || {
                        format!("controller fault, the arm is in its safe state: {e}")
                    });
                }
                while let Some(e) = handle.next_gripper_fault() {
                    reporter.report(EventKind::Fault, Level::Warn, || {
                        format!("gripper fault (the arm keeps running): {e}")
                    });
                }
                service_estops(&handle, &estops, &mut passes, &mut reporter);
                if let Some(t) = targets.latest()
                    && let Err(e) = handle.set_received_target(&t.msg, MonotonicClock.now())
                {
                    reporter.report(EventKind::TargetRefused, Level::Error, || {
                        format!(
                            "pose target from {} rejected: {e} ({} refused for their stamp so far)",
                            t.key,
                            handle.refused_target_stamps()
                        )
                    });
                }
                let mut s = handle.latest_state();
                let refused = handle.latest_status().refused_resets;
                if refused > passes.refused_resets {
                    let n = refused - passes.refused_resets;
                    passes.refused_resets = refused;
                    reporter.report(EventKind::ResetRefused, Level::Warn, || {
                        format!(
                            "{n} e-stop reset(s) refused: issued before the e-stop, or within {} ms of it \
                             ({refused} so far); reset again",
                            controller::core::RESET_DWELL_NS / 1_000_000
                        )
                    });
                }
                // Stamp 0 is before the loop's first cycle or the first instant of a simulation: not a state yet
                // (the bus sends a zero stamp as "no stamp").
                if s.header.stamp_ns == Stamp(0) {
                    pacer.wait();
                    continue;
                }
                if let Err(e) = state_pub.publish(&mut s) {
                    tracing::warn!("cannot publish arm state: {e}");
                }
                pacer.wait();
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot start thread `controller-bridge`: {e}"))
}

/// Latches every `EStop` waiting on the e-stop keys (at most [`ESTOPS_READ_PER_CHECK`] messages read).
fn service_estops(
    handle: &ControllerHandle,
    estops: &bus::Subscriber<OperatorCommand>,
    passes: &mut Passes,
    reporter: &mut Reporter,
) {
    for _ in 0..ESTOPS_READ_PER_CHECK {
        let Some(e) = estops.try_recv() else { return };
        if matches!(e.msg.command, Command::EStop) && handle.command(&Command::EStop).is_ok() {
            passes.last_estop_arrival = passes.last_estop_arrival.max(e.received);
            reporter.report(EventKind::EStop, Level::Warn, || format!("e-stop latched by {}", e.key));
        }
    }
}

/// One pass over the operator commands: e-stops first (the keys, then those among the commands read), then at most
/// [`COMMANDS_EXECUTED_PER_PASS`] others in their order of arrival, the e-stop keys checked between them.
fn pass(
    handle: &ControllerHandle,
    estops: &bus::Subscriber<OperatorCommand>,
    commands: &bus::Subscriber<OperatorCommand>,
    passes: &mut Passes,
    reporter: &mut Reporter,
) {
    service_estops(handle, estops, passes, reporter);
    let mut batch = std::mem::take(&mut passes.batch);
    batch.clear();
    while batch.len() < COMMANDS_READ_PER_PASS
        && let Some(c) = commands.try_recv()
    {
        batch.push(c);
    }
    for c in batch.iter().filter(|c| matches!(c.msg.command, Command::EStop)) {
        if handle.command(&Command::EStop).is_ok() {
            passes.last_estop_arrival = passes.last_estop_arrival.max(c.received);
            reporter.report(EventKind::EStop, Level::Warn, || "e-stop latched by operator command".into());
        }
    }
    let mut executed = 0;
    let mut dropped = 0u64;
    for c in batch.iter().filter(|c| !matches!(c.msg.command, Command::EStop)) {
        if executed == COMMANDS_EXECUTED_PER_PASS {
            dropped += 1;
            continue;
        }
        service_estops(handle, estops, passes, reporter);
        let newest_estop = passes.last_estop_arrival.max(Stamp(passes.estop_arrival.load(Ordering::Acquire)));
        if matches!(c.msg.command, Command::ResetEStop) && c.received <= newest_estop {
            passes.stale_resets += 1;
            let n = passes.stale_resets;
            reporter.report(EventKind::ResetRefused, Level::Warn, || {
                format!("e-stop reset dropped: it arrived before or with an e-stop ({n} so far); reset again")
            });
            continue;
        }
        executed += 1;
        match handle.command(&c.msg.command) {
            Ok(()) | Err(CommandError::NotForController { .. }) => {}
            Err(e) => {
                reporter.report(EventKind::CommandRejected, Level::Error, || format!("operator command rejected: {e}"))
            }
        }
    }
    if dropped > 0 {
        passes.dropped_commands += dropped;
        let total = passes.dropped_commands;
        reporter.report(EventKind::CommandsDropped, Level::Warn, || {
            format!(
                "{dropped} operator command(s) dropped: more than {COMMANDS_EXECUTED_PER_PASS} in one pass \
                 ({total} so far)"
            )
        });
    }
    passes.batch = batch;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_pass_in_a_burst_then_at_the_refill_rate_and_count_the_suppressed() {
        let t0 = Instant::now();
        let mut g = EventGate::new(t0);
        for _ in 0..EVENT_BURST {
            assert_eq!(g.admit(t0), Some(0));
        }
        for _ in 0..1000 {
            assert_eq!(g.admit(t0), None, "a flood after the burst is suppressed");
        }
        assert_eq!(g.admit(t0 + EVENT_REFILL), Some(1000), "the next one tells how many were suppressed");
        assert_eq!(g.admit(t0 + EVENT_REFILL), None);
        assert_eq!(g.admit(t0 + EVENT_REFILL * 2), Some(1));
    }
}
