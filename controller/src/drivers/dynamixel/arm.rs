//! [`DynamixelArm`]: a chain of Dynamixel servos in current-based torque control behind [`ArmDriver`].

use super::bus::{BusError, DynamixelBus, SerialLink};
use super::control_table::{ControlTable, PRESENT_BLOCK_LEN, mode};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// Torque off (as opened: the arm is limp until the first command).
    Off,
    /// Current-based torque control, torque on.
    Current,
    /// Holding a position after a safe stop.
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
///   with `hold_current_limit`; `torque_off` → torque disabled. Idempotent.
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
    /// torque, writes the return delay and current mode, zeroes the goal currents, reads the current limits and
    /// probes the bus timing. Torque stays off until the first [`ArmDriver::write_torque`]. Not real-time.
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

    fn enter_current_mode(&mut self) -> Result<(), DriverError> {
        let ids = self.cfg.ids.clone();
        let t = self.table;
        self.bus.sync_write(t.torque_enable, 1, &ids, |_, b| b[0] = 0).map_err(|e| self.error(e, None))?;
        self.bus.sync_write(t.operating_mode, 1, &ids, |_, b| b[0] = mode::CURRENT).map_err(|e| self.error(e, None))?;
        self.bus.sync_write(t.goal_current, 2, &ids, |_, b| b.fill(0)).map_err(|e| self.error(e, None))?;
        self.bus.sync_write(t.torque_enable, 1, &ids, |_, b| b[0] = 1).map_err(|e| self.error(e, None))?;
        self.drive = Drive::Current;
        Ok(())
    }
}

impl<L: SerialLink> ArmDriver for DynamixelArm<L> {
    fn info(&self) -> &ArmInfo {
        &self.info
    }

    fn read_state(&mut self) -> Result<JointState, DriverError> {
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
        if self.drive != Drive::Current {
            self.enter_current_mode()?;
        }
        let addr = self.table.goal_current;
        if let Err(e) = self.bus.sync_write(addr, 2, &self.cfg.ids, |k, b| b.copy_from_slice(&counts[k].to_le_bytes()))
        {
            return Err(self.error(e, None));
        }
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
                let steps: [(u16, u16, &Fill<'_>); 5] = [
                    (t.torque_enable, 1, &|_, b| b[0] = 0),
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
