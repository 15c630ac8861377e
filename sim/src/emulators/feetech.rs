//! An emulated Feetech STS bus (protocol 0) on a pseudo-terminal, backed by the simulated arm: the SO-101's
//! servos as the driver meets them.
//!
//! The emulator owns a [`SimWorld`] on a named thread and answers on the master side of a pty as a chain of STS
//! servos would: ping, read, write, sync read, sync write, with checksums and the status byte. Each servo keeps a
//! control-table image ([`control_table`](controller::drivers::feetech::control_table) addresses); joint `i` is
//! servo `ids[i]`, the jaw (if any) drives the world's gripper.
//!
//! **Servo model** (each physics step, torque on): `τ = clamp(k·(q_goal − q) − d·q̇, ±limit·τ_stall)` with `k`, `d`
//! the position loop's stiffness and damping ([`FeetechEmulatorOptions`]), `limit` the Torque Limit register
//! (0.1 %) and `τ_stall` the servo's stall torque; torque off applies nothing. A servo with status bits set
//! (injected) drops torque and refuses to enable it until the bits are cleared.
//! **Time**: the physics advances `steps_per_cycle` steps each time the present block is sync-read (one control
//! cycle reads it once); the world's mock clock is the driver's clock, so a closed loop through the emulator is
//! deterministic in simulated time.
//! **Wire timing**: with [`FeetechEmulatorOptions::wire_timing`] the emulator models the half-duplex bus at that
//! baud: every instruction occupies the bus for its wire time, then every reply for its own (plus the return
//! delay); a reply is sent when the bus would have carried it. Without it, bytes move as fast as the pty copies.

use super::dynamixel::{EmulatorError, FaultInjection, ServoView};
use crate::world::{SimWorld, SnapshotReader};
use controller::drivers::feetech::arm::{angle_to_count, count_to_angle};
use controller::drivers::feetech::control_table::{self as ct, Present};
use controller::drivers::feetech::protocol::{self, BROADCAST_ID, ServoStatus, inst};
use interfaces::MockClock;
use interfaces::config::{FeetechConfig, SafeStopKind};
use interfaces::drivers::{JointVec, MAX_DOF};
use interfaces::msg::GripperCommand;
use serialport::TTYPort;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the emulated servos behave.
#[derive(Debug, Clone, PartialEq)]
pub struct FeetechEmulatorOptions {
    /// Servo ID of each arm joint.
    pub ids: Vec<u8>,
    /// Servo ID of the jaw (drives the world's gripper), if any.
    pub gripper_id: Option<u8>,
    /// Position-loop stiffness of each joint's servo, N·m/rad.
    pub stiffness: Vec<f64>,
    /// Position-loop damping of each joint's servo, N·m·s/rad.
    pub damping: Vec<f64>,
    /// Stall torque of each joint's servo, N·m (the torque at a Torque Limit of 1000).
    pub stall_torque: Vec<f64>,
    /// Jaw angles of the closed and fully open gripper, rad (as `driver.jaw_range`).
    pub jaw_range: [f64; 2],
    /// Physics steps per read of the present block (one control cycle): `1 / (rate · timestep)`.
    pub steps_per_cycle: u32,
    /// Model the bus at this baud (instruction and reply wire times); `None`: as fast as the pty.
    pub wire_timing: Option<u32>,
    /// How each joint's servo is mounted: the joint angle at its centre count (2048), rad (empty: 0). A real arm's
    /// servos sit at arbitrary angles, which `corrigo calibrate` measures.
    pub mount_offset: Vec<f64>,
    /// Joints whose servo turns opposite to the joint (empty: none).
    pub mount_inverted: Vec<bool>,
}

impl FeetechEmulatorOptions {
    /// Servos 1…dof, the jaw as servo dof + 1, the STS3215's figures at 12 V (stall 2.9 N·m; a position loop of
    /// 60 N·m/rad and 0.5 N·m·s/rad), one physics step per cycle, as fast as the pty.
    pub fn for_dof(dof: usize) -> Self {
        Self {
            ids: (1..=dof as u8).collect(),
            gripper_id: Some(dof as u8 + 1),
            stiffness: vec![60.0; dof],
            damping: vec![0.5; dof],
            stall_torque: vec![2.9; dof],
            jaw_range: [0.0, 1.5],
            steps_per_cycle: 1,
            wire_timing: None,
            mount_offset: Vec::new(),
            mount_inverted: Vec::new(),
        }
    }

    fn mount(&self, j: usize) -> (f64, f64) {
        let dir = if self.mount_inverted.get(j).copied().unwrap_or(false) { -1.0 } else { 1.0 };
        (dir, self.mount_offset.get(j).copied().unwrap_or(0.0))
    }
}

/// A running emulator. Dropping it stops the thread.
#[derive(Debug)]
pub struct FeetechEmulator {
    port: String,
    clock: MockClock,
    faults: Arc<FaultInjection>,
    servos: Arc<Mutex<Vec<ServoView>>>,
    steps: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<SimWorld>>,
    options: FeetechEmulatorOptions,
    hand: Arc<Mutex<Option<Hand>>>,
}

/// A hand on the arm: while set, the arm's joints are held at `q` and the jaw at `jaw` rad (as a person moving
/// an arm whose torque is off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hand {
    /// Joint angles, rad.
    pub q: [f64; MAX_DOF],
    /// Jaw angle, rad (in `jaw_range`'s terms).
    pub jaw: f64,
}

struct Servo {
    id: u8,
    table: [u8; ct::SIZE],
}

impl Servo {
    fn get(&self, addr: u8) -> u8 {
        self.table[usize::from(addr)]
    }
    fn get_u16(&self, addr: u8) -> u16 {
        let a = usize::from(addr);
        u16::from_le_bytes([self.table[a], self.table[a + 1]])
    }
    fn torque_on(&self) -> bool {
        self.get(ct::TORQUE_ENABLE) == 1
    }
}

struct Emulator {
    world: SimWorld,
    opts: FeetechEmulatorOptions,
    /// Arm servos, then the jaw's.
    servos: Vec<Servo>,
    faults: Arc<FaultInjection>,
    view: Arc<Mutex<Vec<ServoView>>>,
    steps: Arc<AtomicU64>,
    tx: Vec<u8>,
    bus_free: Instant,
    hand: Arc<Mutex<Option<Hand>>>,
}

impl FeetechEmulator {
    /// Starts an emulator of `world`'s arm on a fresh pty. The arm must have `options.ids.len()` joints.
    pub fn spawn(
        mut world: SimWorld,
        options: FeetechEmulatorOptions,
    ) -> Result<(Self, SnapshotReader), EmulatorError> {
        let dof = world.dof();
        let o = &options;
        if o.ids.len() != dof || o.stiffness.len() != dof || o.damping.len() != dof || o.stall_torque.len() != dof {
            return Err(EmulatorError::Config(format!(
                "{dof} joints, {} ids, {} stiffnesses, {} dampings, {} stall torques",
                o.ids.len(),
                o.stiffness.len(),
                o.damping.len(),
                o.stall_torque.len()
            )));
        }
        let (master, slave) = TTYPort::pair().map_err(|e| EmulatorError::Pty(e.to_string()))?;
        let port = serialport::SerialPort::name(&slave)
            .ok_or_else(|| EmulatorError::Pty("the pty slave has no name".into()))?;
        let servos = o
            .ids
            .iter()
            .chain(&o.gripper_id)
            .map(|&id| {
                let mut table = [0u8; ct::SIZE];
                table[usize::from(ct::MODEL_NUMBER)..][..2].copy_from_slice(&ct::STS3215_MODEL.to_le_bytes());
                table[usize::from(ct::ID)] = id;
                table[usize::from(ct::RETURN_DELAY)] = 0;
                table[usize::from(ct::MAX_TORQUE_LIMIT)..][..2].copy_from_slice(&1000u16.to_le_bytes());
                table[usize::from(ct::TORQUE_LIMIT)..][..2].copy_from_slice(&1000u16.to_le_bytes());
                table[usize::from(ct::P_COEFFICIENT)] = 32;
                table[usize::from(ct::LOCK)] = 1;
                Servo { id, table }
            })
            .collect();
        let view = Arc::new(Mutex::new(Vec::new()));
        let observer = world.subscribe();
        let clock = world.clock().clone();
        let faults = Arc::new(FaultInjection::default());
        let steps = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let hand = Arc::new(Mutex::new(None));
        let mut emu = Emulator {
            world,
            opts: options.clone(),
            servos,
            faults: faults.clone(),
            view: view.clone(),
            steps: steps.clone(),
            tx: Vec::with_capacity(512),
            bus_free: Instant::now(),
            hand: hand.clone(),
        };
        emu.refresh_present(&[0.0; MAX_DOF]);
        // Goals start at the present positions, as on a servo that was just powered.
        for s in &mut emu.servos {
            let pos = s.get_u16(ct::PRESENT_POSITION);
            s.table[usize::from(ct::GOAL_POSITION)..][..2].copy_from_slice(&pos.to_le_bytes());
        }
        emu.publish_view();
        let stop_t = stop.clone();
        let thread = std::thread::Builder::new()
            .name("feetech-emulator".into())
            .spawn(move || emu.run(master, slave, &stop_t))?;
        Ok((Self { port, clock, faults, servos: view, steps, stop, thread: Some(thread), options, hand }, observer))
    }

    /// The pty slave path to open as the serial port.
    pub fn port(&self) -> &str {
        &self.port
    }
    /// The world's clock (give it to the driver so its stamps are simulated time).
    pub fn clock(&self) -> MockClock {
        self.clock.clone()
    }
    /// Fault injection (`hardware_error` = `(id << 8) | status bits`).
    pub fn faults(&self) -> &FaultInjection {
        &self.faults
    }
    /// Physics steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Acquire)
    }
    /// The servos as last seen by the emulator thread (`hardware_error` holds the status bits; arm servos first,
    /// then the jaw).
    pub fn servos(&self) -> Vec<ServoView> {
        self.servos.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Puts a hand on the arm (`Some`: the joints and the jaw are held where it says from the next physics step)
    /// or takes it away (`None`).
    pub fn hand(&self, hand: Option<Hand>) {
        *self.hand.lock().unwrap_or_else(PoisonError::into_inner) = hand;
    }

    /// The driver config that talks to this emulator at `baud` (IDs, stiffness and stall torques matching).
    pub fn driver_config(&self, baud: u32, safe_stop: SafeStopKind) -> FeetechConfig {
        FeetechConfig {
            port: self.port.clone(),
            baud,
            ids: self.options.ids.clone(),
            gripper_id: self.options.gripper_id,
            position_stiffness: self.options.stiffness.clone(),
            stall_torque: self.options.stall_torque.clone(),
            zero_offset: Vec::new(),
            inverted: Vec::new(),
            jaw_range: self.options.jaw_range,
            timeout_ms: 50.0,
            max_retries: 3,
            safe_stop,
            latency_timer_ms: 1,
        }
    }

    /// Stops the thread and gives the world back (`None` if the thread panicked).
    pub fn stop(mut self) -> Option<SimWorld> {
        self.stop.store(true, Ordering::Release);
        self.thread.take()?.join().ok()
    }
}

impl Drop for FeetechEmulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Emulator {
    fn run(mut self, master: TTYPort, slave: TTYPort, stop: &AtomicBool) -> SimWorld {
        let mut master = Some(master);
        if let Some(m) = master.as_mut() {
            let _ = serialport::SerialPort::set_timeout(m, Duration::from_millis(5));
        }
        let mut slave = Some(slave);
        let mut rx: Vec<u8> = Vec::with_capacity(4096);
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Acquire) {
            if self.faults.unplug.load(Ordering::Acquire) {
                (master, slave) = (None, None);
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            let Some(m) = master.as_mut() else { break };
            match m.read(&mut buf) {
                Ok(n) => rx.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => continue,
                Err(_) => {
                    // EIO while no one has the slave open: wait for the driver.
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
                match protocol::parse(&rx) {
                    Ok((p, used)) => {
                        let (id, instruction, params) = (p.id, p.code, p.params.to_vec());
                        rx.drain(..used);
                        self.occupy_bus(used);
                        self.handle(id, instruction, &params, m);
                    }
                    Err(protocol::ParseError::Incomplete { .. }) => break,
                    Err(_) => {
                        rx.drain(..1); // a servo ignores a corrupt instruction
                    }
                }
            }
        }
        drop(slave);
        self.world
    }

    /// The bus carries `bytes` more (wire timing only).
    fn occupy_bus(&mut self, bytes: usize) {
        if let Some(baud) = self.opts.wire_timing {
            let start = self.bus_free.max(Instant::now());
            self.bus_free = start + Duration::from_secs_f64(protocol::wire_time_s(bytes, baud));
        }
    }

    fn index(&self, id: u8) -> Option<usize> {
        self.servos.iter().position(|s| s.id == id)
    }

    fn apply_injected_status(&mut self) {
        let v = self.faults.hardware_error.swap(0, Ordering::AcqRel);
        if v == 0 {
            return;
        }
        let (id, bits) = ((v >> 8) as u8, v as u8);
        if let Some(k) = self.index(id) {
            let t = &mut self.servos[k].table;
            t[usize::from(ct::STATUS)] = bits;
            t[usize::from(ct::TORQUE_ENABLE)] = 0; // the protection drops torque
        }
    }

    /// Sends a status packet from servo `k` with `data`, with fault injection and wire timing.
    fn reply(&mut self, k: usize, data: &[u8], port: &mut TTYPort) {
        let (id, status) = (self.servos[k].id, self.servos[k].get(ct::STATUS));
        if u32::from(id) == self.faults.mute_id.load(Ordering::Acquire) {
            return;
        }
        if protocol::encode(&mut self.tx, id, status, &[data]).is_err() {
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
        if self.opts.wire_timing.is_some() {
            let delay = Duration::from_micros(2 * u64::from(self.servos[k].get(ct::RETURN_DELAY)));
            self.bus_free += delay;
            self.occupy_bus(self.tx.len());
            while Instant::now() < self.bus_free {
                std::hint::spin_loop();
            }
        }
        let _ = port.write_all(&self.tx);
    }

    /// Writes `data` at `addr` of servo `k`, as the servo would: read-only and out-of-range addresses are ignored,
    /// EEPROM (below Torque Enable) only while unlocked, torque stays off while status bits are set.
    fn write_table(&mut self, k: usize, addr: u8, data: &[u8]) {
        let (a, end) = (usize::from(addr), usize::from(addr) + data.len());
        let s = &mut self.servos[k];
        if end > usize::from(ct::PRESENT_POSITION) {
            return; // the present block and what follows are read-only
        }
        if a < usize::from(ct::TORQUE_ENABLE) && s.get(ct::LOCK) != 0 {
            return;
        }
        let te = usize::from(ct::TORQUE_ENABLE);
        let status = s.get(ct::STATUS);
        s.table[a..end].copy_from_slice(data);
        if status != 0 && (a..end).contains(&te) {
            s.table[te] = 0;
        }
    }

    fn read_table(&self, k: usize, addr: u8, len: u8) -> Option<Vec<u8>> {
        let (a, e) = (usize::from(addr), usize::from(addr) + usize::from(len));
        self.servos[k].table.get(a..e).map(<[u8]>::to_vec)
    }

    fn handle(&mut self, id: u8, instruction: u8, params: &[u8], port: &mut TTYPort) {
        self.apply_injected_status();
        match instruction {
            inst::PING | inst::READ | inst::WRITE => {
                let Some(k) = self.index(id) else { return };
                match (instruction, params) {
                    (inst::PING, _) => self.reply(k, &[], port),
                    (inst::READ, &[addr, len]) => {
                        if let Some(d) = self.read_table(k, addr, len) {
                            self.reply(k, &d, port);
                        }
                    }
                    (inst::WRITE, [addr, data @ ..]) if !data.is_empty() => {
                        self.write_table(k, *addr, data);
                        self.reply(k, &[], port);
                    }
                    _ => {}
                }
            }
            inst::SYNC_READ if id == BROADCAST_ID => {
                let [addr, len, ids @ ..] = params else { return };
                if *addr == ct::PRESENT_BLOCK {
                    for _ in 0..self.opts.steps_per_cycle.max(1) {
                        self.step_physics();
                    }
                }
                for &sid in ids {
                    let Some(k) = self.index(sid) else { continue };
                    if let Some(d) = self.read_table(k, *addr, *len) {
                        self.reply(k, &d, port);
                    }
                }
            }
            inst::SYNC_WRITE if id == BROADCAST_ID => {
                let [addr, len, rest @ ..] = params else { return };
                let n = usize::from(*len);
                if n == 0 {
                    return;
                }
                for chunk in rest.chunks_exact(n + 1) {
                    if let Some(k) = self.index(chunk[0]) {
                        self.write_table(k, *addr, &chunk[1..]);
                    }
                }
            }
            _ => {}
        }
        self.publish_view();
    }

    fn step_physics(&mut self) {
        let s = self.world.joint_state();
        let mut tau: JointVec = [0.0; MAX_DOF];
        let dof = self.opts.ids.len();
        for (j, servo) in self.servos.iter().take(dof).enumerate() {
            if !servo.torque_on() {
                continue;
            }
            let (dir, offset) = self.opts.mount(j);
            let goal = count_to_angle(i32::from(servo.get_u16(ct::GOAL_POSITION)), dir, offset);
            let limit = f64::from(servo.get_u16(ct::TORQUE_LIMIT).min(1000)) / ct::TORQUE_FULL_SCALE
                * self.opts.stall_torque[j];
            tau[j] = (self.opts.stiffness[j] * (goal - s.q[j]) - self.opts.damping[j] * s.dq[j]).clamp(-limit, limit);
        }
        if let Some(jaw) = self.servos.get(dof)
            && jaw.torque_on()
        {
            let angle = f64::from(i32::from(jaw.get_u16(ct::GOAL_POSITION)) - ct::CENTRE) * ct::RAD_PER_COUNT;
            let [closed, open] = self.opts.jaw_range;
            let max_width = self.world_max_width();
            let width = ((angle - closed) / (open - closed)).clamp(0.0, 1.0) * max_width;
            let force = f64::from(jaw.get_u16(ct::TORQUE_LIMIT).min(1000)) / ct::TORQUE_FULL_SCALE * 40.0;
            self.world.command_gripper(GripperCommand { width, force });
        }
        let hand = *self.hand.lock().unwrap_or_else(PoisonError::into_inner);
        if hand.is_some() {
            tau = [0.0; MAX_DOF];
        }
        self.world.step(&tau);
        if let Some(h) = hand {
            self.world.set_arm_q(&h.q);
            let [closed, open] = self.opts.jaw_range;
            let width = ((h.jaw - closed) / (open - closed)).clamp(0.0, 1.0) * self.world_max_width();
            self.world.set_gripper_width(width);
        }
        self.steps.fetch_add(1, Ordering::AcqRel);
        self.refresh_present(&tau);
    }

    fn world_max_width(&self) -> f64 {
        self.world.gripper_max_width()
    }

    fn refresh_present(&mut self, tau: &JointVec) {
        let s = self.world.joint_state();
        let dof = self.opts.ids.len();
        let gripper = self.world.gripper_state();
        let max_width = self.world_max_width();
        let [closed, open] = self.opts.jaw_range;
        for (k, servo) in self.servos.iter_mut().enumerate() {
            let (count, speed, load) = if k < dof {
                let (dir, offset) = self.opts.mount(k);
                let load = dir * tau[k] / self.opts.stall_torque[k] * ct::TORQUE_FULL_SCALE;
                (angle_to_count(s.q[k], dir, offset), dir * s.dq[k], load)
            } else {
                let angle = closed + (open - closed) * (gripper.width / max_width.max(1e-9));
                (angle_to_count(angle, 1.0, 0.0), 0.0, gripper.force / 40.0 * ct::TORQUE_FULL_SCALE)
            };
            let p = Present {
                position: count,
                speed: (speed / ct::RAD_PER_COUNT).round() as i32,
                load: load.round() as i32,
                voltage: 120,
                temperature: 30,
                status: servo.get(ct::STATUS),
                current: (load.abs() * 0.3) as u16,
            };
            let a = usize::from(ct::PRESENT_BLOCK);
            p.encode(&mut servo.table[a..a + usize::from(ct::PRESENT_BLOCK_LEN)]);
        }
    }

    fn publish_view(&self) {
        let v: Vec<ServoView> = self
            .servos
            .iter()
            .map(|s| ServoView {
                id: s.id,
                torque_enabled: s.torque_on(),
                operating_mode: s.get(ct::OPERATING_MODE),
                hardware_error: s.get(ct::STATUS),
                bus_watchdog: 0,
                goal_current: 0,
                goal_position: i32::from(s.get_u16(ct::GOAL_POSITION)),
            })
            .collect();
        *self.view.lock().unwrap_or_else(PoisonError::into_inner) = v;
    }
}

/// The status bits a test injects for `id` (value for [`FaultInjection::hardware_error`]).
pub fn inject_status(id: u8, bits: u8) -> u32 {
    (u32::from(id) << 8) | u32::from(ServoStatus(bits).0)
}

/// Status bits to inject (the driver's [`ServoStatus`] constants).
pub mod status_bits {
    use super::ServoStatus;
    /// Input voltage error.
    pub const VOLTAGE: u8 = ServoStatus::VOLTAGE;
    /// Overheating.
    pub const OVERHEAT: u8 = ServoStatus::OVERHEAT;
    /// Overload.
    pub const OVERLOAD: u8 = ServoStatus::OVERLOAD;
}
