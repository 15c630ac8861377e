//! The Franka Control Interface wire format (FCI protocol version 5), pure: the TCP command messages and the UDP
//! robot state and robot command. Packed structures, little-endian.
//!
//! **Commands (TCP, port 1337)**: every message is a 12-byte header (`command: u32`, `command_id: u32`, `size:
//! u32` = header and payload) and a payload; the robot answers with the same header (same command and ID) and a
//! payload starting with a `status: u8` (0 = success). A Move is answered twice: "motion started" at once, and a
//! final status when the motion ends (finished, stopped, aborted by a reflex).
//!
//! **Real-time (UDP)**: the robot sends a [`RobotState`] every millisecond to the UDP port the client named in
//! Connect; during a motion the client answers each with a [`RobotCommand`] carrying the state's message ID.

use std::fmt;

/// The FCI protocol version this client speaks.
pub const FCI_VERSION: u16 = 5;
/// The robot's command port.
pub const COMMAND_PORT: u16 = 1337;
/// Bytes of a command header.
pub const HEADER_LEN: usize = 12;
/// The largest command message this codec accepts, bytes.
pub const MAX_MESSAGE: usize = 1024;

/// Command codes.
pub mod command {
    /// Connect: version and UDP port; answers status and the robot's version.
    pub const CONNECT: u32 = 0;
    /// Start a motion (controller and motion generator modes, deviations).
    pub const MOVE: u32 = 1;
    /// Stop the running motion.
    pub const STOP_MOVE: u32 = 2;
    /// Contact and collision thresholds.
    pub const SET_COLLISION_BEHAVIOR: u32 = 4;
    /// Clear a reflex.
    pub const AUTOMATIC_ERROR_RECOVERY: u32 = 12;
    /// The highest command code of the protocol.
    pub const LAST: u32 = 13;
}

/// Move statuses.
pub mod move_status {
    /// The motion ended as commanded.
    pub const SUCCESS: u8 = 0;
    /// The motion started (first reply).
    pub const MOTION_STARTED: u8 = 1;
    /// Another motion preempted it.
    pub const PREEMPTED: u8 = 2;
    /// The robot refused (not in a state to move).
    pub const REJECTED: u8 = 3;
    /// A reflex aborted the motion.
    pub const REFLEX_ABORTED: u8 = 6;
    /// The emergency stop aborted the motion.
    pub const EMERGENCY_ABORTED: u8 = 7;
    /// Aborted otherwise.
    pub const ABORTED: u8 = 9;
    /// A name for a Move status.
    pub fn name(s: u8) -> &'static str {
        match s {
            0 => "success",
            1 => "motion started",
            2 => "preempted",
            3 => "command not possible (rejected)",
            4 => "start at singular pose (rejected)",
            5 => "invalid argument (rejected)",
            6 => "aborted by a reflex",
            7 => "aborted by the emergency stop",
            8 => "input error (aborted)",
            9 => "aborted",
            _ => "unknown status",
        }
    }
}

/// Controller mode of a Move: torques from the client.
pub const CONTROLLER_EXTERNAL: u32 = 2;
/// Motion generator mode of a Move: joint velocities (zero while the client commands torques).
pub const MOTION_JOINT_VELOCITY: u32 = 1;

/// `robot_mode` of the state.
pub mod robot_mode {
    /// Idle (holding, ready).
    pub const IDLE: u8 = 1;
    /// Running a motion.
    pub const MOVE: u8 = 2;
    /// Guiding (hand-guided with the pilot buttons).
    pub const GUIDING: u8 = 3;
    /// A reflex stopped the robot; errors are set.
    pub const REFLEX: u8 = 4;
    /// The external activation device (user stop) is pressed.
    pub const USER_STOPPED: u8 = 5;
    /// Recovering from a reflex.
    pub const AUTOMATIC_ERROR_RECOVERY: u8 = 6;
    /// A name for a robot mode.
    pub fn name(m: u8) -> &'static str {
        match m {
            0 => "other",
            1 => "idle",
            2 => "move",
            3 => "guiding",
            4 => "reflex",
            5 => "user stopped",
            6 => "automatic error recovery",
            _ => "unknown",
        }
    }
}

/// Controller mode reported in the state while the client's torques are applied.
pub const STATE_CONTROLLER_EXTERNAL: u8 = 2;
/// Motion generator mode reported in the state during a joint-velocity motion.
pub const STATE_MOTION_JOINT_VELOCITY: u8 = 2;

/// The robot's error and reflex flags, in wire order.
pub const ERRORS: [&str; 41] = [
    "joint position limits violation",
    "cartesian position limits violation",
    "self-collision avoidance violation",
    "joint velocity violation",
    "cartesian velocity violation",
    "force control safety violation",
    "joint reflex",
    "cartesian reflex",
    "max goal pose deviation violation",
    "max path pose deviation violation",
    "cartesian velocity profile safety violation",
    "joint position motion generator start pose invalid",
    "joint motion generator position limits violation",
    "joint motion generator velocity limits violation",
    "joint motion generator velocity discontinuity",
    "joint motion generator acceleration discontinuity",
    "cartesian position motion generator start pose invalid",
    "cartesian motion generator elbow limit violation",
    "cartesian motion generator velocity limits violation",
    "cartesian motion generator velocity discontinuity",
    "cartesian motion generator acceleration discontinuity",
    "cartesian motion generator elbow sign inconsistent",
    "cartesian motion generator start elbow invalid",
    "force controller desired force tolerance violation",
    "start elbow sign inconsistent",
    "communication constraints violation",
    "power limit violation",
    "cartesian motion generator joint position limits violation",
    "cartesian motion generator joint velocity limits violation",
    "cartesian motion generator joint velocity discontinuity",
    "cartesian motion generator joint acceleration discontinuity",
    "cartesian position motion generator invalid frame",
    "controller torque discontinuity",
    "joint P2P insufficient torque for planning",
    "tau J range violation",
    "instability detection",
    "joint move in wrong direction",
    "cartesian spline violation",
    "joint via plan limit violation",
    "base acceleration initialization timeout",
    "base acceleration invalid reading",
];

/// Index of "joint reflex" in [`ERRORS`].
pub const ERROR_JOINT_REFLEX: usize = 6;
/// Index of "cartesian reflex" in [`ERRORS`].
pub const ERROR_CARTESIAN_REFLEX: usize = 7;
/// Index of "communication constraints violation" in [`ERRORS`].
pub const ERROR_COMMUNICATION: usize = 25;

/// A set of [`ERRORS`] flags, bit `i` = flag `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Errors(pub u64);

impl Errors {
    /// No flag set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Flag `i` set.
    pub fn has(self, i: usize) -> bool {
        i < ERRORS.len() && self.0 & (1 << i) != 0
    }
    /// With flag `i` set.
    pub fn with(self, i: usize) -> Self {
        if i < ERRORS.len() { Self(self.0 | (1 << i)) } else { self }
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "no error flags");
        }
        let mut first = true;
        for (i, name) in ERRORS.iter().enumerate() {
            if self.has(i) {
                if !first {
                    write!(f, ", ")?;
                }
                write!(f, "{name}")?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Little-endian readers that return `None` past the end.
pub mod le {
    /// `u32` at `at`.
    pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }
    /// `u16` at `at`.
    pub fn u16_at(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
    }
    /// `u64` at `at`.
    pub fn u64_at(b: &[u8], at: usize) -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    }
    /// `f64` at `at`.
    pub fn f64_at(b: &[u8], at: usize) -> Option<f64> {
        Some(f64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    }
    /// `N` `f64` from `at`.
    pub fn f64s_at<const N: usize>(b: &[u8], at: usize) -> Option<[f64; N]> {
        let mut v = [0.0; N];
        for (i, x) in v.iter_mut().enumerate() {
            *x = f64_at(b, at + 8 * i)?;
        }
        Some(v)
    }
    /// Writes `v` from `at` (the caller sized `b`).
    pub fn put_f64s(b: &mut [u8], at: usize, v: &[f64]) {
        for (i, x) in v.iter().enumerate() {
            b[at + 8 * i..at + 8 * i + 8].copy_from_slice(&x.to_le_bytes());
        }
    }
}

/// A command message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Command code (see [`command`]).
    pub command: u32,
    /// ID the client chose; the reply carries it back.
    pub command_id: u32,
    /// Bytes of header and payload.
    pub size: u32,
}

/// A command message that did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed (at least this many in all).
    Incomplete {
        /// Total bytes needed.
        need: usize,
    },
    /// The size is below the header or above [`MAX_MESSAGE`].
    BadSize {
        /// The size field.
        size: u32,
    },
    /// The command code is not one of the protocol.
    UnknownCommand {
        /// The code.
        command: u32,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Incomplete { need } => write!(f, "incomplete message ({need} bytes needed)"),
            ParseError::BadSize { size } => write!(f, "message size {size} outside {HEADER_LEN}…{MAX_MESSAGE}"),
            ParseError::UnknownCommand { command } => write!(f, "unknown command {command}"),
        }
    }
}

/// Parses the command message at the start of `buf`: its header, payload and length.
pub fn parse(buf: &[u8]) -> Result<(Header, &[u8], usize), ParseError> {
    let (Some(command), Some(command_id), Some(size)) = (le::u32_at(buf, 0), le::u32_at(buf, 4), le::u32_at(buf, 8))
    else {
        return Err(ParseError::Incomplete { need: HEADER_LEN });
    };
    if !(HEADER_LEN as u32..=MAX_MESSAGE as u32).contains(&size) {
        return Err(ParseError::BadSize { size });
    }
    if command > command::LAST {
        return Err(ParseError::UnknownCommand { command });
    }
    let n = size as usize;
    if buf.len() < n {
        return Err(ParseError::Incomplete { need: n });
    }
    Ok((Header { command, command_id, size }, &buf[HEADER_LEN..n], n))
}

/// Writes one command message (header and `parts` concatenated) into `out` (cleared first).
pub fn encode(out: &mut Vec<u8>, command: u32, command_id: u32, parts: &[&[u8]]) {
    let size = HEADER_LEN + parts.iter().map(|p| p.len()).sum::<usize>();
    out.clear();
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&command_id.to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// The Connect request payload.
pub fn connect_request(udp_port: u16) -> [u8; 4] {
    let mut b = [0u8; 4];
    b[..2].copy_from_slice(&FCI_VERSION.to_le_bytes());
    b[2..].copy_from_slice(&udp_port.to_le_bytes());
    b
}

/// The Move request payload: the client's torques with a zero joint-velocity motion, and the allowed path and
/// goal deviations (translation m, rotation rad, elbow rad).
pub fn move_request(path: [f64; 3], goal: [f64; 3]) -> [u8; 56] {
    let mut b = [0u8; 56];
    b[..4].copy_from_slice(&CONTROLLER_EXTERNAL.to_le_bytes());
    b[4..8].copy_from_slice(&MOTION_JOINT_VELOCITY.to_le_bytes());
    le::put_f64s(&mut b, 8, &path);
    le::put_f64s(&mut b, 32, &goal);
    b
}

/// The SetCollisionBehavior request payload: lower and upper torque thresholds (7 each) and force thresholds
/// (6 each), used both during acceleration and at nominal speed.
pub fn collision_request(
    contact_torque: &[f64; 7],
    collision_torque: &[f64; 7],
    contact_force: &[f64; 6],
    collision_force: &[f64; 6],
) -> Vec<u8> {
    let mut b = vec![0u8; 8 * (4 * 7 + 4 * 6)];
    let mut at = 0;
    for v in [contact_torque, collision_torque, contact_torque, collision_torque] {
        le::put_f64s(&mut b, at, v);
        at += 56;
    }
    for v in [contact_force, collision_force, contact_force, collision_force] {
        le::put_f64s(&mut b, at, v);
        at += 48;
    }
    b
}

/// Offsets and sizes of the robot state's fields, in wire order.
const STATE_FIELDS: [(&str, usize); 46] = [
    ("message_id", 8),
    ("O_T_EE", 128),
    ("O_T_EE_d", 128),
    ("F_T_EE", 128),
    ("EE_T_K", 128),
    ("F_T_NE", 128),
    ("NE_T_EE", 128),
    ("m_ee", 8),
    ("I_ee", 72),
    ("F_x_Cee", 24),
    ("m_load", 8),
    ("I_load", 72),
    ("F_x_Cload", 24),
    ("elbow", 16),
    ("elbow_d", 16),
    ("tau_J", 56),
    ("tau_J_d", 56),
    ("dtau_J", 56),
    ("q", 56),
    ("q_d", 56),
    ("dq", 56),
    ("dq_d", 56),
    ("ddq_d", 56),
    ("joint_contact", 56),
    ("cartesian_contact", 48),
    ("joint_collision", 56),
    ("cartesian_collision", 48),
    ("tau_ext_hat_filtered", 56),
    ("O_F_ext_hat_K", 48),
    ("K_F_ext_hat_K", 48),
    ("O_dP_EE_d", 48),
    ("O_ddP_O", 24),
    ("elbow_c", 16),
    ("delbow_c", 16),
    ("ddelbow_c", 16),
    ("O_T_EE_c", 128),
    ("O_dP_EE_c", 48),
    ("O_ddP_EE_c", 48),
    ("theta", 56),
    ("dtheta", 56),
    ("motion_generator_mode", 1),
    ("controller_mode", 1),
    ("errors", 41),
    ("reflex_reason", 41),
    ("robot_mode", 1),
    ("control_command_success_rate", 8),
];

const fn state_offset(field: usize) -> usize {
    let mut o = 0;
    let mut k = 0;
    while k < field {
        o += STATE_FIELDS[k].1;
        k += 1;
    }
    o
}

/// Bytes of a robot state datagram.
pub const STATE_LEN: usize = state_offset(STATE_FIELDS.len());
const AT_TAU_J: usize = state_offset(15);
const AT_TAU_J_D: usize = state_offset(16);
const AT_Q: usize = state_offset(18);
const AT_DQ: usize = state_offset(20);
const AT_MOTION_MODE: usize = state_offset(40);
const AT_CONTROLLER_MODE: usize = state_offset(41);
const AT_ERRORS: usize = state_offset(42);
const AT_REFLEX: usize = state_offset(43);
const AT_ROBOT_MODE: usize = state_offset(44);
const AT_SUCCESS_RATE: usize = state_offset(45);

/// The fields of a robot state this driver uses.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RobotState {
    /// Message ID, advancing by one per millisecond.
    pub message_id: u64,
    /// Measured link-side joint torques, N·m.
    pub tau_j: [f64; 7],
    /// Commanded joint torques without gravity, N·m.
    pub tau_j_d: [f64; 7],
    /// Joint positions, rad.
    pub q: [f64; 7],
    /// Joint velocities, rad/s.
    pub dq: [f64; 7],
    /// Motion generator mode (0 idle, 2 joint velocity, …).
    pub motion_generator_mode: u8,
    /// Controller mode (2 external: the client's torques).
    pub controller_mode: u8,
    /// Error flags of the current or last motion.
    pub errors: Errors,
    /// Flags that triggered the last reflex.
    pub reflex_reason: Errors,
    /// Robot mode.
    pub robot_mode: u8,
    /// Share of the client's commands that arrived in time over the last 100 ms.
    pub control_command_success_rate: f64,
}

/// A datagram that is not a robot state or a robot command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramError {
    /// Wrong size.
    Size {
        /// Bytes received.
        got: usize,
        /// Bytes expected.
        want: usize,
    },
    /// A flag byte other than 0 or 1.
    Flag {
        /// Byte offset.
        at: usize,
    },
}

impl fmt::Display for DatagramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatagramError::Size { got, want } => write!(f, "datagram of {got} bytes, expected {want}"),
            DatagramError::Flag { at } => write!(f, "flag byte at {at} is neither 0 nor 1"),
        }
    }
}

fn flags(b: &[u8], at: usize) -> Result<Errors, DatagramError> {
    let mut e = Errors::default();
    for i in 0..ERRORS.len() {
        match b[at + i] {
            0 => {}
            1 => e = e.with(i),
            _ => return Err(DatagramError::Flag { at: at + i }),
        }
    }
    Ok(e)
}

impl RobotState {
    /// Decodes a robot state datagram.
    pub fn decode(b: &[u8]) -> Result<Self, DatagramError> {
        if b.len() != STATE_LEN {
            return Err(DatagramError::Size { got: b.len(), want: STATE_LEN });
        }
        let bad = DatagramError::Size { got: b.len(), want: STATE_LEN };
        let (Some(message_id), Some(tau_j), Some(tau_j_d), Some(q), Some(dq), Some(rate)) = (
            le::u64_at(b, 0),
            le::f64s_at(b, AT_TAU_J),
            le::f64s_at(b, AT_TAU_J_D),
            le::f64s_at(b, AT_Q),
            le::f64s_at(b, AT_DQ),
            le::f64_at(b, AT_SUCCESS_RATE),
        ) else {
            return Err(bad);
        };
        Ok(Self {
            message_id,
            tau_j,
            tau_j_d,
            q,
            dq,
            motion_generator_mode: b[AT_MOTION_MODE],
            controller_mode: b[AT_CONTROLLER_MODE],
            errors: flags(b, AT_ERRORS)?,
            reflex_reason: flags(b, AT_REFLEX)?,
            robot_mode: b[AT_ROBOT_MODE],
            control_command_success_rate: rate,
        })
    }
    /// Encodes a datagram (fields this struct does not carry are zero).
    pub fn encode(&self, b: &mut [u8; STATE_LEN]) {
        b.fill(0);
        b[..8].copy_from_slice(&self.message_id.to_le_bytes());
        le::put_f64s(b, AT_TAU_J, &self.tau_j);
        le::put_f64s(b, AT_TAU_J_D, &self.tau_j_d);
        le::put_f64s(b, AT_Q, &self.q);
        le::put_f64s(b, AT_DQ, &self.dq);
        b[AT_MOTION_MODE] = self.motion_generator_mode;
        b[AT_CONTROLLER_MODE] = self.controller_mode;
        for i in 0..ERRORS.len() {
            b[AT_ERRORS + i] = u8::from(self.errors.has(i));
            b[AT_REFLEX + i] = u8::from(self.reflex_reason.has(i));
        }
        b[AT_ROBOT_MODE] = self.robot_mode;
        b[AT_SUCCESS_RATE..AT_SUCCESS_RATE + 8].copy_from_slice(&self.control_command_success_rate.to_le_bytes());
    }
}

/// Bytes of a robot command datagram.
pub const COMMAND_LEN: usize = 8 + (7 + 7 + 16 + 6 + 2) * 8 + 2 + 7 * 8;
const AT_DQ_C: usize = 8 + 7 * 8;
const AT_FINISHED: usize = 8 + (7 + 7 + 16 + 6 + 2) * 8 + 1;
const AT_TAU_C: usize = AT_FINISHED + 1;

/// A robot command: zero joint velocities for the motion generator and the client's torques.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RobotCommand {
    /// The message ID of the state it answers.
    pub message_id: u64,
    /// Commanded joint velocities of the motion generator, rad/s (zero in torque control).
    pub dq_c: [f64; 7],
    /// Ends the motion.
    pub motion_finished: bool,
    /// Commanded joint torques without gravity, N·m.
    pub tau_j_d: [f64; 7],
}

impl RobotCommand {
    /// Encodes a datagram.
    pub fn encode(&self, b: &mut [u8; COMMAND_LEN]) {
        b.fill(0);
        b[..8].copy_from_slice(&self.message_id.to_le_bytes());
        le::put_f64s(b, AT_DQ_C, &self.dq_c);
        b[AT_FINISHED] = u8::from(self.motion_finished);
        le::put_f64s(b, AT_TAU_C, &self.tau_j_d);
    }
    /// Decodes a datagram.
    pub fn decode(b: &[u8]) -> Result<Self, DatagramError> {
        let bad = DatagramError::Size { got: b.len(), want: COMMAND_LEN };
        if b.len() != COMMAND_LEN {
            return Err(bad);
        }
        let (Some(message_id), Some(dq_c), Some(tau_j_d)) =
            (le::u64_at(b, 0), le::f64s_at(b, AT_DQ_C), le::f64s_at(b, AT_TAU_C))
        else {
            return Err(bad);
        };
        let motion_finished = match b[AT_FINISHED] {
            0 => false,
            1 => true,
            _ => return Err(DatagramError::Flag { at: AT_FINISHED }),
        };
        Ok(Self { message_id, dq_c, motion_finished, tau_j_d })
    }
}
