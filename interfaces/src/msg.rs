//! Message types carried on the bus.
//!
//! Each message starts with a [`Header`] (sequence number and monotonic stamp) and is encoded by the `bus` crate
//! in a documented, cross-language envelope (see `docs/messages.md`). Units are SI; poses are in the robot's base
//! frame; quaternions are `[w, x, y, z]`.

use crate::time::Stamp;
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion, Vector3};
use serde::{Deserialize, Serialize};

/// Version of the wire schema of every message in this module. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u16 = 1;

/// Sequence number and time of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Header {
    /// Per-publisher counter, +1 for every message (a gap means a message was lost).
    pub seq: u64,
    /// When the content was measured or produced: host monotonic clock, nanoseconds.
    pub stamp_ns: Stamp,
}

impl Header {
    /// A header stamped now (this host's monotonic clock), for a message produced now (a command, an event, an
    /// acknowledgement). The bus never stamps a message itself: a zero stamp travels as zero and means "no
    /// stamp" (of unknown age), so a measurement is never made to look fresh.
    pub fn now() -> Self {
        use crate::time::Clock;
        Self { seq: 0, stamp_ns: crate::time::MonotonicClock.now() }
    }
}

/// A message type that can travel on the bus.
pub trait Message: Serialize + for<'de> Deserialize<'de> + Send + 'static {
    /// Name written in the envelope's `type` field.
    const TYPE: &'static str;
    /// The message's header.
    fn header(&self) -> &Header;
    /// Mutable header (publishers fill in sequence numbers).
    fn header_mut(&mut self) -> &mut Header;
}

macro_rules! impl_message {
    ($t:ty, $name:literal) => {
        impl $crate::msg::Message for $t {
            const TYPE: &'static str = $name;
            fn header(&self) -> &$crate::msg::Header {
                &self.header
            }
            fn header_mut(&mut self) -> &mut $crate::msg::Header {
                &mut self.header
            }
        }
    };
}
pub(crate) use impl_message;
use impl_message as message;

#[path = "msg_learning.rs"]
mod learning;
pub use learning::{CellFigures, LearnerDiagnostics, LearnerMetrics};
#[path = "msg_teleop.rs"]
mod teleop;
pub use teleop::TeleopCommand;

/// A rigid pose: position in metres, orientation as a unit quaternion `[w, x, y, z]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    /// Position, metres.
    pub position: [f64; 3],
    /// Orientation, unit quaternion `[w, x, y, z]`.
    pub orientation: [f64; 4],
}

impl Default for Pose {
    fn default() -> Self {
        Self { position: [0.0; 3], orientation: [1.0, 0.0, 0.0, 0.0] }
    }
}

impl Pose {
    /// Converts to an isometry (the quaternion is normalised).
    pub fn to_isometry(&self) -> Isometry3<f64> {
        let [w, x, y, z] = self.orientation;
        let q = UnitQuaternion::from_quaternion(Quaternion::new(w, x, y, z));
        Isometry3::from_parts(Translation3::from(Vector3::from(self.position)), q)
    }
    /// Converts from an isometry.
    pub fn from_isometry(iso: &Isometry3<f64>) -> Self {
        let q = iso.rotation.into_inner();
        Self { position: [iso.translation.x, iso.translation.y, iso.translation.z], orientation: [q.w, q.i, q.j, q.k] }
    }
    /// True when every number is finite and the quaternion's norm is within 1e-3 of 1.
    pub fn is_valid(&self) -> bool {
        let n: f64 = self.orientation.iter().map(|v| v * v).sum::<f64>().sqrt();
        self.position.iter().chain(self.orientation.iter()).all(|v| v.is_finite()) && (n - 1.0).abs() < 1e-3
    }
}

/// What the controller is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ControllerMode {
    /// Started, no target received yet: holding the pose it found.
    #[default]
    Idle,
    /// Tracking pose targets with the impedance law.
    Tracking,
    /// No fresh target within the watchdog period: holding the current pose.
    WatchdogHold,
    /// Emergency stop latched: only an explicit reset clears it.
    EStopped,
    /// The driver failed: the arm was brought to its safe state.
    Fault,
}

/// How often each safety limit acted since the controller started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LimitCounters {
    /// Pose target clamped into the workspace box.
    pub workspace_clamps: u64,
    /// Pose error clipped (SERL reference clipping).
    pub error_clips: u64,
    /// Joint torque clamped to its limit.
    pub torque_clamps: u64,
    /// Joint torque change limited by the torque-rate limit.
    pub torque_rate_clamps: u64,
    /// Joint-limit guard acted (torque pushing further past a limit was removed and a repulsion added).
    pub joint_limit_guards: u64,
    /// Velocity guard acted.
    pub velocity_guards: u64,
    /// Watchdog trips (target went stale).
    pub watchdog_trips: u64,
}

/// Gripper state.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct GripperState {
    /// Opening between the fingers, metres.
    pub width: f64,
    /// Commanded opening, metres.
    pub target_width: f64,
    /// Force applied by the fingers, newtons (≥ 0).
    pub force: f64,
}

/// A gripper command: move to `width` (metres) applying at most `force` (newtons).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GripperCommand {
    /// Target opening, metres (0 = closed).
    pub width: f64,
    /// Force limit, newtons.
    pub force: f64,
}

/// The arm's state, published by the controller's bus bridge (by default at 1 kHz).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ArmState {
    /// Stamp = time of the joint measurement.
    pub header: Header,
    /// Controller mode.
    pub mode: ControllerMode,
    /// Joint positions, rad.
    pub q: Vec<f64>,
    /// Joint velocities, rad/s.
    pub dq: Vec<f64>,
    /// Commanded joint torques after the safety envelope, N·m.
    pub tau: Vec<f64>,
    /// End-effector (TCP) pose in the base frame.
    pub ee_pose: Pose,
    /// End-effector twist in the base frame: `[vx, vy, vz]` m/s then `[wx, wy, wz]` rad/s.
    pub ee_twist: [f64; 6],
    /// The pose target in force, after the workspace clamp.
    pub pose_target: Pose,
    /// Gripper state.
    pub gripper: GripperState,
    /// Latched e-stop.
    pub estop: bool,
    /// Limit-hit counters.
    pub limits: LimitCounters,
    /// Control cycles that started later than the configured miss threshold.
    pub deadline_misses: u64,
    /// Control cycles run since start.
    pub cycles: u64,
}
message!(ArmState, "ArmState");

/// A pose target for the controller (and optionally a gripper command).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PoseTarget {
    /// Stamp = when the target was decided.
    pub header: Header,
    /// Desired TCP pose in the base frame (clamped by the controller's workspace box).
    pub pose: Pose,
    /// Optional gripper command sent with it.
    pub gripper: Option<GripperCommand>,
}
message!(PoseTarget, "PoseTarget");

/// Cartesian impedance gains. Stiffness in N/m and N·m/rad, damping in N·s/m and N·m·s/rad, clips in m and rad.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpedanceGains {
    /// Translational stiffness per base axis, N/m.
    pub translational_stiffness: [f64; 3],
    /// Rotational stiffness per base axis, N·m/rad.
    pub rotational_stiffness: [f64; 3],
    /// Translational damping per axis, N·s/m.
    pub translational_damping: [f64; 3],
    /// Rotational damping per axis, N·m·s/rad.
    pub rotational_damping: [f64; 3],
    /// Per-axis clip of the position error, m.
    pub translational_clip: [f64; 3],
    /// Per-axis clip of the orientation error (rotation vector), rad.
    pub rotational_clip: [f64; 3],
    /// Stiffness of the nullspace posture task, N·m/rad.
    pub nullspace_stiffness: f64,
}

/// An operator command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Emergency stop (latches).
    EStop,
    /// Clear a latched e-stop (deliberate operator action).
    ResetEStop,
    /// Start an episode.
    StartEpisode,
    /// Stop the current episode.
    StopEpisode,
    /// Reset the scene / arm to the episode's start.
    ResetEpisode,
    /// Label the current episode a success (`true`) or failure (`false`).
    Label(bool),
    /// New impedance gains (validated by the controller; rejected values leave the old gains in force).
    SetGains(ImpedanceGains),
}

/// A command from the operator (panel, teleop device or CLI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorCommand {
    /// Stamp = when the operator issued it.
    pub header: Header,
    /// What to do.
    pub command: Command,
}
message!(OperatorCommand, "OperatorCommand");

/// Pixel layout of a [`Frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PixelEncoding {
    /// Row-major, 3 bytes per pixel, R G B, no padding.
    Rgb8,
    /// A JPEG file's bytes.
    Jpeg,
}

/// One camera image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Stamp = capture time, taken at grab.
    pub header: Header,
    /// Camera name from the config.
    pub camera: String,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Pixel layout of `data`.
    pub encoding: PixelEncoding,
    /// Pixels.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}
message!(Frame, "Frame");

impl Frame {
    /// The largest width or height a frame may declare, pixels. Larger frames are refused before anything is
    /// allocated or decoded (a tiny JPEG may declare 65 535 × 65 535 pixels, which decode to gigabytes).
    pub const MAX_SIDE: u32 = 8192;
    /// The most pixels a frame may declare (a 16-megapixel camera's; 48 MiB of RGB).
    pub const MAX_PIXELS: u64 = 16 * 1024 * 1024;

    /// Whether `width` × `height` is a size a frame may declare: both sides in 1..=[`Self::MAX_SIDE`] and at most
    /// [`Self::MAX_PIXELS`] pixels.
    pub fn size_allowed(width: u32, height: u32) -> bool {
        (1..=Self::MAX_SIDE).contains(&width)
            && (1..=Self::MAX_SIDE).contains(&height)
            && u64::from(width) * u64::from(height) <= Self::MAX_PIXELS
    }

    /// Bytes of an RGB8 image of the declared size, or `None` when the size is not allowed
    /// ([`Self::size_allowed`]); never overflows.
    pub fn rgb_len(width: u32, height: u32) -> Option<usize> {
        if !Self::size_allowed(width, height) {
            return None;
        }
        usize::try_from(u64::from(width) * u64::from(height) * 3).ok()
    }

    /// True when the declared size is allowed and `data` has the size `width`, `height` and `encoding` promise
    /// (for a JPEG: not empty; its own header is checked against the declared size before decoding).
    pub fn is_consistent(&self) -> bool {
        match self.encoding {
            PixelEncoding::Rgb8 => Self::rgb_len(self.width, self.height) == Some(self.data.len()),
            PixelEncoding::Jpeg => Self::size_allowed(self.width, self.height) && !self.data.is_empty(),
        }
    }
}

/// Severity of an [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// For information.
    Info,
    /// Something needs attention.
    Warn,
    /// Something failed.
    Error,
}

/// A notable event reported by a node (a rejected command, a fault, a stale input…), for the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stamp = when it happened.
    pub header: Header,
    /// Reporting node.
    pub node: String,
    /// Severity.
    pub level: Level,
    /// Human-readable text, naming what and where.
    pub text: String,
}
message!(Event, "Event");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pose_isometry_round_trip() {
        let iso = Isometry3::new(Vector3::new(0.4, -0.1, 0.3), Vector3::new(0.1, -0.2, 0.3));
        let p = Pose::from_isometry(&iso);
        assert!(p.is_valid());
        let back = p.to_isometry();
        assert!((back.translation.vector - iso.translation.vector).norm() < 1e-12);
        assert!(back.rotation.angle_to(&iso.rotation) < 1e-12);
    }

    #[test]
    fn invalid_poses_are_detected() {
        let mut p = Pose::default();
        assert!(p.is_valid());
        p.position[1] = f64::NAN;
        assert!(!p.is_valid());
        let p = Pose { position: [0.0; 3], orientation: [2.0, 0.0, 0.0, 0.0] };
        assert!(!p.is_valid());
    }

    #[test]
    fn frame_consistency_checks_size() {
        let mut f = Frame {
            header: Header::default(),
            camera: "front".into(),
            width: 4,
            height: 2,
            encoding: PixelEncoding::Rgb8,
            data: vec![0; 24],
        };
        assert!(f.is_consistent());
        f.data.pop();
        assert!(!f.is_consistent());
    }

    #[test]
    fn hostile_frame_sizes_are_inconsistent_without_overflow() {
        let f = Frame {
            header: Header::default(),
            camera: "front".into(),
            width: u32::MAX,
            height: u32::MAX,
            encoding: PixelEncoding::Rgb8,
            data: vec![0; 3],
        };
        assert!(!f.is_consistent());
        assert_eq!(Frame::rgb_len(u32::MAX, u32::MAX), None);
        assert_eq!(Frame::rgb_len(0, 10), None);
        assert_eq!(Frame::rgb_len(Frame::MAX_SIDE + 1, 1), None);
        assert_eq!(Frame::rgb_len(4096, 4096), Some(4096 * 4096 * 3));
        let jpeg = Frame { encoding: PixelEncoding::Jpeg, width: 20_000, height: 20_000, ..f };
        assert!(!jpeg.is_consistent(), "a JPEG declaring 20000×20000 is refused before decoding");
    }
}
