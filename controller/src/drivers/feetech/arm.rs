//! [`FeetechArm`]: a chain of Feetech STS position servos (the SO-100/SO-101 arm) behind [`ArmDriver`], and
//! [`FeetechGripper`], its jaw servo on the same bus.
//!
//! # Impedance on a position-servo arm
//!
//! The STS3215 has no torque or current mode: it runs its own position loop, whose torque grows with the
//! position error until it saturates at the Torque Limit register. The driver turns the controller's joint
//! torques into goal positions through that loop:
//!
//! ```text
//! q_goal,j = clamp( q_j + clamp(τ_j, ±τ_max,j) / k_j ,  lower_j, upper_j )      (every cycle, from the measured q)
//! Torque Limit register_j = 1000 · τ_max,j / τ_stall,j                           (at open, ≤ 1000)
//! ```
//!
//! with `k_j` the servo's position-loop stiffness at the joint (`driver.position_stiffness`, N·m/rad),
//! `τ_max,j` the joint's `torque_limit` and `τ_stall,j` the servo's stall torque (`driver.stall_torque`). Below
//! saturation the servo then applies `k_j·(q_goal − q) = τ_j`: the same Cartesian impedance law, error clipping,
//! gravity term (the arm does not compensate gravity itself) and nullspace term act as on a torque-controlled arm.
//! Limits of the approximation, written down:
//! - `k_j` is the servo's small-error stiffness; the real loop is a P(I)D on counts with a dead zone, so torques
//!   below `k_j · dead zone` (≈ 0.1 N·m at 1 count for k = 60 N·m/rad) are not rendered, and the servo's own D
//!   term adds damping on top of the law's.
//! - One count is 1.5 mrad: the smallest goal offset. At `k = 60 N·m/rad` the torque resolution is 0.09 N·m.
//! - The goal is computed from the position measured at the start of the cycle; the servo closes its loop at
//!   ~1 kHz internally, so at the control rate (≥ 200 Hz) the applied torque lags the law by under one cycle.
//! - The Torque Limit register is the hard bound on what the servo applies, whatever the goal: a wrong `k` or a
//!   controller fault cannot exceed `τ_max`. Goals never leave the joint limits.
//!
//! The safety envelope (workspace box, joint limits, velocity guard, watchdog hold, latched e-stop) sits in the
//! controller above this driver and acts on the torques before they become goals, as on every arm. The safe stop
//! `hold` sets every goal to the last measured position (the servo holds there with its torque limit);
//! `torque_off` disables torque (the arm falls: use it only on a supported arm). Dropping the driver (a normal
//! exit, or a panic unwinding the loop thread that owns it) performs the safe stop too. The servos have no bus
//! watchdog: if the process ends without unwinding (`kill -9`, the OOM killer), each servo keeps its last goal
//! until its power is cut, so a cell with this arm needs a hardware stop on the servo supply.
//!
//! # One cycle
//! - [`read_state`](ArmDriver::read_state): **one sync read** of the present block (position, speed, load,
//!   voltage, temperature, status, current) of every joint and the jaw. Status bits (overload, overheat,
//!   voltage, sensor) are a hardware fault naming the servo.
//! - [`write_torque`](ArmDriver::write_torque): **one sync write** of the goal positions of every joint and the
//!   jaw. The first command after opening or a safe stop enables torque (a few extra packets, once).
//! - Faults: timeouts, corrupt packets and missing replies are retried up to `max_retries` (input flushed,
//!   counted in [`BusHealth`]); then, and at once for status bits or a port error, the error names the port and
//!   the servo (the controller then calls `safe_stop` and latches its fault).
//!
//! Real-time: the success path neither allocates nor locks (the jaw is shared through atomics).

use super::bus::{BusError, FeetechBus};
use super::control_table::{self as ct, Present};
use super::protocol::{self, ServoStatus};
use crate::drivers::serial::{BusHealth, BusTiming, SerialLink};
use interfaces::Clock;
use interfaces::config::{FeetechConfig, GripperConfig, RobotConfig, SafeStopKind};
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, GripperDriver, JointState, JointVec, MAX_DOF};
use interfaces::msg::{GripperCommand, GripperState};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Torque Limit of the jaw servo, 0.1 % of its stall torque (the jaw squeezes with at most half its torque).
pub const JAW_TORQUE_LIMIT: u16 = 500;

/// Bytes of one control cycle of `servos` servos: sync read instruction, `servos` replies of the present block,
/// sync write of the 2-byte goal positions.
pub fn cycle_bytes(servos: usize) -> usize {
    let read = protocol::OVERHEAD + 2 + servos;
    let replies = servos * (protocol::OVERHEAD + usize::from(ct::PRESENT_BLOCK_LEN));
    let write = protocol::OVERHEAD + 2 + servos * 3;
    read + replies + write
}

/// The jaw's state and goal, shared lock-free between the arm's cycle (which reads and writes the jaw servo in
/// its sync read and sync write) and the [`FeetechGripper`] handle.
#[derive(Debug)]
struct JawShared {
    /// Goal position, counts; `i32::MIN` = none yet (hold where it is).
    goal: AtomicI32,
    /// Present position, counts; `i32::MIN` = not read yet.
    present: AtomicI32,
    /// Present load, 0.1 % of stall (signed).
    load: AtomicI32,
    /// Status bits last read.
    status: AtomicU8,
    /// Cycles that read the jaw.
    reads: AtomicU64,
}

/// Linear map between jaw widths (m) and jaw servo counts.
#[derive(Debug, Clone, Copy, PartialEq)]
struct JawMap {
    closed: f64,
    open: f64,
    max_width: f64,
    max_force: f64,
}

impl JawMap {
    fn count_of_width(&self, w: f64) -> i32 {
        let f = (w / self.max_width).clamp(0.0, 1.0);
        let angle = self.closed + (self.open - self.closed) * f;
        angle_to_count(angle, 1.0, 0.0)
    }
    fn width_of_count(&self, c: i32) -> f64 {
        let angle = count_to_angle(c, 1.0, 0.0);
        ((angle - self.closed) / (self.open - self.closed) * self.max_width).clamp(0.0, self.max_width)
    }
}

/// Joint angle of a position count (`dir` ±1, `offset` the angle at the centre count).
pub fn count_to_angle(count: i32, dir: f64, offset: f64) -> f64 {
    dir * f64::from(count - ct::CENTRE) * ct::RAD_PER_COUNT + offset
}

/// Position count of a joint angle, rounded and kept within one turn (0 … 4095).
pub fn angle_to_count(angle: f64, dir: f64, offset: f64) -> i32 {
    let c = (dir * (angle - offset) / ct::RAD_PER_COUNT).round() + f64::from(ct::CENTRE);
    c.clamp(0.0, ct::COUNTS_PER_TURN - 1.0) as i32
}

/// The goal angle that makes a position servo of stiffness `k` (N·m/rad) apply `tau` (clamped to `±tau_max`) at
/// `q`, kept within `[lower, upper]`.
pub fn goal_for_torque(q: f64, tau: f64, tau_max: f64, k: f64, lower: f64, upper: f64) -> f64 {
    (q + tau.clamp(-tau_max, tau_max) / k).clamp(lower, upper)
}

/// The Torque Limit register value (0.1 % units) for `tau_max` on a servo of stall torque `stall`.
pub fn torque_limit_register(tau_max: f64, stall: f64) -> u16 {
    (ct::TORQUE_FULL_SCALE * tau_max / stall).round().clamp(1.0, ct::TORQUE_FULL_SCALE) as u16
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// Torque off (as opened: the arm is limp until the first command).
    Off,
    /// Following the goals of `write_torque`.
    Following,
    /// Holding the last measured position after a safe stop.
    Holding,
}

/// A serial chain of Feetech STS servos driven through their position loops (see the module docs).
pub struct FeetechArm<L: SerialLink> {
    bus: FeetechBus<L>,
    cfg: FeetechConfig,
    info: ArmInfo,
    clock: Arc<dyn Clock>,
    /// Arm IDs, then the jaw's when there is one: the servos of the cycle's sync read and write.
    ids: Vec<u8>,
    dir: JointVec,
    offset: JointVec,
    lower: JointVec,
    upper: JointVec,
    tau_max: JointVec,
    present: Vec<u8>,
    last_q: JointVec,
    last_raw: [i32; MAX_DOF + 1],
    have_state: bool,
    drive: Drive,
    jaw: Option<(Arc<JawShared>, JawMap)>,
    health: Arc<BusHealth>,
    timing: Option<BusTiming>,
}

impl<L: SerialLink> std::fmt::Debug for FeetechArm<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeetechArm")
            .field("port", &self.cfg.port)
            .field("ids", &self.ids)
            .field("drive", &self.drive)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

impl<L: SerialLink> FeetechArm<L> {
    /// Sets up the servos on `link` for the arm of `robot` described by `cfg`: pings every ID (a missing one is an
    /// error naming it), checks the status bits (a servo in protection is an error naming it and the fault),
    /// disables torque, sets position mode, no acceleration ramp, full goal speed and each joint's Torque Limit,
    /// and probes the bus timing. Torque stays off until the first [`ArmDriver::write_torque`]. Not real-time.
    pub fn with_link(
        link: L,
        cfg: &FeetechConfig,
        robot: &RobotConfig,
        gripper: &GripperConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DriverError> {
        let dof = robot.dof();
        let bad = |detail: String| DriverError::InvalidCommand { device: cfg.port.clone(), detail };
        if dof == 0
            || dof > MAX_DOF
            || cfg.ids.len() != dof
            || cfg.position_stiffness.len() != dof
            || cfg.stall_torque.len() != dof
        {
            return Err(bad(format!(
                "{dof} joints but {} ids, {} position stiffnesses and {} stall torques",
                cfg.ids.len(),
                cfg.position_stiffness.len(),
                cfg.stall_torque.len()
            )));
        }
        if cfg.position_stiffness.iter().chain(&cfg.stall_torque).any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(bad("position_stiffness and stall_torque must be positive".into()));
        }
        let mut arm = Self {
            bus: FeetechBus::new(link, Duration::from_secs_f64(cfg.timeout_ms * 1e-3)),
            cfg: cfg.clone(),
            info: ArmInfo { name: format!("feetech:{}", cfg.port), dof, gravity_compensated: false },
            clock,
            ids: cfg.ids.iter().copied().chain(cfg.gripper_id).collect(),
            dir: [1.0; MAX_DOF],
            offset: [0.0; MAX_DOF],
            lower: [0.0; MAX_DOF],
            upper: [0.0; MAX_DOF],
            tau_max: [0.0; MAX_DOF],
            present: vec![0; (dof + 1) * usize::from(ct::PRESENT_BLOCK_LEN)],
            last_q: [0.0; MAX_DOF],
            last_raw: [ct::CENTRE; MAX_DOF + 1],
            have_state: false,
            drive: Drive::Off,
            jaw: None,
            health: Arc::new(BusHealth::default()),
            timing: None,
        };
        for (j, joint) in robot.joints.iter().enumerate() {
            if cfg.inverted.get(j).copied().unwrap_or(false) {
                arm.dir[j] = -1.0;
            }
            arm.offset[j] = cfg.zero_offset.get(j).copied().unwrap_or(0.0);
            arm.lower[j] = joint.lower;
            arm.upper[j] = joint.upper;
            arm.tau_max[j] = joint.torque_limit.min(cfg.stall_torque[j]);
        }
        if cfg.gripper_id.is_some() {
            let shared = JawShared {
                goal: AtomicI32::new(i32::MIN),
                present: AtomicI32::new(i32::MIN),
                load: AtomicI32::new(0),
                status: AtomicU8::new(0),
                reads: AtomicU64::new(0),
            };
            let map = JawMap {
                closed: cfg.jaw_range[0],
                open: cfg.jaw_range[1],
                max_width: gripper.max_width,
                max_force: gripper.max_force,
            };
            arm.jaw = Some((Arc::new(shared), map));
        }
        arm.set_up()?;
        Ok(arm)
    }

    fn set_up(&mut self) -> Result<(), DriverError> {
        let ids = self.ids.clone();
        for (k, &id) in ids.iter().enumerate() {
            let joint = (k < self.info.dof).then_some(k);
            match self.retry(|b| b.ping(id)) {
                Ok(()) | Err(BusError::Alert { .. }) => {}
                Err(e) => return Err(self.error(e, joint)),
            }
            // Torque off first: an overload status clears once the servo no longer pushes.
            self.retry(|b| b.write(id, ct::TORQUE_ENABLE, &[0])).map_err(|e| self.error(e, joint))?;
            let mut st = [0u8; 1];
            let bits = self.retry(|b| b.read(id, ct::STATUS, &mut st)).map_err(|e| self.error(e, joint))?;
            let status = ServoStatus(st[0] | bits.0);
            if !status.is_ok() {
                return Err(self.status_fault(id, status));
            }
            let mut mode = [0u8; 1];
            self.retry(|b| b.read(id, ct::OPERATING_MODE, &mut mode)).map_err(|e| self.error(e, joint))?;
            if mode[0] != 0 {
                // Operating Mode is EEPROM: unlock, set position mode, lock again.
                for (addr, v) in [(ct::LOCK, 0u8), (ct::OPERATING_MODE, 0), (ct::LOCK, 1)] {
                    self.retry(|b| b.write(id, addr, &[v])).map_err(|e| self.error(e, joint))?;
                }
            }
            let limit = match joint {
                Some(j) => torque_limit_register(self.tau_max[j], self.cfg.stall_torque[j]),
                None => JAW_TORQUE_LIMIT,
            };
            let writes: [(u8, &[u8]); 4] = [
                (ct::ACCELERATION, &[0]),
                (ct::GOAL_TIME, &[0, 0]),
                (ct::GOAL_SPEED, &[0, 0]),
                (ct::TORQUE_LIMIT, &limit.to_le_bytes()),
            ];
            for (addr, data) in writes {
                self.retry(|b| b.write(id, addr, data)).map_err(|e| self.error(e, joint))?;
            }
        }
        self.timing = Some(self.probe_timing(50)?);
        Ok(())
    }

    /// Runs `f` up to `1 + max_retries` times while it fails with a transient error, flushing the input between
    /// tries and counting every failure ([`crate::drivers::serial::retry`]).
    fn retry<T>(&mut self, f: impl FnMut(&mut FeetechBus<L>) -> Result<T, BusError>) -> Result<T, BusError> {
        crate::drivers::serial::retry(&mut self.bus, &self.health, self.cfg.max_retries, f, |b| b.discard_input())
    }

    fn unit(&self, id: u8) -> String {
        match self.cfg.ids.iter().position(|&i| i == id) {
            Some(j) => format!("ID {id} (joint {})", j + 1),
            None if self.cfg.gripper_id == Some(id) => format!("ID {id} (gripper)"),
            None => format!("ID {id}"),
        }
    }

    fn status_fault(&self, id: u8, status: ServoStatus) -> DriverError {
        DriverError::HardwareFault { device: self.cfg.port.clone(), unit: self.unit(id), detail: status.to_string() }
    }

    /// Turns a bus error into a [`DriverError`] naming the port and servo.
    fn error(&self, e: BusError, joint: Option<usize>) -> DriverError {
        let device = self.cfg.port.clone();
        let unit = match (e.id(), joint) {
            (Some(id), _) => self.unit(id),
            (None, Some(j)) => self.unit(self.cfg.ids[j]),
            (None, None) => "bus".into(),
        };
        let tries = self.cfg.max_retries + 1;
        let timeout_ms = self.cfg.timeout_ms.round() as u64;
        match e {
            BusError::Timeout { .. } => {
                DriverError::Timeout { device, what: format!("status packet of {unit} ({tries} tries)"), timeout_ms }
            }
            BusError::WrongId { got, .. } => DriverError::Timeout {
                device,
                what: format!("status packet of {unit} (ID {got} answered in its place; {tries} tries)"),
                timeout_ms,
            },
            BusError::Corrupt { error, .. } => {
                DriverError::Corrupt { device, detail: format!("{unit}: {error} ({tries} tries)") }
            }
            BusError::Unexpected { len, .. } => {
                DriverError::Corrupt { device, detail: format!("{unit}: unexpected status with {len} data bytes") }
            }
            BusError::Alert { status, .. } => DriverError::HardwareFault { device, unit, detail: status.to_string() },
            BusError::Encode(e) => DriverError::InvalidCommand { device, detail: e.to_string() },
            BusError::Io(kind) => DriverError::Disconnected { device, detail: format!("serial port error: {kind}") },
        }
    }

    /// The position counts of the last [`read_state`](ArmDriver::read_state): the arm's servos, then the jaw's.
    pub fn raw_positions(&self) -> &[i32] {
        &self.last_raw[..self.ids.len()]
    }

    /// Measures `n` sync reads of the 1-byte Status register of every servo (a health check that moves nothing)
    /// and derives the achievable loop rate. Not real-time.
    pub fn probe_timing(&mut self, n: usize) -> Result<BusTiming, DriverError> {
        let ids = self.ids.clone();
        let mut out = vec![0u8; ids.len()];
        let mut rtt = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = Instant::now();
            self.retry(|b| b.sync_read(ct::STATUS, 1, &ids, &mut out)).map_err(|e| self.error(e, None))?;
            rtt.push(t0.elapsed().as_secs_f64() * 1e6);
            if let Some(k) = out.iter().position(|&s| s != 0) {
                return Err(self.status_fault(ids[k], ServoStatus(out[k])));
            }
        }
        let servos = ids.len();
        let probe_bytes = (protocol::OVERHEAD + 2 + servos) + servos * (protocol::OVERHEAD + 1);
        let timing = BusTiming::from_probe(self.cfg.baud, &mut rtt, probe_bytes, cycle_bytes(servos), 0.0);
        self.timing = Some(timing);
        Ok(timing)
    }

    /// The bus timing measured at open (or by the last [`probe_timing`](Self::probe_timing)).
    pub fn timing(&self) -> Option<BusTiming> {
        self.timing
    }
    /// The fault counters (share with the bus bridge).
    pub fn health(&self) -> Arc<BusHealth> {
        self.health.clone()
    }
    /// The jaw servo as a gripper driver, when the config names one (`driver.gripper_id`). Commands take effect
    /// in the arm's next cycle; its state is what the arm's last cycle read.
    pub fn gripper(&self) -> Option<FeetechGripper> {
        self.jaw.as_ref().map(|(shared, map)| FeetechGripper {
            shared: shared.clone(),
            map: *map,
            port: self.cfg.port.clone(),
            id: self.cfg.gripper_id.unwrap_or_default(),
            target_width: map.width_of_count(angle_to_count(map.open, 1.0, 0.0)),
        })
    }
    /// The goal counts the last [`ArmDriver::write_torque`] would send for `tau` (no I/O): for tests and docs.
    pub fn goal_counts(&self, tau: &JointVec) -> [i32; MAX_DOF] {
        let mut c = [0; MAX_DOF];
        for j in 0..self.info.dof {
            let k = self.cfg.position_stiffness[j];
            let goal = goal_for_torque(self.last_q[j], tau[j], self.tau_max[j], k, self.lower[j], self.upper[j]);
            c[j] = angle_to_count(goal, self.dir[j], self.offset[j]);
        }
        c
    }

    fn jaw_goal(&self) -> i32 {
        let dof = self.info.dof;
        match &self.jaw {
            Some((s, _)) => match s.goal.load(Ordering::Acquire) {
                i32::MIN => self.last_raw[dof],
                g => g,
            },
            None => self.last_raw[dof],
        }
    }

    /// Sends `counts` (arm joints; the jaw's goal is added) as one sync write of Goal Position.
    fn send_goals(&mut self, counts: &[i32; MAX_DOF]) -> Result<(), DriverError> {
        let dof = self.info.dof;
        let jaw = self.jaw_goal();
        let ids = &self.ids;
        let r = self.bus.sync_write(ct::GOAL_POSITION, 2, ids, |k, b| {
            let c = if k < dof { counts[k] } else { jaw };
            b.copy_from_slice(&(c.clamp(0, 4095) as u16).to_le_bytes());
        });
        r.map_err(|e| self.error(e, None))
    }

    fn set_torque(&mut self, on: bool) -> Result<(), DriverError> {
        let ids = &self.ids;
        let r = self.bus.sync_write(ct::TORQUE_ENABLE, 1, ids, |_, b| b[0] = u8::from(on));
        r.map_err(|e| self.error(e, None))
    }
}

impl<L: SerialLink> ArmDriver for FeetechArm<L> {
    fn info(&self) -> &ArmInfo {
        &self.info
    }

    fn read_state(&mut self) -> Result<JointState, DriverError> {
        // The buffers leave `self` for the retried transaction and come back (no allocation: `take` leaves an
        // empty vector behind).
        let (ids, mut present) = (std::mem::take(&mut self.ids), std::mem::take(&mut self.present));
        let r = self.retry(|b| b.sync_read(ct::PRESENT_BLOCK, ct::PRESENT_BLOCK_LEN, &ids, &mut present));
        (self.ids, self.present) = (ids, present);
        r.map_err(|e| self.error(e, None))?;
        let stamp = self.clock.now();
        let mut s = JointState { stamp, ..JointState::default() };
        let n = usize::from(ct::PRESENT_BLOCK_LEN);
        for k in 0..self.ids.len() {
            let Some(p) = Present::decode(&self.present[k * n..(k + 1) * n]) else {
                return Err(self.error(BusError::Unexpected { id: self.ids[k], len: n }, None));
            };
            if p.status != 0 {
                return Err(self.status_fault(self.ids[k], ServoStatus(p.status)));
            }
            self.last_raw[k] = p.position;
            if k < self.info.dof {
                let d = self.dir[k];
                s.q[k] = count_to_angle(p.position, d, self.offset[k]);
                s.dq[k] = d * f64::from(p.speed) * ct::RAD_PER_COUNT;
                s.tau_measured[k] = d * f64::from(p.load) / ct::TORQUE_FULL_SCALE * self.cfg.stall_torque[k];
            } else if let Some((jaw, _)) = &self.jaw {
                jaw.present.store(p.position, Ordering::Release);
                jaw.load.store(p.load, Ordering::Release);
                jaw.status.store(p.status, Ordering::Release);
                jaw.reads.fetch_add(1, Ordering::AcqRel);
            }
        }
        self.last_q = s.q;
        self.have_state = true;
        Ok(s)
    }

    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        if tau[..self.info.dof].iter().any(|t| !t.is_finite()) {
            return Err(DriverError::InvalidCommand {
                device: self.cfg.port.clone(),
                detail: format!("torque {tau:?}"),
            });
        }
        if !self.have_state {
            return Err(DriverError::InvalidCommand {
                device: self.cfg.port.clone(),
                detail: "a torque before the first state was read (the goal is relative to the measured position)"
                    .into(),
            });
        }
        let counts = self.goal_counts(tau);
        self.send_goals(&counts)?;
        if self.drive != Drive::Following {
            // Goals first, then torque on: the servos start from where the arm is.
            self.set_torque(true)?;
            self.drive = Drive::Following;
        }
        Ok(())
    }

    fn safe_stop(&mut self) -> Result<(), DriverError> {
        match self.cfg.safe_stop {
            SafeStopKind::TorqueOff => {
                self.set_torque(false)?;
                self.drive = Drive::Off;
            }
            SafeStopKind::Hold if self.drive != Drive::Holding => {
                let mut hold = [0; MAX_DOF];
                hold[..self.info.dof].copy_from_slice(&self.last_raw[..self.info.dof]);
                self.send_goals(&hold)?;
                self.set_torque(true)?;
                self.drive = Drive::Holding;
            }
            SafeStopKind::Hold => {}
        }
        Ok(())
    }
}

impl<L: SerialLink> Drop for FeetechArm<L> {
    /// Performs the safe stop unless torque was never enabled (or is off already): a normal exit, and a panic that
    /// unwinds the thread owning the driver, leave the arm holding where it was measured last (or limp, with
    /// `torque_off`) rather than on its last goal. Errors are logged (a pulled cable has nothing to stop).
    ///
    /// The STS servos have no bus watchdog: a process that ends without unwinding (`kill -9`, the OOM killer, an
    /// abort) leaves each servo holding its last goal position, `q + τ/k` from the last cycle (within the joint
    /// limits, pushing with at most the Torque Limit register's torque) until its power is cut. Cells with this
    /// arm need a hardware stop that removes servo power.
    fn drop(&mut self) {
        if self.drive == Drive::Off {
            return;
        }
        if let Err(e) = self.safe_stop() {
            tracing::error!(port = %self.cfg.port, "safe stop when the driver was dropped: {e}");
        }
    }
}

impl FeetechArm<serialport::TTYPort> {
    /// Opens `cfg.port` at `cfg.baud` (exclusive access), warns when the USB adapter's latency timer is above
    /// `cfg.latency_timer_ms`, then sets the servos up as [`with_link`](Self::with_link) does.
    pub fn open(
        cfg: &FeetechConfig,
        robot: &RobotConfig,
        gripper: &GripperConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DriverError> {
        let timeout = Duration::from_secs_f64(cfg.timeout_ms * 1e-3);
        let port = crate::drivers::serial::open_port(&cfg.port, cfg.baud, timeout, cfg.latency_timer_ms)?;
        Self::with_link(port, cfg, robot, gripper, clock)
    }
}

/// The jaw servo of a [`FeetechArm`] as a [`GripperDriver`]: a command sets the jaw's goal position
/// (width `w` ↦ angle `closed + (open − closed)·w / max_width`), which the arm's next cycle sends; the state is
/// what the arm's last cycle read. The force limit is the jaw's Torque Limit ([`JAW_TORQUE_LIMIT`]); the
/// reported force is the jaw's load as a fraction of that limit times `gripper.max_force` (an estimate: the servo
/// measures no force).
#[derive(Debug)]
pub struct FeetechGripper {
    shared: Arc<JawShared>,
    map: JawMap,
    port: String,
    id: u8,
    target_width: f64,
}

impl GripperDriver for FeetechGripper {
    fn command(&mut self, cmd: GripperCommand) -> Result<(), DriverError> {
        if !cmd.width.is_finite() {
            return Err(DriverError::InvalidCommand {
                device: self.port.clone(),
                detail: format!("jaw width {}", cmd.width),
            });
        }
        self.target_width = cmd.width.clamp(0.0, self.map.max_width);
        self.shared.goal.store(self.map.count_of_width(self.target_width), Ordering::Release);
        Ok(())
    }

    fn read(&mut self) -> Result<GripperState, DriverError> {
        let status = self.shared.status.load(Ordering::Acquire);
        if status != 0 {
            return Err(DriverError::HardwareFault {
                device: self.port.clone(),
                unit: format!("ID {} (gripper)", self.id),
                detail: ServoStatus(status).to_string(),
            });
        }
        let present = self.shared.present.load(Ordering::Acquire);
        if present == i32::MIN {
            return Err(DriverError::Timeout {
                device: self.port.clone(),
                what: format!("the first reading of the jaw, ID {} (the arm has not cycled yet)", self.id),
                timeout_ms: 0,
            });
        }
        let load = f64::from(self.shared.load.load(Ordering::Acquire).unsigned_abs());
        Ok(GripperState {
            width: self.map.width_of_count(present),
            target_width: self.target_width,
            force: (load / f64::from(JAW_TORQUE_LIMIT)).min(1.0) * self.map.max_force,
        })
    }
}
