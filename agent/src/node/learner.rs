//! The learner node (`corrigo learner`, and a thread of `corrigo run`): the headless training daemon.
//!
//! It stores every transition that arrives on `actor/transitions` in the replay store (demonstrations in the demo
//! buffer, interventions in both), acknowledges them once flushed (`learner/ack`), trains SAC with RLPD, publishes
//! policy weights every `agent.publish_every` updates (`learner/weights`, versioned) and metrics
//! (`learner/metrics`), and checkpoints every `agent.checkpoint_every` updates and when it stops (SIGINT/SIGTERM).
//! After a crash or restart it resumes from the store and the checkpoint; the per-actor acknowledgement marks are
//! kept in `acks.json` so that transitions resent by an actor are stored once. Per actor session, only the
//! contiguous sequence is stored (go-back-N): a transition past a gap waits for the actor's in-order resend, so an
//! acknowledgement never covers a transition that is not on disk.
//!
//! **A write that fails** (disk full, EIO) never ends the learner: it stops storing and acknowledging new
//! transitions (the actors keep them in their spools and resend them later), says so once on `event` and in the
//! log with the file and the free space, keeps training on what it holds in memory (records not yet written
//! stay pending), retries every two seconds, and resumes by itself once writing works again (saying so). A
//! failed write leaves no torn record behind: the segment is cut back to its last good length.

use crate::delivery::{Inbox, Receipt};
use crate::node::wire;
use crate::replay::{ReplayStore, StoreOptions};
use crate::sac::Learner;
use crate::train::eval::SuccessRate;
use anyhow::{Context, Result};
use bus::Bus;
use interfaces::CellConfig;
use interfaces::env::ObsSpec;
use interfaces::keys::{EPISODES, EVENT, LEARNER_METRICS, POLICY_WEIGHTS, TRANSITION_ACK, TRANSITIONS};
use interfaces::msg::{Event, Header, LearnerMetrics, Level};
use interfaces::msg_training::{EpisodeReport, PolicyWeights, TransitionAck, TransitionMsg};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Settings of the learner node.
#[derive(Debug, Clone)]
pub struct LearnerOptions {
    /// Run directory (`replay/`, `checkpoint.safetensors`, `acks.json`).
    pub run_dir: PathBuf,
    /// Most update cycles per stored online transition (keeps a shared CPU for the actor).
    pub max_updates_per_transition: f64,
    /// Stop after this many update cycles (`None`: run until stopped).
    pub max_updates: Option<u64>,
    /// Print a progress line every this often (`None`: no progress line).
    pub progress_every: Option<Duration>,
    /// Progress as JSON lines instead of text.
    pub json: bool,
}

/// What the learner did, returned when it stops.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearnerSummary {
    /// Transitions stored in this run (duplicates excluded).
    pub stored: u64,
    /// Duplicate transitions dropped.
    pub duplicates: u64,
    /// Transitions that arrived ahead of a gap and were left for the actor to resend in order.
    pub out_of_order: u64,
    /// Update cycles in total (including before a resume).
    pub updates: u64,
    /// Weights versions published in total.
    pub version: u64,
    /// Times writing failed (disk full, I/O) and the learner stopped acknowledging until it worked again.
    pub storage_faults: u64,
}

/// The learner's state while its run directory cannot be written.
#[derive(Debug)]
struct StorageFault {
    since: Instant,
    last_try: Instant,
}

/// True for an error of writing the run directory (a fault the learner waits out), false for anything else.
fn is_write_error(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<crate::AgentError>(), Some(crate::AgentError::Io { .. }))
}

/// Acknowledged means durable, in this order: (1) the store is flushed (records written and fsynced), (2) the
/// pending numbers become marks and `acks.json` is saved (file and directory fsynced), (3) only then are the
/// acknowledgements published. An acknowledged transition is therefore on disk, and so is the mark that makes a
/// resent copy a duplicate. Records made durable without a saved mark (a crash between (1) and (2), or a flush
/// the store did on its own) are not stored twice either: every record keeps the session and number it arrived
/// with, and a starting learner raises its marks to the highest numbers its store holds
/// ([`Inbox::raise_marks`]). Exactly once: a record is lost only with the disk, never duplicated.
fn acknowledge(
    store: &mut ReplayStore,
    inbox: &mut Inbox,
    acks: &mut bus::Publisher<TransitionAck>,
    path: &Path,
) -> Result<()> {
    store.flush()?;
    let acked = inbox.acknowledge();
    inbox.save(path)?;
    for (actor, upto) in acked {
        acks.publish(&mut TransitionAck { header: Header::now(), actor, upto })?;
    }
    Ok(())
}

/// Enters the storage fault (once): counts it, logs it and reports it on `event` with the file and the free space.
fn enter_fault(
    fault: &mut Option<StorageFault>,
    summary: &mut LearnerSummary,
    events: &mut bus::Publisher<Event>,
    e: &anyhow::Error,
    run_dir: &Path,
) {
    if fault.is_some() {
        return;
    }
    summary.storage_faults += 1;
    let text = format!(
        "cannot write the run directory ({e}; {}): storing and acknowledging paused, training goes on from memory, \
         the actors keep what is unacknowledged; retrying every 2 s",
        crate::disk::free_text(run_dir)
    );
    tracing::error!("{text}");
    let _ = events.publish(&mut Event { header: Header::now(), node: "learner".into(), level: Level::Error, text });
    *fault = Some(StorageFault { since: Instant::now(), last_try: Instant::now() });
}

/// Runs the learner until `stop` is set (or `max_updates` is reached); checkpoints before returning.
pub fn run(
    bus: &Bus,
    cfg: &CellConfig,
    spec: &ObsSpec,
    opts: &LearnerOptions,
    stop: Arc<AtomicBool>,
) -> Result<LearnerSummary> {
    std::fs::create_dir_all(&opts.run_dir).with_context(|| format!("creating {}", opts.run_dir.display()))?;
    let mut store = ReplayStore::open(opts.run_dir.join("replay"), spec, &StoreOptions::from_config(&cfg.agent))?;
    let ckpt = opts.run_dir.join("checkpoint.safetensors");
    let marks_path = opts.run_dir.join("acks.json");
    let mut inbox = Inbox::load(&marks_path)?;
    let raised = inbox.raise_marks(&store.delivered());
    if raised > 0 {
        tracing::info!(sessions = raised, "records stored after the last saved acknowledgement marks count as stored");
    }
    let device = crate::default_device();
    // Image-based on a CPU: the frozen encoder (pretrained on the demos on the first start, loaded afterwards)
    // and the features of every stored frame.
    crate::features::prepare(&cfg.agent, &mut store, &opts.run_dir, device, |m| {
        if opts.json { tracing::info!("{m}") } else { println!("{m}") }
    })?;
    if spec.cameras.is_empty() || store.frame_encoder().is_some() {
        // Small state-sized networks: one intra-op thread (OpenMP teams spin at barriers on a shared CPU).
        tch::set_num_threads(1);
    }
    let agent_cfg = cfg.agent.with_task_defaults(cfg.task.reward);
    let mut learner = Learner::for_store(&agent_cfg, cfg.task.discount, &store, device)?;
    if ckpt.exists() {
        learner.load_checkpoint(&ckpt)?;
        tracing::info!(
            updates = learner.updates(),
            online = store.online_len(),
            demo = store.demo_len(),
            "resumed from {}",
            ckpt.display()
        );
    }
    let _token = bus.announce("learner")?;
    let transitions = bus.subscribe::<TransitionMsg>(TRANSITIONS, None)?;
    let episodes = bus.subscribe::<EpisodeReport>(EPISODES, None)?;
    let mut acks = bus.publisher::<TransitionAck>(TRANSITION_ACK, None)?;
    let mut weights = bus.publisher::<PolicyWeights>(POLICY_WEIGHTS, None)?;
    let mut metrics_pub = bus.publisher::<LearnerMetrics>(LEARNER_METRICS, None)?;
    let mut events = bus.publisher::<Event>(EVENT, Some("learner"))?;
    tracing::info!(
        online = store.online_len(),
        demo = store.demo_len(),
        updates = learner.updates(),
        "learner running: storing the actors' transitions and training"
    );
    let mut fault: Option<StorageFault> = None;
    let mut summary = LearnerSummary::default();
    let mut recent: VecDeque<(bool, f64, u64, u64)> = VecDeque::new();
    let mut last = crate::sac::UpdateMetrics::default();
    let started = Instant::now();
    let updates_at_start = learner.updates();
    let mut last_progress = Instant::now();
    let mut last_ack = Instant::now();
    let mut budget = 0.0f64;
    let min_batch = (cfg.agent.batch_size / 2).max(1) as usize;
    let publish = |weights: &mut bus::Publisher<PolicyWeights>, learner: &Learner, inbox: &mut Inbox| -> Result<()> {
        let mut w = PolicyWeights {
            header: Header::now(),
            version: inbox.next_version(),
            updates: learner.updates(),
            safetensors: learner.policy_weights()?,
        };
        weights.publish(&mut w)?;
        Ok(())
    };
    publish(&mut weights, &learner, &mut inbox)?;
    let mut last_weights = Instant::now();
    loop {
        let stopping = stop.load(Ordering::Acquire) || opts.max_updates.is_some_and(|m| learner.updates() >= m);
        let mut got = 0;
        while let Some(r) = transitions.try_recv() {
            got += 1;
            let m = r.msg;
            let seq = m.header.seq;
            let actor = m.actor.clone();
            match inbox.receive(&actor, seq) {
                Receipt::Next => {}
                Receipt::Duplicate => {
                    summary.duplicates += 1;
                    continue;
                }
                Receipt::AfterGap { .. } => {
                    // The actor resends everything unacknowledged, in order.
                    summary.out_of_order += 1;
                    continue;
                }
            }
            let demo = m.demo;
            let Some(t) = wire::from_msg(m) else {
                tracing::warn!(actor = %actor, seq, "transition with an invalid gripper action dropped");
                continue;
            };
            if let Err(e) = t.check(spec) {
                tracing::warn!(actor = %actor, seq, "transition does not match the task's spec, dropped: {e}");
                continue;
            }
            if fault.is_some() {
                // Not stored: the actor resends it once writing works again.
                continue;
            }
            let origin = Some((actor.as_str(), seq));
            let appended = if demo { store.append_demo_from(&t, origin) } else { store.append_from(&t, origin) }
                .map_err(anyhow::Error::from);
            if let Err(e) = appended {
                if !is_write_error(&e) {
                    return Err(e);
                }
                enter_fault(&mut fault, &mut summary, &mut events, &e, &opts.run_dir);
                continue;
            }
            inbox.accept(&actor, seq);
            summary.stored += 1;
            budget += opts.max_updates_per_transition;
            if got > 512 {
                break;
            }
        }
        while let Some(e) = episodes.try_recv() {
            if !e.msg.eval {
                recent.push_back((e.msg.success, e.msg.episode_return, e.msg.intervention_steps, e.msg.length));
                if recent.len() > 20 {
                    recent.pop_front();
                }
            }
        }
        if let Some(f) = &mut fault
            && (f.last_try.elapsed() > Duration::from_secs(2) || stopping)
        {
            f.last_try = Instant::now();
            let since = f.since;
            if acknowledge(&mut store, &mut inbox, &mut acks, &marks_path).is_ok() {
                fault = None;
                let text = format!(
                    "writing {} works again after {:.0} s: storing and acknowledging resume",
                    opts.run_dir.display(),
                    since.elapsed().as_secs_f64()
                );
                tracing::info!("{text}");
                let _ = events.publish(&mut Event {
                    header: Header::now(),
                    node: "learner".into(),
                    level: Level::Info,
                    text,
                });
                last_ack = Instant::now();
            }
        }
        if fault.is_some() {
            // Nothing is acknowledged while writing fails.
        } else if inbox.has_pending() && (last_ack.elapsed() > Duration::from_millis(200) || stopping) {
            if let Err(e) = acknowledge(&mut store, &mut inbox, &mut acks, &marks_path) {
                if !is_write_error(&e) {
                    return Err(e);
                }
                enter_fault(&mut fault, &mut summary, &mut events, &e, &opts.run_dir);
            }
            last_ack = Instant::now();
        } else if !inbox.has_pending() {
            // Re-announce the marks now and then, for actors that missed an acknowledgement.
            if last_ack.elapsed() > Duration::from_secs(1) {
                for (actor, seq) in &inbox.marks().acked {
                    acks.publish(&mut TransitionAck { header: Header::now(), actor: actor.clone(), upto: *seq })?;
                }
                last_ack = Instant::now();
            }
        }
        if stopping {
            break;
        }
        let can_learn = store.online_len() + store.demo_len() >= min_batch && store.online_len() > 0;
        if can_learn && budget >= 1.0 {
            budget -= 1.0;
            last = learner.update(&store)?;
            if learner.updates() % cfg.agent.publish_every == 0 {
                publish(&mut weights, &learner, &mut inbox)?;
                last_weights = Instant::now();
            }
            if learner.updates() % cfg.agent.checkpoint_every == 0 && fault.is_none() {
                // The marks saved with a checkpoint cover every transition the flush makes durable: a learner
                // restarted from it is not sent them again.
                let saved = acknowledge(&mut store, &mut inbox, &mut acks, &marks_path)
                    .and_then(|()| Ok(learner.save_checkpoint(&ckpt)?));
                if let Err(e) = saved {
                    if !is_write_error(&e) {
                        return Err(e);
                    }
                    enter_fault(&mut fault, &mut summary, &mut events, &e, &opts.run_dir);
                }
            }
        } else if got == 0 {
            if fault.is_none()
                && let Err(e) = store.flush_if_due().map_err(anyhow::Error::from)
            {
                if !is_write_error(&e) {
                    return Err(e);
                }
                enter_fault(&mut fault, &mut summary, &mut events, &e, &opts.run_dir);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if last_weights.elapsed() > Duration::from_secs(2) {
            // Late-joining actors get the current weights without waiting for the next publication.
            publish(&mut weights, &learner, &mut inbox)?;
            last_weights = Instant::now();
        }
        if let Some(every) = opts.progress_every
            && last_progress.elapsed() >= every
        {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            let ups = (learner.updates() - updates_at_start) as f64 / secs;
            let successes = recent.iter().filter(|r| r.0).count() as u64;
            let rate = SuccessRate::new(successes, recent.len() as u64);
            let steps: u64 = recent.iter().map(|r| r.3).sum();
            let human: u64 = recent.iter().map(|r| r.2).sum();
            let mut m = LearnerMetrics {
                header: Header::now(),
                step: store.online_len() as u64,
                updates: learner.updates(),
                updates_per_s: ups,
                critic_loss: Some(last.critic_loss),
                actor_loss: Some(last.actor_loss),
                temperature: Some(last.temperature),
                q_mean: Some(last.q_mean),
                online_size: store.online_len() as u64,
                demo_size: store.demo_len() as u64,
                success_rate: (!recent.is_empty()).then(|| rate.rate()),
                success_ci95: (!recent.is_empty()).then(|| (rate.hi - rate.lo) / 2.0),
                episode_return: (!recent.is_empty())
                    .then(|| recent.iter().map(|r| r.1).sum::<f64>() / recent.len() as f64),
                intervention_rate: (steps > 0).then(|| human as f64 / steps as f64),
                policy_version: inbox.version(),
            };
            metrics_pub.publish(&mut m)?;
            if opts.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "online": m.online_size, "demo": m.demo_size, "updates": m.updates, "updates_per_s": ups,
                        "success_rate": m.success_rate, "success_ci95": m.success_ci95, "critic_loss": last.critic_loss,
                        "temperature": last.temperature, "policy_version": m.policy_version,
                    })
                );
            } else {
                let eta = opts
                    .max_updates
                    .filter(|_| ups > 0.0)
                    .map(|mx| format!(", ETA {:.0} s", (mx.saturating_sub(learner.updates())) as f64 / ups))
                    .unwrap_or_default();
                println!(
                    "learner: transitions {} (+{} demo), updates {} ({:.1}/s), success (last {} episodes) {}, α {:.3}, critic loss {:.4}, weights v{}{}",
                    m.online_size,
                    m.demo_size,
                    m.updates,
                    ups,
                    recent.len(),
                    rate,
                    last.temperature,
                    last.critic_loss,
                    inbox.version(),
                    eta
                );
            }
            last_progress = Instant::now();
        }
    }
    if fault.is_some() {
        // What is not on disk was never acknowledged: the actors still hold it and resend it to the next start.
        tracing::error!(
            "stopping while {} cannot be written ({}): the checkpoint and the records not yet written are not saved; \
             the actors resend every unacknowledged transition on the next start",
            opts.run_dir.display(),
            crate::disk::free_text(&opts.run_dir)
        );
    } else {
        store.flush()?;
        learner.save_checkpoint(&ckpt)?;
        inbox.save(&marks_path)?;
    }
    summary.updates = learner.updates();
    summary.version = inbox.version();
    tracing::info!(
        updates = summary.updates,
        stored = summary.stored,
        "learner stopped; checkpoint written to {}",
        ckpt.display()
    );
    Ok(summary)
}
