//! The cell's side of the environment contract ([`interfaces::env`]: `Env`, one `Observation`, one `Action`, the
//! spec, `Step`, `EnvError`): the observation layout both the simulated and the bus-backed environments build,
//! the action's meaning, the task's reward, and what the actor needs of a cell beyond the gym contract.
//!
//! Observation layout (`proprio`, SERL's relative-frame convention — positions relative to the TCP pose at the
//! start of the episode, expressed in the base frame): 17 × f32 for a state-based agent, 13 × f32 (entries 0–12,
//! what a real arm measures) with `agent.use_images = true`:
//!
//! | index | content | unit | with `use_images` |
//! |---|---|---|---|
//! | 0–2 | TCP position − episode-start TCP position | m | yes |
//! | 3–5 | TCP orientation relative to the episode start, rotation vector | rad | yes |
//! | 6–8 | TCP linear velocity | m/s | yes |
//! | 9–11 | TCP angular velocity | rad/s | yes |
//! | 12 | gripper opening | m | yes |
//! | 13–15 | object − TCP position (`reach`: the goal; `pick_cube`: the cube) | m | **absent** |
//! | 16 | object height above its resting height (`reach`: 0) | m | **absent** |
//!
//! Entries 13–16 are privileged simulator state: the in-process [`super::sim_env::SimEnv`] reads them from the
//! world, the bus-backed [`super::bus_env::BusEnv`] from the simulated cell's `controller/sim_scene` topic, and
//! only for a state-based agent (`agent.use_images = false`), the easy reference of `corrigo bench learning`. An
//! image-based observation carries no simulator state in any environment: the policy sees the object only through
//! its cameras, as on a real cell (which has no object state and requires `agent.use_images = true`). Simulator
//! state may still decide the reward and success (standing in for a real cell's reward classifier).
//!
//! Action: 6 continuous values in [-1, 1] — TCP translation `[dx, dy, dz]` × `task.action_scale_m` and rotation
//! vector `[rx, ry, rz]` × `task.action_scale_rad` per step, base frame — plus the discrete gripper action
//! (close / stay / open) for `pick_cube`.

use interfaces::CellConfig;
use interfaces::config::{RewardKind, TaskKind};
use interfaces::env::{CameraSpec, ObsSpec};
pub use interfaces::env::{Env, EnvError, Step};
use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3, Vector6};
use sim::Task;

/// Length of the proprio vector of a state-based agent (arm measurements + the privileged object entries).
pub const PROPRIO_DIM: usize = 17;
/// Length of the proprio vector of an image-based agent: what a real arm measures (entries 0–12).
pub const ARM_PROPRIO_DIM: usize = 13;

/// The proprio length for the cell: [`ARM_PROPRIO_DIM`] with `agent.use_images`, else [`PROPRIO_DIM`].
pub fn proprio_dim(cfg: &CellConfig) -> usize {
    if cfg.agent.use_images { ARM_PROPRIO_DIM } else { PROPRIO_DIM }
}
/// Continuous action size.
pub const ACTION_DIM: usize = 6;

/// The spec of the cell's task: state-only unless `agent.use_images`, with the gripper for `pick_cube`.
pub fn obs_spec(cfg: &CellConfig) -> ObsSpec {
    let cameras = if cfg.agent.use_images {
        cfg.cameras
            .iter()
            .map(|c| CameraSpec { name: c.name.clone(), height: c.height as usize, width: c.width as usize })
            .collect()
    } else {
        Vec::new()
    };
    ObsSpec {
        proprio_dim: proprio_dim(cfg),
        cameras,
        action_dim: ACTION_DIM,
        gripper: cfg.task.kind == TaskKind::PickCube,
    }
}

/// `reach`'s shaped reward is `−min(d / this, 1)`, d the TCP–goal distance in m.
const REACH_REWARD_SCALE_M: f64 = 0.25;

/// The pose target an action asks for (SERL's convention): the TCP pose `tcp` moved by the action scaled by
/// `task.action_scale_m` / `task.action_scale_rad` (components clamped to [-1, 1]), clamped into the workspace box.
pub fn action_target(cfg: &CellConfig, tcp: &Isometry3<f64>, a: &[f32]) -> Isometry3<f64> {
    let s = cfg.task.action_scale_m;
    let r = cfg.task.action_scale_rad;
    let c = |i: usize| f64::from(a[i]).clamp(-1.0, 1.0);
    let p = tcp.translation.vector + Vector3::new(c(0), c(1), c(2)) * s;
    let p = cfg.workspace.clamp([p.x, p.y, p.z]);
    let rot = UnitQuaternion::from_scaled_axis(Vector3::new(c(3), c(4), c(5)) * r) * tcp.rotation;
    Isometry3::from_parts(Translation3::new(p[0], p[1], p[2]), rot)
}

/// The proprio vector of the table above: TCP pose `tcp` relative to the episode's `start`, the TCP `twist`,
/// the gripper opening, and — `Some((position, height above rest))` for a state-based agent only — the object
/// entries. `None` gives the [`ARM_PROPRIO_DIM`] arm measurements of an image-based agent.
pub fn proprio(
    start: &Isometry3<f64>,
    tcp: &Isometry3<f64>,
    twist: &Vector6<f64>,
    gripper_width: f64,
    object: Option<(&Vector3<f64>, f64)>,
) -> Vec<f32> {
    let rel_p = tcp.translation.vector - start.translation.vector;
    let rel_r = (tcp.rotation * start.rotation.inverse()).scaled_axis();
    let mut p = Vec::with_capacity(PROPRIO_DIM);
    p.extend(rel_p.iter().chain(rel_r.iter()).map(|v| *v as f32));
    p.extend(twist.iter().map(|v| *v as f32));
    p.push(gripper_width as f32);
    if let Some((object, height)) = object {
        let d = object - tcp.translation.vector;
        p.extend(d.iter().map(|v| *v as f32));
        p.push(height as f32);
    }
    p
}

/// The object entries of the state (position, height above rest) for the task's current episode.
pub fn task_object(task: &Task, cube: &Isometry3<f64>) -> (Vector3<f64>, f64) {
    match task.kind() {
        TaskKind::Reach => (Vector3::from(task.goal()), 0.0),
        TaskKind::PickCube => (cube.translation.vector, task.lift_of(cube)),
    }
}

/// Success and reward of the task for a TCP at `tcp` and a cube at `cube`: sparse (1 on success) or shaped
/// (0 on success, negative before: `reach` linear in the distance up to 25 cm, `pick_cube` the task's dense
/// reward minus 1).
pub fn task_reward(cfg: &CellConfig, task: &Task, tcp: &Isometry3<f64>, cube: &Isometry3<f64>) -> (bool, f32) {
    let success = task.success_at(tcp, cube);
    let reward = match cfg.task.reward {
        RewardKind::Sparse => f32::from(u8::from(success)),
        RewardKind::Shaped if success => 0.0,
        RewardKind::Shaped => match task.kind() {
            TaskKind::Reach => {
                let d = (Vector3::from(task.goal()) - tcp.translation.vector).norm();
                -(d / REACH_REWARD_SCALE_M).min(1.0) as f32
            }
            TaskKind::PickCube => (task.shaped_reward_at(tcp, cube) - 1.0) as f32,
        },
    };
    (success, reward)
}

/// What the actor needs of an environment beyond the gym contract: the operator's e-stop and gains, and the arm
/// state for the panel. An environment whose controller is another node leaves e-stop and gains to that node,
/// which takes the operator's commands from the bus itself.
pub trait CellEnv: Env {
    /// Episodes started so far.
    fn episodes(&self) -> u64;
    /// Latches the e-stop: the arm holds and actions are ignored until [`CellEnv::reset_estop`].
    fn estop(&mut self);
    /// Clears a latched e-stop.
    fn reset_estop(&mut self);
    /// True while the e-stop (or a fault) holds the arm.
    fn estopped(&mut self) -> bool;
    /// Replaces the impedance gains (already validated).
    fn set_gains(&mut self, gains: controller::law::ValidatedGains);
    /// The arm state the actor publishes for the panel, `None` when a controller node publishes its own.
    fn arm_state_to_publish(&mut self) -> Option<interfaces::msg::ArmState>;
}
