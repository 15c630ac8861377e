//! What an observation and an action look like: sizes of the proprio vector, the cameras and the action.

use serde::{Deserialize, Serialize};

/// One camera's policy image: `height × width × 3` bytes, RGB, row-major (HWC), uint8.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl ObsSpec {
    /// A state-only spec without gripper.
    pub fn state(proprio_dim: usize, action_dim: usize) -> Self {
        Self { proprio_dim, cameras: Vec::new(), action_dim, gripper: false }
    }

    /// The frame of camera `c` among one observation's `images`, checked against this spec: one image per camera,
    /// each `height·width·3` bytes. Errors name the field, the expected and the actual size.
    pub fn camera_frame<'a, I: AsRef<[u8]>>(&self, images: &'a [I], c: usize) -> crate::error::Result<&'a [u8]> {
        let mismatch = |field: String, expected: usize, got: usize| crate::error::AgentError::SpecMismatch {
            field,
            expected,
            got,
        };
        let cam = &self.cameras[c];
        let img = images.get(c).ok_or_else(|| mismatch("images".into(), self.cameras.len(), images.len()))?.as_ref();
        if img.len() != cam.frame_bytes() {
            return Err(mismatch(format!("images[{}]", cam.name), cam.frame_bytes(), img.len()));
        }
        Ok(img)
    }
}
