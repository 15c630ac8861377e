//! `[task]`: the skill being learned, its episode timing and its reward.

use super::Validator;
use serde::{Deserialize, Serialize};

/// Which task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Move the TCP to a random target position.
    Reach,
    /// Grasp the cube and lift it by `lift_height`.
    PickCube,
}

/// How the environment computes its reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// 1 on success (which ends the episode), 0 otherwise.
    Sparse,
    /// The task's dense reward minus 1 (in [-1, 0]) every step, 0 on success (which ends the episode): ending
    /// the episode early by succeeding is always better than lingering.
    #[default]
    Shaped,
}

/// `[task]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// Task.
    pub kind: TaskKind,
    /// Seed of the randomized resets.
    #[serde(default)]
    pub seed: u64,
    /// Policy (environment step) rate, Hz.
    pub policy_hz: f64,
    /// Episode time limit, s.
    pub episode_time_s: f64,
    /// Discount factor of the return.
    pub discount: f64,
    /// `reach`: distance to the target counted as success, m.
    #[serde(default = "default_tolerance")]
    pub reach_tolerance: f64,
    /// `pick_cube`: lift above the table counted as success, m.
    #[serde(default = "default_lift")]
    pub lift_height: f64,
    /// Reward.
    #[serde(default)]
    pub reward: RewardKind,
    /// Largest translation per policy step (action 1.0), m.
    #[serde(default = "default_step_m")]
    pub action_scale_m: f64,
    /// Largest rotation per policy step (action 1.0), rad.
    #[serde(default = "default_step_rad")]
    pub action_scale_rad: f64,
    /// Largest rotation of the TCP away from its orientation at the episode's start, rad: the policy's targets
    /// are clamped to it (as the workspace box clamps their position), so that exploring does not twist the arm
    /// into a posture it cannot come back from at the next reset.
    #[serde(default = "default_max_rotation")]
    pub max_rotation_rad: f64,
    /// `[task.cube]`: the simulated cell's cube (`pick_cube`).
    #[serde(default)]
    pub cube: CubeConfig,
}

/// Edge length of the simulated cell's default cube, m (a 4.5 cm wooden cube for a Panda's hand).
pub const DEFAULT_CUBE_SIZE: f64 = 0.045;

/// `[task.cube]`: the cube of the simulated cell, sized for the arm's gripper.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CubeConfig {
    /// Edge length, m; its mass follows at the density of wood (a 4.5 cm cube weighs 70 g).
    #[serde(default = "default_cube_size")]
    pub size: f64,
    /// Region of the table the cube is reset into, base frame `[x_min, x_max, y_min, y_max]`, m.
    #[serde(default = "default_cube_region")]
    pub region: [f64; 4],
}

impl Default for CubeConfig {
    fn default() -> Self {
        Self { size: DEFAULT_CUBE_SIZE, region: default_cube_region() }
    }
}

fn default_cube_size() -> f64 {
    DEFAULT_CUBE_SIZE
}
fn default_cube_region() -> [f64; 4] {
    [0.42, 0.58, -0.12, 0.12]
}

fn default_tolerance() -> f64 {
    0.02
}
fn default_lift() -> f64 {
    0.05
}
fn default_step_m() -> f64 {
    0.02
}
fn default_step_rad() -> f64 {
    0.1
}
fn default_max_rotation() -> f64 {
    0.5
}

impl TaskConfig {
    pub(crate) fn validate(&self, v: &mut Validator) {
        v.range("task.policy_hz", self.policy_hz, 0.5, 100.0, "Hz");
        v.range("task.episode_time_s", self.episode_time_s, 0.5, 3600.0, "s");
        v.range("task.discount", self.discount, 0.0, 1.0, "");
        v.range("task.reach_tolerance", self.reach_tolerance, 0.001, 0.2, "m");
        v.range("task.lift_height", self.lift_height, 0.005, 0.5, "m");
        v.range("task.action_scale_m", self.action_scale_m, 0.0005, 0.2, "m per step");
        v.range("task.action_scale_rad", self.action_scale_rad, 0.0, 1.0, "rad per step");
        v.range("task.max_rotation_rad", self.max_rotation_rad, 0.0, std::f64::consts::PI, "rad");
        v.range("task.cube.size", self.cube.size, 0.005, 0.2, "m");
        v.range_each("task.cube.region", &self.cube.region, -2.0, 2.0, "m");
        let [x0, x1, y0, y1] = self.cube.region;
        if !(x0 <= x1 && y0 <= y1) {
            v.push(
                "task.cube.region",
                format!("{:?}", self.cube.region),
                "[x_min, x_max, y_min, y_max] with min ≤ max",
            );
        }
    }
    /// Environment steps per episode.
    pub fn episode_steps(&self) -> u64 {
        (self.episode_time_s * self.policy_hz).round().max(1.0) as u64
    }
}
