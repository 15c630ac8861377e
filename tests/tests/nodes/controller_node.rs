//! `corrigo controller` driving a Dynamixel arm through the real serial code path (an emulated servo chain on a
//! pseudo-terminal, backed by the MuJoCo arm): it follows a pose target sent on the bus (to within 1 cm: the X
//! series' coarse current steps leave a few mm of steady-state error under gravity), and when a servo stops
//! answering it faults, holds the arm, publishes an error naming the port and the servo, and exits with the
//! safety-stop code.

use interfaces::CellConfig;
use interfaces::config::{DriverConfig, ServoSeries};
use interfaces::keys::{ARM_STATE, EVENT, POSE_TARGET};
use interfaces::msg::{ArmState, ControllerMode, Event, Header, Level, PoseTarget};
use sim::SimWorld;
use sim::emulators::dynamixel::{DynamixelEmulator, EmulatorOptions};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tests::common;

/// The Dynamixel arm's config with the emulator's port, a private bus port and margins for a loaded CI machine.
fn dynamixel_cell(port_path: &str, bus_port: u16) -> CellConfig {
    let mut cfg = common::shipped("dynamixel_xm_arm6.toml");
    common::on_port(&mut cfg, bus_port);
    let DriverConfig::Dynamixel(dxl) = &mut cfg.driver else { panic!("a dynamixel config") };
    dxl.port = port_path.to_string();
    dxl.inverted = vec![false; dxl.ids.len()];
    dxl.timeout_ms = 50.0;
    cfg.controller.realtime = false;
    // A shared test machine (steal time, parallel tests) delays a 500 Hz loop on a pseudo-terminal by hundreds of
    // µs now and then: count as misses only cycles a whole period late.
    cfg.controller.deadline_miss_us = 2000.0;
    common::checked(cfg)
}

fn wait_state(states: &bus::Subscriber<ArmState>, what: &str, ok: impl Fn(&ArmState) -> bool) -> ArmState {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(s) = states.recv_timeout(Duration::from_millis(100)) {
            if ok(&s.msg) {
                return s.msg;
            }
            last = Some(s.msg);
        }
    }
    panic!("{what}: not within 15 s; last state: {last:?}");
}

#[test]
fn corrigo_controller_drives_a_dynamixel_arm_and_faults_safely_when_a_servo_goes_silent() {
    let dir = tempfile::tempdir().unwrap();
    let bus_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // The emulator first (its port goes into the config), from the same arm model.
    let probe = dynamixel_cell("/dev/null", bus_port);
    let DriverConfig::Dynamixel(dxl) = &probe.driver else { panic!("a dynamixel config") };
    assert_eq!(dxl.series, ServoSeries::X);
    let opts = EmulatorOptions {
        series: dxl.series,
        ids: dxl.ids.clone(),
        torque_constant: dxl.torque_constant.clone(),
        ..EmulatorOptions::for_dof(dxl.ids.len())
    };
    let (emu, _observer) = DynamixelEmulator::spawn(SimWorld::new(&probe).expect("world"), opts).expect("emulator");
    let cfg_path = dir.path().join("cell.toml");
    let cfg = dynamixel_cell(emu.port(), bus_port);
    common::write_cell(&cfg, &cfg_path);

    // The test is a second node on the cell's bus: it hosts the bus, the controller joins it.
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let states = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    let events = bus.subscribe::<Event>(EVENT, Some("*")).unwrap();
    let mut targets = bus.publisher::<PoseTarget>(POSE_TARGET, None).unwrap();
    let mut node = Command::new(tests::corrigo_bin())
        .args(["controller", "--config", cfg_path.to_str().unwrap(), "--seconds", "40"])
        .env("RUST_LOG", "info,zenoh=warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("controller.log")).unwrap())
        .spawn()
        .expect("start corrigo controller");

    let first = wait_state(&states, "the controller publishes the arm state", |s| s.cycles > 50);
    let mut goal = first.ee_pose;
    goal.position[0] += 0.03;
    let near = |s: &ArmState| {
        let p = s.ee_pose.position;
        ((p[0] - goal.position[0]).powi(2) + (p[1] - goal.position[1]).powi(2) + (p[2] - goal.position[2]).powi(2))
            .sqrt()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut reached, mut last) = (None, None);
    while Instant::now() < deadline && reached.is_none() {
        targets.publish(&mut PoseTarget { header: Header::now(), pose: goal, gripper: None }).unwrap();
        if let Some(s) = states.recv_timeout(Duration::from_millis(50)) {
            if s.msg.mode == ControllerMode::Tracking && near(&s.msg) < 0.01 {
                reached = Some(s.msg.clone());
            }
            last = Some(s.msg);
        }
    }
    let reached = reached.unwrap_or_else(|| {
        let _ = node.kill();
        let log = std::fs::read_to_string(dir.path().join("controller.log")).unwrap_or_default();
        let d = last.as_ref().map(near);
        panic!("the arm reaches a target 3 cm away within 1 cm: {d:?} m away, last state {last:?}\n{log}")
    });
    assert!(reached.ee_pose.position[0] - first.ee_pose.position[0] > 0.02, "moved along x: {reached:?}");
    // Misses while the arm moved (the loop's start-up — torque enable, first bus transactions — is not counted).
    let (misses, cycles) = (reached.deadline_misses - first.deadline_misses, (reached.cycles - first.cycles).max(1));
    assert!(misses * 10 < cycles, "{misses} deadline misses in {cycles} cycles (first {first:?}, reached {reached:?})");

    // Servo 3's return line breaks: the controller faults and holds, and says which servo on which port.
    emu.faults().mute_id.store(3, Ordering::Release);
    let faulted = wait_state(&states, "the controller faults", |s| s.mode == ControllerMode::Fault);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = None;
    while Instant::now() < deadline && text.is_none() {
        if let Some(e) = events.recv_timeout(Duration::from_millis(100))
            && e.msg.level == Level::Error
        {
            text = Some(e.msg.text);
        }
    }
    let text = text.expect("an error event about the fault");
    assert!(text.contains(emu.port()) && text.contains("ID 3"), "{text}");
    // Held: the arm stays where it stopped.
    std::thread::sleep(Duration::from_millis(500));
    let later = wait_state(&states, "state while faulted", |s| s.mode == ControllerMode::Fault);
    let drift = (0..6).map(|j| (later.q[j] - faulted.q[j]).abs()).fold(0.0, f64::max);
    assert!(drift < 0.05, "hold drift {drift} rad");

    let _ = Command::new("kill").args(["-INT", &node.id().to_string()]).status();
    let status = node.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut node.stdout.take().unwrap(), &mut out).unwrap();
    assert_eq!(status.code(), Some(5), "exit code of a safety stop; output:\n{out}");
    assert!(out.contains("in Fault"), "{out}");
}

/// Any node's e-stop key (`<node>/estop`, open to every certified node in the secure profile) latches the
/// controller's e-stop.
#[test]
fn an_estop_on_any_nodes_estop_key_latches_the_controller() {
    use interfaces::keys::ESTOP;
    use interfaces::msg::{Command as OpCommand, OperatorCommand};
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::reach_cell(common::free_port());
    let cfg_path = dir.path().join("cell.toml");
    common::write_cell(&cfg, &cfg_path);
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let states = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    let mut node = Command::new(tests::corrigo_bin())
        .args(["controller", "--config", cfg_path.to_str().unwrap(), "--seconds", "120"])
        .env("RUST_LOG", "info,zenoh=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("controller.log")).unwrap())
        .spawn()
        .expect("start corrigo controller");
    wait_state(&states, "the controller publishes the arm state", |s| s.cycles > 50);
    let observer = bus.publisher::<OperatorCommand>(ESTOP, Some("observer")).unwrap();
    // The e-stop, sent until it latches.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut latched = false;
    while Instant::now() < deadline && !latched {
        observer.publish_as_is(&OperatorCommand { header: Header::default(), command: OpCommand::EStop }).unwrap();
        if let Some(s) = states.recv_timeout(Duration::from_millis(200)) {
            latched = s.msg.mode == ControllerMode::EStopped;
        }
    }
    let _ = node.kill();
    let _ = node.wait();
    let log = std::fs::read_to_string(dir.path().join("controller.log")).unwrap_or_default();
    assert!(latched, "the controller latched the e-stop of observer/estop:\n{log}");
}
