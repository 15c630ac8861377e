//! The environment's discrete gripper action, shared by the agent (its gripper critic and the replay store), the
//! intervention arbiter and the actor.

/// The discrete gripper action (HIL-SERL's three grasp actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GripperAction {
    /// Close the fingers.
    Close,
    /// Keep the gripper as it is.
    #[default]
    Stay,
    /// Open the fingers.
    Open,
}

impl GripperAction {
    /// Index on the wire, on disk and in the gripper critic: close = 0, stay = 1, open = 2.
    pub fn index(self) -> u8 {
        match self {
            GripperAction::Close => 0,
            GripperAction::Stay => 1,
            GripperAction::Open => 2,
        }
    }

    /// Inverse of [`GripperAction::index`]; `None` outside `0..=2`.
    pub fn from_index(i: u8) -> Option<Self> {
        [GripperAction::Close, GripperAction::Stay, GripperAction::Open].get(usize::from(i)).copied()
    }

    /// A teleop gripper request: `Some(true)` close, `Some(false)` open, `None` none.
    pub fn from_request(close: Option<bool>) -> Option<Self> {
        close.map(|c| if c { GripperAction::Close } else { GripperAction::Open })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_round_trip_and_out_of_range_is_none() {
        for g in [GripperAction::Close, GripperAction::Stay, GripperAction::Open] {
            assert_eq!(GripperAction::from_index(g.index()), Some(g));
        }
        assert_eq!(GripperAction::from_index(3), None);
        assert_eq!(GripperAction::from_request(Some(true)), Some(GripperAction::Close));
        assert_eq!(GripperAction::from_request(None), None);
    }
}
