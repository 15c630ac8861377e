//! Codec checks: framing, recipes, data packages and text messages.

use super::protocol::*;

#[test]
fn a_protocol_version_request_is_framed_big_endian() {
    let mut out = Vec::new();
    encode(&mut out, kind::REQUEST_PROTOCOL_VERSION, &[&PROTOCOL_VERSION.to_be_bytes()]).expect("encode");
    assert_eq!(out, [0x00, 0x05, b'V', 0x00, 0x02]);
    let (p, used) = parse(&out).expect("parse");
    assert_eq!((p.kind, p.payload, used), (b'V', &[0x00, 0x02][..], 5));
}

#[test]
fn framing_errors_are_told_apart() {
    assert_eq!(parse(&[0x00]), Err(ParseError::Incomplete { need: HEADER_LEN }));
    assert_eq!(parse(&[0x00, 0x02, b'U']), Err(ParseError::BadSize { size: 2 }));
    assert_eq!(parse(&[0x20, 0x00, b'U']), Err(ParseError::BadSize { size: 0x2000 }));
    assert_eq!(parse(&[0x00, 0x04, b'x', 0]), Err(ParseError::UnknownType { kind: b'x' }));
    assert_eq!(parse(&[0x00, 0x08, b'U', 1]), Err(ParseError::Incomplete { need: 8 }));
}

#[test]
fn recipe_replies_give_types_or_name_the_refused_field() {
    let r = Recipe::from_reply(b"\x01DOUBLE,VECTOR6D,INT32").expect("recipe");
    assert_eq!((r.id, r.data_len()), (1, 8 + 48 + 4));
    assert!(r.expect(&[FieldType::Double, FieldType::Vector6d, FieldType::Int32]).is_ok());
    assert!(r.expect(&[FieldType::Double]).is_err());
    assert_eq!(Recipe::from_reply(b"\x02DOUBLE,IN_USE"), Err(RecipeError::InUse { index: 1 }));
    assert_eq!(Recipe::from_reply(b"\x02NOT_FOUND"), Err(RecipeError::NotFound { index: 0 }));
    assert_eq!(Recipe::from_reply(b"\x02FLOAT"), Err(RecipeError::UnknownType { index: 0 }));
    assert_eq!(Recipe::from_reply(b""), Err(RecipeError::Malformed));
}

#[test]
fn state_and_command_packages_round_trip() {
    let s = RobotState {
        timestamp: 12.5,
        q: [0.1, -1.5, 1.5, -1.5, -1.5, 0.0],
        qd: [0.01; 6],
        current: [-0.5, 1.0, 2.0, 0.1, 0.2, 0.3],
        robot_mode: robot_mode::RUNNING,
        safety_mode: safety_mode::NORMAL,
        runtime_state: runtime_state::PLAYING,
    };
    let mut b = [0u8; 1 + OUTPUT_LEN];
    s.encode(3, &mut b);
    assert_eq!(RobotState::decode(&b, 3), Ok(s));
    assert_eq!(RobotState::decode(&b, 4), Err(DataError::WrongRecipe { got: 3, want: 4 }));
    assert_eq!(RobotState::decode(&b[..50], 3), Err(DataError::WrongLength { got: 49, want: OUTPUT_LEN }));
    let c = Command {
        tau: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        stop_deceleration: 4.0,
        counter: 7,
        stop: 1,
        watchdog_cycles: 10,
    };
    let mut b = [0u8; 1 + INPUT_LEN];
    c.encode(2, &mut b);
    assert_eq!(Command::decode(&b, 2), Ok(c));
    assert_eq!(&b[1..9], &1.0f64.to_be_bytes());
    assert_eq!(&b[1 + 56..1 + 60], &7i32.to_be_bytes());
}

#[test]
fn input_fields_name_the_register_block() {
    let f = input_fields(24);
    let names: Vec<&str> = f.split(',').collect();
    assert_eq!(names.len(), INPUT_DOUBLES + INPUT_INTS);
    assert_eq!(names[0], "input_double_register_24");
    assert_eq!(names[6], "input_double_register_30");
    assert_eq!(names[7], "input_int_register_24");
    assert_eq!(names[9], "input_int_register_26");
    assert_eq!(input_types().len(), names.len());
}

#[test]
fn text_messages_parse_and_malformed_ones_are_refused() {
    let p = [&[5u8][..], b"hello", &[3], b"src", &[2]].concat();
    assert_eq!(text_message(&p), Some(TextMessage { message: "hello", source: "src", level: 2 }));
    assert_eq!(text_message(&p[..p.len() - 1]), None);
    assert_eq!(text_message(&[9, b'a']), None);
}

#[test]
fn controller_versions_round_trip_and_order() {
    let v = ControllerVersion { major: 5, minor: 22, bugfix: 1, build: 1234 };
    assert_eq!(ControllerVersion::from_reply(&v.to_reply()), Some(v));
    assert_eq!(ControllerVersion::from_reply(&[0; 15]), None);
    assert!(v > ControllerVersion { major: 5, minor: 21, bugfix: 9, build: 0 });
    assert_eq!(v.to_string(), "5.22.1.1234");
}

#[test]
fn the_timestamp_window_is_the_deadline_or_100ms_plus_twice_the_elapsed_time() {
    use super::arm::timestamp_window_s;
    use std::time::Duration;
    assert_eq!(timestamp_window_s(Duration::from_millis(10), Duration::ZERO), 0.1);
    assert!((timestamp_window_s(Duration::from_millis(200), Duration::from_millis(50)) - 0.3).abs() < 1e-12);
    assert!(f64::INFINITY > timestamp_window_s(Duration::from_millis(10), Duration::from_secs(1)));
}
