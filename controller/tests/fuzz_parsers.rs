//! Fuzz harness for every byte-level parser of the drivers, on stable Rust: seeded random and mutated inputs,
//! asserting that nothing panics and that the codecs' invariants hold. The iteration count comes from
//! `CORRIGO_FUZZ_ITERS` (default 20 000 per target, a few seconds); `make fuzz` runs it with millions and the
//! seed from `CORRIGO_FUZZ_SEED` (printed, so that a failure can be replayed).

use controller::drivers::dynamixel::protocol::{self, ParseError};
use controller::drivers::dynamixel::{BusError, DynamixelBus, SerialLink};
use controller::drivers::feetech::FeetechBus;
use controller::drivers::feetech::protocol as ft;
use controller::drivers::franka::FrankaArm;
use controller::drivers::franka::protocol as fci;
use controller::drivers::ur_rtde::UrRtdeArm;
use controller::drivers::ur_rtde::protocol as rtde;
use interfaces::config::{FrankaConfig, UrRtdeConfig};
use interfaces::drivers::{ArmDriver, DriverError};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{self, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

fn iterations() -> usize {
    std::env::var("CORRIGO_FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000)
}

fn rng(target: u64) -> ChaCha8Rng {
    let seed = std::env::var("CORRIGO_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x00C0_4416u64);
    println!("fuzz seed {seed} (target {target})");
    ChaCha8Rng::seed_from_u64(seed ^ target.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Bytes biased towards the ones that matter to the framing (header and stuffing bytes).
fn bytes(r: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| match r.random_range(0..4) {
            0 => 0xFF,
            1 => 0xFD,
            2 => 0x00,
            _ => r.random(),
        })
        .collect()
}

#[test]
fn dynamixel_parse_never_panics_on_arbitrary_bytes() {
    let mut r = rng(1);
    let mut scratch = Vec::new();
    for _ in 0..iterations() {
        let n = r.random_range(0..64);
        let mut b = bytes(&mut r, n);
        if r.random_bool(0.5) {
            b.splice(0..0, protocol::HEADER);
        }
        let start = protocol::find_header(&b);
        assert!(start <= b.len());
        if let Ok((p, used)) = protocol::parse(&b[start..], &mut scratch) {
            assert!(used <= b.len() - start && used > protocol::OVERHEAD);
            assert!(p.params.len() < used);
        }
    }
}

#[test]
fn dynamixel_encode_parse_round_trips_and_single_bit_flips_are_caught() {
    let mut r = rng(2);
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    for _ in 0..iterations() {
        let id = r.random();
        let instruction = r.random();
        let n = r.random_range(0..40);
        let params = bytes(&mut r, n);
        let len = protocol::encode(&mut out, id, instruction, &[&params]).expect("small packets encode");
        assert_eq!(len, out.len());
        let (p, used) = protocol::parse(&out, &mut scratch).expect("a packet we encoded parses");
        assert_eq!((p.id, p.instruction, p.params, used), (id, instruction, &params[..], out.len()));
        assert!(out[7..out.len() - 2].windows(3).filter(|w| *w == [0xFF, 0xFF, 0xFD]).count() <= params.len());
        let bit = r.random_range(0..out.len() * 8);
        let mut flipped = out.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if let Ok((q, _)) = protocol::parse(&flipped, &mut scratch) {
            panic!("flip of bit {bit} undetected: {flipped:02X?} parsed as {q:?}");
        }
    }
}

/// A link that returns fuzzed bytes in random chunks, then times out.
struct FuzzLink {
    data: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl SerialLink for FuzzLink {
    fn send(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8], _: Duration) -> io::Result<usize> {
        if self.at >= self.data.len() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no more fuzz bytes"));
        }
        let n = self.chunk.min(buf.len()).min(self.data.len() - self.at).max(1);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
    fn discard_input(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn dynamixel_bus_survives_fuzzed_replies() {
    let mut r = rng(3);
    let mut pkt = Vec::new();
    let ids = [1u8, 2, 3];
    let mut out = [0u8; 30];
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..iterations() / 4 {
        // Valid status packets, some mutated, with garbage between them.
        let mut data = Vec::new();
        for &id in &ids {
            if r.random_bool(0.2) {
                let n = r.random_range(0..8);
                data.extend(bytes(&mut r, n));
            }
            let mut d = [0u8; 10];
            r.fill_bytes(&mut d);
            let err = if r.random_bool(0.1) { r.random() } else { 0 };
            protocol::encode(&mut pkt, id, protocol::inst::STATUS, &[&[err], &d]).expect("encode");
            data.extend_from_slice(&pkt);
        }
        for _ in 0..r.random_range(0..3) {
            let i = r.random_range(0..data.len());
            data[i] = r.random();
        }
        let chunk = r.random_range(1..40);
        let mut bus = DynamixelBus::new(FuzzLink { data, at: 0, chunk }, Duration::from_millis(1));
        match bus.sync_read(126, 10, &ids, &mut out) {
            Ok(()) => ok += 1,
            Err(e) => {
                failed += 1;
                assert!(e.id().is_some(), "every fuzzed failure names a servo: {e:?}");
            }
        }
    }
    assert!(ok > 0 && failed > 0, "both outcomes exercised ({ok} ok, {failed} failed)");
}

#[test]
fn feetech_parse_never_panics_and_skips_no_header() {
    let mut r = rng(40);
    for _ in 0..iterations() {
        let n = r.random_range(0..48);
        let mut b = bytes(&mut r, n);
        if r.random_bool(0.5) {
            b.splice(0..0, ft::HEADER);
        }
        let start = ft::find_header(&b);
        assert!(start <= b.len());
        for i in 0..start.min(b.len().saturating_sub(2)) {
            assert!(!(b[i] == 0xFF && b[i + 1] == 0xFF && b[i + 2] != 0xFF), "a header at {i} was skipped: {b:02X?}");
        }
        match ft::parse(&b[start..]) {
            Ok((p, used)) => {
                assert!(used <= b.len() - start && used == p.params.len() + ft::OVERHEAD);
                let mut out = Vec::new();
                ft::encode(&mut out, p.id, p.code, &[p.params]).expect("a parsed packet re-encodes");
                assert_eq!(&out[..], &b[start..start + used]);
            }
            Err(ft::ParseError::Incomplete { needed }) => assert!(needed > b.len() - start),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

#[test]
fn feetech_encode_parse_round_trips_and_bit_flips_outside_the_length_are_caught() {
    let mut r = rng(41);
    let mut out = Vec::new();
    for _ in 0..iterations() {
        let id = r.random_range(0..0xFF);
        let code = r.random();
        let n = r.random_range(0..40);
        let params = bytes(&mut r, n);
        let len = ft::encode(&mut out, id, code, &[&params]).expect("small packets encode");
        let (p, used) = ft::parse(&out).expect("a packet we encoded parses");
        assert_eq!((p.id, p.code, p.params, used), (id, code, &params[..], len));
        let bit = r.random_range(0..out.len() * 8);
        if bit / 8 == 3 {
            continue; // a flipped length frames other bytes: caught by the checksum only by chance
        }
        let mut flipped = out.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if let Ok((q, _)) = ft::parse(&flipped) {
            panic!("flip of bit {bit} undetected: {flipped:02X?} parsed as {q:?}");
        }
    }
}

#[test]
fn feetech_bus_survives_fuzzed_replies() {
    let mut r = rng(42);
    let mut pkt = Vec::new();
    let ids = [1u8, 2, 3];
    let mut out = [0u8; 45];
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..iterations() / 4 {
        let mut data = Vec::new();
        for &id in &ids {
            if r.random_bool(0.2) {
                let n = r.random_range(0..8);
                data.extend(bytes(&mut r, n));
            }
            let mut d = [0u8; 15];
            r.fill_bytes(&mut d);
            let err = if r.random_bool(0.1) { r.random() } else { 0 };
            ft::encode(&mut pkt, id, err, &[&d]).expect("encode");
            data.extend_from_slice(&pkt);
        }
        for _ in 0..r.random_range(0..3) {
            let i = r.random_range(0..data.len());
            data[i] = r.random();
        }
        let chunk = r.random_range(1..40);
        let mut bus = FeetechBus::new(FuzzLink { data, at: 0, chunk }, Duration::from_millis(1));
        match bus.sync_read(56, 15, &ids, &mut out) {
            Ok(()) => ok += 1,
            Err(e) => {
                failed += 1;
                assert!(e.id().is_some(), "every fuzzed failure names a servo: {e:?}");
            }
        }
    }
    assert!(ok > 0 && failed > 0, "both outcomes exercised ({ok} ok, {failed} failed)");
}

#[test]
fn a_bus_error_without_servo_is_only_a_port_or_encoding_error() {
    assert_eq!(BusError::Io(io::ErrorKind::BrokenPipe).id(), None);
    assert!(!BusError::Io(io::ErrorKind::BrokenPipe).is_transient());
    assert!(BusError::Corrupt { id: 1, error: ParseError::NoHeader }.is_transient());
}

/// Bytes biased towards RTDE's framing: small sizes and the package type letters.
fn rtde_bytes(r: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| match r.random_range(0..5) {
            0 => 0x00,
            1 => rtde::kind::ALL[r.random_range(0..rtde::kind::ALL.len())],
            2 => r.random_range(0..8),
            _ => r.random(),
        })
        .collect()
}

fn random_state(r: &mut ChaCha8Rng) -> rtde::RobotState {
    let mut v6 = || std::array::from_fn(|_| r.random_range(-10.0..10.0));
    let (q, qd, current) = (v6(), v6(), v6());
    rtde::RobotState {
        timestamp: r.random_range(0.0..1e6),
        q,
        qd,
        current,
        robot_mode: r.random_range(-1..9),
        safety_mode: r.random_range(0..14),
        runtime_state: r.random_range(0..6),
    }
}

#[test]
fn rtde_parsers_never_panic_on_arbitrary_bytes() {
    let mut r = rng(11);
    for _ in 0..iterations() {
        let n = r.random_range(0..200);
        let mut b = rtde_bytes(&mut r, n);
        if r.random_bool(0.5) && b.len() >= 3 {
            let size = (b.len() as u16).min(r.random_range(0..300)).to_be_bytes();
            b[..2].copy_from_slice(&size);
        }
        if let Ok((p, used)) = rtde::parse(&b) {
            assert!((rtde::HEADER_LEN..=b.len()).contains(&used));
            assert_eq!(p.payload.len(), used - rtde::HEADER_LEN);
            assert!(rtde::kind::ALL.contains(&p.kind));
        }
        let recipe = b.first().copied().unwrap_or(0);
        let _ = rtde::Recipe::from_reply(&b).map(|rc| assert!(rc.id != 0 && rc.data_len() <= 48 * b.len()));
        let _ = rtde::text_message(&b);
        let _ = rtde::ControllerVersion::from_reply(&b);
        let _ = rtde::setup_outputs_request(&b);
        if let Ok(s) = rtde::RobotState::decode(&b, recipe) {
            assert_eq!(b.len(), 1 + rtde::OUTPUT_LEN, "{s:?}");
        }
        if rtde::Command::decode(&b, recipe).is_ok() {
            assert_eq!(b.len(), 1 + rtde::INPUT_LEN);
        }
    }
}

#[test]
fn rtde_data_packages_round_trip_and_mutations_are_refused_or_decoded_in_bounds() {
    let mut r = rng(12);
    let mut out = Vec::new();
    for _ in 0..iterations() {
        let s = random_state(&mut r);
        let recipe = r.random_range(1..=255u8);
        let mut payload = [0u8; 1 + rtde::OUTPUT_LEN];
        s.encode(recipe, &mut payload);
        rtde::encode(&mut out, rtde::kind::DATA_PACKAGE, &[&payload]).expect("encode");
        let (p, used) = rtde::parse(&out).expect("a package we encoded parses");
        assert_eq!((p.kind, used), (rtde::kind::DATA_PACKAGE, out.len()));
        assert_eq!(rtde::RobotState::decode(p.payload, recipe), Ok(s));
        // Truncate or extend: the size field then disagrees with the recipe, and decoding refuses it.
        let cut = r.random_range(rtde::HEADER_LEN..out.len());
        let mut m = out[..cut].to_vec();
        if r.random_bool(0.5) {
            m.extend(rtde_bytes(&mut r, 8));
        }
        if m.len() == out.len() {
            m.push(0);
        }
        let len = m.len() as u16;
        m[..2].copy_from_slice(&len.to_be_bytes());
        let (p, _) = rtde::parse(&m).expect("resized package frames");
        assert!(rtde::RobotState::decode(p.payload, recipe).is_err());
    }
}

/// Serves the handshake the driver expects and one valid data package; at the driver's first command, sends
/// `fuzz` and closes.
fn serve_fuzzed(listener: &TcpListener, fuzz: &[u8]) -> io::Result<()> {
    let (mut s, _) = listener.accept()?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut rx = Vec::new();
    let mut buf = [0u8; 4096];
    let mut tx = Vec::new();
    let mut started = false;
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        rx.extend_from_slice(&buf[..n]);
        while let Ok((p, used)) = rtde::parse(&rx) {
            let k = p.kind;
            let reply: Option<Vec<u8>> = match k {
                rtde::kind::REQUEST_PROTOCOL_VERSION | rtde::kind::START => Some(vec![1]),
                rtde::kind::GET_URCONTROL_VERSION => {
                    Some(rtde::ControllerVersion { major: 5, minor: 22, bugfix: 0, build: 0 }.to_reply().to_vec())
                }
                rtde::kind::SETUP_OUTPUTS => {
                    let types: Vec<&str> = rtde::OUTPUT_TYPES.iter().map(|t| t.name()).collect();
                    Some([&[1u8][..], types.join(",").as_bytes()].concat())
                }
                rtde::kind::SETUP_INPUTS => {
                    let types: Vec<&str> = rtde::input_types().iter().map(|t| t.name()).collect();
                    Some([&[2u8][..], types.join(",").as_bytes()].concat())
                }
                _ => None,
            };
            rx.drain(..used);
            if k == rtde::kind::DATA_PACKAGE && started {
                // The driver's first command after opening: now the fuzzed stream.
                s.write_all(fuzz)?;
                return Ok(());
            }
            if let Some(reply) = reply {
                rtde::encode(&mut tx, k, &[&reply]).expect("encode");
                s.write_all(&tx)?;
            }
            if k == rtde::kind::START {
                let st = rtde::RobotState {
                    robot_mode: rtde::robot_mode::RUNNING,
                    safety_mode: rtde::safety_mode::NORMAL,
                    runtime_state: rtde::runtime_state::PLAYING,
                    ..rtde::RobotState::default()
                };
                let mut payload = [0u8; 1 + rtde::OUTPUT_LEN];
                st.encode(1, &mut payload);
                rtde::encode(&mut tx, rtde::kind::DATA_PACKAGE, &[&payload]).expect("encode");
                s.write_all(&tx)?;
                started = true;
            }
        }
    }
}

#[test]
fn rtde_driver_survives_fuzzed_streams_with_typed_errors() {
    let mut r = rng(13);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let cfg = UrRtdeConfig {
        host: "127.0.0.1".into(),
        port,
        frequency_hz: 500.0,
        connect_timeout_ms: 2000.0,
        deadline_ms: 20.0,
        register_offset: 24,
        watchdog_cycles: 10,
        stop_deceleration: 4.0,
        torque_constant: Vec::new(),
        gravity_compensated: true,
    };
    let (mut ok, mut failed) = (0usize, 0usize);
    for round in 0..(iterations() / 400).clamp(5, 2000) {
        // Valid data packages (random states, some with later timestamps), mutated, with garbage between them.
        let mut fuzz = Vec::new();
        let mut out = Vec::new();
        for k in 0..r.random_range(1..6) {
            let mut s = random_state(&mut r);
            if r.random_bool(0.7) {
                (s.robot_mode, s.safety_mode, s.runtime_state) = (7, 1, 2);
            }
            s.timestamp = f64::from(k + 1) * 0.002;
            let mut payload = [0u8; 1 + rtde::OUTPUT_LEN];
            s.encode(if r.random_bool(0.9) { 1 } else { r.random() }, &mut payload);
            rtde::encode(&mut out, rtde::kind::DATA_PACKAGE, &[&payload]).expect("encode");
            fuzz.extend_from_slice(&out);
            if r.random_bool(0.2) {
                let n = r.random_range(0..12);
                fuzz.extend(rtde_bytes(&mut r, n));
            }
        }
        for _ in 0..r.random_range(0..3) {
            let i = r.random_range(0..fuzz.len());
            fuzz[i] = r.random();
        }
        let server = std::thread::scope(|scope| {
            let h = scope.spawn(|| serve_fuzzed(&listener, &fuzz));
            let arm = UrRtdeArm::open(&cfg, 6, Arc::new(interfaces::MonotonicClock));
            let mut arm = arm.unwrap_or_else(|e| panic!("round {round}: the handshake is valid: {e}"));
            for _ in 0..8 {
                let _ = arm.write_torque(&[0.0; 7]);
                match arm.read_state() {
                    Ok(s) => {
                        ok += 1;
                        assert!(s.q.iter().all(|q| q.is_finite()));
                    }
                    Err(e) => {
                        failed += 1;
                        assert!(
                            matches!(
                                e,
                                DriverError::Corrupt { .. }
                                    | DriverError::Disconnected { .. }
                                    | DriverError::Timeout { .. }
                                    | DriverError::HardwareFault { .. }
                            ),
                            "{e:?}"
                        );
                        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
                        break;
                    }
                }
            }
            drop(arm);
            h.join().expect("server thread")
        });
        server.expect("server");
    }
    assert!(ok > 0 && failed > 0, "both outcomes exercised ({ok} ok, {failed} failed)");
}

#[test]
fn fci_parsers_never_panic_on_arbitrary_bytes() {
    let mut r = rng(21);
    for _ in 0..iterations() {
        let n = if r.random_bool(0.1) { fci::STATE_LEN } else { r.random_range(0..120) };
        let mut b: Vec<u8> =
            (0..n).map(|_| if r.random_bool(0.5) { r.random_range(0..3) } else { r.random() }).collect();
        if r.random_bool(0.5) && b.len() >= fci::HEADER_LEN {
            let size = r.random_range(0..b.len() as u32 + 8);
            b[8..12].copy_from_slice(&size.to_le_bytes());
            b[..4].copy_from_slice(&r.random_range(0..16u32).to_le_bytes());
        }
        if let Ok((h, payload, used)) = fci::parse(&b) {
            assert!((fci::HEADER_LEN..=b.len()).contains(&used));
            assert_eq!((h.size as usize, payload.len()), (used, used - fci::HEADER_LEN));
            assert!(h.command <= fci::command::LAST);
        }
        if let Ok(s) = fci::RobotState::decode(&b) {
            assert_eq!(b.len(), fci::STATE_LEN);
            assert!(s.errors.0 < 1 << fci::ERRORS.len() && s.reflex_reason.0 < 1 << fci::ERRORS.len());
            let _ = s.errors.to_string();
        }
        if fci::RobotCommand::decode(&b).is_ok() {
            assert_eq!(b.len(), fci::COMMAND_LEN);
        }
    }
}

#[test]
fn fci_states_round_trip_and_mutated_flags_or_sizes_are_refused() {
    let mut r = rng(22);
    let mut b = [0u8; fci::STATE_LEN];
    for _ in 0..iterations() / 4 {
        let mut v7 = || -> [f64; 7] { std::array::from_fn(|_| r.random_range(-10.0..10.0)) };
        let (tau_j, tau_j_d, q, dq) = (v7(), v7(), v7(), v7());
        let s = fci::RobotState {
            message_id: r.random(),
            tau_j,
            tau_j_d,
            q,
            dq,
            motion_generator_mode: r.random_range(0..5),
            controller_mode: r.random_range(0..4),
            errors: fci::Errors(r.random::<u64>() & ((1 << fci::ERRORS.len()) - 1)),
            reflex_reason: fci::Errors(r.random::<u64>() & ((1 << fci::ERRORS.len()) - 1)),
            robot_mode: r.random_range(0..7),
            control_command_success_rate: r.random_range(0.0..1.0),
        };
        s.encode(&mut b);
        assert_eq!(fci::RobotState::decode(&b), Ok(s));
        let cut = r.random_range(0..fci::STATE_LEN);
        assert!(fci::RobotState::decode(&b[..cut]).is_err());
        // The flag bytes end before the robot mode (1 byte) and the success rate (8 bytes).
        let at = fci::STATE_LEN - 8 - 1 - 1 - r.random_range(0..2 * fci::ERRORS.len());
        b[at] = r.random_range(2..=255);
        assert!(matches!(fci::RobotState::decode(&b), Err(fci::DatagramError::Flag { .. })));
    }
}

/// Serves the FCI handshake the driver expects over TCP, then at the driver's first command sends the fuzzed
/// datagrams and closes.
fn serve_fci_fuzzed(listener: &TcpListener, datagrams: &[Vec<u8>]) -> io::Result<()> {
    let (mut s, _) = listener.accept()?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    udp.set_read_timeout(Some(Duration::from_secs(2)))?;
    let (mut rx, mut tx, mut buf) = (Vec::new(), Vec::new(), [0u8; 2048]);
    let mut to = None;
    let mut id = 0u64;
    let mut state = |moving: bool| {
        id += 1;
        let mut st = fci::RobotState {
            message_id: id,
            robot_mode: if moving { fci::robot_mode::MOVE } else { fci::robot_mode::IDLE },
            ..fci::RobotState::default()
        };
        if moving {
            st.controller_mode = fci::STATE_CONTROLLER_EXTERNAL;
            st.motion_generator_mode = fci::STATE_MOTION_JOINT_VELOCITY;
        }
        let mut b = [0u8; fci::STATE_LEN];
        st.encode(&mut b);
        b
    };
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        rx.extend_from_slice(&buf[..n]);
        while let Ok((h, payload, used)) = fci::parse(&rx) {
            let payload = payload.to_vec();
            rx.drain(..used);
            let reply: Vec<u8> = match h.command {
                fci::command::CONNECT => {
                    let port = fci::le::u16_at(&payload, 2).unwrap_or(0);
                    to = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
                    vec![0, fci::FCI_VERSION as u8, 0]
                }
                fci::command::MOVE => vec![fci::move_status::MOTION_STARTED],
                _ => vec![0],
            };
            fci::encode(&mut tx, h.command, h.command_id, &[&reply]);
            s.write_all(&tx)?;
            let Some(to) = to else { continue };
            if h.command == fci::command::CONNECT {
                udp.send_to(&state(false), to)?;
            }
            if h.command == fci::command::MOVE {
                udp.send_to(&state(true), to)?;
                let mut cmd = [0u8; fci::COMMAND_LEN];
                udp.recv_from(&mut cmd)?;
                for d in datagrams {
                    udp.send_to(d, to)?;
                }
                return Ok(());
            }
        }
    }
}

#[test]
fn fci_driver_survives_fuzzed_datagrams_with_typed_errors() {
    let mut r = rng(23);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let cfg = FrankaConfig {
        host: "127.0.0.1".into(),
        command_port: port,
        udp_port: 0,
        connect_timeout_ms: 2000.0,
        deadline_ms: 20.0,
        contact_torque: vec![20.0; 7],
        collision_torque: vec![40.0; 7],
        contact_force: vec![20.0; 6],
        collision_force: vec![40.0; 6],
        recover_on_open: false,
    };
    let (mut ok, mut failed) = (0usize, 0usize);
    for round in 0..(iterations() / 400).clamp(5, 2000) {
        let mut datagrams = Vec::new();
        for k in 0..r.random_range(1..6u64) {
            let mut st = fci::RobotState {
                message_id: 2 + k,
                robot_mode: fci::robot_mode::MOVE,
                controller_mode: fci::STATE_CONTROLLER_EXTERNAL,
                motion_generator_mode: fci::STATE_MOTION_JOINT_VELOCITY,
                ..fci::RobotState::default()
            };
            if r.random_bool(0.2) {
                st.errors = fci::Errors(r.random::<u64>() & ((1 << fci::ERRORS.len()) - 1));
                st.robot_mode = r.random_range(0..7);
            }
            st.q = std::array::from_fn(|_| r.random_range(-3.0..3.0));
            let mut b = vec![0u8; fci::STATE_LEN];
            st.encode((&mut b[..]).try_into().expect("state size"));
            for _ in 0..r.random_range(0..3) {
                let i = r.random_range(0..b.len());
                b[i] = r.random();
            }
            if r.random_bool(0.1) {
                b.truncate(r.random_range(0..b.len()));
            }
            datagrams.push(b);
        }
        let server = std::thread::scope(|scope| {
            let h = scope.spawn(|| serve_fci_fuzzed(&listener, &datagrams));
            let arm = FrankaArm::open(&cfg, 7, Arc::new(interfaces::MonotonicClock));
            let mut arm = arm.unwrap_or_else(|e| panic!("round {round}: the handshake is valid: {e}"));
            for _ in 0..8 {
                let _ = arm.write_torque(&[0.0; 7]);
                match arm.read_state() {
                    Ok(_) => ok += 1,
                    Err(e) => {
                        failed += 1;
                        assert!(
                            matches!(
                                e,
                                DriverError::Corrupt { .. }
                                    | DriverError::Disconnected { .. }
                                    | DriverError::Timeout { .. }
                                    | DriverError::HardwareFault { .. }
                                    | DriverError::InvalidCommand { .. }
                            ),
                            "{e:?}"
                        );
                        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
                        break;
                    }
                }
            }
            drop(arm);
            h.join().expect("server thread")
        });
        server.expect("server");
    }
    assert!(ok > 0 && failed > 0, "both outcomes exercised ({ok} ok, {failed} failed)");
}
