//! Flagged transitions reach the online and the demo buffer through the agent's replay store, with the human's
//! executed action.

use agent::ObsSpec;
use agent::replay::{Observation, ReplayStore, StoreOptions, Transition};
use interfaces::config::{TaskConfig, TaskKind, TeleopConfig};
use interfaces::msg::{Header, TeleopCommand};
use interfaces::time::Stamp;
use std::time::Duration;
use teleop::{Action, ArbiterConfig, GripperAction, InterventionArbiter, TeleopInput};

#[test]
fn interventions_go_to_both_buffers_and_policy_steps_only_online() {
    let spec = ObsSpec { proprio_dim: 2, cameras: vec![], action_dim: 6, gripper: true };
    let dir = tempfile::tempdir().expect("tempdir");
    let opts =
        StoreOptions { online_capacity: 1000, segment_transitions: 64, flush_interval: Duration::from_millis(100) };
    let mut store = ReplayStore::open(dir.path(), &spec, &opts).expect("open store");
    let task = TaskConfig {
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
    };
    let mut arb = InterventionArbiter::new(ArbiterConfig::new(&TeleopConfig::default(), &task));
    let policy = Action { continuous: vec![0.3; 6], gripper: GripperAction::Open };
    let human = TeleopCommand {
        header: Header { seq: 1, stamp_ns: Stamp(0) },
        device: "spacemouse".into(),
        twist: [0.0, 0.1, 0.0, 0.0, 0.0, 0.0],
        gripper_close: Some(true),
        takeover: false,
    };
    let mut executed = Vec::new();
    for step in 0..4u64 {
        let now = Stamp(step * 1_000_000_000);
        // The human corrects at step 1 only (the hold of 300 ms ends before step 2).
        let input = (step == 1).then_some(TeleopInput { command: &human, stamp: now });
        let r = arb.arbitrate(now, &policy, input);
        assert_eq!(r.routing().demo, step == 1);
        let obs = Observation { proprio: vec![step as f32, 0.0], images: vec![] };
        let t = Transition {
            obs: obs.clone(),
            action: r.executed.clone(),
            reward: 0.0,
            next_obs: obs,
            done: false,
            truncated: false,
            intervention: r.intervention,
            gripper_changed: false,
            episode: 1,
            obs_stamp_ns: now.0,
            next_stamp_ns: now.0 + 1,
        };
        store.append(&t).expect("append");
        executed.push(t.action);
    }
    store.flush().expect("flush");
    assert_eq!(store.online_len(), 4);
    assert_eq!(store.demo_len(), 1);
    let demo = store.get(true, 0).expect("demo transition");
    assert!(demo.intervention);
    assert_eq!(demo.action, executed[1], "the human's executed action is stored");
    assert_eq!(demo.action.continuous, vec![0.0, 0.5, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(demo.action.gripper, GripperAction::Close);
    assert_eq!(store.get(false, 1).expect("online copy").action, executed[1]);
    assert_eq!(store.get(false, 0).expect("policy step").action, policy.clone());
    assert_eq!(arb.stats().intervention_steps, 1);
}
