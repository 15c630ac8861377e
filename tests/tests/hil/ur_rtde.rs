//! Hardware-in-the-loop without hardware: the controller drives the simulated UR5e through the real RTDE code path
//! (codec, TCP client, driver) and an emulated RTDE server on a loopback port, backed by the MuJoCo arm.

use tests::hil as common;

use common::{DEADLINE_MS, Emulator as _, fault_after_warm_up};
use controller::core::ControllerCore;
use interfaces::drivers::{ArmDriver, DriverError};
use sim::emulators::ur_rtde::{Pacing, ProgramState, RtdeEmulatorOptions, StopCause, UrRtdeEmulator};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn rig() -> (UrRtdeEmulator, ControllerCore<controller::drivers::ur_rtde::UrRtdeArm>) {
    common::rig::<UrRtdeEmulator>()
}

fn emulator(options: RtdeEmulatorOptions) -> (UrRtdeEmulator, interfaces::CellConfig) {
    common::emulator::<UrRtdeEmulator>(options)
}

#[test]
fn step_response_through_the_emulated_rtde_link_reaches_5cm_and_0_2rad_within_1_5s() {
    let (emu, mut c) = rig();
    let (steps0, v0) = (emu.steps(), emu.view()); // before the stream started, the robot cycled on the wall clock
    common::run(&mut c, &emu.clock(), 150);
    assert_eq!(emu.view().program, ProgramState::Running);
    common::assert_step_response(&mut c, 750, 25, |c| common::cycle(c, &emu.clock()));
    // The last command may still be in flight.
    common::wait_until(|| emu.view(), "the last command applied", |v| v.commands - v0.commands >= 900);
    let v = emu.view();
    let (cycles, timed) = (v.cycles - v0.cycles, v.timed_cycles - v0.timed_cycles);
    assert_eq!(cycles - timed, 900, "one cycle per command (and {timed} on the clock while the test stalled)");
    assert_eq!(emu.steps() - steps0, 2 * cycles, "two physics steps of 1 ms per 500 Hz cycle");
    let [packages, _, stale, _, commands] = c.driver().health().snapshot();
    assert_eq!(stale, 0);
    assert!(packages >= 900 && commands >= 900, "{:?}", c.driver().health().snapshot());
}

#[test]
fn a_protective_stop_is_a_typed_fault_and_the_program_is_told_to_stop() {
    let (emu, mut c) = rig();
    let err = fault_after_warm_up(&mut c, &emu.clock(), 5, "the protective stop", || {
        emu.faults().safety_mode.store(3, Ordering::Release)
    });
    let DriverError::HardwareFault { device, unit, detail } = &err else { panic!("{err:?}") };
    assert_eq!(device, &emu.device());
    assert_eq!(unit, "safety system");
    assert!(detail.contains("protective stop") && detail.contains("PROTECTIVE_STOP"), "{detail}");
    common::wait_until(|| emu.view(), "stop flag received", |v| v.command.stop == 1);
    assert_eq!(emu.view().program, ProgramState::Stopped(StopCause::Safety));
}

#[test]
fn an_emergency_stop_is_a_typed_fault_naming_it() {
    let (emu, mut c) = rig();
    let err = fault_after_warm_up(&mut c, &emu.clock(), 5, "the emergency stop", || {
        emu.faults().safety_mode.store(7, Ordering::Release)
    });
    assert!(matches!(err, DriverError::HardwareFault { .. }), "{err:?}");
    assert!(err.to_string().contains("emergency stop"), "{err}");
}

#[test]
fn a_late_packet_faults_the_controller_and_the_program_stops_on_the_flag() {
    let (emu, mut c) = rig();
    let err = fault_after_warm_up(&mut c, &emu.clock(), 1, "a package beyond the deadline", || {
        emu.faults().delay_next_ms.store((4.0 * DEADLINE_MS) as u32, Ordering::Release)
    });
    let DriverError::Timeout { device, what, timeout_ms } = &err else { panic!("{err:?}") };
    assert_eq!(device, &emu.device());
    assert!(what.contains("late"), "{what}");
    assert_eq!(*timeout_ms, DEADLINE_MS as u64);
    common::wait_until(
        || emu.view(),
        "stopped by the flag",
        |v| v.program == ProgramState::Stopped(StopCause::StopFlag),
    );
}

#[test]
fn garbage_on_the_stream_is_a_protocol_error_and_the_arm_is_still_stopped() {
    let (emu, mut c) = rig();
    let err =
        fault_after_warm_up(&mut c, &emu.clock(), 3, "garbage", || emu.faults().garbage.store(1, Ordering::Release));
    assert!(matches!(err, DriverError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&emu.device()), "{err}");
    common::wait_until(
        || emu.view(),
        "stopped by the flag",
        |v| v.program == ProgramState::Stopped(StopCause::StopFlag),
    );
    assert!(common::cycle(&mut c, &emu.clock()).is_err(), "the stream cannot be trusted again");
}

#[test]
fn a_dropped_connection_is_a_disconnection_and_the_watchdog_stops_the_program() {
    let (emu, mut c) = rig();
    let err = fault_after_warm_up(&mut c, &emu.clock(), 10, "the dropped connection", || {
        emu.faults().drop_connection.store(true, Ordering::Release)
    });
    assert!(matches!(err, DriverError::Disconnected { .. }), "{err:?}");
    assert!(err.to_string().contains(&emu.device()), "{err}");
    assert!(c.driver_mut().safe_stop().is_err(), "nothing to stop over a dropped connection: the error says so");
    common::wait_until(
        || emu.view(),
        "stopped by the watchdog",
        |v| v.program == ProgramState::Stopped(StopCause::Watchdog),
    );
}

#[test]
fn opening_refuses_an_old_controller_and_a_program_that_is_not_playing() {
    let old = RtdeEmulatorOptions {
        controller_version: controller::drivers::ur_rtde::protocol::ControllerVersion {
            major: 5,
            minor: 11,
            bugfix: 0,
            build: 0,
        },
        ..RtdeEmulatorOptions::default()
    };
    let (emu, cfg) = emulator(old);
    let err = emu.open(&cfg).expect_err("5.11 has no direct_torque");
    assert!(err.to_string().contains("5.11.0.0") && err.to_string().contains("5.22"), "{err}");
    let (emu, cfg) = emulator(RtdeEmulatorOptions { program_playing: false, ..RtdeEmulatorOptions::default() });
    let err = emu.open(&cfg).expect_err("no program running");
    let DriverError::HardwareFault { unit, detail, .. } = &err else { panic!("{err:?}") };
    assert_eq!(unit, "program");
    assert!(detail.contains("STOPPED") && detail.contains("ur_rtde_torque.script"), "{detail}");
}

#[test]
fn the_realtime_stream_runs_near_500_hz_and_a_loop_keeps_up() {
    let (emu, cfg) = emulator(RtdeEmulatorOptions { pacing: Pacing::Realtime, ..RtdeEmulatorOptions::default() });
    let mut arm = emu.open(&cfg).expect("open");
    let (sent0, t0) = (emu.view().packages_sent, std::time::Instant::now());
    let rate = common::loop_rate(&mut arm, Duration::from_millis(400));
    let stream = (emu.view().packages_sent - sent0) as f64 / t0.elapsed().as_secs_f64();
    println!("emulated realtime RTDE: stream {stream:.0} Hz, loop {rate:.0} Hz, health {:?}", arm.health().snapshot());
    // A loaded machine only makes the loop slower; it can never outrun the robot's stream.
    assert!(rate > 0.0 && rate <= 560.0, "loop rate {rate} Hz");
    assert_eq!(emu.view().program, ProgramState::Running);
    arm.safe_stop().expect("stop");
    common::wait_until(
        || emu.view(),
        "stopped by the flag",
        |v| v.program == ProgramState::Stopped(StopCause::StopFlag),
    );
}

#[test]
fn lockstep_round_trip_time_is_reported() {
    let (emu, cfg) = emulator(RtdeEmulatorOptions::default());
    let mut arm = emu.open(&cfg).expect("open");
    let (p50, p99) = common::lockstep_round_trip_us(&mut arm, "RTDE");
    assert!(p50.is_finite() && p99 >= p50, "{p50} {p99}");
}

#[test]
fn open_arm_opens_the_emulated_robot_at_the_streams_rate() {
    let (emu, mut cfg) = emulator(RtdeEmulatorOptions::default());
    cfg.controller.rate_hz = 1000.0;
    let mut opened = controller::drivers::open_arm(&cfg).expect("open_arm");
    assert_eq!(opened.rate_hz, 500.0, "the loop runs no faster than the RTDE stream");
    let note = opened.rate_note.clone().expect("the lowered rate is explained");
    assert!(note.contains(&emu.device()) && note.contains("500"), "{note}");
    let info = opened.arm.info().clone();
    assert_eq!(info.name, format!("ur_rtde:{}", emu.device()));
    assert!(info.gravity_compensated && info.dof == 6);
    opened.arm.read_state().expect("state through the boxed driver");
}

#[test]
fn packages_stamped_infinite_nan_or_far_ahead_are_refused_and_do_not_stall_the_driver() {
    let (emu, mut c) = rig();
    common::run(&mut c, &emu.clock(), 20);
    for stamp in [f64::INFINITY, f64::NAN, 1e12, 3.0e5, -1.0] {
        emu.faults().forged_timestamp.store(stamp.to_bits(), Ordering::Release);
        common::run(&mut c, &emu.clock(), 25);
        assert_eq!(emu.faults().forged_timestamp.load(Ordering::Acquire), 0, "the forged package was sent");
    }
    assert_eq!(c.driver().health().refused.load(Ordering::Relaxed), 5);
    let newest = c.driver().latest().expect("a package").timestamp;
    assert!(newest < 1e3, "the driver follows the robot's clock: {newest}");
    assert_ne!(c.mode(), interfaces::msg::ControllerMode::Fault, "last fault: {:?}", c.last_fault());
}
