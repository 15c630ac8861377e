//! The real-time rule, checked: [`ControllerCore::step`] allocates nothing — nominal tracking, a target clamped to
//! the workspace box, the command watchdog's hold, a latched e-stop (with a refused reset and a held gripper
//! command), a driver fault and the cycles in `Fault` after it (the fault path moves the driver's error, it never
//! clones it or formats a string); nor does the real-time loop's whole cycle around it.
//!
//! A global allocator counts the allocations of the thread that switched counting on; other tests' threads are
//! not counted.

use crate::core::ControllerCore;
use crate::rt::{LoopOptions, build};
use crate::testing::{ScriptedArm, home_q, panda_config};
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, GripperDriver, JointState, JointVec};
use interfaces::msg::{Command, ControllerMode, GripperCommand, GripperState, Pose, PoseTarget};
use interfaces::{MockClock, Stamp};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// A scripted arm whose next read fails with an error built beforehand (handed over by move, so the driver
/// allocates nothing in the cycle either).
#[derive(Debug)]
struct FaultingArm {
    arm: ScriptedArm,
    next_error: Option<DriverError>,
}

impl ArmDriver for FaultingArm {
    fn info(&self) -> &ArmInfo {
        self.arm.info()
    }
    fn read_state(&mut self) -> Result<JointState, DriverError> {
        match self.next_error.take() {
            Some(e) => Err(e),
            None => self.arm.read_state(),
        }
    }
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        self.arm.write_torque(tau)
    }
    fn safe_stop(&mut self) -> Result<(), DriverError> {
        self.arm.safe_stop()
    }
}

fn ms(t: u64) -> Stamp {
    Stamp(t * 1_000_000)
}

#[test]
fn a_control_cycle_allocates_nothing_on_any_path() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 16]))) >= 1, "the counter sees allocations");
    let cfg = panda_config();
    let arm = FaultingArm { arm: ScriptedArm::new(7, home_q(), false), next_error: None };
    let mut core = ControllerCore::new(&cfg, arm).expect("core");
    let t = Cell::new(0);
    let cycles = |core: &mut ControllerCore<FaultingArm>, n: u64| {
        for _ in 0..n {
            t.set(t.get() + 1);
            let _ = core.step(ms(t.get()));
        }
    };
    cycles(&mut core, 5);
    let near = Pose { position: [0.45, 0.05, 0.35], orientation: [0.0, 1.0, 0.0, 0.0] };
    let far = Pose { position: [5.0, -5.0, 5.0], orientation: [0.0, 1.0, 0.0, 0.0] };

    core.set_target(&near).expect("target");
    assert_eq!(allocations(|| cycles(&mut core, 50)), 0, "tracking");
    assert_eq!(core.mode(), ControllerMode::Tracking);

    core.set_target(&far).expect("target");
    assert_eq!(allocations(|| cycles(&mut core, 50)), 0, "a target clamped to the workspace box");
    assert!(core.counters().workspace_clamps > 0);

    let hold = (cfg.controller.watchdog_ms as u64 + 50).max(1000);
    assert_eq!(allocations(|| cycles(&mut core, hold)), 0, "the watchdog's hold");
    assert_eq!(core.mode(), ControllerMode::WatchdogHold);

    core.note_issued(7);
    core.estop();
    assert_eq!(
        allocations(|| {
            cycles(&mut core, 50);
            assert!(core.request_reset(3, ms(t.get())).is_err(), "issued before the latch");
            assert!(!core.gate_gripper(), "the gripper holds");
        }),
        0,
        "a latched e-stop, a refused reset, a held gripper command"
    );
    assert_eq!(core.mode(), ControllerMode::EStopped);
    core.reset_estop();
    cycles(&mut core, 5);

    core.driver_mut().next_error =
        Some(DriverError::Disconnected { device: "/dev/ttyARM".into(), detail: "unplugged".into() });
    let mut returned = None;
    assert_eq!(
        allocations(|| {
            t.set(t.get() + 1);
            returned = core.step(ms(t.get())).err();
        }),
        0,
        "a driver fault"
    );
    assert!(returned.is_some_and(|e| e.to_string().contains("/dev/ttyARM")), "the error comes back whole");
    assert_eq!(core.mode(), ControllerMode::Fault);
    assert_eq!(allocations(|| cycles(&mut core, 50)), 0, "the cycles in Fault");
}

/// A gripper that remembers nothing (commands and reads succeed).
#[derive(Debug)]
struct QuietGripper;

impl GripperDriver for QuietGripper {
    fn command(&mut self, _cmd: GripperCommand) -> Result<(), DriverError> {
        Ok(())
    }
    fn read(&mut self) -> Result<GripperState, DriverError> {
        Ok(GripperState::default())
    }
}

/// The loop's own cycle (e-stop counter, command ring, target cell, gripper gate, status out) allocates nothing
/// either, whatever arrives: e-stops, resets refused and accepted, gains, gripper commands held and executed.
#[test]
fn a_loop_cycle_allocates_nothing_whatever_commands_arrive() {
    let cfg = panda_config();
    let core = ControllerCore::new(&cfg, ScriptedArm::new(7, home_q(), false)).expect("core");
    let mut opts = LoopOptions::from_config(&cfg);
    opts.realtime = false;
    let clock = MockClock::new(ms(1));
    let (h, mut rt) = build(core, Some(QuietGripper), cfg.gripper, clock.clone(), opts);
    let mut run = |n: u64| {
        allocations(|| {
            for _ in 0..n {
                clock.advance_ns(1_000_000);
                rt.cycle();
            }
        })
    };
    let close = GripperCommand { width: 0.0, force: 20.0 };
    let target = PoseTarget {
        pose: Pose { position: [0.45, 0.05, 0.35], orientation: [0.0, 1.0, 0.0, 0.0] },
        gripper: Some(close),
        ..PoseTarget::default()
    };
    assert_eq!(run(5), 0, "idle");
    h.set_target(&target).expect("target");
    h.command(&Command::SetGains(cfg.controller.gains)).expect("gains");
    assert_eq!(run(20), 0, "a target, gains and a gripper command");
    h.command(&Command::ResetEStop).expect("reset");
    h.command(&Command::EStop).expect("estop");
    h.gripper(close).expect("gripper");
    h.set_target(&target).expect("target");
    assert_eq!(run(20), 0, "an e-stop, a refused reset, held gripper commands, a refused target");
    assert_eq!(h.latest_status().mode, ControllerMode::EStopped);
    let _ = run(crate::core::RESET_DWELL_NS / 1_000_000);
    h.command(&Command::ResetEStop).expect("reset");
    assert_eq!(run(5), 0, "an accepted reset");
    assert_eq!(h.latest_status().mode, ControllerMode::Idle);
}
