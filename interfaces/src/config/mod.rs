//! The cell configuration: one TOML file per robot cell (`hardware_configs/*.toml`).
//!
//! Loading is strict: unknown keys, wrong types and out-of-range values are rejected with a [`ConfigError`] that
//! names the file, the key path, the value and the allowed range. Parsing and validation live here; reading the
//! file is the caller's job (this crate does no I/O) — see [`CellConfig::from_toml_str`].

mod actor;
mod agent;
mod bus;
mod cameras;
mod controller;
mod fleet;
mod robot;
mod task;
mod teleop;
mod validate;

pub use actor::ActorConfig;
pub use agent::{
    AgentConfig, CriticKind, EncoderConfig, EncoderKind, EncoderTraining, HlGaussConfig, SPARSE_PRETRAIN_UPDATES,
};
pub use bus::{BusConfig, BusMode, BusSecurity};
pub use cameras::{CameraConfig, CameraSource, Crop};
pub use controller::{ControllerConfig, GripperConfig, WorkspaceBox, check_gains, gain_ranges};
pub use fleet::FleetConfig;
pub use robot::{
    DYNAMIXEL_BAUDS, DriverConfig, DynamixelConfig, EMULATOR_TIMESTEP, FEETECH_BAUDS, FRANKA_DOF, FeetechConfig,
    FrankaConfig, Inertial, JointConfig, RobotConfig, SafeStopKind, ServoSeries, TcpConfig, UR_DOF, UR_RTDE_MAX_HZ,
    UrRtdeConfig,
};
pub use task::{CubeConfig, DEFAULT_CUBE_SIZE, RewardKind, TaskConfig, TaskKind};
pub use teleop::{
    AxisMapping, ButtonBindings, GamepadConfig, KeyboardConfig, LeaderConfig, SpaceMouseConfig, TeleopConfig,
    TeleopFrameKind,
};
pub use validate::{Problem, Validator};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A whole cell: everything a node needs to know about the robot, its cameras, the task and the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellConfig {
    /// Cell identity.
    pub cell: CellSection,
    /// Bus (zenoh) settings.
    #[serde(default)]
    pub bus: BusConfig,
    /// Robot model: kinematics, dynamics, limits.
    pub robot: RobotConfig,
    /// Which backend drives the arm.
    pub driver: DriverConfig,
    /// Controller: rate, gains, limits, watchdog.
    pub controller: ControllerConfig,
    /// The box the TCP target is clamped into, base frame.
    pub workspace: WorkspaceBox,
    /// Gripper limits.
    pub gripper: GripperConfig,
    /// Cameras, one entry each.
    #[serde(default)]
    pub cameras: Vec<CameraConfig>,
    /// The task being learned.
    pub task: TaskConfig,
    /// Learning settings.
    #[serde(default)]
    pub agent: AgentConfig,
    /// Teleoperation devices and the intervention arbiter.
    #[serde(default)]
    pub teleop: TeleopConfig,
    /// The actor's spool and resend pacing.
    #[serde(default)]
    pub actor: ActorConfig,
    /// The cells a learner trains from (empty: its own).
    #[serde(default)]
    pub fleet: FleetConfig,
}

/// `[cell]`: identity of the cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellSection {
    /// Name, used in every key expression (`corrigo/<name>/…`): letters, digits, `_` and `-`.
    pub name: String,
}

/// Why a config could not be loaded. Every variant names the file.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    /// The file does not exist.
    #[error("{file}: config file not found")]
    NotFound {
        /// Path as given.
        file: String,
    },
    /// The file exists but could not be read.
    #[error("{file}: cannot read config file: {reason}")]
    Unreadable {
        /// Path as given.
        file: String,
        /// OS error.
        reason: String,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{file}:{line}:{column}: key `{key}`: {message}")]
    Schema {
        /// Path as given.
        file: String,
        /// Key path, e.g. `controller.gains.translational_stiffness[0]` (`.` for the top level).
        key: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed but values out of their allowed ranges or inconsistent; lists every problem found.
    #[error("{file}: invalid config:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// Path as given.
        file: String,
        /// Each problem, with its key, value and allowed range.
        problems: Vec<Problem>,
    },
}

impl CellConfig {
    /// Parses and validates a config from its TOML text. `file` names the source in errors.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Self, ConfigError> {
        let de = toml::Deserializer::new(text);
        let cfg: CellConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = match e.path().to_string() {
                p if p == "." || p.is_empty() => ".".to_string(),
                p => p,
            };
            let inner = e.into_inner();
            let (line, column) = inner.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            ConfigError::Schema {
                file: file.to_string(),
                key,
                line,
                column,
                message: inner.message().trim().to_string(),
            }
        })?;
        let problems = cfg.validate();
        if problems.is_empty() { Ok(cfg) } else { Err(ConfigError::Invalid { file: file.to_string(), problems }) }
    }

    /// The config as TOML text that [`from_toml_str`](Self::from_toml_str) reads back into an equal config: for
    /// writing a config built or edited in code (a test's cell, a tool's generated cell) to a file a process reads.
    pub fn to_toml_string(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// Checks every range and cross-section consistency; empty when the config is valid.
    pub fn validate(&self) -> Vec<Problem> {
        let mut v = Validator::default();
        if !crate::keys::is_valid_chunk(&self.cell.name) {
            v.push("cell.name", format!("{:?}", self.cell.name), "letters, digits, '_' and '-' only, not empty");
        }
        self.bus.validate(&mut v);
        self.robot.validate(&mut v);
        self.driver.validate(&mut v, self.robot.dof());
        self.controller.validate(&mut v, &self.robot);
        self.workspace.validate(&mut v);
        self.gripper.validate(&mut v);
        let mut names = std::collections::HashSet::new();
        for (i, c) in self.cameras.iter().enumerate() {
            c.validate(&mut v, &format!("cameras[{i}]"));
            if !names.insert(c.name.as_str()) {
                v.push(&format!("cameras[{i}].name"), format!("{:?}", c.name), "a name not used by another camera");
            }
        }
        self.task.validate(&mut v);
        self.agent.validate(&mut v);
        // With the task's defaults filled in: an unset `pretrain_updates` is 0 for a shaped reward.
        if !self.agent.retain_offline && self.agent.with_task_defaults(self.task.reward).pretrain_cycles() == 0 {
            v.push(
                "agent.retain_offline",
                "false".into(),
                "only with agent.pretrain_updates > 0 (without pretraining the demonstrations would never be used; \
                 a shaped reward does not pretrain unless it is set)",
            );
        }
        self.teleop.validate(&mut v);
        self.actor.validate(&mut v);
        self.fleet.validate(&mut v);
        v.into_problems()
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map(|i| before.len() - i).unwrap_or(before.len() + 1);
    (line, column)
}

#[cfg(test)]
mod tests;
