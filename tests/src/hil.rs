//! Shared by the hardware-in-the-loop tests: the step-response check every driver must pass.

use controller::core::ControllerCore;
use interfaces::drivers::{ArmDriver, DriverError};
use interfaces::msg::{ControllerMode, Pose};
use interfaces::{Clock, MockClock};
use nalgebra::{Isometry3, UnitQuaternion, Vector3};
use std::time::{Duration, Instant};

/// One control cycle at the emulated robot's time.
#[allow(dead_code)] // not every test file that shares this module drives an emulator
pub fn cycle<D: ArmDriver>(c: &mut ControllerCore<D>, clock: &MockClock) -> Result<(), DriverError> {
    c.step(clock.now()).map(|_| ())
}

/// `n` control cycles that must all succeed.
#[allow(dead_code)] // not every test file that shares this module drives an emulator
pub fn run<D: ArmDriver>(c: &mut ControllerCore<D>, clock: &MockClock, n: usize) {
    for k in 0..n {
        cycle(c, clock).unwrap_or_else(|e| panic!("cycle {k}: {e}"));
    }
}

/// Waits (≤ 3 s) until what `view` shows of an emulated robot is `ok`; fails naming `what` with the last view.
#[allow(dead_code)] // not every test file that shares this module waits on an emulator
pub fn wait_until<V: std::fmt::Debug>(view: impl Fn() -> V, what: &str, ok: impl Fn(&V) -> bool) {
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let v = view();
        if ok(&v) {
            return;
        }
        assert!(Instant::now() < until, "{what}: {v:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// From where the TCP is, targets +5 cm along x and +0.2 rad about z (the target re-sent every `resend` cycles,
/// as a 20 Hz policy would), runs `cycles` control cycles (1.5 s at the driver's rate) through `cycle`, and asserts
/// the controller's step-response criteria: within 2 mm and 0.02 rad at the end, no overshoot beyond the
/// translational error clip, still tracking.
pub fn assert_step_response<D: ArmDriver>(
    c: &mut ControllerCore<D>,
    cycles: usize,
    resend: usize,
    mut cycle: impl FnMut(&mut ControllerCore<D>) -> Result<(), DriverError>,
) {
    let tcp = |c: &ControllerCore<D>| -> Isometry3<f64> { c.status().ee_pose.to_isometry() };
    let start = tcp(c);
    let clip = c.law().gains().translational_clip[0];
    let goal = Isometry3::from_parts(
        (start.translation.vector + Vector3::new(0.05, 0.0, 0.0)).into(),
        UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 0.2) * start.rotation,
    );
    let mut over = f64::NEG_INFINITY;
    for k in 0..cycles {
        if k % resend == 0 {
            c.set_target(&Pose::from_isometry(&goal)).expect("target");
        }
        cycle(c).unwrap_or_else(|e| panic!("cycle {k}: {e}"));
        over = over.max(tcp(c).translation.x - goal.translation.x);
    }
    let end = tcp(c);
    let pos_err = (end.translation.vector - goal.translation.vector).norm();
    let rot_err = end.rotation.angle_to(&goal.rotation);
    assert!(pos_err < 0.002, "position error after 1.5 s: {pos_err} m");
    assert!(rot_err < 0.02, "orientation error after 1.5 s: {rot_err} rad");
    assert!(over < clip, "overshoot {over} m beyond the clip {clip} m");
    assert_eq!(c.mode(), ControllerMode::Tracking);
}
