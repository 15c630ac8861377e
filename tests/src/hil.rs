//! Shared by the hardware-in-the-loop tests: one generic rig (a device emulator backed by the MuJoCo arm, the
//! real driver talking to it, the controller on top: [`Emulator`], [`emulator`], [`rig`]), the fault check every
//! driver must pass ([`fault_after_warm_up`]), the loop-rate and round-trip measurements, and the step-response
//! check.

use controller::core::ControllerCore;
use controller::drivers::franka::FrankaArm;
use controller::drivers::ur_rtde::UrRtdeArm;
use interfaces::config::DriverConfig;
use interfaces::drivers::{ArmDriver, DriverError};
use interfaces::msg::{ControllerMode, Pose};
use interfaces::{CellConfig, Clock, MockClock};
use nalgebra::{Isometry3, UnitQuaternion, Vector3};
use sim::SimWorld;
use sim::emulators::franka_fci::{FciEmulatorOptions, FrankaEmulator};
use sim::emulators::ur_rtde::{RtdeEmulatorOptions, UrRtdeEmulator};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Late-packet deadline of the rigs' drivers: generous, CI machines are loaded.
pub const DEADLINE_MS: f64 = 200.0;

/// An emulated robot on loopback sockets, backed by the MuJoCo arm, and the driver that talks to it.
pub trait Emulator: Sized {
    /// The emulator's settings (pacing, injected differences).
    type Options: Default;
    /// The driver under test.
    type Arm: ArmDriver;
    /// The shipped cell config of this robot.
    fn cell() -> CellConfig;
    /// Starts the emulator on `world`.
    fn spawn(world: SimWorld, options: Self::Options) -> Self;
    /// The driver section that reaches this emulator.
    fn driver(&self, deadline_ms: f64) -> DriverConfig;
    /// Opens the driver on the cell's driver section (which must be [`driver`](Self::driver)'s).
    fn open(&self, cfg: &CellConfig) -> Result<Self::Arm, DriverError>;
    /// The emulated robot's clock.
    fn clock(&self) -> MockClock;
}

impl Emulator for FrankaEmulator {
    type Options = FciEmulatorOptions;
    type Arm = FrankaArm;
    fn cell() -> CellConfig {
        controller::testing::panda_config()
    }
    fn spawn(world: SimWorld, options: Self::Options) -> Self {
        FrankaEmulator::spawn(world, options).expect("FCI emulator").0
    }
    fn driver(&self, deadline_ms: f64) -> DriverConfig {
        DriverConfig::Franka(self.driver_config(deadline_ms))
    }
    fn open(&self, cfg: &CellConfig) -> Result<FrankaArm, DriverError> {
        let DriverConfig::Franka(f) = &cfg.driver else { panic!("not a franka driver: {:?}", cfg.driver) };
        FrankaArm::open(f, cfg.robot.joints.len(), Arc::new(Emulator::clock(self)))
    }
    fn clock(&self) -> MockClock {
        FrankaEmulator::clock(self)
    }
}

impl Emulator for UrRtdeEmulator {
    type Options = RtdeEmulatorOptions;
    type Arm = UrRtdeArm;
    fn cell() -> CellConfig {
        let toml = include_str!("../../hardware_configs/ur5e.toml");
        CellConfig::from_toml_str(toml, "hardware_configs/ur5e.toml").unwrap_or_else(|e| panic!("{e}"))
    }
    fn spawn(world: SimWorld, options: Self::Options) -> Self {
        UrRtdeEmulator::spawn(world, options).expect("RTDE emulator").0
    }
    fn driver(&self, deadline_ms: f64) -> DriverConfig {
        DriverConfig::UrRtde(self.driver_config(deadline_ms))
    }
    fn open(&self, cfg: &CellConfig) -> Result<UrRtdeArm, DriverError> {
        let DriverConfig::UrRtde(u) = &cfg.driver else { panic!("not a ur_rtde driver: {:?}", cfg.driver) };
        UrRtdeArm::open(u, cfg.robot.joints.len(), Arc::new(Emulator::clock(self)))
    }
    fn clock(&self) -> MockClock {
        UrRtdeEmulator::clock(self)
    }
}

/// The emulator of `E`'s robot with `options`, and the robot's cell config pointing its driver at it (deadline
/// [`DEADLINE_MS`]).
pub fn emulator<E: Emulator>(options: E::Options) -> (E, CellConfig) {
    let mut cfg = E::cell();
    let world = SimWorld::new(&cfg).expect("world");
    let emu = E::spawn(world, options);
    cfg.driver = emu.driver(DEADLINE_MS);
    (emu, cfg)
}

/// The controller on the driver of an emulator with default options.
pub fn rig<E: Emulator>() -> (E, ControllerCore<E::Arm>) {
    let (emu, cfg) = emulator::<E>(E::Options::default());
    let arm = emu.open(&cfg).expect("driver opens the emulated robot");
    let core = ControllerCore::new(&cfg, arm).expect("core");
    (emu, core)
}

/// Runs 20 healthy cycles, calls `inject` (a fault switched on in the emulator), then cycles until the driver
/// reports it (at most `within` cycles, else fails naming `what`), and checks that the controller faulted.
/// Returns the driver's error.
pub fn fault_after_warm_up<D: ArmDriver>(
    c: &mut ControllerCore<D>,
    clock: &MockClock,
    within: usize,
    what: &str,
    inject: impl FnOnce(),
) -> DriverError {
    run(c, clock, 20);
    inject();
    let err = (0..within).find_map(|_| cycle(c, clock).err()).unwrap_or_else(|| panic!("{what} is not reported"));
    assert_eq!(c.mode(), ControllerMode::Fault, "after {what}: {err}");
    err
}

/// Reads and writes (zero torque) as fast as the driver allows for `span`; returns the loop rate, Hz.
pub fn loop_rate(arm: &mut impl ArmDriver, span: Duration) -> f64 {
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < span {
        arm.read_state().unwrap_or_else(|e| panic!("read {n}: {e}"));
        arm.write_torque(&[0.0; 7]).expect("write");
        n += 1;
    }
    f64::from(n) / t0.elapsed().as_secs_f64()
}

/// 500 lockstep round trips (command → physics → state); returns p50 and p99 in µs (printed as `label`).
pub fn lockstep_round_trip_us(arm: &mut impl ArmDriver, label: &str) -> (f64, f64) {
    let mut rtt = Vec::with_capacity(500);
    for _ in 0..500 {
        let t = Instant::now();
        arm.write_torque(&[0.0; 7]).expect("write");
        arm.read_state().expect("read");
        rtt.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let p = interfaces::stats::Percentiles::of(&mut rtt);
    println!("lockstep {label} round trip (command → physics → state): p50 {:.0} µs, p99 {:.0} µs", p.p50, p.p99);
    (p.p50, p.p99)
}

/// One control cycle at the emulated robot's time.
#[allow(dead_code)] // not every test file that shares this module drives an emulator
pub fn cycle<D: ArmDriver>(c: &mut ControllerCore<D>, clock: &MockClock) -> Result<(), DriverError> {
    c.step(clock.now()).map(|_| ())
}

/// `n` control cycles that must all succeed.
#[allow(dead_code)] // not every test file that shares this module drives an emulator
pub fn run<D: ArmDriver>(c: &mut ControllerCore<D>, clock: &MockClock, n: usize) {
    for k in 0..n {
        cycle(c, clock).unwrap_or_else(|e| panic!("cycle {k}: {e}"));
    }
}

/// Waits (≤ 3 s) until what `view` shows of an emulated robot is `ok`; fails naming `what` with the last view.
#[allow(dead_code)] // not every test file that shares this module waits on an emulator
pub fn wait_until<V: std::fmt::Debug>(view: impl Fn() -> V, what: &str, ok: impl Fn(&V) -> bool) {
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let v = view();
        if ok(&v) {
            return;
        }
        assert!(Instant::now() < until, "{what}: {v:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// From where the TCP is, targets +5 cm along x and +0.2 rad about z (the target re-sent every `resend` cycles,
/// as a 20 Hz policy would), runs `cycles` control cycles (1.5 s at the driver's rate) through `cycle`, and asserts
/// the controller's step-response criteria: within 2 mm and 0.02 rad at the end, no overshoot beyond the
/// translational error clip, still tracking.
pub fn assert_step_response<D: ArmDriver>(
    c: &mut ControllerCore<D>,
    cycles: usize,
    resend: usize,
    cycle: impl FnMut(&mut ControllerCore<D>) -> Result<(), DriverError>,
) {
    assert_step_response_within(c, cycles, resend, (0.05, 0.2), RotateAbout::WorldZ, (0.002, 0.02), cycle);
}

/// The axis of the step's rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateAbout {
    /// The base's vertical axis: a yaw, which a 6- or 7-joint arm reaches at any position.
    WorldZ,
    /// The TCP's own z axis (the wrist roll's axis): the rotation a 5-joint arm can reach while it translates,
    /// whose yaw is tied to the direction of the TCP from its base.
    ToolZ,
}

/// [`assert_step_response`] with the step (`x` m, rotation rad about `axis`) and the end tolerances (m, rad) given.
pub fn assert_step_response_within<D: ArmDriver>(
    c: &mut ControllerCore<D>,
    cycles: usize,
    resend: usize,
    (step_x, step_yaw): (f64, f64),
    axis: RotateAbout,
    (pos_tol, rot_tol): (f64, f64),
    mut cycle: impl FnMut(&mut ControllerCore<D>) -> Result<(), DriverError>,
) {
    let tcp = |c: &ControllerCore<D>| -> Isometry3<f64> { c.status().ee_pose.to_isometry() };
    let start = tcp(c);
    let clip = c.law().gains().translational_clip[0];
    let goal = Isometry3::from_parts(
        (start.translation.vector + Vector3::new(step_x, 0.0, 0.0)).into(),
        match axis {
            RotateAbout::WorldZ => UnitQuaternion::from_axis_angle(&Vector3::z_axis(), step_yaw) * start.rotation,
            RotateAbout::ToolZ => start.rotation * UnitQuaternion::from_axis_angle(&Vector3::z_axis(), step_yaw),
        },
    );
    let mut over = f64::NEG_INFINITY;
    for k in 0..cycles {
        if k % resend == 0 {
            c.set_target(&Pose::from_isometry(&goal)).expect("target");
        }
        cycle(c).unwrap_or_else(|e| panic!("cycle {k}: {e}"));
        over = over.max(tcp(c).translation.x - goal.translation.x);
    }
    let end = tcp(c);
    let pos_err = (end.translation.vector - goal.translation.vector).norm();
    let rot_err = end.rotation.angle_to(&goal.rotation);
    println!("step response: position error {:.2} mm, orientation error {rot_err:.4} rad", pos_err * 1e3);
    assert!(pos_err < pos_tol, "position error after {cycles} cycles: {pos_err} m (tolerance {pos_tol} m)");
    assert!(rot_err < rot_tol, "orientation error after {cycles} cycles: {rot_err} rad (tolerance {rot_tol} rad)");
    assert!(over < clip, "overshoot {over} m beyond the clip {clip} m");
    assert_eq!(c.mode(), ControllerMode::Tracking);
}

/// A driver that panics in `read_state` once `panic` is raised (a bug anywhere in the loop's call tree), to check
/// that the unwinding reaches the wrapped driver's `Drop`.
#[derive(Debug)]
pub struct PanicsWhenTold<D> {
    /// The driver.
    pub inner: D,
    /// Raise to panic at the next read.
    pub panic: Arc<std::sync::atomic::AtomicBool>,
}

impl<D: ArmDriver> ArmDriver for PanicsWhenTold<D> {
    fn info(&self) -> &interfaces::drivers::ArmInfo {
        self.inner.info()
    }
    fn read_state(&mut self) -> Result<interfaces::drivers::JointState, DriverError> {
        assert!(!self.panic.load(std::sync::atomic::Ordering::Acquire), "injected panic on the loop thread");
        self.inner.read_state()
    }
    fn write_torque(&mut self, tau: &interfaces::drivers::JointVec) -> Result<(), DriverError> {
        self.inner.write_torque(tau)
    }
    fn safe_stop(&mut self) -> Result<(), DriverError> {
        self.inner.safe_stop()
    }
}

/// Runs `core` on the controller's real-time loop thread (back to back, not real-time scheduled), without a
/// gripper.
pub fn spawn_loop<D: ArmDriver + 'static>(
    core: ControllerCore<D>,
    cfg: &CellConfig,
    clock: MockClock,
) -> controller::rt::ControllerHandle {
    let opts = controller::rt::LoopOptions {
        pacing: controller::rt::Pacing::AsFastAsPossible,
        realtime: false,
        ..controller::rt::LoopOptions::from_config(cfg)
    };
    controller::rt::spawn(core, None::<controller::drivers::NoGripper>, cfg.gripper, clock, opts).expect("loop")
}
