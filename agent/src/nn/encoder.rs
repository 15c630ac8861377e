//! Image encoders, one per camera: a small CNN (default) or ResNet-10 (optionally pretrained, frozen or
//! fine-tuned), each followed by a trainable projection `Linear → LayerNorm → tanh` to `features` values.
//!
//! Input: per camera `[B, H, W, 3]` u8 (already augmented); inside, `[B, 3, H, W]` float in `[0, 1]` (ResNet-10
//! also subtracts the ImageNet mean and divides by its standard deviation). Output: `[B, cameras · features]`.

use crate::nn::params::{Init, ParamBuilder, ParamGroup};
use crate::nn::resnet10::Resnet10;
use crate::spec::ObsSpec;
use interfaces::config::{EncoderConfig, EncoderKind};
use tch::{Kind, Tensor};

/// Small CNN: four 3×3 convolutions with 32 channels (strides 2, 2, 2, 1; no padding), ReLU after each.
const SMALL_CNN: [(i64, i64); 4] = [(32, 2), (32, 2), (32, 2), (32, 1)];

#[derive(Debug, Clone)]
enum Backbone {
    Small(Vec<(usize, usize, i64)>),
    Resnet(Resnet10),
}

#[derive(Debug, Clone)]
struct CameraEncoder {
    backbone: Backbone,
    proj: (usize, usize, usize, usize),
}

/// The encoders of all cameras.
#[derive(Debug, Clone)]
pub struct Encoders {
    cams: Vec<CameraEncoder>,
    /// The backbone lives in the frozen group (pretrained, not trained).
    frozen: bool,
    /// Output width, `cameras · features`.
    pub out_dim: i64,
}

fn conv_out(x: i64, k: i64, s: i64, p: i64) -> i64 {
    (x + 2 * p - k) / s + 1
}

impl Encoders {
    /// Declares the encoders: trainable parts in `trainable` (`encoder.<camera>.…`), a frozen backbone (ResNet-10
    /// with `cfg.frozen`) in `frozen`. Returns `None` for a state-only spec.
    pub fn declare(
        trainable: &mut ParamBuilder,
        frozen: &mut ParamBuilder,
        spec: &ObsSpec,
        cfg: &EncoderConfig,
    ) -> Option<Self> {
        if spec.cameras.is_empty() {
            return None;
        }
        let f = cfg.features as i64;
        let freeze = cfg.kind == EncoderKind::Resnet10 && cfg.frozen;
        let mut cams = Vec::new();
        for cam in &spec.cameras {
            let pre = format!("encoder.{}.", cam.name);
            let (backbone, flat) = match cfg.kind {
                EncoderKind::SmallCnn => {
                    let (mut h, mut w, mut cin) = (cam.height as i64, cam.width as i64, 3i64);
                    let mut convs = Vec::new();
                    for (i, (cout, s)) in SMALL_CNN.iter().enumerate() {
                        let fan = cin * 9;
                        let b = Init::Uniform(1.0 / (fan as f32).sqrt());
                        let wi = trainable.add(format!("{pre}conv{i}.weight"), &[*cout, cin, 3, 3], b);
                        let bi = trainable.add(format!("{pre}conv{i}.bias"), &[*cout], b);
                        convs.push((wi, bi, *s));
                        h = conv_out(h, 3, *s, 0);
                        w = conv_out(w, 3, *s, 0);
                        cin = *cout;
                    }
                    (Backbone::Small(convs), cin * h.max(1) * w.max(1))
                }
                EncoderKind::Resnet10 => {
                    let pb = if freeze { &mut *frozen } else { &mut *trainable };
                    let r = Resnet10::declare(pb, &format!("{pre}resnet."));
                    (Backbone::Resnet(r), Resnet10::OUT_CHANNELS)
                }
            };
            let b = Init::Uniform(1.0 / (flat as f32).sqrt());
            let proj = (
                trainable.add(format!("{pre}proj.weight"), &[flat, f], b),
                trainable.add(format!("{pre}proj.bias"), &[f], b),
                trainable.add(format!("{pre}proj.ln_scale"), &[f], Init::Const(1.0)),
                trainable.add(format!("{pre}proj.ln_bias"), &[f], Init::Const(0.0)),
            );
            cams.push(CameraEncoder { backbone, proj });
        }
        Some(Self { out_dim: f * cams.len() as i64, cams, frozen: freeze })
    }

    /// Encodes `images` (per camera `[B, H, W, 3]` u8) → `[B, cameras · features]`. `frozen` is the group holding
    /// a frozen backbone (computed without autograd), `trainable` the rest.
    pub fn forward(&self, trainable: &ParamGroup, frozen: Option<&ParamGroup>, images: &[Tensor]) -> Tensor {
        let feats: Vec<Tensor> = self
            .cams
            .iter()
            .zip(images)
            .map(|(c, img)| {
                let x = img.permute([0, 3, 1, 2]).to_kind(Kind::Float) / 255.0;
                let h = match (&c.backbone, frozen) {
                    (Backbone::Small(convs), _) => {
                        let mut h = x;
                        for &(w, b, s) in convs {
                            h = h.conv2d(trainable.get(w), Some(trainable.get(b)), [s, s], [0, 0], [1, 1], 1).relu();
                        }
                        h.flatten(1, -1)
                    }
                    (Backbone::Resnet(r), Some(fz)) if self.frozen => tch::no_grad(|| r.forward(fz, &x)),
                    (Backbone::Resnet(r), _) => r.forward(trainable, &x),
                };
                let (w, b, g, be) = c.proj;
                let n = trainable.get(b).size()[0];
                trainable
                    .get(b)
                    .addmm(&h, trainable.get(w))
                    .layer_norm([n], Some(trainable.get(g)), Some(trainable.get(be)), 1e-5, false)
                    .tanh()
            })
            .collect();
        if feats.len() == 1 { feats.into_iter().next().unwrap_or_default() } else { Tensor::cat(&feats, 1) }
    }

    /// True when the backbone is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen
    }
}
