//! `corrigo run --scripted`: the simulated cell driven exactly as a real arm — the 1 kHz real-time controller
//! loop on its own thread, the bus bridge, camera publishing, and a scripted pick of the cube sending pose
//! targets over the bus — printing tracking error and loop statistics once a second.

use crate::nodes::controller_bridge;
use anyhow::{Context, Result};
use bus::Bus;
use controller::core::ControllerCore;
use controller::rt::{self, LoopOptions};
use interfaces::CellConfig;
use interfaces::keys::{ARM_STATE, POSE_TARGET};
use interfaces::msg::{ArmState, Header, PoseTarget};
use sim::scripted::{PickPhase, PickScript};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How the scripted run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScriptedOutcome {
    /// The cube was lifted by at least the task's lift height.
    pub lifted: bool,
    /// Lift reached, m.
    pub lift_m: f64,
    /// Control cycles run.
    pub cycles: u64,
    /// Deadline misses.
    pub deadline_misses: u64,
}

/// Runs the scripted pick until it is done (and held for `hold`), `stop` is set, or `timeout` passes.
pub fn run(
    cfg: &CellConfig,
    bus: &Bus,
    stop: Arc<AtomicBool>,
    hold: Duration,
    timeout: Duration,
) -> Result<ScriptedOutcome> {
    let mut cell = sim::SimCell::new(cfg).context("building the simulated cell")?;
    let mut observer = cell.observer();
    let cameras = perception::run_camera_node(bus, cfg, stop.clone(), Some(&mut cell))
        .context("starting the simulated cameras")?;
    let rest_z = observer.latest().cube_position[2];
    let (arm, gripper, clock) = cell.into_parts();
    let core = ControllerCore::new(cfg, arm).context("building the controller")?;
    let handle = Arc::new(rt::spawn(core, Some(gripper), cfg.gripper, clock, LoopOptions::from_config(cfg))?);
    let sched = handle.scheduling();
    println!(
        "controller: {:.0} Hz loop on thread `controller-rt`, scheduling {:?}, memory locked: {}",
        cfg.controller.rate_hz, sched.policy, sched.memory_locked
    );
    let bridge = controller_bridge::spawn(
        bus,
        handle.clone(),
        controller_bridge::BridgeOptions { state_hz: cfg.controller.rate_hz.min(1000.0) },
        stop.clone(),
    )?;
    let states = bus.subscribe::<ArmState>(ARM_STATE, None)?;
    let mut targets = bus.publisher::<PoseTarget>(POSE_TARGET, None)?;
    let _token = bus.announce("actor")?;
    let mut script = PickScript::new(&cfg.gripper, &cfg.task);
    let started = Instant::now();
    let mut last_print = Instant::now();
    let mut done_since: Option<Instant> = None;
    let mut err_sum = 0.0;
    let mut err_n = 0u64;
    let mut latest: Option<ArmState> = None;
    while !stop.load(Ordering::Acquire) && started.elapsed() < timeout {
        while let Some(s) = states.try_recv() {
            latest = Some(s.msg);
        }
        let Some(state) = latest.clone() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let snap = observer.latest();
        let step = script.step(snap.stamp, &state.ee_pose, &snap.gripper, &snap.cube_pose());
        let mut t = PoseTarget { header: Header::now(), pose: step.target, gripper: Some(step.gripper) };
        targets.publish(&mut t)?;
        let e = state.pose_target.position;
        let p = state.ee_pose.position;
        err_sum += ((e[0] - p[0]).powi(2) + (e[1] - p[1]).powi(2) + (e[2] - p[2]).powi(2)).sqrt();
        err_n += 1;
        if last_print.elapsed() >= Duration::from_secs(1) {
            println!(
                "t {:>5.1} s  phase {:<8} tracking error {:>6.1} mm (mean over 1 s)  cycles {:>7}  deadline misses {:>3}  clips {:>6}  mode {:?}",
                started.elapsed().as_secs_f64(),
                format!("{:?}", step.phase),
                1000.0 * err_sum / err_n.max(1) as f64,
                state.cycles,
                state.deadline_misses,
                state.limits.error_clips,
                state.mode
            );
            err_sum = 0.0;
            err_n = 0;
            last_print = Instant::now();
        }
        if step.phase == PickPhase::Done {
            let since = *done_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= hold {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let lift = observer.latest().cube_position[2] - rest_z;
    stop.store(true, Ordering::Release);
    let _ = bridge.join();
    cameras.shutdown();
    let summary = handle.stop().context("the controller loop ended abnormally")?;
    let outcome = ScriptedOutcome {
        lifted: lift >= cfg.task.lift_height,
        lift_m: lift,
        cycles: summary.cycles,
        deadline_misses: summary.deadline_misses,
    };
    println!(
        "scripted pick {}: cube lifted {:.1} cm; {} control cycles, {} deadline misses, max wake-up lateness {:.0} µs",
        if outcome.lifted { "succeeded" } else { "did not lift the cube" },
        100.0 * lift,
        summary.cycles,
        summary.deadline_misses,
        summary.max_lateness_ns as f64 / 1000.0
    );
    Ok(outcome)
}
