//! `corrigo bench perception`: end-to-end latency of camera frames from grab to another process.
//!
//! Two synthetic 640×480 videos (MJPG, written at start) are played as cameras at 30 Hz through the real
//! `VideoCapture` path and the pipeline (crop → area resize to 128×128 → RGB8), published on the bus, and
//! received by a second process connected over loopback TCP. Latency is the receiver's monotonic clock at decode
//! minus the frame's capture stamp (taken when the grab returned, before MJPG decoding), so it includes decoding,
//! the pipeline, encoding, zenoh and the receiver's decode. The in-process grab → published time is printed next
//! to it as the reference.

use crate::error::PerceptionError;
use crate::node::CameraNode;
use crate::pattern::write_video;
use crate::source::{FrameSource, VideoSource};
use bus::Bus;
use interfaces::config::{BusConfig, CameraConfig, CameraSource};
use interfaces::keys::FRAME;
use interfaces::msg::Frame;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    /// Number of cameras.
    pub cameras: usize,
    /// Capture size, pixels.
    pub width: u32,
    /// Capture height, pixels.
    pub height: u32,
    /// Frame rate of each camera, Hz.
    pub fps: f64,
    /// Policy image side, pixels.
    pub policy_size: u32,
    /// Measured duration, seconds.
    pub seconds: f64,
    /// JPEG quality of published frames (raw RGB8 when absent).
    pub jpeg_quality: Option<u8>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self { cameras: 2, width: 640, height: 480, fps: 30.0, policy_size: 128, seconds: 10.0, jpeg_quality: None }
    }
}

/// Figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// The options run.
    pub options: BenchOptions,
    /// Policy frames published, all cameras.
    pub published: u64,
    /// Policy frames received by the other process.
    pub received: u64,
    /// Frames lost: published but not received, or missing from the sequence numbers.
    pub dropped: u64,
    /// Grab → received in the other process: median.
    pub latency_p50: Duration,
    /// Grab → received: 99th percentile.
    pub latency_p99: Duration,
    /// Grab → received: largest.
    pub latency_max: Duration,
    /// Received rate per camera, Hz, from the capture stamps.
    pub fps: Vec<(String, f64)>,
    /// In-process grab → published (pipeline and publish): mean over cameras.
    pub pipeline_mean: Duration,
    /// In-process grab → published: largest.
    pub pipeline_max: Duration,
    /// CPU time of the camera process over the run / wall time (1.0 = one core busy).
    pub cpu_cores: f64,
    /// Same for the receiving process.
    pub receiver_cpu_cores: f64,
    /// Cores of this machine.
    pub machine_cores: usize,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        writeln!(
            f,
            "bench perception: {} cameras {}×{} @ {} Hz → {}×{} {} for {:.1} s, received in another process",
            o.cameras,
            o.width,
            o.height,
            o.fps,
            o.policy_size,
            o.policy_size,
            o.jpeg_quality.map(|q| format!("JPEG q{q}")).unwrap_or_else(|| "RGB8".into()),
            o.seconds
        )?;
        writeln!(
            f,
            "  grab → received (other process): p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms   (target p99 ≤ 5 ms: {})",
            ms(self.latency_p50),
            ms(self.latency_p99),
            ms(self.latency_max),
            if self.latency_p99 <= Duration::from_millis(5) { "met" } else { "NOT met" }
        )?;
        writeln!(
            f,
            "  reference, grab → published (in process): mean {:.2} ms  max {:.2} ms   (p50 cross-process / mean in-process = {:.2})",
            ms(self.pipeline_mean),
            ms(self.pipeline_max),
            self.latency_p50.as_secs_f64() / self.pipeline_mean.as_secs_f64().max(1e-9)
        )?;
        let rates: Vec<String> = self.fps.iter().map(|(c, r)| format!("{c} {r:.2} Hz")).collect();
        writeln!(f, "  achieved: {} (requested {} Hz)", rates.join(", "), o.fps)?;
        writeln!(
            f,
            "  frames: published {}  received {}  dropped {}   (target: none dropped: {})",
            self.published,
            self.received,
            self.dropped,
            if self.dropped == 0 { "met" } else { "NOT met" }
        )?;
        write!(
            f,
            "  CPU: camera process {:.1} % of one core ({:.1} % of {} cores; includes MJPG decoding), receiver {:.1} % of one core",
            self.cpu_cores * 100.0,
            self.cpu_cores * 100.0 / self.machine_cores as f64,
            self.machine_cores,
            self.receiver_cpu_cores * 100.0
        )
    }
}

/// CPU time used so far by every thread of this process.
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn bench_err(what: impl fmt::Display) -> PerceptionError {
    PerceptionError::Bench(what.to_string())
}

fn camera_config(name: &str, path: &std::path::Path, o: &BenchOptions) -> CameraConfig {
    CameraConfig {
        name: name.into(),
        source: CameraSource::Uri { uri: path.to_string_lossy().into_owned() },
        capture_width: o.width,
        capture_height: o.height,
        fps: o.fps,
        crop: None,
        width: o.policy_size,
        height: o.policy_size,
        pixel_format: None,
        full_frame_hz: 0.0,
        jpeg_quality: o.jpeg_quality,
        stale_ms: 1000.0,
    }
}

/// Runs the benchmark. `receiver` is the command that starts the receiving process; `run` appends two
/// arguments, the bus endpoint to connect to and the cell name, and that process must call [`run_receiver`]
/// with them. Blocks for about `seconds` plus setup (writing the videos, starting the receiver).
pub fn run(options: &BenchOptions, mut receiver: Command) -> Result<BenchReport, PerceptionError> {
    let o = options.clone();
    let dir = std::env::temp_dir().join(format!("corrigo-bench-perception-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| bench_err(format!("{}: {e}", dir.display())))?;
    let frames = (o.fps * (o.seconds + 3.0)).ceil() as u64;
    let (w, h) = (o.width as usize, o.height as usize);
    let mut cameras = Vec::new();
    for c in 0..o.cameras {
        let path = dir.join(format!("cam{c}.avi"));
        write_video(&path, o.width, o.height, o.fps, frames, |i, bgr| {
            // A moving diagonal gradient: enough detail for the codec to do real work.
            for y in 0..h {
                for x in 0..w {
                    let p = (y * w + x) * 3;
                    let v = (x + y + i as usize * 4 + c * 64) as u8;
                    bgr[p] = v;
                    bgr[p + 1] = (x as u8) ^ (y as u8);
                    bgr[p + 2] = v.wrapping_mul(3);
                }
            }
        })?;
        cameras.push(camera_config(&format!("bench{c}"), &path, &o));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(bench_err)?.port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let cell = "bench_perception";
    let bus = Bus::open(&BusConfig { listen: vec![endpoint.clone()], connect: vec![], ..BusConfig::default() }, cell)?;
    let mut child = receiver
        .arg(&endpoint)
        .arg(cell)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| bench_err(format!("cannot start the receiving process: {e}")))?;
    let stdout = child.stdout.take().ok_or_else(|| bench_err("receiver has no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.trim() == "READY" => break,
            Some(Ok(_)) => continue,
            _ => {
                let _ = child.kill();
                return Err(bench_err("the receiving process ended before it was ready"));
            }
        }
    }
    // Let the receiver's subscription reach this session.
    std::thread::sleep(Duration::from_millis(500));

    let stop = Arc::new(AtomicBool::new(false));
    let mut builder = CameraNode::builder(&bus, stop.clone());
    for c in &cameras {
        let cfg = c.clone();
        builder = builder
            .camera(c.clone(), Box::new(move || VideoSource::open(&cfg).map(|s| Box::new(s) as Box<dyn FrameSource>)));
    }
    let (cpu0, t0) = (process_cpu(), Instant::now());
    let node = builder.spawn()?;
    std::thread::sleep(Duration::from_secs_f64(o.seconds));
    let status = node.status();
    let (cpu1, t1) = (process_cpu(), Instant::now());
    node.shutdown();
    std::thread::sleep(Duration::from_millis(300));
    drop(child.stdin.take()); // end of run for the receiver
    let mut result = None;
    for l in lines.by_ref().map_while(Result::ok) {
        if let Some(r) = l.strip_prefix("RESULT ") {
            result = Some(r.to_string());
            break;
        }
    }
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let result = result.ok_or_else(|| bench_err("the receiving process gave no result"))?;
    let kv: BTreeMap<&str, &str> = result.split_whitespace().filter_map(|p| p.split_once('=')).collect();
    let num = |k: &str| -> Result<f64, PerceptionError> {
        kv.get(k).and_then(|v| v.parse::<f64>().ok()).ok_or_else(|| bench_err(format!("result lacks `{k}`: {result}")))
    };
    let published: u64 = status.iter().map(|s| s.frames).sum();
    let received = num("received")? as u64;
    let gaps = num("gaps")? as u64 + num("queue_drops")? as u64;
    let us = |v: f64| Duration::from_secs_f64(v * 1e-6);
    let fps = kv
        .get("fps")
        .map(|v| {
            v.split(',')
                .filter_map(|p| p.split_once(':'))
                .map(|(c, r)| (c.to_string(), r.parse::<f64>().unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default();
    let n = status.len().max(1) as u32;
    Ok(BenchReport {
        options: o,
        published,
        received,
        dropped: published.saturating_sub(received).max(gaps),
        latency_p50: us(num("p50_us")?),
        latency_p99: us(num("p99_us")?),
        latency_max: us(num("max_us")?),
        fps,
        pipeline_mean: status.iter().map(|s| s.mean_pipeline).sum::<Duration>() / n,
        pipeline_max: status.iter().map(|s| s.max_pipeline).max().unwrap_or_default(),
        cpu_cores: (cpu1 - cpu0).as_secs_f64() / (t1 - t0).as_secs_f64(),
        receiver_cpu_cores: num("cpu_cores")?,
        machine_cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    })
}

/// The receiving side of [`run`]: connects to `endpoint`, subscribes to every camera's frames of `cell`, prints
/// `READY`, and when its standard input closes prints one `RESULT key=value …` line and returns.
pub fn run_receiver(endpoint: &str, cell: &str) -> Result<(), PerceptionError> {
    let bus =
        Bus::open(&BusConfig { listen: vec![], connect: vec![endpoint.to_string()], ..BusConfig::default() }, cell)?;
    let sub = bus.subscribe::<Frame>(FRAME, Some("*"))?;
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    std::thread::Builder::new()
        .name("bench-stdin".into())
        .spawn(move || {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
            d.store(true, Ordering::Release);
        })
        .map_err(|e| PerceptionError::Thread { thread: "bench-stdin".into(), reason: e.to_string() })?;
    println!("READY");
    let _ = std::io::stdout().flush();
    let mut latencies: Vec<u64> = Vec::new();
    let mut per_camera: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new(); // count, first stamp, last stamp
    let mut t0: Option<(Instant, Duration)> = None;
    while !done.load(Ordering::Acquire) {
        let Some(r) = sub.recv_timeout(Duration::from_millis(20)) else { continue };
        t0.get_or_insert_with(|| (Instant::now(), process_cpu()));
        latencies.push(r.received.0.saturating_sub(r.msg.header.stamp_ns.0));
        let s = r.msg.header.stamp_ns.0;
        let e = per_camera.entry(r.msg.camera.clone()).or_insert((0, s, s));
        *e = (e.0 + 1, e.1, s);
    }
    let cpu_cores =
        t0.map(|(t, c)| (process_cpu() - c).as_secs_f64() / t.elapsed().as_secs_f64().max(1e-9)).unwrap_or(0.0);
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i] as f64 / 1e3
    };
    let fps: Vec<String> = per_camera
        .iter()
        .map(|(c, (n, a, b))| {
            let span = (b - a) as f64 * 1e-9;
            format!("{c}:{:.3}", if *n > 1 && span > 0.0 { (n - 1) as f64 / span } else { 0.0 })
        })
        .collect();
    let st = sub.stats();
    println!(
        "RESULT received={} gaps={} queue_drops={} p50_us={:.1} p99_us={:.1} max_us={:.1} cpu_cores={:.4} fps={}",
        latencies.len(),
        st.seq_gaps.load(Ordering::Relaxed),
        st.queue_drops.load(Ordering::Relaxed),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        cpu_cores,
        fps.join(",")
    );
    let _ = std::io::stdout().flush();
    Ok(())
}
