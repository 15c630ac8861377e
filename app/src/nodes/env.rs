//! Which environment a node steps, and opening it: the simulated cell in this process (`sim::SimEnv`, with its
//! cameras published for the operator panel on request, through perception's camera node) or the cell over the bus ([`crate::bus_env::BusEnv`]).

use crate::bus_env::BusEnv;
use anyhow::{Context, Result};
use bus::Bus;
use interfaces::CellConfig;
use interfaces::env::CellEnv;
use perception::CameraNode;
use sim::SimEnv;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Which environment the actor or the recorder steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnvChoice {
    /// The simulated cell in this process, stepped as fast as the CPU allows (paced with `realtime`).
    #[default]
    InProcess,
    /// The cell's controller and cameras as nodes on the bus, at the controller's pace.
    Bus,
}

/// An open environment and what runs beside it while it lives (the simulated cell's camera publishers).
pub struct OpenEnv {
    /// The environment.
    pub env: Box<dyn CellEnv>,
    /// Whether the node must pace it at the policy rate itself (the in-process cell runs as fast as the CPU
    /// allows; the cell over the bus keeps its controller's pace).
    pub needs_pacing: bool,
    _cameras: Option<CameraNode>,
}

impl std::fmt::Debug for OpenEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenEnv").field("needs_pacing", &self.needs_pacing).finish_non_exhaustive()
    }
}

/// Opens the environment `choice` of the cell `cfg`, episodes seeded from `seed`; with `publish_cameras`, the
/// in-process cell's cameras are published (`camera/<name>/frame`) for the panel.
pub fn open(bus: &Bus, cfg: &CellConfig, choice: EnvChoice, seed: u64, publish_cameras: bool) -> Result<OpenEnv> {
    match choice {
        EnvChoice::InProcess => {
            let mut env = SimEnv::new(cfg, seed).context("opening the simulated cell")?;
            // Through perception's camera node, as every other camera of every command: the same crop and
            // resize, the same health events. It stops when the environment is dropped.
            let cameras = if publish_cameras && !cfg.cameras.is_empty() {
                let stop = Arc::new(AtomicBool::new(false));
                let world: &mut dyn interfaces::drivers::SimCameras = env.world_mut();
                Some(
                    perception::run_camera_node(bus, cfg, stop, Some(world))
                        .context("starting the simulated cameras")?,
                )
            } else {
                None
            };
            Ok(OpenEnv { env: Box::new(env), needs_pacing: true, _cameras: cameras })
        }
        EnvChoice::Bus => {
            Ok(OpenEnv { env: Box::new(BusEnv::new(bus, cfg, seed)?), needs_pacing: false, _cameras: None })
        }
    }
}
