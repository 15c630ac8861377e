//! Where the panel's commands go: a [`CommandSink`]. The panel publishes through [`BusSink`]; tests capture what
//! it sends with [`RecordingSink`], without a network.

use crate::UiError;
use bus::security::{Registry, Role};
use bus::{Bus, Publisher};
use interfaces::config::BusConfig;
use interfaces::keys::{ESTOP, OPERATOR_COMMAND, TELEOP_COMMAND};
use interfaces::msg::{Command, Header, OperatorCommand, TeleopCommand};
use std::sync::{Arc, Mutex};

/// Receives what the operator asks for.
pub trait CommandSink: Send {
    /// Sends an operator command (e-stop, episode, label, gains). On error nothing was sent; the panel shows
    /// the error.
    fn send_command(&mut self, command: Command) -> Result<(), UiError>;
    /// Sends one sample of the virtual joystick to the intervention arbiter.
    fn send_teleop(&mut self, teleop: TeleopCommand) -> Result<(), UiError>;
}

/// Where the panel's e-stops go: its own `<node>/estop` key always (the controller and an in-process actor listen
/// to every node's, and its queue cannot be flooded by other nodes), and `operator/command` too when the panel's
/// role may put there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EStopRoute {
    /// The `<node>` of the e-stop key.
    pub node: String,
    /// Also send the e-stop on `operator/command`.
    pub operator_command: bool,
}

impl EStopRoute {
    /// The panel's route on a bus configured by `cfg`: under the secure profile, `<bus.security.node>/estop`, and
    /// `operator/command` when that node's role in `<bus.security.dir>/roles.toml` may put it (a registry that
    /// cannot be read: not); otherwise `operator/estop` and `operator/command`.
    pub fn for_bus(cfg: &BusConfig) -> Self {
        let role = if cfg.security.enabled {
            Registry::load(std::path::Path::new(&cfg.security.dir))
                .ok()
                .and_then(|r| r.nodes.get(&cfg.security.node).copied())
        } else {
            None
        };
        Self::with_role(cfg, role)
    }

    /// [`EStopRoute::for_bus`] with the node's role given (`None`: not in the registry, or the plain profile).
    pub fn with_role(cfg: &BusConfig, role: Option<Role>) -> Self {
        if cfg.security.enabled {
            Self {
                node: cfg.security.node.clone(),
                operator_command: role.is_some_and(|r| r.may_put(OPERATOR_COMMAND.info())),
            }
        } else {
            Self { node: "operator".into(), operator_command: true }
        }
    }
}

/// Publishes on the cell's bus: commands on `operator/command`, e-stops on the panel's own `<node>/estop` (and on
/// `operator/command` where its role may, [`EStopRoute`]), joystick samples on `teleop/command`.
#[derive(Debug)]
pub struct BusSink {
    commands: Publisher<OperatorCommand>,
    estop: Publisher<OperatorCommand>,
    estop_on_commands: bool,
    teleop: Publisher<TeleopCommand>,
}

impl BusSink {
    /// Declares the publishers on `bus`, e-stops routed by `route`.
    pub fn new(bus: &Bus, route: &EStopRoute) -> Result<Self, UiError> {
        Ok(Self {
            commands: bus.publisher(OPERATOR_COMMAND, None)?,
            estop: bus.publisher(ESTOP, Some(&route.node))?,
            estop_on_commands: route.operator_command,
            teleop: bus.publisher(TELEOP_COMMAND, None)?,
        })
    }
}

impl CommandSink for BusSink {
    /// An e-stop goes on the panel's own e-stop key first, then (where its role may) on `operator/command`, even
    /// when the first failed; the error then names the key that failed.
    fn send_command(&mut self, command: Command) -> Result<(), UiError> {
        let what = format!("{command:?}");
        let mut msg = OperatorCommand { header: Header::now(), command };
        let send_err =
            |key: &str, e: bus::BusError| UiError::Send { what: format!("{what} on {key}"), reason: e.to_string() };
        if msg.command == Command::EStop {
            let own = self.estop.publish(&mut msg).map(|_| ()).map_err(|e| send_err("its e-stop key", e));
            let mut msg = OperatorCommand { header: Header::now(), command: Command::EStop };
            let shared = if self.estop_on_commands {
                self.commands.publish(&mut msg).map(|_| ()).map_err(|e| send_err("operator/command", e))
            } else {
                Ok(())
            };
            return own.and(shared);
        }
        self.commands.publish(&mut msg).map(|_| ()).map_err(|e| UiError::Send { what, reason: e.to_string() })
    }

    fn send_teleop(&mut self, mut teleop: TeleopCommand) -> Result<(), UiError> {
        self.teleop
            .publish(&mut teleop)
            .map(|_| ())
            .map_err(|e| UiError::Send { what: "teleop command".into(), reason: e.to_string() })
    }
}

/// Something the panel sent, as captured by a [`RecordingSink`].
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// An operator command.
    Command(Command),
    /// A joystick sample.
    Teleop(TeleopCommand),
}

/// Keeps everything sent, in order; clones share the record. For tests and dry runs.
#[derive(Debug, Clone, Default)]
pub struct RecordingSink {
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl RecordingSink {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The operator commands sent so far.
    pub fn commands(&self) -> Vec<Command> {
        self.sent()
            .into_iter()
            .filter_map(|s| match s {
                Sent::Command(c) => Some(c),
                Sent::Teleop(_) => None,
            })
            .collect()
    }

    /// The joystick samples sent so far.
    pub fn teleop(&self) -> Vec<TeleopCommand> {
        self.sent()
            .into_iter()
            .filter_map(|s| match s {
                Sent::Teleop(t) => Some(t),
                Sent::Command(_) => None,
            })
            .collect()
    }

    fn push(&self, s: Sent) -> Result<(), UiError> {
        self.sent
            .lock()
            .map(|mut v| v.push(s))
            .map_err(|_| UiError::Send { what: "recorded command".into(), reason: "record poisoned".into() })
    }
}

impl CommandSink for RecordingSink {
    fn send_command(&mut self, command: Command) -> Result<(), UiError> {
        self.push(Sent::Command(command))
    }

    fn send_teleop(&mut self, teleop: TeleopCommand) -> Result<(), UiError> {
        self.push(Sent::Teleop(teleop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_estops_on_its_certificate_key_and_on_operator_command_only_where_its_role_may() {
        let plain = BusConfig::default();
        assert_eq!(EStopRoute::with_role(&plain, None), EStopRoute { node: "operator".into(), operator_command: true });
        let mut secure = BusConfig::default();
        secure.security.enabled = true;
        secure.security.node = "panel-2".into();
        let route = |role| EStopRoute::with_role(&secure, role);
        assert_eq!(route(Some(Role::Operator)), EStopRoute { node: "panel-2".into(), operator_command: true });
        assert!(route(Some(Role::Cell)).operator_command);
        for role in [Some(Role::Observer), Some(Role::Teleop), None] {
            assert_eq!(route(role), EStopRoute { node: "panel-2".into(), operator_command: false }, "{role:?}");
        }
    }
}
