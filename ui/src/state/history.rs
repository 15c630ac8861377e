use interfaces::Stamp;
use interfaces::msg::LearnerMetrics;

/// One learning curve the panel plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Curve {
    /// Fraction of recent episodes labelled a success, 0–1.
    SuccessRate,
    /// Lower end of the success rate's 95 % interval.
    SuccessLow,
    /// Upper end of the success rate's 95 % interval.
    SuccessHigh,
    /// Mean return of recent episodes.
    EpisodeReturn,
    /// Fraction of recent steps driven by a human, 0–1.
    InterventionRate,
    /// Critic (TD) loss.
    CriticLoss,
    /// Actor loss.
    ActorLoss,
    /// SAC temperature α.
    Temperature,
    /// Mean Q value.
    QMean,
    /// Critic updates per second.
    UpdatesPerS,
    /// Transitions in the online buffer.
    OnlineSize,
    /// Transitions in the demo + intervention buffer.
    DemoSize,
}

impl Curve {
    /// Every curve, in plotting order.
    pub const ALL: [Curve; 12] = [
        Curve::SuccessRate,
        Curve::SuccessLow,
        Curve::SuccessHigh,
        Curve::EpisodeReturn,
        Curve::InterventionRate,
        Curve::CriticLoss,
        Curve::ActorLoss,
        Curve::Temperature,
        Curve::QMean,
        Curve::UpdatesPerS,
        Curve::OnlineSize,
        Curve::DemoSize,
    ];

    /// Legend name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::SuccessRate => "success rate",
            Curve::SuccessLow => "success 95% low",
            Curve::SuccessHigh => "success 95% high",
            Curve::EpisodeReturn => "episode return",
            Curve::InterventionRate => "intervention rate",
            Curve::CriticLoss => "critic loss",
            Curve::ActorLoss => "actor loss",
            Curve::Temperature => "temperature",
            Curve::QMean => "mean Q",
            Curve::UpdatesPerS => "updates/s",
            Curve::OnlineSize => "online buffer",
            Curve::DemoSize => "demo buffer",
        }
    }

    /// This curve's value in a metrics message, if the learner reported it.
    pub fn value(self, m: &LearnerMetrics) -> Option<f64> {
        let v = match self {
            Curve::SuccessRate => m.success_rate,
            Curve::SuccessLow => m.success_rate.zip(m.success_ci95).map(|(r, c)| (r - c).max(0.0)),
            Curve::SuccessHigh => m.success_rate.zip(m.success_ci95).map(|(r, c)| (r + c).min(1.0)),
            Curve::EpisodeReturn => m.episode_return,
            Curve::InterventionRate => m.intervention_rate,
            Curve::CriticLoss => m.critic_loss,
            Curve::ActorLoss => m.actor_loss,
            Curve::Temperature => m.temperature,
            Curve::QMean => m.q_mean,
            Curve::UpdatesPerS => Some(m.updates_per_s),
            Curve::OnlineSize => Some(m.online_size as f64),
            Curve::DemoSize => Some(m.demo_size as f64),
        };
        v.filter(|x| x.is_finite())
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The learning curves over time: for each [`Curve`], points `[minutes since the first metrics, value]`.
///
/// Memory is bounded: when a curve reaches `capacity` points every other point is dropped (the curve keeps its
/// shape at half the resolution), so hours of training stay cheap to keep and draw.
#[derive(Debug, Clone)]
pub struct LearningHistory {
    origin: Option<Stamp>,
    capacity: usize,
    series: Vec<Vec<[f64; 2]>>,
}

impl Default for LearningHistory {
    fn default() -> Self {
        Self::with_capacity(8192)
    }
}

impl LearningHistory {
    /// A history keeping at most `capacity` (≥ 16) points per curve.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { origin: None, capacity: capacity.max(16), series: vec![Vec::new(); Curve::ALL.len()] }
    }

    /// Adds the figures of one metrics message received at `received`.
    pub fn push(&mut self, m: &LearnerMetrics, received: Stamp) {
        let origin = *self.origin.get_or_insert(received);
        let t_min = (i128::from(received.0) - i128::from(origin.0)) as f64 / 60e9;
        for curve in Curve::ALL {
            if let Some(v) = curve.value(m) {
                let s = &mut self.series[curve.index()];
                if s.len() >= self.capacity {
                    let mut i = 0;
                    s.retain(|_| {
                        i += 1;
                        i % 2 == 1
                    });
                }
                s.push([t_min, v]);
            }
        }
    }

    /// Points of one curve, oldest first.
    pub fn points(&self, curve: Curve) -> &[[f64; 2]] {
        &self.series[curve.index()]
    }

    /// True when no metrics arrived yet.
    pub fn is_empty(&self) -> bool {
        self.origin.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_statistics_add_no_points() {
        let mut h = LearningHistory::default();
        let m = LearnerMetrics { updates_per_s: 12.0, online_size: 100, ..Default::default() };
        h.push(&m, Stamp(0));
        h.push(
            &LearnerMetrics { success_rate: Some(0.5), success_ci95: Some(0.7), ..m.clone() },
            Stamp(60_000_000_000),
        );
        assert_eq!(h.points(Curve::UpdatesPerS), &[[0.0, 12.0], [1.0, 12.0]]);
        assert_eq!(h.points(Curve::SuccessRate), &[[1.0, 0.5]]);
        assert_eq!(h.points(Curve::SuccessLow), &[[1.0, 0.0]], "interval clipped to [0, 1]");
        assert_eq!(h.points(Curve::SuccessHigh), &[[1.0, 1.0]]);
        assert!(h.points(Curve::CriticLoss).is_empty());
    }

    #[test]
    fn history_is_bounded_and_keeps_its_span() {
        let mut h = LearningHistory::with_capacity(100);
        for i in 0..1000u64 {
            let m = LearnerMetrics { updates_per_s: i as f64, ..Default::default() };
            h.push(&m, Stamp(i * 1_000_000_000));
        }
        let p = h.points(Curve::UpdatesPerS);
        assert!(p.len() <= 100, "{}", p.len());
        assert_eq!(p[0][1], 0.0);
        assert_eq!(p[p.len() - 1][1], 999.0);
    }
}
