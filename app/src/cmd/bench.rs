//! `corrigo bench …`: the benchmarks that print figures, and the hidden other sides of the two-process ones.

use super::common::ConfigArg;
use anyhow::Result;
use clap::Subcommand;
use corrigo_app::bench::learning::{LearningBench, Variant};
use corrigo_app::exit;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `corrigo bench` subcommands.
#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Bus latency and rate between two processes on loopback: 1 kHz arm state and two 30 Hz cameras.
    Bus {
        /// Measured seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Compare the plain profile with the secure one (mutual TLS + access control): rounds of each,
        /// interleaved, and the ratio of their arm-state p99 latencies.
        #[arg(long)]
        secure: bool,
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
        /// Settings to run, comma-separated: state-shaped, state-sparse, image-sparse (pick_cube), reach-sparse (reach).
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
        /// Agent options to compare on each setting, side by side on the same seeds, comma-separated: configured
        /// (the agent as configured, with the task's defaults), plain (MSE critic, no pretraining), hl-gauss,
        /// pretrain, wsrl, residual, prior (the configured agent with the behaviour prior), no-prior (without).
        #[arg(long, default_value = "configured")]
        options: String,
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
        /// Instead: the fused CPU path's update rate with the HL-Gauss critic against the MSE critic.
        #[arg(long)]
        critics: bool,
    },
    /// Camera pipeline latency (grab → crop/resize → publish → received in another process), fps and CPU share.
    Perception {
        /// Measured seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// LeRobotDataset v3 export and import throughput (frames/s) and image fidelity (PSNR), per video codec.
    Dataset {
        #[command(flatten)]
        cfg: ConfigArg,
        /// Episodes recorded and exported.
        #[arg(long, default_value_t = 100)]
        episodes: usize,
        /// Steps per episode.
        #[arg(long, default_value_t = 100)]
        steps: usize,
    },
    /// Faults injected into a two-process cell (learner kill -9 ×N, a learner outage, a full disk, a second
    /// learner, a flipped byte), with what survived, as one table.
    Chaos {
        #[command(flatten)]
        cfg: ConfigArg,
        /// Learner kills (kill -9 at random moments).
        #[arg(long, default_value_t = 100)]
        kills: u32,
        /// Seconds the learner stays down while the actor acts at the policy rate.
        #[arg(long, default_value_t = 600.0)]
        outage_s: f64,
        /// Size of the tmpfs that fills up (needs root to mount), MiB.
        #[arg(long, default_value_t = 96)]
        disk_mib: u64,
        /// State observations instead of the cell's cameras.
        #[arg(long)]
        state: bool,
        /// Seed of the kill moments.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Working directory (kept for inspection; default: a new one under the system's temporary directory).
        #[arg(long)]
        work: Option<PathBuf>,
        /// Scenarios to run, comma-separated: kills, outage, disk, second, flip, hostile.
        #[arg(long, default_value = "kills,outage,disk,second,flip,hostile")]
        scenarios: String,
        /// Seconds the actor acts under attack in the hostile scenario (at the policy rate).
        #[arg(long, default_value_t = 120.0)]
        hostile_s: f64,
        /// The outage scenario's actor steps the simulation and renders the cameras in its own process instead
        /// of driving a controller node over the bus as on a real cell.
        #[arg(long)]
        outage_in_process: bool,
    },
    /// Wall-clock time to a target evaluation success with a fleet of simulated cells (actors paced at the policy
    /// rate) feeding one learner, beside one cell, same learner settings; prints the ratio.
    Fleet {
        #[command(flatten)]
        cfg: ConfigArg,
        /// Fleet sizes, comma-separated, run in this order (the smallest is the reference of the ratio).
        #[arg(long, default_value = "1,4")]
        cells: String,
        /// Evaluation success that ends a run, percent.
        #[arg(long, default_value_t = 90.0)]
        target: f64,
        /// Seconds of wall-clock time between evaluations.
        #[arg(long, default_value_t = 30.0)]
        eval_every_s: f64,
        /// Episodes per evaluation.
        #[arg(long, default_value_t = 20)]
        eval_episodes: u64,
        /// Longest run per fleet size, minutes.
        #[arg(long, default_value_t = 45.0)]
        minutes: f64,
        /// Scripted demonstrations per run.
        #[arg(long, default_value_t = 20)]
        demos: usize,
        /// Seed of the learner, cells and evaluation.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Working directory (default: a new one under the system's temporary directory).
        #[arg(long)]
        work: Option<PathBuf>,
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
        /// The secure profile's certificate folder (the publisher presents `bench-pub`).
        #[arg(long)]
        certs: Option<String>,
    },
}

/// Runs `corrigo bench …`; returns the exit code.
pub fn run(cmd: BenchCmd) -> Result<i32> {
    match cmd {
        BenchCmd::Bus { seconds, secure } => corrigo_app::bench::bus::run(seconds, secure)?,
        BenchCmd::Controller { cfg, loop_seconds } => {
            let cfg = cfg.load()?;
            let mut opts = sim::bench::BenchOptions::standard();
            opts.loop_seconds = loop_seconds;
            opts.python = None;
            if let Some(r) = Reference::find("MuJoCo Python", "bench/reference/mujoco_render.py") {
                opts.python = Some(r.python);
                opts.reference_script = r.script;
            }
            println!("{}", sim::bench::run(&cfg, &opts)?);
        }
        BenchCmd::Learning {
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
            options,
        } => {
            let cfg = cfg.load()?;
            let variants = if state_only {
                vec![Variant::StateShaped, Variant::StateSparse]
            } else if images_only {
                vec![Variant::ImageSparse]
            } else {
                Variant::parse_list(&variants)?
            };
            let b = LearningBench {
                env_steps: steps,
                eval_every,
                eval_episodes,
                image_budget: Duration::from_secs_f64(image_minutes * 60.0),
                variants,
                seeds,
                first_seed,
                options: corrigo_app::bench::learning::AgentOption::parse_list(&options)?,
            };
            corrigo_app::bench::learning::run(&cfg, &b)?;
        }
        BenchCmd::Learner { threads, iters_state, iters_images, state_only, rounds, critics } => {
            let mut o = agent::bench::BenchOptions {
                threads,
                iters_state,
                iters_images,
                state_only,
                rounds,
                python: None,
                ..Default::default()
            };
            if let Some(r) = Reference::find("PyTorch", "bench/reference/sac_update.py") {
                o.python = Some(r.python);
                o.reference = r.script;
            }
            if critics {
                agent::bench::run_critic_bench(&o, &mut std::io::stdout())?;
                return Ok(exit::OK);
            }
            agent::bench::run_learner_bench(&o, &mut std::io::stdout())?;
        }
        BenchCmd::Perception { seconds } => {
            let o = perception::bench::BenchOptions { seconds, ..Default::default() };
            let mut receiver = std::process::Command::new(std::env::current_exe()?);
            receiver.args(["bench", "perception-receiver"]);
            println!("{}", perception::bench::run(&o, receiver)?);
        }
        BenchCmd::Chaos {
            cfg,
            kills,
            outage_s,
            disk_mib,
            state,
            seed,
            work,
            scenarios,
            outage_in_process,
            hostile_s,
        } => {
            let work = match work {
                Some(w) => w,
                None => tempfile::Builder::new().prefix("corrigo-chaos-").tempdir()?.keep(),
            };
            let opts = corrigo_app::bench::chaos::ChaosOptions {
                cell: cfg.load()?,
                images: !state,
                kills,
                outage: Duration::from_secs_f64(outage_s.max(0.0)),
                disk_mib,
                seed,
                work,
                scenarios: scenarios.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(),
                hostile_s: hostile_s.max(1.0),
                outage_layout: if outage_in_process {
                    corrigo_app::bench::chaos::OutageLayout::InProcess
                } else {
                    corrigo_app::bench::chaos::OutageLayout::Cell
                },
            };
            corrigo_app::bench::chaos::run(&opts)?;
        }
        BenchCmd::Fleet { cfg, cells, target, eval_every_s, eval_episodes, minutes, demos, seed, work } => {
            let sizes = cells
                .split(',')
                .map(|c| c.trim().parse::<usize>().ok().filter(|n| (1..=64).contains(n)))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| anyhow::anyhow!("--cells {cells:?}: fleet sizes 1–64, comma-separated"))?;
            let work = match work {
                Some(w) => w,
                None => tempfile::Builder::new().prefix("corrigo-fleet-").tempdir()?.keep(),
            };
            let b = corrigo_app::bench::fleet::FleetBench {
                sizes,
                target: (target / 100.0).clamp(0.0, 1.0),
                eval_every: Duration::from_secs_f64(eval_every_s.max(1.0)),
                eval_episodes: eval_episodes.max(1),
                budget: Duration::from_secs_f64(minutes.max(0.1) * 60.0),
                demos,
                seed,
                work,
            };
            corrigo_app::bench::fleet::run(&cfg.load()?, &b)?;
        }
        BenchCmd::Dataset { cfg, episodes, steps } => {
            let cfg = cfg.load()?;
            let figures = dataset::bench::run(&cfg, episodes, steps, &[dataset::Codec::Av1, dataset::Codec::H264])?;
            println!(
                "LeRobotDataset v3 round trip: {episodes} episodes x {steps} steps, cameras {} (targets: export >= 500 \
                 frames/s, import >= 1000 frames/s, PSNR >= 35 dB)",
                cfg.cameras
                    .iter()
                    .map(|c| format!("{} {}x{}", c.name, c.width, c.height))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "{:<6} {:>14} {:>14} {:>14} {:>14} {:>11}",
                "codec", "export fr/s", "import fr/s", "worst PSNR dB", "mean PSNR dB", "video MiB"
            );
            for f in figures {
                println!(
                    "{:<6} {:>14.0} {:>14.0} {:>14.1} {:>14.1} {:>11.2}",
                    f.codec.info_name(),
                    f.export_fps,
                    f.import_fps,
                    f.worst_psnr_db,
                    f.mean_psnr_db,
                    f.video_mib
                );
            }
        }
        BenchCmd::PerceptionReceiver { endpoint, cell } => perception::bench::run_receiver(&endpoint, &cell)?,
        BenchCmd::BusPublisher { connect, seconds, certs } => {
            corrigo_app::bench::bus::run_publisher(&connect, seconds, 1000.0, 30.0, certs.as_deref())?;
        }
    }
    Ok(exit::OK)
}

/// The environment variable that names the reference's Python interpreter (checked before any directory).
const PYTHON_ENV: &str = sim::bench::PYTHON_ENV;
/// The project's virtualenv interpreter, relative to the workspace (`make setup` creates it).
const VENV_PYTHON: &str = ".venv/bin/python";

/// A Python reference benchmark's interpreter and script.
#[derive(Debug)]
struct Reference {
    python: PathBuf,
    script: PathBuf,
}

impl Reference {
    /// The interpreter ([`PYTHON_ENV`], else [`VENV_PYTHON`]) and the script `script` (both relative to the
    /// workspace), looked for in the working directory, then in the executable's directory and every directory
    /// above it (the binary lives in `<workspace>/target/<profile>/`). When either is missing, prints one line
    /// naming what was looked for and where, and returns `None`: the bench then runs its own side only.
    fn find(what: &str, script: &str) -> Option<Self> {
        let dirs = SearchDirs::now();
        let python = std::env::var_os(PYTHON_ENV).map(PathBuf::from).or_else(|| dirs.find(VENV_PYTHON));
        let Some(python) = python else {
            println!(
                "{what} reference skipped: no {VENV_PYTHON} in {} and {PYTHON_ENV} is not set; run `make setup` in \
                 the workspace",
                dirs.describe()
            );
            return None;
        };
        let Some(script) = dirs.find(script) else {
            println!("{what} reference skipped: no {script} in {}; run the bench from the workspace", dirs.describe());
            return None;
        };
        Some(Self { python, script })
    }
}

/// Where the reference files are looked for.
#[derive(Debug)]
struct SearchDirs {
    cwd: Option<PathBuf>,
    exe_dir: Option<PathBuf>,
}

impl SearchDirs {
    fn now() -> Self {
        Self {
            cwd: std::env::current_dir().ok(),
            exe_dir: std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)),
        }
    }

    /// The first existing file `rel` under the working directory, the executable's directory or one above it.
    fn find(&self, rel: &str) -> Option<PathBuf> {
        let above_exe = self.exe_dir.iter().flat_map(|d| d.ancestors());
        self.cwd.iter().map(PathBuf::as_path).chain(above_exe).map(|d| d.join(rel)).find(|p| p.is_file())
    }

    /// "the working directory (…) or above the executable (…)".
    fn describe(&self) -> String {
        let show = |d: &Option<PathBuf>| d.as_ref().map_or_else(|| "unknown".to_owned(), |d| d.display().to_string());
        format!("the working directory ({}) or above the executable ({})", show(&self.cwd), show(&self.exe_dir))
    }
}
