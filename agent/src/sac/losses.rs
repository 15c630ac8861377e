//! The SAC / RLPD losses as pure functions of tensors, so they can be checked against hand-worked values.
//! Shapes: `B` batch, `E` critics, `A` action dim.

use tch::{Kind, Tensor};

/// Bounds of the actor's log standard deviation (clamped).
pub const LOG_STD_MIN: f64 = -5.0;
/// Upper bound of the actor's log standard deviation.
pub const LOG_STD_MAX: f64 = 2.0;

/// Critic target `y = r + γ (1 − done) (min_{e∈subset} Q'_e(s', a') − [α log π(a'|s')])`.
/// `next_q: [E', B]` (the REDQ subset already selected), `next_logp: [B]`, `reward`, `done: [B]` → `[B]`.
/// The entropy term is included when `backup_entropy`.
pub fn critic_target(
    reward: &Tensor,
    done: &Tensor,
    discount: f64,
    next_q: &Tensor,
    next_logp: &Tensor,
    alpha: f64,
    backup_entropy: bool,
) -> Tensor {
    let mut v = next_q.amin([0i64].as_slice(), false);
    if backup_entropy {
        v -= next_logp * alpha;
    }
    reward + (1.0 - done) * v * discount
}

/// Critic loss: mean over critics and batch of `(Q_e(s, a) − y)²`. `q: [E, B]`, `y: [B]` → scalar.
pub fn critic_loss(q: &Tensor, y: &Tensor) -> Tensor {
    (q - y.unsqueeze(0)).square().mean(Kind::Float)
}

/// Actor loss: `mean_b(α log π(a|s) − mean_e Q_e(s, a))`, `a ~ π` (reparameterised). `q: [E, B]`, `logp: [B]`.
pub fn actor_loss(q: &Tensor, logp: &Tensor, alpha: f64) -> Tensor {
    (logp * alpha - q.mean_dim([0i64].as_slice(), false, Kind::Float)).mean(Kind::Float)
}

/// Temperature loss `α · mean_b(−log π(a|s) − H̄)` with `α = exp(log_alpha)` and `H̄` the target entropy
/// (−|A|/2); its gradient lowers α when the policy's entropy exceeds the target. `logp` is treated as a constant.
pub fn temperature_loss(log_alpha: &Tensor, logp: &Tensor, target_entropy: f64) -> Tensor {
    log_alpha.exp() * (-logp.detach() - target_entropy).mean(Kind::Float)
}

/// Tanh-squashed Gaussian: `u = μ + σ ε`, `a = tanh u`,
/// `log π(a) = Σ_i [−ε_i²/2 − log σ_i − log√(2π) − log(1 − tanh² u_i)]` with the stable form
/// `log(1 − tanh² u) = 2 (log 2 − u − softplus(−2u))`. `mean, log_std, eps: [B, A]` → (`a: [B, A]`, `logp: [B]`).
/// `log_std` is clamped to `[LOG_STD_MIN, LOG_STD_MAX]` first.
pub fn squashed_gaussian(mean: &Tensor, log_std: &Tensor, eps: &Tensor) -> (Tensor, Tensor) {
    let log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX);
    let u = mean + log_std.exp() * eps;
    let a = u.tanh();
    let log_norm = eps.square() * -0.5 - &log_std - 0.5 * (2.0 * std::f64::consts::PI).ln();
    let log_jac = (std::f64::consts::LN_2 - &u - (&u * -2.0).softplus()) * 2.0;
    let logp = (log_norm - log_jac).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float);
    (a, logp)
}

/// Gripper critic target (double DQN): `a* = argmax_g Q(s', g)` (online), then
/// `y = r − penalty · changed + γ (1 − done) Q'(s', a*)` (target). `q_next_online, q_next_target: [B, 3]`.
pub fn gripper_target(
    reward: &Tensor,
    done: &Tensor,
    gripper_changed: &Tensor,
    penalty: f64,
    discount: f64,
    q_next_online: &Tensor,
    q_next_target: &Tensor,
) -> Tensor {
    let best = q_next_online.argmax(-1, true);
    let v = q_next_target.gather(1, &best, false).squeeze_dim(1);
    reward - gripper_changed * penalty + (1.0 - done) * v * discount
}

/// Gripper critic loss: `mean_b (Q(s, g_b) − y_b)²`. `q: [B, 3]`, `action: [B]` i64, `y: [B]`.
pub fn gripper_loss(q: &Tensor, action: &Tensor, y: &Tensor) -> Tensor {
    (q.gather(1, &action.unsqueeze(1), false).squeeze_dim(1) - y).square().mean(Kind::Float)
}

/// DQfD's large-margin loss for a discrete critic on demonstrated actions: `mean_b [max_g (Q(s, g) + m·[g ≠ a_b])
/// − Q(s, a_b)]`, which makes the demonstrated action the critic's argmax by at least `m`. `q: [B, G]`,
/// `action: [B]` i64.
pub fn large_margin_loss(q: &Tensor, action: &Tensor, margin: f64) -> Tensor {
    let idx = action.unsqueeze(1);
    let margins = q.ones_like() * margin - q.zeros_like().scatter_value(1, &idx, margin);
    let best = (q + margins).amax([1i64].as_slice(), false);
    (best - q.gather(1, &idx, false).squeeze_dim(1)).mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v)
    }
    fn close(a: &Tensor, b: &[f64]) {
        let got: Vec<f64> = Vec::try_from(a.to_kind(Kind::Double).reshape([-1])).expect("values");
        assert_eq!(got.len(), b.len());
        for (g, w) in got.iter().zip(b) {
            assert!((g - w).abs() < 1e-5, "got {got:?}, want {b:?}");
        }
    }

    /// Two transitions, a subset of two critics. By hand:
    /// b0: min(1.0, 3.0) = 1.0; − α logp = −0.1·(−2) → 1.2; y = 0.5 + 0.9·1.2 = 1.58.
    /// b1: done → y = r = −1.
    #[test]
    fn critic_target_uses_the_subset_minimum_and_entropy() {
        let next_q = t(&[1.0, 4.0, 3.0, 2.0]).view([2, 2]); // [E'=2, B=2]
        let y = critic_target(&t(&[0.5, -1.0]), &t(&[0.0, 1.0]), 0.9, &next_q, &t(&[-2.0, 5.0]), 0.1, true);
        close(&y, &[1.58, -1.0]);
        let y = critic_target(&t(&[0.5, -1.0]), &t(&[0.0, 0.0]), 0.9, &next_q, &t(&[-2.0, 5.0]), 0.1, false);
        // b1 without entropy: min(4, 2) = 2 → −1 + 1.8 = 0.8
        close(&y, &[1.4, 0.8]);
    }

    /// q = [[1, 2], [3, 0]], y = [2, 1]: errors (−1, 1, 1, −1)² → mean 1.
    #[test]
    fn critic_loss_is_mean_squared_error_over_critics_and_batch() {
        close(&critic_loss(&t(&[1.0, 2.0, 3.0, 0.0]).view([2, 2]), &t(&[2.0, 1.0])), &[1.0]);
    }

    /// q = [[1, 2], [3, 4]] → mean over critics (2, 3); α = 0.5, logp = (−1, 2):
    /// (−0.5 − 2 + 1 − 3) / 2 = −2.25.
    #[test]
    fn actor_loss_by_hand() {
        close(&actor_loss(&t(&[1.0, 2.0, 3.0, 4.0]).view([2, 2]), &t(&[-1.0, 2.0]), 0.5), &[-2.25]);
    }

    /// log α = ln 0.2, logp = (1, 3), H̄ = −1: mean(−logp − H̄) = mean(0, −2) = −1 → loss −0.2, dL/dlogα = −0.2.
    #[test]
    fn temperature_loss_and_gradient_by_hand() {
        let la = t(&[0.2f32.ln()]).set_requires_grad(true);
        let loss = temperature_loss(&la, &t(&[1.0, 3.0]), -1.0).sum(Kind::Float);
        close(&loss, &[-0.2]);
        let g = Tensor::run_backward(&[&loss], &[&la], false, false);
        close(&g[0], &[-0.2]);
    }

    /// Double DQN: online argmax picks g = 2 for b0 and g = 0 for b1; the target net's values there are 5 and 7.
    /// b0: 1 − 0.5·1 + 0.9·5 = 5.0; b1 (done): 0 − 0 = 0.
    #[test]
    fn gripper_target_is_double_dqn_with_penalty() {
        let online = t(&[0.0, 1.0, 2.0, 9.0, 1.0, 1.0]).view([2, 3]);
        let target = t(&[100.0, 100.0, 5.0, 7.0, 0.0, 0.0]).view([2, 3]);
        let y = gripper_target(&t(&[1.0, 0.0]), &t(&[0.0, 1.0]), &t(&[1.0, 0.0]), 0.5, 0.9, &online, &target);
        close(&y, &[5.0, 0.0]);
        let q = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).view([2, 3]);
        let a = Tensor::from_slice(&[2i64, 0]);
        // (3 − 5)² = 4, (4 − 0)² = 16 → 10
        close(&gripper_loss(&q, &a, &y), &[10.0]);
    }

    /// b0: demo action 0, q = (1, 0.5, 0): max(1, 1.3, 0.8) − 1 = 0.3. b1: demo action 2 with q = (0, 0, 2):
    /// max(0.8, 0.8, 2) − 2 = 0 (already ahead by more than the margin). Mean 0.15.
    #[test]
    fn large_margin_loss_by_hand() {
        let q = t(&[1.0, 0.5, 0.0, 0.0, 0.0, 2.0]).view([2, 3]);
        let a = Tensor::from_slice(&[0i64, 2]);
        close(&large_margin_loss(&q, &a, 0.8), &[0.15]);
    }

    /// μ = 0, log σ = 0, ε = 0: a = 0, logp = −log√(2π) per dimension (Jacobian 1).
    /// μ = 0.5, log σ = ln 0.5, ε = 1: u = 1, a = tanh 1, logp = −0.5 − ln 0.5 − log√(2π) − ln(1 − tanh²1).
    #[test]
    fn squashed_gaussian_by_hand() {
        let (a, lp) = squashed_gaussian(
            &Tensor::zeros([1, 2], tch::kind::FLOAT_CPU),
            &Tensor::zeros([1, 2], tch::kind::FLOAT_CPU),
            &Tensor::zeros([1, 2], tch::kind::FLOAT_CPU),
        );
        close(&a, &[0.0, 0.0]);
        let c = 0.5 * (2.0 * std::f64::consts::PI).ln();
        close(&lp, &[-2.0 * c]);
        let (a, lp) =
            squashed_gaussian(&t(&[0.5]).view([1, 1]), &t(&[0.5f32.ln()]).view([1, 1]), &t(&[1.0]).view([1, 1]));
        let th = 1.0f64.tanh();
        close(&a, &[th]);
        close(&lp, &[-0.5 - 0.5f64.ln() - c - (1.0 - th * th).ln()]);
        // log σ clamped: a huge log σ behaves like LOG_STD_MAX
        let (_, lp_big) = squashed_gaussian(&t(&[0.0]).view([1, 1]), &t(&[50.0]).view([1, 1]), &t(&[0.0]).view([1, 1]));
        close(&lp_big, &[-LOG_STD_MAX - c]);
    }
}
