//! Workspace-box clamp of the pose target.

use interfaces::config::WorkspaceBox;
use nalgebra::Isometry3;

/// Clamps the target's position into the axis-aligned workspace box (base frame); orientation is unchanged:
///
/// ```text
/// p'ᵢ = clamp(pᵢ, minᵢ, maxᵢ)   for i ∈ {x, y, z}
/// ```
///
/// Counts the targets that needed clamping. Real-time safe.
#[derive(Debug, Clone)]
pub struct WorkspaceClamp {
    bounds: WorkspaceBox,
    hits: u64,
}

impl WorkspaceClamp {
    /// A clamp to `bounds`.
    pub fn new(bounds: WorkspaceBox) -> Self {
        Self { bounds, hits: 0 }
    }
    /// The clamped target.
    pub fn apply(&mut self, target: &Isometry3<f64>) -> Isometry3<f64> {
        let p = target.translation.vector;
        let c = self.bounds.clamp([p.x, p.y, p.z]);
        let mut out = *target;
        out.translation.vector = nalgebra::Vector3::from(c);
        if c != [p.x, p.y, p.z] {
            self.hits += 1;
        }
        out
    }
    /// Targets clamped so far.
    pub fn hits(&self) -> u64 {
        self.hits
    }
    /// The box.
    pub fn bounds(&self) -> &WorkspaceBox {
        &self.bounds
    }
}
