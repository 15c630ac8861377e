use crate::core::{ControllerCore, RESET_DWELL_NS, ResetRefused, TargetError};
use crate::testing::{ScriptedArm, home_q, panda_config};
use interfaces::Stamp;
use interfaces::drivers::MAX_DOF;
use interfaces::msg::{ControllerMode, Pose};
use proptest::prelude::*;

fn core() -> ControllerCore<ScriptedArm> {
    ControllerCore::new(&panda_config(), ScriptedArm::new(7, home_q(), false)).expect("core")
}

fn ms(n: u64) -> Stamp {
    Stamp(n * 1_000_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// For any sequence of targets and measured states: the target in force is inside the workspace box, every
    /// torque written is within the joint's limit and within the rate limit of the previous cycle.
    #[test]
    fn target_in_box_torques_within_limits_and_rate(
        steps in proptest::collection::vec(
            (
                proptest::array::uniform3(-3.0f64..3.0),
                proptest::array::uniform4(-1.0f64..1.0),
                proptest::array::uniform7(-3.0f64..3.0),
                proptest::array::uniform7(-4.0f64..4.0),
                any::<bool>(),
            ),
            1..40,
        )
    ) {
        let cfg = panda_config();
        let mut c = core();
        let tmax = *c.model().torque_limit();
        let step_max = cfg.controller.torque_rate_limit / cfg.controller.rate_hz;
        let mut prev = [0.0; MAX_DOF];
        for (k, (p, quat, q, dq, send)) in steps.iter().enumerate() {
            let n = quat.iter().map(|v| v * v).sum::<f64>().sqrt();
            if *send && n > 0.1 {
                let pose = Pose { position: *p, orientation: quat.map(|v| v / n) };
                c.set_target(&pose).expect("valid target");
            }
            c.driver_mut().state.q = *q;
            c.driver_mut().state.dq = *dq;
            let st = *c.step(ms(k as u64)).expect("step");
            prop_assert!(cfg.workspace.contains(st.pose_target.position), "target {:?}", st.pose_target.position);
            let tau = c.driver().last_torque.expect("written");
            for i in 0..7 {
                prop_assert!(tau[i].abs() <= tmax[i] + 1e-9, "joint {} torque {} > {}", i, tau[i], tmax[i]);
                prop_assert!((tau[i] - prev[i]).abs() <= step_max + 1e-9, "joint {} rate", i);
            }
            prev = tau;
        }
    }
}

#[test]
fn estop_latches_routes_to_safe_stop_and_ignores_targets_until_reset() {
    let mut c = core();
    c.step(ms(0)).expect("step");
    c.estop();
    let target = Pose { position: [0.5, 0.1, 0.3], orientation: [0.0, 1.0, 0.0, 0.0] };
    assert_eq!(c.set_target(&target), Err(TargetError::Ignored { mode: ControllerMode::EStopped }));
    let writes = c.driver().writes;
    for k in 1..50 {
        let st = c.step(ms(k)).expect("step");
        assert_eq!(st.mode, ControllerMode::EStopped);
        assert!(st.estop);
    }
    assert_eq!(c.driver().writes, writes, "no torque reaches the driver while latched");
    assert_eq!(c.driver().safe_stops, 49);
    c.reset_estop();
    let st = c.step(ms(50)).expect("step");
    assert_eq!(st.mode, ControllerMode::Idle);
    assert_eq!(c.driver().writes, writes + 1);
    c.set_target(&target).expect("accepted after reset");
    assert_eq!(c.step(ms(51)).expect("step").mode, ControllerMode::Tracking);
}

#[test]
fn watchdog_trips_after_the_period_and_holds_the_measured_pose() {
    let mut c = core();
    let start = c.step(ms(0)).expect("step").ee_pose;
    let target = Pose { position: [0.5, 0.1, 0.3], orientation: [0.0, 1.0, 0.0, 0.0] };
    c.set_target(&target).expect("target");
    for k in 1..=201 {
        assert_eq!(c.step(ms(k)).expect("step").mode, ControllerMode::Tracking, "cycle {k}");
    }
    let st = *c.step(ms(202)).expect("step");
    assert_eq!(st.mode, ControllerMode::WatchdogHold);
    assert_eq!(st.limits.watchdog_trips, 1);
    // The scripted arm has not moved: the hold target is the measured pose, not the stale target.
    for i in 0..3 {
        assert!((st.pose_target.position[i] - start.position[i]).abs() < 1e-12);
    }
}

#[test]
fn a_failing_driver_faults_the_controller_and_stops_the_arm() {
    let mut c = core();
    c.step(ms(0)).expect("step");
    c.driver_mut().fail_reads =
        Some(interfaces::drivers::DriverError::Disconnected { device: "scripted".into(), detail: "test".into() });
    let err = c.step(ms(1)).expect_err("the failing read is returned");
    assert!(matches!(err, interfaces::drivers::DriverError::Disconnected { .. }), "{err}");
    assert_eq!(c.mode(), ControllerMode::Fault);
    assert!(c.driver().safe_stops >= 1);
}

#[test]
fn joint_limit_guard_pushes_away_from_a_limit() {
    let mut c = core();
    let mut q = home_q();
    q[3] = c.model().upper()[3] - 0.01; // joint 4 inside the margin near its upper limit
    c.driver_mut().state.q = q;
    for k in 0..200 {
        c.step(ms(k)).expect("step");
    }
    let tau = c.driver().last_torque.expect("written");
    assert!(tau[3] < -1.0, "repulsion expected, got {}", tau[3]);
    assert!(c.counters().joint_limit_guards > 0);
}

#[test]
fn velocity_guard_brakes_a_fast_joint() {
    let mut c = core();
    let mut dq = [0.0; MAX_DOF];
    dq[0] = 2.1; // joint 1 above 0.8 × 2.175 rad/s
    c.driver_mut().state.dq = dq;
    for k in 0..200 {
        c.step(ms(k)).expect("step");
    }
    let tau = c.driver().last_torque.expect("written");
    assert!(tau[0] < -10.0, "braking torque expected, got {}", tau[0]);
    assert!(c.counters().velocity_guards > 0);
}

/// Regression (an e-stop was cleared by a reset queued before it): a reset issued before the latch never clears
/// it, however long the latch has lasted.
#[test]
fn a_reset_issued_before_the_estop_never_clears_it() {
    let mut c = core();
    c.step(ms(0)).expect("step");
    c.note_issued(1); // the reset, #1
    c.note_issued(2); // the e-stop, #2
    c.estop();
    for k in 1..=1000 {
        c.step(ms(k)).expect("step");
    }
    assert!(matches!(c.request_reset(1, ms(1000)), Err(ResetRefused::IssuedBeforeLatch { issued: 1, latched: 2 })));
    assert_eq!(c.step(ms(1001)).expect("step").mode, ControllerMode::EStopped);
    assert_eq!(c.status().refused_resets, 1);
    c.request_reset(3, ms(1001)).expect("a reset issued after the latch, past the dwell");
    assert_eq!(c.step(ms(1002)).expect("step").mode, ControllerMode::Idle);
}

/// Regression (a reset and an e-stop handled in the same cycle ended unlatched): even issued after the e-stop, a
/// reset of the same cycle falls in the dwell of the new latch; a second e-stop restarts the dwell.
#[test]
fn a_reset_and_an_estop_in_the_same_cycle_end_latched() {
    let mut c = core();
    c.step(ms(0)).expect("step");
    c.note_issued(1);
    c.estop();
    for k in 1..=500 {
        c.step(ms(k)).expect("step");
    }
    // Latched 500 ms ago; now an e-stop (#2) and a reset (#3) arrive within one cycle.
    c.note_issued(2);
    c.estop();
    assert!(matches!(c.request_reset(3, ms(501)), Err(ResetRefused::Dwell { .. })));
    for k in 501..=510 {
        let st = c.step(ms(k)).expect("step");
        assert_eq!(st.mode, ControllerMode::EStopped);
        assert!(st.estop);
    }
}

/// A reset within the dwell of the latch is refused (not deferred); one after it clears the latch.
#[test]
fn a_reset_within_the_dwell_is_refused_and_one_after_it_clears_the_latch() {
    let mut c = core();
    c.step(ms(0)).expect("step");
    c.note_issued(1);
    c.estop();
    c.step(ms(10)).expect("step"); // the latch is dated by this cycle
    let dwell_ms = RESET_DWELL_NS / 1_000_000;
    let early = ms(10 + dwell_ms - 1);
    assert!(matches!(c.request_reset(2, early), Err(ResetRefused::Dwell { remaining_ns: 1_000_000, .. })));
    assert_eq!(c.step(early).expect("step").mode, ControllerMode::EStopped, "a refused reset is not deferred");
    c.step(ms(10 + dwell_ms)).expect("step");
    assert_eq!(c.step(ms(11 + dwell_ms)).expect("step").mode, ControllerMode::EStopped);
    c.request_reset(3, ms(11 + dwell_ms)).expect("past the dwell");
    assert_eq!(c.step(ms(12 + dwell_ms)).expect("step").mode, ControllerMode::Idle);
    assert_eq!(c.status().refused_resets, 1);
    // Before any cycle after an e-stop, the latch has no age yet: a reset is refused whatever the clock says.
    c.note_issued(4);
    c.estop();
    assert!(matches!(c.request_reset(5, ms(1_000_000)), Err(ResetRefused::Dwell { .. })));
}

/// The gripper holds while latched: [`ControllerCore::gate_gripper`] refuses and counts.
#[test]
fn the_gripper_is_gated_while_latched() {
    let mut c = core();
    c.step(ms(0)).expect("step");
    assert!(c.gate_gripper());
    c.estop();
    assert!(!c.gate_gripper());
    c.step(ms(1)).expect("step");
    assert!(!c.gate_gripper());
    assert_eq!(c.status().held_gripper_commands, 2);
    c.reset_estop();
    c.step(ms(2)).expect("step");
    assert!(c.gate_gripper());
}

/// Regression (the torque-rate limiter was not re-armed across an e-stop): the first torque after a reset starts
/// from zero (nothing of the torque before the stop is applied while latched), within one rate step.
#[test]
fn the_first_torque_after_a_reset_ramps_from_zero_within_the_rate_limit() {
    let cfg = panda_config();
    let step_max = cfg.controller.torque_rate_limit / cfg.controller.rate_hz;
    let mut c = core();
    let mut dq = [0.0; MAX_DOF];
    dq[0] = 2.1; // the velocity guard brakes joint 1 hard: a large torque builds up
    c.driver_mut().state.dq = dq;
    for k in 0..200 {
        c.step(ms(k)).expect("step");
    }
    let before = c.driver().last_torque.expect("written");
    assert!(before[0] < -20.0 * step_max, "a large torque before the stop: {}", before[0]);
    c.note_issued(1);
    c.estop();
    c.driver_mut().state.dq = [0.0; MAX_DOF];
    for k in 200..600 {
        c.step(ms(k)).expect("step");
    }
    c.request_reset(2, ms(600)).expect("past the dwell");
    let writes = c.driver().writes;
    c.step(ms(600)).expect("step");
    assert_eq!(c.driver().writes, writes + 1);
    let first = c.driver().last_torque.expect("written");
    for (i, t) in first.iter().enumerate().take(7) {
        assert!(t.abs() <= step_max + 1e-9, "joint {i}: {t} N·m jumps past {step_max} N·m from the holding arm");
    }
}
