//! The recorder (`corrigo record --teleop`): a human records demonstrations with a teleop device in any
//! [`CellEnv`]: the simulated cell of this process or (`--env bus`) a cell whose controller and cameras are other
//! nodes, a real arm under `corrigo controller` or the simulated one.
//!
//! The device runs as its own node (`corrigo teleop --device spacemouse|gamepad|keyboard`, or the panel's virtual
//! joystick) and publishes `teleop/command`; this node runs the cell at the policy rate and executes the newest
//! fresh command as the action (the twist converted to the action space exactly as the intervention arbiter
//! does; no fresh command: the arm holds still). Episode controls come from the device's buttons
//! (`teleop/episode`) or the panel (`operator/command`): `Label(true|false)` marks the episode, `StopEpisode` ends it, `ResetEpisode` discards it
//! and records it again. `EStop` (there or on any node's `<node>/estop`) and `ResetEStop` go to an environment
//! in this process; commands a key may not carry are refused and counted ([`crate::node::commands`]). An episode goes to the demo buffer only when it is marked successful (or, unmarked, when
//! the task's own success criterion holds at its end); the buffer is flushed after each kept episode, so a crash
//! loses at most the episode in progress.

use crate::node::commands::CommandInbox;
use crate::replay::{Action, GripperAction, ReplayStore, StoreOptions, Transition};
use anyhow::{Context, Result};
use bus::Bus;
use interfaces::env::{CellEnv, obs_spec};
use interfaces::keys::{ARM_STATE, EVENT, TELEOP_COMMAND};
use interfaces::msg::{ArmState, Command, Event, Header, Level, TeleopCommand};
use interfaces::{CellConfig, Clock, MonotonicClock, Stamp};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use teleop::ArbiterConfig;

/// Settings of a human recording session.
#[derive(Debug, Clone)]
pub struct HumanRecordOptions {
    /// Run directory whose demo buffer receives the demonstrations (no learner may have it open).
    pub run_dir: PathBuf,
    /// Successful demonstrations to record.
    pub episodes: usize,
    /// Seed of the episodes' initial conditions.
    pub seed: u64,
}

/// What a recording session did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HumanRecordSummary {
    /// Episodes kept (in the demo buffer).
    pub kept: usize,
    /// Episodes discarded (marked failed, unsuccessful, or reset).
    pub discarded: usize,
    /// Transitions added to the demo buffer.
    pub transitions: usize,
    /// Commands refused because their key may not carry them ([`crate::node::commands`]).
    pub commands_refused: u64,
}

/// Records demonstrations in `env` until `episodes` are kept or `stop` is set; `pace`: keep the policy rate here
/// (an environment that runs as fast as the CPU allows; the cell over the bus keeps its controller's pace).
pub fn run(
    cfg: &CellConfig,
    bus: &Bus,
    opts: &HumanRecordOptions,
    stop: Arc<AtomicBool>,
    env: &mut dyn CellEnv,
    pace: bool,
) -> Result<HumanRecordSummary> {
    let spec = obs_spec(cfg);
    let mut store = ReplayStore::open(opts.run_dir.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent))
        .with_context(|| format!("opening the replay store in {}", opts.run_dir.display()))?;
    let _token = bus.announce("recorder")?;
    let teleop_sub = bus.subscribe::<TeleopCommand>(TELEOP_COMMAND, None)?;
    let commands = CommandInbox::open(bus)?;
    let mut state_pub = bus.publisher::<ArmState>(ARM_STATE, None)?;
    let mut events = bus.publisher::<Event>(EVENT, Some("recorder"))?;
    let mut say = |level: Level, text: String| {
        println!("{text}");
        let _ = events.publish(&mut Event { header: Header::now(), node: "recorder".into(), level, text });
    };
    let mapping = ArbiterConfig::new(&cfg.teleop, &cfg.task);
    let max_age = Duration::from_millis(cfg.teleop.max_age_ms);
    let period = Duration::from_secs_f64(1.0 / cfg.task.policy_hz);
    let clock = MonotonicClock;
    let mut latest: Option<(TeleopCommand, Stamp)> = None;
    let mut summary = HumanRecordSummary::default();
    let mut attempt = 0usize;
    while summary.kept < opts.episodes && !stop.load(Ordering::Acquire) {
        attempt += 1;
        let (mut obs, mut stamp) = env.reset().context("resetting the environment")?;
        say(
            Level::Info,
            format!(
                "demo {}/{} (attempt {attempt}): teleoperate; mark success or failure, stop or reset with the device \
                 buttons or the panel",
                summary.kept + 1,
                opts.episodes
            ),
        );
        let mut transitions: Vec<Transition> = Vec::new();
        let (mut label, mut reset, mut success) = (None::<bool>, false, false);
        loop {
            let tick = Instant::now();
            if stop.load(Ordering::Acquire) {
                break;
            }
            let mut end = false;
            let drained = commands.drain();
            for r in drained.refused {
                if let Some(text) = r.count_and_report(&mut summary.commands_refused) {
                    say(Level::Warn, text);
                }
            }
            for c in drained.commands {
                match c {
                    Command::Label(b) => label = Some(b),
                    Command::StopEpisode => end = true,
                    Command::ResetEpisode => reset = true,
                    Command::EStop => env.estop(),
                    Command::ResetEStop => env.reset_estop(),
                    Command::StartEpisode | Command::SetGains(_) => {}
                }
            }
            if end || reset {
                break;
            }
            if let Some(c) = teleop_sub.latest() {
                latest = Some((c.msg, c.received));
            }
            let now = clock.now();
            let fresh = latest.as_ref().filter(|(_, at)| now.0.saturating_sub(at.0) <= max_age.as_nanos() as u64);
            let action = human_action(&mapping, fresh.map(|(c, _)| c), spec.action_dim, spec.gripper);
            if env.estopped() {
                std::thread::sleep(period);
                continue;
            }
            let s = env.step(&action).context("stepping the environment")?;
            transitions.push(Transition::from_step(&obs, stamp, action, &s, (attempt as u64) | (opts.seed << 32)));
            success |= s.success;
            if let Some(mut st) = env.arm_state_to_publish() {
                state_pub.publish(&mut st)?;
            }
            obs = s.obs;
            stamp = s.stamp_ns;
            if s.done || s.truncated {
                break;
            }
            if pace && let Some(rest) = period.checked_sub(tick.elapsed()) {
                std::thread::sleep(rest); // the environment over the bus keeps the controller's pace itself
            }
        }
        let keep = !reset && !transitions.is_empty() && label.unwrap_or(success);
        if keep {
            for t in &transitions {
                store.append_demo(t)?;
            }
            store.flush()?;
            summary.kept += 1;
            summary.transitions += transitions.len();
            say(Level::Info, format!("  kept: {} steps in the demo buffer", transitions.len()));
        } else {
            summary.discarded += 1;
            let why = if reset {
                "reset, recording it again"
            } else if label == Some(false) {
                "marked failed"
            } else {
                "not successful"
            };
            say(Level::Warn, format!("  discarded ({why})"));
        }
    }
    Ok(summary)
}

/// The action of a human command (`None`: no fresh command, the arm holds still and the gripper stays).
fn human_action(mapping: &ArbiterConfig, command: Option<&TeleopCommand>, dim: usize, gripper: bool) -> Action {
    let twist = command.map_or([0.0; 6], |c| mapping.twist_to_action(&c.twist));
    let gripper = match command.and_then(|c| c.gripper_close) {
        Some(true) if gripper => GripperAction::Close,
        Some(false) if gripper => GripperAction::Open,
        _ => GripperAction::Stay,
    };
    Action { continuous: twist.iter().take(dim).map(|&v| v as f32).collect(), gripper }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_becomes_the_scaled_action_and_no_command_holds_still() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../hardware_configs/sim_panda.toml");
        let cfg = CellConfig::from_toml_str(&std::fs::read_to_string(path).unwrap(), path).unwrap();
        let m = ArbiterConfig::new(&cfg.teleop, &cfg.task);
        let c =
            TeleopCommand { twist: [0.1, 0.0, -0.1, 0.0, 0.0, 0.0], gripper_close: Some(true), ..Default::default() };
        let a = human_action(&m, Some(&c), 6, true);
        let expected = m.twist_to_action(&c.twist);
        assert_eq!(a.continuous, expected.iter().map(|&v| v as f32).collect::<Vec<_>>());
        assert_eq!(a.gripper, GripperAction::Close);
        assert_eq!(human_action(&m, Some(&c), 6, false).gripper, GripperAction::Stay, "no gripper in the task");
        let still = human_action(&m, None, 3, true);
        assert_eq!((still.continuous, still.gripper), (vec![0.0; 3], GripperAction::Stay));
    }
}
