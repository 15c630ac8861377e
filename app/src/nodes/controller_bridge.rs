//! The controller's non-real-time bridge: moves pose targets and operator commands from the bus into the
//! real-time loop (through [`ControllerHandle`]'s lock-free cells) and publishes the arm state. A driver fault
//! (the loop holds the arm in its safe state) is published as an error [`Event`] naming the device.
//!
//! Runs on its own named thread; the 1 kHz loop never sees zenoh. A rejected command (gains out of range, a
//! gripper command out of limits) is answered with an [`Event`] naming why; the gains in force stay.

use bus::Bus;
use controller::rt::{CommandError, ControllerHandle};
use interfaces::keys::{ARM_STATE, ESTOP, EVENT, OPERATOR_COMMAND, POSE_TARGET};
use interfaces::msg::{ArmState, Command, Event, Header, Level, OperatorCommand, PoseTarget};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Settings of the bridge.
#[derive(Debug, Clone, Copy)]
pub struct BridgeOptions {
    /// Arm-state publishing rate, Hz.
    pub state_hz: f64,
}

/// Starts the bridge thread; it runs until `stop` is set or the loop stops.
pub fn spawn(
    bus: &Bus,
    handle: Arc<ControllerHandle>,
    opts: BridgeOptions,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<JoinHandle<()>> {
    let mut state_pub = bus.publisher::<ArmState>(ARM_STATE, None)?;
    let mut events = bus.publisher::<Event>(EVENT, Some("controller"))?;
    let targets = bus.subscribe::<PoseTarget>(POSE_TARGET, None)?;
    let commands = bus.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None)?;
    // Any node's e-stop (`<node>/estop`, open to every certified node in the secure profile); nothing else there.
    let estops = bus.subscribe::<OperatorCommand>(ESTOP, Some("*"))?;
    let token = bus.announce("controller")?;
    let period = Duration::from_secs_f64(1.0 / opts.state_hz.clamp(1.0, 1000.0));
    std::thread::Builder::new()
        .name("controller-bridge".into())
        .spawn(move || {
            let _token = token;
            let mut pacer = super::pacer::Pacer::new(period);
            let mut report = |level: Level, text: String| {
                tracing::event!(tracing::Level::WARN, "{text}");
                let mut e = Event { header: Header::now(), node: "controller".into(), level, text };
                if let Err(err) = events.publish(&mut e) {
                    tracing::warn!("cannot publish controller event: {err}");
                }
            };
            while !stop.load(Ordering::Acquire) && handle.is_running() {
                while let Some(e) = estops.try_recv() {
                    if matches!(e.msg.command, Command::EStop) && handle.command(&Command::EStop).is_ok() {
                        report(Level::Warn, format!("e-stop latched by {}", e.key));
                    }
                }
                while let Some(c) = commands.try_recv() {
                    match handle.command(&c.msg.command) {
                        Ok(()) => {
                            if matches!(c.msg.command, Command::EStop) {
                                report(Level::Warn, "e-stop latched by operator command".into());
                            }
                        }
                        Err(CommandError::NotForController { .. }) => {}
                        Err(e) => report(Level::Error, format!("operator command rejected: {e}")),
                    }
                }
                while let Some(e) = handle.next_fault() {
                    report(Level::Error, format!("controller fault, the arm is in its safe state: {e}"));
                }
                while let Some(e) = handle.next_gripper_fault() {
                    report(Level::Warn, format!("gripper fault (the arm keeps running): {e}"));
                }
                if let Some(t) = targets.latest()
                    && let Err(e) = handle.set_target(&t.msg)
                {
                    report(Level::Error, format!("pose target from {} rejected: {e}", t.key));
                }
                let mut s = handle.latest_state();
                // Stamp 0 is before the loop's first cycle or the first instant of a simulation: not a state yet
                // (the bus sends a zero stamp as "no stamp").
                if s.header.stamp_ns == interfaces::Stamp(0) {
                    pacer.wait();
                    continue;
                }
                if let Err(e) = state_pub.publish(&mut s) {
                    tracing::warn!("cannot publish arm state: {e}");
                }
                pacer.wait();
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot start thread `controller-bridge`: {e}"))
}
