//! Hardware-in-the-loop without hardware: the controller drives the simulated Panda through the real FCI code
//! path (codec, TCP command connection, UDP state and command datagrams, driver) and an emulated robot on
//! loopback sockets, backed by the MuJoCo arm.

use tests::hil as common;

use common::{DEADLINE_MS, Emulator as _, fault_after_warm_up};
use controller::core::ControllerCore;
use controller::drivers::franka::protocol::{ERROR_COMMUNICATION, ERROR_JOINT_REFLEX, move_status, robot_mode};
use interfaces::drivers::{ArmDriver, DriverError};
use interfaces::msg::ControllerMode;
use sim::emulators::franka_fci::{FciEmulatorOptions, FrankaEmulator, Pacing};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn rig() -> (FrankaEmulator, ControllerCore<controller::drivers::franka::FrankaArm>) {
    common::rig::<FrankaEmulator>()
}

fn emulator(options: FciEmulatorOptions) -> (FrankaEmulator, interfaces::CellConfig) {
    common::emulator::<FrankaEmulator>(options)
}

#[test]
fn step_response_through_the_emulated_fci_reaches_5cm_and_0_2rad_within_1_5s() {
    let (emu, mut c) = rig();
    let (steps0, v0) = (emu.steps(), emu.view()); // before the motion, the robot cycled on the wall clock
    common::run(&mut c, &emu.clock(), 300);
    assert!(emu.view().moving);
    common::assert_step_response(&mut c, 1500, 50, |c| common::cycle(c, &emu.clock()));
    // The last command may still be in flight.
    common::wait_until(|| emu.view(), "the last command applied", |v| v.commands - v0.commands >= 1800);
    let v = emu.view();
    let (cycles, timed) = (v.cycles - v0.cycles, v.timed_cycles - v0.timed_cycles);
    assert_eq!(cycles - timed, 1800, "one cycle per command (and {timed} on the clock while the test stalled)");
    assert_eq!(emu.steps() - steps0, cycles, "one physics step of 1 ms per cycle");
    let [states, lost, corrupt, commands] = c.driver().health().snapshot();
    assert_eq!((lost, corrupt), (0, 0));
    assert!(states >= 1800 && commands >= 1800, "{:?}", c.driver().health().snapshot());
}

#[test]
fn a_reflex_is_a_typed_fault_naming_its_flags_and_the_recovery_command_resumes_control() {
    let (emu, mut c) = rig();
    let err = fault_after_warm_up(&mut c, &emu.clock(), 5, "the reflex", || {
        emu.faults().reflex.store(ERROR_JOINT_REFLEX as u32 + 1, Ordering::Release)
    });
    let DriverError::HardwareFault { device, unit, detail } = &err else { panic!("{err:?}") };
    assert_eq!(device, &emu.device());
    assert_eq!(unit, "reflex");
    assert!(detail.contains("joint reflex") && detail.contains("recovery"), "{detail}");
    assert_eq!(emu.view().robot_mode, robot_mode::REFLEX);
    assert_eq!(emu.view().last_move_status, Some(move_status::REFLEX_ABORTED));
    c.driver_mut().recover().expect("recovery");
    assert!(c.driver().motion_running());
    let v = emu.view();
    assert!(v.moving && v.errors.is_empty() && v.recoveries == 1, "{v:?}");
    for _ in 0..20 {
        c.driver_mut().read_state().expect("read after recovery");
        c.driver_mut().write_torque(&[0.0; 7]).expect("write after recovery");
    }
}

#[test]
fn the_operator_reset_recovers_a_reflex_and_control_resumes() {
    let (emu, mut c) = rig();
    fault_after_warm_up(&mut c, &emu.clock(), 5, "the reflex", || {
        emu.faults().reflex.store(ERROR_JOINT_REFLEX as u32 + 1, Ordering::Release)
    });
    // What `ResetEStop` on the bus does in the loop: the arm recovers, then the controller holds where it is.
    c.reset_estop();
    assert_ne!(c.mode(), ControllerMode::Fault, "last fault: {:?}", c.last_fault());
    assert_eq!(emu.view().recoveries, 1);
    common::run(&mut c, &emu.clock(), 50);
    assert_ne!(c.mode(), ControllerMode::Fault);
    assert!(emu.view().moving && emu.view().errors.is_empty());
}

#[test]
fn the_user_stop_is_a_typed_fault() {
    let (emu, mut c) = rig();
    let err = fault_after_warm_up(&mut c, &emu.clock(), 5, "the user stop", || {
        emu.faults().user_stop.store(true, Ordering::Release)
    });
    let DriverError::HardwareFault { unit, .. } = &err else { panic!("{err:?}") };
    assert_eq!(unit, "user stop");
    assert!(!emu.view().moving);
}

#[test]
fn a_late_state_faults_the_controller_and_the_motion_is_stopped() {
    let (emu, mut c) = rig();
    let err = fault_after_warm_up(&mut c, &emu.clock(), 3, "a state beyond the deadline", || {
        emu.faults().delay_next_ms.store((4.0 * DEADLINE_MS) as u32, Ordering::Release)
    });
    let DriverError::Timeout { device, what, timeout_ms } = &err else { panic!("{err:?}") };
    assert_eq!(device, &emu.device());
    assert!(what.contains("late"), "{what}");
    assert_eq!(*timeout_ms, DEADLINE_MS as u64);
    common::wait_until(|| emu.view(), "motion stopped", |v| !v.moving && v.last_move_status.is_some());
}

#[test]
fn a_datagram_that_is_not_a_state_is_a_protocol_error() {
    let (emu, mut c) = rig();
    let err =
        fault_after_warm_up(&mut c, &emu.clock(), 3, "garbage", || emu.faults().garbage.store(1, Ordering::Release));
    assert!(matches!(err, DriverError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&emu.device()) && err.to_string().contains("2373"), "{err}");
    common::wait_until(|| emu.view(), "motion stopped", |v| !v.moving);
}

#[test]
fn a_dropped_connection_is_a_disconnection_and_the_robot_stops_the_motion() {
    let (emu, mut c) = rig();
    let err = fault_after_warm_up(&mut c, &emu.clock(), 50, "the dropped connection", || {
        emu.faults().drop_connection.store(true, Ordering::Release)
    });
    assert!(matches!(err, DriverError::Disconnected { .. } | DriverError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains(&emu.device()), "{err}");
    common::wait_until(|| emu.view(), "motion stopped", |v| !v.moving && !v.connected);
}

#[test]
fn missing_commands_end_in_a_communication_reflex() {
    let (emu, cfg) = emulator(FciEmulatorOptions { pacing: Pacing::Realtime, ..FciEmulatorOptions::default() });
    let arm = emu.open(&cfg).expect("open");
    let mut c = ControllerCore::new(&cfg, arm).expect("core");
    common::run(&mut c, &emu.clock(), 20);
    // The controller stalls: no command for longer than the robot tolerates (20 ms on its 1 kHz clock).
    common::wait_until(|| emu.view(), "communication reflex", |v| v.errors.has(ERROR_COMMUNICATION));
    let err = (0..5).find_map(|_| common::cycle(&mut c, &emu.clock()).err()).expect("the reflex is reported");
    assert!(err.to_string().contains("communication constraints violation"), "{err}");
    assert_eq!(c.mode(), ControllerMode::Fault);
}

#[test]
fn opening_refuses_a_robot_of_another_protocol_version() {
    let (emu, cfg) = emulator(FciEmulatorOptions { version: 9, ..FciEmulatorOptions::default() });
    let err = emu.open(&cfg).expect_err("version mismatch");
    let msg = err.to_string();
    assert!(msg.contains("version 9") && msg.contains("driver 5"), "{msg}");
}

#[test]
fn lockstep_round_trip_time_is_reported() {
    let (emu, cfg) = emulator(FciEmulatorOptions::default());
    let mut arm = emu.open(&cfg).expect("open");
    arm.read_state().expect("first state");
    let (p50, p99) = common::lockstep_round_trip_us(&mut arm, "FCI");
    assert!(p50.is_finite() && p99 >= p50, "{p50} {p99}");
}

#[test]
fn open_arm_opens_the_emulated_robot_at_1_khz() {
    let (emu, cfg) = emulator(FciEmulatorOptions::default());
    let mut opened = controller::drivers::open_arm(&cfg).expect("open_arm");
    assert_eq!((opened.rate_hz, opened.rate_note.clone()), (1000.0, None));
    let info = opened.arm.info().clone();
    assert_eq!(info.name, "franka:127.0.0.1");
    assert!(info.gravity_compensated && info.dof == 7);
    opened.arm.read_state().expect("state through the boxed driver");
    assert!(emu.view().moving);
}

#[test]
fn the_realtime_stream_runs_near_1_khz_and_a_loop_keeps_up() {
    let (emu, cfg) = emulator(FciEmulatorOptions { pacing: Pacing::Realtime, ..FciEmulatorOptions::default() });
    let mut arm = emu.open(&cfg).expect("open");
    let (sent0, t0) = (emu.view().states_sent, std::time::Instant::now());
    let rate = common::loop_rate(&mut arm, Duration::from_millis(300));
    let stream = (emu.view().states_sent - sent0) as f64 / t0.elapsed().as_secs_f64();
    println!("emulated realtime FCI: stream {stream:.0} Hz, loop {rate:.0} Hz, health {:?}", arm.health().snapshot());
    // A loaded machine only makes the loop slower; it can never outrun the robot's stream.
    assert!(rate > 0.0 && rate <= 1100.0, "loop rate {rate} Hz");
    assert!(emu.view().moving && emu.view().errors.is_empty(), "{:?}", emu.view());
    arm.safe_stop().expect("stop");
    common::wait_until(|| emu.view(), "motion stopped", |v| !v.moving);
}

/// A forged robot state: plausible modes, a pose far from the real arm's.
fn forged_state(message_id: u64) -> [u8; controller::drivers::franka::protocol::STATE_LEN] {
    use controller::drivers::franka::protocol::{
        RobotState, STATE_CONTROLLER_EXTERNAL, STATE_LEN, STATE_MOTION_JOINT_VELOCITY,
    };
    let s = RobotState {
        message_id,
        q: [0.777; 7],
        motion_generator_mode: STATE_MOTION_JOINT_VELOCITY,
        controller_mode: STATE_CONTROLLER_EXTERNAL,
        robot_mode: robot_mode::MOVE,
        control_command_success_rate: 1.0,
        ..RobotState::default()
    };
    let mut b = [0u8; STATE_LEN];
    s.encode(&mut b);
    b
}

#[test]
fn robot_states_from_another_host_are_ignored_even_when_they_come_first() {
    let (emu, mut cfg) = emulator(FciEmulatorOptions::default());
    // A fixed state port, so that another host can send to it before the robot does.
    let port = std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("free port").port();
    let interfaces::config::DriverConfig::Franka(f) = &mut cfg.driver else { panic!("{:?}", cfg.driver) };
    f.udp_port = port;
    // Another host on the lab network (127.0.0.2: a different source address on loopback) floods that port with
    // well-formed states from before the driver opens until the end.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let forger = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("forger".into())
            .spawn(move || {
                let sock = std::net::UdpSocket::bind("127.0.0.2:0").expect("a second loopback address");
                let mut id = 1u64;
                while !stop.load(Ordering::Acquire) {
                    let _ = sock.send_to(&forged_state(id), ("127.0.0.1", port));
                    id += 1;
                    std::thread::sleep(Duration::from_micros(200));
                }
                id
            })
            .expect("thread")
    };
    std::thread::sleep(Duration::from_millis(20)); // the flood is on before the driver opens
    let arm = emu.open(&cfg).expect("the driver opens on the robot's states, not the forger's");
    let mut c = ControllerCore::new(&cfg, arm).expect("core");
    for k in 0..200 {
        common::cycle(&mut c, &emu.clock()).unwrap_or_else(|e| panic!("cycle {k}: {e}"));
        assert!(c.status().q[..7].iter().all(|&q| q != 0.777), "a forged state was used at cycle {k}");
    }
    stop.store(true, Ordering::Release);
    let sent = forger.join().expect("forger");
    let foreign = c.driver().health().foreign.load(Ordering::Relaxed);
    assert!(sent > 10 && foreign > 0, "forged {sent}, refused as foreign {foreign}");
    assert_eq!(c.driver().health().refused.load(Ordering::Relaxed), 0);
}

#[test]
fn a_state_with_a_message_id_far_ahead_is_refused_and_does_not_stall_the_driver() {
    let (emu, mut c) = rig();
    common::run(&mut c, &emu.clock(), 20);
    for ahead in [u64::MAX / 2, 1_000_000, 5_000] {
        emu.faults().forged_id_ahead.store(ahead, Ordering::Release);
        common::run(&mut c, &emu.clock(), 50);
        assert_eq!(emu.faults().forged_id_ahead.load(Ordering::Acquire), 0, "the forged state was sent");
    }
    assert_eq!(c.driver().health().refused.load(Ordering::Relaxed), 3);
    let newest = c.driver().latest().expect("a state").message_id;
    let robot = emu.view().cycles;
    assert!(newest <= robot, "the driver follows the robot's IDs: {newest}, the robot's {robot}");
    assert_eq!(c.mode(), ControllerMode::Idle);
}
