//! The real controller driving the simulated arm, stepped synchronously on the world's mock clock.

use controller::core::ControllerCore;
use controller::testing::panda_config;
use interfaces::msg::{Command, ControllerMode, Pose};
use nalgebra::{Isometry3, UnitQuaternion, Vector3};
use sim::{SimArm, SimWorld};

fn core() -> ControllerCore<SimArm> {
    let cfg = panda_config();
    ControllerCore::new(&cfg, SimArm::new(SimWorld::new(&cfg).expect("world"))).expect("core")
}

/// Steps `n` cycles; returns the largest TCP speed seen, m/s.
fn run(c: &mut ControllerCore<SimArm>, n: usize) -> f64 {
    let mut vmax: f64 = 0.0;
    for _ in 0..n {
        let now = c.driver().world().now();
        let s = c.step(now).expect("step");
        vmax = vmax.max(Vector3::new(s.ee_twist[0], s.ee_twist[1], s.ee_twist[2]).norm());
    }
    vmax
}

/// Steps `n` cycles re-sending `target` every 50 ms (as a policy would, so the watchdog stays quiet); returns
/// the largest TCP speed, m/s, and the largest x beyond the target's x, m.
fn track(c: &mut ControllerCore<SimArm>, target: &Isometry3<f64>, n: usize) -> (f64, f64) {
    let (mut vmax, mut over): (f64, f64) = (0.0, f64::NEG_INFINITY);
    for k in 0..n {
        if k % 50 == 0 {
            c.set_target(&Pose::from_isometry(target)).expect("target");
        }
        let now = c.driver().world().now();
        let s = c.step(now).expect("step");
        vmax = vmax.max(Vector3::new(s.ee_twist[0], s.ee_twist[1], s.ee_twist[2]).norm());
        over = over.max(c.driver().world().tcp_pose().translation.x - target.translation.x);
    }
    (vmax, over)
}

fn settle(c: &mut ControllerCore<SimArm>) -> Isometry3<f64> {
    run(c, 300);
    c.driver().world().tcp_pose()
}

#[test]
fn step_response_reaches_5cm_and_0_2rad_within_1_5s_without_overshoot_beyond_the_clip() {
    let mut c = core();
    let start = settle(&mut c);
    let clip = c.law().gains().translational_clip[0];
    let goal = Isometry3::from_parts(
        (start.translation.vector + Vector3::new(0.05, 0.0, 0.0)).into(),
        UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 0.2) * start.rotation,
    );
    let (_, max_overshoot) = track(&mut c, &goal, 1500);
    let tcp = c.driver().world().tcp_pose();
    let pos_err = (tcp.translation.vector - goal.translation.vector).norm();
    let rot_err = tcp.rotation.angle_to(&goal.rotation);
    assert!(pos_err < 0.002, "position error after 1.5 s: {pos_err} m");
    assert!(rot_err < 0.02, "orientation error after 1.5 s: {rot_err} rad");
    assert!(max_overshoot < clip, "overshoot {max_overshoot} m beyond the clip {clip} m");
}

#[test]
fn a_target_1m_away_moves_the_arm_at_bounded_speed() {
    let mut c = core();
    let start = settle(&mut c);
    let mut far = start;
    far.translation.vector += Vector3::new(0.0, 1.0, 0.0);
    let g = *c.law().gains();
    // Clipped force over damping: |ẋ| ≲ K·clip / D per axis.
    let bound = g.translational_stiffness[1] * g.translational_clip[1] / g.translational_damping[1];
    let (vmax, _) = track(&mut c, &far, 1500);
    assert!(vmax < 1.5 * bound, "TCP speed {vmax} m/s exceeds the clip-implied bound {bound} m/s");
    let moved = c.driver().world().tcp_pose().translation.y - start.translation.y;
    assert!(moved > 0.1, "the arm must move towards the target ({moved} m)");
    assert!(c.counters().error_clips > 0 && c.counters().workspace_clamps > 0);
    let st = c.status();
    assert!(panda_config().workspace.contains(st.pose_target.position));
}

#[test]
fn gravity_hold_keeps_the_pose_with_no_new_target() {
    let mut c = core();
    run(&mut c, 1);
    let initial = c.driver().world().tcp_pose();
    // The start-up transient (torques ramp up from zero at the rate limit) settles within half a second.
    run(&mut c, 700);
    let settled = c.driver().world().tcp_pose();
    run(&mut c, 2000);
    let end = c.driver().world().tcp_pose();
    let drift = (end.translation.vector - settled.translation.vector).norm();
    assert!(drift < 0.0005, "drift {drift} m under gravity hold");
    let offset = (end.translation.vector - initial.translation.vector).norm();
    assert!(offset < 0.001, "held pose {offset} m away from the initial pose");
    assert!(end.rotation.angle_to(&initial.rotation) < 0.005);
    assert_eq!(c.mode(), ControllerMode::Idle);
}

#[test]
fn watchdog_holds_the_pose_when_targets_stop() {
    let mut c = core();
    let start = settle(&mut c);
    let mut t = start;
    t.translation.vector.z -= 0.1;
    c.set_target(&Pose::from_isometry(&t)).expect("target");
    run(&mut c, 150); // moving towards the target, 150 ms < watchdog 200 ms
    assert_eq!(c.mode(), ControllerMode::Tracking);
    run(&mut c, 60);
    assert_eq!(c.mode(), ControllerMode::WatchdogHold);
    let at_trip = c.driver().world().tcp_pose();
    run(&mut c, 1000);
    let end = c.driver().world().tcp_pose();
    assert!((end.translation.z - t.translation.z).abs() > 0.03, "the stale target must not be reached");
    assert!((end.translation.vector - at_trip.translation.vector).norm() < 0.01, "holds near the trip pose");
    assert_eq!(c.counters().watchdog_trips, 1);
}

#[test]
fn estop_latches_holds_the_arm_and_ignores_targets_until_reset() {
    let mut c = core();
    let start = settle(&mut c);
    c.estop();
    let mut t = start;
    t.translation.vector.x += 0.1;
    assert!(c.set_target(&Pose::from_isometry(&t)).is_err());
    run(&mut c, 500);
    assert_eq!(c.mode(), ControllerMode::EStopped);
    assert!(c.driver().world().brakes_engaged());
    let held = c.driver().world().tcp_pose();
    assert!((held.translation.vector - start.translation.vector).norm() < 0.001);
    c.reset_estop();
    run(&mut c, 10);
    assert_eq!(c.mode(), ControllerMode::Idle);
    c.set_target(&Pose::from_isometry(&t)).expect("accepted after reset");
    track(&mut c, &t, 1500);
    let end = c.driver().world().tcp_pose();
    assert!((end.translation.vector - t.translation.vector).norm() < 0.002);
}

#[test]
fn bad_gains_are_rejected_and_the_old_gains_stay_in_force() {
    let cfg = panda_config();
    let mut c = core();
    let before = *c.law().gains();
    let mut bad = before;
    bad.translational_clip = [5.0, 0.01, 0.01];
    let cmd = Command::SetGains(bad);
    let Command::SetGains(g) = cmd else { unreachable!("constructed above") };
    assert!(controller::law::ValidatedGains::new(g).is_err());
    assert_eq!(*c.law().gains(), before);
    assert_eq!(before, cfg.controller.gains);
    run(&mut c, 10);
    assert_eq!(c.status().gains, before);
}

#[test]
fn same_seed_same_trajectory() {
    let cfg = panda_config();
    let traj = |seed: u64| {
        let mut world = SimWorld::new(&cfg).expect("world");
        let mut task = sim::Task::new(&cfg.task, &cfg.workspace);
        task.reset(&mut world, seed);
        let mut c = ControllerCore::new(&cfg, SimArm::new(world)).expect("core");
        run(&mut c, 100);
        let mut t = c.driver().world().tcp_pose();
        t.translation.vector.z -= 0.05;
        c.set_target(&Pose::from_isometry(&t)).expect("target");
        run(&mut c, 300);
        (c.driver().world().joint_state().q, c.driver().world().cube_pose().translation.vector)
    };
    assert_eq!(traj(3), traj(3));
    assert_ne!(traj(3).0, traj(4).0);
}

/// Exploration pins the TCP at a corner of the workspace box for seconds while the redundant joint is free: the
/// nullspace posture must keep the elbow bent (a straight elbow is a singularity the arm cannot be pulled back
/// from), and the arm must come back to its home pose afterwards.
#[test]
fn the_arm_comes_back_from_seconds_at_the_workspace_corner_with_its_elbow_bent() {
    let mut c = core();
    let home = settle(&mut c);
    let cfg = panda_config();
    let corner = Vector3::new(cfg.workspace.max[0], cfg.workspace.max[1], cfg.workspace.max[2]);
    let mut straightest = f64::NEG_INFINITY;
    // A policy jittering around the corner at 10 Hz for 20 s.
    for k in 0..200 {
        let jitter = Vector3::new(((k * 7) % 5) as f64 - 2.0, ((k * 3) % 5) as f64 - 2.0, ((k * 11) % 5) as f64 - 2.0);
        let p = cfg.workspace.clamp((corner + jitter * 0.005).into());
        // Orientation anywhere within the policy's rotation bound around the start orientation.
        let axis = Vector3::new(((k * 5) % 7) as f64 - 3.0, ((k * 13) % 7) as f64 - 3.0, ((k * 2) % 7) as f64 - 3.0);
        let tilt = if axis.norm() > 0.0 { axis.normalize() * cfg.task.max_rotation_rad } else { axis };
        let rot = UnitQuaternion::from_scaled_axis(tilt) * home.rotation;
        let target = Isometry3::from_parts(Vector3::new(p[0], p[1], p[2]).into(), rot);
        track(&mut c, &target, 100);
        let q = c.driver().world().joint_state().q;
        straightest = straightest.max(q[3]);
    }
    println!("straightest elbow q4 = {straightest:.2}");
    assert!(straightest < -0.4, "the elbow straightened to q4 = {straightest:.2} rad at the corner");
    track(&mut c, &home, 8000);
    let back = (c.driver().world().tcp_pose().translation.vector - home.translation.vector).norm();
    assert!(back < 0.01, "{back:.3} m from home 8 s after leaving the corner");
}
