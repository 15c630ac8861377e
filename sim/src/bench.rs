//! `corrigo bench controller`: per-cycle compute time of the law and envelope, loop lateness at the control
//! rate, the simulator's real-time factor with the controller in the loop (no rendering), and the frames per
//! second of a 128×128 camera beside MuJoCo's Python renderer on the same model in the same run.
//!
//! Call [`run`] and print the [`BenchReport`] (it implements `Display`). Nothing here asserts on timing.

use crate::camera::CameraRenderer;
use crate::drivers::SimArm;
use crate::mjcf::{self, Scene};
use crate::world::{SimError, SimWorld};
use controller::bench::{LatenessReport, Percentiles, cycle_compute_time_us, loop_lateness};
use controller::core::ControllerCore;
use interfaces::CellConfig;
use interfaces::msg::Pose;
use nalgebra::Vector3;
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;
use thiserror::Error;

/// Environment variable naming the Python interpreter of the project's virtualenv (with `mujoco`).
pub const PYTHON_ENV: &str = "CORRIGO_VENV_PYTHON";

/// What to measure and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    /// Control cycles timed for the compute figure.
    pub law_iterations: usize,
    /// Duration of the loop-lateness run, s (20 s for the reported figure).
    pub loop_seconds: f64,
    /// Ask for SCHED_FIFO in the lateness run.
    pub realtime: bool,
    /// Simulated seconds for the real-time factor.
    pub sim_seconds: f64,
    /// Frames rendered per camera figure.
    pub camera_frames: usize,
    /// Interleaved rounds of the camera figure (ours, then the reference, per round); medians are reported, so
    /// that a load change during the run does not favour either side.
    pub camera_rounds: usize,
    /// Camera (model camera name) to render.
    pub camera: String,
    /// Image size, pixels.
    pub image_size: (u32, u32),
    /// Python interpreter for the reference renderer (`None`: skip the reference).
    pub python: Option<PathBuf>,
    /// The reference script (`bench/reference/mujoco_render.py`).
    pub reference_script: PathBuf,
}

impl BenchOptions {
    /// The reported settings: 100 000 cycles, 20 s loop, 10 s simulated, 3 rounds of 500 frames of `front` at
    /// 128×128, Python from [`PYTHON_ENV`], the script under the workspace's `bench/reference/`.
    pub fn standard() -> Self {
        Self {
            law_iterations: 100_000,
            loop_seconds: 20.0,
            realtime: true,
            sim_seconds: 10.0,
            camera_frames: 500,
            camera_rounds: 3,
            camera: "front".into(),
            image_size: (128, 128),
            python: std::env::var_os(PYTHON_ENV).map(PathBuf::from),
            // Relative to the working directory; `corrigo bench controller` finds the workspace's copy.
            reference_script: PathBuf::from("bench/reference/mujoco_render.py"),
        }
    }
}

/// Why the benchmark could not run.
#[derive(Debug, Error)]
pub enum BenchError {
    /// The controller could not be built.
    #[error(transparent)]
    Controller(#[from] controller::core::BuildError),
    /// The simulation failed.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// An OS error (thread, temp file).
    #[error("{what}: {source}")]
    Io {
        /// What was attempted.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// The Python reference renderer's figure, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// Frames per second of MuJoCo's Python renderer.
    Fps(f64),
    /// Not measured (no interpreter configured, or the script failed), with the reason.
    Unavailable(String),
}

/// All figures.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Compute time of one control cycle (model, law, envelope), µs.
    pub cycle_us: Percentiles,
    /// Loop lateness.
    pub lateness: LatenessReport,
    /// Simulated seconds per wall-clock second with the controller in the loop (no rendering).
    pub realtime_factor: f64,
    /// Simulated seconds behind the real-time factor.
    pub sim_seconds: f64,
    /// Our renderer's frames per second for one camera (median of the rounds).
    pub camera_fps: f64,
    /// MuJoCo's Python renderer on the same model and state (median of the rounds).
    pub reference: Reference,
    /// Each round's figures: ours and the reference's.
    pub camera_rounds: Vec<(f64, Reference)>,
    /// Camera and size rendered.
    pub camera: (String, u32, u32),
}

/// Runs every measurement of `opts` on the cell `cfg`.
pub fn run(cfg: &CellConfig, opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let cycle_us = cycle_compute_time_us(cfg, opts.law_iterations)?;
    let lateness = loop_lateness(
        cfg.controller.rate_hz,
        opts.loop_seconds,
        opts.realtime,
        cfg.controller.rt_priority.min(99) as i32,
        cfg.controller.deadline_miss_us,
    )
    .map_err(|source| BenchError::Io { what: "loop lateness thread".into(), source })?;
    let realtime_factor = sim_realtime_factor(cfg, opts.sim_seconds)?;
    let (w, h) = opts.image_size;
    // The reference draws the same state as `camera_fps` (the cell at home, the cube on the table): a different
    // arm posture covers a different share of the image and changes the rasterizer's work.
    let snap = SimWorld::new(cfg)?.snapshot();
    let qpos = snap.qpos[..snap.nq].iter().map(|q| format!("{q:.9}")).collect::<Vec<_>>().join(",");
    let mut camera_rounds = Vec::new();
    for _ in 0..opts.camera_rounds.max(1) {
        let ours = camera_fps(cfg, &opts.camera, w, h, opts.camera_frames)?;
        camera_rounds.push((ours, python_reference(cfg, opts, &qpos)));
    }
    let median = |mut v: Vec<f64>| Percentiles::of(&mut v).p50;
    let camera_fps = median(camera_rounds.iter().map(|r| r.0).collect());
    let reference = match camera_rounds.iter().find(|r| matches!(r.1, Reference::Unavailable(_))) {
        Some((_, why)) => why.clone(),
        None => Reference::Fps(median(
            camera_rounds.iter().filter_map(|r| if let Reference::Fps(f) = r.1 { Some(f) } else { None }).collect(),
        )),
    };
    Ok(BenchReport {
        cycle_us,
        lateness,
        realtime_factor,
        sim_seconds: opts.sim_seconds,
        camera_fps,
        reference,
        camera_rounds,
        camera: (opts.camera.clone(), w, h),
    })
}

/// Simulated seconds per wall-clock second: the controller tracks a moving target (a 10 cm circle at 0.5 Hz)
/// with one physics step per control cycle, no rendering.
pub fn sim_realtime_factor(cfg: &CellConfig, sim_seconds: f64) -> Result<f64, BenchError> {
    let world = SimWorld::new(cfg)?;
    let steps = (sim_seconds * 1e9 / world.timestep_ns() as f64).max(1.0) as u64;
    let mut core = ControllerCore::new(cfg, SimArm::new(world))?;
    let now = core.driver().world().now();
    let _ = core.step(now);
    let centre = core.driver().world().tcp_pose();
    let start = Instant::now();
    for k in 0..steps {
        if k % 10 == 0 {
            let t = core.driver().world().now().as_secs_f64();
            let mut target = centre;
            let a = std::f64::consts::TAU * 0.5 * t;
            target.translation.vector += Vector3::new(0.05 * a.cos() - 0.05, 0.05 * a.sin(), 0.0);
            let _ = core.set_target(&Pose::from_isometry(&target));
        }
        let now = core.driver().world().now();
        let _ = core.step(now);
    }
    let wall = start.elapsed().as_secs_f64();
    let simulated = core.driver().world().now().secs_since(now);
    Ok(if wall > 0.0 { simulated / wall } else { f64::INFINITY })
}

/// Frames per second of [`CameraRenderer`] for the model camera `camera` at `w`×`h` (kinematics, scene update,
/// render and read-back per frame; one warm-up frame excluded).
pub fn camera_fps(cfg: &CellConfig, camera: &str, w: u32, h: u32, frames: usize) -> Result<f64, BenchError> {
    let world = SimWorld::new(cfg)?;
    let mut r = CameraRenderer::new(world.model().clone(), camera, w, h)?;
    let snap = world.snapshot();
    r.render(&snap)?;
    let start = Instant::now();
    for _ in 0..frames {
        std::hint::black_box(r.render(&snap)?);
    }
    Ok(frames as f64 / start.elapsed().as_secs_f64())
}

/// The Python renderer's fps for the cell drawn at `qpos` (comma-separated, the model's `nq` entries).
fn python_reference(cfg: &CellConfig, opts: &BenchOptions, qpos: &str) -> Reference {
    let Some(python) = &opts.python else {
        return Reference::Unavailable(format!("{PYTHON_ENV} is not set"));
    };
    let path = std::env::temp_dir().join(format!("corrigo-bench-{}-{}.xml", cfg.cell.name, std::process::id()));
    if let Err(e) = std::fs::write(&path, mjcf::mjcf(cfg, Scene::Cell)) {
        return Reference::Unavailable(format!("cannot write {}: {e}", path.display()));
    }
    let (w, h) = opts.image_size;
    let out = std::process::Command::new(python)
        .arg(&opts.reference_script)
        .arg(&path)
        .arg(&opts.camera)
        .arg(w.to_string())
        .arg(h.to_string())
        .arg(opts.camera_frames.to_string())
        .arg(qpos)
        .env("MUJOCO_GL", "egl")
        .output();
    let _ = std::fs::remove_file(&path);
    match out {
        Err(e) => Reference::Unavailable(format!("cannot run {}: {e}", python.display())),
        Ok(o) if !o.status.success() => Reference::Unavailable(format!(
            "{} exited with {}: {}",
            opts.reference_script.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
        )),
        Ok(o) => parse_fps(&String::from_utf8_lossy(&o.stdout))
            .map(Reference::Fps)
            .unwrap_or_else(|| Reference::Unavailable("reference printed no fps".into())),
    }
}

/// Extracts `"fps": <number>` from the reference script's JSON line.
fn parse_fps(s: &str) -> Option<f64> {
    let rest = &s[s.find("\"fps\"")? + 5..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let end =
        rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.cycle_us;
        writeln!(f, "control cycle compute (model + law + envelope, {} cycles):", c.count)?;
        writeln!(f, "  median {:.2} µs   p99 {:.2} µs   max {:.1} µs", c.p50, c.p99, c.max)?;
        write!(f, "{}", self.lateness)?;
        writeln!(
            f,
            "sim real-time factor with the controller in the loop (no rendering, {} s simulated): {:.1}×",
            self.sim_seconds, self.realtime_factor
        )?;
        let (cam, w, h) = &self.camera;
        match &self.reference {
            Reference::Fps(r) => {
                let ratios: Vec<String> = self
                    .camera_rounds
                    .iter()
                    .filter_map(
                        |(ours, re)| if let Reference::Fps(p) = re { Some(format!("{:.2}", ours / p)) } else { None },
                    )
                    .collect();
                writeln!(
                    f,
                    "camera `{cam}` {w}×{h}, median of {} interleaved rounds: {:.0} fps (MuJoCo Python renderer on the \
                     same state: {:.0} fps, ratio {:.2}×; per round {})",
                    self.camera_rounds.len(),
                    self.camera_fps,
                    r,
                    self.camera_fps / r,
                    ratios.join(", ")
                )
            }
            Reference::Unavailable(why) => writeln!(
                f,
                "camera `{cam}` {w}×{h}: {:.0} fps (MuJoCo Python renderer: not measured: {why})",
                self.camera_fps
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_fps;

    #[test]
    fn fps_is_parsed_from_the_reference_line() {
        assert_eq!(parse_fps(r#"{"fps": 812.5, "frames": 500}"#), Some(812.5));
        assert_eq!(parse_fps(r#"{"fps":1e3}"#), Some(1000.0));
        assert_eq!(parse_fps("garbage"), None);
    }
}
