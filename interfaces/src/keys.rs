//! Key expressions of the bus: `corrigo/<cell>/<node>/<topic>`.
//!
//! Each [`Topic`] is declared once here with the one message type it carries; the list is the single source of
//! truth for which node publishes what; `bus` derives QoS from it and `docs/messages.md` documents each entry.

/// Where a topic lives and how the bus treats it, without its message type (for listing every topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicInfo {
    /// Publishing node (`controller`, `camera`, `actor`, `learner`, `teleop`, `operator`).
    pub node: &'static str,
    /// Topic name under the node. May contain a `{}` placeholder filled by [`TopicInfo::key_for`] (e.g. a camera).
    pub name: &'static str,
    /// How the bus treats it.
    pub class: TopicClass,
}

/// A topic on the bus and the one message type it carries: `bus` publishes and subscribes only that type on it,
/// so subscribing to a key with the wrong message type does not compile.
pub struct Topic<T> {
    info: TopicInfo,
    ty: std::marker::PhantomData<fn() -> T>,
}

impl<T> Topic<T> {
    /// The topic `name` of `node` in `class`, carrying `T`.
    pub const fn new(node: &'static str, name: &'static str, class: TopicClass) -> Self {
        Self { info: TopicInfo { node, name, class }, ty: std::marker::PhantomData }
    }
    /// Node, name and class.
    pub const fn info(&self) -> TopicInfo {
        self.info
    }
    /// The topic's delivery class.
    pub const fn class(&self) -> TopicClass {
        self.info.class
    }
    /// See [`TopicInfo::key`].
    pub fn key(&self, cell: &str) -> String {
        self.info.key(cell)
    }
    /// See [`TopicInfo::key_for`].
    pub fn key_for(&self, cell: &str, instance: &str) -> String {
        self.info.key_for(cell, instance)
    }
    /// See [`TopicInfo::key_all`].
    pub fn key_all(&self, cell: &str) -> String {
        self.info.key_all(cell)
    }
}

impl<T> Clone for Topic<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Topic<T> {}
impl<T> std::fmt::Debug for Topic<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topic").field("info", &self.info).field("type", &std::any::type_name::<T>()).finish()
    }
}
impl<T> PartialEq for Topic<T> {
    fn eq(&self, other: &Self) -> bool {
        self.info == other.info
    }
}
impl<T> Eq for Topic<T> {}

/// Delivery class of a topic, mapped by the `bus` crate onto zenoh QoS and a maximum payload per topic
/// (`bus::qos`: 64 KiB for control, telemetry and small reliable messages; 8 MiB for policy frames; 256 MiB for
/// full frames, transitions and policy weights), so a topic's message must stay within its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicClass {
    /// Control and state: express (no batching), real-time priority, newest value wins (drop under congestion).
    Control,
    /// Camera frames: droppable under congestion, data priority.
    Frames,
    /// Must arrive (transitions, operator commands, weights): reliable, blocks the publisher under congestion.
    Reliable,
    /// Telemetry (metrics, logs): best effort, low priority.
    Telemetry,
}

/// Arm state from the controller ([`crate::msg::ArmState`]).
pub const ARM_STATE: Topic<msg::ArmState> = Topic::new("controller", "arm_state", TopicClass::Control);
/// Pose targets to the controller ([`crate::msg::PoseTarget`]).
pub const POSE_TARGET: Topic<msg::PoseTarget> = Topic::new("actor", "pose_target", TopicClass::Control);
/// Operator commands (e-stop, reset, gains, episode control, labels) ([`crate::msg::OperatorCommand`]). The secure
/// cell profile reserves it to the operator role (and the whole-cell and router roles): a teleop device sends its
/// episode controls on [`TELEOP_EPISODE`] and its e-stop on its own [`ESTOP`] key.
pub const OPERATOR_COMMAND: Topic<msg::OperatorCommand> = Topic::new("operator", "command", TopicClass::Reliable);
/// E-stop requests from any node, one key per sending node (`<node>/estop`) ([`crate::msg::OperatorCommand`]; only
/// `Command::EStop` is acted on). Unlike `operator/command`, which the secure cell profile reserves to the operator
/// role, every certified node may put here, on its own key only (`<node>` = its certificate's name).
pub const ESTOP: Topic<msg::OperatorCommand> = Topic::new("{}", "estop", TopicClass::Reliable);
/// Camera frames, one key per camera ([`crate::msg::Frame`]).
pub const FRAME: Topic<msg::Frame> = Topic::new("camera", "{}/frame", TopicClass::Frames);
/// Full (uncropped, unresized) camera images for the operator panel, one key per camera, at the camera's
/// `full_frame_hz` ([`crate::msg::Frame`]).
pub const FULL_FRAME: Topic<msg::Frame> = Topic::new("camera", "{}/full", TopicClass::Frames);
/// Replies of nodes to operator commands and other notable events ([`crate::msg::Event`]), one key per node
/// (`controller/event`, `learner/event`…). The secure cell profile lets a node put only its own kind's key and the
/// one named after its certificate.
pub const EVENT: Topic<msg::Event> = Topic::new("{}", "event", TopicClass::Reliable);
/// Learning progress from the learner ([`crate::msg::LearnerMetrics`]).
pub const LEARNER_METRICS: Topic<msg::LearnerMetrics> = Topic::new("learner", "metrics", TopicClass::Telemetry);
/// Teleoperation input from any device, to the intervention arbiter ([`crate::msg::TeleopCommand`]).
pub const TELEOP_COMMAND: Topic<msg::TeleopCommand> = Topic::new("teleop", "command", TopicClass::Control);
/// Episode controls from a teleop device's buttons (labels, stop and reset episode) ([`crate::msg::OperatorCommand`]).
/// Only `Label`, `StartEpisode`, `StopEpisode` and `ResetEpisode` are meant here: a subscriber ignores any other
/// command on this key (an e-stop goes on the device's own [`ESTOP`] key, resets and gains only on
/// [`OPERATOR_COMMAND`]), which the secure cell profile lets the teleop role put without `operator/command`.
pub const TELEOP_EPISODE: Topic<msg::OperatorCommand> = Topic::new("teleop", "episode", TopicClass::Reliable);

/// Transitions from an actor to the learner ([`crate::msg_training::TransitionMsg`]).
pub const TRANSITIONS: Topic<msg_training::TransitionMsg> = Topic::new("actor", "transitions", TopicClass::Reliable);
/// The learner's acknowledgements of stored transitions ([`crate::msg_training::TransitionAck`]).
pub const TRANSITION_ACK: Topic<msg_training::TransitionAck> = Topic::new("learner", "ack", TopicClass::Reliable);
/// Policy weights from the learner ([`crate::msg_training::PolicyWeights`]).
pub const POLICY_WEIGHTS: Topic<msg_training::PolicyWeights> = Topic::new("learner", "weights", TopicClass::Reliable);
/// Episode reports from the actor ([`crate::msg_training::EpisodeReport`]).
pub const EPISODES: Topic<msg_training::EpisodeReport> = Topic::new("actor", "episodes", TopicClass::Reliable);

/// Scene-reset requests from a bus-backed environment to the simulated cell ([`crate::msg_training::SceneReset`]).
pub const SCENE_RESET: Topic<msg_training::SceneReset> = Topic::new("actor", "scene_reset", TopicClass::Reliable);
/// The simulated cell's privileged scene state ([`crate::msg_training::SceneState`]).
pub const SIM_SCENE: Topic<msg_training::SceneState> = Topic::new("controller", "sim_scene", TopicClass::Control);

/// Every topic, in documentation order.
pub const ALL_TOPICS: &[TopicInfo] = &[
    ARM_STATE.info(),
    POSE_TARGET.info(),
    OPERATOR_COMMAND.info(),
    ESTOP.info(),
    FRAME.info(),
    FULL_FRAME.info(),
    EVENT.info(),
    LEARNER_METRICS.info(),
    TELEOP_COMMAND.info(),
    TELEOP_EPISODE.info(),
    TRANSITIONS.info(),
    TRANSITION_ACK.info(),
    POLICY_WEIGHTS.info(),
    EPISODES.info(),
    SCENE_RESET.info(),
    SIM_SCENE.info(),
];

/// Prefix of every key of a cell: `corrigo/<cell>`.
pub fn cell_prefix(cell: &str) -> String {
    format!("corrigo/{cell}")
}

impl TopicInfo {
    /// The full key expression of this topic in `cell` (placeholders left as they are).
    pub fn key(&self, cell: &str) -> String {
        format!("corrigo/{cell}/{}/{}", self.node, self.name)
    }
    /// The key with its `{}` placeholder (in node or name) replaced by `instance` (e.g. a camera name).
    pub fn key_for(&self, cell: &str, instance: &str) -> String {
        self.key(cell).replacen("{}", instance, 1)
    }
    /// The key with the placeholder replaced by `*`, to subscribe to every instance.
    pub fn key_all(&self, cell: &str) -> String {
        self.key_for(cell, "*")
    }
}

/// Liveliness token key of a node: `corrigo/<cell>/alive/<node>`.
pub fn liveliness_key(cell: &str, node: &str) -> String {
    format!("corrigo/{cell}/alive/{node}")
}

/// Checks that a name can be used as one chunk of a key expression (cell, node, camera names).
pub fn is_valid_chunk(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

use crate::{msg, msg_training};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_cell_node_topic_layout() {
        assert_eq!(ARM_STATE.key("lab1"), "corrigo/lab1/controller/arm_state");
        assert_eq!(FRAME.key_for("lab1", "front"), "corrigo/lab1/camera/front/frame");
        assert_eq!(FRAME.key_all("lab1"), "corrigo/lab1/camera/*/frame");
        assert_eq!(EVENT.key_for("c", "learner"), "corrigo/c/learner/event");
        assert_eq!(liveliness_key("c", "actor"), "corrigo/c/alive/actor");
    }

    #[test]
    fn chunk_validation_rejects_key_expression_syntax() {
        assert!(is_valid_chunk("sim_panda-1"));
        for bad in ["", "a/b", "a*", "a$", "a b", "ä"] {
            assert!(!is_valid_chunk(bad), "{bad:?} accepted");
        }
    }
}
