//! The learner benchmark (`corrigo bench learner`): gradient update cycles per second (one cycle = the configured
//! number of critic steps + one actor/temperature step, batches sampled from a replay store) for a state-only and a
//! two-camera (128×128) + state agent — on cached frozen features ([`crate::features`], the fast setting; its
//! reference is the same state-sized update on `[features, proprio]`, since both encode each stored frame once) and
//! end to end — critic ensembles 2 and 10/2, on the CPU and on CUDA when present, beside the same update written
//! in PyTorch (`bench/reference/sac_update.py`, run with the project's virtualenv Python in the same command), and
//! the actor's inference latency at batch 1 (two cameras + state).

use crate::error::{Result, io_err};
use crate::replay::{Action, GripperAction, Observation, ReplayStore, StoreOptions, Transition};
use crate::sac::{Learner, Policy};
use crate::spec::{CameraSpec, ObsSpec};
use interfaces::config::AgentConfig;
use interfaces::stats::quantile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tch::Device;

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Intra-op threads for both libtorch (here) and PyTorch (the reference).
    pub threads: i32,
    /// Measured cycles per state-only row.
    pub iters_state: usize,
    /// Measured cycles per image row.
    pub iters_images: usize,
    /// Interleaved rounds of every state-only row (the medians are printed); image rows run once.
    pub rounds: usize,
    /// Critic steps per actor step.
    pub ratio: u64,
    /// Python interpreter for the reference (`None`: skip it).
    pub python: Option<PathBuf>,
    /// The reference script.
    pub reference: PathBuf,
    /// Also run on CUDA when available.
    pub cuda: bool,
    /// Skip the image rows.
    pub state_only: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get() as i32),
            iters_state: 50,
            iters_images: 3,
            rounds: 3,
            ratio: AgentConfig::default().critic_actor_ratio,
            python: std::env::var_os("CORRIGO_VENV_PYTHON").map(PathBuf::from),
            // Relative to the working directory; `corrigo bench learner` finds the workspace's copy.
            reference: PathBuf::from("bench/reference/sac_update.py"),
            cuda: true,
            state_only: false,
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRow {
    /// `cpu` or `cuda`.
    pub device: String,
    /// `state` or `2cam128+state`.
    pub obs: String,
    /// Ensemble size / target subset.
    pub ensemble: (u64, u64),
    /// Update cycles per second, this library.
    pub rust: f64,
    /// The same on the autograd path, where the row's default is the fused CPU path (`None` otherwise).
    pub rust_autograd: Option<f64>,
    /// Update cycles per second, the PyTorch reference (`None` when it could not run).
    pub python: Option<f64>,
    /// The same, with the allocator thresholds of [`crate::alloc`] given to the reference (`None`: could not run).
    pub python_same_malloc: Option<f64>,
}

/// Inference latency at batch 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

const PROPRIO: usize = 19;
const ACTION: usize = 6;
const HW: usize = 128;

fn spec(cams: usize) -> ObsSpec {
    ObsSpec {
        proprio_dim: PROPRIO,
        cameras: (0..cams).map(|c| CameraSpec { name: format!("cam{c}"), height: HW, width: HW }).collect(),
        action_dim: ACTION,
        gripper: false,
    }
}

fn random_obs(rng: &mut ChaCha8Rng, spec: &ObsSpec) -> Observation {
    Observation {
        proprio: (0..spec.proprio_dim).map(|_| rng.random_range(-1.0..1.0)).collect(),
        images: spec
            .cameras
            .iter()
            .map(|c| {
                let mut v = vec![0u8; c.frame_bytes()];
                rng.fill(&mut v[..]);
                v
            })
            .collect(),
    }
}

fn fill_store(dir: &std::path::Path, spec: &ObsSpec, n: u64) -> Result<ReplayStore> {
    let opts =
        StoreOptions { online_capacity: 1_000_000, segment_transitions: 4096, flush_interval: Duration::from_secs(1) };
    let mut store = ReplayStore::open(dir, spec, &opts)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut obs = random_obs(&mut rng, spec);
    for i in 0..n {
        let next = random_obs(&mut rng, spec);
        let t = Transition {
            obs: obs.clone(),
            action: Action {
                continuous: (0..spec.action_dim).map(|_| rng.random_range(-1.0..1.0)).collect(),
                gripper: GripperAction::Stay,
            },
            reward: rng.random_range(-1.0..1.0),
            next_obs: next.clone(),
            done: i % 50 == 49,
            episode: i / 50,
            ..Transition::default()
        };
        if i.is_multiple_of(2) {
            store.append_demo(&t)?
        } else {
            store.append(&t)?
        }
        obs = if t.done { random_obs(&mut rng, spec) } else { next };
    }
    store.flush()?;
    Ok(store)
}

fn cfg(ensemble: (u64, u64), ratio: u64, images: bool) -> AgentConfig {
    AgentConfig {
        use_images: images,
        critic_ensemble: ensemble.0,
        critic_subsample: ensemble.1,
        critic_actor_ratio: ratio,
        ..AgentConfig::default()
    }
}

/// The fused CPU path's update cycles/s with the HL-Gauss critic against the MSE critic (state-only, batch 256,
/// the default networks; 51 bins), both ensembles, in interleaved rounds; prints the medians and their ratio.
/// Returns one row per ensemble.
pub fn run_critic_bench(o: &BenchOptions, out: &mut dyn Write) -> Result<Vec<CriticRow>> {
    tch::set_num_threads(o.threads);
    let w = |out: &mut dyn Write, s: String| out.write_all(s.as_bytes()).map_err(io_err("write", "<output>"));
    w(
        out,
        format!(
            "critic objective on the fused CPU path: update cycles/s (state only, batch 256, critic:actor {}:1, {} \
             threads, HL-Gauss with {} bins; `+ prior`: HL-Gauss with the behaviour prior; ratios against mse; medians \
             of {} interleaved rounds of {} cycles)\n{:<9} {:>10} {:>10} {:>7} {:>10} {:>7}\n",
            o.ratio,
            o.threads,
            interfaces::config::HlGaussConfig::default().bins,
            o.rounds.max(1),
            o.iters_state,
            "ensemble",
            "mse",
            "hl-gauss",
            "ratio",
            "+ prior",
            "ratio"
        ),
    )?;
    let dir = std::env::temp_dir().join(format!("corrigo-bench-critic-{}", std::process::id()));
    let store = fill_store(&dir, &spec(0), 20_000)?;
    let mut rows = Vec::new();
    for ensemble in [(2, 2), (10, 2)] {
        let mse = cfg(ensemble, o.ratio, false);
        let hl = AgentConfig { critic: Some(interfaces::config::CriticKind::HlGauss), ..mse.clone() };
        // The prior's fitting is not timed; a few steps give it its shape.
        let prior = AgentConfig { bc_prior: Some(true), bc_prior_steps: 10, ..hl.clone() };
        let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
        for _ in 0..o.rounds.max(1) {
            a.extend(rust_rate(&store, &mse, Device::Cpu, o.iters_state, false)?);
            b.extend(rust_rate(&store, &hl, Device::Cpu, o.iters_state, false)?);
            c.extend(rust_rate(&store, &prior, Device::Cpu, o.iters_state, false)?);
        }
        let m = quantile(&mut a, 0.5).unwrap_or_default();
        let h = quantile(&mut b, 0.5).unwrap_or_default();
        let p = quantile(&mut c, 0.5).unwrap_or_default();
        w(
            out,
            format!(
                "{:<9} {:>10.2} {:>10.2} {:>6.2}x {:>10.2} {:>6.2}x\n",
                format!("{}/{}", ensemble.0, ensemble.1),
                m,
                h,
                h / m,
                p,
                p / m
            ),
        )?;
        rows.push(CriticRow { ensemble, mse: m, hl_gauss: h, prior: p });
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rows)
}

/// One row of [`run_critic_bench`]: update cycles/s (medians) with each critic objective.
#[derive(Debug, Clone, Copy)]
pub struct CriticRow {
    /// Critics and the target's subset.
    pub ensemble: (u64, u64),
    /// With the MSE critic.
    pub mse: f64,
    /// With the HL-Gauss critic.
    pub hl_gauss: f64,
    /// With the HL-Gauss critic and the behaviour prior.
    pub prior: f64,
}

/// Update cycles/s of a learner on `device`, on the fused CPU path where it applies unless `autograd`; `None` when
/// `autograd` is asked for and the learner already uses it.
fn rust_rate(
    store: &ReplayStore,
    c: &AgentConfig,
    device: Device,
    iters: usize,
    autograd: bool,
) -> Result<Option<f64>> {
    let mut learner = Learner::for_store(c, 0.95, store, device)?;
    if autograd && !learner.uses_fused_cpu_path() {
        return Ok(None);
    }
    learner.set_fused_cpu_path(!autograd);
    learner.fit_bc_prior(store, |_, _, _| {})?;
    for _ in 0..2 {
        learner.update(store)?;
    }
    let t0 = Instant::now();
    for _ in 0..iters {
        learner.update(store)?;
    }
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
    Ok(Some(iters as f64 / t0.elapsed().as_secs_f64()))
}

/// The reference's cycles/s, as a PyTorch user runs it (`same_malloc` false: the C library's defaults), or with
/// the allocator thresholds corrigo's learner sets ([`crate::alloc`]) given through `GLIBC_TUNABLES`.
fn python_rate(
    o: &BenchOptions,
    cams: usize,
    proprio: usize,
    ensemble: (u64, u64),
    device: Device,
    iters: usize,
    same_malloc: bool,
) -> Option<f64> {
    let py = o.python.as_ref()?;
    let mut cmd = std::process::Command::new(py);
    if same_malloc {
        cmd.env(
            "GLIBC_TUNABLES",
            format!(
                "glibc.malloc.mmap_threshold={}:glibc.malloc.trim_threshold={}",
                crate::alloc::MMAP_THRESHOLD,
                crate::alloc::TRIM_THRESHOLD
            ),
        );
    }
    let out = cmd
        .arg(&o.reference)
        .args(["--cams", &cams.to_string(), "--hw", &HW.to_string(), "--proprio", &proprio.to_string()])
        .args(["--action", &ACTION.to_string(), "--ratio", &o.ratio.to_string()])
        .args(["--ensemble", &ensemble.0.to_string(), "--subsample", &ensemble.1.to_string()])
        .args(["--iters", &iters.to_string(), "--warmup", "2", "--threads", &o.threads.to_string()])
        .args(["--device", if device.is_cuda() { "cuda" } else { "cpu" }])
        .output()
        .ok()?;
    if !out.status.success() {
        tracing::warn!(stderr = %String::from_utf8_lossy(&out.stderr), "reference run failed");
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.trim_start().starts_with('{'))?;
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v.get("updates_per_s")?.as_f64()
}

/// Actor inference latency at batch 1 with two 128×128 cameras + state on `device`.
pub fn inference_latency(device: Device, samples: usize) -> Result<Latency> {
    let s = spec(2);
    let mut policy = Policy::new(&AgentConfig { use_images: true, ..AgentConfig::default() }, &s, device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let obs = random_obs(&mut rng, &s);
    for _ in 0..10 {
        policy.act(&obs, false)?;
    }
    let mut ms: Vec<f64> = (0..samples)
        .map(|_| {
            let t0 = Instant::now();
            policy.act(&obs, false).map(|_| t0.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_>>()?;
    let mut q = |p: f64| quantile(&mut ms, p).unwrap_or(f64::NAN);
    Ok(Latency { p50_ms: q(0.5), p99_ms: q(0.99) })
}

/// Runs the benchmark, printing the table to `out` as rows complete; returns the rows and the CPU latency.
pub fn run_learner_bench(o: &BenchOptions, out: &mut dyn Write) -> Result<(Vec<BenchRow>, Latency)> {
    tch::set_num_threads(o.threads);
    let w = |out: &mut dyn Write, s: String| out.write_all(s.as_bytes()).map_err(io_err("write", "<output>"));
    w(
        out,
        format!(
            "learner update cycles/s (batch 256, critic:actor {}:1, RLPD 50/50, {} threads; state rows: medians of {} \
             interleaved rounds)\n\
             corrigo: the default path (fused CPU kernels for state-only on the CPU); autograd: corrigo on libtorch's autograd\n\
             pytorch: the reference as run by default; pytorch*: the same with corrigo's allocator thresholds\n\
             {:<6} {:<14} {:<9} {:>10} {:>10} {:>10} {:>7} {:>10} {:>7}\n",
            o.ratio,
            o.threads,
            o.rounds.max(1),
            "device",
            "observation",
            "ensemble",
            "corrigo",
            "autograd",
            "pytorch",
            "ratio",
            "pytorch*",
            "ratio*"
        ),
    )?;
    let tmp = std::env::temp_dir().join(format!("corrigo-bench-{}", std::process::id()));
    let mut devices = vec![Device::Cpu];
    if o.cuda && tch::Cuda::is_available() {
        devices.push(Device::Cuda(0));
    }
    let mut rows = Vec::new();
    // (cameras, cached features): state-only; two cameras on cached frozen features (the fast setting, whose
    // reference is the same state-sized update on [features, proprio]); two cameras end to end.
    let modes: &[(usize, bool)] = if o.state_only { &[(0, false)] } else { &[(0, false), (2, true), (2, false)] };
    for &(cams, cached) in modes {
        let s = spec(cams);
        let dir = tmp.join(format!("store-{cams}-{cached}"));
        let fast = cams == 0 || cached;
        let mut store = fill_store(
            &dir,
            &s,
            if cams == 0 {
                20_000
            } else if cached {
                2_000
            } else {
                600
            },
        )?;
        let mut ref_proprio = PROPRIO;
        if cached {
            let enc_cfg = interfaces::config::EncoderConfig::default();
            let enc = crate::features::FrameEncoder::new(&enc_cfg, &s, Device::Cpu, 0, false)?;
            let t0 = Instant::now();
            let frames = store.online_frames() + store.demo_frames();
            store.attach_features(enc, &mut |_, _| {})?;
            ref_proprio += store.feature_dim();
            w(
                out,
                format!(
                    "(cached features: {} stored frames of 2 cameras encoded once in {:.1} s, {:.0} frames/s; a cycle then gathers [{} features, {} proprio])\n",
                    frames,
                    t0.elapsed().as_secs_f64(),
                    frames as f64 / t0.elapsed().as_secs_f64(),
                    store.feature_dim(),
                    PROPRIO
                ),
            )?;
        }
        for &device in &devices {
            for ensemble in [(2, 2), (10, 2)] {
                let iters = if fast { o.iters_state } else { o.iters_images };
                let c = cfg(ensemble, o.ratio, cams > 0);
                // Interleaved rounds, medians: a change of the machine's load hits every column alike.
                let rounds = if fast { o.rounds.max(1) } else { 1 };
                let ref_cams = if cached { 0 } else { cams };
                let (mut r, mut ra, mut p, mut pm) = (vec![], vec![], vec![], vec![]);
                for _ in 0..rounds {
                    r.extend(rust_rate(&store, &c, device, iters, false)?);
                    ra.extend(rust_rate(&store, &c, device, iters, true)?);
                    p.extend(python_rate(o, ref_cams, ref_proprio, ensemble, device, iters, false));
                    pm.extend(python_rate(o, ref_cams, ref_proprio, ensemble, device, iters, true));
                }
                let rust = quantile(&mut r, 0.5).unwrap_or_default();
                let (rust_autograd, python, python_same_malloc) =
                    (quantile(&mut ra, 0.5), quantile(&mut p, 0.5), quantile(&mut pm, 0.5));
                let row = BenchRow {
                    device: if device.is_cuda() { "cuda".into() } else { "cpu".into() },
                    obs: match (cams, cached) {
                        (0, _) => "state".into(),
                        (_, true) => "2cam128 cached".into(),
                        _ => "2cam128+state".into(),
                    },
                    ensemble,
                    rust,
                    rust_autograd,
                    python,
                    python_same_malloc,
                };
                let cols = |p: Option<f64>| match p {
                    Some(p) => (format!("{p:10.2}"), format!("{:6.2}x", rust / p)),
                    None => (format!("{:>10}", "n/a"), format!("{:>7}", "n/a")),
                };
                let ((py, ratio), (pm, ratio_m)) = (cols(python), cols(python_same_malloc));
                w(
                    out,
                    format!(
                        "{:<6} {:<14} {:<9} {:>10.2} {:>10} {} {} {} {}\n",
                        row.device,
                        row.obs,
                        format!("{}/{}", ensemble.0, ensemble.1),
                        rust,
                        rust_autograd.map_or_else(|| "-".to_string(), |r| format!("{r:.2}")),
                        py,
                        ratio,
                        pm,
                        ratio_m
                    ),
                )?;
                rows.push(row);
            }
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let lat = inference_latency(Device::Cpu, 300)?;
    w(
        out,
        format!(
            "actor inference, batch 1, 2 cameras 128x128 + state, cpu: p50 {:.2} ms, p99 {:.2} ms (target p99 <= 5 ms)\n",
            lat.p50_ms, lat.p99_ms
        ),
    )?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok((rows, lat))
}
