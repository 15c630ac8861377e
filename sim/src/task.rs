//! Tasks of the simulated cell: randomized reset from a seed, reward and success.
//!
//! - `reach`: move the TCP to a random goal position; success when within `task.reach_tolerance`.
//! - `pick_cube`: grasp the cube and lift it `task.lift_height` above its resting height.
//!
//! The reward is sparse, as in SERL: `1.0` on success, `0.0` otherwise; [`Task::shaped_reward`] gives a dense
//! alternative in `[0, 1]`.

use crate::world::SimWorld;
use interfaces::config::{RewardKind, TaskConfig, TaskKind, WorkspaceBox};
use interfaces::drivers::MAX_DOF;
use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Largest random offset added to each home joint angle at reset, rad.
pub const HOME_NOISE_RAD: f64 = 0.05;

/// `reach`'s shaped step reward ([`Task::step_reward_at`]) is `−min(d / this, 1)`, d the TCP–goal distance in m.
const REACH_REWARD_SCALE_M: f64 = 0.25;

/// A task instance: its config and the current episode's randomized goal.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    cfg: TaskConfig,
    workspace: WorkspaceBox,
    goal: Vector3<f64>,
    cube_rest_z: f64,
}

/// What a reset produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResetInfo {
    /// `reach`: the goal position; `pick_cube`: the cube's start position. Base frame, m.
    pub goal: [f64; 3],
    /// Cube pose after the reset.
    pub cube: Isometry3<f64>,
}

impl Task {
    /// A task from `[task]`; goals are drawn inside `workspace`.
    pub fn new(cfg: &TaskConfig, workspace: &WorkspaceBox) -> Self {
        Self { cfg: cfg.clone(), workspace: *workspace, goal: Vector3::zeros(), cube_rest_z: cfg.cube.size / 2.0 }
    }

    /// Which task.
    pub fn kind(&self) -> TaskKind {
        self.cfg.kind
    }

    /// Starts an episode: the arm at home plus uniform noise of ±[`HOME_NOISE_RAD`] per joint, gripper open, the
    /// cube at a random position in `task.cube.region` with a random yaw, and (for `reach`) a random goal in the
    /// workspace box above the table. Same seed → same scene.
    pub fn reset(&mut self, world: &mut SimWorld, seed: u64) -> ResetInfo {
        let mut q = *world.home();
        let scene = self.draw(seed, &mut q[..world.dof().min(MAX_DOF)]);
        world.set_arm_q(&q);
        world.set_gripper_width(world.gripper_state().target_width.max(0.0));
        world.set_cube_pose(&scene.cube);
        scene
    }

    /// The randomized scene of episode `seed` without touching a world (for a scene reset from another thread,
    /// see [`crate::world::SceneLink`]): adds the home noise to `home_q` in place, sets the goal and returns it with
    /// the cube pose. [`reset`](Self::reset) draws the same scene for the same seed.
    pub fn draw(&mut self, seed: u64, home_q: &mut [f64]) -> ResetInfo {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for qi in home_q.iter_mut() {
            *qi += rng.random_range(-HOME_NOISE_RAD..HOME_NOISE_RAD);
        }
        let [x0, x1, y0, y1] = self.cfg.cube.region;
        let x = if x1 > x0 { rng.random_range(x0..x1) } else { x0 };
        let y = if y1 > y0 { rng.random_range(y0..y1) } else { y0 };
        let yaw = rng.random_range(-std::f64::consts::FRAC_PI_4..std::f64::consts::FRAC_PI_4);
        let cube = Isometry3::from_parts(
            Translation3::new(x, y, self.cfg.cube.size / 2.0),
            UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw),
        );
        self.cube_rest_z = self.cfg.cube.size / 2.0;
        self.goal = match self.cfg.kind {
            TaskKind::Reach => {
                // Inside the box by 5 cm, or a fifth of its extent on a small arm's box; above 10 cm, or a fifth
                // of the box's height above its floor.
                let (lo, hi) = (self.workspace.min, self.workspace.max);
                let inset = |i: usize| (0.2 * (hi[i] - lo[i])).min(0.05);
                let z_lo = lo[2].max((lo[2] + 0.2 * (hi[2] - lo[2])).min(0.1));
                Vector3::new(
                    rng.random_range(lo[0] + inset(0)..hi[0] - inset(0)),
                    rng.random_range(lo[1] + inset(1)..hi[1] - inset(1)),
                    rng.random_range(z_lo..hi[2].max(z_lo + 0.01)),
                )
            }
            TaskKind::PickCube => cube.translation.vector,
        };
        ResetInfo { goal: [self.goal.x, self.goal.y, self.goal.z], cube }
    }

    /// Takes over the goal of an episode drawn elsewhere (an environment that sees the scene through the bus).
    pub fn set_goal(&mut self, goal: [f64; 3]) {
        self.goal = Vector3::from(goal);
        self.cube_rest_z = self.cfg.cube.size / 2.0;
    }

    /// `reach`: the goal; `pick_cube`: the cube's start position. Base frame, m.
    pub fn goal(&self) -> [f64; 3] {
        [self.goal.x, self.goal.y, self.goal.z]
    }

    /// The cube's pose now, base frame.
    pub fn object_pose(&self, world: &SimWorld) -> Isometry3<f64> {
        world.cube_pose()
    }

    /// Height of the cube above its resting height, m.
    pub fn lift(&self, world: &SimWorld) -> f64 {
        self.lift_of(&world.cube_pose())
    }

    /// True when the episode's goal is met (`reach`: TCP within the tolerance of the goal; `pick_cube`: cube
    /// lifted by at least `lift_height`).
    pub fn success(&self, world: &SimWorld) -> bool {
        self.success_at(&world.tcp_pose(), &world.cube_pose())
    }

    /// Sparse reward: 1 on success, 0 otherwise.
    pub fn reward(&self, world: &SimWorld) -> f64 {
        if self.success(world) { 1.0 } else { 0.0 }
    }

    /// Dense reward in `[0, 1]`: `reach`: `1 − tanh(10·d)`; `pick_cube`: `0.5·(1 − tanh(10·d_tcp→cube)) +
    /// 0.5·clamp(lift / lift_height, 0, 1)`.
    pub fn shaped_reward(&self, world: &SimWorld) -> f64 {
        self.shaped_reward_at(&world.tcp_pose(), &world.cube_pose())
    }

    /// [`lift`](Self::lift) of a cube at `cube`.
    pub fn lift_of(&self, cube: &Isometry3<f64>) -> f64 {
        cube.translation.z - self.cube_rest_z
    }

    /// [`success`](Self::success) for a TCP at `tcp` and a cube at `cube` (poses from the bus).
    pub fn success_at(&self, tcp: &Isometry3<f64>, cube: &Isometry3<f64>) -> bool {
        match self.cfg.kind {
            TaskKind::Reach => (tcp.translation.vector - self.goal).norm() <= self.cfg.reach_tolerance,
            TaskKind::PickCube => self.lift_of(cube) >= self.cfg.lift_height,
        }
    }

    /// [`shaped_reward`](Self::shaped_reward) for a TCP at `tcp` and a cube at `cube`.
    pub fn shaped_reward_at(&self, tcp: &Isometry3<f64>, cube: &Isometry3<f64>) -> f64 {
        let tcp = tcp.translation.vector;
        match self.cfg.kind {
            TaskKind::Reach => 1.0 - (10.0 * (tcp - self.goal).norm()).tanh(),
            TaskKind::PickCube => {
                let d = (tcp - cube.translation.vector).norm();
                0.5 * (1.0 - (10.0 * d).tanh()) + 0.5 * (self.lift_of(cube) / self.cfg.lift_height).clamp(0.0, 1.0)
            }
        }
    }

    /// The object entries of a state-based observation (position, height above rest, see
    /// [`interfaces::env::proprio`]) for a cube at `cube`: `reach`: the goal at height 0; `pick_cube`: the cube.
    pub fn object_entries(&self, cube: &Isometry3<f64>) -> (Vector3<f64>, f64) {
        match self.cfg.kind {
            TaskKind::Reach => (self.goal, 0.0),
            TaskKind::PickCube => (cube.translation.vector, self.lift_of(cube)),
        }
    }

    /// Success and the environment's step reward for a TCP at `tcp` and a cube at `cube`, by `task.reward`:
    /// sparse (1 on success, else 0) or shaped (0 on success, negative before: `reach` linear in the distance up
    /// to 25 cm, `pick_cube` [`shaped_reward_at`](Self::shaped_reward_at) minus 1).
    pub fn step_reward_at(&self, tcp: &Isometry3<f64>, cube: &Isometry3<f64>) -> (bool, f32) {
        let success = self.success_at(tcp, cube);
        let reward = match self.cfg.reward {
            RewardKind::Sparse => f32::from(u8::from(success)),
            RewardKind::Shaped if success => 0.0,
            RewardKind::Shaped => match self.cfg.kind {
                TaskKind::Reach => {
                    let d = (self.goal - tcp.translation.vector).norm();
                    -(d / REACH_REWARD_SCALE_M).min(1.0) as f32
                }
                TaskKind::PickCube => (self.shaped_reward_at(tcp, cube) - 1.0) as f32,
            },
        };
        (success, reward)
    }
}
