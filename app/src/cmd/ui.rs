//! `corrigo ui`: the operator panel, connected to a running cell through the bus; with `--run-dir`, the stored
//! episodes of a run directory played back instead (no cell needed).

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
    /// Play back the stored episodes of this run directory instead (demo and online; frames, TCP path, actions,
    /// reward, human steps; a scrub bar). Needs no running cell.
    #[arg(long)]
    run_dir: Option<std::path::PathBuf>,
}

/// Runs the panel until it is closed or Ctrl-C; returns the exit code ([`exit::FAILURE`] without a display).
pub fn run(args: UiArgs) -> Result<i32> {
    let cfg = args.bus.load(&args.cfg)?;
    if !ui::display_available() {
        eprintln!("error: no display: set DISPLAY (X11) or WAYLAND_DISPLAY to open the operator panel");
        return Ok(exit::FAILURE);
    }
    if let Some(dir) = &args.run_dir {
        let source = corrigo_app::replay_source::StoreEpisodes::open(&cfg, dir)?;
        println!("{}: {} episodes stored", dir.display(), ui::replay::EpisodeSource::episodes(&source).len());
        ui::replay::run_replay(Box::new(source), dir.display().to_string())?;
        return Ok(exit::OK);
    }
    let stop = stop_flag()?;
    let bus = open_bus(&cfg)?;
    ui::run_panel_until(bus, cfg, Some(stop))?;
    Ok(exit::OK)
}
