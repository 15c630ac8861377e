//! The gym-style environment contract shared by the simulated and the bus-backed environments.
//!
//! Observation layout (`proprio`, 17 × f32, SERL's relative-frame convention — positions relative to the TCP
//! pose at the start of the episode, expressed in the base frame):
//!
//! | index | content | unit |
//! |---|---|---|
//! | 0–2 | TCP position − episode-start TCP position | m |
//! | 3–5 | TCP orientation relative to the episode start, rotation vector | rad |
//! | 6–8 | TCP linear velocity | m/s |
//! | 9–11 | TCP angular velocity | rad/s |
//! | 12 | gripper opening | m |
//! | 13–15 | object − TCP position (`reach`: the goal; `pick_cube`: the cube) | m |
//! | 16 | object height above its resting height (`reach`: 0) | m |
//!
//! Action: 6 continuous values in [-1, 1] — TCP translation `[dx, dy, dz]` × `task.action_scale_m` and rotation
//! vector `[rx, ry, rz]` × `task.action_scale_rad` per step, base frame — plus the discrete gripper action
//! (close / stay / open) for `pick_cube`.

use agent::replay::{Action, Observation, Transition};
use agent::{CameraSpec, ObsSpec};
use interfaces::CellConfig;
use interfaces::config::TaskKind;

/// Length of the proprio vector.
pub const PROPRIO_DIM: usize = 17;
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
    ObsSpec { proprio_dim: PROPRIO_DIM, cameras, action_dim: ACTION_DIM, gripper: cfg.task.kind == TaskKind::PickCube }
}

/// What one step produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Observation after the action.
    pub obs: Observation,
    /// Reward.
    pub reward: f32,
    /// Terminal (success).
    pub done: bool,
    /// Time limit reached.
    pub truncated: bool,
    /// The task's success criterion holds now.
    pub success: bool,
    /// The gripper switched between open and closed.
    pub gripper_changed: bool,
    /// Monotonic time of the observation, ns.
    pub stamp_ns: u64,
}

impl Step {
    /// The transition `(obs, action) → self` of `episode` (policy-driven: not an intervention); `obs` is the
    /// observation the action was taken in, `obs_stamp_ns` its time.
    pub fn transition(&self, obs: &Observation, obs_stamp_ns: u64, action: Action, episode: u64) -> Transition {
        Transition {
            obs: obs.clone(),
            action,
            reward: self.reward,
            next_obs: self.obs.clone(),
            done: self.done,
            truncated: self.truncated,
            intervention: false,
            gripper_changed: self.gripper_changed,
            episode,
            obs_stamp_ns,
            next_stamp_ns: self.stamp_ns,
        }
    }
}

/// A gym-style environment.
pub trait Env {
    /// Observation and action sizes.
    fn spec(&self) -> &ObsSpec;
    /// Starts a new episode and returns its first observation.
    fn reset(&mut self) -> anyhow::Result<(Observation, u64)>;
    /// Applies an action for one policy period.
    fn step(&mut self, action: &Action) -> anyhow::Result<Step>;
    /// An action of the scripted expert for the current state (for demonstrations), if the env has one.
    fn expert_action(&mut self) -> Option<Action>;
}
