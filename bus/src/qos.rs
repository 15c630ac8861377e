//! QoS per topic class ([`interfaces::keys::TopicClass`]).
//!
//! | class | congestion | priority | express | subscriber queue |
//! |---|---|---|---|---|
//! | Control (state, targets) | drop | real-time | yes | newest 64 |
//! | Frames | drop | data | no | newest 8 |
//! | Reliable (commands, transitions, weights) | block | interactive-high | no | unbounded |
//! | Telemetry | drop | background | no | newest 1024 |

use interfaces::keys::TopicClass;
use zenoh::qos::{CongestionControl, Priority};

/// zenoh settings of a class.
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
}

/// The QoS of a topic class.
pub fn for_class(class: TopicClass) -> Qos {
    match class {
        TopicClass::Control => {
            Qos { congestion: CongestionControl::Drop, priority: Priority::RealTime, express: true, queue: Some(64) }
        }
        TopicClass::Frames => {
            Qos { congestion: CongestionControl::Drop, priority: Priority::DataHigh, express: false, queue: Some(8) }
        }
        TopicClass::Reliable => Qos {
            congestion: CongestionControl::Block,
            priority: Priority::InteractiveHigh,
            express: false,
            queue: None,
        },
        TopicClass::Telemetry => Qos {
            congestion: CongestionControl::Drop,
            priority: Priority::Background,
            express: false,
            queue: Some(1024),
        },
    }
}
