//! `bus_decode`: the bus codec's decoder, for the message types every node receives.

use crate::bus_codec::{DecodeError, decode, encode};
use crate::self_equal;
use interfaces::msg::{
    ArmState, Event, Frame, LearnerMetrics, Message, OperatorCommand, PoseTarget, SCHEMA_VERSION, TeleopCommand,
};
use interfaces::msg_training::{EpisodeReport, PolicyWeights, SceneReset, SceneState, TransitionAck, TransitionMsg};
use std::fmt::Debug;

/// The message types, selected by the input's first byte (modulo their number); the rest is the payload.
pub const TYPES: [&str; 13] = [
    ArmState::TYPE,
    PoseTarget::TYPE,
    OperatorCommand::TYPE,
    TeleopCommand::TYPE,
    TransitionMsg::TYPE,
    PolicyWeights::TYPE,
    TransitionAck::TYPE,
    EpisodeReport::TYPE,
    LearnerMetrics::TYPE,
    Frame::TYPE,
    Event::TYPE,
    SceneReset::TYPE,
    SceneState::TYPE,
];

/// Decodes `data[1..]` as the message type `data[0]` selects. A decoded message encodes; its encoding decodes to
/// an equal message (bit for bit when it holds a NaN) and encodes again to the same bytes. A refusal is typed.
pub fn bus_decode(data: &[u8]) {
    let Some((&k, payload)) = data.split_first() else { return };
    match usize::from(k) % TYPES.len() {
        0 => round_trip::<ArmState>(payload),
        1 => round_trip::<PoseTarget>(payload),
        2 => round_trip::<OperatorCommand>(payload),
        3 => round_trip::<TeleopCommand>(payload),
        4 => round_trip::<TransitionMsg>(payload),
        5 => round_trip::<PolicyWeights>(payload),
        6 => round_trip::<TransitionAck>(payload),
        7 => round_trip::<EpisodeReport>(payload),
        8 => round_trip::<LearnerMetrics>(payload),
        9 => round_trip::<Frame>(payload),
        10 => round_trip::<Event>(payload),
        11 => round_trip::<SceneReset>(payload),
        _ => round_trip::<SceneState>(payload),
    }
}

fn round_trip<T: Message + PartialEq + Debug>(payload: &[u8]) {
    let msg = match decode::<T>(payload) {
        Ok(msg) => msg,
        Err(e) => {
            match &e {
                DecodeError::Malformed { len, .. } => assert_eq!(*len, payload.len()),
                DecodeError::Schema { got, expected } => assert!(*got != SCHEMA_VERSION && *expected == SCHEMA_VERSION),
                DecodeError::WrongType { got, expected } => assert!(got != expected && *expected == T::TYPE),
            }
            let _ = e.to_string();
            return;
        }
    };
    let bytes = encode(&msg).unwrap_or_else(|e| panic!("a decoded {} does not encode: {e}: {msg:?}", T::TYPE));
    let again = decode::<T>(&bytes).unwrap_or_else(|e| panic!("a re-encoded {} does not decode: {e}", T::TYPE));
    let bytes_again = encode(&again).expect("a decoded message encodes");
    assert_eq!(bytes_again, bytes, "the encoding of a decoded {} is not stable", T::TYPE);
    if self_equal(&msg) {
        assert_eq!(again, msg, "a {} changed through encode and decode", T::TYPE);
    }
}
