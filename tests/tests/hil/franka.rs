//! Hardware-in-the-loop without hardware: the controller drives the simulated Panda through the real FCI code
//! path (codec, TCP command connection, UDP state and command datagrams, driver) and an emulated robot on
//! loopback sockets, backed by the MuJoCo arm.

use tests::hil as common;

use controller::core::ControllerCore;
use controller::drivers::franka::FrankaArm;
use controller::drivers::franka::protocol::{ERROR_COMMUNICATION, ERROR_JOINT_REFLEX, move_status, robot_mode};
use controller::testing::panda_config;
use interfaces::CellConfig;
use interfaces::config::{DriverConfig, FrankaConfig};
use interfaces::drivers::{ArmDriver, DriverError};
use interfaces::msg::ControllerMode;
use sim::SimWorld;
use sim::emulators::franka_fci::{FciEmulatorOptions, FrankaEmulator, Pacing};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

type Core = ControllerCore<FrankaArm>;

/// Late-packet deadline of the tests: generous, CI machines are loaded.
const DEADLINE_MS: f64 = 200.0;

fn emulator(options: FciEmulatorOptions) -> (FrankaEmulator, CellConfig, FrankaConfig) {
    let mut cfg = panda_config();
    let world = SimWorld::new(&cfg).expect("world");
    let (emu, _observer) = FrankaEmulator::spawn(world, options).expect("emulator");
    let f = emu.driver_config(DEADLINE_MS);
    cfg.driver = DriverConfig::Franka(f.clone());
    (emu, cfg, f)
}

fn rig() -> (FrankaEmulator, Core) {
    let (emu, cfg, f) = emulator(FciEmulatorOptions::default());
    let arm = FrankaArm::open(&f, 7, Arc::new(emu.clock())).expect("driver opens the emulated robot");
    let core = ControllerCore::new(&cfg, arm).expect("core");
    (emu, core)
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
    common::run(&mut c, &emu.clock(), 20);
    emu.faults().reflex.store(ERROR_JOINT_REFLEX as u32 + 1, Ordering::Release);
    let err = (0..5).find_map(|_| common::cycle(&mut c, &emu.clock()).err()).expect("the reflex is reported");
    let DriverError::HardwareFault { device, unit, detail } = &err else { panic!("{err:?}") };
    assert_eq!(device, &emu.device());
    assert_eq!(unit, "reflex");
    assert!(detail.contains("joint reflex") && detail.contains("recovery"), "{detail}");
    assert_eq!(c.mode(), ControllerMode::Fault);
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
    common::run(&mut c, &emu.clock(), 20);
    emu.faults().reflex.store(ERROR_JOINT_REFLEX as u32 + 1, Ordering::Release);
    (0..5).find_map(|_| common::cycle(&mut c, &emu.clock()).err()).expect("the reflex is reported");
    assert_eq!(c.mode(), ControllerMode::Fault);
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
    common::run(&mut c, &emu.clock(), 20);
    emu.faults().user_stop.store(true, Ordering::Release);
    let err = (0..5).find_map(|_| common::cycle(&mut c, &emu.clock()).err()).expect("the user stop is reported");
    let DriverError::HardwareFault { unit, .. } = &err else { panic!("{err:?}") };
    assert_eq!(unit, "user stop");
    assert_eq!(c.mode(), ControllerMode::Fault);
    assert!(!emu.view().moving);
}

#[test]
fn a_late_state_faults_the_controller_and_the_motion_is_stopped() {
    let (emu, mut c) = rig();
    common::run(&mut c, &emu.clock(), 20);
    emu.faults().delay_next_ms.store((4.0 * DEADLINE_MS) as u32, Ordering::Release);
    let err =
        (0..3).find_map(|_| common::cycle(&mut c, &emu.clock()).err()).expect("a state beyond the deadline faults");
    let DriverError::Timeout { device, what, timeout_ms } = &err else { panic!("{err:?}") };
    assert_eq!(device, &emu.device());
    assert!(what.contains("late"), "{what}");
    assert_eq!(*timeout_ms, DEADLINE_MS as u64);
    assert_eq!(c.mode(), ControllerMode::Fault);
    common::wait_until(|| emu.view(), "motion stopped", |v| !v.moving && v.last_move_status.is_some());
}

#[test]
fn a_datagram_that_is_not_a_state_is_a_protocol_error() {
    let (emu, mut c) = rig();
    common::run(&mut c, &emu.clock(), 20);
    emu.faults().garbage.store(1, Ordering::Release);
    let err = (0..3).find_map(|_| common::cycle(&mut c, &emu.clock()).err()).expect("garbage is noticed");
    assert!(matches!(err, DriverError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&emu.device()) && err.to_string().contains("2373"), "{err}");
    assert_eq!(c.mode(), ControllerMode::Fault);
    common::wait_until(|| emu.view(), "motion stopped", |v| !v.moving);
}

#[test]
fn a_dropped_connection_is_a_disconnection_and_the_robot_stops_the_motion() {
    let (emu, mut c) = rig();
    common::run(&mut c, &emu.clock(), 20);
    emu.faults().drop_connection.store(true, Ordering::Release);
    let err =
        (0..50).find_map(|_| common::cycle(&mut c, &emu.clock()).err()).expect("the dropped connection is noticed");
    assert!(matches!(err, DriverError::Disconnected { .. } | DriverError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains(&emu.device()), "{err}");
    assert_eq!(c.mode(), ControllerMode::Fault);
    common::wait_until(|| emu.view(), "motion stopped", |v| !v.moving && !v.connected);
}

#[test]
fn missing_commands_end_in_a_communication_reflex() {
    let (emu, cfg, f) = emulator(FciEmulatorOptions { pacing: Pacing::Realtime, ..FciEmulatorOptions::default() });
    let arm = FrankaArm::open(&f, 7, Arc::new(emu.clock())).expect("open");
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
    let (emu, _, f) = emulator(FciEmulatorOptions { version: 9, ..FciEmulatorOptions::default() });
    let err = FrankaArm::open(&f, 7, Arc::new(emu.clock())).expect_err("version mismatch");
    let msg = err.to_string();
    assert!(msg.contains("version 9") && msg.contains("driver 5"), "{msg}");
}

#[test]
fn lockstep_round_trip_time_is_reported() {
    let (emu, _, f) = emulator(FciEmulatorOptions::default());
    let mut arm = FrankaArm::open(&f, 7, Arc::new(emu.clock())).expect("open");
    arm.read_state().expect("first state");
    let mut rtt = Vec::with_capacity(500);
    for _ in 0..500 {
        let t = Instant::now();
        arm.write_torque(&[0.0; 7]).expect("write");
        arm.read_state().expect("read");
        rtt.push(t.elapsed().as_secs_f64() * 1e6);
    }
    rtt.sort_by(f64::total_cmp);
    let (p50, p99) = (rtt[rtt.len() / 2], rtt[rtt.len() * 99 / 100]);
    println!("lockstep FCI round trip (command → physics → state): p50 {p50:.0} µs, p99 {p99:.0} µs");
    assert!(p50 < 20_000.0, "p50 {p50} µs");
}

#[test]
fn open_arm_opens_the_emulated_robot_at_1_khz() {
    let (emu, cfg, _) = emulator(FciEmulatorOptions::default());
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
    let (emu, _, f) = emulator(FciEmulatorOptions { pacing: Pacing::Realtime, ..FciEmulatorOptions::default() });
    let mut arm = FrankaArm::open(&f, 7, Arc::new(emu.clock())).expect("open");
    let sent0 = emu.view().states_sent;
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < Duration::from_millis(300) {
        arm.read_state().unwrap_or_else(|e| panic!("read {n}: {e}"));
        arm.write_torque(&[0.0; 7]).expect("write");
        n += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    let (rate, stream) = (f64::from(n) / secs, (emu.view().states_sent - sent0) as f64 / secs);
    println!("emulated realtime FCI: stream {stream:.0} Hz, loop {rate:.0} Hz, health {:?}", arm.health().snapshot());
    assert!((150.0..=1100.0).contains(&rate), "loop rate {rate} Hz");
    assert!(emu.view().moving && emu.view().errors.is_empty(), "{:?}", emu.view());
    arm.safe_stop().expect("stop");
    common::wait_until(|| emu.view(), "motion stopped", |v| !v.moving);
}
