//! Gripper commands shaped to the cell's limits: open, close, move to a width, each with a force limit.

use interfaces::config::GripperConfig;
use interfaces::msg::GripperCommand;
use thiserror::Error;

/// A gripper request that cannot be turned into a command.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum GripperError {
    /// A width or force that is not a finite number, or a negative force.
    #[error("gripper {field} = {value} is not allowed (finite, force ≥ 0)")]
    Invalid {
        /// `width` or `force`.
        field: &'static str,
        /// The value given.
        value: f64,
    },
}

/// Builds [`GripperCommand`]s within `[gripper]`: width clamped to `[0, max_width]` m, force to
/// `[0, max_force]` N, `default_force` when none is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GripperCommands {
    limits: GripperConfig,
}

impl GripperCommands {
    /// Commands within `limits`.
    pub fn new(limits: GripperConfig) -> Self {
        Self { limits }
    }
    /// Fully open at the default force.
    pub fn open(&self) -> GripperCommand {
        GripperCommand { width: self.limits.max_width, force: self.limits.default_force }
    }
    /// Close (width 0) with at most `force` N (default force when `None`).
    pub fn close(&self, force: Option<f64>) -> Result<GripperCommand, GripperError> {
        self.width(0.0, force)
    }
    /// Move to `width` m with at most `force` N (default force when `None`).
    pub fn width(&self, width: f64, force: Option<f64>) -> Result<GripperCommand, GripperError> {
        self.check(GripperCommand { width, force: force.unwrap_or(self.limits.default_force) })
    }
    /// Validates and clamps any command (e.g. one received from the bus).
    pub fn check(&self, c: GripperCommand) -> Result<GripperCommand, GripperError> {
        if !c.width.is_finite() {
            return Err(GripperError::Invalid { field: "width", value: c.width });
        }
        if !c.force.is_finite() || c.force < 0.0 {
            return Err(GripperError::Invalid { field: "force", value: c.force });
        }
        Ok(GripperCommand {
            width: c.width.clamp(0.0, self.limits.max_width),
            force: c.force.min(self.limits.max_force),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::panda_config;

    #[test]
    fn commands_are_clamped_to_the_cell_limits_and_nonsense_is_refused() {
        let g = GripperCommands::new(panda_config().gripper);
        assert_eq!(g.open(), GripperCommand { width: 0.08, force: 30.0 });
        assert_eq!(g.close(Some(500.0)), Ok(GripperCommand { width: 0.0, force: 70.0 }));
        assert_eq!(g.width(0.2, None), Ok(GripperCommand { width: 0.08, force: 30.0 }));
        assert!(matches!(g.width(f64::NAN, None), Err(GripperError::Invalid { field: "width", .. })));
        assert!(matches!(g.close(Some(-1.0)), Err(GripperError::Invalid { field: "force", .. })));
    }
}
