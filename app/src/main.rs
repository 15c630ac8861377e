//! `corrigo`: run a robot cell's nodes from its config. `corrigo --help` lists the commands.

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use corrigo_app::{bench, config_file, exit};
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

const DEFAULT_CONFIG: &str = "hardware_configs/sim_panda.toml";

#[derive(Parser, Debug)]
#[command(
    name = "corrigo",
    version,
    about = "Real-robot reinforcement learning: controller, perception, learner and operator panel"
)]
#[command(after_help = "Exit codes: 0 ok, 1 failure, 2 bad usage, 3 config error, 4 bus error, 5 safety stop.")]
struct Cli {
    /// Log as JSON lines (for machines) instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Check a cell config.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Run a zenoh router, for cells whose nodes run on several machines.
    Router(RouterArgs),
    /// Benchmarks that print figures.
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Subcommand, Debug)]
enum ConfigCmd {
    /// Validate a config file: prints "ok", or every problem with file, key, value and allowed range.
    Check {
        /// The cell config (TOML).
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
struct ConfigArg {
    /// The cell config (TOML).
    #[arg(long, short, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
}

#[derive(Args, Debug)]
struct RouterArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Endpoints to listen on (default: the config's bus.router_listen).
    #[arg(long)]
    listen: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum BenchCmd {
    /// Bus latency and rate between two processes on loopback: 1 kHz arm state and two 30 Hz cameras.
    Bus {
        /// Measured seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// The publishing side of `bench bus` (started by it).
    #[command(hide = true)]
    BusPublisher {
        #[arg(long)]
        connect: String,
        #[arg(long)]
        seconds: f64,
    },
}

fn init_logging(json: bool, verbose: u8) {
    let default = match verbose {
        0 => "info,zenoh=warn",
        1 => "debug,zenoh=info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() {
    let cli = Cli::parse();
    init_logging(cli.json, cli.verbose);
    let code = match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            let code = if e.downcast_ref::<interfaces::ConfigError>().is_some() {
                exit::CONFIG
            } else if e.downcast_ref::<bus::BusError>().is_some() {
                exit::BUS
            } else {
                exit::FAILURE
            };
            eprintln!("error: {e:#}");
            code
        }
    };
    std::process::exit(code);
}

fn run(cmd: Cmd) -> Result<i32> {
    match cmd {
        Cmd::Config(ConfigCmd::Check { file }) => match config_file::load(&file) {
            Ok(_) => {
                println!("ok");
                Ok(exit::OK)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(exit::CONFIG)
            }
        },
        Cmd::Router(args) => {
            let cfg = config_file::load(&args.cfg.config)?;
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
        Cmd::Bench(BenchCmd::Bus { seconds }) => {
            bench::bus::run(seconds)?;
            Ok(exit::OK)
        }
        Cmd::Bench(BenchCmd::BusPublisher { connect, seconds }) => {
            bench::bus::run_publisher(&connect, seconds, 1000.0, 30.0)?;
            Ok(exit::OK)
        }
    }
}
