//! Well-formed hostile operator commands against `corrigo controller` driving the simulated arm, sent over the bus as
//! a client written from `docs/messages.md` would: a `ResetEStop` right before an `EStop` never leaves the arm
//! unlatched, and clients flooding `SetGains` cannot hold an `EStop` off.

use corrigo_app::nodes::controller_bridge::{EVENT_BURST, EVENT_KINDS, EVENT_REFILL};
use interfaces::CellConfig;
use interfaces::keys::{ARM_STATE, ESTOP, EVENT, OPERATOR_COMMAND};
use interfaces::msg::{ArmState, Command as OpCommand, ControllerMode, Event, Header, OperatorCommand};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tests::common;

/// The controller node of a quick simulated cell on a private bus port, joined by this test's bus session, with
/// its log in `dir`; returns once it publishes the arm state.
struct Node {
    child: Child,
    bus: bus::Bus,
    states: bus::Subscriber<ArmState>,
    events: bus::Subscriber<Event>,
    cfg: CellConfig,
    log: std::path::PathBuf,
}

impl Node {
    fn start(dir: &Path) -> Node {
        let cfg = common::reach_cell(common::free_port());
        let cfg_path = dir.join("cell.toml");
        common::write_cell(&cfg, &cfg_path);
        let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
        let states = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
        let events = bus.subscribe::<Event>(EVENT, Some("controller")).unwrap();
        let log = dir.join("controller.log");
        let child = Command::new(tests::corrigo_bin())
            .args(["controller", "--config", cfg_path.to_str().unwrap(), "--seconds", "300"])
            .env("RUST_LOG", "info,zenoh=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start corrigo controller");
        let mut node = Node { child, bus, states, events, cfg, log };
        node.wait_state("the controller publishes the arm state", Duration::from_secs(60), |s| s.cycles > 50);
        node
    }

    fn fail(&mut self, what: String) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!("{what}\ncontroller log:\n{log}");
    }

    fn wait_state(&mut self, what: &str, within: Duration, ok: impl Fn(&ArmState) -> bool) -> ArmState {
        let deadline = Instant::now() + within;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(s) = self.states.recv_timeout(Duration::from_millis(100)) {
                if ok(&s.msg) {
                    return s.msg;
                }
                last = Some(s.msg);
            }
        }
        self.fail(format!("{what}: not within {within:?}; last state: {last:?}"))
    }

    /// Waits until `n` arm states in a row are latched (e-stopped), the first received after this call.
    fn wait_latched_in_a_row(&mut self, what: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let (mut in_a_row, mut last) = (0, None);
        while Instant::now() < deadline {
            if let Some(s) = self.states.recv_timeout(Duration::from_millis(100)) {
                let latched = s.msg.estop && s.msg.mode == ControllerMode::EStopped;
                in_a_row = if latched { in_a_row + 1 } else { 0 };
                if in_a_row >= n {
                    return;
                }
                last = Some(s.msg);
            }
        }
        self.fail(format!("{what}: the controller did not stay latched; last state {last:?}"))
    }

    /// Waits for the controller's next event whose text starts with `prefix`.
    fn wait_event(&mut self, what: &str, prefix: &str) -> Event {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(e) = self.events.recv_timeout(Duration::from_millis(100))
                && e.msg.text.starts_with(prefix)
            {
                return e.msg;
            }
        }
        self.fail(format!("{what}: no event starting with {prefix:?} within 15 s"))
    }

    /// Sends `command` with a fresh stamp on `publisher` every 100 ms until a state satisfies `ok` (at most 30 s);
    /// returns how long it took.
    fn send_until(
        &mut self,
        what: &str,
        publisher: &mut bus::Publisher<OperatorCommand>,
        command: OpCommand,
        ok: impl Fn(&ArmState) -> bool,
    ) -> Duration {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(30);
        let mut last = None;
        while Instant::now() < deadline {
            publisher.publish(&mut OperatorCommand { header: Header::now(), command: command.clone() }).unwrap();
            let resend = Instant::now() + Duration::from_millis(100);
            while Instant::now() < resend {
                if let Some(s) = self.states.recv_timeout(Duration::from_millis(20)) {
                    if ok(&s.msg) {
                        return start.elapsed();
                    }
                    last = Some(s.msg);
                }
            }
        }
        self.fail(format!("{what}: not within 30 s; last state {last:?}"))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn latched(s: &ArmState) -> bool {
    s.estop && s.mode == ControllerMode::EStopped
}

fn drain<T: interfaces::msg::Message>(s: &bus::Subscriber<T>) {
    while s.try_recv().is_some() {}
}

/// Regression (a `ResetEStop` queued right before an `EStop` left the controller unlatched in most rounds): a reset
/// immediately followed by an e-stop, the e-stop on `operator/command` or on another node's `<node>/estop`, leaves
/// the controller latched every round; a lone reset after the dwell still clears it.
#[test]
fn a_reset_right_before_an_estop_on_either_key_leaves_the_controller_latched_every_round() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    let mut commands = node.bus.publisher::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap();
    let mut estop = node.bus.publisher::<OperatorCommand>(ESTOP, Some("hostile")).unwrap();
    node.send_until("the first e-stop latches", &mut estop, OpCommand::EStop, latched);
    for round in 0..20 {
        drain(&node.events);
        let cmd = |c| OperatorCommand { header: Header::now(), command: c };
        commands.publish(&mut cmd(OpCommand::ResetEStop)).unwrap();
        if round % 2 == 0 {
            commands.publish(&mut cmd(OpCommand::EStop)).unwrap();
        } else {
            estop.publish(&mut cmd(OpCommand::EStop)).unwrap();
        }
        node.wait_event(&format!("round {round}"), "e-stop latched by");
        drain(&node.states);
        node.wait_latched_in_a_row(&format!("round {round}"), 50);
    }
    // A reset on its own, after the dwell, clears the latch (the e-stops above were not merely never reset).
    node.send_until("a lone reset unlatches", &mut commands, OpCommand::ResetEStop, |s| {
        !s.estop && s.mode != ControllerMode::EStopped
    });
}

/// Regression (three clients sending `SetGains` as fast as they could kept an `EStop` from latching for seconds, and
/// each rejected command published an event): while three threads flood `operator/command` with gains (out of
/// range: each one is rejected), an e-stop on a node's `<node>/estop` key and then one on `operator/command` itself
/// latch within a bounded wait, and the controller's events stay within their rate limit, telling how many were
/// suppressed.
#[test]
fn three_clients_flooding_set_gains_cannot_hold_off_an_estop() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    let mut bad = node.cfg.controller.gains;
    bad.translational_stiffness = [-1.0; 3];
    let mut estop = node.bus.publisher::<OperatorCommand>(ESTOP, Some("operator")).unwrap();
    let mut commands = node.bus.publisher::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap();
    let sent = AtomicU64::new(0);
    // The flooding clients have a session of their own: the e-stop does not queue behind their messages here.
    let flooders = bus::Bus::open(&node.cfg.bus, &node.cfg.cell.name).expect("the flooding clients' bus");
    for (phase, on_command_key) in [(0, false), (1, true)] {
        drain(&node.events);
        let flood_start = Instant::now();
        let stop = AtomicBool::new(false);
        let floods: Vec<_> =
            (0..3).map(|_| flooders.publisher::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap()).collect();
        let outcome = std::thread::scope(|s| {
            for mut p in floods {
                let (stop, sent) = (&stop, &sent);
                s.spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        let mut m = OperatorCommand { header: Header::now(), command: OpCommand::SetGains(bad) };
                        if p.publish(&mut m).is_ok() {
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            // The flood first (a few thousand messages), then the e-stop, resent until a state shows it latched.
            let start = Instant::now();
            let floor = sent.load(Ordering::Relaxed) + 3000;
            while sent.load(Ordering::Relaxed) < floor && start.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(10));
            }
            let publisher = if on_command_key { &mut commands } else { &mut estop };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let took = node.send_until(
                    &format!("phase {phase}: the e-stop latches under the flood"),
                    publisher,
                    OpCommand::EStop,
                    latched,
                );
                // The flood goes on until an event tells how many were suppressed (a refill period at least).
                let mut events = Vec::new();
                let told_by = Instant::now() + Duration::from_secs(10);
                while Instant::now() < told_by && !events.iter().any(|t: &String| t.contains("suppressed")) {
                    if let Some(e) = node.events.recv_timeout(Duration::from_millis(50)) {
                        events.push(e.msg.text);
                    }
                }
                (took, events)
            }));
            stop.store(true, Ordering::Release);
            outcome
        });
        let (took, mut events) = outcome.unwrap_or_else(|e| std::panic::resume_unwind(e));
        // Every event of the phase (the flood has stopped: wait until they stop coming).
        let quiet_by = Instant::now() + Duration::from_secs(10);
        while Instant::now() < quiet_by
            && let Some(e) = node.events.recv_timeout(Duration::from_millis(300))
        {
            events.push(e.msg.text);
        }
        let periods = (flood_start.elapsed().as_nanos() / EVENT_REFILL.as_nanos()) as usize + 1;
        let allowed = EVENT_KINDS * (EVENT_BURST as usize + periods);
        assert!(
            events.len() <= allowed,
            "phase {phase}: {} events for {} rejected commands, more than the rate limit's {allowed}",
            events.len(),
            sent.load(Ordering::Relaxed)
        );
        assert!(
            events.iter().any(|t| t.contains("suppressed")),
            "phase {phase}: the suppressed events are counted and told: {events:?}"
        );
        println!(
            "phase {phase} (e-stop on {}): latched {took:?} after the first e-stop under the flood ({} gains sent)",
            if on_command_key { "operator/command" } else { "operator/estop" },
            sent.load(Ordering::Relaxed)
        );
        // Reset (after the dwell) for the next phase.
        node.send_until("a reset unlatches after the flood", &mut commands, OpCommand::ResetEStop, |s| !s.estop);
    }
}
