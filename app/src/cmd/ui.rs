//! `corrigo ui`: the operator panel, connected to a running cell through the bus.

use super::common::{BusArgs, ConfigArg, open_bus, stop_flag};
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;

/// Arguments of `corrigo ui`.
#[derive(Args, Debug)]
pub struct UiArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    #[command(flatten)]
    bus: BusArgs,
}

/// Runs the panel until it is closed or Ctrl-C; returns the exit code ([`exit::FAILURE`] without a display).
pub fn run(args: UiArgs) -> Result<i32> {
    let cfg = args.bus.load(&args.cfg)?;
    if !ui::display_available() {
        eprintln!("error: no display: set DISPLAY (X11) or WAYLAND_DISPLAY to open the operator panel");
        return Ok(exit::FAILURE);
    }
    let stop = stop_flag()?;
    let bus = open_bus(&cfg)?;
    ui::run_panel_until(bus, cfg, Some(stop))?;
    Ok(exit::OK)
}
