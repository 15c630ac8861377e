//! `corrigo`: run a robot cell's nodes from its config. `corrigo --help` lists the commands; each command lives
//! in its own module under `cmd/`.

mod cmd;

use clap::{Parser, Subcommand};
use corrigo_app::exit;
use tracing_subscriber::EnvFilter;

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
    /// Run the simulated cell learning its task in one process: demos (first run), actor and learner.
    Run(cmd::run::RunArgs),
    /// The learner: the headless training daemon (stores transitions, trains, publishes weights, checkpoints).
    Learner(cmd::learner::LearnerArgs),
    /// The actor: runs the newest policy in the simulated cell and streams transitions to the learner.
    Actor(cmd::actor::ActorArgs),
    /// Record scripted demonstrations into a run directory's demo buffer.
    Record(cmd::record::RecordArgs),
    /// Export a run directory's episodes as a LeRobotDataset v3 folder (parquet tables + mp4 videos).
    Export(cmd::dataset::ExportArgs),
    /// Import a LeRobotDataset v3 folder into a run directory's replay store (demonstrations by default).
    Import(cmd::dataset::ImportArgs),
    /// Evaluate a run's policy (deterministic, never trained on): success with its Wilson interval, return,
    /// episode length, cycle time; appended to `<run-dir>/evals.jsonl`.
    Eval(cmd::eval::EvalArgs),
    /// Whether two settings differ, from their runs' newest evaluations (one run each: Newcombe's interval;
    /// several seeds each: interquartile means, a stratified-bootstrap interval and a permutation test).
    Compare(cmd::compare::CompareArgs),
    /// A run's learning curves, evaluations and config as one static HTML file (`<run-dir>/report.html`).
    Report(cmd::report::ReportArgs),
    /// Train the reward classifier of a real cell from the recorded episodes (for `agent.reward_classifier`).
    Classifier(cmd::classifier::ClassifierArgs),
    /// Train a behaviour-cloned policy from a run's demonstrations (e.g. the base policy of residual RL).
    Bc(cmd::bc::BcArgs),
    /// The camera node: publishes every `[[cameras]]` entry on the bus (or lists the V4L2 devices).
    Camera(cmd::camera::CameraArgs),
    /// The operator panel, connected to a running cell through the bus (needs a display).
    Ui(cmd::ui::UiArgs),
    /// The controller node alone: drives the configured arm (real or simulated) from pose targets on the bus.
    Controller(cmd::controller::ControllerArgs),
    /// The teleop node: a SpaceMouse, gamepad or the keyboard publishes end-effector twists and episode controls.
    Teleop(cmd::teleop::TeleopArgs),
    /// Calibrate a Feetech arm (SO-100/SO-101) by hand, torque off: servo zeros, joint ranges and the jaw's range
    /// into the config (a backup of it is kept).
    Calibrate(cmd::calibrate::CalibrateArgs),
    /// Check a cell config.
    #[command(subcommand)]
    Config(cmd::config::ConfigCmd),
    /// Run a zenoh router, for cells whose nodes run on several machines.
    Router(cmd::router::RouterArgs),
    /// The secure profile's certificates: the cell's CA (`init`) and node certificates (`issue NODE --role ROLE`).
    #[command(subcommand)]
    Certs(cmd::certs::CertsCmd),
    /// Benchmarks that print figures.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCmd),
}

fn init_logging(json: bool, verbose: u8) {
    cmd::common::set_json_output(json);
    let default = match verbose {
        // zenoh's access control says at info which peer matched no role (it logs each denied put at trace only)
        0 => "info,zenoh=warn,zenoh::net::routing::interceptor::access_control=info",
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
    let code = match dispatch(cli.command) {
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

/// Runs the command; returns its exit code.
fn dispatch(command: Cmd) -> anyhow::Result<i32> {
    match command {
        Cmd::Run(args) => cmd::run::run(args),
        Cmd::Learner(args) => cmd::learner::run(args),
        Cmd::Actor(args) => cmd::actor::run(args),
        Cmd::Record(args) => cmd::record::run(args),
        Cmd::Export(args) => cmd::dataset::export(args),
        Cmd::Import(args) => cmd::dataset::import(args),
        Cmd::Eval(args) => cmd::eval::run(args),
        Cmd::Compare(args) => cmd::compare::run(args),
        Cmd::Report(args) => cmd::report::run(args),
        Cmd::Classifier(args) => cmd::classifier::run(args),
        Cmd::Bc(args) => cmd::bc::run(args),
        Cmd::Camera(args) => cmd::camera::run(args),
        Cmd::Ui(args) => cmd::ui::run(args),
        Cmd::Controller(args) => cmd::controller::run(args),
        Cmd::Teleop(args) => cmd::teleop::run(args),
        Cmd::Calibrate(args) => cmd::calibrate::run(args),
        Cmd::Config(args) => cmd::config::run(args),
        Cmd::Router(args) => cmd::router::run(args),
        Cmd::Certs(args) => cmd::certs::run(args),
        Cmd::Bench(args) => cmd::bench::run(args),
    }
}
