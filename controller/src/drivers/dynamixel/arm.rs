//! [`DynamixelArm`]: a chain of Dynamixel servos in current-based torque control behind [`ArmDriver`].

use super::bus::{BusError, DynamixelBus, SerialLink};
use super::control_table::{BUS_WATCHDOG_MAX_UNITS, BUS_WATCHDOG_UNIT_MS, ControlTable, PRESENT_BLOCK_LEN, mode};
use super::protocol::{self, HardwareError, le};
pub use crate::drivers::serial::{BusHealth, BusTiming};
use interfaces::Clock;
use interfaces::config::{DynamixelConfig, SafeStopKind};
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec, MAX_DOF};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Fills one servo's bytes of a sync write.
type Fill<'a> = dyn Fn(usize, &mut [u8]) + 'a;

/// The slowest rate the controller loop runs at (`controller.rate_hz` ≥ 10 Hz): the Bus Watchdog is sized for it
/// until [`DynamixelArm::set_loop_rate`] gives the loop's real rate.
pub const SLOWEST_LOOP_RATE_HZ: f64 = 10.0;
/// Loop periods without an instruction after which the servos' Bus Watchdog stops them (see
/// [`bus_watchdog_units`]).
pub const BUS_WATCHDOG_PERIODS: f64 = 5.0;
/// The shortest Bus Watchdog time the driver sets, ms: a host without real-time scheduling, or a loaded one, can
/// pause the loop for tens of ms, and a pause as long as the watchdog stops the arm (and faults the controller).
pub const BUS_WATCHDOG_MIN_MS: f64 = 200.0;

/// The Bus Watchdog time the driver writes to every servo, in the register's 20 ms units, for a loop at
/// `loop_rate_hz` whose transactions wait at most `timeout_ms` for a reply:
///
/// ```text
/// units = ceil( (max(5 · 1000 / loop_rate_hz, 200) + timeout_ms) / 20 ),  within 1 … 127 (2.54 s)
/// ```
///
/// A rate that is not a positive number is taken as [`SLOWEST_LOOP_RATE_HZ`]. Every cycle sends the servos two
/// instructions (a sync read and a sync write) and a retried transaction sends again after at most `timeout_ms`,
/// so a running loop never leaves them silent that long; a loop that stopped (the process killed, hung, or its
/// thread gone without a safe stop) does.
pub fn bus_watchdog_units(loop_rate_hz: f64, timeout_ms: f64) -> u8 {
    let rate = if loop_rate_hz.is_finite() && loop_rate_hz > 0.0 { loop_rate_hz } else { SLOWEST_LOOP_RATE_HZ };
    let timeout = if timeout_ms.is_finite() { timeout_ms.max(0.0) } else { 0.0 };
    let ms = (BUS_WATCHDOG_PERIODS * 1e3 / rate).max(BUS_WATCHDOG_MIN_MS) + timeout;
    (ms / BUS_WATCHDOG_UNIT_MS).ceil().clamp(1.0, f64::from(BUS_WATCHDOG_MAX_UNITS)) as u8
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// Torque off (as opened: the arm is limp until the first command).
    Off,
    /// Current-based torque control, torque on, the Bus Watchdog armed.
    Current,
    /// Current mode, but the bus was silent for longer than the Bus Watchdog: the servos may have stopped and
    /// latched its error. The next command re-arms them; a safe stop clears the error.
    Lapsed,
    /// Holding a position after a safe stop (Bus Watchdog disabled: the servos hold on their own).
    Holding,
}

/// A serial chain of Dynamixel servos (Protocol 2.0) driven in current (torque) mode.
///
/// - [`read_state`](ArmDriver::read_state): **one sync read** of present current, velocity and position of every
///   joint (`q = dir·(count − centre)·rad_per_count + offset`, `τ = dir·k·current`).
/// - [`write_torque`](ArmDriver::write_torque): **one sync write** of the goal currents `I = dir·τ/k`, clamped to
///   each servo's Current Limit. The first command after opening or a safe stop switches the servos to current
///   mode and enables torque (a few extra packets, once).
/// - [`safe_stop`](ArmDriver::safe_stop): `hold` → current-based position mode at the last measured position
///   with `hold_current_limit` (the Bus Watchdog disabled, so the servos hold without the host); `torque_off` →
///   torque disabled. Idempotent.
/// - **When the controller dies**: dropping the driver (a normal exit, or a panic unwinding the loop thread that
///   owns it) performs the safe stop. A process that ends without unwinding (`kill -9`, the OOM killer, an
///   abort) cannot; for that, whenever torque control is on, every servo's **Bus Watchdog** is armed
///   ([`bus_watchdog_units`]): a servo that receives no instruction for that long stops (zero current: the arm
///   goes limp, as with `torque_off`) and latches the watchdog error, which makes its goals read-only until the
///   register is written 0 (what opening the driver, a safe stop and re-entering torque control do). The driver
///   notices a silence of its own that long (a stalled loop) and reports it as a fault instead of commanding
///   servos that stopped.
/// - Faults: timeouts, corrupt packets, missing replies and refusals are retried up to `max_retries` (input
///   flushed, counted in [`BusHealth`]); then, and at once for a hardware-error alert or a port error, the error is
///   returned naming the port and the servo ID (the controller then calls `safe_stop` and latches its fault).
///
/// Real-time: the success path neither allocates nor locks; errors allocate their message.
pub struct DynamixelArm<L: SerialLink> {
    bus: DynamixelBus<L>,
    cfg: DynamixelConfig,
    table: ControlTable,
    info: ArmInfo,
    clock: Arc<dyn Clock>,
    dir: JointVec,
    offset: JointVec,
    current_limit: [i32; MAX_DOF],
    hold_counts: i32,
    present: Vec<u8>,
    last_raw_position: [i32; MAX_DOF],
    drive: Drive,
    /// Bus Watchdog time written when torque control starts, 20 ms units.
    watchdog_units: u8,
    /// When the servos last got an instruction in torque control (the Bus Watchdog's reference).
    last_instruction: Instant,
    health: Arc<BusHealth>,
    timing: Option<BusTiming>,
}

impl<L: SerialLink> std::fmt::Debug for DynamixelArm<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamixelArm")
            .field("port", &self.cfg.port)
            .field("ids", &self.cfg.ids)
            .field("drive", &self.drive)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

impl<L: SerialLink> DynamixelArm<L> {
    /// Sets up the servos on `link` for a `dof`-joint arm described by `cfg`: pings every ID (missing IDs are an
    /// error naming them), reboots servos that report a hardware error (once; an error if it persists), disables
    /// torque, clears a Bus Watchdog error left by a controller that died, writes the return delay and current
    /// mode, zeroes the goal currents, reads the current limits and probes the bus timing. Torque stays off until
    /// the first [`ArmDriver::write_torque`]. The Bus Watchdog is sized for [`SLOWEST_LOOP_RATE_HZ`] until
    /// [`set_loop_rate`](Self::set_loop_rate) is called. Not real-time.
    pub fn with_link(link: L, cfg: &DynamixelConfig, dof: usize, clock: Arc<dyn Clock>) -> Result<Self, DriverError> {
        if dof == 0 || dof > MAX_DOF || cfg.ids.len() != dof || cfg.torque_constant.len() != dof {
            return Err(DriverError::InvalidCommand {
                device: cfg.port.clone(),
                detail: format!(
                    "{dof} joints but {} ids and {} torque constants",
                    cfg.ids.len(),
                    cfg.torque_constant.len()
                ),
            });
        }
        let table = ControlTable::of(cfg.series);
        let (mut dir, mut offset) = ([1.0; MAX_DOF], [0.0; MAX_DOF]);
        for i in 0..dof {
            if cfg.inverted.get(i).copied().unwrap_or(false) {
                dir[i] = -1.0;
            }
            offset[i] = cfg.zero_offset.get(i).copied().unwrap_or(0.0);
        }
        let mut arm = Self {
            bus: DynamixelBus::new(link, Duration::from_secs_f64(cfg.timeout_ms * 1e-3)),
            cfg: cfg.clone(),
            table,
            info: ArmInfo { name: format!("dynamixel:{}", cfg.port), dof, gravity_compensated: false },
            clock,
            dir,
            offset,
            current_limit: [0; MAX_DOF],
            hold_counts: (cfg.hold_current_limit / table.amps_per_count).round() as i32,
            present: vec![0; dof * usize::from(PRESENT_BLOCK_LEN)],
            last_raw_position: [0; MAX_DOF],
            drive: Drive::Off,
            watchdog_units: bus_watchdog_units(SLOWEST_LOOP_RATE_HZ, cfg.timeout_ms),
            last_instruction: Instant::now(),
            health: Arc::new(BusHealth::default()),
            timing: None,
        };
        arm.set_up()?;
        Ok(arm)
    }

    fn set_up(&mut self) -> Result<(), DriverError> {
        let ids = self.cfg.ids.clone();
        for (j, &id) in ids.iter().enumerate() {
            self.retry(|b| b.ping(id).map(|_| ())).map_err(|e| self.error(e, Some(j)))?;
        }
        for (j, &id) in ids.iter().enumerate() {
            let hw = self.read_u8(id, self.table.hardware_error).map_err(|e| self.error(e, Some(j)))?;
            if hw != 0 {
                tracing::warn!(port = %self.cfg.port, id, "servo reports {}; rebooting it once", HardwareError(hw));
                self.retry(|b| b.reboot(id)).map_err(|e| self.error(e, Some(j)))?;
                std::thread::sleep(Duration::from_millis(500));
                self.retry(|b| b.ping(id).map(|_| ())).map_err(|e| self.error(e, Some(j)))?;
                let hw = self.read_u8(id, self.table.hardware_error).map_err(|e| self.error(e, Some(j)))?;
                if hw != 0 {
                    return Err(self.hardware_fault(j, hw));
                }
            }
            let t = self.table;
            self.retry(|b| b.write(id, t.torque_enable, &[0])).map_err(|e| self.error(e, Some(j)))?;
            self.retry(|b| b.write(id, t.bus_watchdog, &[0])).map_err(|e| self.error(e, Some(j)))?;
            let delay = [(self.cfg.return_delay_us / 2) as u8];
            self.retry(|b| b.write(id, t.return_delay, &delay)).map_err(|e| self.error(e, Some(j)))?;
            self.retry(|b| b.write(id, t.operating_mode, &[mode::CURRENT])).map_err(|e| self.error(e, Some(j)))?;
            self.retry(|b| b.write(id, t.goal_current, &0i16.to_le_bytes())).map_err(|e| self.error(e, Some(j)))?;
            let mut lim = [0u8; 2];
            self.retry(|b| b.read(id, t.current_limit, &mut lim).map(|_| ())).map_err(|e| self.error(e, Some(j)))?;
            self.current_limit[j] = i32::from(u16::from_le_bytes(lim));
        }
        self.timing = Some(self.probe_timing(50)?);
        Ok(())
    }

    fn read_u8(&mut self, id: u8, addr: u16) -> Result<u8, BusError> {
        let mut b = [0u8; 1];
        self.retry(|bus| bus.read(id, addr, &mut b).map(|_| ()))?;
        Ok(b[0])
    }

    /// Runs `f` up to `1 + max_retries` times while it fails with a transient error, flushing the input between
    /// tries and counting every failure ([`crate::drivers::serial::retry`]).
    fn retry<T>(&mut self, f: impl FnMut(&mut DynamixelBus<L>) -> Result<T, BusError>) -> Result<T, BusError> {
        crate::drivers::serial::retry(&mut self.bus, &self.health, self.cfg.max_retries, f, |b| b.discard_input())
    }

    fn joint_of(&self, id: u8) -> Option<usize> {
        self.cfg.ids.iter().position(|&i| i == id)
    }

    fn unit(&self, joint: Option<usize>, id: Option<u8>) -> String {
        match (joint, id) {
            (Some(j), _) => format!("ID {} (joint {})", self.cfg.ids[j], j + 1),
            (None, Some(id)) => format!("ID {id}"),
            (None, None) => "bus".into(),
        }
    }

    fn hardware_fault(&self, joint: usize, status: u8) -> DriverError {
        DriverError::HardwareFault {
            device: self.cfg.port.clone(),
            unit: self.unit(Some(joint), None),
            detail: HardwareError(status).to_string(),
        }
    }

    /// Turns a bus error into a [`DriverError`] naming the port and servo. A hardware alert is resolved by reading
    /// the servo's Hardware Error Status.
    fn error(&mut self, e: BusError, joint: Option<usize>) -> DriverError {
        let device = self.cfg.port.clone();
        let joint = joint.or_else(|| e.id().and_then(|id| self.joint_of(id)));
        let unit = self.unit(joint, e.id());
        let tries = self.cfg.max_retries + 1;
        match e {
            BusError::Timeout { .. } => DriverError::Timeout {
                device,
                what: format!("status packet of {unit} ({tries} tries)"),
                timeout_ms: self.cfg.timeout_ms.round() as u64,
            },
            BusError::WrongId { got, .. } => DriverError::Timeout {
                device,
                what: format!("status packet of {unit} (ID {got} answered in its place; {tries} tries)"),
                timeout_ms: self.cfg.timeout_ms.round() as u64,
            },
            BusError::Corrupt { error, .. } => {
                DriverError::Corrupt { device, detail: format!("{unit}: {error} ({tries} tries)") }
            }
            BusError::Unexpected { len, .. } => {
                DriverError::Corrupt { device, detail: format!("{unit}: unexpected status with {len} data bytes") }
            }
            BusError::Refused { error, .. } => DriverError::HardwareFault {
                device,
                unit,
                detail: format!("instruction refused: {}", error.describe()),
            },
            BusError::Alert { id } => {
                let mut b = [0u8; 1];
                let status = self.bus.read(id, self.table.hardware_error, &mut b).map(|_| b[0]);
                let detail = match status {
                    Ok(s) => HardwareError(s).to_string(),
                    Err(e) => format!("hardware-error alert (status register unreadable: {e:?})"),
                };
                DriverError::HardwareFault { device, unit, detail }
            }
            BusError::Encode(e) => DriverError::InvalidCommand { device, detail: e.to_string() },
            BusError::Io(kind) => DriverError::Disconnected { device, detail: format!("serial port error: {kind}") },
        }
    }

    /// Measures `n` sync reads of the 1-byte Hardware Error Status of every joint (a health check that moves
    /// nothing) and derives the achievable loop rate. Not real-time.
    pub fn probe_timing(&mut self, n: usize) -> Result<BusTiming, DriverError> {
        let ids = self.cfg.ids.clone();
        let mut out = vec![0u8; ids.len()];
        let mut rtt = Vec::with_capacity(n);
        let addr = self.table.hardware_error;
        for _ in 0..n {
            let t0 = Instant::now();
            self.retry(|b| b.sync_read(addr, 1, &ids, &mut out)).map_err(|e| self.error(e, None))?;
            rtt.push(t0.elapsed().as_secs_f64() * 1e6);
            if let Some(j) = out.iter().position(|&s| s != 0) {
                return Err(self.hardware_fault(j, out[j]));
            }
        }
        let dof = ids.len();
        let probe_bytes = (protocol::OVERHEAD + 5 + dof) + dof * (protocol::OVERHEAD + 2 + 1);
        let read_bytes =
            (protocol::OVERHEAD + 5 + dof) + dof * (protocol::OVERHEAD + 2 + usize::from(PRESENT_BLOCK_LEN));
        let write_bytes = protocol::OVERHEAD + 5 + dof * 3;
        let cycle_bytes = read_bytes + write_bytes;
        let delays = dof as f64 * f64::from(self.cfg.return_delay_us) * 1e-6;
        let timing = BusTiming::from_probe(self.cfg.baud, &mut rtt, probe_bytes, cycle_bytes, delays);
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

    /// Sizes the Bus Watchdog for a control loop at `rate_hz` ([`bus_watchdog_units`]); it takes effect the next
    /// time torque control starts (what [`crate::drivers::open_arm`] calls with the loop's rate before the loop
    /// starts). Not real-time.
    pub fn set_loop_rate(&mut self, rate_hz: f64) {
        self.watchdog_units = bus_watchdog_units(rate_hz, self.cfg.timeout_ms);
    }

    /// The Bus Watchdog time written to the servos when torque control starts.
    pub fn bus_watchdog(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.watchdog_units) * BUS_WATCHDOG_UNIT_MS * 1e-3)
    }

    /// Switches the servos to current mode with zero goal current and torque on, then arms the Bus Watchdog (it is
    /// first written 0, which clears a latched watchdog error that would make the goals read-only).
    fn enter_current_mode(&mut self) -> Result<(), DriverError> {
        let ids = self.cfg.ids.clone();
        let t = self.table;
        let wd = self.watchdog_units;
        let steps: [(u16, u16, &Fill<'_>); 6] = [
            (t.bus_watchdog, 1, &|_, b| b[0] = 0),
            (t.torque_enable, 1, &|_, b| b[0] = 0),
            (t.operating_mode, 1, &|_, b| b[0] = mode::CURRENT),
            (t.goal_current, 2, &|_, b| b.fill(0)),
            (t.torque_enable, 1, &|_, b| b[0] = 1),
            (t.bus_watchdog, 1, &|_, b| b[0] = wd),
        ];
        for (addr, len, fill) in steps {
            self.bus.sync_write(addr, len, &ids, fill).map_err(|e| self.error(e, None))?;
        }
        self.last_instruction = Instant::now();
        self.drive = Drive::Current;
        Ok(())
    }

    /// In torque control, checks that the bus has not been silent for (nearly) the Bus Watchdog time: if it has,
    /// the servos may have stopped on their own, and commanding them as if they had not would be a lie. One unit
    /// (20 ms) of margin covers the transfer of the next packet. Real-time safe on success.
    fn check_watchdog(&mut self) -> Result<(), DriverError> {
        if self.drive != Drive::Current {
            return Ok(());
        }
        let silent = self.last_instruction.elapsed();
        let limit_ms = (f64::from(self.watchdog_units) - 1.0) * BUS_WATCHDOG_UNIT_MS;
        if silent.as_secs_f64() * 1e3 < limit_ms {
            return Ok(());
        }
        self.drive = Drive::Lapsed;
        Err(DriverError::HardwareFault {
            device: self.cfg.port.clone(),
            unit: "bus".into(),
            detail: format!(
                "no instruction for {:.0} ms, about the servos' Bus Watchdog time ({:.0} ms): they may have stopped \
                 (the loop stalled)",
                silent.as_secs_f64() * 1e3,
                self.bus_watchdog().as_secs_f64() * 1e3
            ),
        })
    }
}

impl<L: SerialLink> Drop for DynamixelArm<L> {
    /// Performs the safe stop unless torque was never enabled (or is off already): a normal exit, and a panic that
    /// unwinds the thread owning the driver, leave the arm in its safe state rather than on its last goal current.
    /// Errors are logged (a pulled cable has nothing to stop). Sends without waiting for replies.
    fn drop(&mut self) {
        if self.drive == Drive::Off {
            return;
        }
        if let Err(e) = self.safe_stop() {
            tracing::error!(port = %self.cfg.port, "safe stop when the driver was dropped: {e}");
        }
    }
}

impl<L: SerialLink> ArmDriver for DynamixelArm<L> {
    fn info(&self) -> &ArmInfo {
        &self.info
    }

    fn read_state(&mut self) -> Result<JointState, DriverError> {
        self.check_watchdog()?;
        let t = self.table;
        let (bus, ids, present) = (&mut self.bus, &self.cfg.ids, &mut self.present);
        let mut tries = 0;
        let result = loop {
            self.health.transactions.fetch_add(1, Ordering::Relaxed);
            match bus.sync_read(t.present_block, PRESENT_BLOCK_LEN, ids, present) {
                Ok(()) => break Ok(()),
                Err(e) => {
                    self.health.count(e.class());
                    if !e.is_transient() || tries >= self.cfg.max_retries {
                        break Err(e);
                    }
                    tries += 1;
                    self.health.retries.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = bus.discard_input() {
                        break Err(e);
                    }
                }
            }
        };
        if let Err(e) = result {
            return Err(self.error(e, None));
        }
        if self.drive == Drive::Current {
            self.last_instruction = Instant::now();
        }
        let stamp = self.clock.now();
        let mut s = JointState { stamp, ..JointState::default() };
        let n = usize::from(PRESENT_BLOCK_LEN);
        for j in 0..self.info.dof {
            let b = &self.present[j * n..(j + 1) * n];
            let (Some(cur), Some(vel), Some(pos)) = (le::i16_at(b, 0), le::i32_at(b, 2), le::i32_at(b, 6)) else {
                return Err(self.error(BusError::Unexpected { id: self.cfg.ids[j], len: b.len() }, Some(j)));
            };
            self.last_raw_position[j] = pos;
            let d = self.dir[j];
            s.q[j] = d * f64::from(pos - t.position_center) * t.rad_per_count + self.offset[j];
            s.dq[j] = d * f64::from(vel) * t.rad_s_per_count;
            s.tau_measured[j] = d * f64::from(cur) * t.amps_per_count * self.cfg.torque_constant[j];
        }
        Ok(s)
    }

    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        if tau[..self.info.dof].iter().any(|t| !t.is_finite()) {
            return Err(DriverError::InvalidCommand {
                device: self.cfg.port.clone(),
                detail: format!("torque {tau:?}"),
            });
        }
        let mut counts = [0i16; MAX_DOF];
        for j in 0..self.info.dof {
            let amps = self.dir[j] * tau[j] / self.cfg.torque_constant[j];
            let lim = f64::from(self.current_limit[j].min(i32::from(i16::MAX)));
            counts[j] = (amps / self.table.amps_per_count).round().clamp(-lim, lim) as i16;
        }
        if self.drive == Drive::Current {
            self.check_watchdog()?;
        } else {
            self.enter_current_mode()?;
        }
        let addr = self.table.goal_current;
        if let Err(e) = self.bus.sync_write(addr, 2, &self.cfg.ids, |k, b| b.copy_from_slice(&counts[k].to_le_bytes()))
        {
            return Err(self.error(e, None));
        }
        self.last_instruction = Instant::now();
        Ok(())
    }

    fn safe_stop(&mut self) -> Result<(), DriverError> {
        let ids = self.cfg.ids.clone();
        let t = self.table;
        match self.cfg.safe_stop {
            SafeStopKind::TorqueOff => {
                self.bus.sync_write(t.torque_enable, 1, &ids, |_, b| b[0] = 0).map_err(|e| self.error(e, None))?;
                self.drive = Drive::Off;
            }
            SafeStopKind::Hold if self.drive != Drive::Holding => {
                let (pos, hold) = (self.last_raw_position, self.hold_counts.clamp(0, i32::from(i16::MAX)) as i16);
                let steps: [(u16, u16, &Fill<'_>); 6] = [
                    (t.torque_enable, 1, &|_, b| b[0] = 0),
                    (t.bus_watchdog, 1, &|_, b| b[0] = 0),
                    (t.operating_mode, 1, &|_, b| b[0] = mode::CURRENT_BASED_POSITION),
                    (t.goal_position, 4, &|k, b| b.copy_from_slice(&pos[k].to_le_bytes())),
                    (t.goal_current, 2, &|_, b| b.copy_from_slice(&hold.to_le_bytes())),
                    (t.torque_enable, 1, &|_, b| b[0] = 1),
                ];
                for (addr, len, fill) in steps {
                    self.bus.sync_write(addr, len, &ids, fill).map_err(|e| self.error(e, None))?;
                }
                self.drive = Drive::Holding;
            }
            SafeStopKind::Hold => {}
        }
        Ok(())
    }
}

impl DynamixelArm<serialport::TTYPort> {
    /// Opens `cfg.port` at `cfg.baud` (exclusive access), warns when the USB adapter's latency timer is above
    /// `cfg.latency_timer_ms`, then sets the servos up as [`with_link`](Self::with_link) does.
    pub fn open(cfg: &DynamixelConfig, dof: usize, clock: Arc<dyn Clock>) -> Result<Self, DriverError> {
        let timeout = Duration::from_secs_f64(cfg.timeout_ms * 1e-3);
        let port = crate::drivers::serial::open_port(&cfg.port, cfg.baud, timeout, cfg.latency_timer_ms)?;
        Self::with_link(port, cfg, dof, clock)
    }
}
