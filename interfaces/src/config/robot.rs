//! `[robot]` and `[driver]`: the arm's model and the backend that drives it.

use super::Validator;
use crate::drivers::MAX_DOF;
use serde::{Deserialize, Serialize};

/// Mass properties of a rigid link, in the link's own (modified-DH) frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inertial {
    /// Mass, kg.
    pub mass: f64,
    /// Centre of mass in the link frame, m.
    pub com: [f64; 3],
    /// Inertia about the centre of mass, link-frame axes, kg·m²: `[ixx, iyy, izz, ixy, ixz, iyz]`.
    pub inertia: [f64; 6],
}

impl Inertial {
    fn validate(&self, v: &mut Validator, key: &str) {
        v.range(&format!("{key}.mass"), self.mass, 0.0, 100.0, "kg");
        v.range_each(&format!("{key}.com"), &self.com, -2.0, 2.0, "m");
        v.range_each(&format!("{key}.inertia"), &self.inertia[..3], 0.0, 10.0, "kg·m² (diagonal, ≥ 0)");
        v.range_each(&format!("{key}.inertia"), &self.inertia[3..], -10.0, 10.0, "kg·m²");
        let [a, b, c, ..] = self.inertia;
        if a + b < c - 1e-12 || a + c < b - 1e-12 || b + c < a - 1e-12 {
            v.push(
                &format!("{key}.inertia"),
                format!("{:?}", self.inertia),
                "principal moments satisfying the triangle inequality",
            );
        }
    }
}

/// One revolute joint in Craig's **modified** Denavit–Hartenberg convention (as Franka publishes it): the link
/// frame of joint *i* is reached from the previous one by `RotX(alpha) · TransX(a) · RotZ(q + theta_offset) ·
/// TransZ(d)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointConfig {
    /// Joint name (matches the simulator's joint).
    pub name: String,
    /// Link length along the previous x axis, m.
    pub a: f64,
    /// Link offset along the new z axis, m.
    pub d: f64,
    /// Twist about the previous x axis, rad.
    pub alpha: f64,
    /// Constant added to the joint angle, rad.
    #[serde(default)]
    pub theta_offset: f64,
    /// Lower position limit, rad.
    pub lower: f64,
    /// Upper position limit, rad.
    pub upper: f64,
    /// Velocity limit, rad/s.
    pub velocity_limit: f64,
    /// Torque limit, N·m.
    pub torque_limit: f64,
    /// Mass properties of the link this joint moves.
    pub inertial: Inertial,
    /// Viscous friction in the simulator, N·m·s/rad.
    #[serde(default)]
    pub damping: f64,
}

/// The tool centre point (TCP) relative to the last joint's frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// Position, m.
    pub position: [f64; 3],
    /// Orientation as roll, pitch, yaw (X-Y-Z fixed axes), rad.
    pub rpy: [f64; 3],
    /// Mass properties of the hand (gripper body) rigidly attached to the last link, in the last joint's frame.
    pub hand: Inertial,
}

/// `[robot]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotConfig {
    /// Model name (e.g. `panda`).
    pub model: String,
    /// Gravity in the base frame, m/s².
    #[serde(default = "default_gravity")]
    pub gravity: [f64; 3],
    /// Joints from base to tip.
    pub joints: Vec<JointConfig>,
    /// Tool centre point.
    pub tcp: TcpConfig,
}

fn default_gravity() -> [f64; 3] {
    [0.0, 0.0, -9.81]
}

impl RobotConfig {
    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.joints.len()
    }

    pub(crate) fn validate(&self, v: &mut Validator) {
        if self.joints.is_empty() || self.joints.len() > MAX_DOF {
            v.push("robot.joints", format!("{} joints", self.joints.len()), &format!("1 to {MAX_DOF} joints"));
        }
        v.range_each("robot.gravity", &self.gravity, -20.0, 20.0, "m/s²");
        for (i, j) in self.joints.iter().enumerate() {
            let k = format!("robot.joints[{i}]");
            v.range(&format!("{k}.a"), j.a, -2.0, 2.0, "m");
            v.range(&format!("{k}.d"), j.d, -2.0, 2.0, "m");
            v.range(&format!("{k}.alpha"), j.alpha, -std::f64::consts::PI, std::f64::consts::PI, "rad");
            v.range(&format!("{k}.lower"), j.lower, -6.3, 6.3, "rad");
            v.range(&format!("{k}.upper"), j.upper, -6.3, 6.3, "rad");
            if j.lower >= j.upper {
                v.push(&format!("{k}.upper"), format!("{}", j.upper), &format!("greater than {k}.lower = {}", j.lower));
            }
            v.range(&format!("{k}.velocity_limit"), j.velocity_limit, 0.01, 20.0, "rad/s");
            v.range(&format!("{k}.torque_limit"), j.torque_limit, 0.01, 1000.0, "N·m");
            v.range(&format!("{k}.damping"), j.damping, 0.0, 100.0, "N·m·s/rad");
            j.inertial.validate(v, &format!("{k}.inertial"));
        }
        v.range_each("robot.tcp.position", &self.tcp.position, -1.0, 1.0, "m");
        v.range_each("robot.tcp.rpy", &self.tcp.rpy, -7.0, 7.0, "rad");
        self.tcp.hand.validate(v, "robot.tcp.hand");
    }
}

/// `[driver]`: the backend driving the arm, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriverConfig {
    /// The MuJoCo simulation of the cell.
    Sim {
        /// Physics step, s (1 kHz = 0.001).
        timestep: f64,
        /// Run the simulation against the wall clock (`true`) or as fast as possible (`false`).
        #[serde(default = "default_true")]
        realtime: bool,
    },
    /// A chain of Dynamixel servos on one RS-485/TTL bus, Protocol 2.0, current-based torque control.
    Dynamixel(DynamixelConfig),
    /// A Universal Robots e-Series arm over RTDE (TCP 30004), torques applied by a URScript program on the robot.
    UrRtde(UrRtdeConfig),
    /// A Franka Emika Panda through the Franka Control Interface (FCI, protocol version 5): torque control at 1 kHz.
    Franka(FrankaConfig),
    /// A chain of Feetech STS position servos on one half-duplex bus (the SO-100/SO-101 arm): the controller's
    /// torques become goal-position offsets through each servo's position-loop stiffness.
    Feetech(FeetechConfig),
}

/// Which control table the servos use (addresses and units differ between families).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServoSeries {
    /// X series (XM430, XM540, XH…): 4096 counts/rev, 0.229 rpm, 2.69 mA units.
    X,
    /// Dynamixel-P / PRO+ series (PH54, PM54, …): 1 003 846 counts/rev, 0.01 rpm, 1 mA units.
    P,
}

/// What a driver does to the arm after a fault it cannot recover from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SafeStopKind {
    /// Hold the measured position (servo position loop with a current limit).
    Hold,
    /// Disable torque: the arm goes limp (use only where it cannot fall onto anything).
    TorqueOff,
}

/// `[driver] kind = "dynamixel"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamixelConfig {
    /// Serial port (e.g. `/dev/ttyUSB0`, or a `/dev/serial/by-id/…` path).
    pub port: String,
    /// Bus baud rate, bit/s (one the servos support: 57 600 … 4 500 000).
    pub baud: u32,
    /// Control-table family of every servo on the bus.
    pub series: ServoSeries,
    /// Servo ID of each joint, base to tip (one per `[[robot.joints]]`).
    pub ids: Vec<u8>,
    /// Torque constant of each joint at the joint (gear ratio included), N·m/A: `τ = k · current`.
    pub torque_constant: Vec<f64>,
    /// Joint angle when the servo reads its zero count, rad, per joint (default 0).
    #[serde(default)]
    pub zero_offset: Vec<f64>,
    /// Joints whose servo turns opposite to the model's joint axis (default none).
    #[serde(default)]
    pub inverted: Vec<bool>,
    /// Return Delay Time written to every servo, µs (multiples of 2, ≤ 508; 0 for the fastest bus).
    #[serde(default)]
    pub return_delay_us: u32,
    /// How long to wait for a status packet, ms.
    #[serde(default = "default_dxl_timeout_ms")]
    pub timeout_ms: f64,
    /// Retries of a failed transaction before the driver gives up and stops the arm safely.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// What the safe stop does.
    #[serde(default = "default_safe_stop")]
    pub safe_stop: SafeStopKind,
    /// Current limit while holding after a safe stop, A.
    #[serde(default = "default_hold_current")]
    pub hold_current_limit: f64,
    /// The USB-serial adapter's latency timer the cell expects, ms (FTDI default 16; set 1). The driver warns
    /// when the adapter's setting is larger.
    #[serde(default = "default_latency_timer")]
    pub latency_timer_ms: u32,
}

/// `[driver] kind = "feetech"`: Feetech STS servos (STS3215 in the SO-100/SO-101) on one half-duplex serial bus,
/// protocol 0 (`0xFF 0xFF id len instr params checksum`).
///
/// The servos have no torque mode. The driver turns the controller's joint torque `τ` into a goal position
/// `q_goal = q + clamp(τ, ±τ_max) / k`, with `k` the servo's position-loop stiffness at the joint
/// (`position_stiffness`, N·m/rad) and `τ_max` the joint's `torque_limit`, which is also written to the servo's
/// Torque Limit register as the hard bound. In steady state the servo's position loop then applies `k·(q_goal − q) = τ`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeetechConfig {
    /// Serial port (e.g. `/dev/ttyACM0`, or a `/dev/serial/by-id/…` path).
    pub port: String,
    /// Bus baud rate, bit/s (the STS3215 ships at 1 000 000).
    #[serde(default = "default_feetech_baud")]
    pub baud: u32,
    /// Servo ID of each arm joint, base to tip (one per `[[robot.joints]]`).
    pub ids: Vec<u8>,
    /// Servo ID of the gripper's jaw, if the arm has one on the same bus.
    #[serde(default)]
    pub gripper_id: Option<u8>,
    /// Position-loop stiffness of each joint's servo, N·m/rad: the torque the servo applies per radian of
    /// position error below saturation (identified with `corrigo calibrate`, or from the servo's P coefficient).
    pub position_stiffness: Vec<f64>,
    /// Torque of each joint's servo at a Torque Limit of 1000 (100 %), N·m: the register is written as
    /// `1000 · torque_limit / stall_torque`.
    pub stall_torque: Vec<f64>,
    /// Joint angle when the servo reads 2048 (its centre), rad, per joint (default 0); `corrigo calibrate` writes it.
    #[serde(default)]
    pub zero_offset: Vec<f64>,
    /// Joints whose servo turns opposite to the model's joint axis (default none).
    #[serde(default)]
    pub inverted: Vec<bool>,
    /// Jaw servo angles of the closed and the fully open gripper, rad (`[closed, open]`), mapped linearly to
    /// widths 0 … `gripper.max_width`.
    #[serde(default = "default_jaw_range")]
    pub jaw_range: [f64; 2],
    /// How long to wait for a status packet, ms.
    #[serde(default = "default_dxl_timeout_ms")]
    pub timeout_ms: f64,
    /// Retries of a failed transaction before the driver gives up and stops the arm safely.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// What the safe stop does.
    #[serde(default = "default_safe_stop")]
    pub safe_stop: SafeStopKind,
    /// The USB-serial adapter's latency timer the cell expects, ms (set 1). The driver warns when the adapter's
    /// setting is larger.
    #[serde(default = "default_latency_timer")]
    pub latency_timer_ms: u32,
}

/// `[driver] kind = "ur_rtde"`: a Universal Robots e-Series arm (6 joints) over the Real-Time Data Exchange.
///
/// The driver streams the commanded joint torques into `input_double_register_<register_offset + 0…5>` with a
/// sequence counter in `input_int_register_<register_offset>`; the program `hardware_configs/ur_rtde_torque.script`
/// running on the robot applies them each cycle with `direct_torque` and stops the arm when the counter stalls
/// for `watchdog_cycles` cycles or the stop flag (`input_int_register_<register_offset + 1>`) is raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrRtdeConfig {
    /// The robot's IP address or host name.
    pub host: String,
    /// RTDE TCP port (30004 on every UR controller).
    #[serde(default = "default_rtde_port")]
    pub port: u16,
    /// Output frequency requested from the robot, Hz (e-Series: at most 500).
    #[serde(default = "default_rtde_frequency")]
    pub frequency_hz: f64,
    /// How long connecting and each handshake reply may take, ms.
    #[serde(default = "default_rtde_connect_timeout")]
    pub connect_timeout_ms: f64,
    /// A data package arriving later than this after the previous one is a fault (late packet), ms. At least
    /// 1.5 periods of `frequency_hz`.
    #[serde(default = "default_rtde_deadline")]
    pub deadline_ms: f64,
    /// First register of the block the program reads: doubles `offset…offset+6` (six torques, the stop
    /// deceleration), integers `offset…offset+2` (counter, stop flag, watchdog cycles). 24…41 are the registers
    /// reserved for external RTDE clients on e-Series; must match `REG` in the URScript program.
    #[serde(default = "default_rtde_register_offset")]
    pub register_offset: u32,
    /// The program stops the arm when the counter has not changed for this many of its cycles (2 ms each).
    #[serde(default = "default_rtde_watchdog_cycles")]
    pub watchdog_cycles: u32,
    /// Joint deceleration of the program's stop (`stopj`), rad/s². After it the arm holds still, powered.
    #[serde(default = "default_rtde_stop_deceleration")]
    pub stop_deceleration: f64,
    /// Torque per ampere of each joint, N·m/A: the measured torque is `k · actual_current`. Empty: the measured
    /// torque is reported as zero.
    #[serde(default)]
    pub torque_constant: Vec<f64>,
    /// `direct_torque` adds the robot's own gravity compensation to the commanded torques, so the controller
    /// must not add `g(q)` (true for PolyScope 5.22 and later).
    #[serde(default = "default_true")]
    pub gravity_compensated: bool,
}

/// `[driver] kind = "franka"`: a Franka Emika Panda (7 joints) through the Franka Control Interface.
///
/// Commands go over TCP to `host:command_port`; robot states and torque commands are exchanged over UDP at
/// 1 kHz. The robot compensates gravity itself; its reflexes (collision thresholds below) stop the motion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrankaConfig {
    /// The robot's (Control unit's) IP address or host name.
    pub host: String,
    /// FCI command port (1337).
    #[serde(default = "default_fci_port")]
    pub command_port: u16,
    /// Local UDP port for the robot's state stream (0: any free port).
    #[serde(default)]
    pub udp_port: u16,
    /// How long connecting and each command's reply may take, ms.
    #[serde(default = "default_fci_connect_timeout")]
    pub connect_timeout_ms: f64,
    /// A robot state arriving later than this after the previous one is a fault (late packet), ms.
    #[serde(default = "default_fci_deadline")]
    pub deadline_ms: f64,
    /// Contact thresholds of the joint torques, N·m (7 values; the robot reports contact above them).
    #[serde(default = "default_fci_torque_thresholds")]
    pub contact_torque: Vec<f64>,
    /// Collision thresholds of the joint torques, N·m (7 values; a reflex stops the robot above them).
    #[serde(default = "default_fci_torque_thresholds")]
    pub collision_torque: Vec<f64>,
    /// Contact thresholds of the Cartesian wrench, N and N·m (6 values).
    #[serde(default = "default_fci_force_thresholds")]
    pub contact_force: Vec<f64>,
    /// Collision thresholds of the Cartesian wrench, N and N·m (6 values).
    #[serde(default = "default_fci_force_thresholds")]
    pub collision_force: Vec<f64>,
    /// Clear a reflex left from before (automatic error recovery) when opening, instead of refusing to start.
    #[serde(default)]
    pub recover_on_open: bool,
}

/// Physics step used when the simulator backs a device emulator (the driver config is then not `sim`), s.
pub const EMULATOR_TIMESTEP: f64 = 0.001;

fn default_true() -> bool {
    true
}
fn default_dxl_timeout_ms() -> f64 {
    10.0
}
fn default_feetech_baud() -> u32 {
    1_000_000
}
fn default_jaw_range() -> [f64; 2] {
    [0.0, 1.5]
}
fn default_retries() -> u32 {
    3
}
fn default_safe_stop() -> SafeStopKind {
    SafeStopKind::Hold
}
fn default_hold_current() -> f64 {
    1.0
}
fn default_latency_timer() -> u32 {
    1
}
fn default_rtde_port() -> u16 {
    30004
}
fn default_rtde_frequency() -> f64 {
    500.0
}
fn default_rtde_connect_timeout() -> f64 {
    2000.0
}
fn default_rtde_deadline() -> f64 {
    10.0
}
fn default_rtde_register_offset() -> u32 {
    24
}
fn default_rtde_watchdog_cycles() -> u32 {
    10
}
fn default_rtde_stop_deceleration() -> f64 {
    4.0
}

fn default_fci_port() -> u16 {
    1337
}
fn default_fci_connect_timeout() -> f64 {
    2000.0
}
fn default_fci_deadline() -> f64 {
    5.0
}
fn default_fci_torque_thresholds() -> Vec<f64> {
    vec![40.0, 40.0, 36.0, 36.0, 32.0, 28.0, 24.0]
}
fn default_fci_force_thresholds() -> Vec<f64> {
    vec![40.0, 40.0, 40.0, 40.0, 40.0, 40.0]
}

/// Joints of a Franka arm.
pub const FRANKA_DOF: usize = 7;

/// Joints of a Universal Robots arm.
pub const UR_DOF: usize = 6;
/// Highest RTDE output frequency of an e-Series controller, Hz.
pub const UR_RTDE_MAX_HZ: f64 = 500.0;

/// Baud rates of a Feetech STS bus (the servo's Baud Rate register values 0–7).
pub const FEETECH_BAUDS: [u32; 8] = [1_000_000, 500_000, 250_000, 128_000, 115_200, 76_800, 57_600, 38_400];

/// Baud rates a Dynamixel Protocol 2.0 bus runs at.
pub const DYNAMIXEL_BAUDS: [u32; 8] = [9_600, 57_600, 115_200, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 4_500_000];

impl DriverConfig {
    /// The physics step of the simulator: the `sim` driver's, or [`EMULATOR_TIMESTEP`] when the simulator backs
    /// an emulated device.
    pub fn sim_timestep(&self) -> f64 {
        match self {
            DriverConfig::Sim { timestep, .. } => *timestep,
            _ => EMULATOR_TIMESTEP,
        }
    }

    pub(crate) fn validate(&self, v: &mut Validator, dof: usize) {
        match self {
            DriverConfig::Sim { timestep, .. } => v.range("driver.timestep", *timestep, 1e-5, 0.01, "s"),
            DriverConfig::Dynamixel(d) => d.validate(v, dof),
            DriverConfig::UrRtde(u) => u.validate(v, dof),
            DriverConfig::Franka(f) => f.validate(v, dof),
            DriverConfig::Feetech(f) => f.validate(v, dof),
        }
    }
}

/// Checks that a per-joint list has one entry per joint (`optional`: or none).
fn per_joint_len(v: &mut Validator, key: &str, len: usize, dof: usize, optional: bool) {
    if len != dof && !(optional && len == 0) {
        let allowed = if optional { format!("0 or {dof} entries") } else { format!("{dof} entries") };
        v.push(key, format!("{len} entries"), &format!("{allowed} (one per robot.joints)"));
    }
}

impl FeetechConfig {
    fn validate(&self, v: &mut Validator, dof: usize) {
        if self.port.trim().is_empty() {
            v.push("driver.port", format!("{:?}", self.port), "a serial device path such as /dev/ttyACM0");
        }
        if !FEETECH_BAUDS.contains(&self.baud) {
            v.push("driver.baud", self.baud.to_string(), &format!("one of {FEETECH_BAUDS:?} (bit/s)"));
        }
        let per_joint =
            |v: &mut Validator, key: &str, len: usize, optional: bool| per_joint_len(v, key, len, dof, optional);
        per_joint(v, "driver.ids", self.ids.len(), false);
        per_joint(v, "driver.position_stiffness", self.position_stiffness.len(), false);
        per_joint(v, "driver.stall_torque", self.stall_torque.len(), false);
        per_joint(v, "driver.zero_offset", self.zero_offset.len(), true);
        per_joint(v, "driver.inverted", self.inverted.len(), true);
        let mut seen = [false; 256];
        let all =
            self.ids.iter().map(|&id| ("driver.ids", id)).chain(self.gripper_id.map(|id| ("driver.gripper_id", id)));
        for (i, (key, id)) in all.enumerate() {
            let key = if key == "driver.ids" { format!("{key}[{i}]") } else { key.to_string() };
            v.range_u64(&key, u64::from(id), 0, 253, "servo ID (254 is the broadcast ID)");
            if std::mem::replace(&mut seen[usize::from(id)], true) {
                v.push(&key, id.to_string(), "an ID not used by another servo");
            }
        }
        v.range_each("driver.position_stiffness", &self.position_stiffness, 0.01, 1000.0, "N·m/rad");
        v.range_each("driver.stall_torque", &self.stall_torque, 0.01, 100.0, "N·m");
        v.range_each("driver.zero_offset", &self.zero_offset, -6.3, 6.3, "rad");
        v.range_each("driver.jaw_range", &self.jaw_range, -6.3, 6.3, "rad");
        if self.jaw_range[0] == self.jaw_range[1] {
            v.push("driver.jaw_range", format!("{:?}", self.jaw_range), "two different angles [closed, open], rad");
        }
        v.range("driver.timeout_ms", self.timeout_ms, 0.5, 1000.0, "ms");
        v.range_u64("driver.max_retries", u64::from(self.max_retries), 0, 20, "retries");
        v.range_u64("driver.latency_timer_ms", u64::from(self.latency_timer_ms), 1, 16, "ms");
    }
}

impl DynamixelConfig {
    fn validate(&self, v: &mut Validator, dof: usize) {
        if self.port.trim().is_empty() {
            v.push("driver.port", format!("{:?}", self.port), "a serial device path such as /dev/ttyUSB0");
        }
        if !DYNAMIXEL_BAUDS.contains(&self.baud) {
            v.push("driver.baud", self.baud.to_string(), &format!("one of {DYNAMIXEL_BAUDS:?} (bit/s)"));
        }
        let per_joint =
            |v: &mut Validator, key: &str, len: usize, optional: bool| per_joint_len(v, key, len, dof, optional);
        per_joint(v, "driver.ids", self.ids.len(), false);
        per_joint(v, "driver.torque_constant", self.torque_constant.len(), false);
        per_joint(v, "driver.zero_offset", self.zero_offset.len(), true);
        per_joint(v, "driver.inverted", self.inverted.len(), true);
        let mut seen = [false; 256];
        for (i, &id) in self.ids.iter().enumerate() {
            v.range_u64(&format!("driver.ids[{i}]"), u64::from(id), 0, 252, "servo ID (253–255 are reserved)");
            if std::mem::replace(&mut seen[usize::from(id)], true) {
                v.push(&format!("driver.ids[{i}]"), id.to_string(), "an ID not used by another joint");
            }
        }
        v.range_each("driver.torque_constant", &self.torque_constant, 1e-3, 100.0, "N·m/A");
        v.range_each("driver.zero_offset", &self.zero_offset, -6.3, 6.3, "rad");
        if self.return_delay_us > 508 || !self.return_delay_us.is_multiple_of(2) {
            v.push("driver.return_delay_us", self.return_delay_us.to_string(), "0 ≤ value ≤ 508, even (µs)");
        }
        v.range("driver.timeout_ms", self.timeout_ms, 0.5, 1000.0, "ms");
        v.range_u64("driver.max_retries", u64::from(self.max_retries), 0, 20, "retries");
        v.range("driver.hold_current_limit", self.hold_current_limit, 0.01, 20.0, "A");
        v.range_u64("driver.latency_timer_ms", u64::from(self.latency_timer_ms), 1, 16, "ms");
    }
}

impl UrRtdeConfig {
    fn validate(&self, v: &mut Validator, dof: usize) {
        if dof != UR_DOF {
            v.push("robot.joints", format!("{dof} joints"), "6 joints (a Universal Robots arm)");
        }
        if self.host.trim().is_empty() {
            v.push("driver.host", format!("{:?}", self.host), "the robot's IP address or host name");
        }
        v.range_u64("driver.port", u64::from(self.port), 1, 65_535, "TCP port");
        v.range("driver.frequency_hz", self.frequency_hz, 1.0, UR_RTDE_MAX_HZ, "Hz");
        v.range("driver.connect_timeout_ms", self.connect_timeout_ms, 10.0, 60_000.0, "ms");
        v.range("driver.deadline_ms", self.deadline_ms, 1.0, 1000.0, "ms");
        if self.frequency_hz > 0.0 && self.deadline_ms < 1.5e3 / self.frequency_hz {
            let min = 1.5e3 / self.frequency_hz;
            v.push("driver.deadline_ms", format!("{}", self.deadline_ms), &format!("at least {min} ms (1.5 periods)"));
        }
        v.range_u64("driver.register_offset", u64::from(self.register_offset), 0, 41, "register index");
        v.range_u64("driver.watchdog_cycles", u64::from(self.watchdog_cycles), 1, 500, "cycles");
        v.range("driver.stop_deceleration", self.stop_deceleration, 0.5, 40.0, "rad/s²");
        if !self.torque_constant.is_empty() && self.torque_constant.len() != dof {
            let n = self.torque_constant.len();
            v.push(
                "driver.torque_constant",
                format!("{n} entries"),
                &format!("0 or {dof} entries (one per robot.joints)"),
            );
        }
        v.range_each("driver.torque_constant", &self.torque_constant, 1e-3, 1000.0, "N·m/A");
    }
}

impl FrankaConfig {
    fn validate(&self, v: &mut Validator, dof: usize) {
        if dof != FRANKA_DOF {
            v.push("robot.joints", format!("{dof} joints"), "7 joints (a Franka arm)");
        }
        if self.host.trim().is_empty() {
            v.push("driver.host", format!("{:?}", self.host), "the robot's IP address or host name");
        }
        v.range_u64("driver.command_port", u64::from(self.command_port), 1, 65_535, "TCP port");
        v.range("driver.connect_timeout_ms", self.connect_timeout_ms, 10.0, 60_000.0, "ms");
        v.range("driver.deadline_ms", self.deadline_ms, 1.5, 1000.0, "ms (at least 1.5 periods of 1 kHz)");
        for (key, values, n) in [
            ("driver.contact_torque", &self.contact_torque, FRANKA_DOF),
            ("driver.collision_torque", &self.collision_torque, FRANKA_DOF),
            ("driver.contact_force", &self.contact_force, 6),
            ("driver.collision_force", &self.collision_force, 6),
        ] {
            if values.len() != n {
                v.push(key, format!("{} entries", values.len()), &format!("{n} entries"));
            }
            v.range_each(key, values, 0.5, 500.0, "N·m or N");
        }
        for (i, (lo, hi)) in self.contact_torque.iter().zip(&self.collision_torque).enumerate() {
            if lo > hi {
                v.push(
                    &format!("driver.contact_torque[{i}]"),
                    format!("{lo}"),
                    &format!("at most collision_torque[{i}] = {hi}"),
                );
            }
        }
        for (i, (lo, hi)) in self.contact_force.iter().zip(&self.collision_force).enumerate() {
            if lo > hi {
                v.push(
                    &format!("driver.contact_force[{i}]"),
                    format!("{lo}"),
                    &format!("at most collision_force[{i}] = {hi}"),
                );
            }
        }
    }
}
