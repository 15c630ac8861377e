//! `corrigo router`: a zenoh router for cells whose nodes run on several machines.

use super::common::ConfigArg;
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;

/// Arguments of `corrigo router`.
#[derive(Args, Debug)]
pub struct RouterArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Endpoints to listen on (default: the config's bus.router_listen, every interface: `tcp/0.0.0.0:7447`; the
    /// router warns about every-interface endpoints, loudly without [bus.security]).
    #[arg(long)]
    listen: Vec<String>,
}

/// Runs the router until Ctrl-C; returns the exit code.
pub fn run(args: RouterArgs) -> Result<i32> {
    let cfg = args.cfg.load()?;
    let listen = (!args.listen.is_empty()).then_some(args.listen);
    let router = bus::Router::start(&cfg.bus, listen)?;
    tracing::info!(id = %router.id(), listen = ?router.listen(), "router running; Ctrl-C to stop");
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })?;
    let _ = rx.recv();
    tracing::info!("router stopped");
    Ok(exit::OK)
}
