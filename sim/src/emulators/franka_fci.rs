//! An emulated Franka Control Interface on loopback sockets (TCP command port, UDP state stream), backed by the
//! simulated 7-joint arm.
//!
//! The robot side as the FCI behaves: Connect (version check), SetCollisionBehavior, Move in external-controller
//! mode (answered "motion started", and with a final status when the motion ends), StopMove, automatic error
//! recovery; a robot state datagram every cycle and the client's torque commands applied with gravity
//! compensation. Outside a motion (idle, after a reflex) the robot holds its position. A motion without commands
//! for [`COMMUNICATION_LIMIT`] cycles ends in a communication-constraints reflex, as on the robot.
//!
//! **Time**: one cycle is one 1 ms physics step. During a motion with [`Pacing::Lockstep`] the emulator runs one
//! cycle per command received (after [`LOCKSTEP_WAIT`] without one it cycles anyway); otherwise it cycles on the
//! wall clock at 1 kHz.

pub use super::ur_rtde::{LOCKSTEP_WAIT, Pacing};
use crate::world::{SimWorld, SnapshotReader};
use controller::drivers::franka::protocol::{
    self, COMMAND_LEN, ERROR_COMMUNICATION, Errors, FCI_VERSION, RobotCommand, RobotState, STATE_LEN, command,
    move_status, robot_mode,
};
use interfaces::MockClock;
use interfaces::config::{FRANKA_DOF, FrankaConfig};
use interfaces::drivers::{JointVec, MAX_DOF};
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use super::dynamixel::EmulatorError;

/// Cycles of a motion without a command after which the robot stops it with a reflex.
pub const COMMUNICATION_LIMIT: u32 = 20;

/// How the emulated robot behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct FciEmulatorOptions {
    /// The FCI version the robot speaks.
    pub version: u16,
    /// Cycle pacing during a motion.
    pub pacing: Pacing,
    /// Joint position loop while holding: N·m/rad and N·m·s/rad.
    pub hold_gains: (f64, f64),
}

impl Default for FciEmulatorOptions {
    /// This driver's version, lockstep, a stiff hold.
    fn default() -> Self {
        Self { version: FCI_VERSION, pacing: Pacing::Lockstep, hold_gains: (1000.0, 30.0) }
    }
}

/// Faults to inject, shared with the emulator thread.
#[derive(Debug, Default)]
pub struct FciFaults {
    /// Close the command connection and stop streaming (the cable is pulled).
    pub drop_connection: AtomicBool,
    /// Hold the next state back this long, ms (consumed when applied).
    pub delay_next_ms: AtomicU32,
    /// Send this many datagrams that are not robot states.
    pub garbage: AtomicU32,
    /// Nonzero: send one extra robot state, with its message ID this far ahead of the real one, before the next
    /// state (consumed when applied): a forged or corrupt state from the robot's address.
    pub forged_id_ahead: AtomicU64,
    /// Nonzero: a reflex with error flag `value − 1` (e.g. 7 = joint reflex) at the next cycle.
    pub reflex: AtomicU32,
    /// The user stop (external activation device) is pressed.
    pub user_stop: AtomicBool,
}

/// What a test may see of the emulated robot.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FciView {
    /// Robot mode reported.
    pub robot_mode: u8,
    /// A torque motion is running.
    pub moving: bool,
    /// Error flags.
    pub errors: Errors,
    /// Final status of the last motion.
    pub last_move_status: Option<u8>,
    /// Commands received.
    pub commands: u64,
    /// States sent.
    pub states_sent: u64,
    /// Recoveries performed.
    pub recoveries: u32,
    /// A client is connected.
    pub connected: bool,
    /// Cycles run.
    pub cycles: u64,
    /// Of those, cycles run on the clock rather than for a command (outside a motion, realtime pacing, or a
    /// lockstep client that sent nothing for [`LOCKSTEP_WAIT`]).
    pub timed_cycles: u64,
}

/// A running emulator. Dropping it stops the thread.
#[derive(Debug)]
pub struct FrankaEmulator {
    addr: SocketAddr,
    clock: MockClock,
    faults: Arc<FciFaults>,
    view: Arc<Mutex<FciView>>,
    steps: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<SimWorld>>,
}

struct Client {
    tcp: TcpStream,
    rx: Vec<u8>,
    udp_to: Option<SocketAddr>,
}

struct Robot {
    world: SimWorld,
    opts: FciEmulatorOptions,
    faults: Arc<FciFaults>,
    view: Arc<Mutex<FciView>>,
    steps: Arc<AtomicU64>,
    udp: UdpSocket,
    state: FciView,
    message_id: u64,
    motion: Option<u32>,
    tau: JointVec,
    fresh_command: bool,
    missed: u32,
    hold_q: JointVec,
    applied: JointVec,
    reflex_reason: Errors,
    pending_final: Option<(u32, u8)>,
    tx: Vec<u8>,
}

impl FrankaEmulator {
    /// Starts an emulator of `world`'s arm (7 joints) on free loopback ports.
    pub fn spawn(world: SimWorld, options: FciEmulatorOptions) -> Result<(Self, SnapshotReader), EmulatorError> {
        let mut world = world;
        if world.dof() != FRANKA_DOF {
            return Err(EmulatorError::Config(format!("{} joints; a Franka arm has 7", world.dof())));
        }
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        udp.set_nonblocking(true)?;
        let observer = world.subscribe();
        let clock = world.clock().clone();
        let faults = Arc::new(FciFaults::default());
        let steps = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let state = FciView { robot_mode: robot_mode::IDLE, ..FciView::default() };
        let view = Arc::new(Mutex::new(state));
        let hold_q = world.joint_state().q;
        let robot = Robot {
            world,
            opts: options,
            faults: faults.clone(),
            view: view.clone(),
            steps: steps.clone(),
            udp,
            state,
            message_id: 0,
            motion: None,
            tau: [0.0; MAX_DOF],
            fresh_command: false,
            missed: 0,
            hold_q,
            applied: [0.0; MAX_DOF],
            reflex_reason: Errors::default(),
            pending_final: None,
            tx: Vec::with_capacity(protocol::MAX_MESSAGE),
        };
        let stop_t = stop.clone();
        let thread =
            std::thread::Builder::new().name("franka-emulator".into()).spawn(move || robot.run(&listener, &stop_t))?;
        Ok((Self { addr, clock, faults, view, steps, stop, thread: Some(thread) }, observer))
    }

    /// `host:port` of the command port, as the driver's errors name it.
    pub fn device(&self) -> String {
        format!("{}:{}", self.addr.ip(), self.addr.port())
    }
    /// The world's clock (give it to the driver so that its stamps are simulated time).
    pub fn clock(&self) -> MockClock {
        self.clock.clone()
    }
    /// Fault injection.
    pub fn faults(&self) -> &FciFaults {
        &self.faults
    }
    /// Physics steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Acquire)
    }
    /// The robot as last seen by the emulator thread.
    pub fn view(&self) -> FciView {
        *self.view.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The driver config that talks to this emulator with a late-packet deadline of `deadline_ms`.
    pub fn driver_config(&self, deadline_ms: f64) -> FrankaConfig {
        FrankaConfig {
            host: self.addr.ip().to_string(),
            command_port: self.addr.port(),
            udp_port: 0,
            connect_timeout_ms: 2000.0,
            deadline_ms,
            contact_torque: vec![20.0; 7],
            collision_torque: vec![40.0; 7],
            contact_force: vec![20.0; 6],
            collision_force: vec![40.0; 6],
            recover_on_open: false,
        }
    }

    /// Stops the thread and gives the world back (`None` if the thread panicked).
    pub fn stop(mut self) -> Option<SimWorld> {
        self.stop.store(true, Ordering::Release);
        self.thread.take()?.join().ok()
    }
}

impl Drop for FrankaEmulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Robot {
    fn run(mut self, listener: &TcpListener, stop: &AtomicBool) -> SimWorld {
        let mut client: Option<Client> = None;
        let mut buf = [0u8; 4096];
        let mut dgram = [0u8; 2 * COMMAND_LEN];
        let period = Duration::from_millis(1);
        let mut next_tick = Instant::now();
        let mut last_cycle = Instant::now();
        while !stop.load(Ordering::Acquire) {
            if client.is_none()
                && let Ok((tcp, _)) = listener.accept()
            {
                let _ = tcp.set_nodelay(true);
                let _ = tcp.set_nonblocking(true);
                client = Some(Client { tcp, rx: Vec::with_capacity(4096), udp_to: None });
                self.state.connected = true;
                self.publish();
            }
            if let Some(c) = client.as_mut() {
                let alive = match c.tcp.read(&mut buf) {
                    Ok(0) => false,
                    Ok(n) => {
                        c.rx.extend_from_slice(&buf[..n]);
                        true
                    }
                    Err(e) => matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted),
                };
                if !(alive && self.handle_commands(c)) || self.faults.drop_connection.swap(false, Ordering::AcqRel) {
                    client = None;
                    self.connection_lost();
                }
            }
            let mut commands = 0u32;
            while let Ok((n, _)) = self.udp.recv_from(&mut dgram) {
                if let Ok(cmd) = RobotCommand::decode(&dgram[..n]) {
                    self.command(&cmd);
                    commands += 1;
                }
                if self.opts.pacing == Pacing::Lockstep && self.motion.is_some() && commands > 0 {
                    break;
                }
            }
            let streaming = client.as_ref().is_some_and(|c| c.udp_to.is_some());
            let lockstep = streaming && self.opts.pacing == Pacing::Lockstep && self.motion.is_some();
            let cycle = if lockstep {
                commands > 0 || last_cycle.elapsed() >= LOCKSTEP_WAIT
            } else if Instant::now() >= next_tick {
                next_tick = (next_tick + period).max(Instant::now() - period);
                true
            } else {
                false
            };
            if cycle {
                last_cycle = Instant::now();
                self.state.cycles += 1;
                if !(lockstep && commands > 0) {
                    self.state.timed_cycles += 1;
                }
                self.cycle(client.as_mut());
                if let Some(c) = client.as_mut()
                    && !self.send_state(c)
                {
                    client = None;
                    self.connection_lost();
                }
            } else if commands == 0 {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        self.world
    }

    fn connection_lost(&mut self) {
        // The robot stops a motion whose client is gone.
        if self.motion.take().is_some() {
            self.state.last_move_status = Some(move_status::ABORTED);
            self.hold_q = self.world.joint_state().q;
            if self.state.robot_mode == robot_mode::MOVE {
                self.state.robot_mode = robot_mode::IDLE;
            }
        }
        self.state.connected = false;
        self.state.moving = false;
        self.publish();
    }

    fn command(&mut self, c: &RobotCommand) {
        self.state.commands += 1;
        if self.motion.is_none() {
            return;
        }
        self.tau = [0.0; MAX_DOF];
        self.tau[..FRANKA_DOF].copy_from_slice(&c.tau_j_d);
        self.fresh_command = true;
        if c.motion_finished {
            self.end_motion(move_status::SUCCESS, None);
        }
    }

    /// Ends the running motion with `status`, reported on the command connection when given.
    fn end_motion(&mut self, status: u8, c: Option<&mut Client>) {
        let Some(id) = self.motion.take() else { return };
        self.state.last_move_status = Some(status);
        self.state.moving = false;
        if self.state.robot_mode == robot_mode::MOVE {
            self.state.robot_mode = robot_mode::IDLE;
        }
        self.hold_q = self.world.joint_state().q;
        self.pending_final = Some((id, status));
        if let Some(c) = c {
            self.flush_final(c);
        }
    }

    fn reply(&mut self, c: &mut Client, code: u32, id: u32, payload: &[u8]) -> bool {
        protocol::encode(&mut self.tx, code, id, &[payload]);
        super::ur_rtde::write_all(&mut c.tcp, &self.tx)
    }

    /// Answers every complete message; false when the client must be dropped.
    fn handle_commands(&mut self, c: &mut Client) -> bool {
        self.flush_final(c);
        loop {
            let (h, payload, used) = match protocol::parse(&c.rx) {
                Ok((h, p, used)) => (h, p.to_vec(), used),
                Err(protocol::ParseError::Incomplete { .. }) => return true,
                Err(_) => return false,
            };
            c.rx.drain(..used);
            let ok = match h.command {
                command::CONNECT => {
                    let (Some(version), Some(port)) =
                        (protocol::le::u16_at(&payload, 0), protocol::le::u16_at(&payload, 2))
                    else {
                        return false;
                    };
                    let compatible = version == self.opts.version;
                    if compatible && let Ok(peer) = c.tcp.peer_addr() {
                        c.udp_to = Some(SocketAddr::new(peer.ip(), port));
                    }
                    let mut r = [0u8; 3];
                    r[0] = u8::from(!compatible);
                    r[1..].copy_from_slice(&self.opts.version.to_le_bytes());
                    self.reply(c, h.command, h.command_id, &r)
                }
                command::SET_COLLISION_BEHAVIOR => {
                    let status = if payload.len() == 8 * 52 { 0 } else { 2 };
                    self.reply(c, h.command, h.command_id, &[status])
                }
                command::MOVE => {
                    let valid = protocol::le::u32_at(&payload, 0) == Some(protocol::CONTROLLER_EXTERNAL);
                    let status = if self.state.robot_mode != robot_mode::IDLE || self.motion.is_some() {
                        move_status::REJECTED
                    } else if !valid {
                        5
                    } else {
                        self.motion = Some(h.command_id);
                        self.state.robot_mode = robot_mode::MOVE;
                        self.state.moving = true;
                        self.tau = [0.0; MAX_DOF];
                        self.missed = 0;
                        move_status::MOTION_STARTED
                    };
                    let ok = self.reply(c, h.command, h.command_id, &[status]);
                    // The first state of the motion at once, so that the client sees it running.
                    ok && (status != move_status::MOTION_STARTED || self.send_state(c))
                }
                command::STOP_MOVE => {
                    let ok = self.reply(c, h.command, h.command_id, &[0]);
                    self.end_motion(move_status::PREEMPTED, Some(c));
                    ok
                }
                command::AUTOMATIC_ERROR_RECOVERY => {
                    if matches!(self.state.robot_mode, robot_mode::REFLEX | robot_mode::IDLE) {
                        self.state.errors = Errors::default();
                        self.reflex_reason = Errors::default();
                        self.state.robot_mode = robot_mode::IDLE;
                        self.state.recoveries += 1;
                        self.reply(c, h.command, h.command_id, &[0])
                    } else {
                        self.reply(c, h.command, h.command_id, &[2])
                    }
                }
                _ => self.reply(c, h.command, h.command_id, &[1]),
            };
            self.publish();
            if !ok {
                return false;
            }
        }
    }

    fn flush_final(&mut self, c: &mut Client) {
        if let Some((id, status)) = self.pending_final.take() {
            let _ = self.reply(c, command::MOVE, id, &[status]);
        }
    }

    fn cycle(&mut self, c: Option<&mut Client>) {
        let reflex = self.faults.reflex.swap(0, Ordering::AcqRel);
        if reflex > 0 {
            self.reflex(reflex as usize - 1, c);
        } else if self.faults.user_stop.load(Ordering::Acquire) {
            if self.state.robot_mode != robot_mode::USER_STOPPED {
                self.end_motion(move_status::EMERGENCY_ABORTED, c);
                self.state.robot_mode = robot_mode::USER_STOPPED;
            }
        } else if self.motion.is_some() {
            if self.fresh_command {
                self.missed = 0;
            } else {
                self.missed += 1;
                if self.missed >= COMMUNICATION_LIMIT {
                    self.reflex(ERROR_COMMUNICATION, c);
                }
            }
        }
        if self.state.robot_mode == robot_mode::USER_STOPPED && !self.faults.user_stop.load(Ordering::Acquire) {
            self.state.robot_mode = robot_mode::IDLE;
        }
        self.fresh_command = false;
        let s = self.world.joint_state();
        let m = self.world.robot();
        let g = m.gravity_torque(&m.kinematics(&s.q));
        let (kp, kd) = self.opts.hold_gains;
        let mut tau = [0.0; MAX_DOF];
        for j in 0..FRANKA_DOF {
            tau[j] = if self.motion.is_some() {
                self.tau[j] + g[j]
            } else {
                kp * (self.hold_q[j] - s.q[j]) - kd * s.dq[j] + g[j]
            };
        }
        self.applied = tau;
        self.world.step(&tau);
        self.message_id += 1;
        self.steps.fetch_add(1, Ordering::AcqRel);
        self.publish();
    }

    fn reflex(&mut self, flag: usize, c: Option<&mut Client>) {
        self.state.errors = self.state.errors.with(flag);
        self.reflex_reason = self.reflex_reason.with(flag);
        self.end_motion(move_status::REFLEX_ABORTED, c);
        self.state.robot_mode = robot_mode::REFLEX;
    }

    fn send_state(&mut self, c: &mut Client) -> bool {
        let Some(to) = c.udp_to else { return true };
        let delay = self.faults.delay_next_ms.swap(0, Ordering::AcqRel);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(u64::from(delay)));
        }
        for g in 0..self.faults.garbage.swap(0, Ordering::AcqRel) {
            let _ = self.udp.send_to(&[0xEE, g as u8, 0x55], to);
        }
        let js = self.world.joint_state();
        let moving = self.motion.is_some();
        let mut s = RobotState {
            message_id: self.message_id,
            motion_generator_mode: if moving { protocol::STATE_MOTION_JOINT_VELOCITY } else { 0 },
            controller_mode: if moving { protocol::STATE_CONTROLLER_EXTERNAL } else { 0 },
            errors: self.state.errors,
            reflex_reason: self.reflex_reason,
            robot_mode: self.state.robot_mode,
            control_command_success_rate: 1.0,
            ..RobotState::default()
        };
        s.q.copy_from_slice(&js.q[..FRANKA_DOF]);
        s.dq.copy_from_slice(&js.dq[..FRANKA_DOF]);
        s.tau_j.copy_from_slice(&self.applied[..FRANKA_DOF]);
        s.tau_j_d.copy_from_slice(&self.tau[..FRANKA_DOF]);
        let mut b = [0u8; STATE_LEN];
        let ahead = self.faults.forged_id_ahead.swap(0, Ordering::AcqRel);
        if ahead != 0 {
            let f = RobotState { message_id: s.message_id.saturating_add(ahead), ..s };
            f.encode(&mut b);
            let _ = self.udp.send_to(&b, to);
        }
        s.encode(&mut b);
        // Published before it goes out: a test that has the state sees the robot it came from.
        self.state.states_sent += 1;
        self.publish();
        let _ = self.udp.send_to(&b, to);
        true
    }

    fn publish(&self) {
        *self.view.lock().unwrap_or_else(PoisonError::into_inner) = self.state;
    }
}
