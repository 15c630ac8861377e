//! The seed corpora (`corpus/<target>/<name>`): real messages, reports, configs and packets, built with the
//! project's own encoders. `cargo run --example gen_corpus` writes them; `tests/corpus.rs` checks that they
//! are checked in and pass their targets' contracts.

use crate::bus::TYPES;
use crate::bus_codec::encode;
use crate::default_cell;
use crate::drivers::{SYNC_IDS, SYNC_LEN};
use crate::teleop::{GAMEPAD_AXES, gamepad_input};
use controller::drivers::dynamixel::protocol as dxl;
use controller::drivers::feetech::protocol as ft;
use controller::drivers::franka::protocol as fci;
use controller::drivers::ur_rtde::protocol as rtde;
use interfaces::config::GamepadConfig;
use interfaces::msg::{
    ArmState, Command, ControllerMode, Event, Frame, GripperCommand, GripperState, Header, LearnerMetrics, Level,
    LimitCounters, Message, OperatorCommand, PixelEncoding, Pose, PoseTarget, TeleopCommand,
};
use interfaces::msg_training::{
    EpisodeReport, ObservationMsg, PolicyWeights, SceneReset, SceneState, TransitionAck, TransitionMsg,
};
use interfaces::time::Stamp;
use serde_bytes::ByteBuf;

/// One seed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// Target (folder under `corpus/`).
    pub target: &'static str,
    /// File name.
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Every target's seeds.
pub fn all() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, list: Vec<(String, Vec<u8>)>| {
        out.extend(list.into_iter().map(|(name, bytes)| Seed { target, name, bytes }));
    };
    add("bus_decode", bus_decode());
    add("spacemouse_report", spacemouse_report());
    add("spacemouse_uevent", spacemouse_uevent());
    add("gamepad_mapping", gamepad_mapping());
    add("config_toml", config_toml());
    add("dynamixel_packet", dynamixel_packet());
    add("dynamixel_bus", dynamixel_bus());
    add("feetech_packet", feetech_packet());
    add("feetech_bus", feetech_bus());
    add("franka_fci", franka_fci());
    add("ur_rtde", ur_rtde());
    out
}

fn header(seq: u64) -> Header {
    Header { seq, stamp_ns: Stamp(1_700_000_000 + seq * 1_000_000) }
}

/// `[k] ++ envelope`, `k` selecting the message's type in [`crate::bus_decode`].
fn envelope<T: Message>(msg: &T) -> Vec<u8> {
    let k = TYPES.iter().position(|t| *t == T::TYPE).expect("a fuzzed type") as u8;
    let mut b = vec![k];
    b.extend(encode(msg).expect("encodes"));
    b
}

fn pose() -> Pose {
    Pose { position: [0.45, -0.05, 0.32], orientation: [0.0, 1.0, 0.0, 0.0] }
}

fn observation(proprio: usize, cameras: usize, side: usize, shade: u8) -> ObservationMsg {
    ObservationMsg {
        proprio: (0..proprio).map(|i| i as f32 * 0.1 - 0.4).collect(),
        images: (0..cameras)
            .map(|c| ByteBuf::from((0..side * side * 3).map(|i| shade ^ (i + c) as u8).collect::<Vec<u8>>()))
            .collect(),
    }
}

fn bus_decode() -> Vec<(String, Vec<u8>)> {
    let q = vec![0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785];
    let arm = ArmState {
        header: header(1200),
        mode: ControllerMode::Tracking,
        q: q.clone(),
        dq: vec![0.01; 7],
        tau: vec![0.5, -12.0, 0.2, 8.0, 0.1, 1.5, 0.0],
        ee_pose: pose(),
        ee_twist: [0.02, 0.0, -0.01, 0.0, 0.0, 0.1],
        pose_target: pose(),
        gripper: GripperState { width: 0.04, target_width: 0.0, force: 20.0 },
        estop: false,
        limits: LimitCounters { workspace_clamps: 3, torque_clamps: 1, ..LimitCounters::default() },
        deadline_misses: 2,
        cycles: 1200,
    };
    let estopped = ArmState { mode: ControllerMode::EStopped, estop: true, q, ..ArmState::default() };
    let target =
        PoseTarget { header: header(17), pose: pose(), gripper: Some(GripperCommand { width: 0.0, force: 40.0 }) };
    let command = |seq, command| OperatorCommand { header: header(seq), command };
    let gains = default_cell().controller.gains;
    let transition = TransitionMsg {
        header: header(42),
        actor: "actor-0".into(),
        obs: observation(10, 2, 4, 0x30),
        action: vec![0.1, -0.2, 0.0, 0.0, 0.0, 0.3],
        gripper: 1,
        reward: 0.0,
        next_obs: observation(10, 2, 4, 0x31),
        done: false,
        truncated: false,
        intervention: true,
        gripper_changed: false,
        demo: false,
        episode: 3,
        obs_stamp_ns: 1_700_000_000,
        nonce: 0x5eed_f0ac_7012_c3d4,
    };
    // The learner's session, named in its acknowledgements and weights.
    let learner = || "learner@1700000000000000000".to_string();
    // A small safetensors file: its JSON header's length (u64 LE), the header, then one f32 tensor.
    let tensors = {
        let head = r#"{"actor.w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut b = (head.len() as u64).to_le_bytes().to_vec();
        b.extend(head.as_bytes());
        [0.5f32, -1.25].iter().for_each(|x| b.extend(x.to_le_bytes()));
        b
    };
    vec![
        ("arm_state".into(), envelope(&arm)),
        ("arm_state_estopped".into(), envelope(&estopped)),
        ("pose_target".into(), envelope(&target)),
        ("pose_target_no_gripper".into(), envelope(&PoseTarget { gripper: None, ..target.clone() })),
        ("operator_estop".into(), envelope(&command(1, Command::EStop))),
        ("operator_label".into(), envelope(&command(2, Command::Label(true)))),
        ("operator_set_gains".into(), envelope(&command(3, Command::SetGains(gains)))),
        (
            "teleop_command".into(),
            envelope(&TeleopCommand {
                header: header(9),
                device: "spacemouse".into(),
                twist: [0.05, 0.0, -0.02, 0.0, 0.1, 0.0],
                gripper_close: Some(true),
                takeover: true,
            }),
        ),
        ("transition".into(), envelope(&transition)),
        (
            "policy_weights".into(),
            envelope(&PolicyWeights {
                header: header(5),
                version: 5,
                updates: 2500,
                safetensors: tensors,
                learner: learner(),
            }),
        ),
        (
            "transition_ack".into(),
            envelope(&TransitionAck { header: header(6), actor: "actor-0".into(), upto: 41, learner: learner() }),
        ),
        (
            "episode_report".into(),
            envelope(&EpisodeReport {
                header: header(7),
                episode: 3,
                episode_return: 1.0,
                success: true,
                length: 57,
                interventions: 1,
                intervention_steps: 12,
                policy_version: 5,
                cycle_ms: 99.7,
                eval: false,
            }),
        ),
        (
            "learner_metrics".into(),
            envelope(&LearnerMetrics {
                header: header(8),
                step: 4000,
                updates: 2500,
                updates_per_s: 48.5,
                critic_loss: Some(0.12),
                temperature: Some(0.05),
                success_rate: Some(0.6),
                online_size: 3900,
                demo_size: 2100,
                policy_version: 5,
                ..LearnerMetrics::default()
            }),
        ),
        (
            "frame".into(),
            envelope(&Frame {
                header: header(10),
                camera: "wrist".into(),
                width: 4,
                height: 2,
                encoding: PixelEncoding::Rgb8,
                data: (0..24).collect(),
            }),
        ),
        (
            "event".into(),
            envelope(&Event {
                header: header(11),
                node: "controller".into(),
                level: Level::Warn,
                text: "pose target clamped into the workspace".into(),
            }),
        ),
        ("scene_reset".into(), envelope(&SceneReset { header: header(12), seed: 7 })),
        (
            "scene_state".into(),
            envelope(&SceneState { header: header(13), seed: Some(7), goal: [0.5, 0.0, 0.1], cube: pose() }),
        ),
    ]
}

/// `[length] ++ report`, as [`crate::spacemouse_report`] reads them.
fn reports(list: &[Vec<u8>]) -> Vec<u8> {
    list.iter().flat_map(|r| std::iter::once(r.len() as u8).chain(r.iter().copied())).collect()
}

fn axes_report(id: u8, axes: &[i16]) -> Vec<u8> {
    std::iter::once(id).chain(axes.iter().flat_map(|a| a.to_le_bytes())).collect()
}

fn buttons_report(mask: u32, bytes: usize) -> Vec<u8> {
    std::iter::once(3).chain(mask.to_le_bytes().into_iter().take(bytes)).collect()
}

fn spacemouse_report() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "split_compact".into(),
            reports(&[axes_report(1, &[350, 0, 40]), axes_report(2, &[-10, 0, 0]), buttons_report(1, 1)]),
        ),
        (
            "split_pro_buttons".into(),
            reports(&[
                axes_report(1, &[0, -100, -200]),
                axes_report(2, &[0, 0, -350]),
                buttons_report(0x0202, 4),
                buttons_report(0, 4),
            ]),
        ),
        ("combined_wireless".into(), reports(&[axes_report(1, &[12, -300, 5, 7, -2, 120]), buttons_report(2, 2)])),
        ("battery_and_short".into(), reports(&[vec![0x17, 0x64], axes_report(1, &[16]), vec![3], vec![]])),
    ]
}

fn spacemouse_uevent() -> Vec<(String, Vec<u8>)> {
    let uevent = |driver: &str, vendor: u16, product: u16, name: &str| {
        format!(
            "DRIVER={driver}\nHID_ID=0003:{vendor:08X}:{product:08X}\nHID_NAME={name}\nHID_PHYS=usb-0000:00:14.0-2/input0\nHID_UNIQ=\nMODALIAS=hid:b0003g0001v{vendor:08X}p{product:08X}\n"
        )
    };
    vec![
        ("compact".into(), uevent("hid-generic", 0x256f, 0xc635, "3Dconnexion SpaceMouse Compact").into_bytes()),
        ("pro_logitech".into(), uevent("hid-generic", 0x046d, 0xc62b, "3Dconnexion SpaceMouse Pro").into_bytes()),
        ("receiver".into(), uevent("hid-generic", 0x256f, 0xc652, "3Dconnexion Universal Receiver").into_bytes()),
        ("not_a_spacemouse".into(), uevent("hid-multitouch", 0x04f3, 0x0c4b, "ELAN Touchscreen").into_bytes()),
    ]
}

fn gamepad_mapping() -> Vec<(String, Vec<u8>)> {
    let cfg = GamepadConfig::default();
    let rest = [0.0; GAMEPAD_AXES];
    let pushed = [0.8, -1.0, 0.05, 0.5, -0.3, 1.0, 0.0];
    let mut sparse = GamepadConfig { deadzone: 0.3, signs: [1.0, 0.0, -1.0, 1.0, 0.0, -1.0], ..cfg.clone() };
    sparse.buttons.takeover = None;
    vec![
        ("at_rest".into(), gamepad_input(&rest, 0, &cfg)),
        ("sticks_and_dpad".into(), gamepad_input(&pushed, 1 << 4, &cfg)),
        ("inside_dead_zone".into(), gamepad_input(&[0.1, -0.1, 0.05, 0.11, 0.0, 0.0, 0.0], 0, &cfg)),
        ("both_gripper_buttons".into(), gamepad_input(&pushed, 0b11 | 1 << 9, &cfg)),
        ("other_mapping".into(), gamepad_input(&pushed, 1 << 2 | 1 << 8, &sparse)),
    ]
}

fn config_toml() -> Vec<(String, Vec<u8>)> {
    let files = [
        ("sim_panda", include_str!("../../hardware_configs/sim_panda.toml")),
        ("franka_panda", include_str!("../../hardware_configs/franka_panda.toml")),
        ("ur5e", include_str!("../../hardware_configs/ur5e.toml")),
        ("dynamixel_xm_arm6", include_str!("../../hardware_configs/dynamixel_xm_arm6.toml")),
        ("so101", include_str!("../../hardware_configs/so101.toml")),
    ];
    let mut out: Vec<(String, Vec<u8>)> =
        files.iter().map(|(name, text)| (format!("{name}.toml"), text.as_bytes().to_vec())).collect();
    let mut cfg = default_cell().clone();
    out.push(("sim_panda_written.toml".into(), cfg.to_toml_string().expect("writes").into_bytes()));
    cfg.controller.rate_hz = 5.0;
    cfg.teleop.gamepad.axes[0] = 9;
    out.push(("invalid_values.toml".into(), cfg.to_toml_string().expect("writes").into_bytes()));
    out
}

fn dxl_packet(id: u8, instruction: u8, pieces: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    dxl::encode(&mut b, id, instruction, pieces).expect("encodes");
    b
}

fn dxl_status(id: u8, error: u8, data: &[u8]) -> Vec<u8> {
    dxl_packet(id, dxl::inst::STATUS, &[&[error], data])
}

fn dynamixel_packet() -> Vec<(String, Vec<u8>)> {
    let sync_read = [&126u16.to_le_bytes()[..], &SYNC_LEN.to_le_bytes(), &SYNC_IDS].concat();
    let ping_reply = dxl_status(1, 0, &[0x20, 0x04, 0x2A]);
    vec![
        ("ping".into(), dxl_packet(1, dxl::inst::PING, &[])),
        ("ping_reply".into(), ping_reply.clone()),
        ("read_reply".into(), dxl_status(2, 0, &(-1234i32).to_le_bytes())),
        ("sync_read".into(), dxl_packet(dxl::BROADCAST_ID, dxl::inst::SYNC_READ, &[&sync_read])),
        ("write_torque_enable".into(), dxl_packet(3, dxl::inst::WRITE, &[&64u16.to_le_bytes(), &[1]])),
        ("stuffed_status".into(), dxl_status(1, 0, &[0xFF, 0xFF, 0xFD, 0x00, 0xFF, 0xFF, 0xFD, 0xFD])),
        ("alert_status".into(), dxl_status(4, 0x80, &[0; 10])),
        ("garbage_then_reply".into(), [&ping_reply[3..], &ping_reply[..]].concat()),
    ]
}

fn dynamixel_bus() -> Vec<(String, Vec<u8>)> {
    let sync = |alert: u8| -> Vec<u8> {
        SYNC_IDS
            .iter()
            .flat_map(|&id| {
                let data: Vec<u8> = (0..SYNC_LEN as u8).map(|i| i.wrapping_mul(id).wrapping_add(0x10)).collect();
                dxl_status(id, if id == 2 { alert } else { 0 }, &data)
            })
            .collect()
    };
    let instruction_echo = dxl_packet(
        dxl::BROADCAST_ID,
        dxl::inst::SYNC_READ,
        &[&[&126u16.to_le_bytes()[..], &SYNC_LEN.to_le_bytes(), &SYNC_IDS].concat()],
    );
    let seed = |op: u8, chunk: u8, stream: &[u8]| [&[op, chunk][..], stream].concat();
    vec![
        ("ping".into(), seed(0, 63, &dxl_status(1, 0, &[0x20, 0x04, 0x2A]))),
        ("read_in_bytes".into(), seed(1, 0, &dxl_status(2, 0, &(-1234i32).to_le_bytes()))),
        ("write_ack".into(), seed(2, 7, &dxl_status(3, 0, &[]))),
        ("sync_read".into(), seed(3, 63, &sync(0))),
        ("sync_read_echo_and_alert".into(), seed(3, 11, &[instruction_echo, sync(0x80)].concat())),
        ("refused".into(), seed(1, 63, &dxl_status(2, 0x07, &[]))),
    ]
}

fn ft_packet(id: u8, code: u8, params: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    ft::encode(&mut b, id, code, &[params]).expect("encodes");
    b
}

fn feetech_packet() -> Vec<(String, Vec<u8>)> {
    let reply = ft_packet(1, 0, &[0x00, 0x08]);
    vec![
        ("ping".into(), ft_packet(1, ft::inst::PING, &[])),
        ("read".into(), ft_packet(1, ft::inst::READ, &[56, 2])),
        ("read_reply".into(), reply.clone()),
        ("sync_read".into(), ft_packet(ft::BROADCAST_ID, ft::inst::SYNC_READ, &[56, 15, 1, 2, 3])),
        ("sync_write".into(), ft_packet(ft::BROADCAST_ID, ft::inst::SYNC_WRITE, &[42, 2, 1, 0, 8, 2, 0, 8])),
        ("overload_status".into(), ft_packet(4, ft::ServoStatus::OVERLOAD, &[])),
        ("garbage_then_reply".into(), [&[0xFF, 0x12, 0xFF, 0xFF, 0xFF][..], &reply].concat()),
    ]
}

fn feetech_bus() -> Vec<(String, Vec<u8>)> {
    let sync = |status: u8| -> Vec<u8> {
        SYNC_IDS
            .iter()
            .flat_map(|&id| {
                let data: Vec<u8> = (0..15u8).map(|i| i.wrapping_mul(id).wrapping_add(0x10)).collect();
                ft_packet(id, if id == 2 { status } else { 0 }, &data)
            })
            .collect()
    };
    let echo = ft_packet(ft::BROADCAST_ID, ft::inst::SYNC_READ, &[56, 15, 1, 2, 3]);
    let seed = |op: u8, chunk: u8, stream: &[u8]| [&[op, chunk][..], stream].concat();
    vec![
        ("ping".into(), seed(0, 63, &ft_packet(1, 0, &[]))),
        ("read_in_bytes".into(), seed(1, 0, &ft_packet(2, 0, &[0x00, 0x08]))),
        ("write_ack".into(), seed(2, 7, &ft_packet(3, 0, &[]))),
        ("sync_read".into(), seed(3, 63, &sync(0))),
        ("sync_read_echo_and_overload".into(), seed(3, 11, &[echo, sync(ft::ServoStatus::OVERLOAD)].concat())),
    ]
}

fn fci_message(command: u32, id: u32, parts: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    fci::encode(&mut b, command, id, parts);
    b
}

fn franka_fci() -> Vec<(String, Vec<u8>)> {
    use fci::command::{CONNECT, MOVE, SET_COLLISION_BEHAVIOR};
    let connect_reply = fci_message(CONNECT, 1, &[&[0], &fci::FCI_VERSION.to_le_bytes()]);
    let collision = fci::collision_request(&[20.0; 7], &[40.0; 7], &[20.0; 6], &[40.0; 6]);
    let replies = [
        connect_reply.clone(),
        fci_message(SET_COLLISION_BEHAVIOR, 2, &[&[0]]),
        fci_message(MOVE, 3, &[&[fci::move_status::MOTION_STARTED]]),
        fci_message(MOVE, 3, &[&[fci::move_status::REFLEX_ABORTED]]),
    ]
    .concat();
    let requests = [
        fci_message(CONNECT, 1, &[&fci::connect_request(49152)]),
        fci_message(SET_COLLISION_BEHAVIOR, 2, &[&collision]),
        fci_message(MOVE, 3, &[&fci::move_request([0.1, 0.2, 0.3], [0.1, 0.2, 0.3])]),
    ]
    .concat();
    let state = |s: fci::RobotState| {
        let mut b = [0u8; fci::STATE_LEN];
        s.encode(&mut b);
        b.to_vec()
    };
    let moving = fci::RobotState {
        message_id: 1041,
        q: [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785],
        dq: [0.001; 7],
        tau_j: [0.2, -14.0, 0.5, 10.0, 0.3, 1.8, 0.0],
        robot_mode: fci::robot_mode::MOVE,
        controller_mode: fci::STATE_CONTROLLER_EXTERNAL,
        motion_generator_mode: fci::STATE_MOTION_JOINT_VELOCITY,
        control_command_success_rate: 0.98,
        ..fci::RobotState::default()
    };
    let reflex = fci::RobotState {
        robot_mode: fci::robot_mode::REFLEX,
        errors: fci::Errors::default().with(fci::ERROR_JOINT_REFLEX),
        reflex_reason: fci::Errors::default().with(fci::ERROR_JOINT_REFLEX).with(fci::ERROR_COMMUNICATION),
        ..moving
    };
    let mut command = [0u8; fci::COMMAND_LEN];
    fci::RobotCommand { message_id: 1041, tau_j_d: [0.1, -0.5, 0.0, 0.4, 0.0, 0.05, 0.0], ..Default::default() }
        .encode(&mut command);
    vec![
        ("connect_reply".into(), connect_reply),
        ("handshake_replies".into(), replies),
        ("handshake_requests".into(), requests),
        (
            "state_idle".into(),
            state(fci::RobotState { message_id: 1, robot_mode: fci::robot_mode::IDLE, ..Default::default() }),
        ),
        ("state_moving".into(), state(moving)),
        ("state_reflex".into(), state(reflex)),
        ("command".into(), command.to_vec()),
    ]
}

fn rtde_package(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    rtde::encode(&mut b, kind, parts).expect("encodes");
    b
}

fn ur_rtde() -> Vec<(String, Vec<u8>)> {
    use rtde::kind;
    let names = |types: &[rtde::FieldType]| types.iter().map(|t| t.name()).collect::<Vec<_>>().join(",");
    let text = |message: &str, source: &str, level: u8| {
        [&[message.len() as u8][..], message.as_bytes(), &[source.len() as u8], source.as_bytes(), &[level]].concat()
    };
    let state = rtde::RobotState {
        timestamp: 1234.5,
        q: [0.0, -1.571, 1.571, -1.571, -1.571, 0.0],
        qd: [0.0; 6],
        current: [0.1, 1.2, 0.8, 0.2, 0.05, 0.01],
        robot_mode: rtde::robot_mode::RUNNING,
        safety_mode: rtde::safety_mode::NORMAL,
        runtime_state: rtde::runtime_state::PLAYING,
    };
    let mut data = [0u8; 1 + rtde::OUTPUT_LEN];
    state.encode(1, &mut data);
    let mut stopped = [0u8; 1 + rtde::OUTPUT_LEN];
    rtde::RobotState { safety_mode: rtde::safety_mode::PROTECTIVE_STOP, ..state }.encode(1, &mut stopped);
    let mut input = [0u8; 1 + rtde::INPUT_LEN];
    rtde::Command {
        tau: [0.5, -3.0, 1.0, 0.1, 0.0, 0.0],
        stop_deceleration: 4.0,
        counter: 17,
        stop: 0,
        watchdog_cycles: 10,
    }
    .encode(2, &mut input);
    let version = rtde::ControllerVersion { major: 5, minor: 22, bugfix: 0, build: 1234 }.to_reply();
    let handshake = [
        rtde_package(kind::REQUEST_PROTOCOL_VERSION, &[&[1]]),
        rtde_package(kind::GET_URCONTROL_VERSION, &[&version]),
        rtde_package(kind::SETUP_OUTPUTS, &[&[1], names(&rtde::OUTPUT_TYPES).as_bytes()]),
        rtde_package(kind::SETUP_INPUTS, &[&[2], names(&rtde::input_types()).as_bytes()]),
        rtde_package(kind::START, &[&[1]]),
        rtde_package(kind::DATA_PACKAGE, &[&data]),
    ]
    .concat();
    let (double, int32) = (rtde::FieldType::Double.name(), rtde::FieldType::Int32.name());
    let outputs_request = [&500.0f64.to_be_bytes()[..], rtde::OUTPUT_FIELDS.join(",").as_bytes()].concat();
    vec![
        ("handshake".into(), handshake),
        (
            "data_stream".into(),
            [rtde_package(kind::DATA_PACKAGE, &[&data]), rtde_package(kind::DATA_PACKAGE, &[&stopped])].concat(),
        ),
        ("input_command".into(), rtde_package(kind::DATA_PACKAGE, &[&input])),
        ("setup_outputs_request".into(), rtde_package(kind::SETUP_OUTPUTS, &[&outputs_request])),
        (
            "recipe_not_found".into(),
            rtde_package(kind::SETUP_INPUTS, &[&[0], [double, "NOT_FOUND", int32].join(",").as_bytes()]),
        ),
        (
            "text_message".into(),
            rtde_package(kind::TEXT_MESSAGE, &[&text("Protective stop: joint 3", "Controller", 1)]),
        ),
    ]
}
