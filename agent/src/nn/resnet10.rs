//! ResNet-10 (ResNet-v1 with one basic block per stage, GroupNorm), the backbone of SERL / HIL-SERL's pretrained
//! image encoder, and the loader of its pretrained weights.
//!
//! # Pretrained weights file
//! A safetensors file with the layout of the widely shared SERL/HIL-SERL `resnet10` ImageNet checkpoint, flattened
//! with `/` (or `.`) as separator, optionally under a leading `params/`. Kernels are Flax `HWIO`
//! (`[kh, kw, in, out]`); the loader transposes them to libtorch's `OIHW`:
//! ```text
//! conv_init/kernel                 [7, 7, 3, 64]
//! norm_init/scale, norm_init/bias  [64]
//! ResNetBlock_{i}/Conv_0/kernel    [3, 3, c_in, c_i]           i = 0..3, c = 64, 128, 256, 512
//! ResNetBlock_{i}/MyGroupNorm_0/{scale,bias}  [c_i]
//! ResNetBlock_{i}/Conv_1/kernel    [3, 3, c_i, c_i]
//! ResNetBlock_{i}/MyGroupNorm_1/{scale,bias}  [c_i]
//! ResNetBlock_{i}/conv_proj/kernel [1, 1, c_in, c_i]           i = 1..3 (stride-2 stages)
//! ResNetBlock_{i}/norm_proj/{scale,bias}      [c_i]
//! ```
//! Architecture: `conv_init` 7×7/2 → GroupNorm → ReLU → max-pool 3×3/2 → four stages of one basic block
//! (3×3 conv/stride → GN → ReLU → 3×3 conv → GN, plus the projection shortcut, → ReLU), strides 1, 2, 2, 2 →
//! global average pool → `[B, 512]`. GroupNorm uses [`GROUPS`] groups, ε = 1e-5. Inputs are normalised with the
//! ImageNet mean and standard deviation.

use crate::error::{AgentError, Result};
use crate::nn::params::{Init, ParamBuilder, ParamGroup};
use std::collections::HashMap;
use tch::{Kind, Tensor};

/// GroupNorm groups of every normalisation layer.
pub const GROUPS: i64 = 4;
const WIDTHS: [i64; 4] = [64, 128, 256, 512];
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

#[derive(Debug, Clone, Copy)]
struct ConvNorm {
    kernel: usize,
    scale: usize,
    bias: usize,
    stride: i64,
    pad: i64,
}

#[derive(Debug, Clone)]
struct Block {
    c0: ConvNorm,
    c1: ConvNorm,
    proj: Option<ConvNorm>,
}

/// Parameter indices of one ResNet-10 in a group. Names: `<prefix>conv_init.kernel` etc., the file's layout with
/// `.` as separator (kernels stored `OIHW`).
#[derive(Debug, Clone)]
pub struct Resnet10 {
    stem: ConvNorm,
    blocks: Vec<Block>,
}

fn conv_norm(pb: &mut ParamBuilder, conv: &str, norm: &str, cin: i64, cout: i64, k: i64, stride: i64) -> ConvNorm {
    let fan = (cin * k * k) as f32;
    ConvNorm {
        kernel: pb.add(format!("{conv}.kernel"), &[cout, cin, k, k], Init::Uniform((6.0 / fan).sqrt())),
        scale: pb.add(format!("{norm}.scale"), &[cout], Init::Const(1.0)),
        bias: pb.add(format!("{norm}.bias"), &[cout], Init::Const(0.0)),
        stride,
        pad: k / 2,
    }
}

impl Resnet10 {
    /// Channels of the output.
    pub const OUT_CHANNELS: i64 = 512;

    /// Declares the parameters under `prefix`.
    pub fn declare(pb: &mut ParamBuilder, prefix: &str) -> Self {
        let stem = conv_norm(pb, &format!("{prefix}conv_init"), &format!("{prefix}norm_init"), 3, 64, 7, 2);
        let mut cin = 64;
        let mut blocks = Vec::new();
        for (i, &c) in WIDTHS.iter().enumerate() {
            let s = if i == 0 { 1 } else { 2 };
            let b = format!("{prefix}ResNetBlock_{i}.");
            let c0 = conv_norm(pb, &format!("{b}Conv_0"), &format!("{b}MyGroupNorm_0"), cin, c, 3, s);
            let c1 = conv_norm(pb, &format!("{b}Conv_1"), &format!("{b}MyGroupNorm_1"), c, c, 3, 1);
            let proj = (s != 1 || cin != c)
                .then(|| conv_norm(pb, &format!("{b}conv_proj"), &format!("{b}norm_proj"), cin, c, 1, s));
            blocks.push(Block { c0, c1, proj });
            cin = c;
        }
        Self { stem, blocks }
    }

    fn apply(p: &ParamGroup, cn: &ConvNorm, x: &Tensor) -> Tensor {
        x.conv2d(p.get(cn.kernel), None::<Tensor>, [cn.stride, cn.stride], [cn.pad, cn.pad], [1, 1], 1).group_norm(
            GROUPS,
            Some(p.get(cn.scale)),
            Some(p.get(cn.bias)),
            1e-5,
            false,
        )
    }

    /// `x: [B, 3, H, W]` in `[0, 1]` → `[B, 512]`.
    pub fn forward(&self, p: &ParamGroup, x: &Tensor) -> Tensor {
        let dev = x.device();
        let mean = Tensor::from_slice(&MEAN).to_device(dev).view([1, 3, 1, 1]);
        let std = Tensor::from_slice(&STD).to_device(dev).view([1, 3, 1, 1]);
        let x = (x - mean) / std;
        let mut h = Self::apply(p, &self.stem, &x).relu().max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        for b in &self.blocks {
            let y = Self::apply(p, &b.c1, &Self::apply(p, &b.c0, &h).relu());
            let r = match &b.proj {
                Some(pj) => Self::apply(p, pj, &h),
                None => h.shallow_clone(),
            };
            h = (y + r).relu();
        }
        h.mean_dim([2i64, 3].as_slice(), false, Kind::Float)
    }
}

/// Reads a pretrained ResNet-10 file (layout in the module docs) into `(name with '.' separators, OIHW tensor)`.
pub fn read_pretrained(path: &str) -> Result<HashMap<String, Tensor>> {
    let bytes = std::fs::read(path).map_err(crate::error::io_err("read", path))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| AgentError::Weights { source_name: path.to_string(), reason: e.to_string() })?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        let t = crate::nn::weights::view_to_tensor(&view).map_err(|reason| AgentError::Weights {
            source_name: path.to_string(),
            reason: format!("{name}: {reason}"),
        })?;
        let key = name.trim_start_matches("params/").trim_start_matches("params.").replace('/', ".");
        let t = if t.dim() == 4 { t.permute([3, 2, 0, 1]).contiguous() } else { t };
        out.insert(key, t);
    }
    Ok(out)
}

/// Copies pretrained weights into every camera's ResNet-10 in `group` (names `encoder.<camera>.resnet.<key>`).
/// Errors name the file and the missing or mismatched key.
pub fn load_pretrained(group: &ParamGroup, cameras: &[String], path: &str) -> Result<()> {
    let w = read_pretrained(path)?;
    for cam in cameras {
        group.load_subset(&format!("encoder.{cam}.resnet."), path, &|k| w.get(k).map(|t| t.shallow_clone()))?;
    }
    Ok(())
}
