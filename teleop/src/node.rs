//! The teleop node (`corrigo teleop`): reads one device at a fixed rate and publishes [`TeleopCommand`]s on
//! `teleop/command`, episode controls (`Label`, `StopEpisode`, `ResetEpisode`) as [`OperatorCommand`]s on
//! `teleop/episode`, and its device's e-stop as `EStop` on the node's own `<node>/estop` key. Never on
//! `operator/command`, which the secure profile reserves to the operator (resets, gains): the actor and the
//! recorder take episode controls from `teleop/episode`, the controller and the actor e-stops from every node's
//! e-stop key.
//!
//! Each tick (`teleop.rate_hz`): sample the device; express its twist in the base frame (for
//! `teleop.frame = "end_effector"` with the TCP orientation of the newest `controller/arm_state`); publish it
//! stamped with the node's clock. A device that is missing or goes away is reported (log and an [`Event`] on
//! `teleop/event` naming it) and re-opened every `teleop.reopen_ms`; the node and the rest of the cell keep
//! running meanwhile. The node returns when `stop` is set, or on a bus error.

use crate::controls::EpisodeControl;
use crate::error::TeleopError;
use crate::frame::twist_in_base;
use crate::gamepad::Gamepad;
use crate::keyboard::TerminalKeyboard;
#[cfg(feature = "leader")]
use crate::leader::LeaderArm;
use crate::source::TeleopSource;
use crate::spacemouse::SpaceMouse;
use bus::{Bus, Publisher};
use interfaces::config::{TeleopConfig, TeleopFrameKind};
use interfaces::keys::{ARM_STATE, ESTOP, EVENT, TELEOP_COMMAND, TELEOP_EPISODE};
use interfaces::msg::{ArmState, Command, Event, Header, Level, OperatorCommand, TeleopCommand};
use interfaces::time::{Clock, MonotonicClock, Stamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Which device the node reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// A 3Dconnexion SpaceMouse (`[teleop.spacemouse]`).
    SpaceMouse,
    /// The first gamepad (`[teleop.gamepad]`).
    Gamepad,
    /// The keyboard of the terminal the node runs in (`[teleop.keyboard]`).
    Keyboard,
    /// A leader arm (`[teleop.leader]`).
    Leader,
}

impl DeviceChoice {
    /// Device name as on the command line and in messages: `spacemouse`, `gamepad`, `keyboard`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceChoice::SpaceMouse => "spacemouse",
            DeviceChoice::Gamepad => "gamepad",
            DeviceChoice::Keyboard => "keyboard",
            DeviceChoice::Leader => "leader",
        }
    }

    /// Parses [`DeviceChoice::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        [DeviceChoice::SpaceMouse, DeviceChoice::Gamepad, DeviceChoice::Keyboard, DeviceChoice::Leader]
            .into_iter()
            .find(|d| d.as_str() == s)
    }

    /// Opens the device (`policy_hz`: the task's policy rate, which a leader arm's twists are scaled to).
    pub fn open(self, cfg: &TeleopConfig, policy_hz: f64) -> Result<Box<dyn TeleopSource>, TeleopError> {
        Ok(match self {
            DeviceChoice::SpaceMouse => Box::new(SpaceMouse::open(&cfg.spacemouse)?),
            DeviceChoice::Gamepad => Box::new(Gamepad::open(&cfg.gamepad)?),
            DeviceChoice::Keyboard => Box::new(TerminalKeyboard::open(&cfg.keyboard)?),
            #[cfg(feature = "leader")]
            DeviceChoice::Leader => Box::new(LeaderArm::open(&cfg.leader, cfg.hold_ms, 1.0 / policy_hz.max(1e-3))?),
            #[cfg(not(feature = "leader"))]
            DeviceChoice::Leader => {
                let _ = policy_hz;
                return Err(TeleopError::NotFound {
                    device: "leader".into(),
                    detail: "this build of the teleop crate has no leader arm (feature `leader`)".into(),
                });
            }
        })
    }
}

/// What a node run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TeleopNodeReport {
    /// Teleop commands published.
    pub commands: u64,
    /// Episode controls published.
    pub controls: u64,
    /// E-stops published on the node's `<node>/estop`.
    pub estops: u64,
    /// Times the device was missing or went away.
    pub device_errors: u64,
    /// Ticks skipped because the end-effector frame was configured and no arm state had arrived.
    pub waiting_for_pose: u64,
}

/// Runs the teleop node on `bus` with `device` until `stop` is set (see the module docs); `policy_hz` is the
/// task's policy rate; `node` is the node's name on the bus, the `<node>` of its e-stop key (the certificate's
/// name, `bus.security.node`, under the secure profile; `teleop` otherwise). Errors only on bus failures; device
/// problems are reported and retried.
pub fn run_teleop_node(
    bus: &Bus,
    cfg: &TeleopConfig,
    device: DeviceChoice,
    policy_hz: f64,
    node: &str,
    stop: &AtomicBool,
) -> Result<TeleopNodeReport, TeleopError> {
    run_teleop_node_with(bus, cfg, node, device.as_str(), || device.open(cfg, policy_hz), &MonotonicClock, stop)
}

struct Outputs {
    commands: Publisher<TeleopCommand>,
    episode: Publisher<OperatorCommand>,
    estop: Publisher<OperatorCommand>,
    events: Publisher<Event>,
}

impl Outputs {
    fn event(&mut self, clock: &dyn Clock, level: Level, text: String) -> Result<(), TeleopError> {
        match level {
            Level::Error | Level::Warn => tracing::warn!("{text}"),
            Level::Info => tracing::info!("{text}"),
        }
        let mut e = Event { header: Header { seq: 0, stamp_ns: clock.now() }, node: "teleop".into(), level, text };
        self.events.publish(&mut e)?;
        Ok(())
    }
}

/// [`run_teleop_node`] with an injected device opener and clock (tests, the sim, or a device other than the
/// built-in ones). `node` is the `<node>` of the e-stop key; `device_name` names the device in messages before it
/// is open.
pub fn run_teleop_node_with<F>(
    bus: &Bus,
    cfg: &TeleopConfig,
    node: &str,
    device_name: &str,
    mut open: F,
    clock: &dyn Clock,
    stop: &AtomicBool,
) -> Result<TeleopNodeReport, TeleopError>
where
    F: FnMut() -> Result<Box<dyn TeleopSource>, TeleopError>,
{
    let _token = bus.announce("teleop")?;
    let mut out = Outputs {
        commands: bus.publisher(TELEOP_COMMAND, None)?,
        episode: bus.publisher(TELEOP_EPISODE, None)?,
        estop: bus.publisher(ESTOP, Some(node))?,
        events: bus.publisher(EVENT, Some("teleop"))?,
    };
    // The arm's state: the TCP orientation of the end-effector frame, and the follower's pose for a leader arm.
    let arm = bus.subscribe::<ArmState>(ARM_STATE, None)?;
    let period_ns = (1e9 / cfg.rate_hz).round().max(1.0) as u64;
    let reopen_ns = cfg.reopen_ms * 1_000_000;
    let mut report = TeleopNodeReport::default();
    let mut source: Option<Box<dyn TeleopSource>> = None;
    let mut next_open = clock.now();
    let mut ee_pose = None;
    let mut next_tick = clock.now();
    let mut warned_pose = false;
    while !stop.load(Ordering::Relaxed) {
        let now = clock.now();
        if now < next_tick {
            std::thread::sleep(Duration::from_nanos((next_tick.0 - now.0).min(period_ns)));
            continue;
        }
        next_tick = Stamp(next_tick.0.saturating_add(period_ns).max(now.0));
        if let Some(r) = arm.latest() {
            ee_pose = Some(r.msg.ee_pose);
        }
        if source.is_none() && now >= next_open {
            match open() {
                Ok(s) => {
                    out.event(clock, Level::Info, format!("{}: in use for teleoperation", s.name()))?;
                    source = Some(s);
                }
                Err(e) => {
                    report.device_errors += 1;
                    next_open = now.plus_ns(reopen_ns);
                    if report.device_errors == 1 || reopen_ns >= 5_000_000_000 {
                        out.event(
                            clock,
                            Level::Error,
                            format!("{e}; {device_name}: retrying every {} ms", cfg.reopen_ms),
                        )?;
                    }
                }
            }
        }
        let Some(dev) = source.as_mut() else { continue };
        if let Some(p) = &ee_pose {
            dev.follower_pose(&p.to_isometry());
        }
        let sample = match dev.sample(now) {
            Ok(s) => s,
            Err(e) => {
                report.device_errors += 1;
                out.event(clock, Level::Error, format!("{e}; retrying every {} ms", cfg.reopen_ms))?;
                source = None;
                next_open = now.plus_ns(reopen_ns);
                continue;
            }
        };
        if sample.estop {
            // First: nothing else of this sample goes out before the e-stop.
            let mut m = OperatorCommand { header: Header { seq: 0, stamp_ns: clock.now() }, command: Command::EStop };
            out.estop.publish(&mut m)?;
            report.estops += 1;
            tracing::warn!(key = %bus.key(ESTOP, Some(node)), "e-stop from the teleop device");
        }
        for c in &sample.controls {
            publish_control(&mut out.episode, clock, *c)?;
            report.controls += 1;
        }
        let frame = if dev.base_frame() { TeleopFrameKind::Base } else { cfg.frame };
        let Some(twist) = twist_in_base(sample.reading.twist, frame, ee_pose.as_ref()) else {
            report.waiting_for_pose += 1;
            if !warned_pose {
                warned_pose = true;
                out.event(
                    clock,
                    Level::Warn,
                    "teleop.frame = \"end_effector\" but no controller/arm_state yet: commands held back".into(),
                )?;
            }
            continue;
        };
        let mut msg = TeleopCommand {
            header: Header { seq: 0, stamp_ns: sample.reading.stamp },
            device: dev.name().split(' ').next().unwrap_or(device_name).to_string(),
            twist,
            gripper_close: sample.reading.gripper_close,
            takeover: sample.reading.takeover,
        };
        out.commands.publish(&mut msg)?;
        report.commands += 1;
    }
    Ok(report)
}

fn publish_control(
    p: &mut Publisher<OperatorCommand>,
    clock: &dyn Clock,
    c: EpisodeControl,
) -> Result<(), TeleopError> {
    tracing::info!(control = ?c, "episode control from the teleop device");
    let mut m = OperatorCommand { header: Header { seq: 0, stamp_ns: clock.now() }, command: c.command() };
    p.publish(&mut m)?;
    Ok(())
}
