//! The real-time control loop and its non-real-time handle.
//!
//! [`spawn`] moves a [`ControllerCore`] (and optionally a gripper) onto a named thread that runs one control
//! cycle per period. Inside the loop nothing allocates, locks, logs or touches the bus: the thread exchanges data
//! with the rest of the process only through
//! - a wait-free latest-value cell (triple buffer) for the newest pose target,
//! - a lock-free single-producer/single-consumer ring for operator commands (reset, gains, gripper),
//! - an atomic counter for the e-stop (never lost to a full queue),
//! - a latest-value cell carrying the [`ControllerStatus`] out after every cycle.
//!
//! The [`ControllerHandle`] is the non-real-time side (for the bus bridge): it validates what comes in (gains
//! through [`interfaces::config::check_gains`], gripper commands through [`GripperCommands`], the stamps of
//! targets from the bus through [`TargetStamps`]), and turns the status into [`interfaces::msg::ArmState`]
//! messages. Its mutexes guard the producer ends only and are never touched by the real-time thread.
//!
//! # E-stops and resets
//!
//! Every e-stop and reset the handle takes gets the next number of one counter shared by all callers (their
//! order of arrival at the handle). The loop latches an e-stop at the start of its cycle, after noting every number
//! issued so far ([`ControllerCore::note_issued`]); a reset then clears the latch only if its number is higher (it
//! was issued after the latch) and the latch is [`crate::core::RESET_DWELL_NS`] old
//! ([`ControllerCore::request_reset`]). So a reset queued before an e-stop, or handled in the same cycle, never
//! unlatches it, whatever the order in which the loop reads the counter and the ring. While latched, gripper
//! commands (alone or with a refused target) are not executed: the gripper holds.

pub mod sched;
pub mod target_stamps;
pub mod timer;

pub use sched::{SchedPolicy, SchedulingReport, make_current_thread_realtime};
pub use target_stamps::{StampError, TargetStamps};
pub use timer::PeriodicTimer;

use crate::core::{ControllerCore, ControllerStatus};
use crate::gripper::{GripperCommands, GripperError};
use crate::law::{GainsError, ValidatedGains};
use interfaces::config::GripperConfig;
use interfaces::drivers::{ArmDriver, DriverError, GripperDriver};
use interfaces::msg::{ArmState, Command, GripperCommand, Pose, PoseTarget};
use interfaces::{CellConfig, Clock, Stamp};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use thiserror::Error;

/// Capacity of the command ring.
const COMMAND_CAPACITY: usize = 64;
/// Faults waiting for the non-real-time side (one per fault; more are dropped until it reads them).
const FAULT_CAPACITY: usize = 8;
/// The gripper is read every this many cycles (100 Hz at 1 kHz).
const GRIPPER_READ_EVERY: u64 = 10;

/// How the loop is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// One cycle per period of the host's monotonic clock (real arms; the simulator in real time).
    WallClock,
    /// Cycles back to back (the simulator faster than real time; its mock clock gives the time).
    AsFastAsPossible,
}

/// Settings of the loop.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopOptions {
    /// Control rate, Hz.
    pub rate_hz: f64,
    /// A cycle starting later than this is a deadline miss, µs.
    pub deadline_miss_us: f64,
    /// Ask for SCHED_FIFO and mlockall.
    pub realtime: bool,
    /// SCHED_FIFO priority.
    pub priority: i32,
    /// Pacing.
    pub pacing: Pacing,
    /// Thread name.
    pub thread_name: String,
}

impl LoopOptions {
    /// From `[controller]`, wall-clock pacing unless the driver is a simulator with `realtime = false`.
    pub fn from_config(cfg: &CellConfig) -> Self {
        let pacing = match cfg.driver {
            interfaces::config::DriverConfig::Sim { realtime: false, .. } => Pacing::AsFastAsPossible,
            _ => Pacing::WallClock,
        };
        Self {
            rate_hz: cfg.controller.rate_hz,
            deadline_miss_us: cfg.controller.deadline_miss_us,
            realtime: cfg.controller.realtime,
            priority: cfg.controller.rt_priority.min(99) as i32,
            pacing,
            thread_name: "controller-rt".into(),
        }
    }
}

/// Why the loop could not start.
#[derive(Debug, Error)]
pub enum SpawnError {
    /// The OS refused the thread.
    #[error("cannot start thread `{name}`: {source}")]
    Thread {
        /// Thread name.
        name: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The thread ended before reporting its scheduling.
    #[error("thread `{name}` ended during start-up")]
    StartUp {
        /// Thread name.
        name: String,
    },
}

/// Why an operator command was not taken.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CommandError {
    /// Gains out of range; the gains in force are unchanged.
    #[error(transparent)]
    Gains(#[from] GainsError),
    /// A gripper command out of range.
    #[error(transparent)]
    Gripper(#[from] GripperError),
    /// A pose target from the bus whose stamp is missing, from the future, too old or not newer than the last.
    #[error(transparent)]
    Stamp(#[from] StampError),
    /// The command is for another node (episode control, labels).
    #[error("command {command} is not for the controller")]
    NotForController {
        /// The command's name.
        command: &'static str,
    },
    /// The command ring is full (the loop is not running or is stalled).
    #[error("controller command queue full ({capacity} pending)")]
    QueueFull {
        /// Ring capacity.
        capacity: usize,
    },
    /// The loop has stopped.
    #[error("controller loop is not running")]
    Stopped,
}

/// A target as it crosses to the real-time thread.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct TargetSlot {
    seq: u64,
    pose: Pose,
    gripper: Option<GripperCommand>,
}

#[derive(Debug, Clone, Copy)]
enum RtCommand {
    /// A reset, numbered in the order of e-stops and resets at the handle.
    ResetEStop {
        issued: u64,
    },
    SetGains(ValidatedGains),
    Gripper(GripperCommand),
}

/// What the loop did, returned by [`ControllerHandle::stop`].
#[derive(Debug, Clone, PartialEq)]
pub struct LoopSummary {
    /// Cycles run.
    pub cycles: u64,
    /// Deadline misses.
    pub deadline_misses: u64,
    /// Largest wake-up lateness, ns (0 when not paced by the wall clock).
    pub max_lateness_ns: u64,
    /// Targets refused (invalid, or received while e-stopped).
    pub rejected_targets: u64,
    /// Status after the last cycle.
    pub last: ControllerStatus,
}

/// The non-real-time side of a running controller loop. `Sync`: share it behind an `Arc`.
#[derive(Debug)]
pub struct ControllerHandle {
    targets: Mutex<triple_buffer::Input<TargetSlot>>,
    commands: Mutex<rtrb::Producer<RtCommand>>,
    faults: Mutex<rtrb::Consumer<DriverError>>,
    gripper_faults: Mutex<rtrb::Consumer<DriverError>>,
    status: Mutex<triple_buffer::Output<ControllerStatus>>,
    /// The last number given to an e-stop or a reset (their order of arrival at the handle).
    order: Arc<AtomicU64>,
    /// The number of the newest e-stop (0: none yet).
    estop: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    target_seq: AtomicU64,
    stamps: Mutex<TargetStamps>,
    state_seq: AtomicU64,
    gripper: GripperCommands,
    scheduling: SchedulingReport,
    thread: Mutex<Option<JoinHandle<LoopSummary>>>,
}

/// Starts the loop on a named thread. `clock` is the controller's time source (the simulator's mock clock, or
/// [`interfaces::MonotonicClock`]); pacing uses the host's monotonic clock. Scheduling warnings are logged once,
/// before the loop starts, and kept in [`ControllerHandle::scheduling`].
pub fn spawn<D, G, C>(
    core: ControllerCore<D>,
    gripper: Option<G>,
    gripper_limits: GripperConfig,
    clock: C,
    opts: LoopOptions,
) -> Result<ControllerHandle, SpawnError>
where
    D: ArmDriver + 'static,
    G: GripperDriver + 'static,
    C: Clock + 'static,
{
    let (mut handle, rt) = build(core, gripper, gripper_limits, clock, opts.clone());
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<SchedulingReport>(1);
    let name = opts.thread_name.clone();
    let thread = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let report = if rt.opts.realtime {
                make_current_thread_realtime(rt.opts.priority)
            } else {
                SchedulingReport { policy: sched::current_policy(), memory_locked: false, warnings: Vec::new() }
            };
            for w in &report.warnings {
                tracing::warn!(thread = %rt.opts.thread_name, "{w}");
            }
            let _ = ready_tx.send(report);
            rt.run()
        })
        .map_err(|source| SpawnError::Thread { name: name.clone(), source })?;
    handle.scheduling = ready_rx.recv().map_err(|_| SpawnError::StartUp { name })?;
    handle.thread = Mutex::new(Some(thread));
    Ok(handle)
}

/// The two sides of a loop, not started: the handle (no thread yet) and the real-time side, whose
/// [`RtSide::cycle`] tests call one cycle at a time.
pub(crate) fn build<D, G, C>(
    core: ControllerCore<D>,
    gripper: Option<G>,
    gripper_limits: GripperConfig,
    clock: C,
    opts: LoopOptions,
) -> (ControllerHandle, RtSide<D, G, C>)
where
    D: ArmDriver,
    G: GripperDriver,
    C: Clock,
{
    let (t_in, t_out) = triple_buffer::triple_buffer(&TargetSlot::default());
    let (s_in, s_out) = triple_buffer::triple_buffer(core.status());
    let (c_in, c_out) = rtrb::RingBuffer::new(COMMAND_CAPACITY);
    let (f_in, f_out) = rtrb::RingBuffer::new(FAULT_CAPACITY);
    let (gf_in, gf_out) = rtrb::RingBuffer::new(FAULT_CAPACITY);
    let order = Arc::new(AtomicU64::new(0));
    let estop = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let rt = RtSide {
        core,
        gripper,
        clock,
        targets: t_out,
        status: s_in,
        commands: c_out,
        faults: f_in,
        gripper_faults: gf_in,
        gripper_failing: false,
        order: order.clone(),
        estop: estop.clone(),
        latched_estop: 0,
        stop: stop.clone(),
        opts,
        counts: LoopCounts::default(),
    };
    let handle = ControllerHandle {
        targets: Mutex::new(t_in),
        commands: Mutex::new(c_in),
        faults: Mutex::new(f_out),
        gripper_faults: Mutex::new(gf_out),
        status: Mutex::new(s_out),
        order,
        estop,
        stop,
        target_seq: AtomicU64::new(0),
        stamps: Mutex::new(TargetStamps::new()),
        state_seq: AtomicU64::new(0),
        gripper: GripperCommands::new(gripper_limits),
        scheduling: SchedulingReport { policy: sched::current_policy(), memory_locked: false, warnings: Vec::new() },
        thread: Mutex::new(None),
    };
    (handle, rt)
}

impl ControllerHandle {
    /// Sends a pose target (and its optional gripper command) to the loop; the newest one wins. For a caller in
    /// this process that decides its targets itself (its stamp is not looked at); targets that arrive from the bus
    /// go through [`set_received_target`](Self::set_received_target). The pose is checked by the loop (invalid ones
    /// and those sent while e-stopped are counted in [`LoopSummary::rejected_targets`], and their gripper command
    /// is not executed); the gripper command is validated and clamped here.
    pub fn set_target(&self, target: &PoseTarget) -> Result<(), CommandError> {
        let gripper = target.gripper.map(|g| self.gripper.check(g)).transpose()?;
        self.write_target(target, gripper);
        Ok(())
    }

    /// A pose target that arrived from outside the process at `now` (this host's monotonic clock): taken as by
    /// [`set_target`](Self::set_target) only when its stamp passes [`TargetStamps`] (not zero, not in the future
    /// beyond a small tolerance, not too old, newer than the newest target taken); otherwise refused with
    /// [`CommandError::Stamp`] and counted ([`refused_target_stamps`](Self::refused_target_stamps)).
    pub fn set_received_target(&self, target: &PoseTarget, now: Stamp) -> Result<(), CommandError> {
        let gripper = target.gripper.map(|g| self.gripper.check(g)).transpose()?;
        self.stamps.lock().unwrap_or_else(PoisonError::into_inner).accept(target.header.stamp_ns, now)?;
        self.write_target(target, gripper);
        Ok(())
    }

    /// Pose targets refused for their stamp so far ([`set_received_target`](Self::set_received_target)).
    pub fn refused_target_stamps(&self) -> u64 {
        self.stamps.lock().unwrap_or_else(PoisonError::into_inner).refused()
    }

    fn write_target(&self, target: &PoseTarget, gripper: Option<GripperCommand>) {
        let seq = self.target_seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.targets.lock().unwrap_or_else(PoisonError::into_inner).write(TargetSlot {
            seq,
            pose: target.pose,
            gripper,
        });
    }

    /// Applies an operator command: `EStop` (latched at the loop's next cycle, never lost to a full queue),
    /// `ResetEStop` (clears the latch only when it was issued after it and past the dwell, see the module's
    /// documentation; a refused reset is counted in [`ControllerStatus::refused_resets`]), `SetGains` (validated
    /// here: rejected gains return an error and the gains in force stay). Episode commands are refused. E-stops and
    /// resets are ordered by their arrival here, from every caller and thread.
    pub fn command(&self, command: &Command) -> Result<(), CommandError> {
        match command {
            Command::EStop => {
                let n = self.order.fetch_add(1, Ordering::AcqRel) + 1;
                self.estop.fetch_max(n, Ordering::AcqRel);
                Ok(())
            }
            Command::ResetEStop => {
                if self.stop.load(Ordering::Acquire) {
                    return Err(CommandError::Stopped);
                }
                let issued = self.order.fetch_add(1, Ordering::AcqRel) + 1;
                self.push(RtCommand::ResetEStop { issued })
            }
            Command::SetGains(g) => {
                let g = ValidatedGains::new(*g)?;
                self.push(RtCommand::SetGains(g))
            }
            Command::StartEpisode => Err(CommandError::NotForController { command: "StartEpisode" }),
            Command::StopEpisode => Err(CommandError::NotForController { command: "StopEpisode" }),
            Command::ResetEpisode => Err(CommandError::NotForController { command: "ResetEpisode" }),
            Command::Label(_) => Err(CommandError::NotForController { command: "Label" }),
        }
    }

    /// Sends a gripper command (validated and clamped to `[gripper]`).
    pub fn gripper(&self, command: GripperCommand) -> Result<(), CommandError> {
        let c = self.gripper.check(command)?;
        self.push(RtCommand::Gripper(c))
    }

    /// The gripper command shaper of this cell (open / close / width).
    pub fn gripper_commands(&self) -> &GripperCommands {
        &self.gripper
    }

    fn push(&self, c: RtCommand) -> Result<(), CommandError> {
        if self.stop.load(Ordering::Acquire) {
            return Err(CommandError::Stopped);
        }
        self.commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(c)
            .map_err(|_| CommandError::QueueFull { capacity: COMMAND_CAPACITY })
    }

    /// The newest status (plain data).
    pub fn latest_status(&self) -> ControllerStatus {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner).read()
    }

    /// The newest status as a bus message, with a fresh sequence number.
    pub fn latest_state(&self) -> ArmState {
        let seq = self.state_seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.latest_status().to_arm_state(seq)
    }

    /// The scheduling the loop obtained.
    pub fn scheduling(&self) -> &SchedulingReport {
        &self.scheduling
    }

    /// The next driver error that faulted the loop, oldest first (`None` when there is none to report). The loop
    /// reports the error that moved it into [`interfaces::msg::ControllerMode::Fault`], once per fault.
    pub fn next_fault(&self) -> Option<DriverError> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner).pop().ok()
    }

    /// The next gripper error the loop met (a command or a read that failed), oldest first. The arm keeps running:
    /// the gripper's last state stands until a read works again. The loop hands over the first error of each run
    /// of failures (not one per cycle), so an unplugged gripper is reported once, and again after it came back.
    pub fn next_gripper_fault(&self) -> Option<DriverError> {
        self.gripper_faults.lock().unwrap_or_else(PoisonError::into_inner).pop().ok()
    }

    /// True while the loop thread runs.
    pub fn is_running(&self) -> bool {
        self.thread.lock().unwrap_or_else(PoisonError::into_inner).as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the loop (the driver is brought to its safe state) and returns its summary; `None` when it was
    /// already stopped or its thread panicked.
    pub fn stop(&self) -> Option<LoopSummary> {
        self.stop.store(true, Ordering::Release);
        let t = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take()?;
        t.join().ok()
    }
}

impl Drop for ControllerHandle {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

pub(crate) struct RtSide<D: ArmDriver, G, C> {
    core: ControllerCore<D>,
    gripper: Option<G>,
    clock: C,
    targets: triple_buffer::Output<TargetSlot>,
    status: triple_buffer::Input<ControllerStatus>,
    commands: rtrb::Consumer<RtCommand>,
    faults: rtrb::Producer<DriverError>,
    gripper_faults: rtrb::Producer<DriverError>,
    /// The last gripper operation failed (the next failure is not handed over again).
    gripper_failing: bool,
    order: Arc<AtomicU64>,
    estop: Arc<AtomicU64>,
    /// The number of the newest e-stop latched.
    latched_estop: u64,
    stop: Arc<AtomicBool>,
    opts: LoopOptions,
    counts: LoopCounts,
}

/// What the loop counts across cycles.
#[derive(Debug, Default, Clone, Copy)]
struct LoopCounts {
    misses: u64,
    max_late: u64,
    rejected: u64,
    last_seq: u64,
    cycle: u64,
}

impl<D: ArmDriver, G: GripperDriver, C: Clock> RtSide<D, G, C> {
    /// Notes the outcome of a gripper operation: the first error of a run of failures goes to the handle (moved,
    /// not copied; a full ring drops it rather than block).
    fn gripper_outcome<T>(&mut self, r: Result<T, DriverError>) -> Option<T> {
        match r {
            Ok(v) => {
                self.gripper_failing = false;
                Some(v)
            }
            Err(e) => {
                if !self.gripper_failing {
                    let _ = self.gripper_faults.push(e);
                }
                self.gripper_failing = true;
                None
            }
        }
    }

    /// The loop. Nothing below allocates, locks or logs.
    fn run(mut self) -> LoopSummary {
        let period_ns = (1e9 / self.opts.rate_hz).round() as u64;
        let miss_ns = (self.opts.deadline_miss_us * 1e3) as u64;
        let mut timer = PeriodicTimer::new(period_ns, timer::DEFAULT_SPIN_NS);
        while !self.stop.load(Ordering::Acquire) {
            if self.opts.pacing == Pacing::WallClock {
                let late = timer.wait();
                self.counts.max_late = self.counts.max_late.max(late);
                self.counts.misses += u64::from(late > miss_ns);
            }
            self.cycle();
        }
        let _ = self.core.driver_mut().safe_stop();
        LoopSummary {
            cycles: self.core.status().cycles,
            deadline_misses: self.counts.misses,
            max_lateness_ns: self.counts.max_late,
            rejected_targets: self.counts.rejected,
            last: *self.core.status(),
        }
    }

    /// One control cycle: e-stop first, then the queued commands, the newest target, the gripper's state, the
    /// core's step, and the status out. Nothing here allocates, locks or logs.
    pub(crate) fn cycle(&mut self) {
        let now = self.clock.now();
        // Every number issued up to here is older than a latch of this cycle (read before the e-stop itself).
        self.core.note_issued(self.order.load(Ordering::Acquire));
        let estop = self.estop.load(Ordering::Acquire);
        if estop > self.latched_estop {
            self.latched_estop = estop;
            self.core.note_issued(estop);
            self.core.estop();
        }
        while let Ok(c) = self.commands.pop() {
            match c {
                RtCommand::ResetEStop { issued } => {
                    // A refusal is counted in the status; nothing else to do here.
                    let _ = self.core.request_reset(issued, now);
                }
                RtCommand::SetGains(g) => self.core.set_gains(g),
                RtCommand::Gripper(g) => {
                    if self.gripper.is_some() && self.core.gate_gripper() {
                        self.command_gripper(g);
                    }
                }
            }
        }
        if self.targets.update() {
            let t = *self.targets.output_buffer();
            if t.seq != self.counts.last_seq {
                self.counts.last_seq = t.seq;
                let taken = self.core.set_target(&t.pose).is_ok();
                self.counts.rejected += u64::from(!taken);
                // A refused target's gripper command goes with it; while latched the gripper holds.
                if let Some(g) = t.gripper
                    && self.gripper.is_some()
                    && self.core.gate_gripper()
                    && taken
                {
                    self.command_gripper(g);
                }
            }
        }
        if self.counts.cycle.is_multiple_of(GRIPPER_READ_EVERY)
            && let Some(r) = self.gripper.as_mut().map(|gr| gr.read())
            && let Some(s) = self.gripper_outcome(r)
        {
            self.core.set_gripper_state(s);
        }
        self.counts.cycle += 1;
        self.core.set_deadline_misses(self.counts.misses);
        // A driver error faults the core (safe stop, latched); the status says so, and the error itself goes to
        // the handle (moved, not copied: the allocation happened where the error was built).
        let was_faulted = self.core.status().mode == interfaces::msg::ControllerMode::Fault;
        if let Err(e) = self.core.step(now)
            && !was_faulted
        {
            let _ = self.faults.push(e);
        }
        self.status.write(*self.core.status());
    }

    fn command_gripper(&mut self, g: GripperCommand) {
        if let Some(r) = self.gripper.as_mut().map(|gr| gr.command(g)) {
            self.gripper_outcome(r);
        }
    }
}

#[cfg(test)]
mod tests;
