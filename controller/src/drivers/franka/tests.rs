//! Codec checks: command framing, datagram layouts and round trips.

use super::protocol::*;

#[test]
fn the_datagram_layouts_have_the_protocols_sizes() {
    assert_eq!(STATE_LEN, 2373);
    assert_eq!(COMMAND_LEN, 370);
}

#[test]
fn a_connect_message_is_framed_little_endian() {
    let mut out = Vec::new();
    encode(&mut out, command::CONNECT, 7, &[&connect_request(40_000)]);
    assert_eq!(out.len(), HEADER_LEN + 4);
    assert_eq!(&out[..12], &[0, 0, 0, 0, 7, 0, 0, 0, 16, 0, 0, 0]);
    assert_eq!(&out[12..], &[5, 0, 0x40, 0x9C]);
    let (h, payload, used) = parse(&out).expect("parse");
    assert_eq!((h.command, h.command_id, h.size, payload.len(), used), (0, 7, 16, 4, 16));
}

#[test]
fn framing_errors_are_told_apart() {
    assert_eq!(parse(&[0; 5]), Err(ParseError::Incomplete { need: HEADER_LEN }));
    let mut m = Vec::new();
    encode(&mut m, command::MOVE, 1, &[&[0; 4]]);
    assert_eq!(parse(&m[..14]), Err(ParseError::Incomplete { need: 16 }));
    m[8] = 3;
    assert_eq!(parse(&m), Err(ParseError::BadSize { size: 3 }));
    encode(&mut m, 99, 1, &[]);
    assert_eq!(parse(&m), Err(ParseError::UnknownCommand { command: 99 }));
}

#[test]
fn states_and_commands_round_trip_and_bad_flags_are_refused() {
    let s = RobotState {
        message_id: 123_456,
        tau_j: [1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0],
        tau_j_d: [0.5; 7],
        q: [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785],
        dq: [0.01; 7],
        motion_generator_mode: STATE_MOTION_JOINT_VELOCITY,
        controller_mode: STATE_CONTROLLER_EXTERNAL,
        errors: Errors::default().with(ERROR_JOINT_REFLEX),
        reflex_reason: Errors::default().with(ERROR_CARTESIAN_REFLEX).with(40),
        robot_mode: robot_mode::REFLEX,
        control_command_success_rate: 0.97,
    };
    let mut b = [0u8; STATE_LEN];
    s.encode(&mut b);
    assert_eq!(RobotState::decode(&b), Ok(s));
    assert_eq!(RobotState::decode(&b[1..]), Err(DatagramError::Size { got: STATE_LEN - 1, want: STATE_LEN }));
    let at = b.iter().rposition(|&x| x == 1).expect("a flag byte");
    b[at] = 2;
    assert!(matches!(RobotState::decode(&b), Err(DatagramError::Flag { .. })));
    let c = RobotCommand { message_id: 9, dq_c: [0.0; 7], motion_finished: true, tau_j_d: [1.5; 7] };
    let mut b = [0u8; COMMAND_LEN];
    c.encode(&mut b);
    assert_eq!(RobotCommand::decode(&b), Ok(c));
    assert_eq!(&b[COMMAND_LEN - 8..], &1.5f64.to_le_bytes());
}

#[test]
fn error_flags_are_named() {
    let e = Errors::default().with(ERROR_JOINT_REFLEX).with(ERROR_COMMUNICATION);
    assert_eq!(e.to_string(), "joint reflex, communication constraints violation");
    assert_eq!(Errors::default().to_string(), "no error flags");
    assert!(!Errors::default().with(64).has(64));
}

#[test]
fn the_collision_request_carries_the_thresholds_in_order() {
    let b = collision_request(&[1.0; 7], &[2.0; 7], &[3.0; 6], &[4.0; 6]);
    assert_eq!(b.len(), 8 * 52);
    let f = |i: usize| f64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
    assert_eq!((f(0), f(7), f(14), f(21), f(28), f(34), f(40), f(46)), (1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0));
}

#[test]
fn the_message_id_window_is_the_deadline_or_100_ids_plus_twice_the_elapsed_ms() {
    use super::arm::message_id_window;
    use std::time::Duration;
    assert_eq!(message_id_window(Duration::from_millis(5), Duration::ZERO), 100);
    assert_eq!(message_id_window(Duration::from_millis(200), Duration::from_millis(10)), 220);
    assert_eq!(message_id_window(Duration::from_millis(5), Duration::from_secs(3600)), 100 + 7_200_000);
    assert!(message_id_window(Duration::MAX, Duration::MAX) < u64::MAX / 2, "no overflow");
}
