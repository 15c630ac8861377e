use super::*;
use crate::testing::{ScriptedArm, home_q, panda_config};
use interfaces::MockClock;
use interfaces::drivers::DriverError;
use interfaces::msg::{ControllerMode, GripperState};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct RecordingGripper {
    last: Option<GripperCommand>,
}

impl GripperDriver for RecordingGripper {
    fn command(&mut self, cmd: GripperCommand) -> Result<(), DriverError> {
        self.last = Some(cmd);
        Ok(())
    }
    fn read(&mut self) -> Result<GripperState, DriverError> {
        Ok(GripperState { width: 0.04, target_width: self.last.map_or(0.0, |c| c.width), force: 0.0 })
    }
}

/// The default cell's loop on a scripted arm at home with `gripper`, not real-time, on a mock clock (returned:
/// the loop's time moves only when the test moves it).
fn spawn_default_cell<G: GripperDriver + 'static>(gripper: G) -> (CellConfig, ControllerHandle, MockClock) {
    let cfg = panda_config();
    let core = ControllerCore::new(&cfg, ScriptedArm::new(7, home_q(), false)).expect("core");
    let mut opts = LoopOptions::from_config(&cfg);
    opts.realtime = false;
    let clock = MockClock::default();
    let h = spawn(core, Some(gripper), cfg.gripper, clock.clone(), opts).expect("spawn");
    (cfg, h, clock)
}

/// The default cell's loop, not started: its handle and its real-time side, run one [`RtSide::cycle`] at a time
/// on a mock clock.
fn unstarted_default_cell() -> (ControllerHandle, RtSide<ScriptedArm, RecordingGripper, MockClock>, MockClock) {
    let cfg = panda_config();
    let core = ControllerCore::new(&cfg, ScriptedArm::new(7, home_q(), false)).expect("core");
    let mut opts = LoopOptions::from_config(&cfg);
    opts.realtime = false;
    let clock = MockClock::new(interfaces::Stamp(1_000_000_000));
    let (h, rt) = build(core, Some(RecordingGripper::default()), cfg.gripper, clock.clone(), opts);
    (h, rt, clock)
}

/// Runs `n` cycles of 1 ms.
fn cycles(rt: &mut RtSide<ScriptedArm, RecordingGripper, MockClock>, clock: &MockClock, n: u64) -> ControllerStatus {
    for _ in 0..n {
        clock.advance_ns(1_000_000);
        rt.cycle();
    }
    *rt.core.status()
}

/// Regression (a `ResetEStop` queued before an `EStop` unlatched it: the loop applied the e-stop flag, then drained
/// the command ring in the same cycle): a reset that reached the handle before the e-stop never clears it, whether
/// or not an older latch was past its dwell.
#[test]
fn a_reset_queued_before_an_estop_never_unlatches_it() {
    let (h, mut rt, clock) = unstarted_default_cell();
    cycles(&mut rt, &clock, 5);
    for round in 0..5 {
        h.command(&Command::ResetEStop).expect("reset");
        h.command(&Command::EStop).expect("estop");
        let s = cycles(&mut rt, &clock, 1);
        assert_eq!((s.mode, s.estop), (ControllerMode::EStopped, true), "round {round}");
        // Long past the dwell: the next round's reset would clear this latch if it came after it.
        let s = cycles(&mut rt, &clock, crate::core::RESET_DWELL_NS / 1_000_000 + 10);
        assert_eq!(s.mode, ControllerMode::EStopped, "round {round}");
    }
    h.command(&Command::ResetEStop).expect("a reset after the latch and the dwell");
    assert_eq!(cycles(&mut rt, &clock, 1).mode, ControllerMode::Idle);
}

/// Regression: an e-stop and a reset handled in the same cycle end latched, even when the reset came second and the
/// previous latch was long past its dwell.
#[test]
fn an_estop_and_a_reset_in_the_same_cycle_end_latched() {
    let (h, mut rt, clock) = unstarted_default_cell();
    h.command(&Command::EStop).expect("estop");
    cycles(&mut rt, &clock, crate::core::RESET_DWELL_NS / 1_000_000 + 10);
    h.command(&Command::EStop).expect("estop");
    h.command(&Command::ResetEStop).expect("reset");
    let s = cycles(&mut rt, &clock, 50);
    assert_eq!((s.mode, s.estop), (ControllerMode::EStopped, true));
    assert_eq!(s.refused_resets, 1);
}

/// Regression (gripper commands were executed while latched): neither a gripper command nor the gripper command of
/// a refused pose target moves the gripper while the e-stop is latched; after a reset they do again.
#[test]
fn gripper_commands_are_not_executed_while_the_estop_is_latched() {
    let (h, mut rt, clock) = unstarted_default_cell();
    cycles(&mut rt, &clock, 5);
    h.command(&Command::EStop).expect("estop");
    cycles(&mut rt, &clock, 1);
    let close = GripperCommand { width: 0.0, force: 20.0 };
    h.gripper(close).expect("valid command");
    let target = PoseTarget {
        pose: Pose { position: [0.5, 0.0, 0.3], orientation: [0.0, 1.0, 0.0, 0.0] },
        gripper: Some(close),
        ..PoseTarget::default()
    };
    h.set_target(&target).expect("target");
    let s = cycles(&mut rt, &clock, 20);
    assert_eq!(rt.gripper.as_ref().expect("gripper").last, None, "the gripper holds while latched");
    assert_eq!(s.held_gripper_commands, 2);
    assert_eq!(rt.counts.rejected, 1, "the target is refused");
    cycles(&mut rt, &clock, crate::core::RESET_DWELL_NS / 1_000_000);
    h.command(&Command::ResetEStop).expect("reset");
    cycles(&mut rt, &clock, 1);
    h.gripper(close).expect("valid command");
    cycles(&mut rt, &clock, 1);
    assert_eq!(rt.gripper.as_ref().expect("gripper").last, Some(close), "after the reset the gripper moves");
}

/// Pose targets from the bus are taken only with a plausible stamp, newer than the last one taken; refusals are
/// counted and never reach the loop.
#[test]
fn received_targets_with_a_zero_future_or_stale_stamp_are_refused_and_counted() {
    let (h, mut rt, clock) = unstarted_default_cell();
    cycles(&mut rt, &clock, 5);
    let now = interfaces::Stamp(50_000_000_000);
    let at = |stamp_ns: u64| PoseTarget {
        header: interfaces::msg::Header { seq: 1, stamp_ns: interfaces::Stamp(stamp_ns) },
        pose: Pose { position: [0.5, 0.0, 0.3], orientation: [0.0, 1.0, 0.0, 0.0] },
        gripper: None,
    };
    for bad in [0, u64::MAX, now.0 + 1_000_000_000, now.0 - 5_000_000_000] {
        assert!(matches!(h.set_received_target(&at(bad), now), Err(CommandError::Stamp(_))), "stamp {bad}");
    }
    assert_eq!(cycles(&mut rt, &clock, 5).mode, ControllerMode::Idle, "no refused target reached the loop");
    h.set_received_target(&at(now.0 - 1_000_000), now).expect("a fresh target");
    assert_eq!(cycles(&mut rt, &clock, 1).mode, ControllerMode::Tracking);
    assert!(matches!(h.set_received_target(&at(now.0 - 2_000_000), now), Err(CommandError::Stamp(_))), "older");
    assert_eq!(h.refused_target_stamps(), 5);
}

/// A gripper whose link fails while `failing` is set.
#[derive(Debug)]
struct FlakyGripper {
    failing: Arc<AtomicBool>,
}

impl FlakyGripper {
    fn check(&self) -> Result<(), DriverError> {
        if self.failing.load(Ordering::Acquire) {
            Err(DriverError::Disconnected { device: "/dev/ttyGRIPPER".into(), detail: "unplugged".into() })
        } else {
            Ok(())
        }
    }
}

impl GripperDriver for FlakyGripper {
    fn command(&mut self, _cmd: GripperCommand) -> Result<(), DriverError> {
        self.check()
    }
    fn read(&mut self) -> Result<GripperState, DriverError> {
        self.check().map(|()| GripperState { width: 0.04, target_width: 0.04, force: 0.0 })
    }
}

/// Regression (gripper driver errors were dropped in the loop): each run of gripper failures is handed to the
/// handle once, naming the device, while the arm keeps running.
#[test]
fn gripper_errors_are_reported_once_per_outage_and_the_arm_keeps_running() {
    let failing = Arc::new(AtomicBool::new(true));
    let (_, h, _clock) = spawn_default_cell(FlakyGripper { failing: failing.clone() });
    let first = wait_for(&h, "cycles", |s| s.cycles > 10 * GRIPPER_READ_EVERY).cycles;
    let e = h.next_gripper_fault().expect("the failing read is reported");
    assert!(e.to_string().contains("/dev/ttyGRIPPER"), "{e}");
    assert!(h.next_gripper_fault().is_none(), "one report per outage, not one per cycle");
    wait_for(&h, "the arm keeps running", |s| s.cycles > first + 100 && s.mode != ControllerMode::Fault);
    failing.store(false, Ordering::Release);
    let back = h.latest_status().cycles;
    wait_for(&h, "reads work again", |s| s.cycles > back + 3 * GRIPPER_READ_EVERY);
    failing.store(true, Ordering::Release);
    let start = Instant::now();
    let again = loop {
        if let Some(e) = h.next_gripper_fault() {
            break e;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "a second outage is reported");
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(again.to_string().contains("unplugged"), "{again}");
    h.stop();
}

fn wait_for(h: &ControllerHandle, what: &str, f: impl Fn(&ControllerStatus) -> bool) -> ControllerStatus {
    let start = Instant::now();
    loop {
        let s = h.latest_status();
        if f(&s) {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting for {what}: {s:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn loop_runs_takes_targets_commands_and_rejects_bad_gains_keeping_the_old_ones() {
    let (cfg, h, clock) = spawn_default_cell(RecordingGripper::default());
    wait_for(&h, "cycles", |s| s.cycles > 10);

    let target = PoseTarget {
        pose: Pose { position: [0.5, 0.0, 0.3], orientation: [0.0, 1.0, 0.0, 0.0] },
        gripper: Some(GripperCommand { width: 0.5, force: 10.0 }),
        ..PoseTarget::default()
    };
    h.set_target(&target).expect("target");
    let s = wait_for(&h, "tracking", |s| s.mode == ControllerMode::Tracking);
    assert_eq!(s.pose_target.position, [0.5, 0.0, 0.3]);
    wait_for(&h, "gripper target clamped to max width", |s| (s.gripper.target_width - 0.08).abs() < 1e-12);

    let mut bad = cfg.controller.gains;
    bad.rotational_damping[2] = -1.0;
    assert!(matches!(h.command(&Command::SetGains(bad)), Err(CommandError::Gains(_))));
    let mut good = cfg.controller.gains;
    good.translational_stiffness = [1500.0; 3];
    h.command(&Command::SetGains(good)).expect("valid gains");
    wait_for(&h, "new gains in force", |s| s.gains == good);
    assert!(matches!(h.command(&Command::SetGains(bad)), Err(CommandError::Gains(_))));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(h.latest_status().gains, good, "rejected gains leave the old ones in force");
    assert!(matches!(h.command(&Command::Label(true)), Err(CommandError::NotForController { .. })));

    h.command(&Command::EStop).expect("estop");
    wait_for(&h, "estop", |s| s.mode == ControllerMode::EStopped && s.estop);
    h.command(&Command::ResetEStop).expect("reset");
    wait_for(&h, "a reset within the dwell is refused", |s| s.refused_resets == 1);
    assert!(h.latest_status().estop);
    clock.advance_ns(crate::core::RESET_DWELL_NS);
    h.command(&Command::ResetEStop).expect("reset");
    wait_for(&h, "reset", |s| s.mode == ControllerMode::Idle && !s.estop);

    let msg = h.latest_state();
    assert_eq!(msg.q.len(), 7);
    let summary = h.stop().expect("summary");
    assert!(summary.cycles > 10);
    assert!(!h.is_running());
    assert!(matches!(h.command(&Command::ResetEStop), Err(CommandError::Stopped)));
}
