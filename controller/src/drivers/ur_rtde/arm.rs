//! [`UrRtdeArm`]: a Universal Robots e-Series arm in direct torque control over RTDE, behind [`ArmDriver`].

use super::protocol::{
    self, Command, ControllerVersion, INPUT_LEN, OUTPUT_FIELDS, OUTPUT_LEN, OUTPUT_TYPES, PROTOCOL_VERSION, ParseError,
    Recipe, RobotState, kind, robot_mode, runtime_state, safety_mode,
};
use interfaces::Clock;
use interfaces::config::{UR_DOF, UrRtdeConfig};
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec, MAX_DOF};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The oldest controller software with `direct_torque`.
pub const MIN_VERSION: (u32, u32) = (5, 22);

/// Counters of the RTDE stream, shared with a non-real-time reader.
#[derive(Debug, Default)]
pub struct RtdeHealth {
    /// Data packages received.
    pub packages: AtomicU64,
    /// Packages skipped because a newer one had already arrived when the state was read.
    pub skipped: AtomicU64,
    /// Packages ignored because their timestamp was not newer than the last one (stale).
    pub stale: AtomicU64,
    /// Packages refused because their timestamp was not a number in `0 ..= MAX_TIMESTAMP_S` or jumped further
    /// ahead than [`timestamp_window_s`] allows.
    pub refused: AtomicU64,
    /// Text messages from the robot (logged).
    pub text_messages: AtomicU64,
    /// Commands sent.
    pub commands: AtomicU64,
}

impl RtdeHealth {
    /// `(packages, skipped, stale, text_messages, commands)` now.
    pub fn snapshot(&self) -> [u64; 5] {
        [&self.packages, &self.skipped, &self.stale, &self.text_messages, &self.commands]
            .map(|c| c.load(Ordering::Relaxed))
    }
}

/// What is known about the link once opened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtdeSession {
    /// The robot's controller software.
    pub controller: ControllerVersion,
    /// Output recipe ID.
    pub output_recipe: u8,
    /// Input recipe ID.
    pub input_recipe: u8,
    /// The stream's rate, Hz.
    pub frequency_hz: f64,
}

/// Receive buffer size, bytes: several packages of the largest kind.
const RX_LEN: usize = 4 * protocol::MAX_PACKAGE;

/// The largest robot timestamp accepted, s (about 31 years of controller uptime; the timestamp counts from the
/// controller's start).
pub const MAX_TIMESTAMP_S: f64 = 1e9;

/// The least a data package's timestamp may run ahead of the reference one, s.
pub const TIMESTAMP_SLACK_S: f64 = 0.1;

/// A read that handled at most this many data packages saw a short queue: its newest package is current, and it
/// becomes the reference of the timestamp window.
const FRESH_QUEUE: u32 = 8;

/// How far ahead of the reference package (the newest of a read that found a short queue: current when it was
/// taken) a new package's robot timestamp may be, `elapsed` after the reference was taken, s:
///
/// ```text
/// window = max(TIMESTAMP_SLACK_S, deadline) + 2 · elapsed
/// ```
///
/// (twice the robot clock's pace). A package further ahead, or whose timestamp is not a number in
/// `0 ..= MAX_TIMESTAMP_S`, is refused and counted, not adopted: one package stamped `+inf` or far in the future
/// cannot make every real package after it look stale and stall the driver.
pub fn timestamp_window_s(deadline: Duration, elapsed: Duration) -> f64 {
    TIMESTAMP_SLACK_S.max(deadline.as_secs_f64()) + 2.0 * elapsed.as_secs_f64()
}
/// A UR e-Series arm over RTDE.
///
/// - [`read_state`](ArmDriver::read_state): the newest data package (`actual_q`, `actual_qd`, `actual_current`,
///   modes). It waits for a package newer than the one last returned, at most until `deadline_ms` after the last
///   arrival (then a late-packet [`DriverError::Timeout`]); packages queued behind it are drained (only the newest
///   is used, counted as skipped) and packages whose robot timestamp does not advance are ignored (stale);
///   packages whose timestamp is not a number in `0 ..= MAX_TIMESTAMP_S` or jumps further ahead than
///   [`timestamp_window_s`] are refused ([`RtdeHealth::refused`]). A
///   protective stop, an emergency stop or any other non-normal safety mode, a robot mode other than RUNNING and a
///   program that stopped are [`DriverError::HardwareFault`]s naming the robot's subsystem.
/// - [`write_torque`](ArmDriver::write_torque): one input data package: six torques, the stop deceleration, the
///   next counter value, stop flag 0, the watchdog cycles.
/// - [`safe_stop`](ArmDriver::safe_stop): one input package with zero torques and the stop flag raised; the
///   program then decelerates the arm to standstill (`stopj`) and halts, holding it. Idempotent.
/// - A closed or failed connection is [`DriverError::Disconnected`], a package that does not frame or does not
///   match its recipe is [`DriverError::Corrupt`]; the byte stream cannot be resynchronised after either, so the
///   driver stays failed (reads return the error again).
///
/// Real-time: the success path neither allocates nor locks; errors allocate their message.
pub struct UrRtdeArm {
    stream: TcpStream,
    cfg: UrRtdeConfig,
    device: String,
    info: ArmInfo,
    clock: Arc<dyn Clock>,
    session: RtdeSession,
    rx: Box<[u8]>,
    rx_len: usize,
    tx: Vec<u8>,
    latest: Option<RobotState>,
    fresh: bool,
    last_arrival: Instant,
    last_timestamp: f64,
    /// The timestamp window's reference: an accepted timestamp known to be current when it was taken, and when.
    stamp_reference: Option<(f64, Instant)>,
    /// Data packages handled by the current read.
    read_packages: u32,
    counter: i32,
    deadline: Duration,
    failed: Option<DriverError>,
    health: Arc<RtdeHealth>,
}

impl std::fmt::Debug for UrRtdeArm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrRtdeArm")
            .field("device", &self.device)
            .field("session", &self.session)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

enum Got {
    Package,
    Nothing,
}

impl UrRtdeArm {
    /// Connects to `cfg.host:cfg.port` and sets the stream up: protocol version 2, controller version (an
    /// e-Series with PolyScope ≥ 5.22, else an error), output recipe at `cfg.frequency_hz`, input recipe of the
    /// register block, a first command (zero torque, counter 0), start, and the first data package, which must
    /// show the robot running, its safety system normal and the program playing. Not real-time.
    pub fn open(cfg: &UrRtdeConfig, dof: usize, clock: Arc<dyn Clock>) -> Result<Self, DriverError> {
        let device = format!("{}:{}", cfg.host, cfg.port);
        if dof != UR_DOF {
            return Err(DriverError::InvalidCommand { device, detail: format!("{dof} joints; a UR arm has 6") });
        }
        let timeout = Duration::from_secs_f64(cfg.connect_timeout_ms * 1e-3);
        let disconnected = |detail: String| DriverError::Disconnected { device: device.clone(), detail };
        let addrs: Vec<SocketAddr> = (cfg.host.as_str(), cfg.port)
            .to_socket_addrs()
            .map_err(|e| disconnected(format!("cannot resolve the host: {e}")))?
            .collect();
        let mut last = None;
        let mut stream = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = stream.ok_or_else(|| {
            disconnected(format!("cannot connect: {}", last.map_or("no address".into(), |e| e.to_string())))
        })?;
        let setup = |s: &TcpStream| -> std::io::Result<()> {
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))
        };
        setup(&stream).map_err(|e| disconnected(format!("socket options: {e}")))?;
        let deadline = Duration::from_secs_f64(cfg.deadline_ms * 1e-3);
        let mut arm = Self {
            stream,
            cfg: cfg.clone(),
            info: ArmInfo { name: format!("ur_rtde:{device}"), dof, gravity_compensated: cfg.gravity_compensated },
            device,
            clock,
            session: RtdeSession {
                controller: ControllerVersion::default(),
                output_recipe: 0,
                input_recipe: 0,
                frequency_hz: cfg.frequency_hz,
            },
            rx: vec![0u8; RX_LEN].into_boxed_slice(),
            rx_len: 0,
            tx: Vec::with_capacity(protocol::MAX_PACKAGE),
            latest: None,
            fresh: false,
            last_arrival: Instant::now(),
            last_timestamp: f64::NEG_INFINITY,
            stamp_reference: None,
            read_packages: 0,
            counter: 0,
            deadline,
            failed: None,
            health: Arc::new(RtdeHealth::default()),
        };
        arm.handshake(timeout)?;
        Ok(arm)
    }

    fn handshake(&mut self, timeout: Duration) -> Result<(), DriverError> {
        let v = self.request(kind::REQUEST_PROTOCOL_VERSION, &[&PROTOCOL_VERSION.to_be_bytes()], timeout)?;
        if v.first() != Some(&1) {
            return Err(self.protocol_error(format!("the robot refused RTDE protocol version {PROTOCOL_VERSION}")));
        }
        let v = self.request(kind::GET_URCONTROL_VERSION, &[], timeout)?;
        let version = ControllerVersion::from_reply(&v)
            .ok_or_else(|| self.protocol_error(format!("controller version reply of {} bytes", v.len())))?;
        self.session.controller = version;
        if (version.major, version.minor) < MIN_VERSION || version.major >= 10 {
            return Err(DriverError::InvalidCommand {
                device: self.device.clone(),
                detail: format!(
                    "controller software {version}: direct torque control needs an e-Series controller with \
                     PolyScope {}.{} or later (5.x)",
                    MIN_VERSION.0, MIN_VERSION.1
                ),
            });
        }
        let names = OUTPUT_FIELDS.join(",");
        let freq = self.cfg.frequency_hz.to_be_bytes();
        let reply = self.request(kind::SETUP_OUTPUTS, &[&freq, names.as_bytes()], timeout)?;
        let out = Recipe::from_reply(&reply).and_then(|r| r.expect(&OUTPUT_TYPES).map(|()| r)).map_err(|e| {
            let field = recipe_field(&e, &OUTPUT_FIELDS.map(str::to_string));
            self.protocol_error(format!("output recipe refused: {e}{field}"))
        })?;
        let inputs = protocol::input_fields(self.cfg.register_offset);
        let reply = self.request(kind::SETUP_INPUTS, &[inputs.as_bytes()], timeout)?;
        let input_names: Vec<String> = inputs.split(',').map(str::to_string).collect();
        let inp = Recipe::from_reply(&reply)
            .and_then(|r| r.expect(&protocol::input_types()).map(|()| r))
            .map_err(|e| self.protocol_error(format!("input recipe refused: {e}{}", recipe_field(&e, &input_names))))?;
        self.session.output_recipe = out.id;
        self.session.input_recipe = inp.id;
        self.send(&Command {
            watchdog_cycles: self.watchdog_cycles(),
            stop_deceleration: self.cfg.stop_deceleration,
            ..Command::default()
        })?;
        let ok = self.request(kind::START, &[], timeout)?;
        if ok.first() != Some(&1) {
            return Err(self.protocol_error("the robot refused to start the data stream".into()));
        }
        self.last_arrival = Instant::now();
        let saved = self.deadline;
        self.deadline = timeout;
        let first = self.read_state();
        self.deadline = saved;
        first?;
        tracing::info!(device = %self.device, controller = %version, "RTDE stream started at {} Hz", self.cfg.frequency_hz);
        Ok(())
    }

    fn watchdog_cycles(&self) -> i32 {
        i32::try_from(self.cfg.watchdog_cycles).unwrap_or(i32::MAX)
    }

    /// The negotiated session.
    pub fn session(&self) -> RtdeSession {
        self.session
    }
    /// The stream's counters.
    pub fn health(&self) -> Arc<RtdeHealth> {
        self.health.clone()
    }
    /// The newest robot state received, raw.
    pub fn latest(&self) -> Option<RobotState> {
        self.latest
    }
    /// `host:port`.
    pub fn device(&self) -> &str {
        &self.device
    }

    fn protocol_error(&self, detail: String) -> DriverError {
        DriverError::Corrupt { device: self.device.clone(), detail }
    }

    fn fail(&mut self, e: DriverError) -> DriverError {
        self.failed = Some(e.clone());
        e
    }

    fn io_error(&mut self, e: std::io::Error, what: &str) -> DriverError {
        let e = DriverError::Disconnected { device: self.device.clone(), detail: format!("{what}: {e}") };
        self.fail(e)
    }

    /// Sends a control package and waits for its reply (skipping text messages), returning the reply's payload.
    fn request(&mut self, k: u8, parts: &[&[u8]], timeout: Duration) -> Result<Vec<u8>, DriverError> {
        protocol::encode(&mut self.tx, k, parts).map_err(|e| self.protocol_error(e.to_string()))?;
        if let Err(e) = self.stream.write_all(&self.tx) {
            return Err(self.io_error(e, "send"));
        }
        let until = Instant::now() + timeout;
        loop {
            while let Some((pk, used)) = self.next_package()? {
                let payload = self.rx[HEADER..used].to_vec();
                self.consume(used);
                if pk == k {
                    return Ok(payload);
                }
                if pk == kind::TEXT_MESSAGE {
                    self.log_text(&payload);
                    continue;
                }
                return Err(self.fail(self.protocol_error(format!(
                    "reply of type '{}' to a request of type '{}'",
                    char::from(pk),
                    char::from(k)
                ))));
            }
            let now = Instant::now();
            if now >= until {
                return Err(DriverError::Timeout {
                    device: self.device.clone(),
                    what: format!("reply to RTDE request '{}'", char::from(k)),
                    timeout_ms: timeout.as_millis() as u64,
                });
            }
            self.fill(until - now)?;
        }
    }

    /// The type and length of the complete package at the start of the buffer, if there is one.
    fn next_package(&mut self) -> Result<Option<(u8, usize)>, DriverError> {
        match protocol::parse(&self.rx[..self.rx_len]) {
            Ok((p, used)) => Ok(Some((p.kind, used))),
            Err(ParseError::Incomplete { .. }) => Ok(None),
            Err(e) => Err(self.fail(self.protocol_error(e.to_string()))),
        }
    }

    fn consume(&mut self, used: usize) {
        self.rx.copy_within(used..self.rx_len, 0);
        self.rx_len -= used;
    }

    /// Reads what the socket has, waiting at most `wait`. `Ok(false)` on a timeout.
    fn fill(&mut self, wait: Duration) -> Result<bool, DriverError> {
        if let Err(e) = self.stream.set_read_timeout(Some(wait.max(Duration::from_micros(50)))) {
            return Err(self.io_error(e, "socket"));
        }
        match self.stream.read(&mut self.rx[self.rx_len..]) {
            Ok(0) => Err(self.fail(DriverError::Disconnected {
                device: self.device.clone(),
                detail: "the robot closed the RTDE connection".into(),
            })),
            Ok(n) => {
                self.rx_len += n;
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                Ok(false)
            }
            Err(e) => Err(self.io_error(e, "receive")),
        }
    }

    /// Reads whatever is already queued in the socket without waiting.
    fn drain_socket(&mut self) -> Result<(), DriverError> {
        if let Err(e) = self.stream.set_nonblocking(true) {
            return Err(self.io_error(e, "socket"));
        }
        let r = loop {
            if self.rx_len == self.rx.len() {
                break Ok(());
            }
            match self.stream.read(&mut self.rx[self.rx_len..]) {
                Ok(0) => {
                    break Err(DriverError::Disconnected {
                        device: self.device.clone(),
                        detail: "the robot closed the RTDE connection".into(),
                    });
                }
                Ok(n) => self.rx_len += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    break Err(DriverError::Disconnected {
                        device: self.device.clone(),
                        detail: format!("receive: {e}"),
                    });
                }
            }
        };
        if let Err(e) = self.stream.set_nonblocking(false) {
            return Err(self.io_error(e, "socket"));
        }
        r.map_err(|e| self.fail(e))
    }

    /// Handles every complete package in the buffer; true when a new robot state arrived.
    fn handle_buffered(&mut self) -> Result<Got, DriverError> {
        let mut got = Got::Nothing;
        while let Some((k, used)) = self.next_package()? {
            match k {
                kind::DATA_PACKAGE => {
                    let s = RobotState::decode(&self.rx[HEADER..used], self.session.output_recipe);
                    self.consume(used);
                    let s = s.map_err(|e| self.fail(self.protocol_error(e.to_string())))?;
                    self.health.packages.fetch_add(1, Ordering::Relaxed);
                    self.read_packages = self.read_packages.saturating_add(1);
                    let too_far = self
                        .stamp_reference
                        .is_some_and(|(t, at)| s.timestamp - t > timestamp_window_s(self.deadline, at.elapsed()));
                    if !(0.0..=MAX_TIMESTAMP_S).contains(&s.timestamp) || too_far {
                        self.health.refused.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if self.stamp_reference.is_none() {
                        self.stamp_reference = Some((s.timestamp, Instant::now()));
                    }
                    if s.timestamp <= self.last_timestamp {
                        self.health.stale.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if matches!(got, Got::Package) || self.fresh {
                        self.health.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    self.last_timestamp = s.timestamp;
                    self.latest = Some(s);
                    self.fresh = true;
                    self.last_arrival = Instant::now();
                    got = Got::Package;
                }
                kind::TEXT_MESSAGE => {
                    let payload = self.rx[HEADER..used].to_vec();
                    self.consume(used);
                    self.log_text(&payload);
                }
                // Replies to the pause and start requests of a restart.
                kind::START | kind::PAUSE => self.consume(used),
                other => {
                    self.consume(used);
                    return Err(self.fail(
                        self.protocol_error(format!(
                            "unexpected package of type '{}' in the stream",
                            char::from(other)
                        )),
                    ));
                }
            }
        }
        Ok(got)
    }

    fn log_text(&self, payload: &[u8]) {
        self.health.text_messages.fetch_add(1, Ordering::Relaxed);
        match protocol::text_message(payload) {
            Some(t) if t.level <= 1 => tracing::error!(device = %self.device, source = t.source, "{}", t.message),
            Some(t) => tracing::info!(device = %self.device, source = t.source, "{}", t.message),
            None => tracing::warn!(device = %self.device, "malformed text message ({} bytes)", payload.len()),
        }
    }

    fn send(&mut self, c: &Command) -> Result<(), DriverError> {
        let mut payload = [0u8; 1 + INPUT_LEN];
        c.encode(self.session.input_recipe, &mut payload);
        if let Err(e) = protocol::encode(&mut self.tx, kind::DATA_PACKAGE, &[&payload]) {
            return Err(self.protocol_error(e.to_string()));
        }
        if let Err(e) = self.stream.write_all(&self.tx) {
            return Err(self.io_error(e, "send"));
        }
        self.health.commands.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn next_counter(&mut self) -> i32 {
        self.counter = if self.counter == i32::MAX { 1 } else { self.counter + 1 };
        self.counter
    }

    fn check(&self, s: &RobotState) -> Result<(), DriverError> {
        let fault = |unit: &str, detail: String| DriverError::HardwareFault {
            device: self.device.clone(),
            unit: unit.into(),
            detail,
        };
        if !matches!(s.safety_mode, safety_mode::NORMAL | safety_mode::REDUCED) {
            let what = match s.safety_mode {
                safety_mode::PROTECTIVE_STOP => "protective stop",
                5 | 12 => "safeguard stop",
                6 | safety_mode::ROBOT_EMERGENCY_STOP => "emergency stop",
                _ => "safety system not normal",
            };
            let name = safety_mode::name(s.safety_mode);
            return Err(fault("safety system", format!("{what} (safety mode {name} = {})", s.safety_mode)));
        }
        if s.robot_mode != robot_mode::RUNNING {
            let name = robot_mode::name(s.robot_mode);
            return Err(fault("robot", format!("robot mode {name} = {} (RUNNING needed)", s.robot_mode)));
        }
        if s.runtime_state != runtime_state::PLAYING {
            let name = runtime_state::name(s.runtime_state);
            return Err(fault(
                "program",
                format!(
                    "the torque program is not running (runtime state {name}): load ur_rtde_torque.script and press play"
                ),
            ));
        }
        Ok(())
    }

    fn late(&self) -> DriverError {
        DriverError::Timeout {
            device: self.device.clone(),
            what: format!(
                "RTDE data package (late: none for {:.1} ms)",
                self.last_arrival.elapsed().as_secs_f64() * 1e3
            ),
            timeout_ms: self.deadline.as_millis() as u64,
        }
    }
}

const HEADER: usize = protocol::HEADER_LEN;

fn recipe_field(e: &protocol::RecipeError, names: &[String]) -> String {
    use protocol::RecipeError as R;
    match e {
        R::NotFound { index } | R::InUse { index } | R::UnknownType { index } => {
            names.get(*index).map_or(String::new(), |n| format!(" ({n})"))
        }
        _ => String::new(),
    }
}

impl ArmDriver for UrRtdeArm {
    fn info(&self) -> &ArmInfo {
        &self.info
    }

    fn read_state(&mut self) -> Result<JointState, DriverError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        // Take whatever is already queued, so that the newest package is the one used (after a stall of the
        // caller too).
        self.read_packages = 0;
        self.drain_socket()?;
        loop {
            if matches!(self.handle_buffered()?, Got::Package) {
                self.drain_socket()?;
                self.handle_buffered()?;
                break;
            }
            if self.fresh {
                break;
            }
            let now = Instant::now();
            let until = self.last_arrival + self.deadline;
            if now >= until {
                return Err(self.late());
            }
            self.fill(until - now)?;
        }
        self.fresh = false;
        let Some(s) = self.latest else { return Err(self.late()) };
        if self.read_packages <= FRESH_QUEUE {
            self.stamp_reference = Some((s.timestamp, Instant::now()));
        }
        self.check(&s)?;
        let stamp = self.clock.now();
        let mut out = JointState { stamp, ..JointState::default() };
        for j in 0..UR_DOF.min(MAX_DOF) {
            out.q[j] = s.q[j];
            out.dq[j] = s.qd[j];
            out.tau_measured[j] = self.cfg.torque_constant.get(j).map_or(0.0, |k| k * s.current[j]);
        }
        Ok(out)
    }

    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        if let Some(e) = &self.failed
            && matches!(e, DriverError::Disconnected { .. })
        {
            return Err(e.clone());
        }
        if tau[..UR_DOF].iter().any(|t| !t.is_finite()) {
            return Err(DriverError::InvalidCommand { device: self.device.clone(), detail: format!("torque {tau:?}") });
        }
        let mut c = Command {
            stop_deceleration: self.cfg.stop_deceleration,
            counter: self.next_counter(),
            stop: 0,
            watchdog_cycles: self.watchdog_cycles(),
            ..Command::default()
        };
        c.tau.copy_from_slice(&tau[..UR_DOF]);
        self.send(&c)
    }

    fn safe_stop(&mut self) -> Result<(), DriverError> {
        if let Some(e) = &self.failed
            && matches!(e, DriverError::Disconnected { .. })
        {
            return Err(e.clone());
        }
        let c = Command {
            stop_deceleration: self.cfg.stop_deceleration,
            counter: self.next_counter(),
            stop: 1,
            watchdog_cycles: self.watchdog_cycles(),
            ..Command::default()
        };
        self.send(&c)
    }
}

impl Drop for UrRtdeArm {
    fn drop(&mut self) {
        if self.failed.is_none() {
            let _ = self.safe_stop();
            if protocol::encode(&mut self.tx, kind::PAUSE, &[]).is_ok() {
                let _ = self.stream.write_all(&self.tx);
            }
        }
    }
}

/// Bytes of one output data package on the wire.
pub const OUTPUT_PACKAGE_LEN: usize = HEADER + 1 + OUTPUT_LEN;
/// Bytes of one input data package on the wire.
pub const INPUT_PACKAGE_LEN: usize = HEADER + 1 + INPUT_LEN;
