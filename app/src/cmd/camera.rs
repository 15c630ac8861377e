//! `corrigo camera`: the camera node (or the list of V4L2 devices).

use super::common::{BusArgs, ConfigArg, open_bus, stop_flag};
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Arguments of `corrigo camera`.
#[derive(Args, Debug)]
pub struct CameraArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// List the V4L2 devices present with their modes, then exit.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    bus: BusArgs,
}

/// Runs `corrigo camera` until Ctrl-C; returns the exit code.
pub fn run(args: CameraArgs) -> Result<i32> {
    if args.list {
        print!("{}", perception::format_device_list(&perception::list_video_devices()));
        return Ok(exit::OK);
    }
    let cfg = args.bus.load(&args.cfg)?;
    let stop = stop_flag()?;
    let bus = open_bus(&cfg)?;
    let needs_sim = cfg.cameras.iter().any(|c| matches!(c.source, interfaces::config::CameraSource::Sim { .. }));
    let mut cell = if needs_sim { Some(sim::SimCell::new(&cfg)?) } else { None };
    let node = perception::run_camera_node(
        &bus,
        &cfg,
        stop.clone(),
        cell.as_mut().map(|c| c as &mut dyn interfaces::drivers::SimCameras),
    )?;
    tracing::info!("camera node running for {} camera(s); Ctrl-C to stop", cfg.cameras.len());
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(node);
    Ok(exit::OK)
}
