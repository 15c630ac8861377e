//! The environment contract: one [`Observation`], one [`Action`], the [`ObsSpec`] that sizes them, what a step
//! returns ([`Step`]), the gym-style [`Env`] trait and its typed error ([`EnvError`]).
//!
//! Every environment (the simulated cell in process, a cell over the bus), the intervention arbiter, the actor,
//! the trainer and the replay store speak these types, so an action or an observation is never converted between
//! look-alike types on its way from the policy to the arm and into the replay store.

pub use crate::action::GripperAction;

mod layout;
pub use layout::{
    ACTION_DIM, ARM_PROPRIO_DIM, CellEnv, GripperLatch, PROPRIO_DIM, action_target, obs_spec, proprio, proprio_dim,
};

/// An observation: proprio vector and one uint8 frame per camera (`height × width × 3`, HWC, RGB).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    /// Proprioceptive state, [`ObsSpec::proprio_dim`] values.
    pub proprio: Vec<f32>,
    /// One frame per camera, in [`ObsSpec::cameras`] order.
    pub images: Vec<Vec<u8>>,
}

/// An action: continuous part in `[-1, 1]^action_dim` and the discrete gripper command. For the cell's tasks the
/// continuous part is `[dx, dy, dz, rx, ry, rz]` (× `task.action_scale_m` / `task.action_scale_rad` per step, base
/// frame).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Action {
    /// Continuous part, each in `[-1, 1]`.
    pub continuous: Vec<f32>,
    /// Gripper command (`Stay` when the spec has no gripper).
    pub gripper: GripperAction,
}

/// One camera's policy image: `height × width × 3` bytes, RGB, row-major (HWC), uint8.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CameraSpec {
    /// Camera name (as in the cell config).
    pub name: String,
    /// Rows, pixels.
    pub height: usize,
    /// Columns, pixels.
    pub width: usize,
}

impl CameraSpec {
    /// Bytes of one frame (`height · width · 3`).
    pub fn frame_bytes(&self) -> usize {
        self.height * self.width * 3
    }
}

/// Sizes of the observation and action of a task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObsSpec {
    /// Length of the proprioceptive vector (f32).
    pub proprio_dim: usize,
    /// Cameras, in a fixed order (empty for a state-only agent).
    pub cameras: Vec<CameraSpec>,
    /// Continuous action dimension (6 for a Cartesian 6-DoF delta), each in `[-1, 1]`.
    pub action_dim: usize,
    /// The agent also decides the gripper (discrete close/stay/open, HIL-SERL's grasp critic).
    pub gripper: bool,
}

/// A value whose size does not match the [`ObsSpec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("does not match the observation spec: {field}: expected {expected}, got {got}")]
pub struct SpecMismatch {
    /// Which field (`proprio`, `action`, `images`, `images[<camera>]`, …).
    pub field: String,
    /// Expected size.
    pub expected: usize,
    /// Size given.
    pub got: usize,
}

impl ObsSpec {
    /// A state-only spec without gripper.
    pub fn state(proprio_dim: usize, action_dim: usize) -> Self {
        Self { proprio_dim, cameras: Vec::new(), action_dim, gripper: false }
    }

    /// The frame of camera `c` among one observation's `images`, checked against this spec: one image per camera,
    /// each `height·width·3` bytes.
    pub fn camera_frame<'a, I: AsRef<[u8]>>(&self, images: &'a [I], c: usize) -> Result<&'a [u8], SpecMismatch> {
        let mismatch = |field: String, expected: usize, got: usize| SpecMismatch { field, expected, got };
        let cam = &self.cameras[c];
        let img = images.get(c).ok_or_else(|| mismatch("images".into(), self.cameras.len(), images.len()))?.as_ref();
        if img.len() != cam.frame_bytes() {
            return Err(mismatch(format!("images[{}]", cam.name), cam.frame_bytes(), img.len()));
        }
        Ok(img)
    }

    /// Checks an observation's sizes: the proprio length, one frame per camera of its size.
    pub fn check_observation(&self, o: &Observation) -> Result<(), SpecMismatch> {
        if o.proprio.len() != self.proprio_dim {
            return Err(SpecMismatch { field: "proprio".into(), expected: self.proprio_dim, got: o.proprio.len() });
        }
        if o.images.len() != self.cameras.len() {
            return Err(SpecMismatch { field: "images".into(), expected: self.cameras.len(), got: o.images.len() });
        }
        for c in 0..self.cameras.len() {
            self.camera_frame(&o.images, c)?;
        }
        Ok(())
    }

    /// Checks an action's continuous size.
    pub fn check_action(&self, a: &Action) -> Result<(), SpecMismatch> {
        if a.continuous.len() != self.action_dim {
            return Err(SpecMismatch { field: "action".into(), expected: self.action_dim, got: a.continuous.len() });
        }
        Ok(())
    }
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

/// Why an environment could not reset or step. The arm is left holding its pose (or faulted and stopped) in
/// every case.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvError {
    /// The action does not fit the environment (wrong size, not finite).
    #[error("action rejected: {0}")]
    BadAction(String),
    /// The arm, the gripper or the controller faulted; the arm is stopped.
    #[error("{what} fault: {reason}")]
    Fault {
        /// What faulted (`arm`, `controller`, `gripper`).
        what: String,
        /// The driver's or controller's reason.
        reason: String,
    },
    /// An input the observation needs is missing, stale, out of tolerance or garbled (arm state, camera frame,
    /// scene state), or a peer did not answer in time.
    #[error("{what}: {reason}")]
    Input {
        /// Which input (`arm state`, `camera front`, `scene reset`, …).
        what: String,
        /// What is wrong with it, with the figures.
        reason: String,
    },
    /// Rendering, publishing or another part of the environment failed.
    #[error("{what}: {reason}")]
    Internal {
        /// What was being done.
        what: String,
        /// The underlying error.
        reason: String,
    },
}

impl EnvError {
    /// An [`EnvError::Input`].
    pub fn input(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Input { what: what.into(), reason: reason.to_string() }
    }

    /// An [`EnvError::Internal`].
    pub fn internal(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Internal { what: what.into(), reason: reason.to_string() }
    }
}

/// A gym-style environment.
pub trait Env {
    /// Observation and action sizes.
    fn spec(&self) -> &ObsSpec;
    /// Starts a new episode and returns its first observation and the observation's monotonic time (ns).
    fn reset(&mut self) -> Result<(Observation, u64), EnvError>;
    /// Applies an action for one policy period.
    fn step(&mut self, action: &Action) -> Result<Step, EnvError>;
    /// An action of the scripted expert for the current state (for demonstrations), if the env has one.
    fn expert_action(&mut self) -> Option<Action>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ObsSpec {
        ObsSpec {
            proprio_dim: 3,
            cameras: vec![CameraSpec { name: "front".into(), height: 2, width: 2 }],
            action_dim: 6,
            gripper: true,
        }
    }

    #[test]
    fn observations_and_actions_are_checked_against_the_spec() {
        let s = spec();
        let ok = Observation { proprio: vec![0.0; 3], images: vec![vec![0; 12]] };
        assert_eq!(s.check_observation(&ok), Ok(()));
        let short = Observation { images: vec![vec![0; 11]], ..ok.clone() };
        let e = s.check_observation(&short).unwrap_err();
        assert_eq!((e.field.as_str(), e.expected, e.got), ("images[front]", 12, 11));
        let no_image = Observation { images: vec![], ..ok.clone() };
        assert_eq!(s.check_observation(&no_image).unwrap_err().field, "images");
        let proprio = Observation { proprio: vec![0.0; 4], ..ok };
        assert_eq!(s.check_observation(&proprio).unwrap_err().field, "proprio");
        let a = Action { continuous: vec![0.0; 5], gripper: GripperAction::Close };
        assert_eq!(
            s.check_action(&a).unwrap_err().to_string(),
            "does not match the observation spec: action: expected 6, got 5"
        );
    }
}
