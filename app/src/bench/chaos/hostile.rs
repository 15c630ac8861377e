//! The `hostile` scenario of `corrigo bench chaos`: well-typed forged messages against a running two-process
//! cell (the simulated arm and its cameras in a `corrigo controller` process, the actor driving it over the bus
//! in its own, the learner in a third), in the plain profile, where every node on the network is trusted by the
//! bus itself and each node's own checks are all that stands between a forged message and the arm or the data.
//!
//! While the actor runs for a fixed number of steps, this process joins the cell's bus as an attacker and sends:
//! - **acknowledgements** for the actor's session (`upto = u64::MAX` and a plausible `upto` = the newest number it
//!   saw, from a learner session that does not exist; `u64::MAX` from the real learner's session, copied off its
//!   weights), many of them while the learner is still down (it starts after `outage`);
//! - **transitions**: the actor's own session with its next number (a hijack) and a non-finite reward, the same
//!   with finite values but another nonce, one of the wrong shape, non-finite actions, and a flood of
//!   valid-shaped "demonstrations" from a session of its own;
//! - **policy weights** with `version = u64::MAX`, one garbage (in the real learner's session) and one empty;
//! - **arm states** placing the arm at the workspace box's upper corner (100 Hz) and one stamped `u64::MAX` a second;
//! - **frames** for every camera: stamped `u64::MAX`, of the wrong byte length, and a corrupt JPEG declaring
//!   20 000 × 20 000 pixels;
//! - a **command flood**: three clients, each on its own session, sending `SetGains` (the config's own gains) at
//!   1 kHz each;
//! - and, every two seconds, an **e-stop** on `chaos-probe/estop`, timed from the put to the first arm state of the
//!   controller that says latched, then a reset once the latch has dwelt.
//!
//! It prints: the actor's transitions sent, stored, duplicated and lost; records stored from forged sessions and
//! how the demo buffer grew; the e-stop latency under the flood (p50, p99, max; target p99 ≤ 20 ms); and how many of
//! the actor's pose targets were built from a forged arm state (within one action step of the forged corner while the
//! real arm was further than a step and 5 cm from it).

use super::{Ctx, code, delivery_row, sigint, tail, wait_exit, wait_log};
use anyhow::{Context, Result, bail};
use bus::Bus;
use interfaces::keys::{ARM_STATE, ESTOP, FRAME, OPERATOR_COMMAND, POLICY_WEIGHTS, POSE_TARGET};
use interfaces::keys::{TRANSITION_ACK, TRANSITIONS};
use interfaces::msg::{ArmState, Command, Frame, Header, OperatorCommand, PixelEncoding, PoseTarget};
use interfaces::msg_training::{PolicyWeights, TransitionAck, TransitionMsg};
use interfaces::time::{Clock, MonotonicClock, Stamp};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Figures of the hostile scenario.
#[derive(Debug, Default)]
struct Tally {
    acks: AtomicU64,
    transitions: AtomicU64,
    weights: AtomicU64,
    arm_states: AtomicU64,
    frames: AtomicU64,
    commands: AtomicU64,
}

/// What the attacker learned by listening: the actor's session and newest transition.
#[derive(Default)]
struct Seen {
    transition: Option<TransitionMsg>,
    /// The learner's session, from its weights.
    learner: Option<String>,
}

fn dist(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// The quantile `q` of sorted `xs` (nearest rank).
fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let i = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1;
    xs[i]
}

/// Runs the scenario on run directory `run` (its demonstrations recorded); the actor acts for `seconds` at the
/// policy rate, the learner starts after `outage`. Returns the result line.
pub(super) fn run(ctx: &Ctx, run: &Path, seconds: f64, outage: Duration) -> Result<String> {
    let logs = ctx.work.join("logs-hostile");
    std::fs::create_dir_all(&logs)?;
    let images = ctx.cell.agent.use_images;
    let before = ctx.counts(run)?;
    let demo_before = demo_len(ctx, run)?;
    let clog = logs.join("controller.log");
    let mut controller = ctx.controller(&clog)?;
    if images && !wait_log(&mut controller, &clog, "camera streaming", Duration::from_secs(300)) {
        let _ = controller.kill();
        bail!("the controller node did not start streaming its cameras; log tail:\n{}", tail(&clog));
    }
    let steps = (seconds * ctx.cell.task.policy_hz).round() as u64;
    let out = logs.join("actor.out");
    let mut actor = ctx.actor_on(&ctx.work.join("actor-hostile"), Some(steps), false, &out, true)?;

    let cell = ctx.cell.cell.name.clone();
    let attacker = Bus::open(&ctx.cell.bus, &cell).context("the attacker's bus session")?;
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let corner = ctx.cell.workspace.max;
    let mut threads = Vec::new();

    // Listening: the actor's transitions (its session and numbers).
    {
        let sub = attacker.subscribe::<TransitionMsg>(TRANSITIONS, None)?;
        let weights = attacker.subscribe::<PolicyWeights>(POLICY_WEIGHTS, None)?;
        let (stop, seen) = (stop.clone(), seen.clone());
        threads.push(std::thread::Builder::new().name("hostile-listen".into()).spawn(move || {
            while !stop.load(Ordering::Acquire) {
                if let Some(t) = sub.recv_timeout(Duration::from_millis(100))
                    && !t.msg.actor.starts_with("intruder")
                    && let Ok(mut s) = seen.lock()
                {
                    s.transition = Some(t.msg);
                }
                while let Some(w) = weights.try_recv() {
                    if w.msg.version != u64::MAX
                        && let Ok(mut s) = seen.lock()
                    {
                        s.learner = Some(w.msg.learner);
                    }
                }
            }
        })?);
    }

    // Forged delivery messages: acknowledgements, transitions, weights, 10 rounds a second.
    {
        let acks = attacker.publisher::<TransitionAck>(TRANSITION_ACK, None)?;
        let trans = attacker.publisher::<TransitionMsg>(TRANSITIONS, None)?;
        let weights = attacker.publisher::<PolicyWeights>(POLICY_WEIGHTS, None)?;
        let (stop, seen, tally) = (stop.clone(), seen.clone(), tally.clone());
        threads.push(std::thread::Builder::new().name("hostile-delivery".into()).spawn(move || {
            let mut intruder_seq = 0u64;
            while !stop.load(Ordering::Acquire) {
                let (last, learner) =
                    seen.lock().map(|s| (s.transition.clone(), s.learner.clone())).unwrap_or_default();
                let session = last.as_ref().map_or_else(|| format!("{cell}/actor-0@0"), |t| t.actor.clone());
                let newest = last.as_ref().map_or(1, |t| t.header.seq);
                // From a learner session that does not exist: everything; from the real learner's session (copied
                // off its weights): only above what the actor sent (a plausible number from a copied session is the
                // plain profile's documented limit, closed by the secure profile's access control).
                let fake = "learner@1".to_string();
                let mut forged = vec![(fake.clone(), u64::MAX), (fake, newest)];
                if let Some(l) = &learner {
                    forged.push((l.clone(), u64::MAX));
                }
                for (learner, upto) in forged {
                    let ack = TransitionAck { header: Header::now(), actor: session.clone(), upto, learner };
                    if acks.publish_as_is(&ack).is_ok() {
                        tally.acks.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Some(t) = last {
                    let mut forged = Vec::new();
                    // The actor's session, its next number, a non-finite reward.
                    let mut hijack = t.clone();
                    hijack.header = Header { seq: newest + 1, ..Header::now() };
                    hijack.reward = f32::NAN;
                    forged.push(hijack);
                    // The actor's session and next number with finite values but another nonce (a sender that
                    // learned the session's name but not its nonce).
                    let mut claim = t.clone();
                    claim.header = Header { seq: newest + 1, ..Header::now() };
                    claim.nonce = t.nonce.wrapping_add(1).max(1);
                    forged.push(claim);
                    // The wrong shape.
                    let mut shape = t.clone();
                    shape.header = Header { seq: newest + 2, ..Header::now() };
                    shape.obs.proprio.push(0.0);
                    forged.push(shape);
                    // A flood of valid-shaped demonstrations from a session of the attacker's, one with infinite
                    // actions.
                    for i in 0..10 {
                        intruder_seq += 1;
                        let mut f = t.clone();
                        f.actor = "intruder@1".into();
                        f.header = Header { seq: intruder_seq, ..Header::now() };
                        f.demo = true;
                        f.reward = 1.0;
                        if i == 0 {
                            f.action.iter_mut().for_each(|a| *a = f32::INFINITY);
                        }
                        forged.push(f);
                    }
                    for f in &forged {
                        if trans.publish_as_is(f).is_ok() {
                            tally.transitions.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                // Versions that would pin the actor, in the real learner's session (copied) and in a made-up one;
                // blobs that do not load.
                let sessions = [learner.clone().unwrap_or_else(|| "learner@1".into()), "learner@2".into()];
                for (blob, learner) in [b"not a safetensors file".to_vec(), Vec::new()].into_iter().zip(sessions) {
                    let w = PolicyWeights {
                        header: Header::now(),
                        version: u64::MAX,
                        updates: u64::MAX,
                        safetensors: blob,
                        learner,
                    };
                    if weights.publish_as_is(&w).is_ok() {
                        tally.weights.fetch_add(1, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })?);
    }

    // Forged arm states (100 Hz, the workspace box's upper corner; one a second stamped u64::MAX) and frames
    // (10 Hz per camera: u64::MAX stamp, wrong length, corrupt oversized JPEG).
    {
        let states = attacker.publisher::<ArmState>(ARM_STATE, None)?;
        let states_in = attacker.subscribe::<ArmState>(ARM_STATE, None)?;
        let cams: Vec<(String, u32, u32)> =
            ctx.cell.cameras.iter().map(|c| (c.name.clone(), c.width, c.height)).collect();
        let mut frames = Vec::new();
        for (name, w, h) in &cams {
            frames.push((attacker.publisher::<Frame>(FRAME, Some(name))?, name.clone(), *w, *h));
        }
        let (stop, tally) = (stop.clone(), tally.clone());
        threads.push(std::thread::Builder::new().name("hostile-cell".into()).spawn(move || {
            let mut template: Option<ArmState> = None;
            let mut i = 0u64;
            while !stop.load(Ordering::Acquire) {
                while let Some(s) = states_in.try_recv() {
                    if s.msg.ee_pose.position != corner {
                        template = Some(s.msg);
                    }
                }
                if let Some(t) = &template {
                    let mut s = t.clone();
                    s.ee_pose.position = corner;
                    s.pose_target.position = corner;
                    s.header = Header::now();
                    if i % 100 == 99 {
                        s.header.stamp_ns = Stamp(u64::MAX);
                    }
                    if states.publish_as_is(&s).is_ok() {
                        tally.arm_states.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if i.is_multiple_of(10) {
                    for (p, name, w, h) in &frames {
                        let rgb = (*w as usize) * (*h as usize) * 3;
                        let base = Frame {
                            header: Header::now(),
                            camera: name.clone(),
                            width: *w,
                            height: *h,
                            encoding: PixelEncoding::Rgb8,
                            data: vec![255; rgb],
                        };
                        let pinned =
                            Frame { header: Header { stamp_ns: Stamp(u64::MAX), ..base.header }, ..base.clone() };
                        let short = Frame { data: vec![0; rgb / 2], ..base.clone() };
                        let jpeg = Frame {
                            width: 20_000,
                            height: 20_000,
                            encoding: PixelEncoding::Jpeg,
                            // A JPEG start-of-image, a baseline start-of-frame declaring 20 000 × 20 000, then noise.
                            data: [
                                &[0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x4E, 0x20, 0x4E, 0x20, 0x03][..],
                                &[0x5A; 64][..],
                            ]
                            .concat(),
                            ..base
                        };
                        for f in [pinned, short, jpeg] {
                            if p.publish_as_is(&f).is_ok() {
                                tally.frames.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
        })?);
    }

    // The command flood: three clients on sessions of their own.
    let flood_hz = 1000.0;
    for n in 0..3 {
        let b = Bus::open(&ctx.cell.bus, &ctx.cell.cell.name).context("a flooding client's bus session")?;
        let gains = ctx.cell.controller.gains;
        let (stop, tally) = (stop.clone(), tally.clone());
        threads.push(std::thread::Builder::new().name(format!("hostile-flood-{n}")).spawn(move || {
            let Ok(mut p) = b.publisher::<OperatorCommand>(OPERATOR_COMMAND, None) else { return };
            let period = Duration::from_secs_f64(1.0 / flood_hz);
            let mut next = Instant::now();
            while !stop.load(Ordering::Acquire) {
                let mut c = OperatorCommand { header: Header::now(), command: Command::SetGains(gains) };
                if p.publish(&mut c).is_ok() {
                    tally.commands.fetch_add(1, Ordering::Relaxed);
                }
                next += period;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
            drop(b);
        })?);
    }

    // Steering: the actor's pose targets against the real arm's pose and the forged corner.
    let steered = Arc::new(AtomicU64::new(0));
    let targets_seen = Arc::new(AtomicU64::new(0));
    {
        let targets = attacker.subscribe::<PoseTarget>(POSE_TARGET, None)?;
        let states = attacker.subscribe::<ArmState>(ARM_STATE, None)?;
        let (stop, steered, targets_seen) = (stop.clone(), steered.clone(), targets_seen.clone());
        // The farthest one action moves the TCP target from the arm's pose.
        let reach = ctx.cell.task.action_scale_m * 3f64.sqrt();
        threads.push(std::thread::Builder::new().name("hostile-watch".into()).spawn(move || {
            let mut real: Option<[f64; 3]> = None;
            while !stop.load(Ordering::Acquire) {
                while let Some(s) = states.try_recv() {
                    if s.msg.ee_pose.position != corner {
                        real = Some(s.msg.ee_pose.position);
                    }
                }
                if let Some(t) = targets.recv_timeout(Duration::from_millis(20)) {
                    targets_seen.fetch_add(1, Ordering::Relaxed);
                    let p = t.msg.pose.position;
                    // A target built from the forged state lies within one action step of the forged corner; the
                    // real arm, further than a step (and 5 cm) from it, could not have produced it.
                    if let Some(r) = real
                        && dist(&r, &corner) > reach + 0.05
                        && dist(&p, &corner) <= reach + 0.01
                    {
                        steered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })?);
    }

    // The learner comes up after the outage; meanwhile and after, the e-stop probe runs every two seconds.
    let probe_states = attacker.subscribe::<ArmState>(ARM_STATE, None)?;
    let mut estop_pub = attacker.publisher::<OperatorCommand>(ESTOP, Some("chaos-probe"))?;
    let mut reset_pub = attacker.publisher::<OperatorCommand>(OPERATOR_COMMAND, None)?;
    let clock = MonotonicClock;
    let t0 = Instant::now();
    let mut learner = None;
    let mut latencies_ms: Vec<f64> = Vec::new();
    let (mut not_latched, mut not_reset) = (0u32, 0u32);
    let llog = logs.join("learner.log");
    println!(
        "  the actor acts {steps} steps; the learner starts after {:.0} s; attacks running…",
        outage.as_secs_f64()
    );
    let actor_done = loop {
        if let Ok(Some(s)) = actor.try_wait() {
            break Some(s);
        }
        if learner.is_none() && t0.elapsed() >= outage {
            learner = Some(ctx.learner(run, &llog)?);
        }
        if t0.elapsed() > Duration::from_secs_f64(seconds * 4.0 + 1200.0) {
            let _ = actor.kill();
            break None;
        }
        std::thread::sleep(Duration::from_secs(2));
        // The e-stop probe (only once the controller publishes its state).
        while probe_states.try_recv().is_some() {}
        let sent = clock.now();
        let mut c = OperatorCommand { header: Header::now(), command: Command::EStop };
        estop_pub.publish(&mut c)?;
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut latched = None;
        while Instant::now() < deadline {
            if let Some(s) = probe_states.recv_timeout(Duration::from_millis(50))
                && s.msg.ee_pose.position != corner
                && s.msg.estop
            {
                latched = Some(s.received);
                break;
            }
        }
        match latched {
            Some(at) => latencies_ms.push(at.0.saturating_sub(sent.0) as f64 / 1e6),
            None => not_latched += 1,
        }
        // Reset once the latch has dwelt; repeated until the controller says unlatched (the flood shares the key).
        std::thread::sleep(Duration::from_millis(1000));
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut cleared = false;
        while Instant::now() < deadline && !cleared {
            let mut r = OperatorCommand { header: Header::now(), command: Command::ResetEStop };
            reset_pub.publish(&mut r)?;
            let until = Instant::now() + Duration::from_millis(300);
            while Instant::now() < until {
                if let Some(s) = probe_states.recv_timeout(Duration::from_millis(50))
                    && s.msg.ee_pose.position != corner
                    && !s.msg.estop
                {
                    cleared = true;
                    break;
                }
            }
        }
        if !cleared {
            not_reset += 1;
        }
    };
    stop.store(true, Ordering::Release);
    for t in threads {
        let _ = t.join();
    }
    drop(attacker);
    let learner_exit = match learner {
        Some(mut l) => {
            sigint(&mut l);
            code(wait_exit(&mut l, Duration::from_secs(120)))
        }
        None => "never started".into(),
    };
    sigint(&mut controller);
    wait_exit(&mut controller, Duration::from_secs(60));
    let after = ctx.counts(run)?;
    let sent_line = super::actor_steps(&out);
    let sent = sent_line.unwrap_or(0);
    let real_sessions: Vec<&String> =
        after.2.keys().filter(|s| !before.2.contains_key(*s) && !s.starts_with("intruder")).collect();
    let real_stored: u64 = real_sessions.iter().filter_map(|s| after.2.get(*s)).sum();
    let (_, stored_all, dups, _) = delivery_row(sent, &before, &after);
    let forged_stored = stored_all.saturating_sub(real_stored);
    let demo_grew = demo_len(ctx, run)?.saturating_sub(demo_before);
    latencies_ms.sort_by(f64::total_cmp);
    let p99 = quantile(&latencies_ms, 0.99);
    Ok(format!(
        "{}sent {sent}, stored {real_stored}, duplicated {dups}, lost {}; records of forged sessions stored {forged_stored}, demo buffer grew by {demo_grew}; \
         e-stop latency under a {:.0}/s SetGains flood ({} probes): p50 {:.1} ms, p99 {:.1} ms ({}), max {:.1} ms, {not_latched} never latched within 2 s, {not_reset} not reset within 5 s; \
         actor pose targets built from a forged arm state {} of {}; forged: {} acks, {} transitions, {} weights, {} arm states, {} frames, {} commands; actor {}, learner {learner_exit}",
        if sent_line.is_none() {
            format!("the actor printed no summary (it failed; its log: {}); ", out.with_extension("err").display())
        } else {
            String::new()
        },
        sent as i64 - real_stored as i64,
        3.0 * flood_hz,
        latencies_ms.len(),
        quantile(&latencies_ms, 0.5),
        p99,
        if p99 <= 20.0 { "target ≤ 20 ms met" } else { "target ≤ 20 ms NOT met" },
        latencies_ms.last().copied().unwrap_or(f64::NAN),
        steered.load(Ordering::Relaxed),
        targets_seen.load(Ordering::Relaxed),
        tally.acks.load(Ordering::Relaxed),
        tally.transitions.load(Ordering::Relaxed),
        tally.weights.load(Ordering::Relaxed),
        tally.arm_states.load(Ordering::Relaxed),
        tally.frames.load(Ordering::Relaxed),
        tally.commands.load(Ordering::Relaxed),
        code(actor_done),
    ))
}

fn demo_len(ctx: &Ctx, run: &Path) -> Result<usize> {
    let spec = interfaces::env::obs_spec(&ctx.cell);
    Ok(agent::replay::ReplayStore::open_read_only(run.join("replay"), &spec)?.demo_len())
}
