//! Flat parameter groups: every parameter of a network is a view into one contiguous buffer, so the optimiser, the
//! soft target update and checkpointing act on the whole network with a handful of fused ops instead of one op per
//! tensor.

use crate::error::{AgentError, Result};
use crate::nn::rng::Rng;
use tch::{Device, Kind, Tensor};

/// How a parameter is initialised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Uniform in `[-b, b]`.
    Uniform(f32),
    /// A constant.
    Const(f32),
}

/// Declares parameters before they are allocated.
#[derive(Debug, Default)]
pub struct ParamBuilder {
    specs: Vec<(String, Vec<i64>, Init)>,
}

impl ParamBuilder {
    /// Declares a parameter; returns its index in the group.
    pub fn add(&mut self, name: impl Into<String>, shape: &[i64], init: Init) -> usize {
        self.specs.push((name.into(), shape.to_vec(), init));
        self.specs.len() - 1
    }

    /// Allocates the group on `device`, drawing initial values from `rng` (deterministic for a seed).
    pub fn build(self, device: Device, rng: &mut Rng, trainable: bool) -> ParamGroup {
        let total: i64 = self.specs.iter().map(|(_, s, _)| s.iter().product::<i64>()).sum();
        let mut host = Vec::with_capacity(total as usize);
        for (_, shape, init) in &self.specs {
            let n: i64 = shape.iter().product();
            match *init {
                Init::Uniform(b) => host.extend((0..n).map(|_| (rng.uniform() as f32 * 2.0 - 1.0) * b)),
                Init::Const(c) => host.extend(std::iter::repeat_n(c, n as usize)),
            }
        }
        let flat = Tensor::from_slice(&host).to_device(device);
        ParamGroup::from_flat(flat, self.specs.into_iter().map(|(n, s, _)| (n, s)).collect(), trainable)
    }
}

/// A group of named parameters sharing one flat f32 buffer (`flat`, shape `[N]`).
#[derive(Debug)]
pub struct ParamGroup {
    flat: Tensor,
    names: Vec<String>,
    shapes: Vec<Vec<i64>>,
    views: Vec<Tensor>,
    offsets: Vec<usize>,
}

impl ParamGroup {
    fn from_flat(flat: Tensor, specs: Vec<(String, Vec<i64>)>, trainable: bool) -> Self {
        let mut views = Vec::with_capacity(specs.len());
        let mut offsets = Vec::with_capacity(specs.len());
        let mut off = 0i64;
        for (_, shape) in &specs {
            let n: i64 = shape.iter().product();
            let v = flat.narrow(0, off, n).view(shape.as_slice());
            views.push(if trainable { v.set_requires_grad(true) } else { v });
            offsets.push(off as usize);
            off += n;
        }
        let (names, shapes) = specs.into_iter().unzip();
        Self { flat, names, shapes, views, offsets }
    }

    /// The `i`-th parameter (a view into the flat buffer; requires grad when the group is trainable).
    pub fn get(&self, i: usize) -> &Tensor {
        &self.views[i]
    }

    /// Where the `i`-th parameter starts in the flat buffer (elements).
    pub fn offset(&self, i: usize) -> usize {
        self.offsets[i]
    }

    /// All parameters, in declaration order.
    pub fn views(&self) -> &[Tensor] {
        &self.views
    }

    /// Names, in declaration order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The flat buffer `[N]`.
    pub fn flat(&self) -> &Tensor {
        &self.flat
    }

    /// Number of scalars.
    pub fn numel(&self) -> i64 {
        self.flat.size1().unwrap_or(0)
    }

    /// A copy with its own buffer (for target networks); `trainable` as given.
    pub fn duplicate(&self, trainable: bool) -> Self {
        let flat = tch::no_grad(|| self.flat.copy());
        Self::from_flat(flat, self.names.iter().cloned().zip(self.shapes.iter().cloned()).collect(), trainable)
    }

    /// Gradients of `loss` w.r.t. every parameter, concatenated into one flat `[N]` tensor (no `.grad` is touched).
    pub fn flat_grad(&self, loss: &Tensor) -> Tensor {
        let grads = Tensor::run_backward(&[loss], &self.views, false, false);
        let flat: Vec<Tensor> = grads.iter().map(|g| g.reshape([-1])).collect();
        Tensor::cat(&flat, 0)
    }

    /// Polyak update of this (target) group towards `online`: `θ' ← θ' + τ (θ − θ')`.
    pub fn soft_update_from(&self, online: &ParamGroup, tau: f64) {
        tch::no_grad(|| {
            let _ = self.flat.shallow_clone().lerp_(online.flat(), tau);
        });
    }

    /// Copies every value of `other` (same layout) into this group.
    pub fn copy_from(&self, other: &ParamGroup) {
        tch::no_grad(|| self.flat.shallow_clone().copy_(other.flat()));
    }

    /// Named tensors `(prefix + name, view)` for serialisation.
    pub fn named(&self, prefix: &str) -> Vec<(String, Tensor)> {
        self.names.iter().zip(&self.views).map(|(n, v)| (format!("{prefix}{n}"), v.detach())).collect()
    }

    /// Loads every parameter from `lookup(prefix + name)`, checking shapes. Errors name the missing or mismatched key.
    pub fn load(&self, prefix: &str, source: &str, lookup: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        self.load_each(source, |name| Some(format!("{prefix}{name}")), lookup)
    }

    /// Loads the parameters whose names start with `prefix` from `lookup(name without prefix)`; the rest are left
    /// as they are. Errors name the missing or mismatched key.
    pub fn load_subset(&self, prefix: &str, source: &str, lookup: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        self.load_each(source, |name| name.strip_prefix(prefix).map(str::to_string), lookup)
    }

    /// Copies `lookup(key(name))` into every parameter whose `key` is `Some`, checking shapes.
    fn load_each(
        &self,
        source: &str,
        key: impl Fn(&str) -> Option<String>,
        lookup: &dyn Fn(&str) -> Option<Tensor>,
    ) -> Result<()> {
        let fail = |reason: String| AgentError::Weights { source_name: source.to_string(), reason };
        for ((name, shape), view) in self.names.iter().zip(&self.shapes).zip(&self.views) {
            let Some(key) = key(name) else { continue };
            let t = lookup(&key).ok_or_else(|| fail(format!("missing tensor `{key}`")))?;
            if t.size() != *shape {
                return Err(fail(format!("tensor `{key}` has shape {:?}, expected {:?}", t.size(), shape)));
            }
            tch::no_grad(|| view.detach().copy_(&t.to_kind(Kind::Float).to_device(view.device())));
        }
        Ok(())
    }

    /// Gradients of `loss` w.r.t. every parameter of every group in one backward pass; one flat `[N_g]` tensor
    /// per group, in order.
    pub fn flat_grads(loss: &Tensor, groups: &[&ParamGroup]) -> Vec<Tensor> {
        let views: Vec<&Tensor> = groups.iter().flat_map(|g| g.views.iter()).collect();
        let grads = Tensor::run_backward(&[loss], &views, false, false);
        let mut it = grads.into_iter();
        groups
            .iter()
            .map(|g| {
                let parts: Vec<Tensor> = it.by_ref().take(g.views.len()).map(|t| t.reshape([-1])).collect();
                Tensor::cat(&parts, 0)
            })
            .collect()
    }
}
