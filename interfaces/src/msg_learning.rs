//! Messages of the learner, for the operator: progress of training (learning curves).

use super::{Header, Message};
use serde::{Deserialize, Serialize};

/// Progress of the learner, published periodically (about 1 Hz) on `learner/metrics`.
///
/// Statistics that do not exist yet (no gradient update, no finished episode) are `None`. Episode statistics are
/// over the learner's recent window of finished episodes (its size is the learner's choice, stated in its docs).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LearnerMetrics {
    /// Stamp = when the figures were taken.
    pub header: Header,
    /// Environment steps (transitions) received so far.
    pub step: u64,
    /// Gradient updates of the critic done so far.
    pub updates: u64,
    /// Critic updates per second over the last reporting period.
    pub updates_per_s: f64,
    /// Mean critic (TD) loss over the last reporting period.
    pub critic_loss: Option<f64>,
    /// Mean actor loss over the last reporting period.
    pub actor_loss: Option<f64>,
    /// Current SAC temperature α (entropy coefficient).
    pub temperature: Option<f64>,
    /// Mean Q value of the sampled batches over the last reporting period.
    pub q_mean: Option<f64>,
    /// Transitions in the online replay buffer.
    pub online_size: u64,
    /// Transitions in the demo + intervention buffer.
    pub demo_size: u64,
    /// Fraction of recent episodes labelled a success, 0–1.
    pub success_rate: Option<f64>,
    /// Half-width of the 95 % confidence interval of `success_rate` (Wilson), 0–1.
    pub success_ci95: Option<f64>,
    /// Mean undiscounted return of recent episodes.
    pub episode_return: Option<f64>,
    /// Fraction of recent steps whose action came from a human intervention, 0–1.
    pub intervention_rate: Option<f64>,
    /// Version of the policy weights last published to the actor (+1 per publication).
    pub policy_version: u64,
    /// Per cell of a fleet learner (`[fleet] cells`); empty when the learner serves one cell. The figures above
    /// are then the fleet's (the episode statistics of the cell whose key the message is on are in its entry).
    #[serde(default)]
    pub fleet: Vec<CellFigures>,
    /// What shows a run going wrong early (critic values on demo against online data, the behaviour-cloning term,
    /// dormant units, norms), taken on a fresh batch at each report; `None` before the first update.
    #[serde(default)]
    pub diagnostics: Option<LearnerDiagnostics>,
}

/// The learner's diagnostics, on one batch of `agent.batch_size` rows, half demo and half online (RLPD's split).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LearnerDiagnostics {
    /// Mean Q (over the critic ensemble) of the demo rows' own actions.
    pub q_demo: f64,
    /// Mean Q of the online rows' own actions (`None` without online data).
    pub q_online: Option<f64>,
    /// Mean Q of the actor's deterministic actions at the demo rows' states.
    pub q_policy_demo: f64,
    /// Mean Q of the actor's deterministic actions at the online rows' states.
    pub q_policy_online: Option<f64>,
    /// Mean negative log-likelihood of the demo rows' actions under the actor (the behaviour-cloning term).
    pub bc_nll_demo: f64,
    /// Weight of the behaviour-cloning term in the online actor objective (0: none).
    pub bc_weight: f64,
    /// Share of the rows where the critics value the behaviour prior's proposal above the actor's action (0
    /// without a prior).
    pub prior_share: f64,
    /// Fraction of the critics' hidden units that are dormant (mean |activation| at most 2.5 % of their layer's
    /// mean: ReDo's and DrM's τ = 0.025).
    pub dormant_critic: f64,
    /// Fraction of the actor's hidden units that are dormant.
    pub dormant_actor: f64,
    /// L2 norm of the critics' parameters.
    pub critic_norm: f64,
    /// L2 norm of the actor's parameters.
    pub actor_norm: f64,
    /// Mean L2 norm of the networks' input rows (image features and proprio) of the demo rows.
    pub feature_norm_demo: f64,
    /// Mean L2 norm of the networks' input rows of the online rows.
    pub feature_norm_online: Option<f64>,
}

/// One cell of a fleet, as its learner sees it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CellFigures {
    /// The cell's name.
    pub cell: String,
    /// Transitions of this cell stored so far (this learner run).
    pub steps: u64,
    /// Transitions stored per second over the last reporting period.
    pub steps_per_s: f64,
    /// Episodes reported in the learner's recent window (up to 20).
    pub episodes: u64,
    /// Fraction of those episodes labelled a success, 0–1.
    pub success_rate: Option<f64>,
    /// Half-width of the 95 % Wilson interval of `success_rate`, 0–1.
    pub success_ci95: Option<f64>,
    /// Fraction of those episodes' steps under human intervention, 0–1.
    pub intervention_rate: Option<f64>,
    /// Why the learner refuses this cell's transitions (its spec differs), when it does.
    pub refused: Option<String>,
}

impl Message for LearnerMetrics {
    const TYPE: &'static str = "LearnerMetrics";
    fn header(&self) -> &Header {
        &self.header
    }
    fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}
