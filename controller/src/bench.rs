//! Figures for `corrigo bench controller` (controller side): compute time of one full control cycle (model,
//! law and envelope) and the lateness of a periodic real-time loop. Benchmarks print figures; nothing here
//! asserts on timing.

use crate::core::ControllerCore;
use crate::rt::{PeriodicTimer, SchedPolicy, make_current_thread_realtime, sched, timer};
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, JointState, JointVec, MAX_DOF};
use interfaces::{CellConfig, Clock, MonotonicClock, Stamp};
use std::fmt;

pub use interfaces::stats::Percentiles;

/// An arm that returns prepared states and discards torques (to time the controller alone).
#[derive(Debug)]
struct ReplayArm {
    info: ArmInfo,
    states: Vec<JointVec>,
    next: usize,
}

impl ArmDriver for ReplayArm {
    fn info(&self) -> &ArmInfo {
        &self.info
    }
    fn read_state(&mut self) -> Result<JointState, DriverError> {
        let q = self.states[self.next % self.states.len()];
        self.next += 1;
        Ok(JointState { q, ..JointState::default() })
    }
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        std::hint::black_box(tau);
        Ok(())
    }
    fn safe_stop(&mut self) -> Result<(), DriverError> {
        Ok(())
    }
}

/// Times `iterations` full control cycles (read → FK, Jacobian, mass matrix, bias, law → envelope → write) of
/// the config's arm at configurations spread around the nullspace posture. Microseconds per cycle.
pub fn cycle_compute_time_us(cfg: &CellConfig, iterations: usize) -> Result<Percentiles, crate::core::BuildError> {
    let dof = cfg.robot.joints.len();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let states: Vec<JointVec> = (0..1024)
        .map(|_| {
            let mut q = [0.0; MAX_DOF];
            for (i, qi) in q.iter_mut().enumerate().take(dof) {
                *qi = cfg.controller.nullspace_posture[i] + 0.4 * (uniform() - 0.5);
            }
            q
        })
        .collect();
    let arm = ReplayArm { info: ArmInfo { name: "replay".into(), dof, gravity_compensated: false }, states, next: 0 };
    let mut core = ControllerCore::new(cfg, arm)?;
    let clock = MonotonicClock;
    let mut samples = Vec::with_capacity(iterations);
    let target = interfaces::msg::Pose { position: [0.5, 0.05, 0.3], orientation: [0.0, 1.0, 0.0, 0.0] };
    for k in 0..iterations {
        if k % 100 == 0 {
            let _ = core.set_target(&target);
        }
        let t0 = clock.now();
        let _ = std::hint::black_box(core.step(Stamp(k as u64 * 1_000_000)));
        samples.push(clock.now().0.saturating_sub(t0.0) as f64 * 1e-3);
    }
    Ok(Percentiles::of(&mut samples))
}

/// Lateness of a periodic loop on a named thread.
#[derive(Debug, Clone, PartialEq)]
pub struct LatenessReport {
    /// Rate, Hz.
    pub rate_hz: f64,
    /// Duration, s.
    pub duration_s: f64,
    /// Wake-up lateness, µs.
    pub lateness_us: Percentiles,
    /// Cycles later than the miss threshold.
    pub misses: u64,
    /// The miss threshold, µs.
    pub miss_threshold_us: f64,
    /// Scheduling obtained.
    pub policy: SchedPolicy,
    /// Memory locked.
    pub memory_locked: bool,
    /// Why real-time scheduling was not obtained, if it was not.
    pub warnings: Vec<String>,
}

/// Runs the loop timer (sleep-then-spin, as the control loop does) at `rate_hz` for `duration_s` on a thread
/// named `bench-rt-loop`, asking for SCHED_FIFO at `priority` when `realtime`.
pub fn loop_lateness(
    rate_hz: f64,
    duration_s: f64,
    realtime: bool,
    priority: i32,
    miss_threshold_us: f64,
) -> std::io::Result<LatenessReport> {
    let h = std::thread::Builder::new().name("bench-rt-loop".into()).spawn(move || {
        let report = if realtime {
            make_current_thread_realtime(priority)
        } else {
            crate::rt::SchedulingReport { policy: sched::current_policy(), memory_locked: false, warnings: Vec::new() }
        };
        let n = (rate_hz * duration_s).max(1.0) as usize;
        let mut late = Vec::with_capacity(n);
        let mut t = PeriodicTimer::new((1e9 / rate_hz).round() as u64, timer::DEFAULT_SPIN_NS);
        for _ in 0..n {
            late.push(t.wait() as f64 * 1e-3);
        }
        let misses = late.iter().filter(|&&l| l > miss_threshold_us).count() as u64;
        LatenessReport {
            rate_hz,
            duration_s,
            lateness_us: Percentiles::of(&mut late),
            misses,
            miss_threshold_us,
            policy: report.policy,
            memory_locked: report.memory_locked,
            warnings: report.warnings,
        }
    })?;
    h.join().map_err(|_| std::io::Error::other("bench-rt-loop thread panicked"))
}

impl fmt::Display for LatenessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.lateness_us;
        writeln!(
            f,
            "loop lateness at {} Hz over {} s ({} cycles, {}{}):",
            self.rate_hz,
            self.duration_s,
            l.count,
            self.policy,
            if self.memory_locked { ", memory locked" } else { "" }
        )?;
        writeln!(
            f,
            "  p50 {:.1} µs   p99 {:.1} µs   p99.9 {:.1} µs   max {:.1} µs   misses > {} µs: {}",
            l.p50, l.p99, l.p999, l.max, self.miss_threshold_us, self.misses
        )?;
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}
