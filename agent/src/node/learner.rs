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
//! **What it saw, kept.** Every metrics sample goes to `<run-dir>/metrics.jsonl` and every episode report to
//! `<run-dir>/episodes.jsonl` (JSON lines, appended across restarts, [`crate::node::runlog`]), and the metrics as
//! TensorBoard scalars to `<run-dir>/tb/` (a new event file per start, [`crate::node::tboard`]).
//!
//! **A fleet** (`[fleet] cells`): the learner serves every listed cell on the same bus session — it subscribes to
//! each cell's `actor/transitions` and `actor/episodes`, publishes weights and acknowledgements on each cell's keys,
//! and metrics per cell (the fleet's figures with a [`CellFigures`] entry per cell). Every record keeps the actor
//! session it arrived with, which names its cell (`<cell>/<actor>@<start>`).
//!
//! **Trusts no message** ([`crate::delivery::intake`]): every transition is judged on its own before anything is
//! stored — its session must name the cell it arrived on and keep the nonce of its first stored message (another
//! sender cannot take an actor's session or its next number), its sizes must fit the learner's spec and its
//! reward, action and proprio values be finite, `demo` is never accepted over the bus, and what a session may add
//! to the demo buffer and how many new sessions a cell may open are budgeted. A refused message is counted
//! ([`LearnerSummary::refused`]) and said on the cell's `event` key and in the log (the first of each reason and
//! every 1000th); it never refuses its cell or its session's next message, and it is not acknowledged (a real
//! actor's copy is resent from its spool). A transition that does not fit the spec names the cell and the field.
//! Acknowledgements and weights name the learner's session (new with every start), so actors accept them from the
//! learner they deliver to only.
//!
//! **A write that fails** (disk full, EIO) never ends the learner: it stops storing and acknowledging new
//! transitions (the actors keep them in their spools and resend them later), says so once on `event` and in the
//! log with the file and the free space, keeps training on what it holds in memory (records not yet written
//! stay pending), retries every two seconds, and resumes by itself once writing works again (saying so). A
//! failed write leaves no torn record behind: the segment is cut back to its last good length.

use crate::delivery::{Admission, Inbox, Intake, IntakeCounts, IntakeLimits, Refusal};
use crate::replay::{ReplayStore, StoreOptions};
use crate::sac::Learner;
use crate::train::eval::SuccessRate;
use anyhow::{Context, Result};
use bus::Bus;
use interfaces::CellConfig;
use interfaces::env::ObsSpec;
use interfaces::keys::{EPISODES, EVENT, LEARNER_METRICS, POLICY_WEIGHTS, TRANSITION_ACK, TRANSITIONS};
use interfaces::msg::{CellFigures, Event, Header, LearnerMetrics, Level};
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
    /// Per cell served: transitions stored in this run, and why its newest transition that did not fit the
    /// learner's spec was refused (`None`: none did).
    pub cells: std::collections::BTreeMap<String, (u64, Option<String>)>,
    /// Transitions refused (or interventions kept out of the demo buffer), by reason, in this run.
    pub refused: IntakeCounts,
    /// Episode reports refused (a non-finite return, or counts no episode can have), in this run.
    pub episodes_refused: u64,
}

/// Whether episode report `e` is one an actor of a task with episodes of at most `max_steps` steps can send:
/// a finite return, a length within 4 × `max_steps` (an operator may hold an episode open) and no more
/// intervention steps or interventions than steps. Others are refused: they would turn the figures into NaN or
/// overflow their sums.
fn plausible_episode(e: &EpisodeReport, max_steps: u64) -> bool {
    e.episode_return.is_finite()
        && e.cycle_ms.is_finite()
        && e.length <= max_steps.saturating_mul(4).max(1000)
        && e.intervention_steps <= e.length
        && e.interventions <= e.length
}

/// Episode statistics of a window of recent episodes: `(success, return, intervention steps, length)` each.
#[derive(Debug, Default)]
struct Recent(VecDeque<(bool, f64, u64, u64)>);

impl Recent {
    const WINDOW: usize = 20;

    fn push(&mut self, e: &EpisodeReport) {
        self.0.push_back((e.success, e.episode_return, e.intervention_steps, e.length));
        if self.0.len() > Self::WINDOW {
            self.0.pop_front();
        }
    }

    fn rate(&self) -> SuccessRate {
        SuccessRate::new(self.0.iter().filter(|r| r.0).count() as u64, self.0.len() as u64)
    }

    fn success(&self) -> (Option<f64>, Option<f64>) {
        let r = self.rate();
        if self.0.is_empty() { (None, None) } else { (Some(r.rate()), Some((r.hi - r.lo) / 2.0)) }
    }

    fn intervention_rate(&self) -> Option<f64> {
        let steps = self.0.iter().fold(0u64, |a, r| a.saturating_add(r.3));
        let human = self.0.iter().fold(0u64, |a, r| a.saturating_add(r.2));
        (steps > 0).then(|| human as f64 / steps as f64)
    }

    fn mean_return(&self) -> Option<f64> {
        (!self.0.is_empty()).then(|| self.0.iter().map(|r| r.1).sum::<f64>() / self.0.len() as f64)
    }
}

/// One cell the learner serves: its keys and its figures.
struct CellLink {
    name: String,
    transitions: bus::Subscriber<TransitionMsg>,
    episodes: bus::Subscriber<EpisodeReport>,
    acks: bus::Publisher<TransitionAck>,
    weights: bus::Publisher<PolicyWeights>,
    metrics: bus::Publisher<LearnerMetrics>,
    events: bus::Publisher<Event>,
    recent: Recent,
    stored: u64,
    stored_at_progress: u64,
    /// Why its newest transition that did not fit the learner's spec was refused.
    refused: Option<String>,
    /// Transitions of the cell refused so far, and the reasons already said on `event`.
    refusals: u64,
    reported: std::collections::BTreeSet<&'static str>,
}

impl CellLink {
    fn open(bus: &Bus) -> Result<Self> {
        Ok(Self {
            name: bus.cell().to_string(),
            transitions: bus.subscribe::<TransitionMsg>(TRANSITIONS, None)?,
            episodes: bus.subscribe::<EpisodeReport>(EPISODES, None)?,
            acks: bus.publisher::<TransitionAck>(TRANSITION_ACK, None)?,
            weights: bus.publisher::<PolicyWeights>(POLICY_WEIGHTS, None)?,
            metrics: bus.publisher::<LearnerMetrics>(LEARNER_METRICS, None)?,
            events: bus.publisher::<Event>(EVENT, Some("learner"))?,
            recent: Recent::default(),
            stored: 0,
            stored_at_progress: 0,
            refused: None,
            refusals: 0,
            reported: Default::default(),
        })
    }

    /// Counts a refused transition of `session` and says why on `event` and in the log: the first of each reason
    /// and every 1000th refusal of the cell (a flood cannot flood the log).
    fn refuse(&mut self, session: &str, seq: u64, why: &Refusal) {
        self.refusals += 1;
        let kind = match why {
            Refusal::WrongCell => "cell",
            Refusal::Hijacked => "sender",
            Refusal::DemoFlag => "demo",
            Refusal::BadGripper => "gripper",
            Refusal::Shape(e) => {
                self.refused = Some(format!("its transitions do not fit the learner's spec ({e})"));
                "shape"
            }
            Refusal::NonFinite(_) => "finite",
            Refusal::TooManySessions => "sessions",
        };
        if !self.reported.insert(kind) && !self.refusals.is_multiple_of(1000) {
            return;
        }
        let mut text = format!(
            "cell {}: transition {seq} of session {session:?} refused: {why} ({} refused on the cell so far); the \
             cell's other transitions are still stored",
            self.name, self.refusals
        );
        if matches!(why, Refusal::Shape(_)) {
            text.push_str(
                ". Give every cell of the fleet the same task, cameras and action spec (an actor whose transitions \
                 do not fit keeps them in its spool)",
            );
        }
        tracing::error!("{text}");
        let _ = self.events.publish(&mut Event {
            header: Header::now(),
            node: "learner".into(),
            level: Level::Error,
            text,
        });
    }

    fn figures(&self, secs: f64) -> CellFigures {
        let (success_rate, success_ci95) = self.recent.success();
        CellFigures {
            cell: self.name.clone(),
            steps: self.stored,
            steps_per_s: (self.stored - self.stored_at_progress) as f64 / secs.max(1e-9),
            episodes: self.recent.0.len() as u64,
            success_rate,
            success_ci95,
            intervention_rate: self.recent.intervention_rate(),
            refused: self.refused.clone(),
        }
    }
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
    cells: &mut [CellLink],
    path: &Path,
    learner: &str,
) -> Result<()> {
    store.flush()?;
    let acked = inbox.acknowledge();
    inbox.save(path)?;
    for (actor, upto) in acked {
        publish_ack(cells, actor, upto, learner)?;
    }
    Ok(())
}

/// Publishes an acknowledgement, naming this learner's session `learner`, to the cell the actor session names
/// (`<cell>/…`), or to every cell for a session that names none of them.
fn publish_ack(cells: &mut [CellLink], actor: String, upto: u64, learner: &str) -> Result<()> {
    let own = actor.split_once('/').map(|(c, _)| c);
    let named = own.is_some_and(|c| cells.iter().any(|l| l.name == c));
    for l in cells.iter_mut().filter(|l| !named || Some(l.name.as_str()) == own) {
        l.acks.publish(&mut TransitionAck {
            header: Header::now(),
            actor: actor.clone(),
            upto,
            learner: learner.to_string(),
        })?;
    }
    Ok(())
}

/// The scalars of a metrics sample for TensorBoard (`learner/…`, `episodes/…`, and `cell/<name>/…` per fleet cell).
fn tensorboard_scalars(m: &LearnerMetrics) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = [
        ("learner/updates", Some(m.updates as f64)),
        ("learner/updates_per_s", Some(m.updates_per_s)),
        ("learner/critic_loss", m.critic_loss),
        ("learner/actor_loss", m.actor_loss),
        ("learner/temperature", m.temperature),
        ("learner/q_mean", m.q_mean),
        ("replay/online", Some(m.online_size as f64)),
        ("replay/demo", Some(m.demo_size as f64)),
        ("episodes/success_rate", m.success_rate),
        ("episodes/success_ci95", m.success_ci95),
        ("episodes/return", m.episode_return),
        ("episodes/intervention_rate", m.intervention_rate),
    ]
    .into_iter()
    .filter_map(|(k, x)| Some((k.to_string(), x?)))
    .collect();
    if let Some(d) = &m.diagnostics {
        let diag = [
            ("q_demo", Some(d.q_demo)),
            ("q_online", d.q_online),
            ("q_policy_demo", Some(d.q_policy_demo)),
            ("q_policy_online", d.q_policy_online),
            ("bc_nll_demo", Some(d.bc_nll_demo)),
            ("bc_weight", Some(d.bc_weight)),
            ("prior_share", Some(d.prior_share)),
            ("dormant_critic", Some(d.dormant_critic)),
            ("dormant_actor", Some(d.dormant_actor)),
            ("critic_norm", Some(d.critic_norm)),
            ("actor_norm", Some(d.actor_norm)),
            ("feature_norm_demo", Some(d.feature_norm_demo)),
            ("feature_norm_online", d.feature_norm_online),
        ];
        v.extend(diag.into_iter().filter_map(|(k, x)| Some((format!("diagnostics/{k}"), x?))));
    }
    for c in &m.fleet {
        v.push((format!("cell/{}/steps_per_s", c.cell), c.steps_per_s));
        if let Some(s) = c.success_rate {
            v.push((format!("cell/{}/success_rate", c.cell), s));
        }
    }
    v
}

/// Writes the acting policy's weights to `<run-dir>/policy.safetensors` (what `corrigo eval` evaluates) through
/// [`crate::disk::write_atomic`]: a crash or power cut leaves the previous file or the new one whole.
fn save_policy(learner: &Learner, run_dir: &Path) -> Result<()> {
    crate::disk::write_atomic(&run_dir.join("policy.safetensors"), &learner.policy_weights()?)?;
    Ok(())
}

/// Enters the storage fault (once): counts it, logs it and reports it on `event` with the file and the free space.
fn enter_fault(
    fault: &mut Option<StorageFault>,
    summary: &mut LearnerSummary,
    cells: &mut [CellLink],
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
    event_to_all(cells, Level::Error, &text);
    *fault = Some(StorageFault { since: Instant::now(), last_try: Instant::now() });
}

/// Publishes an event of the learner on every cell it serves.
fn event_to_all(cells: &mut [CellLink], level: Level, text: &str) {
    for l in cells {
        let _ =
            l.events.publish(&mut Event { header: Header::now(), node: "learner".into(), level, text: text.into() });
    }
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
    let mut intake = Intake::new(IntakeLimits::for_policy_hz(cfg.task.policy_hz));
    // Sessions heard from (stored, duplicate or early numbers), and for how long their marks are re-announced.
    let mut heard: std::collections::HashMap<String, Instant> = std::collections::HashMap::new();
    let reannounce_for = Duration::from_millis(cfg.actor.resend_max_ms.saturating_mul(2)) + Duration::from_secs(10);
    // This start's session: named in every acknowledgement and weights message, so actors follow this learner.
    let session = crate::delivery::session_of("learner");
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
    if learner.bc_prior_left() > 0 && store.demo_len() > 0 {
        // The behaviour prior (`agent.bc_prior`), fitted to the demonstrations once; checkpointed with the rest.
        let t = Instant::now();
        let json = opts.json;
        let steps = learner.fit_bc_prior(&store, |i, n, loss| {
            if i % (n / 5).max(1) == 0 || i == n {
                if json {
                    tracing::info!(step = i, of = n, loss, "behaviour prior");
                } else {
                    println!("behaviour prior: {i}/{n} steps, negative log-likelihood {loss:.3}");
                }
            }
        })?;
        learner.save_checkpoint(&ckpt)?;
        tracing::info!(steps, seconds = t.elapsed().as_secs_f64(), "behaviour prior fitted");
    }
    if learner.pretraining_left() > 0 && store.demo_len() > 0 {
        // Offline pretraining on the demonstrations before the first weights go out (the actors' transitions
        // wait in their spools meanwhile); checkpointed, so a restart does not do it twice.
        let t = Instant::now();
        let total = learner.pretraining_left();
        let json = opts.json;
        learner.pretrain(&store, |i, n, m| {
            if i % (n / 10).max(1) == 0 || i == n {
                let el = t.elapsed().as_secs_f64();
                let eta = el / i.max(1) as f64 * n.saturating_sub(i) as f64;
                if json {
                    tracing::info!(cycle = i, of = n, critic_loss = m.critic_loss, q = m.q_mean, "offline pretraining");
                } else {
                    println!(
                        "offline pretraining: {i}/{n} cycles ({:.0} %), critic loss {:.4}, mean Q {:.3}, {el:.0} s, \
                         ETA {eta:.0} s",
                        100.0 * i as f64 / n as f64,
                        m.critic_loss,
                        m.q_mean
                    );
                }
            }
        })?;
        learner.save_checkpoint(&ckpt)?;
        save_policy(&learner, &opts.run_dir)?;
        tracing::info!(cycles = total, seconds = t.elapsed().as_secs_f64(), "offline pretraining done");
    }
    let names = cfg.fleet.cells_or(&cfg.cell.name);
    let mut cells = Vec::with_capacity(names.len());
    let mut tokens = Vec::with_capacity(names.len());
    for name in &names {
        let b = bus.for_cell(name);
        tokens.push(b.announce("learner")?);
        cells.push(CellLink::open(&b)?);
    }
    let fleet = cfg.fleet.cells.len() > 1 || names.first().is_some_and(|n| *n != cfg.cell.name);
    tracing::info!(
        online = store.online_len(),
        demo = store.demo_len(),
        updates = learner.updates(),
        cells = %names.join(", "),
        "learner running: storing the actors' transitions and training"
    );
    // Every metrics sample and episode report, kept beside the run (appended across restarts).
    let mut metrics_log = crate::node::runlog::JsonLines::open(opts.run_dir.join("metrics.jsonl"));
    let mut episodes_log = crate::node::runlog::JsonLines::open(opts.run_dir.join("episodes.jsonl"));
    let mut tb = crate::node::tboard::EventWriter::create(&opts.run_dir.join("tb"));
    let mut fault: Option<StorageFault> = None;
    let mut summary = LearnerSummary::default();
    let mut recent = Recent::default();
    let mut last = crate::sac::UpdateMetrics::default();
    let started = Instant::now();
    let updates_at_start = learner.updates();
    let mut last_progress = Instant::now();
    let mut last_ack = Instant::now();
    let mut budget = 0.0f64;
    let min_batch = (cfg.agent.batch_size / 2).max(1) as usize;
    let publish = |cells: &mut [CellLink], learner: &Learner, inbox: &mut Inbox| -> Result<()> {
        let mut w = PolicyWeights {
            header: Header::now(),
            version: inbox.next_version(),
            updates: learner.updates(),
            safetensors: learner.policy_weights()?,
            learner: session.clone(),
        };
        for l in cells {
            l.weights.publish(&mut w)?;
        }
        Ok(())
    };
    publish(&mut cells, &learner, &mut inbox)?;
    let mut last_progress_at = Instant::now();
    let mut last_weights = Instant::now();
    loop {
        let stopping = stop.load(Ordering::Acquire) || opts.max_updates.is_some_and(|m| learner.updates() >= m);
        let mut got = 0;
        for ci in 0..cells.len() {
            while let Some(r) = cells[ci].transitions.try_recv() {
                got += 1;
                let m = r.msg;
                let seq = m.header.seq;
                let actor = m.actor.clone();
                let t = match intake.admit(Instant::now(), &cells[ci].name, m, &mut inbox, spec) {
                    Admission::Store(t) => t,
                    Admission::Duplicate => {
                        // A resend: its actor may have missed the acknowledgement, which is re-announced.
                        heard.insert(actor, Instant::now());
                        summary.duplicates += 1;
                        continue;
                    }
                    Admission::AfterGap => {
                        // The actor resends everything unacknowledged, in order.
                        heard.insert(actor, Instant::now());
                        summary.out_of_order += 1;
                        continue;
                    }
                    Admission::Refused(why) => {
                        // Counted and said; the session's mark does not move, the cell is served on.
                        cells[ci].refuse(&actor, seq, &why);
                        continue;
                    }
                };
                if fault.is_some() {
                    // Not stored: the actor resends it once writing works again.
                    continue;
                }
                let origin = Some((actor.as_str(), seq));
                let appended = store.append_from(&t, origin).map_err(anyhow::Error::from);
                if let Err(e) = appended {
                    if !is_write_error(&e) {
                        return Err(e);
                    }
                    enter_fault(&mut fault, &mut summary, &mut cells, &e, &opts.run_dir);
                    continue;
                }
                inbox.accept(&actor, seq);
                heard.insert(actor, Instant::now());
                summary.stored += 1;
                cells[ci].stored += 1;
                budget += opts.max_updates_per_transition;
                if got > 512 {
                    break;
                }
            }
            while let Some(e) = cells[ci].episodes.try_recv() {
                if !plausible_episode(&e.msg, cfg.task.episode_steps()) {
                    summary.episodes_refused += 1;
                    if summary.episodes_refused == 1 || summary.episodes_refused.is_multiple_of(1000) {
                        tracing::warn!(
                            cell = %cells[ci].name,
                            refused = summary.episodes_refused,
                            "an episode report with a non-finite return or impossible counts refused"
                        );
                    }
                    continue;
                }
                episodes_log.append(
                    &e.msg,
                    &[("cell", cells[ci].name.clone().into()), ("time_unix_s", crate::node::runlog::unix_now().into())],
                );
                if !e.msg.eval {
                    recent.push(&e.msg);
                    cells[ci].recent.push(&e.msg);
                }
            }
        }
        if let Some(f) = &mut fault
            && (f.last_try.elapsed() > Duration::from_secs(2) || stopping)
        {
            f.last_try = Instant::now();
            let since = f.since;
            if acknowledge(&mut store, &mut inbox, &mut cells, &marks_path, &session).is_ok() {
                fault = None;
                let text = format!(
                    "writing {} works again after {:.0} s: storing and acknowledging resume",
                    opts.run_dir.display(),
                    since.elapsed().as_secs_f64()
                );
                tracing::info!("{text}");
                event_to_all(&mut cells, Level::Info, &text);
                last_ack = Instant::now();
            }
        }
        if fault.is_some() {
            // Nothing is acknowledged while writing fails.
        } else if inbox.has_pending() && (last_ack.elapsed() > Duration::from_millis(200) || stopping) {
            if let Err(e) = acknowledge(&mut store, &mut inbox, &mut cells, &marks_path, &session) {
                if !is_write_error(&e) {
                    return Err(e);
                }
                enter_fault(&mut fault, &mut summary, &mut cells, &e, &opts.run_dir);
            }
            last_ack = Instant::now();
        } else if !inbox.has_pending() {
            // Re-announce the marks now and then, for actors that missed an acknowledgement: those of the sessions
            // heard from lately (an actor waiting for one resends at least every `resend_max_ms`), so that old or
            // invented sessions do not multiply the acknowledgements sent every second.
            if last_ack.elapsed() > Duration::from_secs(1) {
                heard.retain(|_, t| t.elapsed() < reannounce_for);
                for (actor, seq) in &inbox.marks().acked {
                    if heard.contains_key(actor) {
                        publish_ack(&mut cells, actor.clone(), *seq, &session)?;
                    }
                }
                last_ack = Instant::now();
            }
        }
        if stopping {
            break;
        }
        let can_learn = store.online_len() + store.demo_len() >= min_batch && store.online_len() > 0 && {
            // WSRL: the pretrained policy's rollouts first, then online data only.
            !agent_cfg.online_only()
                || store.online_len() as u64 >= cfg.agent.offline_warmup_steps.max(min_batch as u64)
        };
        if can_learn && budget >= 1.0 {
            budget -= 1.0;
            last = learner.update(&store)?;
            if learner.updates() % cfg.agent.publish_every == 0 {
                publish(&mut cells, &learner, &mut inbox)?;
                last_weights = Instant::now();
            }
            if learner.updates() % cfg.agent.checkpoint_every == 0 && fault.is_none() {
                // The marks saved with a checkpoint cover every transition the flush makes durable: a learner
                // restarted from it is not sent them again.
                let saved = acknowledge(&mut store, &mut inbox, &mut cells, &marks_path, &session)
                    .and_then(|()| Ok(learner.save_checkpoint(&ckpt)?))
                    .and_then(|()| save_policy(&learner, &opts.run_dir));
                if let Err(e) = saved {
                    if !is_write_error(&e) {
                        return Err(e);
                    }
                    enter_fault(&mut fault, &mut summary, &mut cells, &e, &opts.run_dir);
                }
            }
        } else if got == 0 {
            if fault.is_none()
                && let Err(e) = store.flush_if_due().map_err(anyhow::Error::from)
            {
                if !is_write_error(&e) {
                    return Err(e);
                }
                enter_fault(&mut fault, &mut summary, &mut cells, &e, &opts.run_dir);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if last_weights.elapsed() > Duration::from_secs(2) {
            // Late-joining actors get the current weights without waiting for the next publication.
            publish(&mut cells, &learner, &mut inbox)?;
            last_weights = Instant::now();
        }
        if let Some(every) = opts.progress_every
            && last_progress.elapsed() >= every
        {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            let ups = (learner.updates() - updates_at_start) as f64 / secs;
            let rate = recent.rate();
            let (success_rate, success_ci95) = recent.success();
            let period = last_progress_at.elapsed().as_secs_f64();
            last_progress_at = Instant::now();
            let figures: Vec<CellFigures> = cells.iter().map(|l| l.figures(period)).collect();
            for l in &mut cells {
                l.stored_at_progress = l.stored;
            }
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
                success_rate,
                success_ci95,
                episode_return: recent.mean_return(),
                intervention_rate: recent.intervention_rate(),
                policy_version: inbox.version(),
                fleet: if fleet { figures.clone() } else { Vec::new() },
                diagnostics: learner.diagnostics(&store).ok(),
            };
            for l in &mut cells {
                l.metrics.publish(&mut m)?;
            }
            tb.scalars(m.step as i64, &tensorboard_scalars(&m));
            metrics_log.append(
                &m,
                &[
                    ("time_unix_s", crate::node::runlog::unix_now().into()),
                    ("elapsed_s", started.elapsed().as_secs_f64().into()),
                ],
            );
            if opts.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "online": m.online_size, "demo": m.demo_size, "updates": m.updates, "updates_per_s": ups,
                        "success_rate": m.success_rate, "success_ci95": m.success_ci95, "critic_loss": last.critic_loss,
                        "temperature": last.temperature, "policy_version": m.policy_version, "fleet": m.fleet,
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
                    recent.0.len(),
                    rate,
                    last.temperature,
                    last.critic_loss,
                    inbox.version(),
                    eta
                );
                for f in &m.fleet {
                    let rate = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{:.0} %", 100.0 * v));
                    println!(
                        "  cell {}: transitions {} ({:.1}/s), success (last {} episodes) {}{}, interventions {}{}",
                        f.cell,
                        f.steps,
                        f.steps_per_s,
                        f.episodes,
                        rate(f.success_rate),
                        f.success_ci95.map_or(String::new(), |h| format!(" ±{:.0}", 100.0 * h)),
                        rate(f.intervention_rate),
                        f.refused.as_ref().map_or(String::new(), |w| format!(", REFUSED: {w}"))
                    );
                }
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
        save_policy(&learner, &opts.run_dir)?;
        inbox.save(&marks_path)?;
    }
    summary.updates = learner.updates();
    summary.version = inbox.version();
    summary.cells = cells.iter().map(|l| (l.name.clone(), (l.stored, l.refused.clone()))).collect();
    summary.refused = intake.counts();
    if summary.refused.refused() > 0 || summary.refused.demo_budget_spent > 0 {
        tracing::warn!(counts = ?summary.refused, "transitions refused in this run");
    }
    tracing::info!(
        updates = summary.updates,
        stored = summary.stored,
        "learner stopped; checkpoint written to {}",
        ckpt.display()
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_episode_reports_are_refused_and_figures_never_overflow() {
        let ok = EpisodeReport {
            episode_return: 1.5,
            length: 30,
            intervention_steps: 3,
            interventions: 1,
            ..Default::default()
        };
        assert!(plausible_episode(&ok, 30));
        for bad in [
            EpisodeReport { episode_return: f64::NAN, ..ok.clone() },
            EpisodeReport { episode_return: f64::INFINITY, ..ok.clone() },
            EpisodeReport { length: u64::MAX, ..ok.clone() },
            EpisodeReport { intervention_steps: 31, ..ok.clone() },
            EpisodeReport { cycle_ms: f64::NAN, ..ok.clone() },
        ] {
            assert!(!plausible_episode(&bad, 30), "{bad:?}");
        }
        // Even reports that got in cannot overflow the figures' sums.
        let mut r = Recent::default();
        r.push(&EpisodeReport { length: u64::MAX, intervention_steps: u64::MAX, ..ok.clone() });
        r.push(&EpisodeReport { length: u64::MAX, intervention_steps: u64::MAX, ..ok });
        assert_eq!(r.intervention_rate(), Some(1.0));
    }
}
