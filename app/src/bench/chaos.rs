//! `corrigo bench chaos`: faults injected into a two-process cell (this binary's `learner` and `actor`), with
//! the figures of what survived, printed as one table.
//!
//! 1. **Learner `kill -9` at random moments** (0.2–6 s after it started storing), N times, while the actor acts
//!    at the policy rate; then the actor
//!    is stopped and waits for the last learner's acknowledgements. Sent (the actor's steps), stored (distinct
//!    records of the actor's sessions), duplicated (records stored twice), lost (sent − stored), and on how many
//!    restarts the checkpoint loaded.
//! 2. **Learner down** for a while, the actor acting at the policy rate: the actor's peak RSS (polled every
//!    half second, `/proc/<pid>/status`), its spool's peak size, then every spooled transition delivered once the
//!    learner is back. By default in a real cell's layout ([`OutageLayout::Cell`]): the simulated arm and its
//!    cameras in a `corrigo controller` process, the actor (`--env bus`) in its own, so the actor's figure is
//!    what the actor of a real cell holds; [`OutageLayout::InProcess`] measures an actor that also steps MuJoCo
//!    and renders the cameras itself.
//! 3. **Disk full**: the learner's run directory on a small tmpfs (root only; skipped with the reason otherwise)
//!    filled while it stores; then the space freed: recovery without a restart, and the counts.
//! 4. **A second learner** on the same run directory: refused, with its message.
//! 5. **A byte flipped** in the middle of a closed replay segment: records lost on the next open.
//! 6. **Hostile peers** ([`hostile`]): well-typed forged acknowledgements, transitions, weights, arm states,
//!    frames and a command flood against a running two-process cell: nothing lost, nothing duplicated, the e-stop
//!    latency under the flood, and the arm never commanded from a forged message.

use anyhow::{Context, Result, bail};
use interfaces::CellConfig;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod hostile;

/// Settings of the chaos benchmark.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// The cell (a simulated one).
    pub cell: CellConfig,
    /// Image observations (the cell's cameras) instead of state.
    pub images: bool,
    /// Learner kills in scenario 1.
    pub kills: u32,
    /// Learner outage of scenario 2.
    pub outage: Duration,
    /// Size of the tmpfs of scenario 3, MiB.
    pub disk_mib: u64,
    /// Seed of the kill moments.
    pub seed: u64,
    /// Working directory (run directories, logs); kept for inspection.
    pub work: PathBuf,
    /// Scenarios to run: `kills`, `outage`, `disk`, `second`, `flip`, `hostile`.
    pub scenarios: Vec<String>,
    /// Seconds the actor acts in the hostile scenario (at the policy rate).
    pub hostile_s: f64,
    /// Process layout of the outage scenario.
    pub outage_layout: OutageLayout,
}

/// Process layout of the outage scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageLayout {
    /// As on a real cell: the simulated arm and cameras in a `corrigo controller` process, the actor driving
    /// it over the bus (`corrigo actor --env bus`).
    Cell,
    /// The actor steps the simulation and renders the cameras in its own process (`corrigo actor --env sim`).
    InProcess,
}

struct Ctx {
    exe: PathBuf,
    cfg_path: PathBuf,
    cell: CellConfig,
    work: PathBuf,
}

impl Ctx {
    fn corrigo(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args).env("RUST_LOG", "info,zenoh=warn");
        c
    }

    fn cfg(&self) -> &str {
        self.cfg_path.to_str().unwrap_or_default()
    }

    fn learner(&self, run: &Path, log: &Path) -> Result<Child> {
        let err = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        self.corrigo(&["learner", "--config", self.cfg(), "--run-dir", &run.display().to_string(), "--progress", "5"])
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .context("starting the learner")
    }

    fn actor(&self, dir: &Path, steps: Option<u64>, fast: bool, out: &Path) -> Result<Child> {
        self.actor_on(dir, steps, fast, out, false)
    }

    /// The actor; `bus`: it drives a cell running as other nodes (`--env bus`) instead of stepping the
    /// simulation itself.
    fn actor_on(&self, dir: &Path, steps: Option<u64>, fast: bool, out: &Path, bus: bool) -> Result<Child> {
        let d = dir.display().to_string();
        let mut args = vec!["actor", "--config", self.cfg(), "--run-dir", &d, "--ack-wait", "900"];
        if bus {
            args.extend(["--env", "bus"]);
        }
        let s = steps.map(|s| s.to_string()).unwrap_or_default();
        if steps.is_some() {
            args.extend(["--steps", &s]);
        }
        if fast {
            args.push("--fast");
        }
        let o = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
        let e = std::fs::File::create(out.with_extension("err")).context("creating the actor's log")?;
        self.corrigo(&args).stdout(o).stderr(e).spawn().context("starting the actor")
    }

    /// The simulated cell's controller node (arm and cameras), as a real cell runs it.
    fn controller(&self, log: &Path) -> Result<Child> {
        let err = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let out = err.try_clone().with_context(|| format!("opening {} twice", log.display()))?;
        self.corrigo(&["controller", "--config", self.cfg()])
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("starting the controller")
    }

    fn record_demos(&self, run: &Path) -> Result<()> {
        let st = self
            .corrigo(&[
                "record",
                "--scripted",
                "--episodes",
                "2",
                "--config",
                self.cfg(),
                "--run-dir",
                &run.display().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !st.success() {
            bail!("recording the demonstrations into {} failed ({st})", run.display());
        }
        Ok(())
    }

    /// Online records of the store in `run`: (records, repeats, per-session highest number).
    fn counts(&self, run: &Path) -> Result<(usize, usize, std::collections::BTreeMap<String, u64>)> {
        let spec = interfaces::env::obs_spec(&self.cell);
        let st = agent::replay::ReplayStore::open_read_only(run.join("replay"), &spec)?;
        Ok((st.online_len(), st.recovery().online.repeats, st.delivered()))
    }
}

fn log_has(log: &Path, what: &str) -> bool {
    std::fs::read_to_string(log).is_ok_and(|t| t.contains(what))
}

fn tail(path: &Path) -> String {
    let t = std::fs::read_to_string(path).unwrap_or_default();
    t.lines().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// Waits until `log` contains `what`, the child exits, or `within` passes; true when found.
fn wait_log(child: &mut Child, log: &Path, what: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if log_has(log, what) {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() {
            return log_has(log, what);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn sigint(child: &mut Child) {
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait().ok();
    None
}

/// The actor's step count from its summary line (`actor: N steps, …`).
fn actor_steps(out: &Path) -> Option<u64> {
    let t = std::fs::read_to_string(out).ok()?;
    let line = t.lines().find(|l| l.starts_with("actor: ") && l.contains(" steps"))?;
    line.trim_start_matches("actor: ").split_whitespace().next()?.parse().ok()
}

/// An exit status as `exit 0` (or how it ended otherwise).
fn code(s: Option<std::process::ExitStatus>) -> String {
    match s {
        None => "did not exit in time".into(),
        Some(s) => s.code().map_or_else(|| s.to_string(), |c| format!("exit {c}")),
    }
}

/// Resident memory of process `pid`, MiB: (all of it, its anonymous part). The rest is shared libraries' pages
/// (libtorch, Mesa, MuJoCo), which the spool does not change.
fn rss_mib(pid: u32) -> Option<(f64, f64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let kb: f64 = s.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("RssAnon:")?))
}

fn dir_mib(dir: &Path) -> f64 {
    let b: u64 = std::fs::read_dir(dir)
        .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
        .unwrap_or(0);
    b as f64 / (1u64 << 20) as f64
}

/// Sent, stored, duplicated and lost of the sessions that appeared between two counts of the same store.
fn delivery_row(
    sent: u64,
    before: &(usize, usize, std::collections::BTreeMap<String, u64>),
    after: &(usize, usize, std::collections::BTreeMap<String, u64>),
) -> (u64, u64, u64, i64) {
    let records = (after.0 - before.0) as u64;
    let dups = (after.1 - before.1) as u64;
    let stored = records - dups;
    (sent, stored, dups, sent as i64 - stored as i64)
}

/// Runs the benchmark and prints the table.
pub fn run(opts: &ChaosOptions) -> Result<()> {
    std::fs::create_dir_all(&opts.work).with_context(|| format!("creating {}", opts.work.display()))?;
    let mut cell = opts.cell.clone();
    cell.agent.use_images = opts.images;
    // Checkpoints often enough that most kills have one to resume from.
    cell.agent.checkpoint_every = cell.agent.checkpoint_every.min(20);
    if opts.images {
        // A short encoder pretraining: the benchmark is about delivery, not learning.
        cell.agent.encoder.pretrain_steps = cell.agent.encoder.pretrain_steps.min(50);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    cell.bus.listen = vec![format!("tcp/127.0.0.1:{port}")];
    cell.bus.connect = cell.bus.listen.clone();
    let cfg_path = opts.work.join("cell.toml");
    std::fs::write(&cfg_path, cell.to_toml_string()?)?;
    let ctx = Ctx { exe: std::env::current_exe()?, cfg_path, cell: cell.clone(), work: opts.work.clone() };
    let cams = if opts.images {
        cell.cameras.iter().map(|c| format!("{} {}x{}", c.name, c.width, c.height)).collect::<Vec<_>>().join(", ")
    } else {
        "none (state)".into()
    };
    println!(
        "corrigo bench chaos: cell {} ({:?}), cameras {cams}; working in {}",
        cell.cell.name,
        cell.task.kind,
        opts.work.display()
    );
    let mut rows: Vec<(String, String)> = Vec::new();
    let run_a = opts.work.join("run");
    println!("recording 2 scripted demonstrations…");
    ctx.record_demos(&run_a)?;

    // 1. kills
    if opts.scenarios.iter().any(|x| x == "kills") {
        println!("1/6: {} learner kills (kill -9) at random moments during a two-process run…", opts.kills);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
        let before = ctx.counts(&run_a)?;
        let logs = ctx.work.join("logs-kills");
        std::fs::create_dir_all(&logs)?;
        let ckpt = run_a.join("checkpoint.safetensors");
        let mut log = logs.join("learner-0.log");
        let mut learner = ctx.learner(&run_a, &log)?;
        let out = logs.join("actor.out");
        // The actor at the policy rate, as on a real cell.
        let mut actor = ctx.actor(&ctx.work.join("actor-kills"), None, false, &out)?;
        let (mut kills, mut loads, mut with_ckpt, mut failed_starts) = (0u32, 0u32, 0u32, 0u32);
        let started = Instant::now();
        while kills < opts.kills {
            if !wait_log(&mut learner, &log, "learner running", Duration::from_secs(300)) {
                failed_starts += 1;
                eprintln!("  learner start {kills} did not open its store; log tail:\n{}", tail(&log));
            }
            let pause = Duration::from_millis(rng.random_range(200..6000));
            std::thread::sleep(pause);
            let _ = learner.kill();
            let _ = learner.wait();
            kills += 1;
            let had = ckpt.exists();
            log = logs.join(format!("learner-{kills}.log"));
            learner = ctx.learner(&run_a, &log)?;
            if had {
                with_ckpt += 1;
                if wait_log(&mut learner, &log, "resumed from", Duration::from_secs(300)) {
                    loads += 1;
                }
            }
            if kills % 10 == 0 {
                println!("  {kills} kills, {:.0} s", started.elapsed().as_secs_f64());
            }
        }
        sigint(&mut actor);
        let a = wait_exit(&mut actor, Duration::from_secs(960));
        sigint(&mut learner);
        let l = wait_exit(&mut learner, Duration::from_secs(120));
        let sent = actor_steps(&out).unwrap_or(0);
        let after = ctx.counts(&run_a)?;
        let (sent, stored, dups, lost) = delivery_row(sent, &before, &after);
        rows.push((
            format!("learner kill -9 ×{kills} during a two-process run ({:.0} s)", started.elapsed().as_secs_f64()),
            format!(
                "sent {sent}, stored {stored}, duplicated {dups}, lost {lost}; checkpoint loaded after {loads}/{with_ckpt} restarts that had one; {failed_starts} starts failed; actor {}, learner {}",
                code(a),
                code(l)
            ),
        ));
        println!("  {}", rows.last().map(|r| r.1.as_str()).unwrap_or_default());
    }

    // 2. outage
    if opts.scenarios.iter().any(|x| x == "outage") {
        let hz = cell.task.policy_hz;
        let steps = (opts.outage.as_secs_f64() * hz).round() as u64;
        println!(
            "2/6: learner down for {:.0} s while the actor acts at {hz} Hz ({steps} steps)…",
            opts.outage.as_secs_f64()
        );
        let before = ctx.counts(&run_a)?;
        let logs = ctx.work.join("logs-outage");
        std::fs::create_dir_all(&logs)?;
        let out = logs.join("actor.out");
        let actor_dir = ctx.work.join("actor-outage");
        let spool = actor_dir.join("spool").join("actor-0");
        let cell_layout = opts.outage_layout == OutageLayout::Cell;
        let mut controller = if cell_layout {
            let log = logs.join("controller.log");
            let mut c = ctx.controller(&log)?;
            // With cameras, the actor starts once they stream (it waits for the arm's state by itself).
            if opts.images && !wait_log(&mut c, &log, "camera streaming", Duration::from_secs(300)) {
                let _ = c.kill();
                bail!("the controller node did not start streaming its cameras; log tail:\n{}", tail(&log));
            }
            Some(c)
        } else {
            None
        };
        let mut actor = ctx.actor_on(&actor_dir, Some(steps), false, &out, cell_layout)?;
        let t0 = Instant::now();
        let (mut peak, mut peak_anon, mut at_10s, mut spool_peak) = (0.0f64, 0.0f64, None, 0.0f64);
        let mut learner: Option<Child> = None;
        let done = loop {
            if let Ok(Some(s)) = actor.try_wait() {
                break Some(s);
            }
            if let Some((r, anon)) = rss_mib(actor.id()) {
                peak = peak.max(r);
                peak_anon = peak_anon.max(anon);
                if at_10s.is_none() && t0.elapsed() >= Duration::from_secs(10) {
                    at_10s = Some(r);
                }
            }
            spool_peak = spool_peak.max(dir_mib(&spool));
            if learner.is_none() && t0.elapsed() >= opts.outage {
                println!(
                    "  learner back after {:.0} s; actor RSS peak so far {peak:.0} MiB, spool {spool_peak:.1} MiB",
                    t0.elapsed().as_secs_f64()
                );
                learner = Some(ctx.learner(&run_a, &logs.join("learner.log"))?);
            }
            if t0.elapsed() > opts.outage + Duration::from_secs(1800) {
                let _ = actor.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        let drain = t0.elapsed().saturating_sub(opts.outage);
        if let Some(mut l) = learner {
            sigint(&mut l);
            wait_exit(&mut l, Duration::from_secs(120));
        }
        if let Some(mut c) = controller.take() {
            sigint(&mut c);
            wait_exit(&mut c, Duration::from_secs(60));
        }
        let after = ctx.counts(&run_a)?;
        let (sent, stored, dups, lost) = delivery_row(actor_steps(&out).unwrap_or(0), &before, &after);
        rows.push((
            format!(
                "learner down {:.0} s, actor at {hz} Hz ({})",
                opts.outage.as_secs_f64(),
                if cell_layout {
                    "actor process of a real cell's layout: arm and cameras in a controller node"
                } else {
                    "actor stepping MuJoCo and rendering the cameras in its own process"
                }
            ),
            format!(
                "actor peak RSS {peak:.0} MiB ({} MiB at 10 s), of it anonymous (private) memory {peak_anon:.0} MiB at most; spool peak {spool_peak:.1} MiB; sent {sent}, stored {stored}, duplicated {dups}, lost {lost}; drained {:.0} s after the learner came back; actor {}",
                at_10s.map_or("-".into(), |r| format!("{r:.0}")),
                drain.as_secs_f64(),
                code(done)
            ),
        ));
        println!("  {}", rows.last().map(|r| r.1.as_str()).unwrap_or_default());
    }

    // 3. disk full
    if opts.scenarios.iter().any(|x| x == "disk") {
        println!("3/6: the learner's disk fills up ({} MiB tmpfs), then space is freed…", opts.disk_mib);
        let run_c = ctx.work.join("run-tmpfs");
        std::fs::create_dir_all(&run_c)?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={}m", opts.disk_mib), "tmpfs", &run_c.display().to_string()])
            .stderr(Stdio::piped())
            .output();
        match mounted {
            Ok(o) if o.status.success() => {
                let r = disk_full(&ctx, &run_c);
                let _ = Command::new("umount").arg("-l").arg(&run_c).status();
                let text = match r {
                    Ok(t) => t,
                    Err(e) => format!("failed: {e:#}"),
                };
                rows.push((format!("disk filled ({} MiB tmpfs)", opts.disk_mib), text));
            }
            Ok(o) => rows.push((
                "disk filled".into(),
                format!("skipped: cannot mount a tmpfs ({})", String::from_utf8_lossy(&o.stderr).trim()),
            )),
            Err(e) => rows.push(("disk filled".into(), format!("skipped: cannot run mount ({e})"))),
        }
        println!("  {}", rows.last().map(|r| r.1.as_str()).unwrap_or_default());
    }

    // 4. second learner
    if opts.scenarios.iter().any(|x| x == "second") {
        println!("4/6: a second learner on the same run directory…");
        let log = ctx.work.join("second-first.log");
        let mut first = ctx.learner(&run_a, &log)?;
        let text = if wait_log(&mut first, &log, "replay store opened", Duration::from_secs(300)) {
            let o =
                ctx.corrigo(&["learner", "--config", ctx.cfg(), "--run-dir", &run_a.display().to_string()]).output()?;
            let err = String::from_utf8_lossy(&o.stderr);
            let line = err
                .lines()
                .find(|l| l.contains("in use by"))
                .unwrap_or(err.lines().last().unwrap_or(""))
                .trim()
                .to_string();
            if o.status.success() { format!("NOT refused: {line}") } else { format!("refused ({}): {line}", o.status) }
        } else {
            format!("the first learner did not start: {}", tail(&log))
        };
        sigint(&mut first);
        wait_exit(&mut first, Duration::from_secs(120));
        rows.push(("second learner on the run directory".into(), text));
        println!("  {}", rows.last().map(|r| r.1.as_str()).unwrap_or_default());
    }

    // 5. flipped byte
    if opts.scenarios.iter().any(|x| x == "flip") {
        println!("5/6: one byte flipped in the middle of a closed replay segment…");
        rows.push(("byte flipped mid-segment".into(), flip(&ctx, &run_a)?));
        println!("  {}", rows.last().map(|r| r.1.as_str()).unwrap_or_default());
    }

    // 6. hostile peers
    if opts.scenarios.iter().any(|x| x == "hostile") {
        println!(
            "6/6: hostile peers on the bus (forged acks, transitions, weights, arm states, frames; a command flood)…"
        );
        let outage = Duration::from_secs_f64((opts.hostile_s / 4.0).clamp(5.0, 30.0));
        let text = hostile::run(&ctx, &run_a, opts.hostile_s, outage).unwrap_or_else(|e| format!("failed: {e:#}"));
        rows.push((format!("hostile peers, {:.0} s of acting (plain profile)", opts.hostile_s), text));
        println!("  {}", rows.last().map(|r| r.1.as_str()).unwrap_or_default());
    }

    println!("\n| fault | result |\n|---|---|");
    for (k, v) in &rows {
        println!("| {k} | {v} |");
    }
    Ok(())
}

fn disk_full(ctx: &Ctx, run: &Path) -> Result<String> {
    ctx.record_demos(run)?;
    let logs = ctx.work.join("logs-disk");
    std::fs::create_dir_all(&logs)?;
    let before = ctx.counts(run)?;
    let log = logs.join("learner.log");
    let mut learner = ctx.learner(run, &log)?;
    if !wait_log(&mut learner, &log, "learner running", Duration::from_secs(600)) {
        bail!("the learner did not start: {}", tail(&log));
    }
    let steps = (60.0 * ctx.cell.task.policy_hz) as u64;
    let out = logs.join("actor.out");
    let mut actor = ctx.actor(&ctx.work.join("actor-disk"), Some(steps), false, &out)?;
    std::thread::sleep(Duration::from_secs(10));
    let filler = run.join("filler");
    {
        let mut f = std::fs::File::create(&filler)?;
        let chunk = vec![0u8; 1 << 20];
        while f.write_all(&chunk).is_ok() {}
    }
    let filled = Instant::now();
    let paused = wait_log(&mut learner, &log, "cannot write the run directory", Duration::from_secs(120));
    let paused_after = filled.elapsed();
    std::thread::sleep(Duration::from_secs(10));
    std::fs::remove_file(&filler)?;
    let freed = Instant::now();
    let resumed = wait_log(&mut learner, &log, "works again", Duration::from_secs(120));
    let resumed_after = freed.elapsed();
    let a = wait_exit(&mut actor, Duration::from_secs(1200));
    sigint(&mut learner);
    let l = wait_exit(&mut learner, Duration::from_secs(120));
    let after = ctx.counts(run)?;
    let (sent, stored, dups, lost) = delivery_row(actor_steps(&out).unwrap_or(0), &before, &after);
    Ok(format!(
        "{}; {}; learner process not restarted ({}); sent {sent}, stored {stored}, duplicated {dups}, lost {lost}; actor {}",
        if paused {
            format!("learner paused {:.1} s after the disk filled", paused_after.as_secs_f64())
        } else {
            "NO pause seen".into()
        },
        if resumed {
            format!("resumed by itself {:.1} s after space was freed", resumed_after.as_secs_f64())
        } else {
            "did NOT resume".into()
        },
        code(l),
        code(a)
    ))
}

fn flip(ctx: &Ctx, run: &Path) -> Result<String> {
    let dir = run.join("replay").join("online");
    let mut segs: Vec<(PathBuf, u64)> = std::fs::read_dir(&dir)?
        .flatten()
        .filter_map(|e| e.metadata().ok().map(|m| (e.path(), m.len())))
        .filter(|(p, _)| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segs.sort();
    // The largest segment that is not the newest (closed).
    segs.pop();
    let Some((seg, _)) = segs.iter().max_by_key(|(_, n)| *n).cloned() else {
        return Ok("skipped: no closed online segment".into());
    };
    let before = ctx.counts(run)?.0;
    let mut bytes = std::fs::read(&seg)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&seg, &bytes)?;
    let spec = interfaces::env::obs_spec(&ctx.cell);
    let st = agent::replay::ReplayStore::open_read_only(run.join("replay"), &spec)?;
    let after = st.online_len();
    let skipped: u64 = st.recovery().online.skipped.iter().map(|s| s.2).sum();
    Ok(format!(
        "records lost {} of {before} (segment {} of {} bytes, {skipped} damaged bytes skipped, file kept)",
        before - after,
        seg.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default(),
        bytes.len()
    ))
}
