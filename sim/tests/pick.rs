//! The scripted grasp picks the cube in closed loop with the real controller.

use controller::core::ControllerCore;
use controller::testing::panda_config;
use sim::scripted::{PickPhase, PickScript};
use sim::{SimArm, SimWorld, Task};

#[test]
fn scripted_pick_lifts_the_cube_and_the_task_reports_success() {
    let cfg = panda_config();
    let mut world = SimWorld::new(&cfg).expect("world");
    let mut task = Task::new(&cfg.task, &cfg.workspace);
    task.reset(&mut world, 11);
    assert!(!task.success(&world));
    assert_eq!(task.reward(&world), 0.0);
    let mut c = ControllerCore::new(&cfg, SimArm::new(world)).expect("core");
    let mut script = PickScript::new(&cfg.gripper, &cfg.task);
    let mut lifted_at = None;
    for k in 0..12_000u64 {
        let now = c.driver().world().now();
        if k % 10 == 0 {
            let w = c.driver().world();
            let (ee, grip, cube) = (c.status().ee_pose, w.gripper_state(), w.cube_pose());
            let step = script.step(now, &ee, &grip, &cube);
            if k > 0 {
                c.set_target(&step.target).expect("target");
            }
            c.driver_mut().world_mut().command_gripper(step.gripper);
        }
        c.step(now).expect("step");
        if script.phase() == PickPhase::Done && task.success(c.driver().world()) {
            lifted_at = Some(k);
            break;
        }
    }
    let w = c.driver().world();
    assert!(
        lifted_at.is_some(),
        "cube not lifted: phase {:?}, lift {:.4} m, gripper {:?}",
        script.phase(),
        task.lift(w),
        w.gripper_state()
    );
    assert_eq!(task.reward(w), 1.0);
    assert!(task.shaped_reward(w) > 0.9);
}
