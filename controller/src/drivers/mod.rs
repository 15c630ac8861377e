//! Drivers for real arms, one module per protocol, each with its byte-level codec separate from its I/O:
//! [`dynamixel`] (Protocol 2.0 servo chains over a serial port), [`feetech`] (STS position servos, the
//! SO-100/SO-101 arm), [`ur_rtde`] (Universal Robots e-Series over RTDE), [`franka`] (Franka Panda through the
//! FCI). [`serial`] holds what the two serial-bus drivers share.
//!
//! [`open_arm`] opens the arm a cell config names; the controller then wraps it in the safety envelope like any
//! other [`ArmDriver`]:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mut cfg: interfaces::CellConfig = unimplemented_config();
//! let opened = controller::drivers::open_arm(&cfg)?;
//! opened.apply_rate(&mut cfg); // the loop runs no faster than the bus sustains
//! let clock = interfaces::MonotonicClock;
//! let core = controller::core::ControllerCore::new(&cfg, opened.arm)?;
//! let handle = controller::rt::spawn(core, None::<NoGripper>, cfg.gripper, clock,
//!                                    controller::rt::LoopOptions::from_config(&cfg))?;
//! # let _ = handle;
//! # Ok(()) }
//! # type NoGripper = controller::drivers::NoGripper;
//! # fn unimplemented_config() -> interfaces::CellConfig { panic!() }
//! ```

pub mod dynamixel;
pub mod feetech;
pub mod franka;
pub mod serial;
pub mod ur_rtde;

use interfaces::config::DriverConfig;
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, GripperDriver, JointState, JointVec};
use interfaces::msg::{GripperCommand, GripperState};
use interfaces::{CellConfig, MonotonicClock};
use std::sync::Arc;

/// Any arm driver, boxed (what [`open_arm`] returns; the controller is generic over it like over any driver).
pub struct BoxedArm(pub Box<dyn ArmDriver>);

impl std::fmt::Debug for BoxedArm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BoxedArm").field(&self.0.info().name).finish()
    }
}

impl ArmDriver for BoxedArm {
    fn info(&self) -> &ArmInfo {
        self.0.info()
    }
    fn read_state(&mut self) -> Result<JointState, DriverError> {
        self.0.read_state()
    }
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        self.0.write_torque(tau)
    }
    fn safe_stop(&mut self) -> Result<(), DriverError> {
        self.0.safe_stop()
    }
    fn recover(&mut self) -> Result<(), DriverError> {
        self.0.recover()
    }
}

/// Any gripper driver, boxed (a real arm's gripper from [`OpenedArm::gripper`]).
pub struct BoxedGripper(pub Box<dyn GripperDriver>);

impl std::fmt::Debug for BoxedGripper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxedGripper")
    }
}

impl GripperDriver for BoxedGripper {
    fn command(&mut self, cmd: GripperCommand) -> Result<(), DriverError> {
        self.0.command(cmd)
    }
    fn read(&mut self) -> Result<GripperState, DriverError> {
        self.0.read()
    }
}

/// A placeholder gripper type for cells whose arm has no gripper driver here (pass `None::<NoGripper>`).
#[derive(Debug)]
pub enum NoGripper {}

impl GripperDriver for NoGripper {
    fn command(&mut self, _: GripperCommand) -> Result<(), DriverError> {
        match *self {}
    }
    fn read(&mut self) -> Result<GripperState, DriverError> {
        match *self {}
    }
}

/// A real arm, opened, with what its link sustains.
#[derive(Debug)]
pub struct OpenedArm {
    /// The driver.
    pub arm: BoxedArm,
    /// The control rate to run at, Hz: the config's `controller.rate_hz`, lowered to what the link sustains.
    pub rate_hz: f64,
    /// Why the rate was lowered, when it was (also logged).
    pub rate_note: Option<String>,
    /// The servo bus's fault counters, for the bus bridge to publish (Dynamixel and Feetech).
    pub bus_health: Option<Arc<serial::BusHealth>>,
    /// The arm's gripper, when it is a servo on the arm's own bus (Feetech `driver.gripper_id`).
    pub gripper: Option<BoxedGripper>,
}

impl OpenedArm {
    /// Sets `cfg.controller.rate_hz` to [`rate_hz`](Self::rate_hz) (so that the loop period and the per-cycle torque
    /// rate limit follow it).
    pub fn apply_rate(&self, cfg: &mut CellConfig) {
        cfg.controller.rate_hz = self.rate_hz;
    }
}

/// Opens the real arm named by `cfg.driver` (time from [`MonotonicClock`]). What `corrigo controller --config X`
/// calls for a real arm. Errors name the device (port or address) and, where known, the servo or joint.
/// `kind = "sim"` is refused here: the simulated arm is built by the `sim` crate (`sim::SimCell`).
pub fn open_arm(cfg: &CellConfig) -> Result<OpenedArm, DriverError> {
    let clock: Arc<dyn interfaces::Clock> = Arc::new(MonotonicClock);
    let dof = cfg.robot.dof();
    match &cfg.driver {
        DriverConfig::Sim { .. } => Err(DriverError::InvalidCommand {
            device: "sim".into(),
            detail: "the simulated arm is built by the sim crate (sim::SimCell), not opened as a real arm".into(),
        }),
        DriverConfig::Dynamixel(d) => {
            let mut arm = dynamixel::DynamixelArm::open(d, dof, clock)?;
            let bus_health = Some(arm.health());
            let sustained = arm.timing().map_or(cfg.controller.rate_hz, |t| t.achievable_rate_hz);
            let (rate_hz, rate_note) = adapt_rate(cfg.controller.rate_hz, sustained, &d.port);
            arm.set_loop_rate(rate_hz);
            tracing::info!(port = %d.port, "servo Bus Watchdog: {} ms", arm.bus_watchdog().as_millis());
            Ok(OpenedArm { arm: BoxedArm(Box::new(arm)), rate_hz, rate_note, bus_health, gripper: None })
        }
        DriverConfig::UrRtde(u) => {
            let arm = ur_rtde::UrRtdeArm::open(u, dof, clock)?;
            let (rate_hz, rate_note) = adapt_rate(cfg.controller.rate_hz, u.frequency_hz, arm.device());
            Ok(OpenedArm { arm: BoxedArm(Box::new(arm)), rate_hz, rate_note, bus_health: None, gripper: None })
        }
        DriverConfig::Feetech(f) => {
            let arm = feetech::FeetechArm::open(f, &cfg.robot, &cfg.gripper, clock)?;
            let bus_health = Some(arm.health());
            let gripper = arm.gripper().map(|g| BoxedGripper(Box::new(g)));
            let sustained = arm.timing().map_or(cfg.controller.rate_hz, |t| t.achievable_rate_hz);
            let (rate_hz, rate_note) = adapt_rate(cfg.controller.rate_hz, sustained, &f.port);
            Ok(OpenedArm { arm: BoxedArm(Box::new(arm)), rate_hz, rate_note, bus_health, gripper })
        }
        DriverConfig::Franka(f) => {
            let arm = franka::FrankaArm::open(f, dof, clock)?;
            let (rate_hz, rate_note) = adapt_rate(cfg.controller.rate_hz, franka::FCI_RATE_HZ, arm.device());
            Ok(OpenedArm { arm: BoxedArm(Box::new(arm)), rate_hz, rate_note, bus_health: None, gripper: None })
        }
    }
}

/// The rate to run at: `wanted`, or `sustained` (rounded down to 10 Hz) when lower, with a logged note.
pub fn adapt_rate(wanted: f64, sustained: f64, device: &str) -> (f64, Option<String>) {
    if sustained >= wanted {
        return (wanted, None);
    }
    let rate = ((sustained / 10.0).floor() * 10.0).max(10.0);
    let note = format!(
        "{device}: the link sustains {sustained:.0} Hz, below controller.rate_hz = {wanted:.0} Hz; the loop runs at {rate:.0} Hz"
    );
    tracing::warn!("{note}");
    (rate, Some(note))
}
