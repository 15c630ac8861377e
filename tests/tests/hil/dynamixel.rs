//! Hardware-in-the-loop without hardware: the controller drives the simulated arm through the real Dynamixel
//! serial code path (codec, bus, driver, serial port) and an emulated servo chain on a pseudo-terminal.

use tests::hil as common;

use controller::core::ControllerCore;
use controller::drivers::dynamixel::DynamixelArm;
use controller::testing::panda_config;
use interfaces::config::{DriverConfig, SafeStopKind};
use interfaces::drivers::{ArmDriver, DriverError};
use interfaces::msg::ControllerMode;
use serialport::TTYPort;
use sim::SimWorld;
use sim::emulators::dynamixel::{DynamixelEmulator, EmulatorOptions};
use std::sync::Arc;

type Core = ControllerCore<DynamixelArm<TTYPort>>;

fn rig(safe_stop: SafeStopKind) -> (DynamixelEmulator, Core) {
    let mut cfg = panda_config();
    let world = SimWorld::new(&cfg).expect("world");
    let (emu, _observer) = DynamixelEmulator::spawn(world, EmulatorOptions::for_dof(7)).expect("emulator");
    let dxl = emu.driver_config(4_000_000, safe_stop);
    cfg.driver = DriverConfig::Dynamixel(dxl.clone());
    let arm = DynamixelArm::open(&dxl, 7, Arc::new(emu.clock())).expect("driver opens the emulated bus");
    let core = ControllerCore::new(&cfg, arm).expect("core");
    (emu, core)
}

fn cycle(c: &mut Core, emu: &DynamixelEmulator) -> Result<(), DriverError> {
    c.step(emu.clock().now_stamp()).map(|_| ())
}

trait NowStamp {
    fn now_stamp(&self) -> interfaces::Stamp;
}
impl NowStamp for interfaces::MockClock {
    fn now_stamp(&self) -> interfaces::Stamp {
        interfaces::Clock::now(self)
    }
}

fn run(c: &mut Core, emu: &DynamixelEmulator, n: usize) {
    for k in 0..n {
        cycle(c, emu).unwrap_or_else(|e| panic!("cycle {k}: {e}"));
    }
}

/// Waits (≤ 2 s) until the emulator has applied what the driver sent: sync writes have no reply, so the
/// emulator thread may still be working through them when the driver returns.
fn wait_for(emu: &DynamixelEmulator, what: &str, ok: impl Fn(&[sim::emulators::ServoView]) -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !ok(&emu.servos()) {
        assert!(std::time::Instant::now() < until, "{what}: {:?}", emu.servos());
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn step_response_through_the_emulated_bus_reaches_5cm_and_0_2rad_within_1_5s() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    run(&mut c, &emu, 300);
    common::assert_step_response(&mut c, 1500, 50, |c| cycle(c, &emu));
    assert_eq!(emu.steps(), 1800, "one physics step per control cycle");
    let h = c.driver().health();
    assert_eq!(h.snapshot(), [0; 5], "a clean bus has no faults");
}

#[test]
fn a_few_corrupt_or_dropped_replies_are_retried_and_counted() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    run(&mut c, &emu, 20);
    emu.faults().corrupt_replies.store(1, std::sync::atomic::Ordering::Release);
    run(&mut c, &emu, 5);
    emu.faults().drop_replies.store(2, std::sync::atomic::Ordering::Release);
    run(&mut c, &emu, 5);
    let [timeouts, corrupt, _, retries, _] = c.driver().health().snapshot();
    assert!(corrupt >= 1 && timeouts >= 1 && retries >= 2, "counted: {:?}", c.driver().health().snapshot());
    assert_eq!(c.mode(), ControllerMode::Idle);
}

#[test]
fn dropped_replies_beyond_the_retries_stop_the_arm_holding_with_an_error_naming_port_and_id() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    run(&mut c, &emu, 50);
    let held_q = c.status().q;
    emu.faults().mute_id.store(3, std::sync::atomic::Ordering::Release);
    let err = cycle(&mut c, &emu).expect_err("a servo that never answers faults the controller");
    let msg = err.to_string();
    assert!(matches!(err, DriverError::Timeout { .. }), "{err:?}");
    assert!(msg.contains(emu.port()) && msg.contains("ID 3"), "{msg}");
    assert_eq!(c.mode(), ControllerMode::Fault);
    wait_for(&emu, "holding", |s| s.iter().all(|s| s.torque_enabled && s.operating_mode == 5));
    // The bus comes back; the arm keeps holding where it stopped, the fault stays latched.
    emu.faults().mute_id.store(0, std::sync::atomic::Ordering::Release);
    run(&mut c, &emu, 300);
    assert_eq!(c.mode(), ControllerMode::Fault);
    let drift = (0..7).map(|j| (c.status().q[j] - held_q[j]).abs()).fold(0.0, f64::max);
    assert!(drift < 0.05, "hold drift {drift} rad");
}

#[test]
fn persistent_corruption_turns_torque_off_when_so_configured() {
    let (emu, mut c) = rig(SafeStopKind::TorqueOff);
    run(&mut c, &emu, 20);
    wait_for(&emu, "current mode", |s| s.iter().all(|s| s.torque_enabled && s.operating_mode == 0));
    emu.faults().corrupt_replies.store(1000, std::sync::atomic::Ordering::Release);
    let err = cycle(&mut c, &emu).expect_err("corruption beyond the retries faults");
    assert!(matches!(err, DriverError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(emu.port()), "{err}");
    wait_for(&emu, "torque off", |s| s.iter().all(|s| !s.torque_enabled));
    assert_eq!(c.mode(), ControllerMode::Fault);
}

#[test]
fn a_hardware_error_is_a_typed_fault_naming_the_servo_and_its_cause() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    run(&mut c, &emu, 20);
    emu.faults().hardware_error.store((5 << 8) | 0b0010_0000, std::sync::atomic::Ordering::Release);
    let err = cycle(&mut c, &emu).expect_err("hardware error");
    let DriverError::HardwareFault { device, unit, detail } = &err else { panic!("{err:?}") };
    assert_eq!(device, emu.port());
    assert_eq!(unit, "ID 5 (joint 5)");
    assert_eq!(detail, "overload");
    assert_eq!(c.mode(), ControllerMode::Fault);
}

#[test]
fn an_unplugged_port_is_a_disconnection_naming_the_port() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    run(&mut c, &emu, 20);
    emu.faults().unplug.store(true, std::sync::atomic::Ordering::Release);
    std::thread::sleep(std::time::Duration::from_millis(30));
    let err = (0..10).find_map(|_| cycle(&mut c, &emu).err()).expect("the pulled cable is noticed");
    assert!(matches!(err, DriverError::Disconnected { .. } | DriverError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains(emu.port()), "{err}");
    assert_eq!(c.mode(), ControllerMode::Fault);
    assert!(c.driver_mut().safe_stop().is_err(), "nothing to stop on a pulled cable: the error says so");
}

/// The rig with the driver's Bus Watchdog sized for a 1 kHz loop (what `open_arm` does for a real cell).
fn rig_at_1khz(safe_stop: SafeStopKind) -> (DynamixelEmulator, Core) {
    let (emu, mut c) = rig(safe_stop);
    c.driver_mut().set_loop_rate(1000.0);
    (emu, c)
}

/// Waits (≤ 10 s: generous, the emulator checks its watchdogs on wall-clock time) until `ok`.
fn wait_long(emu: &DynamixelEmulator, what: &str, ok: impl Fn(&[sim::emulators::ServoView]) -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ok(&emu.servos()) {
        assert!(std::time::Instant::now() < until, "{what}: {:?}", emu.servos());
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Runs until the servos are in torque control with their Bus Watchdog armed and the law asks some current.
fn drive_until_armed(emu: &DynamixelEmulator, c: &mut Core) {
    run(c, emu, 50);
    let units = (c.driver().bus_watchdog().as_millis() / 20) as u8;
    assert!(units > 0);
    wait_for(emu, "torque control with the Bus Watchdog armed", |s| {
        s.iter().all(|s| s.torque_enabled && s.operating_mode == 0 && s.bus_watchdog == units)
            && s.iter().any(|s| s.goal_current != 0)
    });
}

#[test]
fn a_controller_killed_without_a_safe_stop_is_stopped_by_the_servos_bus_watchdog() {
    let (emu, mut c) = rig_at_1khz(SafeStopKind::Hold);
    drive_until_armed(&emu, &mut c);
    // `kill -9`: no destructor runs, nothing more reaches the bus.
    std::mem::forget(c);
    wait_long(&emu, "every servo stopped by its Bus Watchdog", |s| {
        s.iter().all(|s| s.watchdog_tripped() && s.goal_current == 0 && s.operating_mode == 0)
    });
}

#[test]
fn a_stalled_loop_is_a_fault_and_the_safe_stop_clears_the_watchdog_error_and_holds() {
    let (emu, mut c) = rig_at_1khz(SafeStopKind::Hold);
    drive_until_armed(&emu, &mut c);
    // The loop stalls past the watchdog time: the servos stop on their own.
    wait_long(&emu, "every servo stopped by its Bus Watchdog", |s| s.iter().all(|s| s.watchdog_tripped()));
    let err = cycle(&mut c, &emu).expect_err("a silence as long as the Bus Watchdog is reported");
    assert!(matches!(err, DriverError::HardwareFault { .. }) && err.to_string().contains("Bus Watchdog"), "{err}");
    assert_eq!(c.mode(), ControllerMode::Fault);
    // The safe stop cleared the latched error (goals writable again) and holds with the watchdog off.
    wait_for(&emu, "holding", |s| s.iter().all(|s| s.torque_enabled && s.operating_mode == 5 && s.bus_watchdog == 0));
    // Torque control again re-arms it.
    let units = (c.driver().bus_watchdog().as_millis() / 20) as u8;
    c.driver_mut().read_state().expect("read");
    c.driver_mut().write_torque(&[0.0; 7]).expect("torque control again");
    wait_for(&emu, "re-armed", |s| s.iter().all(|s| s.operating_mode == 0 && s.bus_watchdog == units));
}

#[test]
fn dropping_the_driver_performs_the_safe_stop() {
    for (kind, stopped) in [
        (
            SafeStopKind::Hold,
            (|s: &sim::emulators::ServoView| s.torque_enabled && s.operating_mode == 5) as fn(&_) -> bool,
        ),
        (SafeStopKind::TorqueOff, |s: &sim::emulators::ServoView| !s.torque_enabled),
    ] {
        let (emu, mut c) = rig_at_1khz(kind);
        drive_until_armed(&emu, &mut c);
        drop(c);
        wait_for(&emu, &format!("{kind:?} after the drop"), |s| s.iter().all(stopped));
        assert!(emu.servos().iter().all(|s| !s.watchdog_tripped()), "{:?}", emu.servos());
    }
}

#[test]
fn a_panic_on_the_loop_thread_unwinds_into_the_drivers_safe_stop() {
    let mut cfg = panda_config();
    let world = SimWorld::new(&cfg).expect("world");
    let (emu, _observer) = DynamixelEmulator::spawn(world, EmulatorOptions::for_dof(7)).expect("emulator");
    let dxl = emu.driver_config(4_000_000, SafeStopKind::Hold);
    cfg.driver = DriverConfig::Dynamixel(dxl.clone());
    let mut arm = DynamixelArm::open(&dxl, 7, Arc::new(emu.clock())).expect("driver opens the emulated bus");
    arm.set_loop_rate(1000.0);
    let panic = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let arm = common::PanicsWhenTold { inner: arm, panic: panic.clone() };
    let core = ControllerCore::new(&cfg, arm).expect("core");
    let handle = common::spawn_loop(core, &cfg, emu.clock());
    wait_for(&emu, "torque control", |s| s.iter().all(|s| s.torque_enabled && s.operating_mode == 0));
    panic.store(true, std::sync::atomic::Ordering::Release);
    common::wait_until(|| handle.is_running(), "the loop thread ends", |running| !running);
    wait_for(&emu, "holding after the panic", |s| {
        s.iter().all(|s| s.torque_enabled && s.operating_mode == 5 && !s.watchdog_tripped())
    });
    assert!(handle.stop().is_none(), "the loop thread panicked");
}

#[test]
fn a_tripped_servo_refuses_goals_until_opening_the_driver_clears_its_watchdog_error() {
    use controller::drivers::dynamixel::{BusError, ControlTable, DynamixelBus};
    let (emu, mut c) = rig_at_1khz(SafeStopKind::TorqueOff);
    drive_until_armed(&emu, &mut c);
    wait_long(&emu, "every servo stopped by its Bus Watchdog", |s| s.iter().all(|s| s.watchdog_tripped()));
    // The torque-off safe stop leaves the latched error alone, as a controller that died would.
    drop(c);
    wait_for(&emu, "torque off, the error latched", |s| s.iter().all(|s| !s.torque_enabled && s.watchdog_tripped()));
    let dxl = emu.driver_config(4_000_000, SafeStopKind::TorqueOff);
    {
        let timeout = std::time::Duration::from_millis(50);
        let port = controller::drivers::serial::open_port(emu.port(), dxl.baud, timeout, 1).expect("port");
        let mut bus = DynamixelBus::new(port, timeout);
        let t = ControlTable::of(dxl.series);
        let err = bus.write(1, t.goal_current, &100i16.to_le_bytes()).expect_err("goals are read-only while latched");
        assert!(matches!(err, BusError::Refused { .. }), "{err:?}");
    }
    let mut arm = DynamixelArm::open(&dxl, 7, Arc::new(emu.clock())).expect("a new controller opens the bus");
    assert!(emu.servos().iter().all(|s| s.bus_watchdog == 0), "cleared at open: {:?}", emu.servos());
    arm.read_state().expect("read");
    arm.write_torque(&[0.0; 7]).expect("torque control");
    wait_for(&emu, "driven again", |s| s.iter().all(|s| s.torque_enabled && s.operating_mode == 0));
}

/// `kill -9` of a real `corrigo controller` process driving the emulated chain: no destructor runs, and the
/// servos' own Bus Watchdog stops them.
#[test]
fn corrigo_controller_killed_with_sigkill_is_stopped_by_the_servos_bus_watchdog() {
    use interfaces::config::ServoSeries;
    let dir = tempfile::tempdir().expect("temporary directory");
    let bus_port = tests::common::free_port();
    let cell = |port_path: &str| {
        let mut cfg = tests::common::shipped("dynamixel_xm_arm6.toml");
        tests::common::on_port(&mut cfg, bus_port);
        let DriverConfig::Dynamixel(dxl) = &mut cfg.driver else { panic!("a dynamixel config") };
        dxl.port = port_path.to_string();
        dxl.inverted = vec![false; dxl.ids.len()];
        dxl.timeout_ms = 50.0;
        cfg.controller.realtime = false;
        tests::common::checked(cfg)
    };
    let probe = cell("/dev/null");
    let DriverConfig::Dynamixel(dxl) = &probe.driver else { panic!("a dynamixel config") };
    assert_eq!(dxl.series, ServoSeries::X);
    let opts = EmulatorOptions {
        series: dxl.series,
        ids: dxl.ids.clone(),
        torque_constant: dxl.torque_constant.clone(),
        ..EmulatorOptions::for_dof(dxl.ids.len())
    };
    let (emu, _observer) = DynamixelEmulator::spawn(SimWorld::new(&probe).expect("world"), opts).expect("emulator");
    let cfg = cell(emu.port());
    let cfg_path = dir.path().join("cell.toml");
    tests::common::write_cell(&cfg, &cfg_path);
    let _bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let log = dir.path().join("controller.log");
    let mut node = std::process::Command::new(tests::corrigo_bin())
        .args(["controller", "--config", cfg_path.to_str().expect("utf-8 path"), "--seconds", "40"])
        .env("RUST_LOG", "info,zenoh=warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start corrigo controller");
    let armed = |s: &[sim::emulators::ServoView]| {
        s.iter().all(|s| s.torque_enabled && s.operating_mode == 0 && (1..=127).contains(&s.bus_watchdog))
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !armed(&emu.servos()) {
        if std::time::Instant::now() > until || node.try_wait().ok().flatten().is_some() {
            let _ = node.kill();
            panic!("torque control with the Bus Watchdog armed: {:?}\n{}", emu.servos(), read(&log));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    node.kill().expect("SIGKILL");
    node.wait().expect("reaped");
    wait_long(&emu, "every servo stopped by its Bus Watchdog", |s| {
        s.iter().all(|s| s.watchdog_tripped() && s.goal_current == 0)
    });
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
