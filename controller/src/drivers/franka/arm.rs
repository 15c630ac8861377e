//! [`FrankaArm`]: a Franka arm in torque control through the FCI (protocol version 5), behind [`ArmDriver`].

use super::protocol::{
    self, COMMAND_LEN, FCI_VERSION, Header, ParseError, RobotCommand, RobotState, STATE_LEN, command, move_status,
    robot_mode,
};
use interfaces::Clock;
use interfaces::config::{FRANKA_DOF, FrankaConfig};
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Allowed path and goal deviations of the torque motion (translation m, rotation rad, elbow rad): wide, as the
/// client's torques, not a motion generator, move the arm.
pub const DEVIATION: [f64; 3] = [10.0, 3.12, 2.0 * std::f64::consts::PI];

/// Counters of the real-time link, shared with a non-real-time reader.
#[derive(Debug, Default)]
pub struct FciHealth {
    /// Robot states received.
    pub states: AtomicU64,
    /// States the robot sent that never arrived or were superseded before being read (message-ID gaps).
    pub lost: AtomicU64,
    /// Datagrams that were not robot states.
    pub corrupt: AtomicU64,
    /// Commands sent.
    pub commands: AtomicU64,
    /// Datagrams from another address than the robot's (refused unread).
    pub foreign: AtomicU64,
    /// Robot states whose message ID jumped further ahead than [`message_id_window`] allows (refused).
    pub refused: AtomicU64,
}

impl FciHealth {
    /// `(states, lost, corrupt, commands)` now.
    pub fn snapshot(&self) -> [u64; 4] {
        [&self.states, &self.lost, &self.corrupt, &self.commands].map(|c| c.load(Ordering::Relaxed))
    }
}

const TCP_RX: usize = 4 * protocol::MAX_MESSAGE;

/// The least a robot state's message ID may run ahead of the last accepted one, IDs (100 ms of states).
pub const MESSAGE_ID_SLACK: u64 = 100;

/// Datagrams one read of the state takes at most before it uses the newest state it has (a flood of datagrams,
/// from the robot's address or not, cannot keep the driver reading).
pub const MAX_DATAGRAMS_PER_READ: u32 = 64;

/// A read that took at most this many datagrams saw a short queue: its newest state is current (received within a
/// few ms), and it becomes the reference of the message-ID window.
const FRESH_QUEUE: u32 = 8;

/// How far ahead of the reference state (the newest state of a read that found a short queue: current when it
/// was taken) a new state's message ID may be, `elapsed` after the reference was taken. The robot counts one ID
/// per 1 kHz cycle, so
///
/// ```text
/// window = max(MESSAGE_ID_SLACK, deadline_ms) + 2 · elapsed_ms
/// ```
///
/// (twice the robot's pace: host and robot clocks never differ by that much). A state further ahead is refused
/// and counted, not adopted: one forged or corrupt state with a huge ID cannot make every real state after it
/// look stale and stall the driver; a forged ID inside the window holds the real states back for at most the
/// window.
pub fn message_id_window(deadline: Duration, elapsed: Duration) -> u64 {
    let slack = MESSAGE_ID_SLACK.max(deadline.as_millis().min(u128::from(u32::MAX)) as u64);
    let elapsed_ms = elapsed.as_millis().min(u128::from(u32::MAX)) as u64;
    slack.saturating_add(elapsed_ms.saturating_mul(2))
}

/// A Franka arm through the FCI.
///
/// - Opening: Connect (protocol version check), the first robot state over UDP, SetCollisionBehavior, then a Move
///   in external-controller mode; the arm is then torque controlled until a reflex, a stop or a fault.
/// - [`read_state`](ArmDriver::read_state): the newest robot state (highest message ID; older and queued ones
///   are skipped and counted as lost), waiting at most until `deadline_ms` after the last one (then a
///   late-packet [`DriverError::Timeout`]). States are taken only from the robot: datagrams from another IP
///   address than the command connection's peer, or (once the first state came) from another port, are refused
///   unread and counted ([`FciHealth::foreign`]); a state whose message ID jumps further ahead of a current one
///   than [`message_id_window`] is refused and counted ([`FciHealth::refused`]). A reflex (its error flags
///   named), the user stop, or a motion that ended otherwise are [`DriverError::HardwareFault`]s; a closed
///   command connection is [`DriverError::Disconnected`]; a datagram from the robot that is not a robot state is
///   [`DriverError::Corrupt`].
/// - [`write_torque`](ArmDriver::write_torque): one robot command answering the newest state's message ID.
/// - [`safe_stop`](ArmDriver::safe_stop): ends the motion (a command with the motion-finished flag and a
///   StopMove); the robot then holds its position itself. Idempotent.
/// - [`recover`](FrankaArm::recover): automatic error recovery after a reflex, then a new motion.
///
/// Real-time: the success path neither allocates nor locks; errors allocate their message.
pub struct FrankaArm {
    tcp: TcpStream,
    udp: UdpSocket,
    /// The robot's IP address (the command connection's peer): states come from there only.
    robot_ip: IpAddr,
    /// The robot's UDP address, pinned by its first state.
    robot_udp: Option<SocketAddr>,
    cfg: FrankaConfig,
    device: String,
    info: ArmInfo,
    clock: Arc<dyn Clock>,
    tx: Vec<u8>,
    rx: Box<[u8]>,
    rx_len: usize,
    dgram: Box<[u8]>,
    next_id: u32,
    motion: Option<u32>,
    move_result: Option<u8>,
    latest: Option<RobotState>,
    /// The message-ID window's reference: an accepted ID known to be current when it was taken, and when.
    id_reference: Option<(u64, Instant)>,
    fresh: bool,
    last_arrival: Instant,
    deadline: Duration,
    timeout: Duration,
    failed: Option<DriverError>,
    health: Arc<FciHealth>,
    robot_version: u16,
}

impl std::fmt::Debug for FrankaArm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrankaArm")
            .field("device", &self.device)
            .field("motion", &self.motion)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl FrankaArm {
    /// Connects to the robot and starts a torque-controlled motion (see the type's documentation). Not
    /// real-time.
    pub fn open(cfg: &FrankaConfig, dof: usize, clock: Arc<dyn Clock>) -> Result<Self, DriverError> {
        let device = format!("{}:{}", cfg.host, cfg.command_port);
        if dof != FRANKA_DOF {
            return Err(DriverError::InvalidCommand { device, detail: format!("{dof} joints; a Franka arm has 7") });
        }
        let timeout = Duration::from_secs_f64(cfg.connect_timeout_ms * 1e-3);
        let disconnected = |detail: String| DriverError::Disconnected { device: device.clone(), detail };
        let addrs: Vec<SocketAddr> = (cfg.host.as_str(), cfg.command_port)
            .to_socket_addrs()
            .map_err(|e| disconnected(format!("cannot resolve the host: {e}")))?
            .collect();
        let mut last = None;
        let mut tcp = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = tcp.ok_or_else(|| {
            disconnected(format!("cannot connect: {}", last.map_or("no address".into(), |e| e.to_string())))
        })?;
        let local_ip = tcp.local_addr().map_err(|e| disconnected(format!("socket: {e}")))?.ip();
        let robot_ip = tcp.peer_addr().map_err(|e| disconnected(format!("socket: {e}")))?.ip();
        let udp = UdpSocket::bind((local_ip, cfg.udp_port))
            .map_err(|e| disconnected(format!("cannot bind UDP port {}: {e}", cfg.udp_port)))?;
        let setup = || -> std::io::Result<()> {
            tcp.set_nodelay(true)?;
            tcp.set_nonblocking(true)?;
            udp.set_read_timeout(Some(timeout))
        };
        setup().map_err(|e| disconnected(format!("socket options: {e}")))?;
        let mut arm = Self {
            tcp,
            udp,
            robot_ip,
            robot_udp: None,
            cfg: cfg.clone(),
            info: ArmInfo { name: format!("franka:{}", cfg.host), dof, gravity_compensated: true },
            device,
            clock,
            tx: Vec::with_capacity(protocol::MAX_MESSAGE),
            rx: vec![0u8; TCP_RX].into_boxed_slice(),
            rx_len: 0,
            dgram: vec![0u8; 2 * STATE_LEN].into_boxed_slice(),
            next_id: 1,
            motion: None,
            move_result: None,
            latest: None,
            id_reference: None,
            fresh: false,
            last_arrival: Instant::now(),
            deadline: Duration::from_secs_f64(cfg.deadline_ms * 1e-3),
            timeout,
            failed: None,
            health: Arc::new(FciHealth::default()),
            robot_version: 0,
        };
        arm.handshake()?;
        Ok(arm)
    }

    fn handshake(&mut self) -> Result<(), DriverError> {
        let udp_port = self.udp.local_addr().map_err(|e| self.io_error(e, "UDP socket"))?.port();
        let id = self.send_command(command::CONNECT, &[&protocol::connect_request(udp_port)])?;
        let reply = self.await_reply(command::CONNECT, id)?;
        let (status, version) = (reply.first().copied(), protocol::le::u16_at(&reply, 1));
        self.robot_version = version.unwrap_or(0);
        match (status, version) {
            (Some(0), Some(_)) => {}
            (Some(1), Some(v)) => {
                return Err(DriverError::InvalidCommand {
                    device: self.device.clone(),
                    detail: format!(
                        "the robot speaks FCI protocol version {v}, this driver {FCI_VERSION}: use a robot system \
                         version that matches"
                    ),
                });
            }
            _ => return Err(self.protocol_error(format!("Connect reply of {} bytes", reply.len()))),
        }
        self.wait_for_state(self.timeout)?;
        let s = self.latest.unwrap_or_default();
        if s.robot_mode == robot_mode::REFLEX || !s.errors.is_empty() {
            if self.cfg.recover_on_open {
                tracing::warn!(device = %self.device, "clearing a reflex left from before: {}", s.errors);
                self.error_recovery()?;
            } else {
                return Err(self.reflex_error(&s));
            }
        }
        if s.robot_mode == robot_mode::USER_STOPPED {
            return Err(self.user_stop_error());
        }
        let arr7 = |v: &[f64]| -> [f64; 7] { std::array::from_fn(|i| v.get(i).copied().unwrap_or(20.0)) };
        let arr6 = |v: &[f64]| -> [f64; 6] { std::array::from_fn(|i| v.get(i).copied().unwrap_or(20.0)) };
        let req = protocol::collision_request(
            &arr7(&self.cfg.contact_torque),
            &arr7(&self.cfg.collision_torque),
            &arr6(&self.cfg.contact_force),
            &arr6(&self.cfg.collision_force),
        );
        let id = self.send_command(command::SET_COLLISION_BEHAVIOR, &[&req])?;
        let reply = self.await_reply(command::SET_COLLISION_BEHAVIOR, id)?;
        if reply.first() != Some(&0) {
            return Err(self.command_refused("SetCollisionBehavior", reply.first().copied()));
        }
        self.start_motion()?;
        tracing::info!(device = %self.device, version = self.robot_version, "FCI torque control started");
        Ok(())
    }

    /// Starts the torque-controlled motion and waits until the robot reports it running. Not real-time.
    fn start_motion(&mut self) -> Result<(), DriverError> {
        let req = protocol::move_request(DEVIATION, DEVIATION);
        let id = self.send_command(command::MOVE, &[&req])?;
        let reply = self.await_reply(command::MOVE, id)?;
        match reply.first().copied() {
            Some(move_status::MOTION_STARTED) => {}
            other => return Err(self.command_refused("Move", other)),
        }
        self.motion = Some(id);
        self.move_result = None;
        let until = Instant::now() + self.timeout;
        loop {
            self.wait_for_state(until.saturating_duration_since(Instant::now()))?;
            let s = self.latest.unwrap_or_default();
            if s.controller_mode == protocol::STATE_CONTROLLER_EXTERNAL
                && s.motion_generator_mode == protocol::STATE_MOTION_JOINT_VELOCITY
            {
                self.fresh = true;
                return Ok(());
            }
            // States queued from before the Move may still show an old reflex; the motion's own end is its
            // final status on the command connection.
            self.poll_tcp(None)?;
            if let Some(status) = self.move_result {
                self.motion = None;
                return Err(if status == move_status::REFLEX_ABORTED {
                    self.reflex_error(&s)
                } else {
                    self.command_refused("Move", Some(status))
                });
            }
            if Instant::now() >= until {
                return Err(DriverError::Timeout {
                    device: self.device.clone(),
                    what: "the robot to start the torque motion".into(),
                    timeout_ms: self.timeout.as_millis() as u64,
                });
            }
        }
    }

    fn wait_for_state(&mut self, wait: Duration) -> Result<(), DriverError> {
        self.last_arrival = Instant::now();
        let saved = self.deadline;
        self.deadline = wait.max(Duration::from_millis(1));
        let r = self.receive();
        self.deadline = saved;
        r
    }

    /// Clears a reflex (automatic error recovery) and starts a new torque motion. Not real-time.
    pub fn recover(&mut self) -> Result<(), DriverError> {
        if let Some(e @ DriverError::Disconnected { .. }) = &self.failed {
            return Err(e.clone());
        }
        self.failed = None;
        if self.motion.is_some() {
            self.stop_motion()?;
        }
        self.error_recovery()?;
        self.start_motion()
    }

    fn error_recovery(&mut self) -> Result<(), DriverError> {
        let id = self.send_command(command::AUTOMATIC_ERROR_RECOVERY, &[])?;
        let reply = self.await_reply(command::AUTOMATIC_ERROR_RECOVERY, id)?;
        match reply.first().copied() {
            Some(0) => Ok(()),
            Some(2) => Err(DriverError::HardwareFault {
                device: self.device.clone(),
                unit: "recovery".into(),
                detail: "manual error recovery required (release and re-engage the user stop, or unlock the \
                         joints in Desk)"
                    .into(),
            }),
            other => Err(self.command_refused("AutomaticErrorRecovery", other)),
        }
    }

    /// The robot's FCI protocol version (from Connect).
    pub fn robot_version(&self) -> u16 {
        self.robot_version
    }
    /// The link's counters.
    pub fn health(&self) -> Arc<FciHealth> {
        self.health.clone()
    }
    /// The newest robot state received.
    pub fn latest(&self) -> Option<RobotState> {
        self.latest
    }
    /// True while the torque motion runs.
    pub fn motion_running(&self) -> bool {
        self.motion.is_some()
    }
    /// `host:command_port`.
    pub fn device(&self) -> &str {
        &self.device
    }
    /// The local address robot states are received on.
    pub fn state_address(&self) -> Option<SocketAddr> {
        self.udp.local_addr().ok()
    }

    fn protocol_error(&self, detail: String) -> DriverError {
        DriverError::Corrupt { device: self.device.clone(), detail }
    }

    fn command_refused(&self, what: &str, status: Option<u8>) -> DriverError {
        let detail = match (what, status) {
            ("Move", Some(s)) => format!("Move refused: {}", move_status::name(s)),
            (_, Some(s)) => format!("{what} refused (status {s})"),
            (_, None) => format!("{what}: empty reply"),
        };
        DriverError::HardwareFault { device: self.device.clone(), unit: "command".into(), detail }
    }

    fn reflex_error(&self, s: &RobotState) -> DriverError {
        let flags = if s.errors.is_empty() { s.reflex_reason } else { s.errors };
        let mut detail = format!("{flags}");
        if let Some(r) = self.move_result {
            detail.push_str(&format!(" (motion {})", move_status::name(r)));
        }
        detail.push_str("; clear it with the recovery command");
        DriverError::HardwareFault { device: self.device.clone(), unit: "reflex".into(), detail }
    }

    fn user_stop_error(&self) -> DriverError {
        DriverError::HardwareFault {
            device: self.device.clone(),
            unit: "user stop".into(),
            detail: "the external activation device is pressed; release it, then recover".into(),
        }
    }

    fn io_error(&mut self, e: std::io::Error, what: &str) -> DriverError {
        let e = DriverError::Disconnected { device: self.device.clone(), detail: format!("{what}: {e}") };
        self.failed = Some(e.clone());
        e
    }

    fn send_command(&mut self, code: u32, parts: &[&[u8]]) -> Result<u32, DriverError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        protocol::encode(&mut self.tx, code, id, parts);
        let mut sent = 0;
        let until = Instant::now() + self.timeout;
        while sent < self.tx.len() {
            match self.tcp.write(&self.tx[sent..]) {
                Ok(0) => return Err(self.io_error(ErrorKind::WriteZero.into(), "command connection")),
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < until => {
                    std::thread::sleep(Duration::from_micros(100));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e, "command connection")),
            }
        }
        Ok(id)
    }

    /// Reads what the command connection has, without waiting; handles complete messages. `want`: a reply to
    /// return when it arrives.
    fn poll_tcp(&mut self, want: Option<(u32, u32)>) -> Result<Option<Vec<u8>>, DriverError> {
        loop {
            if self.rx_len < self.rx.len() {
                match self.tcp.read(&mut self.rx[self.rx_len..]) {
                    Ok(0) => {
                        let e = DriverError::Disconnected {
                            device: self.device.clone(),
                            detail: "the robot closed the command connection".into(),
                        };
                        self.failed = Some(e.clone());
                        return Err(e);
                    }
                    Ok(n) => self.rx_len += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(self.io_error(e, "command connection")),
                }
            }
            let mut found = None;
            loop {
                let (h, payload, used): (Header, Vec<u8>, usize) = match protocol::parse(&self.rx[..self.rx_len]) {
                    Ok((h, p, used)) => (h, p.to_vec(), used),
                    Err(ParseError::Incomplete { .. }) => break,
                    Err(e) => {
                        let e = self.protocol_error(format!("command connection: {e}"));
                        self.failed = Some(e.clone());
                        return Err(e);
                    }
                };
                self.rx.copy_within(used..self.rx_len, 0);
                self.rx_len -= used;
                if want == Some((h.command, h.command_id)) {
                    found = Some(payload);
                } else if h.command == command::MOVE && Some(h.command_id) == self.motion {
                    // The running motion's final status.
                    self.move_result = payload.first().copied();
                } else {
                    tracing::debug!(device = %self.device, command = h.command, id = h.command_id, "stale reply");
                }
            }
            return Ok(found);
        }
    }

    fn await_reply(&mut self, code: u32, id: u32) -> Result<Vec<u8>, DriverError> {
        let until = Instant::now() + self.timeout;
        loop {
            if let Some(p) = self.poll_tcp(Some((code, id)))? {
                return Ok(p);
            }
            if Instant::now() >= until {
                return Err(DriverError::Timeout {
                    device: self.device.clone(),
                    what: format!("reply to command {code}"),
                    timeout_ms: self.timeout.as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Receives robot states until one newer than the last has come (draining the queue to the newest, at most
    /// [`MAX_DATAGRAMS_PER_READ`] datagrams), or the deadline after the last arrival passes.
    fn receive(&mut self) -> Result<(), DriverError> {
        let mut got = false;
        let mut datagrams = 0u32;
        // First take what is queued without waiting: after a stall of the caller, the newest state is there.
        let mut first = true;
        loop {
            if got && datagrams >= MAX_DATAGRAMS_PER_READ {
                return Ok(());
            }
            let wait = if got || std::mem::take(&mut first) {
                None
            } else {
                let left = (self.last_arrival + self.deadline).saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(self.late());
                }
                Some(left)
            };
            let r = match wait {
                None => {
                    if let Err(e) = self.udp.set_nonblocking(true) {
                        return Err(self.io_error(e, "UDP socket"));
                    }
                    let r = self.udp.recv_from(&mut self.dgram);
                    if let Err(e) = self.udp.set_nonblocking(false) {
                        return Err(self.io_error(e, "UDP socket"));
                    }
                    r
                }
                Some(w) => {
                    if let Err(e) = self.udp.set_read_timeout(Some(w.max(Duration::from_micros(50)))) {
                        return Err(self.io_error(e, "UDP socket"));
                    }
                    self.udp.recv_from(&mut self.dgram)
                }
            };
            match r {
                Ok((n, from)) => {
                    datagrams = datagrams.saturating_add(1);
                    if from.ip() != self.robot_ip || self.robot_udp.is_some_and(|a| a != from) {
                        self.health.foreign.fetch_add(1, Ordering::Relaxed);
                        continue; // not the robot
                    }
                    let s = match RobotState::decode(&self.dgram[..n]) {
                        Ok(s) => s,
                        Err(e) => {
                            self.health.corrupt.fetch_add(1, Ordering::Relaxed);
                            return Err(self.protocol_error(format!("robot state datagram: {e}")));
                        }
                    };
                    self.robot_udp = Some(from);
                    self.health.states.fetch_add(1, Ordering::Relaxed);
                    let last = self.latest.map_or(0, |l| l.message_id);
                    if s.message_id <= last && self.latest.is_some() {
                        continue; // stale or duplicated
                    }
                    if let Some((id, at)) = self.id_reference
                        && s.message_id > id.saturating_add(message_id_window(self.deadline, at.elapsed()))
                    {
                        self.health.refused.fetch_add(1, Ordering::Relaxed);
                        continue; // implausibly far ahead: not adopted
                    }
                    if self.latest.is_some() {
                        self.health.lost.fetch_add(s.message_id - last - 1, Ordering::Relaxed);
                    } else {
                        self.id_reference = Some((s.message_id, Instant::now()));
                    }
                    self.latest = Some(s);
                    self.last_arrival = Instant::now();
                    self.fresh = true;
                    got = true;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if got {
                        if datagrams <= FRESH_QUEUE
                            && let Some(s) = self.latest
                        {
                            self.id_reference = Some((s.message_id, Instant::now()));
                        }
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e, "UDP receive")),
            }
        }
    }

    fn late(&self) -> DriverError {
        DriverError::Timeout {
            device: self.device.clone(),
            what: format!("robot state (late: none for {:.1} ms)", self.last_arrival.elapsed().as_secs_f64() * 1e3),
            timeout_ms: self.deadline.as_millis() as u64,
        }
    }

    fn send_udp(&mut self, c: &RobotCommand) -> Result<(), DriverError> {
        let Some(to) = self.robot_udp else {
            return Err(DriverError::InvalidCommand {
                device: self.device.clone(),
                detail: "no robot state yet".into(),
            });
        };
        let mut b = [0u8; COMMAND_LEN];
        c.encode(&mut b);
        match self.udp.send_to(&b, to) {
            Ok(_) => {
                self.health.commands.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => Err(self.io_error(e, "UDP send")),
        }
    }

    fn stop_motion(&mut self) -> Result<(), DriverError> {
        if self.motion.is_none() {
            return Ok(());
        }
        let id = self.latest.map_or(0, |s| s.message_id);
        let finished = RobotCommand { message_id: id, motion_finished: true, ..RobotCommand::default() };
        let udp = self.send_udp(&finished);
        let tcp = self.send_command(command::STOP_MOVE, &[]);
        self.motion = None;
        udp.and(tcp.map(|_| ()))
    }

    fn check(&self, s: &RobotState) -> Result<(), DriverError> {
        if s.robot_mode == robot_mode::REFLEX || !s.errors.is_empty() {
            return Err(self.reflex_error(s));
        }
        if s.robot_mode == robot_mode::USER_STOPPED {
            return Err(self.user_stop_error());
        }
        if self.motion.is_some() && s.controller_mode != protocol::STATE_CONTROLLER_EXTERNAL {
            let how = self.move_result.map_or("ended", move_status::name);
            return Err(DriverError::HardwareFault {
                device: self.device.clone(),
                unit: "motion".into(),
                detail: format!("the torque motion stopped ({how}; robot mode {})", robot_mode::name(s.robot_mode)),
            });
        }
        Ok(())
    }
}

impl ArmDriver for FrankaArm {
    fn info(&self) -> &ArmInfo {
        &self.info
    }

    fn read_state(&mut self) -> Result<JointState, DriverError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.poll_tcp(None)?;
        if !self.fresh {
            self.receive()?;
        }
        self.fresh = false;
        let Some(s) = self.latest else { return Err(self.late()) };
        if let Err(e) = self.check(&s) {
            if matches!(&e, DriverError::HardwareFault { .. }) && s.robot_mode != robot_mode::MOVE {
                self.motion = None; // the robot ended it
            }
            return Err(e);
        }
        let mut out = JointState { stamp: self.clock.now(), ..JointState::default() };
        out.q[..FRANKA_DOF].copy_from_slice(&s.q);
        out.dq[..FRANKA_DOF].copy_from_slice(&s.dq);
        out.tau_measured[..FRANKA_DOF].copy_from_slice(&s.tau_j);
        Ok(out)
    }

    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        if let Some(e @ DriverError::Disconnected { .. }) = &self.failed {
            return Err(e.clone());
        }
        if tau[..FRANKA_DOF].iter().any(|t| !t.is_finite()) {
            return Err(DriverError::InvalidCommand { device: self.device.clone(), detail: format!("torque {tau:?}") });
        }
        if self.motion.is_none() {
            return Err(DriverError::InvalidCommand {
                device: self.device.clone(),
                detail: "no torque motion running (stopped); recover first".into(),
            });
        }
        let mut c = RobotCommand { message_id: self.latest.map_or(0, |s| s.message_id), ..RobotCommand::default() };
        c.tau_j_d.copy_from_slice(&tau[..FRANKA_DOF]);
        self.send_udp(&c)
    }

    fn safe_stop(&mut self) -> Result<(), DriverError> {
        if let Some(e @ DriverError::Disconnected { .. }) = &self.failed {
            return Err(e.clone());
        }
        self.stop_motion()
    }
    fn recover(&mut self) -> Result<(), DriverError> {
        FrankaArm::recover(self)
    }
}

impl Drop for FrankaArm {
    fn drop(&mut self) {
        let _ = self.stop_motion();
    }
}
