//! Key expressions of the bus: `corrigo/<cell>/<node>/<topic>`.
//!
//! The [`Topic`] list is the single source of truth for which node publishes what; `bus` derives QoS from it and
//! `docs/messages.md` documents each entry.

/// A topic on the bus: the node that owns it and its name under that node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic {
    /// Publishing node (`controller`, `camera`, `actor`, `learner`, `teleop`, `operator`).
    pub node: &'static str,
    /// Topic name under the node. May contain a `{}` placeholder filled by [`Topic::key_for`] (e.g. a camera).
    pub name: &'static str,
    /// How the bus treats it.
    pub class: TopicClass,
}

/// Delivery class of a topic, mapped by the `bus` crate onto zenoh QoS.
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
pub const ARM_STATE: Topic = Topic { node: "controller", name: "arm_state", class: TopicClass::Control };
/// Pose targets to the controller ([`crate::msg::PoseTarget`]).
pub const POSE_TARGET: Topic = Topic { node: "actor", name: "pose_target", class: TopicClass::Control };
/// Operator commands (e-stop, episode, labels, gains) ([`crate::msg::OperatorCommand`]).
pub const OPERATOR_COMMAND: Topic = Topic { node: "operator", name: "command", class: TopicClass::Reliable };
/// Camera frames, one key per camera ([`crate::msg::Frame`]).
pub const FRAME: Topic = Topic { node: "camera", name: "{}/frame", class: TopicClass::Frames };
/// Replies of nodes to operator commands and other notable events ([`crate::msg::Event`]).
pub const EVENT: Topic = Topic { node: "{}", name: "event", class: TopicClass::Reliable };
/// Learning progress from the learner ([`crate::msg::LearnerMetrics`]).
pub const LEARNER_METRICS: Topic = Topic { node: "learner", name: "metrics", class: TopicClass::Telemetry };
/// Teleoperation input from any device, to the intervention arbiter ([`crate::msg::TeleopCommand`]).
pub const TELEOP_COMMAND: Topic = Topic { node: "teleop", name: "command", class: TopicClass::Control };

/// Transitions from an actor to the learner ([`crate::msg_training::TransitionMsg`]).
pub const TRANSITIONS: Topic = Topic { node: "actor", name: "transitions", class: TopicClass::Reliable };
/// The learner's acknowledgements of stored transitions ([`crate::msg_training::TransitionAck`]).
pub const TRANSITION_ACK: Topic = Topic { node: "learner", name: "ack", class: TopicClass::Reliable };
/// Policy weights from the learner ([`crate::msg_training::PolicyWeights`]).
pub const POLICY_WEIGHTS: Topic = Topic { node: "learner", name: "weights", class: TopicClass::Reliable };
/// Episode reports from the actor ([`crate::msg_training::EpisodeReport`]).
pub const EPISODES: Topic = Topic { node: "actor", name: "episodes", class: TopicClass::Reliable };

/// Scene-reset requests from a bus-backed environment to the simulated cell ([`crate::msg_training::SceneReset`]).
pub const SCENE_RESET: Topic = Topic { node: "actor", name: "scene_reset", class: TopicClass::Reliable };
/// The simulated cell's privileged scene state ([`crate::msg_training::SceneState`]).
pub const SIM_SCENE: Topic = Topic { node: "controller", name: "sim_scene", class: TopicClass::Control };

/// Every topic, in documentation order.
pub const ALL_TOPICS: &[Topic] = &[
    ARM_STATE,
    POSE_TARGET,
    OPERATOR_COMMAND,
    FRAME,
    EVENT,
    LEARNER_METRICS,
    TELEOP_COMMAND,
    TRANSITIONS,
    TRANSITION_ACK,
    POLICY_WEIGHTS,
    EPISODES,
    SCENE_RESET,
    SIM_SCENE,
];

/// Prefix of every key of a cell: `corrigo/<cell>`.
pub fn cell_prefix(cell: &str) -> String {
    format!("corrigo/{cell}")
}

impl Topic {
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
