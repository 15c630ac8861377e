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

#[test]
fn a_scene_drawn_from_a_seed_matches_the_reset_and_a_scene_link_places_the_cube_at_the_next_step() {
    let cfg = panda_config();
    let mut world = SimWorld::new(&cfg).expect("world");
    let mut task = Task::new(&cfg.task, &cfg.workspace);
    let reset = task.reset(&mut world, 21);
    let dof = world.dof();
    let mut q = *world.home();
    let drawn = Task::new(&cfg.task, &cfg.workspace).draw(21, &mut q[..dof]);
    assert_eq!(drawn, reset, "the same seed draws the same scene");
    assert_eq!(&q[..dof], &world.joint_state().q[..dof], "and the same noisy home posture");
    assert_ne!(Task::new(&cfg.task, &cfg.workspace).draw(22, &mut q[..dof]).cube, reset.cube);

    // Another thread edits the scene while the world is stepped elsewhere: applied at the next step only.
    let mut link = world.scene_link();
    let mut reader = world.subscribe();
    let there = nalgebra::Isometry3::translation(0.45, 0.1, reset.cube.translation.z);
    link.place_cube(&there);
    assert_eq!(world.cube_pose(), reset.cube);
    world.step_braked();
    let d = (world.cube_pose().translation.vector - there.translation.vector).norm();
    assert!(d < 1e-3, "{d}");
    assert!((reader.latest().cube_pose().translation.vector - there.translation.vector).norm() < 1e-3);
    // With nothing new requested, the cube stays where physics puts it.
    world.set_cube_pose(&reset.cube);
    world.step_braked();
    assert!((world.cube_pose().translation.vector - reset.cube.translation.vector).norm() < 1e-3);
}
