//! Conversions between the learner library's transitions and their bus messages.

use crate::replay::{Action, GripperAction, Observation, Transition};
use interfaces::msg::Header;
use interfaces::msg_training::{ObservationMsg, TransitionMsg};
use serde_bytes::ByteBuf;

fn obs_to_msg(o: &Observation) -> ObservationMsg {
    ObservationMsg { proprio: o.proprio.clone(), images: o.images.iter().map(|i| ByteBuf::from(i.clone())).collect() }
}

fn obs_from_msg(o: ObservationMsg) -> Observation {
    Observation { proprio: o.proprio, images: o.images.into_iter().map(ByteBuf::into_vec).collect() }
}

/// The message of transition `t` from `actor` (sequence number set by the caller).
pub fn to_msg(t: &Transition, actor: &str, seq: u64, demo: bool) -> TransitionMsg {
    TransitionMsg {
        header: Header { seq, stamp_ns: interfaces::Stamp(t.next_stamp_ns) },
        actor: actor.to_string(),
        obs: obs_to_msg(&t.obs),
        action: t.action.continuous.clone(),
        gripper: t.action.gripper.index(),
        reward: t.reward,
        next_obs: obs_to_msg(&t.next_obs),
        done: t.done,
        truncated: t.truncated,
        intervention: t.intervention,
        gripper_changed: t.gripper_changed,
        demo,
        episode: t.episode,
        obs_stamp_ns: t.obs_stamp_ns,
        nonce: 0,
    }
}

/// The transition carried by `m`; `None` when its gripper action is not 0, 1 or 2.
pub fn from_msg(m: TransitionMsg) -> Option<Transition> {
    let gripper = GripperAction::from_index(m.gripper)?;
    Some(Transition {
        obs: obs_from_msg(m.obs),
        action: Action { continuous: m.action, gripper },
        reward: m.reward,
        next_obs: obs_from_msg(m.next_obs),
        done: m.done,
        truncated: m.truncated,
        intervention: m.intervention,
        gripper_changed: m.gripper_changed,
        episode: m.episode,
        obs_stamp_ns: m.obs_stamp_ns,
        next_stamp_ns: m.header.stamp_ns.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_survive_the_wire() {
        let t = Transition {
            obs: Observation { proprio: vec![1.0, 2.0], images: vec![vec![1, 2, 3]] },
            action: Action { continuous: vec![0.5; 6], gripper: GripperAction::Close },
            reward: -0.25,
            next_obs: Observation { proprio: vec![3.0, 4.0], images: vec![vec![4, 5, 6]] },
            done: true,
            truncated: false,
            intervention: true,
            gripper_changed: true,
            episode: 7,
            obs_stamp_ns: 10,
            next_stamp_ns: 20,
        };
        let m = to_msg(&t, "actor-1", 5, false);
        let bytes = bus::encode(&m).unwrap();
        let back: TransitionMsg = bus::decode(&bytes).unwrap();
        assert_eq!(back.header.seq, 5);
        assert_eq!(from_msg(back), Some(t));
        let bad = TransitionMsg { gripper: 3, ..m };
        assert_eq!(from_msg(bad), None);
    }
}
