//! The actor node (`corrigo actor`, and a thread of `corrigo run`): runs the newest policy it has received in
//! an environment, streams every transition to the learner and reports every episode.
//!
//! The environment is any [`CellEnv`]: the simulated cell stepped in this process (`sim::SimEnv`: fast,
//! deterministic, the default for training in the simulator), or the environment over the bus (in the `corrigo`
//! binary) that drives a cell whose controller and cameras are other nodes: a real arm under `corrigo controller`,
//! or the simulated cell under `corrigo controller` with a `sim` driver.
//!
//! Delivery: each transition is numbered and written to the actor's spool on disk
//! ([`crate::delivery::Spool`], `spool_dir`) before it is sent, and stays there until the learner acknowledges
//! it (`learner/ack`); unacknowledged transitions are resent oldest first, a window at a time, with a doubling
//! wait while no acknowledgement comes, so a learner restart, a long outage or a disconnect loses nothing (the
//! learner drops numbers it already stored), and an actor restarted on the same spool resends what it holds.
//! RAM holds an index only. When the spool reaches `[actor] spool_mib`, or cannot be written (disk full), the
//! actor pauses acting and says so on `event` (the panel, the log) until it can go on; nothing is dropped.
//!
//! **Trusts what comes back only from its learner** ([`crate::node::acting_policy`],
//! [`crate::delivery::LearnerLink`]): the actor follows one learner session (named in its weights and
//! acknowledgements; a restarted learner is followed once the old session has been silent for 5 s and the new
//! one's weights loaded). Acknowledgements of any other session, or of numbers above what the spool has sent,
//! release nothing; weights of another session or of an implausible version (`u64::MAX`) are refused; weights are
//! loaded into a new policy and swapped in only once they loaded whole and act finitely, so a corrupt blob leaves
//! the previous policy acting. Every refusal is counted ([`ActorSummary`]) and said (the first and every 100th).
//! Every session carries a random nonce the learner binds it to; a step with a non-finite reward, action or
//! proprio value is not sent (counted and said), the learner would refuse it.
//!
//! Operator commands ([`crate::node::commands`]: `operator/command`; `teleop/episode`, which carries a teleop
//! device's `Label`/`StartEpisode`/`StopEpisode`/`ResetEpisode` only; and every node's `<node>/estop`, which
//! carries `EStop` only; in order of arrival across the keys): `EStop` latches the controller's e-stop and pauses
//! the episode; `ResetEStop` clears it and starts a new episode; `StopEpisode`/`ResetEpisode` end the episode;
//! `Label(bool)` overrides the success label of the current episode; `SetGains` changes the impedance gains
//! (validated; rejected gains are reported). A command a key may not carry is refused, counted
//! ([`ActorSummary::commands_refused`]) and said (the first and every 100th). The e-stop keys matter to an
//! environment in this process (the simulated cell of `corrigo run`); a cell over the bus has its controller
//! listen to them itself.
//!
//! Interventions: the newest `teleop/command` (from `corrigo teleop`, the panel's virtual joystick, or any bus
//! client) goes through [`teleop::InterventionArbiter`] every step. When the human takes over, the human's action
//! is executed and stored, the transition is flagged (the learner stores it in the online **and** the demo
//! buffer), and the episode report carries the episode's interventions and intervention steps. Teleop commands
//! are judged by the time this process received them, so the device may sit on another machine.

use crate::delivery::{Spool, SpoolOptions, session_nonce, session_of};
use crate::node::acting_policy::{ActingPolicy, WeightsOutcome};
use crate::node::commands::CommandInbox;
use crate::node::wire;
use crate::replay::Transition;
use crate::train::trainer::random_action;
use anyhow::{Context, Result};
use bus::Bus;
use interfaces::CellConfig;
use interfaces::Clock;
use interfaces::env::CellEnv;
use interfaces::keys::{ARM_STATE, EPISODES, EVENT, POLICY_WEIGHTS, TELEOP_COMMAND, TRANSITION_ACK, TRANSITIONS};
use interfaces::msg::{ArmState, Command, Event, Header, Level, TeleopCommand};
use interfaces::msg_training::{EpisodeReport, PolicyWeights, TransitionAck, TransitionMsg};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use teleop::{ArbiterConfig, InterventionArbiter, TeleopInput};

/// Settings of the actor.
#[derive(Debug, Clone)]
pub struct ActorOptions {
    /// Identity on the bus (several actors may feed one learner).
    pub actor_id: String,
    /// Seed of the episodes and the exploration.
    pub seed: u64,
    /// Pace the loop at the policy rate (for an environment that runs as fast as the CPU allows, to see it at a
    /// real cell's pace); an environment over the bus is paced by its controller and needs no pacing here.
    pub pace: bool,
    /// Stop after this many environment steps (`None`: until stopped).
    pub max_steps: Option<u64>,
    /// The spool's directory (one actor at a time; `<run dir>/spool/<actor id>` by convention).
    pub spool_dir: std::path::PathBuf,
    /// The spool's cap and resend pacing ([`SpoolOptions::from_config`] of `[actor]`).
    pub spool: SpoolOptions,
    /// Act randomly for this many steps when no weights have arrived yet.
    pub random_steps: u64,
    /// At the end, wait at most this long for the learner to acknowledge what is in flight (what is not stays in
    /// the spool for the next start).
    pub final_ack_wait: Duration,
}

/// What the actor did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActorSummary {
    /// Environment steps (transitions produced).
    pub steps: u64,
    /// Episodes finished.
    pub episodes: u64,
    /// Successful episodes.
    pub successes: u64,
    /// Transitions the learner acknowledged.
    pub acked: u64,
    /// Transitions sent more than once.
    pub resent: u64,
    /// Transitions still unacknowledged in the spool when the actor stopped (resent on its next start).
    pub spooled: u64,
    /// Steps whose executed action was (partly) the human's.
    pub intervention_steps: u64,
    /// Newest weights version received.
    pub policy_version: u64,
    /// Acknowledgements refused: of another learner session, or above what was sent.
    pub acks_refused: u64,
    /// Weights refused (another learner session, an implausible version) or that did not load whole.
    pub weights_refused: u64,
    /// Steps not sent because a reward, action or proprio value was not finite.
    pub non_finite_steps: u64,
    /// Commands refused because their key may not carry them ([`crate::node::commands`]).
    pub commands_refused: u64,
}

/// Runs the actor in `env` until `stop` is set or `max_steps` is reached and every transition is acknowledged
/// (waiting at most `final_ack_wait` for the acknowledgements at the end).
pub fn run(
    bus: &Bus,
    cfg: &CellConfig,
    opts: &ActorOptions,
    stop: Arc<AtomicBool>,
    env: &mut dyn CellEnv,
) -> Result<ActorSummary> {
    let spec = env.spec().clone();
    let device = tch::Device::Cpu;
    let mut acting = ActingPolicy::new(&cfg.agent, &spec, device)?;
    let _token = bus.announce("actor")?;
    let weights = bus.subscribe::<PolicyWeights>(POLICY_WEIGHTS, None)?;
    let acks = bus.subscribe::<TransitionAck>(TRANSITION_ACK, None)?;
    let commands = CommandInbox::open(bus)?;
    let teleop_sub = bus.subscribe::<TeleopCommand>(TELEOP_COMMAND, None)?;
    let mut arbiter = InterventionArbiter::new(ArbiterConfig::new(&cfg.teleop, &cfg.task));
    let mut human: Option<(TeleopCommand, interfaces::Stamp)> = None;
    let clock = interfaces::MonotonicClock;
    let out = bus.publisher::<TransitionMsg>(TRANSITIONS, None)?;
    let mut episodes_pub = bus.publisher::<EpisodeReport>(EPISODES, None)?;
    let mut state_pub = bus.publisher::<ArmState>(ARM_STATE, None)?;
    let mut events = bus.publisher::<Event>(EVENT, Some("actor"))?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0xac7);
    let (mut spool, recovered) =
        Spool::open(&opts.spool_dir, &session_of(&format!("{}/{}", bus.cell(), opts.actor_id)), opts.spool.clone())
            .with_context(|| format!("opening the actor's spool {}", opts.spool_dir.display()))?;
    let nonce = session_nonce();
    let mut summary = ActorSummary::default();
    let mut version = 0u64;
    let mut weights_said = 0u64;
    let mut acks_said = 0u64;
    let period = Duration::from_secs_f64(1.0 / cfg.task.policy_hz);
    let mut episode = 0u64;
    let mut report = |level: Level, text: String| {
        match level {
            Level::Error => tracing::error!("{text}"),
            Level::Warn => tracing::warn!("{text}"),
            Level::Info => tracing::info!("{text}"),
        }
        let mut e = Event { header: Header::now(), node: "actor".into(), level, text };
        let _ = events.publish(&mut e);
    };
    if recovered.transitions > 0 {
        report(
            Level::Info,
            format!(
                "resending {} unacknowledged transitions found in the spool {}",
                recovered.transitions,
                opts.spool_dir.display()
            ),
        );
    }
    // Why acting is paused, if it is (reported once when it starts and once when it ends).
    let mut paused: Option<String> = None;
    let mut unspooled: Option<Vec<u8>> = None;
    let mut last_retry = Instant::now();
    let mut stall_reported = false;
    // The newest observation (the new weights must act finitely on it), for weights arriving after the last step.
    let mut last_obs: Option<crate::replay::Observation> = None;
    'episodes: while !stop.load(Ordering::Acquire) && opts.max_steps.is_none_or(|m| summary.steps < m) {
        let (mut obs, mut stamp) = env.reset().context("resetting the environment")?;
        episode = episode.max(env.episodes()) + (opts.seed << 32);
        let (mut ret, mut len, mut label) = (0.0f64, 0u64, None::<bool>);
        let mut success = false;
        let mut cycle_total = 0.0;
        loop {
            let tick = Instant::now();
            if let Some(w) = weights.latest() {
                match acting.offer(tick, &w.msg, &obs) {
                    WeightsOutcome::Applied(v) => version = v,
                    WeightsOutcome::Current => {}
                    refused => {
                        weights_said += 1;
                        if weights_said == 1 || weights_said.is_multiple_of(100) {
                            let level =
                                if matches!(refused, WeightsOutcome::Failed(_)) { Level::Error } else { Level::Warn };
                            report(
                                level,
                                format!(
                                    "weights v{} of learner session {:?} refused ({refused:?}); the policy of v{version} \
                                     acts on ({weights_said} refused so far)",
                                    w.msg.version, w.msg.learner
                                ),
                            );
                        }
                    }
                }
            }
            let now = Instant::now();
            while let Some(a) = acks.try_recv() {
                match take_ack(&mut acting, &mut spool, now, &a.msg)? {
                    Some(0) => {}
                    Some(_) => stall_reported = false,
                    None => {
                        acks_said += 1;
                        if acks_said == 1 || acks_said.is_multiple_of(100) {
                            report(
                                Level::Warn,
                                format!(
                                    "acknowledgement of {} up to {} from learner session {:?} refused: {}; nothing \
                                     released ({acks_said} refused so far)",
                                    a.msg.actor,
                                    a.msg.upto,
                                    a.msg.learner,
                                    match acting.learner() {
                                        Some(l) if l == a.msg.learner => "above what was sent".to_string(),
                                        Some(l) => format!("not the learner session followed ({l:?})"),
                                        None => "no learner's weights loaded yet".to_string(),
                                    }
                                ),
                            );
                        }
                    }
                }
            }
            let mut end_episode = false;
            let drained = commands.drain();
            for r in drained.refused {
                if let Some(text) = r.count_and_report(&mut summary.commands_refused) {
                    report(Level::Warn, text);
                }
            }
            for c in drained.commands {
                match c {
                    Command::EStop => env.estop(),
                    Command::ResetEStop => {
                        env.reset_estop();
                        end_episode = true;
                    }
                    Command::StopEpisode | Command::ResetEpisode => end_episode = true,
                    Command::Label(b) => label = Some(b),
                    Command::SetGains(g) => {
                        if let Err(e) = env.set_gains(g) {
                            report(Level::Error, format!("gains rejected, the old gains stay: {e}"));
                        }
                    }
                    Command::StartEpisode => {}
                }
            }
            send_due(&mut spool, &out)?;
            if let Err(e) = spool.maintain(now) {
                report(Level::Warn, format!("spool: {e} ({})", crate::disk::free_text(spool.dir())));
            }
            let waiting = spool.waiting_for(now);
            if !stall_reported && waiting > Duration::from_secs(10) {
                stall_reported = true;
                report(
                    Level::Warn,
                    format!(
                        "no acknowledgement from the learner for {:.0} s: {} transitions ({:.1} MiB) kept in the spool {}, resent every {:.0} s or less",
                        waiting.as_secs_f64(),
                        spool.len(),
                        spool.disk_bytes() as f64 / (1u64 << 20) as f64,
                        spool.dir().display(),
                        spool.backoff().as_secs_f64()
                    ),
                );
            }
            // A transition the spool could not take (disk full) is retried each second; acting waits.
            if let Some(bytes) = unspooled.take() {
                if last_retry.elapsed() < Duration::from_secs(1) {
                    unspooled = Some(bytes);
                } else {
                    last_retry = Instant::now();
                    match spool.push(now, &bytes) {
                        Ok(send_now) => {
                            if send_now {
                                out.put_raw(bytes).context("sending a transition")?;
                            }
                        }
                        Err(_) => unspooled = Some(bytes),
                    }
                }
            }
            let why = if unspooled.is_some() {
                Some(format!(
                    "the spool {} cannot be written ({}): acting paused until it can",
                    spool.dir().display(),
                    crate::disk::free_text(spool.dir())
                ))
            } else if spool.is_full() {
                Some(format!(
                    "the spool {} is full ({:.0} MiB, [actor] spool_mib): acting paused until the learner acknowledges",
                    spool.dir().display(),
                    spool.disk_bytes() as f64 / (1u64 << 20) as f64
                ))
            } else {
                None
            };
            match (&paused, why) {
                (None, Some(w)) => {
                    report(Level::Error, w.clone());
                    paused = Some(w);
                }
                (Some(_), None) => {
                    report(Level::Info, "the spool takes transitions again: acting resumes".into());
                    paused = None;
                }
                _ => {}
            }
            if stop.load(Ordering::Acquire) || opts.max_steps.is_some_and(|m| summary.steps >= m) {
                last_obs = Some(obs);
                break 'episodes;
            }
            if paused.is_some() || env.estopped() {
                std::thread::sleep(Duration::from_millis(10));
                if env.estopped()
                    && let Some(mut s) = env.arm_state_to_publish()
                {
                    state_pub.publish(&mut s)?;
                }
                continue;
            }
            if end_episode {
                break;
            }
            let proposed = if version == 0 && summary.steps < opts.random_steps {
                random_action(spec.action_dim, &mut rng)
            } else {
                acting.policy().act(&obs, false)?
            };
            if let Some(mut c) = teleop_sub.latest() {
                if !spec.gripper {
                    c.msg.gripper_close = None; // a task without a gripper: gripper buttons are no intervention
                }
                human = Some((c.msg, c.received));
            }
            let input = human.as_ref().map(|(command, stamp)| TeleopInput { command, stamp: *stamp });
            let decision = arbiter.arbitrate(clock.now(), &proposed, input);
            let action = decision.executed;
            let s = env.step(&action).context("stepping the environment")?;
            let mut t = Transition::from_step(&obs, stamp, action, &s, episode);
            t.intervention = decision.intervention;
            summary.intervention_steps += u64::from(decision.intervention);
            if let Some(field) = crate::delivery::intake::non_finite(&t) {
                // Not numbered, not sent: the learner would refuse it, and its session would wait for it forever.
                summary.non_finite_steps += 1;
                if summary.non_finite_steps == 1 || summary.non_finite_steps.is_multiple_of(100) {
                    report(
                        Level::Warn,
                        format!(
                            "a step with a non-finite {field} not sent to the learner ({} so far)",
                            summary.non_finite_steps
                        ),
                    );
                }
            } else {
                let mut m = wire::to_msg(&t, spool.session(), spool.next_seq(), false);
                m.nonce = nonce;
                let bytes = bus::encode(&m).map_err(|e| anyhow::anyhow!("encoding a transition: {e}"))?;
                match spool.push(Instant::now(), &bytes) {
                    Ok(true) => out.put_raw(bytes).context("sending a transition")?,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!("{e}");
                        last_retry = Instant::now();
                        unspooled = Some(bytes);
                    }
                }
            }
            summary.steps += 1;
            ret += f64::from(s.reward);
            len += 1;
            success |= s.success;
            if let Some(mut st) = env.arm_state_to_publish() {
                state_pub.publish(&mut st)?;
            }
            obs = s.obs;
            stamp = s.stamp_ns;
            cycle_total += tick.elapsed().as_secs_f64();
            if opts.pace {
                let el = tick.elapsed();
                if el < period {
                    std::thread::sleep(period - el);
                }
            }
            if s.done || s.truncated {
                break;
            }
        }
        last_obs = Some(obs);
        summary.episodes += 1;
        let stats = arbiter.end_episode();
        let ok = label.unwrap_or(success);
        summary.successes += u64::from(ok);
        let mut r = EpisodeReport {
            header: Header::now(),
            episode,
            episode_return: ret,
            success: ok,
            length: len,
            interventions: stats.interventions,
            intervention_steps: stats.intervention_steps,
            policy_version: version,
            cycle_ms: 1000.0 * cycle_total / len.max(1) as f64,
            eval: false,
        };
        episodes_pub.publish(&mut r)?;
    }
    // Wait for the learner to acknowledge what is still in flight (what is not stays in the spool).
    let deadline = Instant::now() + opts.final_ack_wait;
    while !spool.is_empty() && Instant::now() < deadline {
        if let Some(w) = weights.latest()
            && let Some(obs) = last_obs.as_ref()
            && let WeightsOutcome::Applied(v) = acting.offer(Instant::now(), &w.msg, obs)
        {
            // A learner restarted meanwhile: follow it, so that its acknowledgements count.
            version = v;
        }
        if let Some(a) = acks.recv_timeout(Duration::from_millis(200)) {
            take_ack(&mut acting, &mut spool, Instant::now(), &a.msg)?;
        }
        send_due(&mut spool, &out)?;
    }
    spool.sync()?;
    summary.acked = spool.acked();
    summary.resent = spool.resent();
    summary.spooled = spool.len() as u64;
    summary.policy_version = version;
    let (link, failed) = acting.counts();
    summary.acks_refused = link.acks_refused + spool.refused_acks();
    summary.weights_refused = link.weights_refused + failed;
    if summary.acks_refused + summary.weights_refused > 0 {
        tracing::warn!(
            acks = summary.acks_refused,
            weights = summary.weights_refused,
            "acknowledgements and weights refused in this run"
        );
    }
    Ok(summary)
}

/// Applies acknowledgement `a` to the spool if it is for this spool and from the learner followed: `Some(n)`
/// transitions released (0 for another actor's session or a repeat), `None` when it was refused (another
/// learner session, or numbers above what was sent).
fn take_ack(acting: &mut ActingPolicy, spool: &mut Spool, now: Instant, a: &TransitionAck) -> Result<Option<usize>> {
    if spool.sent(&a.actor) == 0 {
        // Another actor's session (the learner re-announces every session's mark), or nothing sent yet.
        return Ok(Some(0));
    }
    if !acting.admits_ack(&a.learner) {
        return Ok(None);
    }
    let refused = spool.refused_acks();
    let n = spool.ack(now, &a.actor, a.upto)?;
    Ok((spool.refused_acks() == refused).then_some(n))
}

/// Sends what the spool says is due: unsent transitions the window has room for, or a resend round.
fn send_due(spool: &mut Spool, out: &bus::Publisher<TransitionMsg>) -> Result<()> {
    spool.send_due(Instant::now(), &mut |bytes| out.put_raw(bytes).context("sending a transition"))?;
    Ok(())
}
