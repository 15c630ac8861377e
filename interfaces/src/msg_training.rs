//! Messages between the actor and the learner: transitions (with acknowledgements, so none is lost on a brief
//! disconnect), policy weights, and per-episode reports.

use crate::msg::{Header, Pose};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// An observation as it travels: the proprio vector and one RGB8 frame per camera (`height × width × 3`, HWC).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ObservationMsg {
    /// Proprioceptive state (see the task's observation layout in the README).
    pub proprio: Vec<f32>,
    /// One frame per camera, in the order of the cell's `[[cameras]]`.
    pub images: Vec<ByteBuf>,
}

/// One environment step `(s, a, r, s')`, sent by the actor to the learner.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TransitionMsg {
    /// `header.seq` is the actor's transition number (acknowledged by [`TransitionAck`]); stamp = time of `s'`.
    pub header: Header,
    /// Identity of the actor (several actors may feed one learner).
    pub actor: String,
    /// `s`.
    pub obs: ObservationMsg,
    /// Executed continuous action in `[-1, 1]` (the human's during an intervention).
    pub action: Vec<f32>,
    /// Executed gripper action: 0 close, 1 stay, 2 open.
    pub gripper: u8,
    /// Reward.
    pub reward: f32,
    /// `s'`.
    pub next_obs: ObservationMsg,
    /// Terminal (no bootstrap past `s'`).
    pub done: bool,
    /// Cut by the time limit.
    pub truncated: bool,
    /// The action came from the human: stored in the online and the demo buffer.
    pub intervention: bool,
    /// The gripper changed between open and closed.
    pub gripper_changed: bool,
    /// The transition is a demonstration (recorded with `corrigo record`): demo buffer only.
    pub demo: bool,
    /// Episode id.
    pub episode: u64,
    /// Monotonic time of `s`, ns.
    pub obs_stamp_ns: u64,
    /// A random number the actor draws once per session and sends with every transition of it, never elsewhere:
    /// the learner binds the session to the first nonce it sees and refuses the session's transitions carrying
    /// another (a node that learned the session's name from an acknowledgement or a log cannot take it over).
    /// 0 (absent): a sender that does not bind its session; refused once the session is bound to a nonce.
    #[serde(default)]
    pub nonce: u64,
}

/// The learner's acknowledgement: every transition of `actor` with `seq ≤ upto` is stored (flushed to disk).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TransitionAck {
    /// Header.
    pub header: Header,
    /// Actor acknowledged.
    pub actor: String,
    /// Highest transition number stored.
    pub upto: u64,
    /// The learner's session (`learner@<start time, ns since the epoch>`, new with every learner start), as in its
    /// [`PolicyWeights::learner`]: an actor accepts acknowledgements only from the learner session it delivers to.
    #[serde(default)]
    pub learner: String,
}

/// Policy weights published by the learner.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PolicyWeights {
    /// Header.
    pub header: Header,
    /// Version: +1 on every publication of a learner run (continues after a resume).
    pub version: u64,
    /// Gradient updates done when these weights were taken.
    pub updates: u64,
    /// The actor's parameters as a safetensors file.
    #[serde(with = "serde_bytes")]
    pub safetensors: Vec<u8>,
    /// The learner's session (`learner@<start time, ns since the epoch>`, new with every learner start): an actor
    /// follows one learner session at a time and its versions within it; a new session starts a new sequence.
    #[serde(default)]
    pub learner: String,
}

/// What happened in one episode, published by the actor when it ends.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EpisodeReport {
    /// Header.
    pub header: Header,
    /// Episode id.
    pub episode: u64,
    /// Sum of rewards.
    pub episode_return: f64,
    /// The task's success criterion was met (or the operator labelled it a success).
    pub success: bool,
    /// Steps.
    pub length: u64,
    /// Number of separate human interventions.
    pub interventions: u64,
    /// Steps driven by the human.
    pub intervention_steps: u64,
    /// Policy version used.
    pub policy_version: u64,
    /// Mean environment cycle time, ms.
    pub cycle_ms: f64,
    /// The episode was evaluation (deterministic policy, not trained on).
    pub eval: bool,
}

/// A request to the simulated cell to randomize its scene for a new episode (the cube's placement and, for
/// `reach`, the goal), sent by a bus-backed environment before it moves the arm to its reset pose.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SceneReset {
    /// Stamp = when it was requested.
    pub header: Header,
    /// Seed of the scene: the same seed gives the same scene as the in-process environment's episode.
    pub seed: u64,
}

/// The simulated cell's privileged scene state, published by `corrigo controller` for a `sim` driver: what a
/// real cell cannot measure directly (the ground-truth reward and the state-only observation need it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SceneState {
    /// Stamp = simulated time of the snapshot.
    pub header: Header,
    /// Seed of the newest scene reset applied (`None` before the first).
    pub seed: Option<u64>,
    /// `reach`: the goal; `pick_cube`: the cube's start position. Base frame, m.
    pub goal: [f64; 3],
    /// The cube's pose now.
    pub cube: Pose,
}

crate::msg::impl_message!(TransitionMsg, "Transition");
crate::msg::impl_message!(SceneReset, "SceneReset");
crate::msg::impl_message!(SceneState, "SceneState");
crate::msg::impl_message!(TransitionAck, "TransitionAck");
crate::msg::impl_message!(PolicyWeights, "PolicyWeights");
crate::msg::impl_message!(EpisodeReport, "EpisodeReport");
