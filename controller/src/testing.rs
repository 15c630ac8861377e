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
