//! What a device's buttons and keys mean: gripper, takeover, and episode controls, with press detection.

use interfaces::config::ButtonBindings;
use interfaces::msg::Command;

/// An episode control issued from a device button or a key, published as an [`interfaces::msg::OperatorCommand`]
/// on `teleop/episode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeControl {
    /// Label the current episode a success.
    Success,
    /// Label the current episode a failure.
    Failure,
    /// End the current episode.
    Stop,
    /// Reset the scene and re-record the episode.
    Reset,
}

impl EpisodeControl {
    /// Every control, in the order of [`HeldButtons::controls`].
    pub const ALL: [EpisodeControl; 4] =
        [EpisodeControl::Success, EpisodeControl::Failure, EpisodeControl::Stop, EpisodeControl::Reset];

    /// The operator command it sends: `Label(true)`, `Label(false)`, `StopEpisode`, `ResetEpisode`.
    pub fn command(self) -> Command {
        match self {
            EpisodeControl::Success => Command::Label(true),
            EpisodeControl::Failure => Command::Label(false),
            EpisodeControl::Stop => Command::StopEpisode,
            EpisodeControl::Reset => Command::ResetEpisode,
        }
    }
}

/// The meaning of the buttons held at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeldButtons {
    /// Gripper request: `Some(true)` close, `Some(false)` open; `None` when neither or both buttons are held
    /// (both at once is ambiguous and requests nothing).
    pub gripper_close: Option<bool>,
    /// Takeover held.
    pub takeover: bool,
    /// Episode controls held, in [`EpisodeControl::ALL`] order.
    pub controls: [bool; 4],
}

impl HeldButtons {
    /// Reads the bindings against a "is button n held" predicate.
    pub fn from_bindings(b: &ButtonBindings, pressed: impl Fn(u8) -> bool) -> Self {
        let held = |x: Option<u8>| x.is_some_and(&pressed);
        let gripper_close = match (held(b.gripper_close), held(b.gripper_open)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        Self {
            gripper_close,
            takeover: held(b.takeover),
            controls: [held(b.success), held(b.failure), held(b.stop_episode), held(b.reset_episode)],
        }
    }
}

/// Turns held episode-control buttons into one [`EpisodeControl`] per press (a held button fires once).
#[derive(Debug, Clone, Default)]
pub struct PressDetector {
    previous: [bool; 4],
}

impl PressDetector {
    /// The controls whose button went from released to held since the last call.
    pub fn pressed(&mut self, held: [bool; 4]) -> Vec<EpisodeControl> {
        let out = EpisodeControl::ALL
            .iter()
            .zip(held.iter().zip(self.previous))
            .filter(|(_, (now, before))| **now && !*before)
            .map(|(c, _)| *c)
            .collect();
        self.previous = held;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_map_buttons_and_both_gripper_buttons_cancel() {
        let b = ButtonBindings {
            gripper_close: Some(0),
            gripper_open: Some(1),
            takeover: Some(4),
            success: Some(9),
            ..ButtonBindings::default()
        };
        let h = HeldButtons::from_bindings(&b, |n| n == 0 || n == 4);
        assert_eq!(h.gripper_close, Some(true));
        assert!(h.takeover);
        assert_eq!(HeldButtons::from_bindings(&b, |n| n == 1).gripper_close, Some(false));
        assert_eq!(HeldButtons::from_bindings(&b, |n| n <= 1).gripper_close, None);
        assert_eq!(HeldButtons::from_bindings(&b, |n| n == 9).controls, [true, false, false, false]);
        assert_eq!(HeldButtons::from_bindings(&b, |_| false), HeldButtons::default());
    }

    #[test]
    fn a_held_button_fires_once_per_press() {
        let mut d = PressDetector::default();
        assert_eq!(d.pressed([false, false, true, false]), [EpisodeControl::Stop]);
        assert!(d.pressed([false, false, true, false]).is_empty());
        assert_eq!(d.pressed([true, false, true, true]), [EpisodeControl::Success, EpisodeControl::Reset]);
        assert!(d.pressed([false; 4]).is_empty());
        assert_eq!(d.pressed([false, true, false, false]), [EpisodeControl::Failure]);
        assert_eq!(EpisodeControl::Failure.command(), Command::Label(false));
    }
}
