//! `corrigo controller`: the controller node alone, driving the configured arm from pose targets on the bus.

use super::common::{BusArgs, ConfigArg, open_bus, stop_flag};
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;
use std::time::Duration;

/// Arguments of `corrigo controller`.
#[derive(Args, Debug)]
pub struct ControllerArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    seconds: Option<f64>,
    /// A simulated cell also renders and publishes its cameras (on by default when `agent.use_images`).
    #[arg(long)]
    cameras: bool,
    #[command(flatten)]
    bus: BusArgs,
}

/// Runs `corrigo controller`; returns the exit code ([`exit::SAFETY_STOP`] after a fault).
pub fn run(args: ControllerArgs) -> Result<i32> {
    let cfg = args.bus.load(&args.cfg)?;
    let stop = stop_flag()?;
    let bus = open_bus(&cfg)?;
    let duration = args.seconds.map(Duration::from_secs_f64);
    let cameras = args.cameras || cfg.agent.use_images;
    let out = corrigo_app::run_controller::run(&cfg, &bus, stop, duration, cameras)?;
    Ok(if out.faulted { exit::SAFETY_STOP } else { exit::OK })
}
