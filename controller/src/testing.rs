//! Helpers shared by this crate's tests and by other crates' tests (`sim`): the default cell config and random
//! joint configurations.

use crate::model::RobotModel;
use interfaces::CellConfig;
use interfaces::drivers::{JointVec, MAX_DOF};
use rand::Rng;

/// The default simulated cell's config (`hardware_configs/sim_panda.toml`), compiled into the crate.
pub const SIM_PANDA_TOML: &str = include_str!("../../hardware_configs/sim_panda.toml");

/// Parses [`SIM_PANDA_TOML`].
///
/// # Panics
/// If the shipped config does not validate (a bug in the repository, caught by every test that uses it).
pub fn panda_config() -> CellConfig {
    match CellConfig::from_toml_str(SIM_PANDA_TOML, "hardware_configs/sim_panda.toml") {
        Ok(c) => c,
        Err(e) => panic!("shipped config is invalid: {e}"),
    }
}

/// A joint configuration drawn uniformly within the model's limits (entries past `dof` zero).
pub fn random_q<R: Rng>(m: &RobotModel, rng: &mut R) -> JointVec {
    let mut q = [0.0; MAX_DOF];
    for (i, qi) in q.iter_mut().enumerate().take(m.dof()) {
        *qi = rng.random_range(m.lower()[i]..m.upper()[i]);
    }
    q
}

/// A stand-in arm for unit tests: returns the state it is given and records what it is told.
#[derive(Debug, Clone)]
pub struct ScriptedArm {
    info: interfaces::drivers::ArmInfo,
    /// State returned by `read_state`.
    pub state: interfaces::drivers::JointState,
    /// Last torque written, N·m.
    pub last_torque: Option<JointVec>,
    /// Torques written so far.
    pub writes: u64,
    /// `safe_stop` calls so far.
    pub safe_stops: u64,
    /// When set, `read_state` fails with this error.
    pub fail_reads: Option<interfaces::drivers::DriverError>,
}

impl ScriptedArm {
    /// A `dof`-joint arm at `q` (at rest); `gravity_compensated` as the backend would report it.
    pub fn new(dof: usize, q: JointVec, gravity_compensated: bool) -> Self {
        Self {
            info: interfaces::drivers::ArmInfo { name: "scripted".into(), dof, gravity_compensated },
            state: interfaces::drivers::JointState { q, ..Default::default() },
            last_torque: None,
            writes: 0,
            safe_stops: 0,
            fail_reads: None,
        }
    }
}

impl interfaces::drivers::ArmDriver for ScriptedArm {
    fn info(&self) -> &interfaces::drivers::ArmInfo {
        &self.info
    }
    fn read_state(&mut self) -> Result<interfaces::drivers::JointState, interfaces::drivers::DriverError> {
        match &self.fail_reads {
            Some(e) => Err(e.clone()),
            None => Ok(self.state),
        }
    }
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), interfaces::drivers::DriverError> {
        self.last_torque = Some(*tau);
        self.writes += 1;
        Ok(())
    }
    fn safe_stop(&mut self) -> Result<(), interfaces::drivers::DriverError> {
        self.safe_stops += 1;
        Ok(())
    }
}

/// The home posture of the default cell (its nullspace posture), rad.
pub fn home_q() -> JointVec {
    let cfg = panda_config();
    let mut q = [0.0; MAX_DOF];
    q[..cfg.controller.nullspace_posture.len()].copy_from_slice(&cfg.controller.nullspace_posture);
    q
}
