//! Codec checks against the packet examples of ROBOTIS' Protocol 2.0 e-Manual, and round trips.

use super::protocol::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex")).collect()
}

#[test]
fn crc_and_framing_match_the_manuals_examples() {
    let mut out = Vec::new();
    // Ping ID 1.
    encode(&mut out, 1, inst::PING, &[]).expect("encode");
    assert_eq!(out, hex("FF FF FD 00 01 03 00 01 19 4E"));
    // Read 4 bytes at 132 (Present Position) of ID 1.
    encode(&mut out, 1, inst::READ, &[&[0x84, 0x00, 0x04, 0x00]]).expect("encode");
    assert_eq!(out, hex("FF FF FD 00 01 07 00 02 84 00 04 00 1D 15"));
    // Sync read of the same from IDs 1 and 2.
    encode(&mut out, BROADCAST_ID, inst::SYNC_READ, &[&[0x84, 0x00, 0x04, 0x00, 0x01, 0x02]]).expect("encode");
    assert_eq!(out, hex("FF FF FD 00 FE 09 00 82 84 00 04 00 01 02 CE FA"));
    // The ping's status: model 1030, firmware 38.
    let status = hex("FF FF FD 00 01 07 00 55 00 06 04 26 65 5D");
    let mut scratch = Vec::new();
    let (p, used) = parse(&status, &mut scratch).expect("parse");
    assert_eq!(used, status.len());
    let (err, data) = p.status().expect("a status");
    assert_eq!((p.id, err.code(), data), (1, 0, &[0x06, 0x04, 0x26][..]));
}

#[test]
fn byte_stuffing_round_trips_and_is_required() {
    let mut out = Vec::new();
    let params = [0xFF, 0xFF, 0xFD, 0x00, 0xFF, 0xFF, 0xFD];
    encode(&mut out, 3, inst::WRITE, &[&params]).expect("encode");
    // Two stuffing bytes were added.
    assert_eq!(out.len(), OVERHEAD + 1 + params.len() + 2);
    let mut scratch = Vec::new();
    let (p, _) = parse(&out, &mut scratch).expect("parse");
    assert_eq!(p.params, &params);
    // Remove one stuffing byte and fix up length and CRC: the parser must refuse it.
    let mut bad = out[..out.len() - 2].to_vec();
    let at = bad.windows(4).position(|w| w == [0xFF, 0xFF, 0xFD, 0xFD]).expect("stuffed");
    bad.remove(at + 3);
    let len = (bad.len() - 7 + 2) as u16;
    bad[5..7].copy_from_slice(&len.to_le_bytes());
    let crc = crc16(&bad);
    bad.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(parse(&bad, &mut scratch).map(|_| ()), Err(ParseError::BadStuffing));
}

#[test]
fn corrupt_truncated_and_garbage_inputs_are_reported() {
    let mut out = Vec::new();
    encode(&mut out, 5, inst::STATUS, &[&[0x00, 1, 2, 3]]).expect("encode");
    let mut scratch = Vec::new();
    for cut in 0..out.len() {
        assert!(matches!(parse(&out[..cut], &mut scratch), Err(ParseError::Incomplete { .. })), "cut {cut}");
    }
    let mut flipped = out.clone();
    flipped[9] ^= 0x10;
    assert!(matches!(parse(&flipped, &mut scratch), Err(ParseError::Crc { .. })));
    let mut garbage = vec![0x00, 0xFF, 0x12, 0xFF, 0xFF];
    garbage.extend_from_slice(&out);
    let start = find_header(&garbage);
    assert_eq!(start, 5);
    assert!(parse(&garbage[start..], &mut scratch).is_ok());
    assert_eq!(find_header(&[0x01, 0xFF, 0xFF]), 1, "a trailing header prefix is kept");
    assert_eq!(
        parse(&[0xFF, 0xFF, 0xFD, 0x00, 1, 0xFF, 0xFF], &mut scratch),
        Err(ParseError::BadLength { len: 0xFFFF })
    );
}

#[test]
fn hardware_error_bits_are_named() {
    assert_eq!(HardwareError(0b0010_0100).to_string(), "overheating, overload");
    assert!(StatusError(0x80).alert() && StatusError(0x80).code() == 0);
    assert_eq!(StatusError(0x03).describe(), "CRC error (at the servo)");
}

#[test]
fn the_shipped_dynamixel_arm_config_is_valid_and_its_model_builds() {
    let file = "hardware_configs/dynamixel_xm_arm6.toml";
    let text = include_str!("../../../../hardware_configs/dynamixel_xm_arm6.toml");
    let cfg = interfaces::CellConfig::from_toml_str(text, file).unwrap_or_else(|e| panic!("{e}"));
    let interfaces::config::DriverConfig::Dynamixel(d) = &cfg.driver else { panic!("{:?}", cfg.driver) };
    assert_eq!((d.ids.len(), cfg.robot.dof()), (6, 6));
    assert_eq!(d.series, interfaces::config::ServoSeries::X);
    let m = crate::model::RobotModel::from_config(&cfg.robot).expect("model");
    let mut q = [0.0; interfaces::drivers::MAX_DOF];
    q[..6].copy_from_slice(&cfg.controller.nullspace_posture);
    let tcp = m.kinematics(&q).tcp.translation.vector;
    let ws = cfg.workspace;
    assert!(ws.contains([tcp.x, tcp.y, tcp.z]), "home TCP {tcp:?} outside the workspace {ws:?}");
}

#[test]
fn the_bus_watchdog_is_five_loop_periods_or_200ms_plus_the_timeout_in_20ms_units() {
    use super::arm::bus_watchdog_units;
    assert_eq!(bus_watchdog_units(1000.0, 5.0), 11, "max(5 ms, 200 ms) + 5 ms = 205 ms → 11 units");
    assert_eq!(bus_watchdog_units(10.0, 50.0), 28, "500 ms + 50 ms → 28 units");
    assert_eq!(bus_watchdog_units(f64::NAN, 0.0), 25, "no rate: sized for the slowest loop (10 Hz)");
    assert_eq!(bus_watchdog_units(0.0, 0.0), 25);
    assert_eq!(bus_watchdog_units(1.0, 1e6), 127, "capped at the register's 2.54 s");
    assert_eq!(bus_watchdog_units(4000.0, f64::INFINITY), 10);
    let (x, p) = (
        super::ControlTable::of(interfaces::config::ServoSeries::X),
        super::ControlTable::of(interfaces::config::ServoSeries::P),
    );
    assert_eq!((x.bus_watchdog, p.bus_watchdog), (98, 546), "the e-Manual's Bus Watchdog addresses");
    assert!(usize::from(p.bus_watchdog) < p.size() && usize::from(x.bus_watchdog) < x.size());
}
