//! The device side of the teleop node: one [`DeviceSample`] per tick from whichever device is in use.

use crate::controls::EpisodeControl;
use crate::error::TeleopError;
use interfaces::drivers::TeleopReading;
use interfaces::time::Stamp;

/// One reading of a device: its twist (scaled, dead-zoned, in the configured teleop frame), gripper and takeover,
/// the episode-control buttons pressed since the previous sample, and whether its e-stop was pressed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceSample {
    /// Twist, gripper and takeover.
    pub reading: TeleopReading,
    /// Episode controls pressed since the previous sample.
    pub controls: Vec<EpisodeControl>,
    /// The device's e-stop key or button was pressed since the previous sample: the node sends `EStop` on its
    /// own `<node>/estop` key before anything else of the sample.
    pub estop: bool,
}

/// A teleoperation device as the node drives it. Unlike [`interfaces::drivers::TeleopDevice::poll`], a sample
/// always carries the device's current state (a device that sends nothing while held still is still held).
pub trait TeleopSource: Send {
    /// Device name for messages (`spacemouse /dev/hidraw3`, `gamepad Xbox Controller`, `keyboard`).
    fn name(&self) -> &str;
    /// Reads everything the device sent since the last call and returns its current state stamped `now`.
    /// An unplugged device returns [`TeleopError::Disconnected`] naming it.
    fn sample(&mut self, now: Stamp) -> Result<DeviceSample, TeleopError>;
    /// The device's twists are in the base frame whatever `teleop.frame` says (a leader arm's are).
    fn base_frame(&self) -> bool {
        false
    }
    /// The follower's newest TCP pose (from `controller/arm_state`), given before each sample; a device that
    /// commands poses rather than velocities (a leader arm) steers the follower towards its own.
    fn follower_pose(&mut self, _tcp: &nalgebra::Isometry3<f64>) {}
}

/// Implements [`interfaces::drivers::TeleopDevice`] for a [`TeleopSource`]: `poll` returns the reading when it
/// differs from the previous one (episode controls are not part of that trait).
macro_rules! impl_teleop_device {
    ($t:ty) => {
        impl interfaces::drivers::TeleopDevice for $t {
            fn name(&self) -> &str {
                crate::source::TeleopSource::name(self)
            }
            fn poll(&mut self) -> Result<Option<interfaces::drivers::TeleopReading>, interfaces::drivers::DriverError> {
                use interfaces::time::Clock;
                let now = interfaces::time::MonotonicClock.now();
                let s = crate::source::TeleopSource::sample(self, now).map_err(|e| e.into_driver_error())?;
                let changed = self
                    .last_polled
                    .map(|p| {
                        p.twist != s.reading.twist
                            || p.gripper_close != s.reading.gripper_close
                            || p.takeover != s.reading.takeover
                    })
                    .unwrap_or(true);
                self.last_polled = Some(s.reading);
                Ok(changed.then_some(s.reading))
            }
        }
    };
}
pub(crate) use impl_teleop_device;
