//! The real-time rule, checked: [`ControllerCore::step`] allocates nothing — nominal tracking, a target clamped to
//! the workspace box, the command watchdog's hold, a latched e-stop, a driver fault and the cycles in `Fault`
//! after it (the fault path moves the driver's error, it never clones it or formats a string).
//!
//! A global allocator counts the allocations of the thread that switched counting on; other tests' threads are
//! not counted.

use crate::core::ControllerCore;
use crate::testing::{ScriptedArm, home_q, panda_config};
use interfaces::Stamp;
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec};
use interfaces::msg::{ControllerMode, Pose};
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

    core.estop();
    assert_eq!(allocations(|| cycles(&mut core, 50)), 0, "a latched e-stop");
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
