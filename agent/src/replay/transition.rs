//! One environment step as the actor hands it to the store.

use crate::error::{AgentError, Result};
use crate::spec::ObsSpec;

pub use interfaces::action::GripperAction;

use interfaces::env::Step;
pub use interfaces::env::{Action, Observation};

/// One step `(s, a, r, s')` with its flags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transition {
    /// `s`.
    pub obs: Observation,
    /// The executed action (the human's when `intervention`).
    pub action: Action,
    /// Reward `r`.
    pub reward: f32,
    /// `s'`.
    pub next_obs: Observation,
    /// Terminal: the return does not continue past `s'` (no bootstrap).
    pub done: bool,
    /// Episode cut by the time limit (the learner still bootstraps).
    pub truncated: bool,
    /// The action came from the human (intervention): stored in the online **and** the demo buffer.
    pub intervention: bool,
    /// The gripper action changed the gripper's open/closed state (the gripper critic is charged
    /// `AgentConfig::gripper_penalty` for it).
    pub gripper_changed: bool,
    /// Episode id.
    pub episode: u64,
    /// Monotonic time of `s`, ns.
    pub obs_stamp_ns: u64,
    /// Monotonic time of `s'`, ns.
    pub next_stamp_ns: u64,
}

impl Transition {
    /// The transition `(obs, action) → step` of `episode`, policy-driven (not an intervention); `obs` is the
    /// observation the action was taken in, `obs_stamp_ns` its time.
    pub fn from_step(obs: &Observation, obs_stamp_ns: u64, action: Action, step: &Step, episode: u64) -> Self {
        Transition {
            obs: obs.clone(),
            action,
            reward: step.reward,
            next_obs: step.obs.clone(),
            done: step.done,
            truncated: step.truncated,
            intervention: false,
            gripper_changed: step.gripper_changed,
            episode,
            obs_stamp_ns,
            next_stamp_ns: step.stamp_ns,
        }
    }

    /// Checks every size against `spec`.
    pub fn check(&self, spec: &ObsSpec) -> Result<()> {
        let eq = |field: String, expected: usize, got: usize| {
            if expected == got { Ok(()) } else { Err(AgentError::SpecMismatch { field, expected, got }) }
        };
        eq("obs.proprio".into(), spec.proprio_dim, self.obs.proprio.len())?;
        eq("next_obs.proprio".into(), spec.proprio_dim, self.next_obs.proprio.len())?;
        eq("action.continuous".into(), spec.action_dim, self.action.continuous.len())?;
        eq("obs.images".into(), spec.cameras.len(), self.obs.images.len())?;
        eq("next_obs.images".into(), spec.cameras.len(), self.next_obs.images.len())?;
        for (c, cam) in spec.cameras.iter().enumerate() {
            eq(format!("obs.images[{}]", cam.name), cam.frame_bytes(), self.obs.images[c].len())?;
            eq(format!("next_obs.images[{}]", cam.name), cam.frame_bytes(), self.next_obs.images[c].len())?;
        }
        Ok(())
    }
}
