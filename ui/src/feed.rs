//! Feeds a [`PanelState`] from the bus: subscribers to every topic the panel shows and the cell's liveliness,
//! drained on the UI thread once per frame (zenoh decodes on its own threads and queues; draining is a few
//! channel reads).

use crate::UiError;
use crate::state::{FrameKind, PanelState};
use bus::{Bus, NodeToken, Presence, Subscriber, SubscriberCounts};
use interfaces::keys::{ARM_STATE, EVENT, FRAME, LEARNER_METRICS, cell_prefix};
use interfaces::msg::{ArmState, Event, Frame, LearnerMetrics};

/// Full (uncropped) camera images for the panel, `corrigo/<cell>/camera/<camera>/full`; the same key the camera
/// node publishes them on.
pub use interfaces::keys::FULL_FRAME;

/// Most messages taken from one queue per drain, so a flood cannot stall a frame.
const MAX_PER_DRAIN: usize = 4096;

/// The panel's subscriptions on one cell.
#[derive(Debug)]
pub struct BusFeed {
    arm: Subscriber<ArmState>,
    frames: Subscriber<Frame>,
    full_frames: Subscriber<Frame>,
    metrics: Subscriber<LearnerMetrics>,
    events: Subscriber<Event>,
    presence: Presence,
    _token: NodeToken,
    /// `corrigo/<cell>/`, removed from the keys shown.
    prefix: String,
}

impl BusFeed {
    /// Subscribes to arm state, both camera streams of every camera, learner metrics and every node's events,
    /// tracks liveliness, and announces the panel as the `panel` node.
    ///
    /// A payload its subscribers refuse (undecodable, over the key's limit) never reaches the panel; the
    /// counters of each subscription are copied into [`PanelState::subscriptions`] on every drain.
    pub fn open(bus: &Bus) -> Result<Self, UiError> {
        Ok(Self {
            arm: bus.subscribe(ARM_STATE, None)?,
            frames: bus.subscribe(FRAME, Some("*"))?,
            full_frames: bus.subscribe(FULL_FRAME, Some("*"))?,
            metrics: bus.subscribe(LEARNER_METRICS, None)?,
            events: bus.subscribe(EVENT, Some("*"))?,
            presence: bus.presence()?,
            _token: bus.announce("panel")?,
            prefix: format!("{}/", cell_prefix(bus.cell())),
        })
    }

    /// The counters of every subscription, by key without the cell prefix.
    pub fn counts(&self) -> [(&str, SubscriberCounts); 5] {
        [
            (self.short(self.arm.key()), self.arm.counts()),
            (self.short(self.frames.key()), self.frames.counts()),
            (self.short(self.full_frames.key()), self.full_frames.counts()),
            (self.short(self.metrics.key()), self.metrics.counts()),
            (self.short(self.events.key()), self.events.counts()),
        ]
    }

    /// `key` without the cell prefix.
    fn short<'k>(&self, key: &'k str) -> &'k str {
        key.strip_prefix(self.prefix.as_str()).unwrap_or(key)
    }

    /// Moves everything queued since the last call into `state`.
    pub fn drain_into(&self, state: &mut PanelState) {
        for r in std::iter::from_fn(|| self.arm.try_recv()).take(MAX_PER_DRAIN) {
            state.apply_arm_state(r.msg, r.received);
        }
        for (sub, kind) in [(&self.frames, FrameKind::Policy), (&self.full_frames, FrameKind::Full)] {
            for r in std::iter::from_fn(|| sub.try_recv()).take(MAX_PER_DRAIN) {
                state.apply_frame(kind, r.msg, r.received);
            }
        }
        for r in std::iter::from_fn(|| self.metrics.try_recv()).take(MAX_PER_DRAIN) {
            state.apply_metrics(r.msg, r.received);
        }
        for r in std::iter::from_fn(|| self.events.try_recv()).take(MAX_PER_DRAIN) {
            state.apply_event(r.msg, r.received);
        }
        for (key, counts) in self.counts() {
            state.set_subscription_counts(key, counts);
        }
        state.set_alive(self.presence.alive());
    }
}
