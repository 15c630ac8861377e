//! The panel's view-model: the newest value of everything it shows, with when it arrived, fed from the bus by
//! [`crate::BusFeed`] (or directly by tests) and drawn by [`crate::Panel`]. No robot logic: it only keeps and
//! summarises what other nodes publish.

mod history;
mod rate;

pub use history::{Curve, LearningHistory};
pub use rate::RateMeter;

use bus::SubscriberCounts;
use interfaces::Stamp;
use interfaces::msg::{ArmState, Event, Frame, LearnerMetrics};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A message and when this process received it (local monotonic clock).
#[derive(Debug, Clone, PartialEq)]
pub struct Timed<T> {
    /// The message.
    pub msg: T,
    /// Receipt time.
    pub received: Stamp,
}

/// Which of a camera's two streams a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameKind {
    /// The policy image (cropped and resized), `camera/<name>/frame`.
    Policy,
    /// The whole captured image, `camera/<name>/full`.
    Full,
}

impl FrameKind {
    /// Short name for labels.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Policy => "policy",
            FrameKind::Full => "full",
        }
    }
}

/// The newest frame of one stream, its arrival rate and a generation number that changes with every new frame
/// (so the drawing side uploads a texture only when the image changed).
#[derive(Debug, Clone)]
pub struct FrameSlot {
    /// Newest frame.
    pub frame: Frame,
    /// When it arrived.
    pub received: Stamp,
    /// Arrival rate.
    pub rate: RateMeter,
    /// +1 for every new frame.
    pub generation: u64,
}

/// Both streams of one camera.
#[derive(Debug, Clone, Default)]
pub struct CameraFeed {
    /// Policy image stream.
    pub policy: Option<FrameSlot>,
    /// Full image stream.
    pub full: Option<FrameSlot>,
}

impl CameraFeed {
    /// The slot of one stream.
    pub fn slot(&self, kind: FrameKind) -> Option<&FrameSlot> {
        match kind {
            FrameKind::Policy => self.policy.as_ref(),
            FrameKind::Full => self.full.as_ref(),
        }
    }
}

/// Age (time since receipt) above which shown data counts as stale, per kind of data, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaleLimits {
    /// Arm state (published at the control rate, normally 1 kHz).
    pub arm_state_s: f64,
    /// Camera frames (policy and full).
    pub frames_s: f64,
    /// Learner metrics (published about once a second).
    pub metrics_s: f64,
}

impl Default for StaleLimits {
    fn default() -> Self {
        Self { arm_state_s: 0.5, frames_s: 1.0, metrics_s: 5.0 }
    }
}

/// One piece of shown data that is older than its limit.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleItem {
    /// What is stale (`arm state`, `camera front (policy)`, `learner metrics`).
    pub what: String,
    /// Its age, s.
    pub age_s: f64,
    /// The limit it exceeds, s.
    pub limit_s: f64,
}

/// Events kept for the panel's log.
const EVENT_LOG_LEN: usize = 50;

/// Everything the panel shows.
#[derive(Debug, Clone, Default)]
pub struct PanelState {
    /// Newest arm state.
    pub arm: Option<Timed<ArmState>>,
    /// Arrival rate of arm states.
    pub arm_rate: RateMeter,
    /// Cameras by name (those of the config, plus any other that publishes).
    pub cameras: BTreeMap<String, CameraFeed>,
    /// Newest learner metrics.
    pub metrics: Option<Timed<LearnerMetrics>>,
    /// Learning curves.
    pub learning: LearningHistory,
    /// Nodes alive now (liveliness).
    pub alive: BTreeSet<String>,
    /// Recent events, newest last.
    pub events: VecDeque<Timed<Event>>,
    /// Counters of the panel's own subscribers (decode errors, oversize payloads, queue drops, sequence gaps), by
    /// subscribed key without the cell prefix (`controller/arm_state`, `camera/*/frame`).
    pub subscriptions: BTreeMap<String, SubscriberCounts>,
    /// Staleness thresholds.
    pub stale_limits: StaleLimits,
}

impl PanelState {
    /// An empty state expecting the given cameras.
    pub fn new<I: IntoIterator<Item = String>>(cameras: I, stale_limits: StaleLimits) -> Self {
        Self {
            cameras: cameras.into_iter().map(|c| (c, CameraFeed::default())).collect(),
            stale_limits,
            ..Self::default()
        }
    }

    /// Takes in an arm state received at `received`.
    pub fn apply_arm_state(&mut self, msg: ArmState, received: Stamp) {
        self.arm_rate.record(received);
        self.arm = Some(Timed { msg, received });
    }

    /// Takes in a camera frame of stream `kind` received at `received`; the camera is named by `msg.camera`.
    pub fn apply_frame(&mut self, kind: FrameKind, msg: Frame, received: Stamp) {
        let feed = self.cameras.entry(msg.camera.clone()).or_default();
        let slot = match kind {
            FrameKind::Policy => &mut feed.policy,
            FrameKind::Full => &mut feed.full,
        };
        match slot {
            Some(s) => {
                s.rate.record(received);
                s.frame = msg;
                s.received = received;
                s.generation += 1;
            }
            None => {
                let mut rate = RateMeter::default();
                rate.record(received);
                *slot = Some(FrameSlot { frame: msg, received, rate, generation: 1 });
            }
        }
    }

    /// Takes in learner metrics received at `received` (and extends the learning curves).
    pub fn apply_metrics(&mut self, msg: LearnerMetrics, received: Stamp) {
        self.learning.push(&msg, received);
        self.metrics = Some(Timed { msg, received });
    }

    /// Takes in an event received at `received` (the log keeps the newest 50).
    pub fn apply_event(&mut self, msg: Event, received: Stamp) {
        if self.events.len() >= EVENT_LOG_LEN {
            self.events.pop_front();
        }
        self.events.push_back(Timed { msg, received });
    }

    /// Replaces the counters of the subscription to `key` (without the cell prefix).
    pub fn set_subscription_counts(&mut self, key: &str, counts: SubscriberCounts) {
        match self.subscriptions.get_mut(key) {
            Some(c) => *c = counts,
            None => {
                self.subscriptions.insert(key.to_string(), counts);
            }
        }
    }

    /// Replaces the set of alive nodes.
    pub fn set_alive<I: IntoIterator<Item = String>>(&mut self, nodes: I) {
        self.alive = nodes.into_iter().collect();
    }

    /// Every shown value older than its limit at `now`. Data never received is not stale (the panel shows it as
    /// missing instead).
    pub fn stale(&self, now: Stamp) -> Vec<StaleItem> {
        let lim = self.stale_limits;
        let mut out = Vec::new();
        let mut check = |what: String, received: Stamp, limit_s: f64| {
            let age_s = now.secs_since(received);
            if age_s > limit_s {
                out.push(StaleItem { what, age_s, limit_s });
            }
        };
        if let Some(a) = &self.arm {
            check("arm state".into(), a.received, lim.arm_state_s);
        }
        for (name, feed) in &self.cameras {
            for kind in [FrameKind::Policy, FrameKind::Full] {
                if let Some(s) = feed.slot(kind) {
                    check(format!("camera {name} ({})", kind.name()), s.received, lim.frames_s);
                }
            }
        }
        if let Some(m) = &self.metrics {
            check("learner metrics".into(), m.received, lim.metrics_s);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::msg::{Header, PixelEncoding};

    fn s(secs: f64) -> Stamp {
        Stamp((secs * 1e9) as u64)
    }

    fn frame(camera: &str) -> Frame {
        Frame {
            header: Header::default(),
            camera: camera.into(),
            width: 2,
            height: 1,
            encoding: PixelEncoding::Rgb8,
            data: vec![0; 6],
        }
    }

    #[test]
    fn stale_lists_only_data_older_than_its_limit() {
        let mut st = PanelState::new(["front".to_string()], StaleLimits::default());
        assert!(st.stale(s(100.0)).is_empty(), "nothing received: nothing stale");
        st.apply_arm_state(ArmState::default(), s(10.0));
        st.apply_frame(FrameKind::Policy, frame("front"), s(10.0));
        st.apply_metrics(LearnerMetrics::default(), s(10.0));
        assert!(st.stale(s(10.4)).is_empty());
        let names: Vec<String> = st.stale(s(10.8)).into_iter().map(|i| i.what).collect();
        assert_eq!(names, ["arm state"]);
        let names: Vec<String> = st.stale(s(16.0)).into_iter().map(|i| i.what).collect();
        assert_eq!(names, ["arm state", "camera front (policy)", "learner metrics"]);
    }

    #[test]
    fn frames_bump_generation_and_unknown_cameras_appear() {
        let mut st = PanelState::new(["front".to_string()], StaleLimits::default());
        st.apply_frame(FrameKind::Full, frame("front"), s(1.0));
        st.apply_frame(FrameKind::Full, frame("front"), s(1.1));
        st.apply_frame(FrameKind::Policy, frame("side"), s(1.1));
        assert_eq!(st.cameras["front"].full.as_ref().map(|f| f.generation), Some(2));
        assert!(st.cameras["front"].policy.is_none());
        assert!(st.cameras.contains_key("side"));
    }

    #[test]
    fn event_log_is_bounded() {
        let mut st = PanelState::default();
        for i in 0..60 {
            let e = Event {
                header: Header::default(),
                node: "n".into(),
                level: interfaces::msg::Level::Info,
                text: format!("{i}"),
            };
            st.apply_event(e, s(i as f64));
        }
        assert_eq!(st.events.len(), 50);
        assert_eq!(st.events.front().map(|e| e.msg.text.as_str()), Some("10"));
    }
}
