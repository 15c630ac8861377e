//! An emulated Universal Robots e-Series controller's RTDE server on a loopback TCP port, backed by the simulated
//! arm, together with the robot side of the torque program (`hardware_configs/ur_rtde_torque.script`).
//!
//! The server speaks RTDE protocol version 2 byte for byte: version negotiation, controller version, output and
//! input recipes (it knows the fields the driver uses, answers `NOT_FOUND` for others), start, pause, data
//! packages. The program is emulated as the script behaves: it waits (holding the arm) until the counter leaves
//! 0, then each cycle applies the torques in the registers (plus gravity compensation, as `direct_torque` does),
//! and stops (decelerates and holds, runtime state STOPPED) when the stop flag is raised, when the counter has not
//! changed for the watchdog cycles, or on a safety stop.
//!
//! **Time**: one program cycle is `1 / frequency` of simulated time (two 1 ms physics steps at 500 Hz). With
//! [`Pacing::Lockstep`] the server runs one cycle per input data package received and answers it with one output
//! package, so a closed loop through it is deterministic in simulated time and runs as fast as the host allows
//! (without input for [`LOCKSTEP_WAIT`] it cycles anyway, as the real controller does, so the watchdog fires);
//! with [`Pacing::Realtime`] it cycles on the wall clock at the recipe's frequency, like the robot.

use crate::world::{SimWorld, SnapshotReader};
use controller::drivers::ur_rtde::protocol::{
    self, Command, ControllerVersion, FieldType, OUTPUT_FIELDS, OUTPUT_LEN, ParseError, RobotState, kind, robot_mode,
    runtime_state, safety_mode,
};
use interfaces::MockClock;
use interfaces::config::{UR_DOF, UR_RTDE_MAX_HZ, UrRtdeConfig};
use interfaces::drivers::{JointVec, MAX_DOF};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use super::dynamixel::EmulatorError;

/// How long the lockstep server waits for an input package before running a cycle anyway.
pub const LOCKSTEP_WAIT: Duration = Duration::from_millis(100);

/// When the emulated controller runs a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// One cycle per input data package (deterministic, as fast as the host allows).
    Lockstep,
    /// One cycle per period of the wall clock.
    Realtime,
}

/// How the emulated robot behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct RtdeEmulatorOptions {
    /// The controller version it reports.
    pub controller_version: ControllerVersion,
    /// Cycle pacing.
    pub pacing: Pacing,
    /// Add `g(q)` to the commanded torques (as `direct_torque` does).
    pub gravity_compensated: bool,
    /// Joint position loop of the stop and the waiting program: N·m/rad and N·m·s/rad.
    pub hold_gains: (f64, f64),
    /// Torque per ampere of every joint, N·m/A (for `actual_current`).
    pub torque_constant: f64,
    /// The first register of the program's block (`REG` in the script).
    pub register_offset: u32,
    /// The program is playing when the server starts (false: runtime state STOPPED, as before pressing play).
    pub program_playing: bool,
}

impl Default for RtdeEmulatorOptions {
    /// PolyScope 5.22, lockstep, gravity compensated, registers from 24, the program playing.
    fn default() -> Self {
        Self {
            controller_version: ControllerVersion { major: 5, minor: 22, bugfix: 0, build: 0 },
            pacing: Pacing::Lockstep,
            gravity_compensated: true,
            hold_gains: (2000.0, 80.0),
            torque_constant: 10.0,
            register_offset: 24,
            program_playing: true,
        }
    }
}

/// Faults to inject, shared with the server thread.
#[derive(Debug, Default)]
pub struct RtdeFaults {
    /// Close the client's connection at the next cycle (the cable is pulled; the program keeps running).
    pub drop_connection: AtomicBool,
    /// Hold the next output package back this long, ms (consumed when applied).
    pub delay_next_ms: AtomicU32,
    /// Send this many packages of bytes that do not frame before the next output packages.
    pub garbage: AtomicU32,
    /// Nonzero: send one extra data package, stamped with this `f64` (its bits; e.g. `f64::INFINITY.to_bits()`),
    /// before the next one (consumed when applied): a forged or corrupt package in the stream.
    pub forged_timestamp: AtomicU64,
    /// Nonzero: the safety system enters this `safety_mode` (3 protective stop, 7 robot emergency stop) at the
    /// next cycle and stops the program.
    pub safety_mode: AtomicI32,
}

/// Why the emulated program stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// It was never started (runtime state STOPPED from the beginning).
    NotStarted,
    /// The driver raised the stop flag.
    StopFlag,
    /// The counter stalled for the watchdog cycles.
    Watchdog,
    /// The safety system stopped the robot.
    Safety,
}

/// The emulated program's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgramState {
    /// Playing, holding the arm, waiting for the counter to leave 0.
    #[default]
    Waiting,
    /// Applying the commanded torques.
    Running,
    /// Stopped and holding the arm.
    Stopped(StopCause),
}

/// What a test may see of the emulated robot.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RtdeView {
    /// The program's state.
    pub program: ProgramState,
    /// The last command received.
    pub command: Command,
    /// Input data packages received.
    pub commands: u64,
    /// Output data packages sent.
    pub packages_sent: u64,
    /// Connections accepted.
    pub connections: u32,
    /// The client is connected and streaming.
    pub streaming: bool,
    /// `safety_mode` reported.
    pub safety_mode: i32,
    /// Program cycles run.
    pub cycles: u64,
    /// Of those, cycles run on the clock rather than for an input package (before the stream, realtime pacing,
    /// or a lockstep client that sent nothing for [`LOCKSTEP_WAIT`]).
    pub timed_cycles: u64,
}

/// A running emulator. Dropping it stops the thread.
#[derive(Debug)]
pub struct UrRtdeEmulator {
    addr: SocketAddr,
    clock: MockClock,
    faults: Arc<RtdeFaults>,
    view: Arc<Mutex<RtdeView>>,
    steps: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<SimWorld>>,
    options: RtdeEmulatorOptions,
}

struct Client {
    stream: TcpStream,
    rx: Vec<u8>,
    output_recipe: Option<u8>,
    input_recipe: Option<u8>,
    frequency: f64,
    started: bool,
}

struct Robot {
    world: SimWorld,
    opts: RtdeEmulatorOptions,
    faults: Arc<RtdeFaults>,
    view: Arc<Mutex<RtdeView>>,
    steps: Arc<AtomicU64>,
    state: RtdeView,
    hold_q: JointVec,
    last_counter: i32,
    stall: u32,
    applied: JointVec,
    tx: Vec<u8>,
}

impl UrRtdeEmulator {
    /// Starts an emulator of `world`'s arm (6 joints) listening on a free loopback port.
    pub fn spawn(world: SimWorld, options: RtdeEmulatorOptions) -> Result<(Self, SnapshotReader), EmulatorError> {
        let mut world = world;
        if world.dof() != UR_DOF {
            return Err(EmulatorError::Config(format!("{} joints; a UR arm has 6", world.dof())));
        }
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let observer = world.subscribe();
        let clock = world.clock().clone();
        let faults = Arc::new(RtdeFaults::default());
        let steps = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let program =
            if options.program_playing { ProgramState::Waiting } else { ProgramState::Stopped(StopCause::NotStarted) };
        let state = RtdeView { program, safety_mode: safety_mode::NORMAL, ..RtdeView::default() };
        let view = Arc::new(Mutex::new(state));
        let hold_q = world.joint_state().q;
        let robot = Robot {
            world,
            opts: options.clone(),
            faults: faults.clone(),
            view: view.clone(),
            steps: steps.clone(),
            state,
            hold_q,
            last_counter: 0,
            stall: 0,
            applied: [0.0; MAX_DOF],
            tx: Vec::with_capacity(protocol::MAX_PACKAGE),
        };
        let stop_t = stop.clone();
        let thread =
            std::thread::Builder::new().name("ur-rtde-emulator".into()).spawn(move || robot.run(&listener, &stop_t))?;
        Ok((Self { addr, clock, faults, view, steps, stop, thread: Some(thread), options }, observer))
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `host:port`, as the driver's errors name it.
    pub fn device(&self) -> String {
        format!("{}:{}", self.addr.ip(), self.addr.port())
    }
    /// The world's clock (give it to the driver so that its stamps are simulated time).
    pub fn clock(&self) -> MockClock {
        self.clock.clone()
    }
    /// Fault injection.
    pub fn faults(&self) -> &RtdeFaults {
        &self.faults
    }
    /// Physics steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Acquire)
    }
    /// The robot as last seen by the server thread.
    pub fn view(&self) -> RtdeView {
        *self.view.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The driver config that talks to this emulator: 500 Hz, a late-packet deadline of `deadline_ms`, the
    /// emulator's registers and torque constant.
    pub fn driver_config(&self, deadline_ms: f64) -> UrRtdeConfig {
        UrRtdeConfig {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
            frequency_hz: UR_RTDE_MAX_HZ,
            connect_timeout_ms: 2000.0,
            deadline_ms,
            register_offset: self.options.register_offset,
            watchdog_cycles: 10,
            stop_deceleration: 4.0,
            torque_constant: vec![self.options.torque_constant; UR_DOF],
            gravity_compensated: self.options.gravity_compensated,
        }
    }

    /// Stops the thread and gives the world back (`None` if the thread panicked).
    pub fn stop(mut self) -> Option<SimWorld> {
        self.stop.store(true, Ordering::Release);
        self.thread.take()?.join().ok()
    }
}

impl Drop for UrRtdeEmulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes all of `b` to a non-blocking stream, waiting out a full send buffer for up to 100 ms.
pub(super) fn write_all(s: &mut TcpStream, mut b: &[u8]) -> bool {
    let until = Instant::now() + Duration::from_millis(100);
    while !b.is_empty() {
        match s.write(b) {
            Ok(0) => return false,
            Ok(n) => b = &b[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < until => {
                std::thread::sleep(Duration::from_micros(50));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// The type of an output field this server knows.
fn output_type(name: &str) -> Option<FieldType> {
    let i = OUTPUT_FIELDS.iter().position(|f| *f == name)?;
    Some(protocol::OUTPUT_TYPES[i])
}

impl Robot {
    fn run(mut self, listener: &TcpListener, stop: &AtomicBool) -> SimWorld {
        let mut client: Option<Client> = None;
        let mut buf = [0u8; 8192];
        let mut next_tick = Instant::now();
        let mut last_cycle = Instant::now();
        while !stop.load(Ordering::Acquire) {
            if client.is_none() {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nodelay(true);
                        // Polled: socket timeouts are only as fine as the kernel's tick (several ms).
                        let _ = s.set_nonblocking(true);
                        self.state.connections += 1;
                        client = Some(Client {
                            stream: s,
                            rx: Vec::with_capacity(8192),
                            output_recipe: None,
                            input_recipe: None,
                            frequency: UR_RTDE_MAX_HZ,
                            started: false,
                        });
                        self.publish();
                    }
                    Err(_) => std::thread::sleep(Duration::from_micros(500)),
                }
            }
            let mut inputs: Vec<Command> = Vec::new();
            let mut busy = false;
            if let Some(c) = client.as_mut() {
                let alive = match c.stream.read(&mut buf) {
                    Ok(0) => false,
                    Ok(n) => {
                        c.rx.extend_from_slice(&buf[..n]);
                        busy = true;
                        true
                    }
                    Err(e) => matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted),
                };
                let handled = alive && self.handle_requests(c, &mut inputs);
                if !handled {
                    client = None;
                    self.state.streaming = false;
                    self.publish();
                }
            }
            let streaming = client.as_ref().is_some_and(|c| c.started);
            let lockstep = streaming && self.opts.pacing == Pacing::Lockstep;
            let freq = client.as_ref().map_or(UR_RTDE_MAX_HZ, |c| c.frequency);
            let period = Duration::from_secs_f64(1.0 / freq);
            let mut cycles: Vec<Option<Command>> = Vec::new();
            if lockstep {
                cycles.extend(inputs.into_iter().map(Some));
                if cycles.is_empty() && last_cycle.elapsed() >= LOCKSTEP_WAIT {
                    cycles.push(None);
                }
            } else {
                if let Some(last) = inputs.pop() {
                    self.receive(last);
                }
                if Instant::now() >= next_tick {
                    next_tick = (next_tick + period).max(Instant::now() - period);
                    cycles.push(None);
                }
            }
            if cycles.is_empty() && !busy && client.is_some() {
                std::thread::sleep(Duration::from_micros(50));
            }
            for cmd in cycles {
                match cmd {
                    Some(cmd) => self.receive(cmd),
                    None => self.state.timed_cycles += 1,
                }
                last_cycle = Instant::now();
                self.cycle(freq);
                if let Some(c) = client.as_mut()
                    && c.started
                    && !self.send_output(c)
                {
                    client = None;
                    self.state.streaming = false;
                    self.publish();
                    break;
                }
            }
            if client.is_some() && self.faults.drop_connection.swap(false, Ordering::AcqRel) {
                client = None;
                self.state.streaming = false;
                self.publish();
            }
        }
        self.world
    }

    fn receive(&mut self, cmd: Command) {
        self.state.command = cmd;
        self.state.commands += 1;
    }

    /// Answers every complete request in the client's buffer; collects input data packages. False when the
    /// client must be dropped (a package that does not frame).
    fn handle_requests(&mut self, c: &mut Client, inputs: &mut Vec<Command>) -> bool {
        loop {
            let (k, payload, used) = match protocol::parse(&c.rx) {
                Ok((p, used)) => (p.kind, p.payload.to_vec(), used),
                Err(ParseError::Incomplete { .. }) => return true,
                Err(_) => return false,
            };
            c.rx.drain(..used);
            let reply: Option<Vec<u8>> = match k {
                kind::REQUEST_PROTOCOL_VERSION => {
                    let ok = payload.as_slice() == protocol::PROTOCOL_VERSION.to_be_bytes();
                    Some(vec![u8::from(ok)])
                }
                kind::GET_URCONTROL_VERSION => Some(self.opts.controller_version.to_reply().to_vec()),
                kind::SETUP_OUTPUTS => {
                    let Some((freq, names)) = protocol::setup_outputs_request(&payload) else { return false };
                    let types: Vec<&str> =
                        names.split(',').map(|n| output_type(n).map_or("NOT_FOUND", |t| t.name())).collect();
                    let ok = types.iter().all(|t| *t != "NOT_FOUND") && freq > 0.0 && freq <= UR_RTDE_MAX_HZ;
                    if ok {
                        c.output_recipe = Some(1);
                        c.frequency = freq;
                    }
                    Some([&[1u8][..], types.join(",").as_bytes()].concat())
                }
                kind::SETUP_INPUTS => {
                    let want = protocol::input_fields(self.opts.register_offset);
                    let ok = std::str::from_utf8(&payload).is_ok_and(|n| n == want);
                    let types = if ok {
                        c.input_recipe = Some(2);
                        protocol::input_types().iter().map(|t| t.name()).collect::<Vec<_>>().join(",")
                    } else {
                        "NOT_FOUND".into()
                    };
                    Some([&[2u8][..], types.as_bytes()].concat())
                }
                kind::START => {
                    let ok = c.output_recipe.is_some();
                    c.started = ok;
                    self.state.streaming = ok;
                    Some(vec![u8::from(ok)])
                }
                kind::PAUSE => {
                    c.started = false;
                    self.state.streaming = false;
                    Some(vec![1])
                }
                kind::DATA_PACKAGE => {
                    let Some(recipe) = c.input_recipe else { return false };
                    match Command::decode(&payload, recipe) {
                        Ok(cmd) if c.started => inputs.push(cmd),
                        Ok(cmd) => self.receive(cmd),
                        Err(_) => return false,
                    }
                    None
                }
                _ => None,
            };
            if let Some(r) = reply {
                if protocol::encode(&mut self.tx, k, &[&r]).is_err() || !write_all(&mut c.stream, &self.tx) {
                    return false;
                }
                if k == kind::START && c.started && !self.send_output(c) {
                    return false;
                }
            }
        }
    }

    fn send_output(&mut self, c: &mut Client) -> bool {
        let delay = self.faults.delay_next_ms.swap(0, Ordering::AcqRel);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(u64::from(delay)));
        }
        let garbage = self.faults.garbage.swap(0, Ordering::AcqRel);
        for g in 0..garbage {
            // A size field below the header: no RTDE package frames like this.
            let junk = [0x00, 0x01, 0xEE, g as u8, 0x55, 0xAA];
            if !write_all(&mut c.stream, &junk) {
                return false;
            }
        }
        let Some(recipe) = c.output_recipe else { return true };
        let s = self.world.joint_state();
        let mut out = RobotState {
            timestamp: self.world.now().as_secs_f64(),
            robot_mode: robot_mode::RUNNING,
            safety_mode: self.state.safety_mode,
            runtime_state: match self.state.program {
                ProgramState::Stopped(_) => runtime_state::STOPPED,
                _ => runtime_state::PLAYING,
            },
            ..RobotState::default()
        };
        for j in 0..UR_DOF {
            out.q[j] = s.q[j];
            out.qd[j] = s.dq[j];
            out.current[j] = self.applied[j] / self.opts.torque_constant;
        }
        let mut payload = [0u8; 1 + OUTPUT_LEN];
        let forged = self.faults.forged_timestamp.swap(0, Ordering::AcqRel);
        if forged != 0 {
            let f = RobotState { timestamp: f64::from_bits(forged), ..out };
            f.encode(recipe, &mut payload);
            if protocol::encode(&mut self.tx, kind::DATA_PACKAGE, &[&payload]).is_err()
                || !write_all(&mut c.stream, &self.tx)
            {
                return false;
            }
        }
        out.encode(recipe, &mut payload);
        if protocol::encode(&mut self.tx, kind::DATA_PACKAGE, &[&payload]).is_err() {
            return false;
        }
        // Published before it goes out: a test that has the package sees the state it came from.
        self.state.packages_sent += 1;
        self.publish();
        write_all(&mut c.stream, &self.tx)
    }

    fn stop_program(&mut self, cause: StopCause) {
        self.state.program = ProgramState::Stopped(cause);
        self.hold_q = self.world.joint_state().q;
    }

    /// One cycle of the program: decide what it applies, then advance the physics by one period.
    fn cycle(&mut self, freq: f64) {
        self.state.cycles += 1;
        let injected = self.faults.safety_mode.load(Ordering::Acquire);
        if injected != 0 && injected != self.state.safety_mode {
            self.state.safety_mode = injected;
            if !matches!(self.state.program, ProgramState::Stopped(_)) {
                self.stop_program(StopCause::Safety);
            }
        }
        let cmd = self.state.command;
        match self.state.program {
            ProgramState::Waiting if cmd.counter != 0 && cmd.stop == 0 => {
                self.state.program = ProgramState::Running;
                self.last_counter = cmd.counter;
                self.stall = 0;
            }
            ProgramState::Running => {
                if cmd.stop != 0 {
                    self.stop_program(StopCause::StopFlag);
                } else if cmd.counter == self.last_counter {
                    self.stall += 1;
                    if self.stall >= u32::try_from(cmd.watchdog_cycles.max(1)).unwrap_or(1) {
                        self.stop_program(StopCause::Watchdog);
                    }
                } else {
                    self.last_counter = cmd.counter;
                    self.stall = 0;
                }
            }
            _ => {}
        }
        let dt = self.world.timestep_ns() as f64 * 1e-9;
        let n = ((1.0 / freq) / dt).round().max(1.0) as usize;
        for _ in 0..n {
            let s = self.world.joint_state();
            let g = if self.opts.gravity_compensated {
                let m = self.world.robot();
                m.gravity_torque(&m.kinematics(&s.q))
            } else {
                [0.0; MAX_DOF]
            };
            let mut tau = [0.0; MAX_DOF];
            let (kp, kd) = self.opts.hold_gains;
            for j in 0..UR_DOF {
                tau[j] = match self.state.program {
                    ProgramState::Running => cmd.tau[j] + g[j],
                    _ => kp * (self.hold_q[j] - s.q[j]) - kd * s.dq[j] + g[j],
                };
            }
            self.applied = tau;
            self.world.step(&tau);
            self.steps.fetch_add(1, Ordering::AcqRel);
        }
        self.publish();
    }

    fn publish(&self) {
        *self.view.lock().unwrap_or_else(PoisonError::into_inner) = self.state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_types_cover_the_drivers_recipe() {
        for f in OUTPUT_FIELDS {
            assert!(output_type(f).is_some(), "{f}");
        }
        assert_eq!(output_type("actual_TCP_pose"), None);
        assert_eq!(protocol::INPUT_LEN, 68);
    }
}
