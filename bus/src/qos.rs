//! QoS and payload limits per topic class ([`interfaces::keys::TopicClass`]), with per-topic limits where one
//! class carries messages of very different sizes.
//!
//! | class | congestion | priority | express | subscriber queue | max payload |
//! |---|---|---|---|---|---|
//! | Control (state, targets, teleop, sim scene) | drop | real-time | yes | newest 64 | 64 KiB |
//! | Frames: `camera/<name>/frame` (policy image) | drop | data | no | newest 8 | 8 MiB |
//! | Frames: `camera/<name>/full` (whole capture) | drop | data | no | newest 8 | 256 MiB |
//! | Reliable (commands, events, acks, episodes, scene resets) | block | interactive-high | no | unbounded | 64 KiB |
//! | Reliable: `actor/transitions` | block | interactive-high | no | unbounded | 256 MiB |
//! | Reliable: `learner/weights` | block | interactive-high | no | unbounded | 256 MiB |
//! | Telemetry (learner metrics) | drop | background | no | newest 1024 | 64 KiB |
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

use interfaces::keys::{FULL_FRAME, POLICY_WEIGHTS, TRANSITIONS, TopicClass, TopicInfo};
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

/// zenoh settings of a class, and the payload limit of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qos {
    /// What a publisher does when the network is congested.
    pub congestion: CongestionControl,
    /// Scheduling priority.
    pub priority: Priority,
    /// Send immediately without batching.
    pub express: bool,
    /// Capacity of the subscriber's queue (`None` = unbounded); when full, new samples are dropped and counted.
    pub queue: Option<usize>,
    /// Largest encoded payload, bytes: larger ones are refused by publishers and subscribers.
    pub max_payload: usize,
}

/// The QoS of a topic class, with the class's default payload limit (see [`for_topic`] for a topic's own).
pub fn for_class(class: TopicClass) -> Qos {
    match class {
        TopicClass::Control => Qos {
            congestion: CongestionControl::Drop,
            priority: Priority::RealTime,
            express: true,
            queue: Some(64),
            max_payload: SMALL_MAX_PAYLOAD,
        },
        TopicClass::Frames => Qos {
            congestion: CongestionControl::Drop,
            priority: Priority::DataHigh,
            express: false,
            queue: Some(8),
            max_payload: FRAME_MAX_PAYLOAD,
        },
        TopicClass::Reliable => Qos {
            congestion: CongestionControl::Block,
            priority: Priority::InteractiveHigh,
            express: false,
            queue: None,
            max_payload: SMALL_MAX_PAYLOAD,
        },
        TopicClass::Telemetry => Qos {
            congestion: CongestionControl::Drop,
            priority: Priority::Background,
            express: false,
            queue: Some(1024),
            max_payload: SMALL_MAX_PAYLOAD,
        },
    }
}

/// The QoS of one topic: its class's, with the topic's own payload limit (see the module's table).
pub fn for_topic(topic: TopicInfo) -> Qos {
    Qos { max_payload: max_payload(topic), ..for_class(topic.class) }
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
    use interfaces::keys::{ALL_TOPICS, ARM_STATE, EVENT, FRAME, OPERATOR_COMMAND};

    #[test]
    fn every_topic_has_a_limit_and_large_data_has_its_own() {
        for t in ALL_TOPICS {
            let limit = max_payload(*t);
            assert!((SMALL_MAX_PAYLOAD..=256 * MIB).contains(&limit), "{t:?}: {limit}");
            assert_eq!(for_topic(*t).queue, for_class(t.class).queue);
        }
        assert_eq!(max_payload(ARM_STATE.info()), 64 * KIB);
        assert_eq!(max_payload(OPERATOR_COMMAND.info()), 64 * KIB);
        assert_eq!(max_payload(EVENT.info()), 64 * KIB);
        assert_eq!(max_payload(FRAME.info()), 8 * MIB);
        assert_eq!(max_payload(FULL_FRAME.info()), 256 * MIB);
        assert_eq!(max_payload(TRANSITIONS.info()), 256 * MIB);
        assert_eq!(max_payload(POLICY_WEIGHTS.info()), 256 * MIB);
    }
}
