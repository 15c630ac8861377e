//! [`StackedMlp`]: `E` MLPs of one shape (the critic ensemble, or `E = 1` for the actor) — hidden layers
//! `Dense → LayerNorm → SiLU`, then a linear head — computed on the CPU without autograd: GEMMs through libtorch
//! (`mm` into preallocated outputs), the activation and its gradient in one fused kernel per layer, the backward
//! pass written out by hand. Same arithmetic as [`crate::nn::EnsembleMlp::forward`] / [`crate::nn::Mlp::forward`]
//! under autograd, to float rounding.

use crate::nn::fused::host::with_host;
use crate::nn::fused::kernels::{self, LnLayer, LnSaved};
use crate::nn::params::ParamGroup;
use tch::{Kind, Tensor};

/// One layer: parameter indices in the group and its shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackedLayer {
    /// Weight `[E, fan_in, width]` (or `[fan_in, width]` for `E = 1`).
    pub w: usize,
    /// Bias `[E, 1, width]` (or `[width]`).
    pub b: usize,
    /// LayerNorm scale and shift (hidden layers; `None` for the head).
    pub ln: Option<(usize, usize)>,
    /// Inputs.
    pub fan_in: i64,
    /// Outputs.
    pub width: i64,
}

/// A stack of `members` MLPs sharing one layout; the last layer is the linear head.
#[derive(Debug, Clone)]
pub struct StackedMlp {
    pub(crate) members: i64,
    pub(crate) layers: Vec<StackedLayer>,
}

/// What a training forward pass keeps for the backward pass.
#[derive(Debug)]
pub struct Tape {
    x: Tensor,
    hidden: Vec<Saved>,
    /// The output `[E, B, width of the head]`.
    pub out: Tensor,
}

#[derive(Debug)]
struct Saved {
    xhat: Tensor,
    sig: Tensor,
    rstd: Tensor,
    h: Tensor,
}

fn empty(shape: &[i64]) -> Tensor {
    Tensor::empty(shape, (Kind::Float, tch::Device::Cpu))
}

impl StackedMlp {
    fn ln_layer(p: &ParamGroup, l: &StackedLayer, rows: i64) -> Option<LnLayer> {
        l.ln.map(|(g, be)| LnLayer {
            bias: p.offset(l.b),
            scale: p.offset(g),
            shift: p.offset(be),
            width: l.width as usize,
            rows: rows as usize,
        })
    }

    /// Parameters of the stack (all members), scalars.
    fn numel(&self) -> usize {
        let per_member: i64 = self
            .layers
            .iter()
            .map(|l| l.fan_in * l.width + l.width + if l.ln.is_some() { 2 * l.width } else { 0 })
            .sum();
        (per_member * self.members) as usize
    }

    /// The forward pass of `members` (all when `None`) on `x: [B, fan_in]` (the same input for every member):
    /// the tape holds the output `[E', B, out]`, and with `train` what [`StackedMlp::backward`] needs.
    /// Must run with gradients off (`tch::no_grad`); `p` is on the CPU.
    pub fn forward(&self, p: &ParamGroup, x: &Tensor, members: Option<&[i64]>, train: bool) -> Tape {
        let all: Vec<i64> = (0..self.members).collect();
        let members = members.unwrap_or(&all);
        let x = x.contiguous();
        let rows = x.size()[0];
        let ne = members.len() as i64;
        let mut hidden = Vec::new();
        let mut prev: Option<Tensor> = None;
        let mut out = Tensor::new();
        for l in &self.layers {
            let w = p.get(l.w).view([self.members, l.fan_in, l.width]);
            let z = empty(&[ne, rows, l.width]);
            for (j, &e) in members.iter().enumerate() {
                let input = prev.as_ref().map_or_else(|| x.shallow_clone(), |h| h.get(j as i64));
                let _ = input.mm_out(&z.get(j as i64), &w.get(e));
            }
            match Self::ln_layer(p, l, rows) {
                Some(ln) => {
                    let h = empty(&[ne, rows, l.width]);
                    let (sig, rstd) = if train {
                        (empty(&[ne, rows, l.width]), empty(&[ne, rows]))
                    } else {
                        (empty(&[0]), empty(&[0]))
                    };
                    with_host(&[p.flat()], &[&z, &h, &sig, &rstd], |r, w| {
                        let [z, h, sig, rstd] = w else { unreachable!("four outputs") };
                        let mut saved = LnSaved { sig, rstd };
                        kernels::bias_ln_silu_forward(r[0], &ln, members, z, h, train.then_some(&mut saved));
                    });
                    if train {
                        hidden.push(Saved { xhat: z, sig, rstd, h: h.shallow_clone() });
                    }
                    prev = Some(h);
                }
                None => {
                    with_host(&[p.flat()], &[&z], |r, w| {
                        kernels::add_bias(r[0], p.offset(l.b), l.width as usize, rows as usize, members, w[0])
                    });
                    out = z;
                }
            }
        }
        Tape { x, hidden, out }
    }

    /// The backward pass of a training [`Tape`] of all members, from `dout = ∂L/∂out` `[E, B, out]`: the
    /// parameter gradients as one flat buffer of the group's layout (with `param_grads`), and `∂L/∂x` `[B, fan_in]`
    /// summed over members (with `input_grad`). Must run with gradients off.
    pub fn backward(
        &self,
        p: &ParamGroup,
        tape: &Tape,
        dout: &Tensor,
        param_grads: bool,
        input_grad: bool,
    ) -> (Option<Tensor>, Option<Tensor>) {
        assert_eq!(tape.hidden.len() + 1, self.layers.len(), "backward needs a training tape");
        let rows = tape.x.size()[0];
        // Every element is written below (weights by the products, the rest by the kernels): no zeroing pass.
        assert_eq!(self.numel(), p.numel() as usize, "the stack must hold every parameter of its group");
        let grad = param_grads.then(|| empty(&[p.numel()]));
        let mut d = dout.contiguous();
        let mut dx = None;
        for (li, l) in self.layers.iter().enumerate().rev() {
            let saved = li.checked_sub(1).map(|i| &tape.hidden[i]);
            match Self::ln_layer(p, l, rows) {
                Some(ln) => {
                    let s = &tape.hidden[li];
                    let writes: Vec<&Tensor> = std::iter::once(&d).chain(grad.as_ref()).collect();
                    with_host(&[p.flat(), &s.xhat, &s.sig, &s.rstd], &writes, |r, w| {
                        let (d, rest) = w.split_first_mut().unwrap_or_else(|| unreachable!("d is written"));
                        let g = rest.first_mut().map(|g| &mut **g);
                        kernels::bias_ln_silu_backward(r[0], &ln, r[1], r[2], r[3], d, g);
                    });
                }
                None => {
                    if let Some(g) = &grad {
                        with_host(&[&d], &[g], |r, w| {
                            kernels::head_bias_grad(r[0], p.offset(l.b), l.width as usize, rows as usize, w[0])
                        });
                    }
                }
            }
            let w = p.get(l.w).view([self.members, l.fan_in, l.width]);
            let input = |e: i64| saved.map_or_else(|| tape.x.shallow_clone(), |s| s.h.get(e));
            if let Some(g) = &grad {
                let n = self.members * l.fan_in * l.width;
                let gw = g.narrow(0, p.offset(l.w) as i64, n).view([self.members, l.fan_in, l.width]);
                for e in 0..self.members {
                    let _ = input(e).transpose(0, 1).mm_out(&gw.get(e), &d.get(e));
                }
            }
            if li > 0 {
                let dprev = empty(&[self.members, rows, l.fan_in]);
                for e in 0..self.members {
                    let _ = d.get(e).mm_out(&dprev.get(e), &w.get(e).transpose(0, 1));
                }
                d = dprev;
            } else if input_grad {
                let mut acc = empty(&[rows, l.fan_in]);
                for e in 0..self.members {
                    let wt = w.get(e).transpose(0, 1);
                    if e == 0 {
                        let _ = d.get(e).mm_out(&acc, &wt);
                    } else {
                        let _ = acc.addmm_(&d.get(e), &wt);
                    }
                }
                dx = Some(acc);
            }
        }
        (grad, dx)
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::fused::rel_err;
    use crate::nn::{EnsembleMlp, Mlp, ParamBuilder, ParamGroup, Rng};
    use tch::{Kind, Tensor};

    fn autograd_grads(p: &ParamGroup, x: &Tensor, out: &Tensor, dout: &Tensor) -> (Tensor, Tensor) {
        let l = (out * dout).sum(Kind::Float);
        let mut inputs: Vec<&Tensor> = p.views().iter().collect();
        inputs.push(x);
        let g = Tensor::run_backward(&[&l], &inputs, false, false);
        let flat: Vec<Tensor> = g[..g.len() - 1].iter().map(|t| t.reshape([-1])).collect();
        (Tensor::cat(&flat, 0), g[g.len() - 1].shallow_clone())
    }

    #[test]
    fn ensemble_forward_and_backward_match_autograd() {
        tch::manual_seed(7);
        // 256-wide as the learner's default; 40/24 exercise rows that are not a multiple of the kernels' lanes.
        for (members, hidden) in [(2i64, vec![256i64, 256]), (5, vec![40, 24, 24])] {
            let mut pb = ParamBuilder::default();
            let ens = EnsembleMlp::declare(&mut pb, "q.", members, 13, &hidden, 1);
            let p = pb.build(tch::Device::Cpu, &mut Rng::new(3), true);
            let x = Tensor::randn([64, 13], tch::kind::FLOAT_CPU);
            let dq = Tensor::randn([members, 64], tch::kind::FLOAT_CPU);
            let xg = x.copy().set_requires_grad(true);
            let q = ens.forward(&p, &xg, None);
            let (g_want, dx_want) = autograd_grads(&p, &xg, &q, &dq);

            let st = ens.stacked(&p);
            let _ng = tch::no_grad_guard();
            let tape = st.forward(&p, &x, None, true);
            assert!(rel_err(&tape.out.squeeze_dim(-1), &q) < 1e-5, "forward, hidden {hidden:?}");
            let (g, dx) = st.backward(&p, &tape, &dq.unsqueeze(-1), true, true);
            let (g, dx) = (g.expect("param grads"), dx.expect("input grad"));
            assert!(rel_err(&g, &g_want) < 1e-4, "parameter gradients, hidden {hidden:?}: {}", rel_err(&g, &g_want));
            assert!(rel_err(&dx, &dx_want) < 1e-4, "input gradient, hidden {hidden:?}: {}", rel_err(&dx, &dx_want));

            let sub = [1i64, members - 1];
            let want = ens.forward(&p, &x, Some(&Tensor::from_slice(&sub)));
            let got = st.forward(&p, &x, Some(&sub), false).out.squeeze_dim(-1);
            assert!(rel_err(&got, &want) < 1e-5, "subset forward, hidden {hidden:?}");
        }
    }

    #[test]
    fn mlp_with_head_matches_autograd() {
        tch::manual_seed(8);
        let mut pb = ParamBuilder::default();
        let mlp = Mlp::declare(&mut pb, "pi.", 19, &[48, 256], Some(12));
        let p = pb.build(tch::Device::Cpu, &mut Rng::new(4), true);
        let x = Tensor::randn([32, 19], tch::kind::FLOAT_CPU);
        let dout = Tensor::randn([32, 12], tch::kind::FLOAT_CPU);
        let xg = x.copy().set_requires_grad(true);
        let out = mlp.forward(&p, &xg);
        let (g_want, dx_want) = autograd_grads(&p, &xg, &out, &dout);
        let st = mlp.stacked(&p).expect("has a head");
        let _ng = tch::no_grad_guard();
        let tape = st.forward(&p, &x, None, true);
        assert!(rel_err(&tape.out.squeeze_dim(0), &out) < 1e-5);
        let (g, dx) = st.backward(&p, &tape, &dout.unsqueeze(0), true, true);
        assert!(rel_err(&g.expect("param grads"), &g_want) < 1e-4);
        assert!(rel_err(&dx.expect("input grad"), &dx_want) < 1e-4);
        assert!(Mlp::declare(&mut ParamBuilder::default(), "x.", 3, &[4], None).stacked(&p).is_none());
    }
}
