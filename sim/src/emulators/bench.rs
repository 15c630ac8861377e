//! Figures of the Dynamixel bus: round trip of a control cycle and the loop rate it allows, on the emulated bus.
//!
//! For each baud rate the same arm (7 emulated servos) is measured twice: on the bare pty (the kernel copies
//! bytes with no baud-rate timing, so this is the host's software overhead only) and with the emulator holding
//! every reply for its wire time at that baud. Beside them, the wire time of one cycle computed from the packet
//! sizes. A benchmark prints figures; it asserts nothing about timing.

use super::dynamixel::{DynamixelEmulator, EmulatorOptions};
use crate::world::{SimError, SimWorld};
use controller::bench::Percentiles;
use controller::drivers::dynamixel::{BusTiming, DynamixelArm};
use interfaces::CellConfig;
use interfaces::config::SafeStopKind;
use interfaces::drivers::{ArmDriver, DriverError, MAX_DOF};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// One measured configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusFigures {
    /// Baud rate, bit/s.
    pub baud: u32,
    /// Replies held for their wire time (`true`) or the bare pty (`false`).
    pub wire_timed: bool,
    /// One control cycle (sync read of the present block + sync write of goal currents), measured, µs.
    pub cycle_us: Percentiles,
    /// The driver's own timing probe at open.
    pub timing: BusTiming,
}

impl BusFigures {
    /// Loop rate the measured median / p99 cycle allows, Hz.
    pub fn rate_hz(&self) -> (f64, f64) {
        (1e6 / self.cycle_us.p50, 1e6 / self.cycle_us.p99)
    }
}

impl fmt::Display for BusFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r50, r99) = self.rate_hz();
        write!(
            f,
            "{:>9} bit/s {:<18} cycle p50 {:7.1} µs  p99 {:7.1} µs  → {:6.0} Hz (p50) {:6.0} Hz (p99) | wire time {:6.1} µs ({} B), driver's rate {:6.0} Hz",
            self.baud,
            if self.wire_timed { "(wire-timed pty)" } else { "(bare pty)" },
            self.cycle_us.p50,
            self.cycle_us.p99,
            r50,
            r99,
            self.timing.cycle_wire_us,
            self.timing.cycle_bytes,
            self.timing.achievable_rate_hz
        )
    }
}

/// Why a figure could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The world.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The emulator.
    #[error(transparent)]
    Emulator(#[from] super::dynamixel::EmulatorError),
    /// The driver.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

/// Measures `cycles` control cycles (zero torque) of the arm of `cfg` through the emulated bus at `baud`.
pub fn measure(cfg: &CellConfig, baud: u32, wire_timed: bool, cycles: usize) -> Result<BusFigures, BenchError> {
    let world = SimWorld::new(cfg)?;
    let dof = world.dof();
    let mut opts = EmulatorOptions::for_dof(dof);
    opts.wire_timing = wire_timed.then_some(baud);
    let (emu, _obs) = DynamixelEmulator::spawn(world, opts)?;
    let dxl = emu.driver_config(baud, SafeStopKind::Hold);
    let mut arm = DynamixelArm::open(&dxl, dof, Arc::new(emu.clock()))?;
    let timing = arm
        .timing()
        .ok_or_else(|| DriverError::InvalidCommand { device: dxl.port.clone(), detail: "no timing probe".into() })?;
    let tau = [0.0; MAX_DOF];
    let mut us = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        let t0 = Instant::now();
        arm.read_state()?;
        arm.write_torque(&tau)?;
        us.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    Ok(BusFigures { baud, wire_timed, cycle_us: Percentiles::of(&mut us), timing })
}

/// One measured configuration of the Feetech bus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeetechFigures {
    /// Baud rate, bit/s.
    pub baud: u32,
    /// Bus wire-timed (`true`) or the bare pty (`false`).
    pub wire_timed: bool,
    /// Servos on the bus (arm joints and jaw).
    pub servos: usize,
    /// One control cycle (sync read of the present block + sync write of goal positions), measured, µs.
    pub cycle_us: Percentiles,
    /// The driver's own timing probe at open.
    pub timing: controller::drivers::feetech::BusTiming,
}

impl fmt::Display for FeetechFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>9} bit/s {:<18} {} servos: cycle p50 {:7.1} µs  p99 {:7.1} µs  → {:6.0} Hz (p50) | wire time {:6.1} µs ({} B), driver's rate {:6.0} Hz",
            self.baud,
            if self.wire_timed { "(wire-timed bus)" } else { "(bare pty)" },
            self.servos,
            self.cycle_us.p50,
            self.cycle_us.p99,
            1e6 / self.cycle_us.p50,
            self.timing.cycle_wire_us,
            self.timing.cycle_bytes,
            self.timing.achievable_rate_hz
        )
    }
}

/// Measures `cycles` control cycles (zero torque) of the Feetech arm of `cfg` (e.g. `so101.toml`, arm and jaw)
/// through the emulated bus at `baud`.
pub fn measure_feetech(
    cfg: &CellConfig,
    baud: u32,
    wire_timed: bool,
    cycles: usize,
) -> Result<FeetechFigures, BenchError> {
    use super::feetech::{FeetechEmulator, FeetechEmulatorOptions};
    use controller::drivers::feetech::FeetechArm;
    let world = SimWorld::new(cfg)?;
    let dof = world.dof();
    let mut opts = FeetechEmulatorOptions::for_dof(dof);
    opts.wire_timing = wire_timed.then_some(baud);
    let (emu, _obs) = FeetechEmulator::spawn(world, opts)?;
    let d = emu.driver_config(baud, SafeStopKind::Hold);
    let mut arm = FeetechArm::open(&d, &cfg.robot, &cfg.gripper, Arc::new(emu.clock()))?;
    let timing = arm
        .timing()
        .ok_or_else(|| DriverError::InvalidCommand { device: d.port.clone(), detail: "no timing probe".into() })?;
    let tau = [0.0; MAX_DOF];
    arm.read_state()?;
    let mut us = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        let t0 = Instant::now();
        arm.read_state()?;
        arm.write_torque(&tau)?;
        us.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    let servos = d.ids.len() + usize::from(d.gripper_id.is_some());
    Ok(FeetechFigures { baud, wire_timed, servos, cycle_us: Percentiles::of(&mut us), timing })
}
