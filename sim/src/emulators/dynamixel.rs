//! An emulated Dynamixel Protocol 2.0 bus on a pseudo-terminal, backed by the simulated arm.
//!
//! The emulator owns a [`SimWorld`] on a named thread and answers on the master side of a pty, byte for byte
//! as a chain of servos would: ping, read, write, reboot, sync read, sync write, with CRC, byte stuffing, the
//! status ERROR byte and its hardware-error alert. A driver opens the pty's slave path like any serial port, so
//! the whole serial code path runs. Each servo keeps a control-table image ([`ControlTable`] addresses of its
//! series); joint `i` is servo `ids[i]`.
//!
//! **Time**: the physics advances one step each time the present current/velocity/position block is sync-read
//! (one control cycle reads it once), applying the torques the servos' modes and goals give; the world's mock
//! clock is the controller's clock, so a closed loop through the emulator is deterministic in simulated time.
//! **Wire timing**: a pty moves bytes as fast as the kernel copies them, with no baud rate; with
//! [`EmulatorOptions::wire_timing`] the emulator holds each reply for its wire time at the configured baud
//! (plus the return delay) before sending it, which approximates a real bus's round trip.
//! **Servo modes**: current mode applies `τ = k·I_goal` (clamped to the Current Limit); current-based position
//! mode applies `τ = clamp(kp·(q_goal − q) − kd·q̇, ±k·I_goal)`; torque off applies nothing.
//! **Bus Watchdog**: as on the real servos, while torque is on and the Bus Watchdog register holds 1…127, a servo
//! that receives no instruction addressed to it (its own, or a sync read/write that lists it) for that many 20 ms
//! units stops: its goal current becomes 0 (current mode) or its goal position the present one (position modes),
//! and the register latches 255 (the watchdog error). While latched, writes to the goal registers are refused
//! with a data range error (ignored in a sync write), and so is any write of the register but 0, which clears it.
//! The emulator checks on wall-clock time, every few ms.

use crate::world::{SimWorld, SnapshotReader};
use controller::drivers::dynamixel::control_table::{
    BUS_WATCHDOG_ERROR, BUS_WATCHDOG_MAX_UNITS, BUS_WATCHDOG_UNIT_MS, ControlTable, PRESENT_BLOCK_LEN, mode,
};
use controller::drivers::dynamixel::protocol::{self, BROADCAST_ID, inst};
use interfaces::MockClock;
use interfaces::config::{DynamixelConfig, SafeStopKind, ServoSeries};
use interfaces::drivers::{JointVec, MAX_DOF};
use serialport::TTYPort;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Model number the emulated servos report.
pub const EMULATED_MODEL_NUMBER: u16 = 0xC0DE;
/// Current Limit the emulated servos start with, counts.
pub const EMULATED_CURRENT_LIMIT: u16 = 32_000;

/// Why the emulator could not start.
#[derive(Debug, Error)]
pub enum EmulatorError {
    /// No pseudo-terminal.
    #[error("cannot open a pseudo-terminal: {0}")]
    Pty(String),
    /// The config does not fit the world.
    #[error("emulator config: {0}")]
    Config(String),
    /// The OS refused the thread.
    #[error("cannot start the emulator thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// How the emulated servos behave.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorOptions {
    /// Control-table family.
    pub series: ServoSeries,
    /// Servo ID of each joint.
    pub ids: Vec<u8>,
    /// Torque constant of each joint, N·m/A.
    pub torque_constant: Vec<f64>,
    /// Position-loop gains of current-based position mode: N·m/rad and N·m·s/rad.
    pub hold_gains: (f64, f64),
    /// Hold each reply for its wire time at this baud (plus the return delay); `None`: as fast as the pty.
    pub wire_timing: Option<u32>,
}

impl EmulatorOptions {
    /// Servos 1…dof of the P series with a torque constant of 5 N·m/A (1 mA counts: 5 mN·m resolution, 87 N·m
    /// at 17.4 A), a stiff position loop, as fast as the pty.
    pub fn for_dof(dof: usize) -> Self {
        Self {
            series: ServoSeries::P,
            ids: (1..=dof as u8).collect(),
            torque_constant: vec![5.0; dof],
            hold_gains: (1000.0, 10.0),
            wire_timing: None,
        }
    }
}

/// Faults to inject, shared with the emulator thread. Counters are consumed one per reply packet.
#[derive(Debug, Default)]
pub struct FaultInjection {
    /// Corrupt (flip a bit in) the next this-many reply packets.
    pub corrupt_replies: AtomicU32,
    /// Drop the next this-many reply packets.
    pub drop_replies: AtomicU32,
    /// Lose every reply of servo ID (value) from now on, as with a broken return line; it still obeys (0 = none).
    pub mute_id: AtomicU32,
    /// Raise a hardware error: `(id << 8) | status bits` (0 = none); consumed when applied.
    pub hardware_error: AtomicU32,
    /// Close the pty (the cable is pulled).
    pub unplug: AtomicBool,
}

/// What a test may see of one emulated servo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServoView {
    /// ID.
    pub id: u8,
    /// Torque Enable.
    pub torque_enabled: bool,
    /// Operating Mode.
    pub operating_mode: u8,
    /// Hardware Error Status.
    pub hardware_error: u8,
    /// Bus Watchdog register (0 disabled, 1…127 armed in 20 ms units, 255 its latched error; 0 on servos without
    /// one).
    pub bus_watchdog: u8,
    /// Goal Current, counts (0 on servos without one).
    pub goal_current: i32,
    /// Goal Position, counts.
    pub goal_position: i32,
}

impl ServoView {
    /// True once the Bus Watchdog stopped this servo (its error is latched).
    pub fn watchdog_tripped(&self) -> bool {
        self.bus_watchdog == BUS_WATCHDOG_ERROR
    }
}

/// A running emulator. Dropping it stops the thread.
#[derive(Debug)]
pub struct DynamixelEmulator {
    port: String,
    clock: MockClock,
    faults: Arc<FaultInjection>,
    servos: Arc<Mutex<Vec<ServoView>>>,
    steps: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<SimWorld>>,
    options: EmulatorOptions,
}

struct Servo {
    id: u8,
    table: Vec<u8>,
    /// When the servo last received an instruction addressed to it (the Bus Watchdog's reference).
    last_instruction: Instant,
}

struct Emulator {
    world: SimWorld,
    ct: ControlTable,
    opts: EmulatorOptions,
    servos: Vec<Servo>,
    faults: Arc<FaultInjection>,
    view: Arc<Mutex<Vec<ServoView>>>,
    steps: Arc<AtomicU64>,
    tx: Vec<u8>,
    scratch: Vec<u8>,
}

impl DynamixelEmulator {
    /// Starts an emulator of `world`'s arm on a fresh pty. The arm must have `options.ids.len()` joints.
    pub fn spawn(mut world: SimWorld, options: EmulatorOptions) -> Result<(Self, SnapshotReader), EmulatorError> {
        let dof = world.dof();
        if options.ids.len() != dof || options.torque_constant.len() != dof {
            return Err(EmulatorError::Config(format!(
                "{dof} joints, {} ids, {} torque constants",
                options.ids.len(),
                options.torque_constant.len()
            )));
        }
        let (master, slave) = TTYPort::pair().map_err(|e| EmulatorError::Pty(e.to_string()))?;
        let port = serialport::SerialPort::name(&slave)
            .ok_or_else(|| EmulatorError::Pty("the pty slave has no name".into()))?;
        let ct = ControlTable::of(options.series);
        let servos: Vec<Servo> = options
            .ids
            .iter()
            .map(|&id| {
                let mut table = vec![0u8; ct.size()];
                table[usize::from(ct.model_number)..][..2].copy_from_slice(&EMULATED_MODEL_NUMBER.to_le_bytes());
                table[usize::from(ct.current_limit)..][..2].copy_from_slice(&EMULATED_CURRENT_LIMIT.to_le_bytes());
                Servo { id, table, last_instruction: Instant::now() }
            })
            .collect();
        let view = Arc::new(Mutex::new(Vec::new()));
        let observer = world.subscribe();
        let clock = world.clock().clone();
        let faults = Arc::new(FaultInjection::default());
        let steps = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut emu = Emulator {
            world,
            ct,
            opts: options.clone(),
            servos,
            faults: faults.clone(),
            view: view.clone(),
            steps: steps.clone(),
            tx: Vec::with_capacity(2048),
            scratch: Vec::with_capacity(2048),
        };
        emu.refresh_present(&[0.0; MAX_DOF]);
        emu.publish_view();
        let stop_t = stop.clone();
        let thread = std::thread::Builder::new()
            .name("dynamixel-emulator".into())
            .spawn(move || emu.run(master, slave, &stop_t))?;
        Ok((Self { port, clock, faults, servos: view, steps, stop, thread: Some(thread), options }, observer))
    }

    /// The pty slave path to open as the serial port.
    pub fn port(&self) -> &str {
        &self.port
    }
    /// The world's clock (give it to the driver so its stamps are simulated time).
    pub fn clock(&self) -> MockClock {
        self.clock.clone()
    }
    /// Fault injection.
    pub fn faults(&self) -> &FaultInjection {
        &self.faults
    }
    /// Physics steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Acquire)
    }
    /// The servos as last seen by the emulator thread.
    pub fn servos(&self) -> Vec<ServoView> {
        self.servos.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The driver config that talks to this emulator at `baud` (IDs, series and torque constants matching).
    pub fn driver_config(&self, baud: u32, safe_stop: SafeStopKind) -> DynamixelConfig {
        DynamixelConfig {
            port: self.port.clone(),
            baud,
            series: self.options.series,
            ids: self.options.ids.clone(),
            torque_constant: self.options.torque_constant.clone(),
            zero_offset: Vec::new(),
            inverted: Vec::new(),
            return_delay_us: 0,
            timeout_ms: 50.0,
            max_retries: 3,
            safe_stop,
            hold_current_limit: 20.0,
            latency_timer_ms: 1,
        }
    }

    /// Stops the thread and gives the world back (`None` if the thread panicked).
    pub fn stop(mut self) -> Option<SimWorld> {
        self.stop.store(true, Ordering::Release);
        self.thread.take()?.join().ok()
    }
}

impl Drop for DynamixelEmulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn get_u16(t: &[u8], a: u16) -> u16 {
    let a = usize::from(a);
    u16::from_le_bytes([t[a], t[a + 1]])
}
fn get_i32(t: &[u8], a: u16) -> i32 {
    let a = usize::from(a);
    i32::from_le_bytes([t[a], t[a + 1], t[a + 2], t[a + 3]])
}

impl Emulator {
    fn run(mut self, mut master: TTYPort, slave: TTYPort, stop: &AtomicBool) -> SimWorld {
        let _ = serialport::SerialPort::set_timeout(&mut master, Duration::from_millis(5));
        let mut slave = Some(slave);
        let mut master = Some(master);
        let mut rx: Vec<u8> = Vec::with_capacity(8192);
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Acquire) {
            if self.faults.unplug.load(Ordering::Acquire) {
                master = None;
                slave = None;
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            if self.check_watchdogs() {
                self.publish_view();
            }
            let Some(m) = master.as_mut() else { break };
            match m.read(&mut buf) {
                Ok(n) => rx.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
                    continue;
                }
                // EIO while no one has the slave open: wait for the driver.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
            }
            loop {
                let start = protocol::find_header(&rx);
                rx.drain(..start);
                if rx.is_empty() {
                    break;
                }
                let mut scratch = std::mem::take(&mut self.scratch);
                let parsed = protocol::parse(&rx, &mut scratch).map(|(p, used)| (p.id, p.instruction, used));
                match parsed {
                    Ok((id, instruction, used)) => {
                        let params = scratch.clone();
                        rx.drain(..used);
                        self.handle(id, instruction, &params[1..], m);
                    }
                    Err(protocol::ParseError::Incomplete { .. }) => {
                        self.scratch = scratch;
                        break;
                    }
                    Err(_) => {
                        // A servo ignores a corrupt instruction.
                        rx.drain(..1);
                    }
                }
                self.scratch = scratch;
            }
        }
        drop(slave);
        self.world
    }

    fn servo_index(&self, id: u8) -> Option<usize> {
        self.servos.iter().position(|s| s.id == id)
    }

    /// Notes that servo `id` received an instruction now (it feeds its Bus Watchdog).
    fn heard(&mut self, id: u8) {
        if let Some(k) = self.servo_index(id) {
            self.servos[k].last_instruction = Instant::now();
        }
    }

    /// Stops every servo whose Bus Watchdog ran out (see the module docs); true when one did.
    fn check_watchdogs(&mut self) -> bool {
        let ct = self.ct;
        let mut tripped = false;
        for s in &mut self.servos {
            let t = &mut s.table;
            let units = t[usize::from(ct.bus_watchdog)];
            if t[usize::from(ct.torque_enable)] == 0 || units == 0 || units > BUS_WATCHDOG_MAX_UNITS {
                continue;
            }
            let limit = Duration::from_secs_f64(f64::from(units) * BUS_WATCHDOG_UNIT_MS * 1e-3);
            if s.last_instruction.elapsed() < limit {
                continue;
            }
            t[usize::from(ct.bus_watchdog)] = BUS_WATCHDOG_ERROR;
            let (gc, gp, pp) =
                (usize::from(ct.goal_current), usize::from(ct.goal_position), usize::from(ct.present_block) + 6);
            match t[usize::from(ct.operating_mode)] {
                mode::CURRENT => t[gc..gc + 2].fill(0),
                _ => {
                    let present: [u8; 4] = [t[pp], t[pp + 1], t[pp + 2], t[pp + 3]];
                    t[gp..gp + 4].copy_from_slice(&present);
                }
            }
            tripped = true;
        }
        tripped
    }

    fn apply_injected_hardware_error(&mut self) {
        let v = self.faults.hardware_error.swap(0, Ordering::AcqRel);
        if v == 0 {
            return;
        }
        let (id, bits) = ((v >> 8) as u8, v as u8);
        let ct = self.ct;
        if let Some(k) = self.servos.iter().position(|s| s.id == id) {
            let t = &mut self.servos[k].table;
            t[usize::from(ct.hardware_error)] = bits;
            t[usize::from(ct.torque_enable)] = 0; // a servo drops torque on a hardware error
        }
    }

    /// Sends a status packet from servo `k` (error code `code`, data `data`), with fault injection.
    fn reply(&mut self, k: usize, code: u8, data: &[u8], port: &mut TTYPort) {
        let alert = if self.servos[k].table[usize::from(self.ct.hardware_error)] != 0 { 0x80 } else { 0 };
        let id = self.servos[k].id;
        if u32::from(id) == self.faults.mute_id.load(Ordering::Acquire) {
            return;
        }
        if protocol::encode(&mut self.tx, id, inst::STATUS, &[&[code | alert], data]).is_err() {
            return;
        }
        if self.faults.drop_replies.load(Ordering::Acquire) > 0 {
            self.faults.drop_replies.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        if self.faults.corrupt_replies.load(Ordering::Acquire) > 0 {
            self.faults.corrupt_replies.fetch_sub(1, Ordering::AcqRel);
            let mid = self.tx.len() / 2;
            self.tx[mid] ^= 0x5A;
        }
        if let Some(baud) = self.opts.wire_timing {
            let delay_us = 2.0 * f64::from(self.servos[k].table[usize::from(self.ct.return_delay)]);
            let hold = protocol::wire_time_s(self.tx.len(), baud) + delay_us * 1e-6;
            let until = Instant::now() + Duration::from_secs_f64(hold);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        let _ = port.write_all(&self.tx);
    }

    /// Writes `data` at `addr` of servo `k`; returns the status error code (0, or 7 = access error).
    fn write_table(&mut self, k: usize, addr: u16, data: &[u8]) -> u8 {
        let ct = self.ct;
        let (a, end) = (usize::from(addr), usize::from(addr) + data.len());
        let present = usize::from(ct.present_block)..usize::from(ct.present_block + PRESENT_BLOCK_LEN);
        let t = &mut self.servos[k].table;
        if end > t.len() || (a < present.end && end > present.start) {
            return 7;
        }
        let torque_on = t[usize::from(ct.torque_enable)] != 0;
        let mode_addr = usize::from(ct.operating_mode);
        if torque_on && (a..end).contains(&mode_addr) {
            return 7; // EEPROM area is locked while torque is on
        }
        let wd = usize::from(ct.bus_watchdog);
        if t[wd] == BUS_WATCHDOG_ERROR {
            // Goals are read-only while the watchdog error is latched; only writing 0 to the register clears it.
            let goals = [(ct.goal_current, 2usize), (ct.goal_position, 4)];
            let hits_goal = goals.iter().any(|&(g, n)| a < usize::from(g) + n && end > usize::from(g));
            if hits_goal || ((a..end).contains(&wd) && data[wd - a] != 0) {
                return 4;
            }
        }
        let te = usize::from(ct.torque_enable);
        let hw = t[usize::from(ct.hardware_error)];
        t[a..end].copy_from_slice(data);
        if hw != 0 && (a..end).contains(&te) {
            t[te] = 0; // torque cannot be enabled until the servo is rebooted
        }
        0
    }

    fn handle(&mut self, id: u8, instruction: u8, params: &[u8], port: &mut TTYPort) {
        self.apply_injected_hardware_error();
        match instruction {
            inst::PING | inst::READ | inst::WRITE | inst::REBOOT => {
                let Some(k) = self.servo_index(id) else { return };
                self.servos[k].last_instruction = Instant::now();
                match instruction {
                    inst::PING => {
                        let m = EMULATED_MODEL_NUMBER.to_le_bytes();
                        self.reply(k, 0, &[m[0], m[1], 1], port);
                    }
                    inst::READ => {
                        let (Some(addr), Some(len)) =
                            (protocol::le::u16_at(params, 0), protocol::le::u16_at(params, 2))
                        else {
                            return self.reply(k, 5, &[], port);
                        };
                        let (a, e) = (usize::from(addr), usize::from(addr) + usize::from(len));
                        match self.servos[k].table.get(a..e) {
                            Some(d) => {
                                let d = d.to_vec();
                                self.reply(k, 0, &d, port);
                            }
                            None => self.reply(k, 7, &[], port),
                        }
                    }
                    inst::WRITE => {
                        let Some(addr) = protocol::le::u16_at(params, 0) else { return self.reply(k, 5, &[], port) };
                        let code = self.write_table(k, addr, &params[2..]);
                        self.reply(k, code, &[], port);
                    }
                    _ => {
                        let ct = self.ct;
                        let t = &mut self.servos[k].table;
                        t[usize::from(ct.hardware_error)] = 0;
                        t[usize::from(ct.torque_enable)] = 0;
                        self.reply(k, 0, &[], port);
                    }
                }
            }
            inst::SYNC_READ if id == BROADCAST_ID => {
                let (Some(addr), Some(len)) = (protocol::le::u16_at(params, 0), protocol::le::u16_at(params, 2)) else {
                    return;
                };
                for &sid in params.get(4..).unwrap_or(&[]) {
                    self.heard(sid);
                }
                if addr == self.ct.present_block {
                    self.step_physics();
                }
                for &sid in params.get(4..).unwrap_or(&[]) {
                    let Some(k) = self.servo_index(sid) else { continue };
                    let (a, e) = (usize::from(addr), usize::from(addr) + usize::from(len));
                    match self.servos[k].table.get(a..e) {
                        Some(d) => {
                            let d = d.to_vec();
                            self.reply(k, 0, &d, port);
                        }
                        None => self.reply(k, 7, &[], port),
                    }
                }
            }
            inst::SYNC_WRITE if id == BROADCAST_ID => {
                let (Some(addr), Some(len)) = (protocol::le::u16_at(params, 0), protocol::le::u16_at(params, 2)) else {
                    return;
                };
                let n = usize::from(len);
                if n == 0 {
                    return;
                }
                for chunk in params.get(4..).unwrap_or(&[]).chunks_exact(n + 1) {
                    self.heard(chunk[0]);
                    if let Some(k) = self.servo_index(chunk[0]) {
                        let _ = self.write_table(k, addr, &chunk[1..]);
                    }
                }
            }
            _ => {}
        }
        self.publish_view();
    }

    fn step_physics(&mut self) {
        let ct = self.ct;
        let q = self.world.joint_state();
        let mut tau: JointVec = [0.0; MAX_DOF];
        for (j, s) in self.servos.iter().enumerate() {
            let t = &s.table;
            if t[usize::from(ct.torque_enable)] == 0 {
                continue;
            }
            let k = self.opts.torque_constant[j];
            let limit = f64::from(get_u16(t, ct.current_limit));
            let goal_i = f64::from(get_u16(t, ct.goal_current) as i16).clamp(-limit, limit) * ct.amps_per_count;
            tau[j] = match t[usize::from(ct.operating_mode)] {
                mode::CURRENT => k * goal_i,
                mode::CURRENT_BASED_POSITION => {
                    let goal = f64::from(get_i32(t, ct.goal_position) - ct.position_center) * ct.rad_per_count;
                    let (kp, kd) = self.opts.hold_gains;
                    let lim = k * goal_i.abs();
                    (kp * (goal - q.q[j]) - kd * q.dq[j]).clamp(-lim, lim)
                }
                _ => 0.0,
            };
        }
        self.world.step(&tau);
        self.steps.fetch_add(1, Ordering::AcqRel);
        self.refresh_present(&tau);
    }

    fn refresh_present(&mut self, tau: &JointVec) {
        let ct = self.ct;
        let s = self.world.joint_state();
        for (j, servo) in self.servos.iter_mut().enumerate() {
            let cur = (tau[j] / self.opts.torque_constant[j] / ct.amps_per_count).round() as i16;
            let vel = (s.dq[j] / ct.rad_s_per_count).round() as i32;
            let pos = (s.q[j] / ct.rad_per_count).round() as i32 + ct.position_center;
            let a = usize::from(ct.present_block);
            let t = &mut servo.table;
            t[a..a + 2].copy_from_slice(&cur.to_le_bytes());
            t[a + 2..a + 6].copy_from_slice(&vel.to_le_bytes());
            t[a + 6..a + 10].copy_from_slice(&pos.to_le_bytes());
        }
    }

    fn publish_view(&self) {
        let ct = self.ct;
        let v: Vec<ServoView> = self
            .servos
            .iter()
            .map(|s| ServoView {
                id: s.id,
                torque_enabled: s.table[usize::from(ct.torque_enable)] != 0,
                operating_mode: s.table[usize::from(ct.operating_mode)],
                hardware_error: s.table[usize::from(ct.hardware_error)],
                bus_watchdog: s.table[usize::from(ct.bus_watchdog)],
                goal_current: i32::from(get_u16(&s.table, ct.goal_current) as i16),
                goal_position: get_i32(&s.table, ct.goal_position),
            })
            .collect();
        *self.view.lock().unwrap_or_else(PoisonError::into_inner) = v;
    }
}
