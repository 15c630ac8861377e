//! What the subcommands share: the config, bus and run-directory argument groups, the `--env` choice, the Ctrl-C
//! stop flag and the JSON-output flag.

use anyhow::Result;
use clap::{Args, ValueEnum};
use corrigo_app::nodes::env::EnvChoice;
use corrigo_app::{config_file, exit};
use interfaces::CellConfig;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The config every command reads when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "hardware_configs/sim_panda.toml";

/// `--config`: the cell config file.
#[derive(Args, Debug)]
pub struct ConfigArg {
    /// The cell config (TOML).
    #[arg(long, short, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Override a config key for this run, e.g. `--set 'agent.hidden=[64, 64]'` (repeatable; validated like the
    /// file).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ConfigArg {
    /// Reads and validates the config, with the `--set` overrides.
    pub fn load(&self) -> Result<CellConfig> {
        Ok(config_file::load_with(&self.config, &self.set)?)
    }
}

/// `--connect`: for the commands that open the bus.
#[derive(Args, Debug)]
pub struct BusArgs {
    /// Bus endpoints to connect to (overrides the config's bus.connect).
    #[arg(long, value_name = "ENDPOINT")]
    pub connect: Vec<String>,
}

impl BusArgs {
    /// Reads and validates the config of `cfg`, then puts the `--connect` endpoints (when given) in place of its
    /// `bus.connect`.
    pub fn load(&self, cfg: &ConfigArg) -> Result<CellConfig> {
        let mut config = cfg.load()?;
        if !self.connect.is_empty() {
            config.bus.connect.clone_from(&self.connect);
        }
        Ok(config)
    }
}

/// Opens the bus of the cell `cfg` describes.
pub fn open_bus(cfg: &CellConfig) -> Result<bus::Bus> {
    Ok(bus::Bus::open(&cfg.bus, &cfg.cell.name)?)
}

/// `--run-dir`; each command sets its own help text with [`run_dir_help`].
#[derive(Args, Debug)]
pub struct RunDirArg {
    /// Run directory.
    #[arg(long = "run-dir", value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
}

impl RunDirArg {
    /// The directory given, or `runs/<cell.name>` of the loaded config.
    pub fn resolve(&self, cfg: &CellConfig) -> PathBuf {
        self.run_dir.clone().unwrap_or_else(|| PathBuf::from("runs").join(&cfg.cell.name))
    }
}

/// The help text of `--run-dir`: `what`, then the default.
pub fn run_dir_help(what: &str) -> String {
    format!("{what} [default: runs/<cell.name> of the loaded config]")
}

/// `--env`: where the actor's environment runs.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvArg {
    // The simulated cell in this process.
    Sim,
    // The cell's controller and cameras as other nodes on the bus.
    Bus,
}

impl From<EnvArg> for EnvChoice {
    fn from(e: EnvArg) -> Self {
        match e {
            EnvArg::Sim => EnvChoice::InProcess,
            EnvArg::Bus => EnvChoice::Bus,
        }
    }
}

/// A flag that Ctrl-C raises (a second Ctrl-C exits at once with [`exit::FAILURE`]).
pub fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || {
        eprintln!("stopping (Ctrl-C again to force)");
        if s.swap(true, Ordering::AcqRel) {
            std::process::exit(exit::FAILURE);
        }
    })?;
    Ok(stop)
}

static JSON: OnceLock<bool> = OnceLock::new();

/// Records the global `--json` flag (once, at start-up).
pub fn set_json_output(json: bool) {
    let _ = JSON.set(json);
}

/// Whether `--json` was given: machine-readable output.
pub fn json_output() -> bool {
    JSON.get().copied().unwrap_or(false)
}
