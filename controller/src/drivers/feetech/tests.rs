//! Codec checks against hand-computed packets (ping and read examples of the STS manual's format), round trips,
//! the bus against a scripted link, and the torque ↦ goal-position mapping.

use super::arm::{angle_to_count, count_to_angle, cycle_bytes, goal_for_torque, torque_limit_register};
use super::bus::{BusError, FeetechBus};
use super::control_table::{self as ct, Present};
use super::protocol::*;
use crate::drivers::serial::SerialLink;
use std::collections::VecDeque;
use std::io;
use std::time::Duration;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex")).collect()
}

#[test]
fn checksum_and_framing_match_hand_computed_packets() {
    let mut out = Vec::new();
    // Ping ID 1: CHK = !(01 + 02 + 01) = FB.
    encode(&mut out, 1, inst::PING, &[]).expect("encode");
    assert_eq!(out, hex("FF FF 01 02 01 FB"));
    // Read 2 bytes at 56 (Present Position) of ID 1: CHK = !(01 + 04 + 02 + 38 + 02) = BE.
    encode(&mut out, 1, inst::READ, &[&[0x38, 0x02]]).expect("encode");
    assert_eq!(out, hex("FF FF 01 04 02 38 02 BE"));
    // Sync write of goal position 2048 (00 08) to IDs 1 and 2.
    encode(&mut out, BROADCAST_ID, inst::SYNC_WRITE, &[&[0x2A, 0x02, 0x01, 0x00, 0x08, 0x02, 0x00, 0x08]])
        .expect("encode");
    let sum: u32 = out[2..out.len() - 1].iter().map(|&b| u32::from(b)).sum();
    assert_eq!(out[out.len() - 1], !(sum as u8));
    // The read's status: position 2048, no error.
    let status = hex("FF FF 01 04 00 00 08 F2");
    let (p, used) = parse(&status).expect("parse");
    assert_eq!((p.id, p.code, p.params, used), (1, 0, &[0x00, 0x08][..], status.len()));
}

#[test]
fn corrupt_truncated_and_garbage_inputs_are_reported() {
    let mut out = Vec::new();
    encode(&mut out, 5, 0, &[&[1, 2, 3]]).expect("encode");
    for cut in 0..out.len() {
        assert!(matches!(parse(&out[..cut]), Err(ParseError::Incomplete { .. })), "cut {cut}");
    }
    let mut flipped = out.clone();
    flipped[6] ^= 0x10;
    assert!(matches!(parse(&flipped), Err(ParseError::Checksum { .. })));
    let mut garbage = vec![0x00, 0xFF, 0x12, 0xFF, 0xFF, 0xFF];
    garbage.extend_from_slice(&out);
    let start = find_header(&garbage);
    assert_eq!(start, 6, "the last two FF of a run of FF start the packet");
    assert_eq!(parse(&garbage[start..]).map(|(p, _)| p.id), Ok(5));
    assert_eq!(find_header(&[0x01, 0xFF]), 1, "a trailing header prefix is kept");
    assert_eq!(find_header(&[0x01, 0xFF, 0xFF, 0xFF]), 2);
    assert_eq!(find_header(&[0x01, 0x02]), 2);
    assert_eq!(parse(&[0xFF, 0xFF, 1, 1, 0, 0]), Err(ParseError::BadLength { len: 1 }));
    assert_eq!(encode(&mut out, 0xFF, 1, &[]), Err(EncodeError::BadId));
    assert_eq!(encode(&mut out, 1, 3, &[&[0; 254]]), Err(EncodeError::TooLong { params: 254 }));
    assert!(encode(&mut out, 1, 3, &[&[0; MAX_PARAMS]]).is_ok());
    assert_eq!(parse(&out).map(|(p, _)| p.params.len()), Ok(MAX_PARAMS));
}

#[test]
fn sign_magnitude_fields_round_trip_and_saturate() {
    assert_eq!(sign_magnitude::decode(0x8000 | 100, 15), -100);
    assert_eq!(sign_magnitude::decode(100, 15), 100);
    assert_eq!(sign_magnitude::decode(0x0400 | 5, 10), -5, "load: sign in bit 10");
    assert_eq!(sign_magnitude::encode(-5, 10), 0x0405);
    assert_eq!(sign_magnitude::encode(5000, 10), 1023, "magnitude saturates below the sign bit");
    for v in [-2047, -1, 0, 1, 2047] {
        assert_eq!(sign_magnitude::decode(sign_magnitude::encode(v, 11), 11), v);
    }
    let p = Present { position: 3000, speed: -250, load: -400, voltage: 121, temperature: 35, status: 0, current: 42 };
    let mut b = [0u8; ct::PRESENT_BLOCK_LEN as usize];
    p.encode(&mut b);
    assert_eq!(Present::decode(&b), Some(p));
    assert_eq!(Present::decode(&b[..5]), None);
    assert_eq!(ct::PRESENT_BLOCK_LEN, 15);
}

#[test]
fn status_bits_are_named() {
    assert_eq!(ServoStatus(ServoStatus::OVERHEAT | ServoStatus::OVERLOAD).to_string(), "overheating, overload");
    assert_eq!(ServoStatus(ServoStatus::VOLTAGE).to_string(), "input voltage error");
    assert!(ServoStatus(0).is_ok());
}

/// A link that answers each instruction with the next scripted reply (optionally echoing the instruction first).
struct Scripted {
    replies: VecDeque<Vec<u8>>,
    pending: VecDeque<u8>,
    echo: bool,
    sent: Vec<Vec<u8>>,
}

impl SerialLink for Scripted {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.sent.push(bytes.to_vec());
        if self.echo {
            self.pending.extend(bytes);
        }
        if let Some(r) = self.replies.pop_front() {
            self.pending.extend(r);
        }
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8], _: Duration) -> io::Result<usize> {
        let n = buf.len().min(self.pending.len()).min(7); // in pieces, as a USB adapter delivers them
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "nothing"));
        }
        for b in buf.iter_mut().take(n) {
            *b = self.pending.pop_front().unwrap_or_default();
        }
        Ok(n)
    }
    fn discard_input(&mut self) -> io::Result<()> {
        self.pending.clear();
        Ok(())
    }
}

fn status(id: u8, error: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&mut out, id, error, &[data]).expect("encode");
    out
}

fn bus(replies: Vec<Vec<u8>>, echo: bool) -> FeetechBus<Scripted> {
    let link = Scripted { replies: replies.into(), pending: VecDeque::new(), echo, sent: Vec::new() };
    FeetechBus::new(link, Duration::from_millis(5))
}

#[test]
fn sync_read_collects_every_servo_in_order_and_skips_an_adapters_echo() {
    for echo in [false, true] {
        let replies = [status(1, 0, &[1, 2]), status(2, 0, &[3, 4]), status(3, 0, &[5, 6])].concat();
        let mut b = bus(vec![replies], echo);
        let mut out = [0u8; 6];
        b.sync_read(ct::PRESENT_POSITION, 2, &[1, 2, 3], &mut out).expect("sync read");
        assert_eq!(out, [1, 2, 3, 4, 5, 6], "echo {echo}");
        assert_eq!(b.link_mut().sent[0], hex("FF FF FE 07 82 38 02 01 02 03 38"));
    }
}

#[test]
fn a_silent_servo_a_stray_reply_and_status_bits_come_back_as_errors_naming_the_servo() {
    let mut b = bus(vec![status(1, 0, &[0, 0])], false);
    let mut out = [0u8; 4];
    assert_eq!(b.sync_read(56, 2, &[1, 2], &mut out), Err(BusError::Timeout { id: 2 }));
    let mut b = bus(vec![status(3, 0, &[0, 0])], false);
    assert_eq!(b.read(2, 56, &mut out[..2]), Err(BusError::WrongId { expected: 2, got: 3 }));
    let mut b = bus(vec![[status(1, ServoStatus::OVERLOAD, &[7, 8]), status(2, 0, &[9, 9])].concat()], false);
    let e = b.sync_read(56, 2, &[1, 2], &mut out);
    assert_eq!(e, Err(BusError::Alert { id: 1, status: ServoStatus(ServoStatus::OVERLOAD) }));
    assert_eq!(out, [7, 8, 9, 9], "the other replies are still collected");
    let mut bad = status(1, 0, &[1, 2]);
    bad[5] ^= 1;
    let mut b = bus(vec![bad], false);
    assert!(matches!(b.read(1, 56, &mut out[..2]), Err(BusError::Corrupt { id: 1, .. })));
    let mut b = bus(vec![status(1, 0, &[1, 2, 3])], false);
    assert_eq!(b.read(1, 56, &mut out[..2]), Err(BusError::Unexpected { id: 1, len: 3 }));
}

#[test]
fn a_torque_becomes_a_goal_offset_through_the_position_stiffness_within_the_bounds() {
    // k = 50 N·m/rad: 1 N·m is a 20 mrad goal offset.
    let g = goal_for_torque(0.3, 1.0, 2.0, 50.0, -2.0, 2.0);
    assert!((g - 0.32).abs() < 1e-12, "{g}");
    // The torque is clamped to τ_max before it becomes an offset.
    assert!((goal_for_torque(0.3, 100.0, 2.0, 50.0, -2.0, 2.0) - 0.34).abs() < 1e-12);
    assert!((goal_for_torque(0.3, -100.0, 2.0, 50.0, -2.0, 2.0) - 0.26).abs() < 1e-12);
    // The goal never leaves the joint limits.
    assert_eq!(goal_for_torque(1.99, 2.0, 2.0, 50.0, -2.0, 2.0), 2.0);
    assert_eq!(goal_for_torque(-1.99, -2.0, 2.0, 50.0, -2.0, 2.0), -2.0);
    // Counts: centre 2048 at the zero offset, 4096 per turn, direction and offset applied, kept within a turn.
    assert_eq!(angle_to_count(0.0, 1.0, 0.0), 2048);
    assert_eq!(angle_to_count(std::f64::consts::FRAC_PI_2, 1.0, 0.0), 3072);
    assert_eq!(angle_to_count(std::f64::consts::FRAC_PI_2, -1.0, 0.0), 1024);
    assert_eq!(angle_to_count(0.5, 1.0, 0.5), 2048);
    assert_eq!(angle_to_count(10.0, 1.0, 0.0), 4095);
    for c in [0, 1000, 2048, 4095] {
        assert_eq!(angle_to_count(count_to_angle(c, -1.0, 0.2), -1.0, 0.2), c);
    }
    // Torque Limit register: 0.1 % of stall, capped at 100 %.
    assert_eq!(torque_limit_register(1.5, 3.0), 500);
    assert_eq!(torque_limit_register(5.0, 3.0), 1000);
    // One 6-servo cycle: 14 B sync read, 6 × 21 B replies, 26 B sync write.
    assert_eq!(cycle_bytes(6), 14 + 126 + 26);
}

#[test]
fn the_shipped_so101_config_is_valid_and_its_model_builds() {
    let file = "hardware_configs/so101.toml";
    let text = include_str!("../../../../hardware_configs/so101.toml");
    let cfg = interfaces::CellConfig::from_toml_str(text, file).unwrap_or_else(|e| panic!("{e}"));
    let interfaces::config::DriverConfig::Feetech(d) = &cfg.driver else { panic!("{:?}", cfg.driver) };
    assert_eq!((d.ids.len(), cfg.robot.dof(), d.gripper_id), (5, 5, Some(6)));
    let m = crate::model::RobotModel::from_config(&cfg.robot).expect("model");
    let mut q = [0.0; interfaces::drivers::MAX_DOF];
    q[..5].copy_from_slice(&cfg.controller.nullspace_posture);
    let tcp = m.kinematics(&q).tcp.translation.vector;
    let ws = cfg.workspace;
    assert!(ws.contains([tcp.x, tcp.y, tcp.z]), "home TCP {tcp:?} outside the workspace {ws:?}");
}
