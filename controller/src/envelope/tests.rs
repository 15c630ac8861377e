use crate::core::{ControllerCore, TargetError};
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
