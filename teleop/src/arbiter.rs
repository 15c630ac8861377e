//! The intervention arbiter: decides, once per policy step, whether the policy's action or the human's is executed.
//!
//! # Contract
//! - **Inputs**: the policy's [`Action`] (continuous values in `[-1, 1]`, `[dx, dy, dz, rx, ry, rz]` for the cell's
//!   tasks, + a gripper action) and the newest
//!   [`TeleopCommand`] with the time it is judged by ([`TeleopInput`]); the current time is passed in (no clock is
//!   read here), so the arbiter is pure and deterministic.
//! - **Human action**: the command's base-frame twist converted to the action space, per component
//!   `a = clamp(twist · dt / scale, −1, 1)` with `dt = 1 / task.policy_hz` and `scale = task.action_scale_m` for the
//!   translation (`[vx, vy, vz]` m/s) or `task.action_scale_rad` for the rotation (`[wx, wy, wz]` rad/s): a human
//!   twist held for one policy period moves the TCP by as much as the executed action asks for.
//! - **Stale input**: a command older than `teleop.max_age_ms` at `now` counts as no input.
//! - **Takeover**: when any component of the human action exceeds `teleop.takeover_threshold` (or `takeover` is
//!   held) the human's continuous action replaces the policy's, and keeps replacing it until `teleop.hold_ms` after
//!   the last such step (so the policy does not snap back the moment the human lets go). During the hold the
//!   human's current (small) action is executed, or zero if the input went stale. The gripper is then the human's
//!   button, or `Stay` without one.
//! - **Gripper only**: a gripper button without motion overrides only the gripper; the continuous action stays the
//!   policy's.
//! - **Flag**: a step with any part overridden is an intervention: its executed action is what is stored, and the
//!   transition goes to the online **and** the demo buffer ([`Arbitration::routing`]).
//! - **Counters** per episode: steps, separate interventions (rising edges of the flag), intervention steps, and
//!   the rate `intervention_steps / steps`; [`InterventionArbiter::end_episode`] returns and resets them.
//!
//! # In the actor
//! ```
//! use interfaces::config::{TaskConfig, TaskKind, TeleopConfig};
//! use interfaces::msg::TeleopCommand;
//! use interfaces::time::Stamp;
//! use teleop::{Action, ArbiterConfig, GripperAction, InterventionArbiter, TeleopInput};
//!
//! # let task = TaskConfig { kind: TaskKind::Reach, seed: 0, policy_hz: 10.0, episode_time_s: 10.0,
//! #     discount: 0.97, reach_tolerance: 0.02, lift_height: 0.05, reward: Default::default(),
//! #     action_scale_m: 0.02, action_scale_rad: 0.1, max_rotation_rad: 0.5, cube: Default::default() };
//! let mut arbiter = InterventionArbiter::new(ArbiterConfig::new(&TeleopConfig::default(), &task));
//! // Each step: the policy's action and the newest command from `teleop/command` (e.g. `Subscriber::latest`).
//! let policy = Action { continuous: vec![0.2; 6], gripper: GripperAction::Stay };
//! let newest = TeleopCommand { twist: [0.1, 0.0, 0.0, 0.0, 0.0, 0.0], ..Default::default() };
//! let now = Stamp(0); // the actor's clock
//! let decision = arbiter.arbitrate(now, &policy, Some(TeleopInput::stamped(&newest)));
//! // Execute and store `decision.executed`, flag the transition with `decision.intervention`.
//! assert!(decision.intervention && decision.routing().demo);
//! assert!((decision.executed.continuous[0] - 0.5).abs() < 1e-6); // 0.1 m/s · 0.1 s / 0.02 m
//! // At the episode's end: counters for the episode report (`interventions`, `intervention_steps`).
//! let stats = arbiter.end_episode();
//! assert_eq!((stats.interventions, stats.intervention_steps, stats.rate()), (1, 1, 1.0));
//! ```

use interfaces::config::{TaskConfig, TeleopConfig};
use interfaces::msg::TeleopCommand;
use interfaces::time::Stamp;

pub use interfaces::env::{Action, GripperAction};

/// Settings of the arbiter (from `[teleop]` and `[task]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArbiterConfig {
    /// Policy period `dt = 1 / policy_hz`, s.
    pub dt_s: f64,
    /// Translation of action 1.0 per step, m.
    pub action_scale_m: f64,
    /// Rotation of action 1.0 per step, rad (0: the rotation part of the human action is 0).
    pub action_scale_rad: f64,
    /// Threshold on `max |human action component|` for a takeover, action units.
    pub takeover_threshold: f64,
    /// Human control continues this long after the last step above the threshold, ns.
    pub hold_ns: u64,
    /// Commands older than this are ignored, ns.
    pub max_age_ns: u64,
}

impl ArbiterConfig {
    /// From the cell's `[teleop]` and `[task]` sections.
    pub fn new(teleop: &TeleopConfig, task: &TaskConfig) -> Self {
        Self {
            dt_s: 1.0 / task.policy_hz,
            action_scale_m: task.action_scale_m,
            action_scale_rad: task.action_scale_rad,
            takeover_threshold: teleop.takeover_threshold,
            hold_ns: teleop.hold_ms * 1_000_000,
            max_age_ns: teleop.max_age_ms * 1_000_000,
        }
    }

    /// A base-frame twist (m/s, rad/s) as an action: `clamp(twist · dt / scale, −1, 1)` per component.
    pub fn twist_to_action(&self, twist: &[f64; 6]) -> [f64; 6] {
        let mut a = [0.0; 6];
        for (i, (out, v)) in a.iter_mut().zip(twist).enumerate() {
            let scale = if i < 3 { self.action_scale_m } else { self.action_scale_rad };
            let x = if scale > 0.0 && v.is_finite() { v * self.dt_s / scale } else { 0.0 };
            *out = x.clamp(-1.0, 1.0);
        }
        a
    }
}

/// The newest teleop command and the time it is judged by.
#[derive(Debug, Clone, Copy)]
pub struct TeleopInput<'a> {
    /// The command.
    pub command: &'a TeleopCommand,
    /// Its time on the arbiter's clock: the command's own stamp when the device is on the same host, or the
    /// time the actor received it (`bus::Received::received`) when it may come from another machine
    /// (monotonic clocks are not comparable between hosts).
    pub stamp: Stamp,
}

impl<'a> TeleopInput<'a> {
    /// Judged by the command's own stamp (device on the same host).
    pub fn stamped(command: &'a TeleopCommand) -> Self {
        Self { command, stamp: command.header.stamp_ns }
    }
}

/// Which parts of the executed action are the human's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overridden {
    /// The continuous part (translation and rotation).
    pub motion: bool,
    /// The gripper.
    pub gripper: bool,
}

/// Where a transition is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routing {
    /// Online buffer (always).
    pub online: bool,
    /// Demo buffer (interventions).
    pub demo: bool,
}

/// The arbiter's decision for one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Arbitration {
    /// The action to execute and to store, with as many continuous values as the policy's.
    pub executed: Action,
    /// Some part came from the human: the transition is flagged.
    pub intervention: bool,
    /// Which parts.
    pub overridden: Overridden,
    /// The human input was fresh and above the threshold (or takeover held) at this step (false during the
    /// hold time).
    pub human_active: bool,
}

impl Arbitration {
    /// Where the transition of this step goes: online always, the demo buffer too when flagged (the agent's
    /// `ReplayStore::append` routes a transition with `intervention = true` to both).
    pub fn routing(&self) -> Routing {
        Routing { online: true, demo: self.intervention }
    }
}

/// Intervention counters of one episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InterventionStats {
    /// Steps arbitrated.
    pub steps: u64,
    /// Separate interventions (a run of flagged steps counts once).
    pub interventions: u64,
    /// Flagged steps.
    pub intervention_steps: u64,
}

impl InterventionStats {
    /// `intervention_steps / steps`, 0 for an empty episode.
    pub fn rate(&self) -> f64 {
        if self.steps == 0 { 0.0 } else { self.intervention_steps as f64 / self.steps as f64 }
    }
}

/// The arbiter of one actor (see the module docs). Call [`InterventionArbiter::arbitrate`] once per policy step
/// and [`InterventionArbiter::end_episode`] at every episode end.
#[derive(Debug, Clone)]
pub struct InterventionArbiter {
    cfg: ArbiterConfig,
    last_active: Option<Stamp>,
    previous_flag: bool,
    stats: InterventionStats,
}

impl InterventionArbiter {
    /// A fresh arbiter.
    pub fn new(cfg: ArbiterConfig) -> Self {
        Self { cfg, last_active: None, previous_flag: false, stats: InterventionStats::default() }
    }

    /// Its settings.
    pub fn config(&self) -> &ArbiterConfig {
        &self.cfg
    }

    /// Decides the executed action at `now` from the policy's action and the newest teleop input (if any).
    pub fn arbitrate(&mut self, now: Stamp, policy: &Action, teleop: Option<TeleopInput<'_>>) -> Arbitration {
        let fresh = teleop.filter(|t| now.0.saturating_sub(t.stamp.0) <= self.cfg.max_age_ns).map(|t| t.command);
        let human = fresh.map(|c| self.cfg.twist_to_action(&c.twist));
        let above = human.is_some_and(|a| a.iter().any(|x| x.abs() > self.cfg.takeover_threshold));
        let active = above || fresh.is_some_and(|c| c.takeover);
        if active {
            self.last_active = Some(now);
        }
        let motion = active || self.last_active.is_some_and(|t| now.0.saturating_sub(t.0) <= self.cfg.hold_ns);
        let human_gripper = fresh.and_then(|c| GripperAction::from_request(c.gripper_close));
        let n = policy.continuous.len();
        let executed = Action {
            continuous: if motion {
                // The human's twist in the policy's action size (components past the sixth are 0).
                let h = human.unwrap_or([0.0; 6]);
                (0..n).map(|i| h.get(i).map_or(0.0, |&v| v as f32)).collect()
            } else {
                policy.continuous.clone()
            },
            gripper: match (human_gripper, motion) {
                (Some(g), _) => g,
                (None, true) => GripperAction::Stay,
                (None, false) => policy.gripper,
            },
        };
        let overridden = Overridden { motion, gripper: motion || human_gripper.is_some() };
        let intervention = overridden.motion || overridden.gripper;
        self.stats.steps += 1;
        if intervention {
            self.stats.intervention_steps += 1;
            if !self.previous_flag {
                self.stats.interventions += 1;
            }
        }
        self.previous_flag = intervention;
        Arbitration { executed, intervention, overridden, human_active: active }
    }

    /// The counters of the episode so far.
    pub fn stats(&self) -> InterventionStats {
        self.stats
    }

    /// Ends the episode: returns its counters and resets them and the hold timer.
    pub fn end_episode(&mut self) -> InterventionStats {
        let s = self.stats;
        self.stats = InterventionStats::default();
        self.last_active = None;
        self.previous_flag = false;
        s
    }
}
