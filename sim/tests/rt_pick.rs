//! The whole sim cell as `corrigo run` wires it: the real-time loop on its own thread paced by the wall clock,
//! the scripted pick on this thread talking to it only through the controller handle and a world observer.

use controller::core::ControllerCore;
use controller::rt::{LoopOptions, spawn};
use controller::testing::panda_config;
use interfaces::msg::{ControllerMode, PoseTarget};
use sim::SimCell;
use sim::mjcf::CUBE_SIZE;
use sim::scripted::{PickPhase, PickScript};
use std::time::{Duration, Instant};

#[test]
fn the_rt_loop_drives_the_simulated_arm_through_a_scripted_pick() {
    let cfg = panda_config();
    let mut cell = SimCell::new(&cfg).expect("cell");
    let mut observer = cell.observer();
    let (arm, gripper, clock) = cell.into_parts();
    let core = ControllerCore::new(&cfg, arm).expect("core");
    let mut opts = LoopOptions::from_config(&cfg);
    opts.realtime = false;
    let handle = spawn(core, Some(gripper), cfg.gripper, clock, opts).expect("loop");
    let mut script = PickScript::new(&cfg.gripper, &cfg.task);
    let start = Instant::now();
    while script.phase() != PickPhase::Done && start.elapsed() < Duration::from_secs(20) {
        let st = handle.latest_status();
        let snap = observer.latest();
        if st.cycles > 0 {
            let step = script.step(snap.stamp, &st.ee_pose, &snap.gripper, &snap.cube_pose());
            handle
                .set_target(&PoseTarget { pose: step.target, gripper: Some(step.gripper), ..PoseTarget::default() })
                .expect("target");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(handle.latest_status().mode, ControllerMode::Tracking);
    // Targets stop: the watchdog holds the pose, the cube stays in the hand.
    std::thread::sleep(Duration::from_millis(500));
    let snap = observer.latest();
    let st = handle.latest_status();
    let summary = handle.stop().expect("summary");
    assert_eq!(script.phase(), PickPhase::Done, "script did not finish: {st:?}");
    assert!(snap.cube_position[2] - CUBE_SIZE / 2.0 >= cfg.task.lift_height, "cube at {:?}", snap.cube_position);
    assert_eq!(st.mode, ControllerMode::WatchdogHold);
    assert!(st.limits.watchdog_trips >= 1);
    assert!(summary.cycles > 1000);
}
