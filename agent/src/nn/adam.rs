//! Adam on a flat parameter group (the same arithmetic as `torch.optim.Adam`, one fused pass over the buffer).

use crate::nn::fused::kernels::{self, AdamStep};
use crate::nn::fused::with_host;
use crate::nn::params::ParamGroup;
use tch::Tensor;

/// Adam state for one [`ParamGroup`]: first and second moments `[N]` and the step count.
#[derive(Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// First moment.
    pub m: Tensor,
    /// Second moment.
    pub v: Tensor,
    /// Steps taken.
    pub step: i64,
}

impl Adam {
    /// Fresh state for `group` (β = 0.9, 0.999; ε = 1e-8).
    pub fn new(group: &ParamGroup, lr: f64) -> Self {
        let z = group.flat().zeros_like();
        Self { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, v: z.zeros_like(), m: z, step: 0 }
    }

    /// One step with the flat gradient `grad` `[N]`:
    /// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)`.
    pub fn step(&mut self, group: &ParamGroup, grad: &Tensor) {
        tch::no_grad(|| {
            self.step += 1;
            let t = self.step as i32;
            let bc1 = 1.0 - self.beta1.powi(t);
            let bc2 = 1.0 - self.beta2.powi(t);
            let _ = self.m.lerp_(grad, 1.0 - self.beta1);
            self.v *= self.beta2;
            let _ = self.v.addcmul_(&(grad * (1.0 - self.beta2)), grad);
            let mut denom = self.v.sqrt();
            denom /= bc2.sqrt();
            denom += self.eps;
            let mut upd = &self.m / &denom;
            upd *= self.lr / bc1;
            let mut flat = group.flat().shallow_clone();
            flat -= &upd;
        });
    }

    /// The same step as [`Adam::step`] in one fused pass over host memory (a CPU group and gradient), and with
    /// `target = (θ', τ)` the soft update `θ' ← θ' + τ (θ − θ')` towards the new parameters in the same pass.
    pub fn step_fused_cpu(&mut self, group: &ParamGroup, grad: &Tensor, target: Option<(&ParamGroup, f64)>) {
        self.step += 1;
        let t = self.step as i32;
        let c = AdamStep {
            beta1: self.beta1 as f32,
            beta2: self.beta2 as f32,
            step_size: (self.lr / (1.0 - self.beta1.powi(t))) as f32,
            bc2_sqrt: (1.0 - self.beta2.powi(t)).sqrt() as f32,
            eps: self.eps as f32,
        };
        let mut writes = vec![group.flat(), &self.m, &self.v];
        writes.extend(target.map(|(g, _)| g.flat()));
        let tau = target.map_or(0.0, |(_, tau)| tau as f32);
        with_host(&[grad], &writes, |r, w| {
            let [p, m, v, rest @ ..] = w else { unreachable!("parameters, m and v are written") };
            kernels::adam(&c, r[0], p, m, v, rest.first_mut().map(|t| (&mut **t, tau)));
        });
    }
}
