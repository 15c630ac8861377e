//! Layers on a [`ParamGroup`]: MLPs with LayerNorm, and an ensemble of MLPs computed as one batched network
//! (stacked weights `[E, in, out]`, `baddbmm`), not a loop over members.

use crate::nn::fused::{StackedLayer, StackedMlp};
use crate::nn::params::{Init, ParamBuilder, ParamGroup};
use tch::Tensor;

const LN_EPS: f64 = 1e-5;

fn bound(fan_in: i64) -> Init {
    Init::Uniform(1.0 / (fan_in as f32).sqrt())
}

/// Indices of one dense layer (`y = x W + b`, `W: [in, out]`) and its optional LayerNorm affine.
#[derive(Debug, Clone, Copy)]
struct Dense {
    w: usize,
    b: usize,
    ln: Option<(usize, usize)>,
}

/// The fused CPU path's view of `layers` (shapes read from `p`), `members` wide.
fn stacked(p: &ParamGroup, members: i64, layers: impl Iterator<Item = Dense>) -> StackedMlp {
    let layers = layers
        .map(|d| {
            let s = p.get(d.w).size();
            let (fan_in, width) = (s[s.len() - 2], s[s.len() - 1]);
            StackedLayer { w: d.w, b: d.b, ln: d.ln, fan_in, width }
        })
        .collect();
    StackedMlp { members, layers }
}

/// `Dense → LayerNorm → SiLU` per hidden layer, then an optional linear head.
#[derive(Debug, Clone)]
pub struct Mlp {
    hidden: Vec<Dense>,
    head: Option<Dense>,
}

impl Mlp {
    /// Declares an MLP `input → hidden… → out` under `prefix` (`{prefix}{i}.weight` `[in, out]`, `.bias`,
    /// `.ln_scale`, `.ln_bias`; head `{prefix}head.weight`).
    pub fn declare(pb: &mut ParamBuilder, prefix: &str, input: i64, hidden: &[i64], out: Option<i64>) -> Self {
        let mut fan = input;
        let mut layers = Vec::new();
        for (i, &h) in hidden.iter().enumerate() {
            let w = pb.add(format!("{prefix}{i}.weight"), &[fan, h], bound(fan));
            let b = pb.add(format!("{prefix}{i}.bias"), &[h], bound(fan));
            let g = pb.add(format!("{prefix}{i}.ln_scale"), &[h], Init::Const(1.0));
            let be = pb.add(format!("{prefix}{i}.ln_bias"), &[h], Init::Const(0.0));
            layers.push(Dense { w, b, ln: Some((g, be)) });
            fan = h;
        }
        let head = out.map(|o| Dense {
            w: pb.add(format!("{prefix}head.weight"), &[fan, o], bound(fan)),
            b: pb.add(format!("{prefix}head.bias"), &[o], bound(fan)),
            ln: None,
        });
        Self { hidden: layers, head }
    }

    /// The same network for the fused CPU path (one member); `None` without a head.
    pub fn stacked(&self, p: &ParamGroup) -> Option<StackedMlp> {
        let head = self.head?;
        Some(stacked(p, 1, self.hidden.iter().copied().chain(std::iter::once(head))))
    }

    /// `x: [B, input]` → `[B, out]` (or `[B, hidden.last]` without head).
    pub fn forward(&self, p: &ParamGroup, x: &Tensor) -> Tensor {
        self.forward_collect(p, x, None)
    }

    /// Each hidden layer's activations `[B, h]` for `x` (diagnostics: dormant units).
    pub fn hidden_activations(&self, p: &ParamGroup, x: &Tensor) -> Vec<Tensor> {
        let mut acts = Vec::new();
        let _ = self.forward_collect(p, x, Some(&mut acts));
        acts
    }

    fn forward_collect(&self, p: &ParamGroup, x: &Tensor, mut collect: Option<&mut Vec<Tensor>>) -> Tensor {
        let mut h = x.shallow_clone();
        for d in &self.hidden {
            h = p.get(d.b).addmm(&h, p.get(d.w));
            if let Some((g, be)) = d.ln {
                let n = h.size().last().copied().unwrap_or(1);
                h = h.layer_norm([n], Some(p.get(g)), Some(p.get(be)), LN_EPS, false);
            }
            h = h.silu();
            if let Some(c) = collect.as_deref_mut() {
                c.push(h.shallow_clone());
            }
        }
        match &self.head {
            Some(d) => p.get(d.b).addmm(&h, p.get(d.w)),
            None => h,
        }
    }
}

/// An ensemble of `E` MLPs with `out` outputs each (1: a scalar Q), as one batched network. Weights `{prefix}{i}.weight: [E, in, out]`,
/// biases and LayerNorm affines `[E, 1, out]`.
#[derive(Debug, Clone)]
pub struct EnsembleMlp {
    /// Members.
    pub members: i64,
    layers: Vec<Dense>,
}

impl EnsembleMlp {
    /// Declares `members` MLPs `input → hidden… → out`.
    pub fn declare(pb: &mut ParamBuilder, prefix: &str, members: i64, input: i64, hidden: &[i64], out: i64) -> Self {
        let mut fan = input;
        let mut layers = Vec::new();
        for (i, &h) in hidden.iter().chain(std::iter::once(&out)).enumerate() {
            let last = i == hidden.len();
            let w = pb.add(format!("{prefix}{i}.weight"), &[members, fan, h], bound(fan));
            let b = pb.add(format!("{prefix}{i}.bias"), &[members, 1, h], bound(fan));
            let ln = (!last).then(|| {
                (
                    pb.add(format!("{prefix}{i}.ln_scale"), &[members, 1, h], Init::Const(1.0)),
                    pb.add(format!("{prefix}{i}.ln_bias"), &[members, 1, h], Init::Const(0.0)),
                )
            });
            layers.push(Dense { w, b, ln });
            fan = h;
        }
        Self { members, layers }
    }

    /// The same ensemble for the fused CPU path.
    pub fn stacked(&self, p: &ParamGroup) -> StackedMlp {
        stacked(p, self.members, self.layers.iter().copied())
    }

    /// `x: [B, input]` → outputs `[E', B]` (one output) or `[E', B, out]`, where `E' = E`, or the members listed in
    /// `subset` (`[E']` i64 on the device; their weights are gathered first, so unused members cost nothing).
    pub fn forward(&self, p: &ParamGroup, x: &Tensor, subset: Option<&Tensor>) -> Tensor {
        self.forward_collect(p, x, subset, None)
    }

    /// Each hidden layer's activations `[E, B, h]` for `x` (diagnostics: dormant units).
    pub fn hidden_activations(&self, p: &ParamGroup, x: &Tensor) -> Vec<Tensor> {
        let mut acts = Vec::new();
        let _ = self.forward_collect(p, x, None, Some(&mut acts));
        acts
    }

    fn forward_collect(
        &self,
        p: &ParamGroup,
        x: &Tensor,
        subset: Option<&Tensor>,
        mut collect: Option<&mut Vec<Tensor>>,
    ) -> Tensor {
        let sel = |t: &Tensor| match subset {
            Some(s) => t.index_select(0, s),
            None => t.shallow_clone(),
        };
        let e = subset.and_then(|s| s.size1().ok()).unwrap_or(self.members);
        let size = x.size();
        let (b, fan) = (size[0], size[1]);
        let mut h = Tensor::new();
        for (i, d) in self.layers.iter().enumerate() {
            h = if i == 0 {
                // Shared input: one GEMM `[B, in] × [in, E·out]` instead of E small ones on a broadcast input.
                let w = sel(p.get(d.w));
                let out = w.size()[2];
                let wide = w.permute([1, 0, 2]).reshape([fan, e * out]);
                x.matmul(&wide).view([b, e, out]).transpose(0, 1) + sel(p.get(d.b))
            } else {
                sel(p.get(d.b)).baddbmm(&h, &sel(p.get(d.w)), 1.0, 1.0)
            };
            if let Some((g, be)) = d.ln {
                let n = h.size().last().copied().unwrap_or(1);
                h = sel(p.get(be))
                    .addcmul(&h.layer_norm([n], None::<Tensor>, None::<Tensor>, LN_EPS, false), &sel(p.get(g)));
                h = h.silu();
                if let Some(c) = collect.as_deref_mut() {
                    c.push(h.shallow_clone());
                }
            }
        }
        h.squeeze_dim(-1)
    }
}
