//! QoS, payload limits and subscriber queue bounds per topic class ([`interfaces::keys::TopicClass`]), with
//! per-topic values where one class carries messages of very different sizes or purposes.
//!
//! | class | congestion | priority | express | subscriber queue (messages, bytes) | max payload |
//! |---|---|---|---|---|---|
//! | Control (state, targets, teleop, sim scene) | drop | real-time | yes | newest 64, 4 MiB | 64 KiB |
//! | Frames: `camera/<name>/frame` (policy image) | drop | data | no | newest 8, 64 MiB | 8 MiB |
//! | Frames: `camera/<name>/full` (whole capture) | drop | data | no | newest 8, 512 MiB | 256 MiB |
//! | Reliable: commands (`operator/command`, `<node>/estop`, `teleop/episode`) | block | interactive-high | no | newest 64, 4 MiB | 64 KiB |
//! | Reliable (events, acks, episodes, scene resets) | block | interactive-high | no | newest 1024, 64 MiB | 64 KiB |
//! | Reliable: `actor/transitions` | block | interactive-high | no | newest 65 536, 512 MiB | 256 MiB |
//! | Reliable: `learner/weights` | block | interactive-high | no | newest 1024, 512 MiB | 256 MiB |
//! | Telemetry (learner metrics) | drop | background | no | newest 1024, 64 MiB | 64 KiB |
//!
//! **Subscriber queues** are bounded for every class, in messages and in payload bytes (the encoded size of each
//! queued message; every bound holds at least two of the topic's largest messages): when a new message does not
//! fit, older ones are dropped until it does (newest wins), each counted in
//! [`crate::SubscriberStats::queue_drops`] ([`crate::Subscriber::dropped`]). On a wildcard subscription
//! (`*/estop`, `camera/*/frame`) the message dropped is the oldest of the key holding the most queued messages,
//! so a flood on one key does not push another key's message out. A reliable topic is reliable on the wire (the
//! publisher blocks under congestion); a node that does not read it loses the oldest messages past the bound,
//! counted: the actor resends unacknowledged transitions, the learner's newest weights supersede older ones.
//!
//! **Payload limits** bound the encoded message (the CBOR envelope, [`crate::codec`]). A subscriber refuses a
//! larger payload before decoding it (no decoded copy is made), counts it in
//! [`crate::SubscriberStats::oversize`] and logs it with a rate-limited warning naming the key, the size and the
//! limit; a publisher refuses to send one ([`crate::BusError::Oversize`]). The limits are the largest message
//! the project's own nodes make at the edges of the config's validated ranges, with margin:
//!
//! - *Control, telemetry, small reliable messages*: an `ArmState` of `MAX_DOF` = 7 joints is under 1 KiB (every
//!   number at its widest, 9 bytes), a `LearnerMetrics` under 1 KiB, an `OperatorCommand` with gains under
//!   1 KiB; events are one line of text. 64 KiB is 64 times the largest.
//! - *Policy frames*: `width`, `height` ≤ 1024 → RGB8 at most 1024·1024·3 = 3 MiB; a JPEG of it at most 3 bytes
//!   per pixel with libjpeg's default 4:2:0 subsampling (libjpeg-turbo's worst-case bound `tjBufSize`), 6 with
//!   4:4:4. 8 MiB covers both.
//! - *Full frames*: `capture_width`, `capture_height` ≤ 8192 → RGB8 at most 8192·8192·3 = 192 MiB (JPEG with the
//!   default subsampling at most the same). 256 MiB.
//! - *Transitions*: two RGB8 images (`s`, `s'`) per camera, at most 2·1024·1024·3 = 6 MiB per camera at the
//!   largest policy image (96 KiB at the default 128×128), plus the proprio: 256 MiB holds 42 cameras at
//!   1024×1024, and is the size of the replay store's largest record.
//! - *Policy weights* (f32 safetensors of the actor and its encoder): a pretrained ResNet-10 backbone is
//!   4.9 M parameters, 19.6 MB per camera (three cameras: 59 MB); the small CNN's projection at 128×128 is
//!   1.4 MB per camera, at the largest image (1024×1024, default 64 features) 128 MB per camera. 256 MiB holds
//!   two cameras at 1024×1024 or a dozen ResNet-10 cameras; a learner whose weights exceed it is told so by the
//!   publisher's error.
//!
//! `bus/tests/hostile.rs` checks that the largest messages the config allows fit these limits.

use interfaces::keys::{
    ESTOP, FULL_FRAME, OPERATOR_COMMAND, POLICY_WEIGHTS, TELEOP_EPISODE, TRANSITIONS, TopicClass, TopicInfo,
};
use zenoh::qos::{CongestionControl, Priority};

/// One kibibyte, bytes.
const KIB: usize = 1 << 10;
/// One mebibyte, bytes.
const MIB: usize = 1 << 20;

/// Largest payload of a control, telemetry or small reliable message, bytes.
pub const SMALL_MAX_PAYLOAD: usize = 64 * KIB;
/// Largest payload of a policy frame (`camera/<name>/frame`), bytes.
pub const FRAME_MAX_PAYLOAD: usize = 8 * MIB;
/// Largest payload of a full frame (`camera/<name>/full`), bytes.
pub const FULL_FRAME_MAX_PAYLOAD: usize = 256 * MIB;
/// Largest payload of a transition (`actor/transitions`), bytes.
pub const TRANSITION_MAX_PAYLOAD: usize = 256 * MIB;
/// Largest payload of policy weights (`learner/weights`), bytes.
pub const WEIGHTS_MAX_PAYLOAD: usize = 256 * MIB;

/// Payload bytes a subscriber queue of `actor/transitions`, `learner/weights` or full frames holds at most: two of
/// the largest.
pub const LARGE_QUEUE_BYTES: usize = 512 * MIB;

/// Messages a subscriber queue of `actor/transitions` holds at most (its bytes are bounded by
/// [`LARGE_QUEUE_BYTES`] too, which binds first for image transitions).
pub const TRANSITION_QUEUE: usize = 65_536;

/// zenoh settings of a class, and the payload limit and queue bounds of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qos {
    /// What a publisher does when the network is congested.
    pub congestion: CongestionControl,
    /// Scheduling priority.
    pub priority: Priority,
    /// Send immediately without batching.
    pub express: bool,
    /// Messages a subscriber's queue holds at most; when full, the oldest are dropped and counted (newest wins).
    pub queue: usize,
    /// Payload bytes (encoded sizes) a subscriber's queue holds at most, dropping the oldest like [`Qos::queue`].
    /// At least two [`Qos::max_payload`]s.
    pub queue_bytes: usize,
    /// Largest encoded payload, bytes: larger ones are refused by publishers and subscribers.
    pub max_payload: usize,
}

/// The QoS of a topic class, with the class's default payload limit and queue bounds (see [`for_topic`] for a
/// topic's own).
pub fn for_class(class: TopicClass) -> Qos {
    match class {
        TopicClass::Control => Qos {
            congestion: CongestionControl::Drop,
            priority: Priority::RealTime,
            express: true,
            queue: 64,
            queue_bytes: 64 * SMALL_MAX_PAYLOAD,
            max_payload: SMALL_MAX_PAYLOAD,
        },
        TopicClass::Frames => Qos {
            congestion: CongestionControl::Drop,
            priority: Priority::DataHigh,
            express: false,
            queue: 8,
            queue_bytes: 8 * FRAME_MAX_PAYLOAD,
            max_payload: FRAME_MAX_PAYLOAD,
        },
        TopicClass::Reliable => Qos {
            congestion: CongestionControl::Block,
            priority: Priority::InteractiveHigh,
            express: false,
            queue: 1024,
            queue_bytes: 1024 * SMALL_MAX_PAYLOAD,
            max_payload: SMALL_MAX_PAYLOAD,
        },
        TopicClass::Telemetry => Qos {
            congestion: CongestionControl::Drop,
            priority: Priority::Background,
            express: false,
            queue: 1024,
            queue_bytes: 1024 * SMALL_MAX_PAYLOAD,
            max_payload: SMALL_MAX_PAYLOAD,
        },
    }
}

/// The QoS of one topic: its class's, with the topic's own payload limit and queue bounds (see the module's
/// table).
pub fn for_topic(topic: TopicInfo) -> Qos {
    let class = for_class(topic.class);
    let max_payload = max_payload(topic);
    let (queue, queue_bytes) = if is_command(topic) {
        (64, 64 * SMALL_MAX_PAYLOAD)
    } else if topic == TRANSITIONS.info() {
        // Bounded by bytes first: a learner busy training lets many small (state-only) transitions pile up, and
        // what it drops the actor sends again (unacknowledged).
        (TRANSITION_QUEUE, LARGE_QUEUE_BYTES)
    } else if max_payload > class.max_payload {
        (class.queue, LARGE_QUEUE_BYTES)
    } else {
        (class.queue, class.queue_bytes)
    };
    Qos { max_payload, queue, queue_bytes, ..class }
}

/// The command keys (`operator/command`, `<node>/estop`, `teleop/episode`): reliable on the wire, and kept few
/// in a subscriber's queue (a command is acted on when it arrives or not at all).
fn is_command(topic: TopicInfo) -> bool {
    [OPERATOR_COMMAND.info(), ESTOP.info(), TELEOP_EPISODE.info()].contains(&topic)
}

/// Largest encoded payload of `topic`, bytes (see the module's table).
pub fn max_payload(topic: TopicInfo) -> usize {
    if topic == FULL_FRAME.info() {
        FULL_FRAME_MAX_PAYLOAD
    } else if topic == TRANSITIONS.info() {
        TRANSITION_MAX_PAYLOAD
    } else if topic == POLICY_WEIGHTS.info() {
        WEIGHTS_MAX_PAYLOAD
    } else {
        for_class(topic.class).max_payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::keys::{ALL_TOPICS, ARM_STATE, EVENT, FRAME};

    #[test]
    fn every_topic_has_a_limit_and_large_data_has_its_own() {
        for t in ALL_TOPICS {
            let limit = max_payload(*t);
            assert!((SMALL_MAX_PAYLOAD..=256 * MIB).contains(&limit), "{t:?}: {limit}");
        }
        assert_eq!(max_payload(ARM_STATE.info()), 64 * KIB);
        assert_eq!(max_payload(OPERATOR_COMMAND.info()), 64 * KIB);
        assert_eq!(max_payload(EVENT.info()), 64 * KIB);
        assert_eq!(max_payload(FRAME.info()), 8 * MIB);
        assert_eq!(max_payload(FULL_FRAME.info()), 256 * MIB);
        assert_eq!(max_payload(TRANSITIONS.info()), 256 * MIB);
        assert_eq!(max_payload(POLICY_WEIGHTS.info()), 256 * MIB);
    }

    #[test]
    fn every_subscriber_queue_is_bounded_in_messages_and_bytes() {
        for t in ALL_TOPICS {
            let q = for_topic(*t);
            assert!(q.queue > 0 && q.queue <= TRANSITION_QUEUE, "{t:?}: {} messages", q.queue);
            assert!(q.queue_bytes >= 2 * q.max_payload, "{t:?}: two of its largest messages fit");
            assert!(q.queue_bytes <= LARGE_QUEUE_BYTES, "{t:?}: {} bytes", q.queue_bytes);
        }
        assert_eq!(for_topic(TRANSITIONS.info()).queue_bytes, 512 * MIB);
        assert_eq!(for_topic(OPERATOR_COMMAND.info()).queue, 64);
        assert_eq!(for_topic(ESTOP.info()).queue, 64);
        assert_eq!(for_topic(EVENT.info()).queue, 1024);
        assert_eq!(for_topic(ARM_STATE.info()).queue, 64);
    }
}
