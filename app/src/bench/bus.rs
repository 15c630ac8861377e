//! `corrigo bench bus`: one-way latency and rate between two processes on loopback, for (a) the arm state at
//! 1 kHz and (b) two 128×128 RGB cameras at 30 Hz, published at the same time.
//!
//! The parent process subscribes; it starts a child (`corrigo bench bus-publisher`) that publishes. Both read
//! the same `CLOCK_MONOTONIC`, so one-way latency = arrival stamp − publish stamp.
//!
//! `--secure` compares the plain profile with the secure one (`[bus.security]`: mutual TLS and access control,
//! with a throw-away CA): rounds of each, interleaved, and the ratio of their arm-state p99 latencies.

use anyhow::{Context, Result, bail};
use bus::Bus;
use interfaces::config::{BusConfig, BusSecurity};
use interfaces::keys::{ARM_STATE, FRAME};
use interfaces::msg::{ArmState, Frame, Header, PixelEncoding, Pose};
use interfaces::stats::Percentiles;
use interfaces::time::{Clock, MonotonicClock};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CELL: &str = "bench_bus";
const CAMERAS: [&str; 2] = ["cam0", "cam1"];
const WARMUP: Duration = Duration::from_millis(1500);

/// What the publishing child reports on stdout when it is done: the sequence numbers of the measured phase.
#[derive(Debug, Serialize, Deserialize)]
pub struct PublisherReport {
    /// First and last sequence number of the arm-state messages of the measured phase.
    pub state: (u64, u64),
    /// Same, per camera.
    pub frames: HashMap<String, (u64, u64)>,
    /// Size of one encoded arm-state message, bytes.
    pub state_bytes: usize,
    /// Size of one encoded frame, bytes.
    pub frame_bytes: usize,
}

fn bench_state(cycles: u64) -> ArmState {
    ArmState {
        header: Header::default(),
        q: vec![0.1; 7],
        dq: vec![0.0; 7],
        tau: vec![0.0; 7],
        ee_pose: Pose::default(),
        pose_target: Pose::default(),
        cycles,
        ..ArmState::default()
    }
}

fn bench_frame(camera: &str) -> Frame {
    Frame {
        header: Header::default(),
        camera: camera.to_string(),
        width: 128,
        height: 128,
        encoding: PixelEncoding::Rgb8,
        data: vec![127; 128 * 128 * 3],
    }
}

/// Sleeps until `deadline`, spinning for the last 150 µs for precise timing.
fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now + Duration::from_micros(150) {
        std::thread::sleep(deadline - now - Duration::from_micros(150));
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

/// The child: publishes state at `state_hz` and frames at `frame_hz` for warm-up + `seconds`, then prints a
/// [`PublisherReport`] as JSON.
/// `certs`: the folder of the secure profile's certificates (the child presents `bench-pub`'s).
pub fn run_publisher(connect: &str, seconds: f64, state_hz: f64, frame_hz: f64, certs: Option<&str>) -> Result<()> {
    let cfg = BusConfig {
        listen: vec![],
        connect: vec![connect.to_string()],
        security: security(certs, "bench-pub"),
        ..BusConfig::default()
    };
    let bus = Bus::open(&cfg, CELL)?;
    let measured = Duration::from_secs_f64(seconds);
    let frames_thread = {
        let bus = bus.clone();
        std::thread::Builder::new().name("bench-frames".into()).spawn(
            move || -> Result<HashMap<String, (u64, u64)>> {
                let mut pubs = CAMERAS
                    .iter()
                    .map(|c| bus.publisher::<Frame>(FRAME, Some(c)).map(|p| (c.to_string(), p, (0u64, 0u64))))
                    .collect::<Result<Vec<_>, _>>()?;
                let start = Instant::now();
                let period = Duration::from_secs_f64(1.0 / frame_hz);
                let mut next = start;
                while next < start + WARMUP + measured {
                    sleep_until(next);
                    for (name, p, range) in pubs.iter_mut() {
                        let mut f = bench_frame(name);
                        f.header.stamp_ns = MonotonicClock.now();
                        let seq = p.publish(&mut f)?;
                        if next >= start + WARMUP {
                            if range.0 == 0 {
                                range.0 = seq;
                            }
                            range.1 = seq;
                        }
                    }
                    next += period;
                }
                Ok(pubs.into_iter().map(|(n, _, r)| (n, r)).collect())
            },
        )?
    };
    let mut p = bus.publisher::<ArmState>(ARM_STATE, None)?;
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / state_hz);
    let mut next = start;
    let mut range = (0u64, 0u64);
    let mut cycles = 0;
    while next < start + WARMUP + measured {
        sleep_until(next);
        cycles += 1;
        let mut s = bench_state(cycles);
        s.header.stamp_ns = MonotonicClock.now();
        let seq = p.publish(&mut s)?;
        if next >= start + WARMUP {
            if range.0 == 0 {
                range.0 = seq;
            }
            range.1 = seq;
        }
        next += period;
    }
    let frames = frames_thread.join().map_err(|_| anyhow::anyhow!("frame publisher thread panicked"))??;
    let report = PublisherReport {
        state: range,
        frames,
        state_bytes: bus::encode(&bench_state(1)).map_err(anyhow::Error::msg)?.len(),
        frame_bytes: bus::encode(&bench_frame("cam0")).map_err(anyhow::Error::msg)?.len(),
    };
    // Let the last messages drain before the session closes.
    std::thread::sleep(Duration::from_millis(300));
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Results of one stream.
#[derive(Debug)]
pub struct StreamResult {
    /// Messages in the measured phase.
    pub sent: u64,
    /// Of those, received.
    pub received: u64,
    /// Latency summary, µs.
    pub latency: Percentiles,
    /// Achieved receive rate, Hz (per stream).
    pub rate_hz: f64,
}

fn security(certs: Option<&str>, node: &str) -> BusSecurity {
    match certs {
        Some(dir) => BusSecurity { enabled: true, dir: dir.to_string(), node: node.to_string() },
        None => BusSecurity::default(),
    }
}

/// The parent: runs the benchmark and prints the figures. `secure`: rounds of the plain and the secure profile,
/// interleaved, then the ratio of their arm-state p99 latencies.
pub fn run(seconds: f64, secure: bool) -> Result<()> {
    if !secure {
        measure(seconds, None)?;
        return Ok(());
    }
    const ROUNDS: usize = 3;
    let dir = tempfile::tempdir().context("a temporary folder for the benchmark's CA")?;
    bus::certs::init(dir.path(), false)?;
    for node in ["bench-sub", "bench-pub"] {
        bus::certs::issue(dir.path(), node, bus::security::Role::Cell, 1)?;
    }
    let certs = dir.path().display().to_string();
    let (mut plain, mut tls) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        println!("round {round}/{ROUNDS}, plain profile (tcp):");
        plain.push(measure(seconds, None)?.latency.p99);
        println!("round {round}/{ROUNDS}, secure profile (mutual TLS + access control):");
        tls.push(measure(seconds, Some(&certs))?.latency.p99);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(", ");
    println!("arm state one-way p99 latency, µs, per round: plain [{}] | secure [{}]", fmt(&plain), fmt(&tls));
    let (p, s) = (median(&mut plain), median(&mut tls));
    let ratio = s / p;
    println!("median of rounds: plain {p:.1} µs, secure {s:.1} µs, secure/plain {ratio:.2}×");
    println!("target (secure within 1.3× of plain): {}", if ratio <= 1.3 { "met" } else { "NOT met" });
    Ok(())
}

/// One run of the benchmark (plain, or secure with the certificates in `certs`); prints its figures and returns
/// the arm state's.
fn measure(seconds: f64, certs: Option<&str>) -> Result<StreamResult> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let proto = if certs.is_some() { "tls" } else { "tcp" };
    let endpoint = format!("{proto}/127.0.0.1:{port}");
    let cfg = BusConfig {
        listen: vec![endpoint.clone()],
        connect: vec![],
        security: security(certs, "bench-sub"),
        ..BusConfig::default()
    };
    let bus = Bus::open(&cfg, CELL)?;
    let states = bus.subscribe::<ArmState>(ARM_STATE, None)?;
    let frames = bus.subscribe::<Frame>(FRAME, Some("*"))?;
    println!("bus benchmark: publisher and subscriber in two processes on loopback ({endpoint}), {seconds} s measured");
    println!("  streams at once: arm state at 1000 Hz, and 2 cameras × 128×128×3 RGB at 30 Hz");
    let exe = std::env::current_exe()?;
    let mut args = vec!["bench", "bus-publisher", "--connect", &endpoint];
    if let Some(dir) = certs {
        args.extend(["--certs", dir]);
    }
    let seconds_arg = seconds.to_string();
    args.extend(["--seconds", &seconds_arg]);
    let mut child =
        Command::new(exe).args(&args).stdout(Stdio::piped()).spawn().context("starting the publisher process")?;
    let mut state_samples: Vec<(u64, f64)> = Vec::with_capacity((seconds * 1000.0) as usize + 2000);
    let mut frame_samples: HashMap<String, Vec<(u64, f64)>> = HashMap::new();
    let deadline = Instant::now() + WARMUP + Duration::from_secs_f64(seconds) + Duration::from_secs(20);
    loop {
        let mut got = false;
        while let Some(r) = states.try_recv() {
            state_samples.push((r.msg.header.seq, r.received.secs_since(r.msg.header.stamp_ns) * 1e6));
            got = true;
        }
        while let Some(r) = frames.try_recv() {
            let lat = r.received.secs_since(r.msg.header.stamp_ns) * 1e6;
            frame_samples.entry(r.msg.camera.clone()).or_default().push((r.msg.header.seq, lat));
            got = true;
        }
        if let Some(status) = child.try_wait()? {
            // What is still queued arrived before the child's report: collect it first.
            while let Some(r) = states.try_recv() {
                state_samples.push((r.msg.header.seq, r.received.secs_since(r.msg.header.stamp_ns) * 1e6));
            }
            if !status.success() {
                bail!("the publisher process failed: {status}");
            }
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("the publisher process did not finish in time");
        }
        if !got {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let mut out = String::new();
    child.stdout.take().context("publisher stdout")?.read_to_string(&mut out)?;
    let report: PublisherReport = serde_json::from_str(out.trim().lines().last().unwrap_or_default())
        .with_context(|| format!("reading the publisher's report from {out:?}"))?;

    let state = stream_result(&state_samples, report.state, seconds);
    print_stream(&format!("arm state ({} B)", report.state_bytes), 1000.0, &state);
    let mut frames_ok = true;
    for cam in CAMERAS {
        let range = report.frames.get(cam).copied().unwrap_or((1, 0));
        let r = stream_result(frame_samples.get(cam).map(Vec::as_slice).unwrap_or(&[]), range, seconds);
        print_stream(&format!("frame {cam} ({} B)", report.frame_bytes), 30.0, &r);
        frames_ok &= r.sent > 0 && r.received == r.sent;
    }
    let state_ok = state.received == state.sent && state.latency.p99 <= 300.0;
    let drops = bus::Subscriber::<ArmState>::stats(&states).queue_drops.load(std::sync::atomic::Ordering::Relaxed);
    println!("  subscriber queue drops: state {drops}");
    println!(
        "target (state p99 ≤ 300 µs, no drops; frames without drops): state {}, frames {}",
        if state_ok { "met" } else { "NOT met" },
        if frames_ok { "met" } else { "NOT met" }
    );
    Ok(state)
}

fn stream_result(samples: &[(u64, f64)], range: (u64, u64), seconds: f64) -> StreamResult {
    let sent = if range.1 >= range.0 && range.0 > 0 { range.1 - range.0 + 1 } else { 0 };
    let mut lat: Vec<f64> =
        samples.iter().filter(|(seq, _)| *seq >= range.0 && *seq <= range.1).map(|(_, l)| *l).collect();
    let received = lat.len() as u64;
    StreamResult { sent, received, latency: Percentiles::of(&mut lat), rate_hz: received as f64 / seconds }
}

fn print_stream(name: &str, hz: f64, r: &StreamResult) {
    println!(
        "  {name:<24} at {hz:>6.0} Hz: sent {:>6}, received {:>6}, dropped {:>4}, rate {:>7.1} Hz | one-way latency µs: p50 {:>7.1}  p99 {:>7.1}  p99.9 {:>7.1}  max {:>8.1}",
        r.sent,
        r.received,
        r.sent.saturating_sub(r.received),
        r.rate_hz,
        r.latency.p50,
        r.latency.p99,
        r.latency.p999,
        r.latency.max
    );
}
