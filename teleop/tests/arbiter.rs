//! The intervention arbiter: dead zone, hold time, gripper-only override, stale input, counters.

use interfaces::config::{TaskConfig, TaskKind, TeleopConfig};
use interfaces::msg::{Header, TeleopCommand};
use interfaces::time::Stamp;
use teleop::{Action, ArbiterConfig, GripperAction, InterventionArbiter, Overridden, TeleopInput};

const MS: u64 = 1_000_000;

fn task() -> TaskConfig {
    TaskConfig {
        kind: TaskKind::PickCube,
        seed: 0,
        policy_hz: 10.0,
        episode_time_s: 10.0,
        discount: 0.97,
        reach_tolerance: 0.02,
        lift_height: 0.05,
        reward: Default::default(),
        action_scale_m: 0.02,
        action_scale_rad: 0.1,
        max_rotation_rad: 0.5,
        cube: Default::default(),
    }
}

/// 10 Hz policy, 2 cm / 0.1 rad per unit action, threshold 0.05, hold 300 ms, stale after 200 ms.
fn arbiter() -> InterventionArbiter {
    InterventionArbiter::new(ArbiterConfig::new(&TeleopConfig::default(), &task()))
}

fn policy() -> Action {
    Action { continuous: vec![0.5, -0.5, 0.25, 0.0, 0.1, -0.1], gripper: GripperAction::Open }
}

fn cmd(t_ms: u64, twist: [f64; 6], gripper_close: Option<bool>, takeover: bool) -> TeleopCommand {
    TeleopCommand {
        header: Header { seq: 0, stamp_ns: Stamp(t_ms * MS) },
        device: "spacemouse".into(),
        twist,
        gripper_close,
        takeover,
    }
}

#[test]
fn twist_is_converted_to_the_action_space_with_dt_over_scale() {
    let a = ArbiterConfig::new(&TeleopConfig::default(), &task());
    // 0.1 m/s for 0.1 s = 1 cm = 0.5 of the 2 cm step; 0.5 rad/s → 0.05 rad = 0.5 of 0.1 rad; clamped at ±1.
    let act = a.twist_to_action(&[0.1, -0.1, 1.0, 0.5, -0.2, f64::NAN]);
    let want = [0.5, -0.5, 1.0, 0.5, -0.2, 0.0];
    assert!(act.iter().zip(want).all(|(x, y)| (x - y).abs() < 1e-6), "{act:?}");
}

#[test]
fn input_inside_the_deadzone_leaves_the_policy_in_control() {
    let mut arb = arbiter();
    // 0.008 m/s → 0.04 action: below the 0.05 threshold.
    let c = cmd(1000, [0.008, 0.0, 0.0, 0.0, 0.0, 0.0], None, false);
    let r = arb.arbitrate(Stamp(1000 * MS), &policy(), Some(TeleopInput::stamped(&c)));
    assert_eq!(r.executed, policy());
    assert!(!r.intervention && !r.human_active);
    assert_eq!(r.overridden, Overridden::default());
    assert_eq!(r.routing(), teleop::Routing { online: true, demo: false });
    // No input at all: same.
    let r = arb.arbitrate(Stamp(1100 * MS), &policy(), None);
    assert_eq!((r.executed, r.intervention), (policy(), false));
    // Just above it: the human takes over.
    let c = cmd(1200, [0.012, 0.0, 0.0, 0.0, 0.0, 0.0], None, false);
    let r = arb.arbitrate(Stamp(1200 * MS), &policy(), Some(TeleopInput::stamped(&c)));
    assert!(r.intervention && r.human_active);
    assert!((r.executed.continuous[0] - 0.06).abs() < 1e-6);
    assert_eq!(&r.executed.continuous[1..], &[0.0f32; 5]);
    assert_eq!(r.executed.gripper, GripperAction::Stay, "no gripper button during a takeover: stay");
    assert_eq!(r.routing(), teleop::Routing { online: true, demo: true });
}

#[test]
fn the_human_keeps_control_for_the_hold_time_after_letting_go() {
    let mut arb = arbiter();
    let push = cmd(0, [0.1, 0.0, 0.0, 0.0, 0.0, 0.0], None, false);
    let r = arb.arbitrate(Stamp(0), &policy(), Some(TeleopInput::stamped(&push)));
    assert!(r.human_active && (r.executed.continuous[0] - 0.5).abs() < 1e-6);
    // Released at 100 ms: the device now reads zero; held for 300 ms after the last active step (t = 0).
    for t in [100, 200, 300] {
        let idle = cmd(t, [0.0; 6], None, false);
        let r = arb.arbitrate(Stamp(t * MS), &policy(), Some(TeleopInput::stamped(&idle)));
        assert!(r.intervention && !r.human_active, "t = {t} ms is within the hold");
        assert_eq!(r.executed.continuous, vec![0.0; 6], "the arm holds still instead of snapping back");
        assert_eq!(r.executed.gripper, GripperAction::Stay);
    }
    let idle = cmd(400, [0.0; 6], None, false);
    let r = arb.arbitrate(Stamp(400 * MS), &policy(), Some(TeleopInput::stamped(&idle)));
    assert!(!r.intervention, "hold over: the policy is back");
    assert_eq!(r.executed, policy());
    let s = arb.end_episode();
    assert_eq!((s.steps, s.interventions, s.intervention_steps), (5, 1, 4));
    assert!((s.rate() - 0.8).abs() < 1e-6);
    assert_eq!(arb.stats(), Default::default(), "counters reset per episode");
}

#[test]
fn takeover_button_holds_the_arm_under_human_control_without_motion() {
    let mut arb = arbiter();
    let c = cmd(0, [0.0; 6], None, true);
    let r = arb.arbitrate(Stamp(10 * MS), &policy(), Some(TeleopInput::stamped(&c)));
    assert!(r.human_active && r.intervention);
    assert_eq!(r.executed, Action { continuous: vec![0.0; 6], gripper: GripperAction::Stay });
}

#[test]
fn a_gripper_button_overrides_only_the_gripper() {
    let mut arb = arbiter();
    for (close, want) in [(true, GripperAction::Close), (false, GripperAction::Open)] {
        let c = cmd(0, [0.001, 0.0, 0.0, 0.0, 0.0, 0.0], Some(close), false);
        let r = arb.arbitrate(Stamp(0), &policy(), Some(TeleopInput::stamped(&c)));
        assert_eq!(r.executed.continuous, policy().continuous, "the policy keeps the motion");
        assert_eq!(r.executed.gripper, want);
        assert_eq!(r.overridden, Overridden { motion: false, gripper: true });
        assert!(r.intervention && !r.human_active);
        assert!(r.routing().demo);
    }
    // Moving and closing: both overridden.
    let c = cmd(0, [0.0, 0.0, -0.1, 0.0, 0.0, 0.0], Some(true), false);
    let r = arb.arbitrate(Stamp(0), &policy(), Some(TeleopInput::stamped(&c)));
    assert_eq!(r.overridden, Overridden { motion: true, gripper: true });
    assert_eq!(r.executed.gripper, GripperAction::Close);
    assert!((r.executed.continuous[2] + 0.5).abs() < 1e-6);
    let s = arb.stats();
    assert_eq!((s.steps, s.interventions, s.intervention_steps), (3, 1, 3), "one continuous intervention");
}

#[test]
fn stale_input_is_ignored() {
    let mut arb = arbiter();
    // Full push stamped 250 ms before now: older than the 200 ms bound.
    let old = cmd(1000, [0.2, 0.0, 0.0, 0.0, 0.0, 0.0], Some(true), true);
    let r = arb.arbitrate(Stamp(1250 * MS), &policy(), Some(TeleopInput::stamped(&old)));
    assert_eq!(r.executed, policy());
    assert!(!r.intervention);
    // Judged by when the actor received it instead (a device on another host): fresh.
    let r = arb.arbitrate(Stamp(1250 * MS), &policy(), Some(TeleopInput { command: &old, stamp: Stamp(1240 * MS) }));
    assert!(r.intervention && r.executed.continuous[0] == 1.0);
    // The device then stops sending: after the hold, stale input leaves the policy in control; during the hold
    // the executed motion is zero (no fresh human action).
    let r = arb.arbitrate(Stamp(1450 * MS), &policy(), Some(TeleopInput { command: &old, stamp: Stamp(1240 * MS) }));
    assert_eq!(r.executed, Action { continuous: vec![0.0; 6], gripper: GripperAction::Stay });
    let r = arb.arbitrate(Stamp(1600 * MS), &policy(), Some(TeleopInput { command: &old, stamp: Stamp(1240 * MS) }));
    assert_eq!((r.executed, r.intervention), (policy(), false));
    let s = arb.stats();
    assert_eq!((s.steps, s.interventions, s.intervention_steps), (4, 1, 2));
}

#[test]
fn separate_takeovers_are_counted_separately() {
    let mut arb = arbiter();
    let push = cmd(0, [0.1, 0.0, 0.0, 0.0, 0.0, 0.0], None, false);
    let idle = cmd(0, [0.0; 6], None, false);
    let mut t = 0;
    for pattern in [true, true, false, false, false, false, false, true, false, false, false, false] {
        let c = if pattern { push.clone() } else { idle.clone() };
        let c = TeleopCommand { header: Header { seq: 0, stamp_ns: Stamp(t * MS) }, ..c };
        arb.arbitrate(Stamp(t * MS), &policy(), Some(TeleopInput::stamped(&c)));
        t += 100;
    }
    let s = arb.end_episode();
    // Flags: 1 1 (1 1 1 hold) 0 0 | 1 (1 1 1 hold) 0 → two interventions of 5 and 4 steps.
    assert_eq!((s.steps, s.interventions, s.intervention_steps), (12, 2, 9));
}
