//! `corrigo controller`: the controller node on its own, for a real arm (`kind = "dynamixel"`, …) or the
//! simulated one (`kind = "sim"`). It runs the impedance loop at the rate the link sustains, takes pose targets
//! and operator commands from the bus and publishes the arm state, until stopped.
//!
//! A driver fault (timeout, corrupt packets beyond the retries, a hardware error, an unplugged device) puts the
//! loop into `Fault`: the arm goes to its safe state (hold or torque off, as configured), the error naming the
//! device is logged and published as an event, and the node keeps publishing the state until stopped (an
//! operator `ResetEStop` clears the fault once the cause is gone). On exit the arm is brought to its safe state.
//!
//! An e-stop or a fault is final until a reset issued after it, at least
//! [`controller::core::RESET_DWELL_NS`] (300 ms) after it: a reset that arrived before or with the e-stop, or within
//! the dwell, is refused and reported as an event (reset again). E-stops are serviced before anything else the
//! bridge reads, and pose targets are taken only with a plausible, newer stamp
//! ([`controller::rt::TargetStamps`]); see [`crate::nodes::controller_bridge`].
//!
//! With a `sim` driver the node also stands in for what surrounds a real arm: its scene service
//! ([`crate::nodes::sim_scene`]) resets the cube on request and publishes the privileged scene state, and (with
//! `sim_cameras`) its camera node renders the cell's `sim` cameras of this very world on `camera/<name>/frame`.
//! With these, an actor using the bus-backed environment trains against it exactly as against a real cell.

use crate::nodes::{controller_bridge, sim_scene};
use anyhow::{Context, Result};
use bus::Bus;
use controller::core::ControllerCore;
use controller::drivers::open_arm;
use controller::rt::{self, ControllerHandle, LoopOptions, LoopSummary};
use interfaces::CellConfig;
use interfaces::config::DriverConfig;
use interfaces::msg::ControllerMode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How the controller node ended.
#[derive(Debug, Clone)]
pub struct ControllerOutcome {
    /// The loop's summary.
    pub summary: LoopSummary,
    /// The loop was in `Fault` when it stopped.
    pub faulted: bool,
}

/// Runs the controller node of `cfg` until `stop` is set or `duration` passes. `sim_cameras`: a simulated
/// cell also publishes its `sim` cameras.
pub fn run(
    cfg: &CellConfig,
    bus: &Bus,
    stop: Arc<AtomicBool>,
    duration: Option<Duration>,
    sim_cameras: bool,
) -> Result<ControllerOutcome> {
    let mut cfg = cfg.clone();
    let side_stop = Arc::new(AtomicBool::new(false));
    let mut scene = None;
    let mut cameras = None;
    let handle = match &cfg.driver {
        DriverConfig::Sim { .. } => {
            let mut cell = sim::SimCell::new(&cfg).context("building the simulated cell")?;
            scene = Some(sim_scene::spawn(bus, &cfg, cell.scene_link(), cell.observer(), side_stop.clone())?);
            if sim_cameras && !cfg.cameras.is_empty() {
                let node = perception::run_camera_node(bus, &cfg, side_stop.clone(), Some(&mut cell))
                    .context("starting the simulated cameras")?;
                println!("controller: publishing {} simulated camera(s)", cfg.cameras.len());
                cameras = Some(node);
            }
            let (arm, gripper, clock) = cell.into_parts();
            let core = ControllerCore::new(&cfg, arm).context("building the controller")?;
            rt::spawn(core, Some(gripper), cfg.gripper, clock, LoopOptions::from_config(&cfg))?
        }
        _ => {
            let opened = open_arm(&cfg).context("opening the arm")?;
            if let Some(note) = &opened.rate_note {
                println!("{note}");
            }
            opened.apply_rate(&mut cfg);
            let gripper = opened.gripper;
            let core = ControllerCore::new(&cfg, opened.arm).context("building the controller")?;
            let clock = interfaces::MonotonicClock;
            rt::spawn(core, gripper, cfg.gripper, clock, LoopOptions::from_config(&cfg))?
        }
    };
    let handle = Arc::new(handle);
    let sched = handle.scheduling();
    println!(
        "controller: {:.0} Hz loop on thread `controller-rt`, scheduling {:?}, memory locked: {}; Ctrl-C stops it",
        cfg.controller.rate_hz, sched.policy, sched.memory_locked
    );
    let bridge_stop = Arc::new(AtomicBool::new(false));
    let bridge = controller_bridge::spawn(
        bus,
        handle.clone(),
        controller_bridge::BridgeOptions { state_hz: cfg.controller.rate_hz.min(1000.0) },
        bridge_stop.clone(),
    )?;
    let started = Instant::now();
    let mut last_print = Instant::now();
    let mut mode = ControllerMode::Idle;
    while !stop.load(Ordering::Acquire) && handle.is_running() && duration.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(20));
        let s = handle.latest_status();
        if s.mode != mode {
            println!("controller mode: {:?} → {:?}", mode, s.mode);
            mode = s.mode;
        }
        if last_print.elapsed() >= Duration::from_secs(1) {
            print_status(&handle, started);
            last_print = Instant::now();
        }
    }
    bridge_stop.store(true, Ordering::Release);
    side_stop.store(true, Ordering::Release);
    let _ = bridge.join();
    if let Some(t) = scene {
        let _ = t.join();
    }
    drop(cameras);
    let summary = handle.stop().context("the controller loop ended abnormally")?;
    let faulted = summary.last.mode == ControllerMode::Fault;
    println!(
        "controller stopped{}: {} cycles, {} deadline misses, max wake-up lateness {:.0} µs; the arm is in its safe state",
        if faulted { " in Fault" } else { "" },
        summary.cycles,
        summary.deadline_misses,
        summary.max_lateness_ns as f64 / 1000.0
    );
    Ok(ControllerOutcome { summary, faulted })
}

fn print_status(handle: &ControllerHandle, started: Instant) {
    let s = handle.latest_status();
    let e = s.pose_error;
    println!(
        "t {:>6.1} s  mode {:<9} cycles {:>8}  deadline misses {:>4}  pose error {:>6.1} mm  clips {:>6}",
        started.elapsed().as_secs_f64(),
        format!("{:?}", s.mode),
        s.cycles,
        s.deadline_misses,
        1000.0 * (e[0] * e[0] + e[1] * e[1] + e[2] * e[2]).sqrt(),
        s.limits.error_clips
    );
}
