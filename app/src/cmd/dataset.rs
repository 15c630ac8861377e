//! `corrigo export` and `corrigo import`: a run directory's episodes as a LeRobotDataset v3 folder, and back.

use super::common::ConfigArg;
use anyhow::{Result, anyhow};
use clap::{Args, ValueEnum};
use corrigo_app::exit;
use dataset::{BufferChoice, Codec, ExportOptions, ImportOptions, Mapping};
use std::path::PathBuf;

/// `--buffer`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferArg {
    /// Demonstrations and interventions.
    Demo,
    /// The actor's episodes.
    Online,
    /// Online episodes, then the demonstrations.
    All,
}

/// `--codec`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecArg {
    /// AV1 (SVT-AV1), yuv420p: LeRobot's default, smaller files, slower to encode.
    Av1,
    /// H.264 (x264), yuv420p: corrigo's default (faster export, higher fidelity on two cores).
    H264,
}

/// Arguments of `corrigo export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The run directory whose replay store holds the episodes (read only: safe beside a running learner).
    pub run_dir: PathBuf,
    /// The dataset folder to create (must not exist).
    pub out: PathBuf,
    #[command(flatten)]
    cfg: ConfigArg,
    /// Which buffer's episodes.
    #[arg(long, value_enum, default_value = "all")]
    buffer: BufferArg,
    /// Which of the selected episodes: N, A..B (end exclusive), A.. or ..B.
    #[arg(long, value_name = "RANGE")]
    episodes: Option<String>,
    /// Video codec.
    #[arg(long, value_enum, default_value = "h264")]
    codec: CodecArg,
}

/// Arguments of `corrigo import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The LeRobotDataset v3 folder (with meta/info.json).
    pub dataset: PathBuf,
    /// The run directory to store the episodes in (created when missing).
    pub run_dir: PathBuf,
    #[command(flatten)]
    cfg: ConfigArg,
    /// Into the demo buffer (demonstrations for RLPD) or the online buffer.
    #[arg(long = "as", value_enum, default_value = "demo")]
    as_buffer: AsArg,
    /// Which dataset column feeds the cell: state=COLUMN, action=COLUMN, camera.<name>=COLUMN (repeatable).
    /// Defaults: observation.state, action, observation.images.<name>.
    #[arg(long = "map", value_name = "KEY=COLUMN")]
    map: Vec<String>,
}

/// `--as`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsArg {
    /// The demo buffer.
    Demo,
    /// The online buffer.
    Online,
}

/// Runs `corrigo export`.
pub fn export(args: ExportArgs) -> Result<i32> {
    let cfg = args.cfg.load()?;
    let episodes = match &args.episodes {
        Some(r) => match dataset::export::parse_range(r) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: --episodes: {e}");
                return Ok(exit::USAGE);
            }
        },
        None => None,
    };
    let opts = ExportOptions {
        buffer: match args.buffer {
            BufferArg::Demo => BufferChoice::Demo,
            BufferArg::Online => BufferChoice::Online,
            BufferArg::All => BufferChoice::All,
        },
        episodes,
        codec: match args.codec {
            CodecArg::Av1 => Codec::Av1,
            CodecArg::H264 => Codec::H264,
        },
        progress: true,
    };
    let r = dataset::export(&cfg, &args.run_dir, &args.out, &opts)?;
    println!(
        "{}: {} episodes, {} frames in {:.1} s ({:.0} frames/s)",
        r.out.display(),
        r.episodes,
        r.frames,
        r.seconds,
        r.frames as f64 / r.seconds.max(1e-9)
    );
    Ok(exit::OK)
}

/// Runs `corrigo import`.
pub fn import(args: ImportArgs) -> Result<i32> {
    let cfg = args.cfg.load()?;
    let mut mapping = Mapping::default();
    for m in &args.map {
        mapping.set(m).map_err(|e| anyhow!("--map {e}"))?;
    }
    let opts = ImportOptions { as_demo: args.as_buffer == AsArg::Demo, mapping, progress: true };
    let r = dataset::import(&cfg, &args.dataset, &args.run_dir, &opts)?;
    println!(
        "{}: {} episodes, {} transitions into the {} buffer in {:.1} s",
        args.run_dir.display(),
        r.episodes,
        r.transitions,
        if opts.as_demo { "demo" } else { "online" },
        r.seconds
    );
    Ok(exit::OK)
}
