//! `corrigo`: run a robot cell's nodes from its config. `corrigo --help` lists the commands.

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use corrigo_app::{bench, config_file, exit};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The project's virtualenv Python next to the binary's workspace (for the Python reference benchmarks).
fn venv_python() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    p.exists().then_some(p)
}
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
    /// Run the simulated cell learning its task in one process: demos (first run), actor and learner.
    Run(RunArgs),
    /// The learner: the headless training daemon (stores transitions, trains, publishes weights, checkpoints).
    Learner(LearnerArgs),
    /// The actor: runs the newest policy in the simulated cell and streams transitions to the learner.
    Actor(ActorArgs),
    /// Record scripted demonstrations into a run directory's demo buffer.
    Record(RecordArgs),
    /// Train the reward classifier of a real cell from the recorded episodes (for `agent.reward_classifier`).
    Classifier(ClassifierArgs),
    /// The camera node: publishes every `[[cameras]]` entry on the bus (or lists the V4L2 devices).
    Camera(CameraArgs),
    /// The operator panel, connected to a running cell through the bus (needs a display).
    Ui(UiArgs),
    /// The controller node alone: drives the configured arm (real or simulated) from pose targets on the bus.
    Controller(ControllerArgs),
    /// The teleop node: a SpaceMouse, gamepad or the keyboard publishes end-effector twists and episode controls.
    Teleop(TeleopArgs),
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
struct RunArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Instead of learning: drive the arm through the 1 kHz real-time loop with the scripted pick, printing
    /// tracking error and loop statistics.
    #[arg(long)]
    scripted: bool,
    /// Run directory (replay store, checkpoint).
    #[arg(long, default_value = "runs/sim_panda")]
    run_dir: PathBuf,
    /// Scripted demonstrations recorded on the first run.
    #[arg(long, default_value_t = 20)]
    demos: usize,
    /// Stop after this many environment steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Stop after this many seconds (scripted mode).
    #[arg(long)]
    seconds: Option<f64>,
    /// Run the simulation as fast as the CPU allows instead of at the policy rate.
    #[arg(long)]
    fast: bool,
}

#[derive(Args, Debug)]
struct LearnerArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Run directory (replay store, checkpoint, acknowledgement marks).
    #[arg(long, default_value = "runs/sim_panda")]
    run_dir: PathBuf,
    /// Stop after this many update cycles.
    #[arg(long)]
    max_updates: Option<u64>,
    /// Update cycles per stored online transition, at most.
    #[arg(long, default_value_t = 1.0)]
    ratio: f64,
    /// Progress line period, seconds.
    #[arg(long, default_value_t = 5.0)]
    progress: f64,
    /// Bus endpoints to connect to (overrides the config's bus.connect).
    #[arg(long)]
    connect: Vec<String>,
}

#[derive(Args, Debug)]
struct ActorArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Identity of this actor on the bus.
    #[arg(long, default_value = "actor-0")]
    id: String,
    /// Stop after this many environment steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Run the simulation as fast as the CPU allows instead of at the policy rate.
    #[arg(long)]
    fast: bool,
    /// Bus endpoints to connect to (overrides the config's bus.connect).
    #[arg(long)]
    connect: Vec<String>,
    /// Publish the simulated cameras for an operator panel (`corrigo ui`) (the in-process environment).
    #[arg(long)]
    cameras: bool,
    /// The environment: `sim` steps the simulated cell in this process; `bus` drives the cell's controller and
    /// cameras running as other nodes (`corrigo controller`, `corrigo camera`), a real arm or the simulated one.
    #[arg(long, default_value = "sim", value_parser = ["sim", "bus"])]
    env: String,
}

#[derive(Args, Debug)]
struct CameraArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// List the V4L2 devices present with their modes, then exit.
    #[arg(long)]
    list: bool,
}

#[derive(Args, Debug)]
struct ControllerArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    seconds: Option<f64>,
    /// A simulated cell also renders and publishes its cameras (on by default when `agent.use_images`).
    #[arg(long)]
    cameras: bool,
}

#[derive(Args, Debug)]
struct TeleopArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// The input device: spacemouse, gamepad or keyboard.
    #[arg(long, default_value = "spacemouse")]
    device: String,
    /// Bus endpoints to connect to (overrides the config's bus.connect), e.g. the robot's machine.
    #[arg(long)]
    connect: Vec<String>,
}

#[derive(Args, Debug)]
struct UiArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Bus endpoints to connect to (overrides the config's bus.connect).
    #[arg(long)]
    connect: Vec<String>,
}

#[derive(Args, Debug)]
struct ClassifierArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Run directory whose replay store holds the episodes (recorded with `agent.use_images = true`).
    #[arg(long, default_value = "runs/sim_panda")]
    run_dir: PathBuf,
    /// Output file (default: `<run-dir>/classifier.safetensors`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Training steps.
    #[arg(long, default_value_t = 500)]
    steps: usize,
    /// Frames per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Success probability above which a frame counts as success.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
}

#[derive(Args, Debug)]
struct RecordArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Use the simulator's scripted expert (with noise); only successful episodes are kept.
    #[arg(long, required_unless_present = "teleop", conflicts_with = "teleop")]
    scripted: bool,
    /// A human teleoperates the simulated cell (run `corrigo teleop --device …` or the panel beside it); only
    /// episodes marked successful are kept.
    #[arg(long)]
    teleop: bool,
    /// With --teleop: publish the simulated cameras for the operator panel.
    #[arg(long)]
    cameras: bool,
    /// With --teleop, the environment: `sim` (the simulated cell in this process) or `bus` (a cell whose
    /// controller and cameras are other nodes: a real arm, or the simulated one under `corrigo controller`).
    #[arg(long, default_value = "sim", value_parser = ["sim", "bus"], requires = "teleop")]
    env: String,
    /// Demonstrations to record.
    #[arg(long, default_value_t = 20)]
    episodes: usize,
    /// Run directory whose demo buffer receives them (no learner may have it open).
    #[arg(long, default_value = "runs/sim_panda")]
    run_dir: PathBuf,
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
    /// Controller compute time, 1 kHz loop lateness, sim real-time factor and camera fps (vs MuJoCo's Python).
    Controller {
        #[command(flatten)]
        cfg: ConfigArg,
        /// Seconds of the 1 kHz lateness measurement.
        #[arg(long, default_value_t = 20.0)]
        loop_seconds: f64,
    },
    /// Learning curves of pick_cube from 20 scripted demos: state-based (shaped and sparse reward) and
    /// image-based with no object state and sparse reward.
    Learning {
        #[command(flatten)]
        cfg: ConfigArg,
        /// Environment steps per variant.
        #[arg(long, default_value_t = 30_000)]
        steps: u64,
        /// Evaluate every this many environment steps.
        #[arg(long, default_value_t = 2_500)]
        eval_every: u64,
        /// Episodes per evaluation.
        #[arg(long, default_value_t = 20)]
        eval_episodes: u64,
        /// Wall-clock budget of an image-based run, minutes.
        #[arg(long, default_value_t = 60.0)]
        image_minutes: f64,
        /// Settings to run, comma-separated: state-shaped, state-sparse, image-sparse.
        #[arg(long, default_value = "state-shaped,state-sparse,image-sparse")]
        variants: String,
        /// Only the state-based settings (state-shaped, state-sparse).
        #[arg(long, conflicts_with_all = ["images_only", "variants"])]
        state_only: bool,
        /// Only the image-based setting (image-sparse).
        #[arg(long, conflicts_with = "variants")]
        images_only: bool,
        /// Seeds per setting.
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// The first seed (the others follow it).
        #[arg(long, default_value_t = 1)]
        first_seed: u64,
    },
    /// Learner update cycles/s beside the same update in PyTorch, and actor inference latency.
    Learner {
        /// Intra-op threads for both sides.
        #[arg(long, default_value_t = 1)]
        threads: i32,
        /// Measured cycles per state-only row.
        #[arg(long, default_value_t = 30)]
        iters_state: usize,
        /// Measured cycles per image row.
        #[arg(long, default_value_t = 2)]
        iters_images: usize,
        /// Only the state-only rows (and the inference latency).
        #[arg(long)]
        state_only: bool,
        /// Interleaved rounds per state-only row (medians printed).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Camera pipeline latency (grab → crop/resize → publish → received in another process), fps and CPU share.
    Perception {
        /// Measured seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// The receiving side of `bench perception` (started by it).
    #[command(hide = true)]
    PerceptionReceiver { endpoint: String, cell: String },
    /// The publishing side of `bench bus` (started by it).
    #[command(hide = true)]
    BusPublisher {
        #[arg(long)]
        connect: String,
        #[arg(long)]
        seconds: f64,
    },
}

static JSON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

fn json_output() -> bool {
    JSON.get().copied().unwrap_or(false)
}

fn init_logging(json: bool, verbose: u8) {
    let _ = JSON.set(json);
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

fn stop_flag() -> Result<Arc<AtomicBool>> {
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

fn run(cmd: Cmd) -> Result<i32> {
    match cmd {
        Cmd::Run(args) => {
            let cfg = config_file::load(&args.cfg.config)?;
            let stop = stop_flag()?;
            let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name)?;
            if args.scripted {
                let timeout = Duration::from_secs_f64(args.seconds.unwrap_or(60.0));
                let out = corrigo_app::run_scripted::run(&cfg, &bus, stop, Duration::from_secs(2), timeout)?;
                return Ok(if out.lifted { exit::OK } else { exit::FAILURE });
            }
            let opts = corrigo_app::run_training::RunOptions {
                run_dir: args.run_dir,
                demos: args.demos,
                max_steps: args.steps,
                realtime: !args.fast,
            };
            corrigo_app::run_training::run(&cfg, &bus, &opts, stop)?;
            Ok(exit::OK)
        }
        Cmd::Learner(args) => {
            let mut cfg = config_file::load(&args.cfg.config)?;
            if !args.connect.is_empty() {
                cfg.bus.connect = args.connect;
            }
            let stop = stop_flag()?;
            let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name)?;
            let spec = corrigo_app::training::env::obs_spec(&cfg);
            let opts = corrigo_app::nodes::learner_node::LearnerOptions {
                run_dir: args.run_dir,
                max_updates_per_transition: args.ratio,
                max_updates: args.max_updates,
                progress_every: Some(Duration::from_secs_f64(args.progress.max(0.1))),
                json: json_output(),
            };
            let s = corrigo_app::nodes::learner_node::run(&bus, &cfg, &spec, &opts, stop)?;
            println!(
                "learner: stored {} transitions ({} duplicates dropped), {} update cycles, weights v{}",
                s.stored, s.duplicates, s.updates, s.version
            );
            Ok(exit::OK)
        }
        Cmd::Actor(args) => {
            let mut cfg = config_file::load(&args.cfg.config)?;
            if !args.connect.is_empty() {
                cfg.bus.connect = args.connect;
            }
            let stop = stop_flag()?;
            let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name)?;
            let env = env_choice(&args.env);
            let opts = corrigo_app::nodes::actor_node::ActorOptions {
                env,
                actor_id: args.id,
                seed: cfg.task.seed,
                realtime: !args.fast,
                max_steps: args.steps,
                max_outbox: 5000,
                resend_after: Duration::from_secs(2),
                random_steps: 0,
                publish_cameras: args.cameras,
            };
            let s = corrigo_app::nodes::actor_node::run(&bus, &cfg, &opts, stop)?;
            println!(
                "actor: {} steps, {} episodes ({} successful), {} acknowledged, {} resent, weights v{}",
                s.steps, s.episodes, s.successes, s.acked, s.resent, s.policy_version
            );
            Ok(if s.acked == s.steps { exit::OK } else { exit::FAILURE })
        }
        Cmd::Camera(args) => {
            if args.list {
                print!("{}", perception::format_device_list(&perception::list_video_devices()));
                return Ok(exit::OK);
            }
            let cfg = config_file::load(&args.cfg.config)?;
            let stop = stop_flag()?;
            let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name)?;
            let needs_sim =
                cfg.cameras.iter().any(|c| matches!(c.source, interfaces::config::CameraSource::Sim { .. }));
            let mut cell = if needs_sim { Some(sim::SimCell::new(&cfg)?) } else { None };
            let node = perception::run_camera_node(&bus, &cfg, stop.clone(), cell.as_mut())?;
            tracing::info!("camera node running for {} camera(s); Ctrl-C to stop", cfg.cameras.len());
            while !stop.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(100));
            }
            drop(node);
            Ok(exit::OK)
        }
        Cmd::Controller(args) => {
            let cfg = config_file::load(&args.cfg.config)?;
            let stop = stop_flag()?;
            let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name)?;
            let duration = args.seconds.map(Duration::from_secs_f64);
            let cameras = args.cameras || cfg.agent.use_images;
            let out = corrigo_app::run_controller::run(&cfg, &bus, stop, duration, cameras)?;
            Ok(if out.faulted { exit::SAFETY_STOP } else { exit::OK })
        }
        Cmd::Teleop(args) => {
            let Some(device) = teleop::DeviceChoice::parse(&args.device) else {
                eprintln!("error: unknown device {:?}: use spacemouse, gamepad or keyboard", args.device);
                return Ok(exit::USAGE);
            };
            let mut cfg = config_file::load(&args.cfg.config)?;
            if !args.connect.is_empty() {
                cfg.bus.connect = args.connect;
            }
            let stop = stop_flag()?;
            let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name)?;
            let r = teleop::run_teleop_node(&bus, &cfg.teleop, device, &stop)?;
            println!(
                "teleop: {} commands and {} episode controls published, device missing or lost {} times",
                r.commands, r.controls, r.device_errors
            );
            Ok(exit::OK)
        }
        Cmd::Ui(args) => {
            let mut cfg = config_file::load(&args.cfg.config)?;
            if !args.connect.is_empty() {
                cfg.bus.connect = args.connect;
            }
            if !ui::display_available() {
                eprintln!("error: no display: set DISPLAY (X11) or WAYLAND_DISPLAY to open the operator panel");
                return Ok(exit::FAILURE);
            }
            let stop = stop_flag()?;
            let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name)?;
            ui::run_panel_until(bus, cfg, Some(stop))?;
            Ok(exit::OK)
        }
        Cmd::Record(args) => {
            let cfg = config_file::load(&args.cfg.config)?;
            if args.teleop {
                let stop = stop_flag()?;
                let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name)?;
                let opts = corrigo_app::record_human::HumanRecordOptions {
                    run_dir: args.run_dir.clone(),
                    episodes: args.episodes,
                    seed: cfg.task.seed ^ 0x4d,
                    publish_cameras: args.cameras,
                    env: env_choice(&args.env),
                };
                let s = corrigo_app::record_human::run(&cfg, &bus, &opts, stop)?;
                println!(
                    "{}: {} demonstrations kept ({} transitions), {} discarded",
                    args.run_dir.display(),
                    s.kept,
                    s.transitions,
                    s.discarded
                );
                return Ok(if s.kept == args.episodes { exit::OK } else { exit::FAILURE });
            }
            let n = corrigo_app::run_training::ensure_demos(&cfg, &args.run_dir, args.episodes, cfg.task.seed)?;
            println!("{}: {n} demonstration transitions in the demo buffer", args.run_dir.display());
            Ok(exit::OK)
        }
        Cmd::Classifier(args) => {
            let cfg = config_file::load(&args.cfg.config)?;
            if !(0.0..=1.0).contains(&args.threshold) || args.steps == 0 || args.batch == 0 {
                eprintln!("error: --threshold must lie in [0, 1], --steps and --batch above 0");
                return Ok(exit::USAGE);
            }
            let out = args.out.clone().unwrap_or_else(|| args.run_dir.join("classifier.safetensors"));
            let opts = corrigo_app::training::classifier::ClassifierOptions {
                run_dir: args.run_dir.clone(),
                out: out.clone(),
                steps: args.steps,
                batch: args.batch,
                threshold: args.threshold,
                progress_every: 50,
            };
            let r = corrigo_app::training::classifier::train(&cfg, &opts)?;
            let m = r.metrics;
            println!(
                "{}: held out {} success / {} other frames: precision {:.3}, recall {:.3}, accuracy {:.3} at \
                 threshold {}; set `agent.reward_classifier = \"{}\"` to reward with it",
                out.display(),
                r.held_out.0,
                r.held_out.1,
                m.precision,
                m.recall,
                m.accuracy,
                args.threshold,
                out.display()
            );
            Ok(exit::OK)
        }
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
        Cmd::Bench(BenchCmd::Controller { cfg, loop_seconds }) => {
            let cfg = config_file::load(&cfg.config)?;
            let mut opts = sim::bench::BenchOptions::standard();
            opts.loop_seconds = loop_seconds;
            opts.python = std::env::var_os("CORRIGO_VENV_PYTHON").map(Into::into).or_else(venv_python);
            println!("{}", sim::bench::run(&cfg, &opts)?);
            Ok(exit::OK)
        }
        Cmd::Bench(BenchCmd::Learning {
            cfg,
            steps,
            eval_every,
            eval_episodes,
            image_minutes,
            variants,
            state_only,
            images_only,
            seeds,
            first_seed,
        }) => {
            let cfg = config_file::load(&cfg.config)?;
            use bench::learning::Variant;
            let variants = if state_only {
                vec![Variant::StateShaped, Variant::StateSparse]
            } else if images_only {
                vec![Variant::ImageSparse]
            } else {
                Variant::parse_list(&variants)?
            };
            let b = bench::learning::LearningBench {
                env_steps: steps,
                eval_every,
                eval_episodes,
                image_budget: Duration::from_secs_f64(image_minutes * 60.0),
                variants,
                seeds,
                first_seed,
            };
            bench::learning::run(&cfg, &b)?;
            Ok(exit::OK)
        }
        Cmd::Bench(BenchCmd::Learner { threads, iters_state, iters_images, state_only, rounds }) => {
            let o = agent::bench::BenchOptions {
                threads,
                iters_state,
                iters_images,
                state_only,
                rounds,
                python: std::env::var_os("CORRIGO_VENV_PYTHON").map(Into::into).or_else(venv_python),
                reference: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/reference/sac_update.py"),
                ..Default::default()
            };
            agent::bench::run_learner_bench(&o, &mut std::io::stdout())?;
            Ok(exit::OK)
        }
        Cmd::Bench(BenchCmd::Perception { seconds }) => {
            let o = perception::bench::BenchOptions { seconds, ..Default::default() };
            let mut receiver = std::process::Command::new(std::env::current_exe()?);
            receiver.args(["bench", "perception-receiver"]);
            println!("{}", perception::bench::run(&o, receiver)?);
            Ok(exit::OK)
        }
        Cmd::Bench(BenchCmd::PerceptionReceiver { endpoint, cell }) => {
            perception::bench::run_receiver(&endpoint, &cell)?;
            Ok(exit::OK)
        }
        Cmd::Bench(BenchCmd::BusPublisher { connect, seconds }) => {
            bench::bus::run_publisher(&connect, seconds, 1000.0, 30.0)?;
            Ok(exit::OK)
        }
    }
}

/// The environment named by `--env` (`sim` or `bus`, checked by clap).
fn env_choice(name: &str) -> corrigo_app::nodes::actor_node::EnvChoice {
    match name {
        "bus" => corrigo_app::nodes::actor_node::EnvChoice::Bus,
        _ => corrigo_app::nodes::actor_node::EnvChoice::InProcess,
    }
}
