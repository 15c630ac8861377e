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

/// The default cell's loop on a scripted arm at home with `gripper`, not real-time, on a mock clock.
fn spawn_default_cell<G: GripperDriver + 'static>(gripper: G) -> (CellConfig, ControllerHandle) {
    let cfg = panda_config();
    let core = ControllerCore::new(&cfg, ScriptedArm::new(7, home_q(), false)).expect("core");
    let mut opts = LoopOptions::from_config(&cfg);
    opts.realtime = false;
    let h = spawn(core, Some(gripper), cfg.gripper, MockClock::default(), opts).expect("spawn");
    (cfg, h)
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
    let (_, h) = spawn_default_cell(FlakyGripper { failing: failing.clone() });
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
    let (cfg, h) = spawn_default_cell(RecordingGripper::default());
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
    wait_for(&h, "reset", |s| s.mode == ControllerMode::Idle && !s.estop);

    let msg = h.latest_state();
    assert_eq!(msg.q.len(), 7);
    let summary = h.stop().expect("summary");
    assert!(summary.cycles > 10);
    assert!(!h.is_running());
    assert!(matches!(h.command(&Command::ResetEStop), Err(CommandError::Stopped)));
}
