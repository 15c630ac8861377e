//! Where the panel's commands go: a [`CommandSink`]. The panel publishes through [`BusSink`]; tests capture what
//! it sends with [`RecordingSink`], without a network.

use crate::UiError;
use bus::{Bus, Publisher};
use interfaces::keys::{OPERATOR_COMMAND, TELEOP_COMMAND};
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

/// Publishes on the cell's bus: commands on `operator/command`, joystick samples on `teleop/command`.
#[derive(Debug)]
pub struct BusSink {
    commands: Publisher<OperatorCommand>,
    teleop: Publisher<TeleopCommand>,
}

impl BusSink {
    /// Declares the two publishers on `bus`.
    pub fn new(bus: &Bus) -> Result<Self, UiError> {
        Ok(Self { commands: bus.publisher(OPERATOR_COMMAND, None)?, teleop: bus.publisher(TELEOP_COMMAND, None)? })
    }
}

impl CommandSink for BusSink {
    fn send_command(&mut self, command: Command) -> Result<(), UiError> {
        let what = format!("{command:?}");
        let mut msg = OperatorCommand { header: Header::now(), command };
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
