//! The command keys the actor and the recorder take commands from, and what each key may carry.
//!
//! | key | commands taken |
//! |---|---|
//! | `operator/command` | every [`Command`] (the operator's panel; the secure profile lets only the operator role put it) |
//! | `teleop/episode` | a teleop device's episode controls: `Label`, `StartEpisode`, `StopEpisode`, `ResetEpisode` |
//! | `<node>/estop`, every node's | `EStop` only |
//!
//! Anything else that arrives on a key is refused, counted by the caller and never acted on (a `ResetEStop` or
//! `SetGains` on `teleop/episode` or an e-stop key does not reset or change anything).
//!
//! Commands of one drain are handed over in order of arrival across the keys (the bus's receive stamp, one
//! monotonic clock for every subscriber of the process): a reset that arrived before an e-stop is applied before
//! it, so the e-stop stands.

use bus::{Bus, BusError, Received, Subscriber};
use interfaces::keys::{ESTOP, OPERATOR_COMMAND, TELEOP_EPISODE};
use interfaces::msg::{Command, OperatorCommand};

/// Which command key a command arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKey {
    /// `operator/command`.
    Operator,
    /// `teleop/episode`.
    TeleopEpisode,
    /// A node's `<node>/estop`.
    EStop,
}

impl CommandKey {
    /// Whether `command` may arrive on this key (see the module docs).
    pub fn admits(self, command: &Command) -> bool {
        match self {
            CommandKey::Operator => true,
            CommandKey::TeleopEpisode => matches!(
                command,
                Command::Label(_) | Command::StartEpisode | Command::StopEpisode | Command::ResetEpisode
            ),
            CommandKey::EStop => matches!(command, Command::EStop),
        }
    }
}

/// A command refused because its key may not carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The key it arrived on (`corrigo/<cell>/…`).
    pub key: String,
    /// The command refused.
    pub command: Command,
}

impl Refusal {
    /// Counts this refusal in `count` and returns the warning to report when it is worth one (the first, then every
    /// 100th), naming the command, the key and the count.
    pub fn count_and_report(&self, count: &mut u64) -> Option<String> {
        *count = count.saturating_add(1);
        (*count == 1 || count.is_multiple_of(100)).then(|| {
            format!("{:?} on {} refused: that key does not carry it ({count} refused so far)", self.command, self.key)
        })
    }
}

/// What one drain of the command keys gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drained {
    /// The commands to act on, in order of arrival.
    pub commands: Vec<Command>,
    /// The commands refused (their key may not carry them), in order of arrival.
    pub refused: Vec<Refusal>,
}

/// Orders `received` by arrival (a stable sort: one key's messages keep their order) and keeps the commands their
/// key admits.
pub fn judge(mut received: Vec<(CommandKey, Received<OperatorCommand>)>) -> Drained {
    received.sort_by_key(|(_, r)| r.received);
    let mut out = Drained::default();
    for (key, r) in received {
        if key.admits(&r.msg.command) {
            out.commands.push(r.msg.command);
        } else {
            out.refused.push(Refusal { key: r.key, command: r.msg.command });
        }
    }
    out
}

/// The subscriptions to every command key of a cell.
#[derive(Debug)]
pub struct CommandInbox {
    operator: Subscriber<OperatorCommand>,
    episode: Subscriber<OperatorCommand>,
    estops: Subscriber<OperatorCommand>,
}

impl CommandInbox {
    /// Subscribes to `operator/command`, `teleop/episode` and every node's `<node>/estop` of `bus`'s cell.
    pub fn open(bus: &Bus) -> Result<Self, BusError> {
        Ok(Self {
            operator: bus.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None)?,
            episode: bus.subscribe::<OperatorCommand>(TELEOP_EPISODE, None)?,
            estops: bus.subscribe::<OperatorCommand>(ESTOP, Some("*"))?,
        })
    }

    /// Everything received since the last drain, judged by [`judge`]. Never blocks.
    pub fn drain(&self) -> Drained {
        let mut all = Vec::new();
        while let Some(r) = self.estops.try_recv() {
            all.push((CommandKey::EStop, r));
        }
        while let Some(r) = self.operator.try_recv() {
            all.push((CommandKey::Operator, r));
        }
        while let Some(r) = self.episode.try_recv() {
            all.push((CommandKey::TeleopEpisode, r));
        }
        judge(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::Stamp;
    use interfaces::msg::Header;

    fn at(key: CommandKey, t: u64, command: Command) -> (CommandKey, Received<OperatorCommand>) {
        let name = match key {
            CommandKey::Operator => "corrigo/c/operator/command",
            CommandKey::TeleopEpisode => "corrigo/c/teleop/episode",
            CommandKey::EStop => "corrigo/c/teleop/estop",
        };
        (
            key,
            Received {
                key: name.into(),
                received: Stamp(t),
                msg: OperatorCommand { header: Header::default(), command },
            },
        )
    }

    #[test]
    fn an_estop_key_carries_estops_only_and_the_rest_is_refused() {
        let d = judge(vec![
            at(CommandKey::EStop, 1, Command::ResetEStop),
            at(CommandKey::EStop, 2, Command::Label(true)),
            at(CommandKey::EStop, 3, Command::EStop),
        ]);
        assert_eq!(d.commands, [Command::EStop]);
        assert_eq!(
            d.refused.iter().map(|r| r.command.clone()).collect::<Vec<_>>(),
            [Command::ResetEStop, Command::Label(true)]
        );
        assert_eq!(d.refused[0].key, "corrigo/c/teleop/estop");
    }

    #[test]
    fn teleop_episode_carries_the_four_episode_controls_only() {
        let episode = [Command::Label(true), Command::Label(false), Command::StartEpisode, Command::StopEpisode];
        let mut sent: Vec<_> = episode.iter().map(|c| at(CommandKey::TeleopEpisode, 1, c.clone())).collect();
        sent.push(at(CommandKey::TeleopEpisode, 2, Command::ResetEpisode));
        let gains = interfaces::msg::ImpedanceGains {
            translational_stiffness: [1e9; 3],
            rotational_stiffness: [1e9; 3],
            translational_damping: [0.0; 3],
            rotational_damping: [0.0; 3],
            translational_clip: [1.0; 3],
            rotational_clip: [1.0; 3],
            nullspace_stiffness: 0.0,
        };
        for hostile in [Command::EStop, Command::ResetEStop, Command::SetGains(gains)] {
            sent.push(at(CommandKey::TeleopEpisode, 3, hostile));
        }
        let d = judge(sent);
        assert_eq!(d.commands, [&episode[..], &[Command::ResetEpisode]].concat());
        assert_eq!(d.refused.len(), 3, "{:?}", d.refused);
        assert!(d.refused.iter().all(|r| r.key == "corrigo/c/teleop/episode"));
        assert!(CommandKey::Operator.admits(&Command::ResetEStop), "operator/command carries every command");
    }

    #[test]
    fn commands_are_ordered_by_arrival_across_keys_so_an_earlier_reset_never_clears_a_later_estop() {
        let d = judge(vec![
            at(CommandKey::EStop, 20, Command::EStop),
            at(CommandKey::Operator, 10, Command::ResetEStop),
            at(CommandKey::Operator, 30, Command::StopEpisode),
        ]);
        assert_eq!(d.commands, [Command::ResetEStop, Command::EStop, Command::StopEpisode]);
        assert!(d.refused.is_empty());
    }
}
