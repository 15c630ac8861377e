//! The critic's objective: regression (MSE against the TD target) or classification (HL-Gauss, "Stop
//! Regressing": Farebrother et al. 2024). Both as pure functions of the ensemble's raw outputs, with the gradients
//! the fused CPU path needs written out (checked against autograd in the tests).
//!
//! HL-Gauss: `K` bins of equal width `w` cover `[v_min, v_max]` (edges `e_0 … e_K`, centres `z_k`); each critic
//! outputs `K` logits `l`; `Q = Σ_k softmax(l)_k z_k`. The target distribution of a TD target `y` (clamped to the
//! support) is a Gaussian `N(y, σ²)`, `σ = sigma_ratio · w`, integrated over each bin and renormalised to the
//! support: `p_k = (Φ((e_{k+1} − y)/σ) − Φ((e_k − y)/σ)) / (Φ((e_K − y)/σ) − Φ((e_0 − y)/σ))`. The loss is the
//! cross-entropy `−Σ_k p_k log softmax(l)_k`, averaged over critics and batch.

use interfaces::config::{AgentConfig, CriticKind, HlGaussConfig};
use tch::{Device, Kind, Tensor};

/// The critic head of a learner: how raw outputs become Q values and what the critic is trained on.
#[derive(Debug)]
pub enum CriticHead {
    /// One output per critic, trained by mean squared error.
    Mse,
    /// `bins` logits per critic over a fixed support, trained by cross-entropy against HL-Gauss targets.
    HlGauss(Support),
}

/// The fixed support of an HL-Gauss critic.
#[derive(Debug)]
pub struct Support {
    /// Bin edges `[K + 1]`.
    edges: Tensor,
    /// Bin centres `[K]`.
    centres: Tensor,
    sigma: f64,
    v_min: f64,
    v_max: f64,
}

impl Support {
    /// The support of `cfg` on `device`.
    pub fn new(cfg: &HlGaussConfig, device: Device) -> Self {
        let k = cfg.bins as i64;
        let edges = Tensor::linspace(cfg.v_min, cfg.v_max, k + 1, (Kind::Float, device));
        let centres = (edges.narrow(0, 0, k) + edges.narrow(0, 1, k)) * 0.5;
        let width = (cfg.v_max - cfg.v_min) / k as f64;
        Self { edges, centres, sigma: cfg.sigma_ratio * width, v_min: cfg.v_min, v_max: cfg.v_max }
    }

    /// Bins.
    pub fn bins(&self) -> i64 {
        self.centres.size()[0]
    }

    /// The target distributions `[B, K]` of targets `y: [B]`.
    pub fn project(&self, y: &Tensor) -> Tensor {
        let y = y.clamp(self.v_min, self.v_max).unsqueeze(-1);
        let cdf = ((self.edges.unsqueeze(0) - y) / (self.sigma * std::f64::consts::SQRT_2)).erf();
        let k = self.bins();
        let mass = cdf.narrow(1, 1, k) - cdf.narrow(1, 0, k);
        let total = cdf.narrow(1, k, 1) - cdf.narrow(1, 0, 1);
        mass / total
    }

    /// Q values `[…]` of logits `[…, K]`.
    pub fn mean(&self, logits: &Tensor) -> Tensor {
        (logits.softmax(-1, Kind::Float) * &self.centres).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float)
    }
}

impl CriticHead {
    /// The head `cfg` asks for (MSE when `agent.critic` is unset: the task fills it in, see
    /// [`AgentConfig::with_task_defaults`]).
    pub fn new(cfg: &AgentConfig, device: Device) -> Self {
        match cfg.critic.unwrap_or_default() {
            CriticKind::Mse => CriticHead::Mse,
            CriticKind::HlGauss => CriticHead::HlGauss(Support::new(&cfg.hl_gauss, device)),
        }
    }

    /// Outputs per critic.
    pub fn outputs(&self) -> i64 {
        match self {
            CriticHead::Mse => 1,
            CriticHead::HlGauss(s) => s.bins(),
        }
    }

    /// Q values `[E, B]` of the ensemble's raw outputs (`[E, B]` or `[E, B, 1]` for MSE, `[E, B, K]`).
    /// The HL-Gauss support's bin centres (`None` for the MSE critic).
    pub fn centres(&self) -> Option<&Tensor> {
        match self {
            CriticHead::Mse => None,
            CriticHead::HlGauss(s) => Some(&s.centres),
        }
    }

    pub fn values(&self, out: &Tensor) -> Tensor {
        match self {
            CriticHead::Mse => {
                if out.dim() == 3 {
                    out.squeeze_dim(-1)
                } else {
                    out.shallow_clone()
                }
            }
            CriticHead::HlGauss(s) => s.mean(out),
        }
    }

    /// The critic loss of raw outputs `out` against TD targets `y: [B]` (mean over critics and batch).
    pub fn loss(&self, out: &Tensor, y: &Tensor) -> Tensor {
        match self {
            CriticHead::Mse => crate::sac::losses::critic_loss(&self.values(out), y),
            CriticHead::HlGauss(s) => {
                let p = s.project(y).unsqueeze(0);
                let ce =
                    -(p * out.log_softmax(-1, Kind::Float)).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float);
                ce.mean(Kind::Float)
            }
        }
    }

    /// [`CriticHead::loss`] and its gradient with respect to `out: [E, B, outputs]` (no autograd): MSE
    /// `2 (q − y) / (E·B)`; HL-Gauss `(softmax(l) − p) / (E·B)`.
    pub fn loss_and_grad(&self, out: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
        let n = (out.size()[0] * out.size()[1]) as f64;
        match self {
            CriticHead::Mse => {
                let err = self.values(out) - y.unsqueeze(0);
                let loss = err.square().mean(Kind::Float);
                (loss, (err * (2.0 / n)).unsqueeze(-1))
            }
            CriticHead::HlGauss(s) => {
                let p = s.project(y).unsqueeze(0);
                let logp = out.log_softmax(-1, Kind::Float);
                let loss = -(&p * &logp).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float).mean(Kind::Float);
                (loss, (logp.exp() - p) / n)
            }
        }
    }

    /// The gradient with respect to `out: [E, B, outputs]` of `Σ dq ⊙ values(out)`, for `dq: [E, B]`:
    /// MSE `dq`; HL-Gauss `dq · softmax(l)_k (z_k − Q)`.
    pub fn value_grad(&self, out: &Tensor, dq: &Tensor) -> Tensor {
        match self {
            CriticHead::Mse => dq.unsqueeze(-1),
            CriticHead::HlGauss(s) => {
                let p = out.softmax(-1, Kind::Float);
                let q = (&p * &s.centres).sum_dim_intlist([-1i64].as_slice(), true, Kind::Float);
                p * (&s.centres - q) * dq.unsqueeze(-1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hl(bins: u64) -> CriticHead {
        let cfg = AgentConfig {
            critic: Some(CriticKind::HlGauss),
            hl_gauss: HlGaussConfig { bins, v_min: -1.0, v_max: 2.0, sigma_ratio: 0.75 },
            ..AgentConfig::default()
        };
        CriticHead::new(&cfg, Device::Cpu)
    }

    /// The target distribution sums to 1, its mean is the target (away from the ends), it is clamped to the
    /// support, and a σ much smaller than a bin puts all mass in the target's bin.
    #[test]
    fn hl_gauss_targets_are_distributions_centred_on_the_target() {
        let CriticHead::HlGauss(s) = hl(31) else { unreachable!() };
        let y = Tensor::from_slice(&[0.0f32, 0.37, 1.5, 9.0, -5.0]);
        let p = s.project(&y);
        let sums = Vec::<f64>::try_from(p.sum_dim_intlist([1i64].as_slice(), false, Kind::Double)).unwrap();
        assert!(sums.iter().all(|x| (x - 1.0).abs() < 1e-5), "{sums:?}");
        let means =
            Vec::<f64>::try_from((&p * &s.centres).sum_dim_intlist([1i64].as_slice(), false, Kind::Double)).unwrap();
        for (m, want) in means.iter().zip([0.0, 0.37, 1.5]) {
            assert!((m - want).abs() < 1e-3, "mean {m}, target {want}");
        }
        assert!(means[3] > 1.8 && means[3] <= 2.0, "a target above the support is clamped: {}", means[3]);
        assert!(means[4] < -0.8 && means[4] >= -1.0, "a target below the support is clamped: {}", means[4]);
        let sharp = Support::new(&HlGaussConfig { bins: 3, v_min: 0.0, v_max: 3.0, sigma_ratio: 1e-3 }, Device::Cpu);
        let p = Vec::<f64>::try_from(sharp.project(&Tensor::from_slice(&[1.5f32])).reshape([-1]).to_kind(Kind::Double))
            .unwrap();
        assert!((p[1] - 1.0).abs() < 1e-6 && p[0] < 1e-6 && p[2] < 1e-6, "{p:?}");
    }

    /// The written-out gradients of the loss and of the values equal autograd's, for both heads.
    #[test]
    fn critic_gradients_match_autograd() {
        tch::manual_seed(5);
        for (head, k) in [(CriticHead::Mse, 1), (hl(21), 21)] {
            let out = (Tensor::randn([3, 8, k], tch::kind::FLOAT_CPU) * 2.0).set_requires_grad(true);
            let y = Tensor::randn([8], tch::kind::FLOAT_CPU);
            let loss = head.loss(&out, &y);
            let want = Tensor::run_backward(&[&loss], &[&out], false, false).remove(0);
            let (l2, got) = tch::no_grad(|| head.loss_and_grad(&out, &y));
            assert!((l2.double_value(&[]) - loss.double_value(&[])).abs() < 1e-5);
            let err = (&got - &want).abs().max().double_value(&[]);
            assert!(err < 1e-6 * want.abs().max().double_value(&[]).max(1e-3) * 100.0, "loss gradient, K {k}: {err}");
            let dq = Tensor::randn([3, 8], tch::kind::FLOAT_CPU);
            let v = (head.values(&out) * &dq).sum(Kind::Float);
            let want = Tensor::run_backward(&[&v], &[&out], false, false).remove(0);
            let got = tch::no_grad(|| head.value_grad(&out, &dq));
            let err = (&got - &want).abs().max().double_value(&[]);
            assert!(err < 1e-5, "value gradient, K {k}: {err}");
        }
    }

    /// Q is the softmax-weighted mean of the bin centres: uniform logits give the support's midpoint.
    #[test]
    fn hl_gauss_value_of_uniform_logits_is_the_midpoint() {
        let head = hl(10);
        let q = head.values(&Tensor::zeros([2, 4, 10], tch::kind::FLOAT_CPU));
        assert!((q - 0.5).abs().max().double_value(&[]) < 1e-6);
        assert_eq!(head.outputs(), 10);
        assert_eq!(CriticHead::Mse.outputs(), 1);
    }
}
