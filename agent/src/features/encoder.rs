//! [`FrameEncoder`]: the frozen image encoder of the cached-feature path, camera frames → one feature vector.
//!
//! - `small_cnn` (pretrained on the demonstrations by [`super::pretrain`]): per camera four 3×3 convolutions
//!   (32, 32, 32 and `keypoints` channels; strides 2, 2, 1, 1; ReLU between) and a spatial softmax: each of the
//!   last layer's `K` channels becomes the expected image position `(x, y) ∈ [-1, 1]²` of its activation (Levine
//!   et al.'s keypoints), `2K` features per camera. Keypoints say *where* things are, which is what a
//!   manipulation policy needs and what a small linear map from 20 demonstrations can interpolate.
//! - `resnet10` with `agent.encoder.pretrained`: the pretrained ResNet-10 (SERL's layout), its 512 mean-pooled
//!   channels per camera.
//!
//! Input per camera `[B, H, W, 3]` u8; inside `[B, 3, H, W]` float in `[0, 1]`; output `[B, dim]`, cameras in the
//! spec's order. Parameter names `features.<camera>.…`.

use crate::error::{AgentError, Result};
use crate::nn::resnet10::Resnet10;
use crate::nn::{Init, ParamBuilder, ParamGroup, Rng};
use crate::spec::{CameraSpec, ObsSpec};
use interfaces::config::{EncoderConfig, EncoderKind};
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Channels and strides of the keypoint CNN's first three convolutions (the fourth has `keypoints` channels, stride 1).
const KEYPOINT_CNN: [(i64, i64); 3] = [(32, 2), (32, 2), (32, 1)];
/// Frames encoded per libtorch call when a whole buffer is encoded.
pub const ENCODE_CHUNK: usize = 128;

#[derive(Debug, Clone)]
enum Backbone {
    /// Convolutions `(weight, bias, stride)`; the last one's channels are the keypoints.
    Keypoints(Vec<(usize, usize, i64)>),
    Resnet(Resnet10),
}

/// The frozen encoder of every camera (see the module docs).
#[derive(Debug)]
pub struct FrameEncoder {
    cameras: Vec<CameraSpec>,
    backbones: Vec<Backbone>,
    params: ParamGroup,
    kind: EncoderKind,
    dim: usize,
    device: Device,
}

impl Clone for FrameEncoder {
    fn clone(&self) -> Self {
        Self {
            cameras: self.cameras.clone(),
            backbones: self.backbones.clone(),
            params: self.params.duplicate(false),
            kind: self.kind,
            dim: self.dim,
            device: self.device,
        }
    }
}

impl FrameEncoder {
    /// An encoder for the cameras of `spec` with fresh weights from `seed` (`trainable`: for pretraining), on
    /// `device`; `resnet10` loads `cfg.pretrained` (required). Errors: no cameras, a missing or malformed weights
    /// file.
    pub fn new(cfg: &EncoderConfig, spec: &ObsSpec, device: Device, seed: u64, trainable: bool) -> Result<Self> {
        let e = Self::declare(cfg, spec, device, seed, trainable)?;
        if cfg.kind == EncoderKind::Resnet10 {
            let path = cfg.pretrained.as_deref().ok_or_else(|| AgentError::Config {
                key: "agent.encoder.pretrained".into(),
                value: "none".into(),
                reason: "a frozen (cached) resnet10 encoder needs its pretrained weights file".into(),
            })?;
            let w = crate::nn::resnet10::read_pretrained(path)?;
            for cam in &spec.cameras {
                e.params.load_subset(&format!("features.{}.resnet.", cam.name), path, &|k| {
                    w.get(k).map(|t| t.shallow_clone())
                })?;
            }
        }
        Ok(e)
    }

    /// The structure with weights drawn from `seed` (a resnet10 does not read its pretrained file: its weights
    /// follow from [`FrameEncoder::new`] or a load). Errors: no cameras.
    pub(crate) fn declare(
        cfg: &EncoderConfig,
        spec: &ObsSpec,
        device: Device,
        seed: u64,
        trainable: bool,
    ) -> Result<Self> {
        if spec.cameras.is_empty() {
            return Err(AgentError::Config {
                key: "agent.use_images".into(),
                value: "true".into(),
                reason: "an image encoder needs at least one camera in [[cameras]]".into(),
            });
        }
        let mut pb = ParamBuilder::default();
        let mut backbones = Vec::new();
        let mut dim = 0usize;
        for cam in &spec.cameras {
            let pre = format!("features.{}.", cam.name);
            match cfg.kind {
                EncoderKind::SmallCnn => {
                    let mut layers = KEYPOINT_CNN.to_vec();
                    layers.push((cfg.keypoints as i64, 1));
                    let mut cin = 3i64;
                    let mut convs = Vec::new();
                    for (i, (cout, s)) in layers.into_iter().enumerate() {
                        let b = Init::Uniform(1.0 / ((cin * 9) as f32).sqrt());
                        let w = pb.add(format!("{pre}conv{i}.weight"), &[cout, cin, 3, 3], b);
                        let bi = pb.add(format!("{pre}conv{i}.bias"), &[cout], b);
                        convs.push((w, bi, s));
                        cin = cout;
                    }
                    backbones.push(Backbone::Keypoints(convs));
                    dim += 2 * cfg.keypoints as usize;
                }
                EncoderKind::Resnet10 => {
                    backbones.push(Backbone::Resnet(Resnet10::declare(&mut pb, &format!("{pre}resnet."))));
                    dim += Resnet10::OUT_CHANNELS as usize;
                }
            }
        }
        let params = pb.build(device, &mut Rng::new(seed), trainable);
        Ok(Self { cameras: spec.cameras.clone(), backbones, params, kind: cfg.kind, dim, device })
    }

    /// Feature width (all cameras).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The cameras, in order.
    pub fn cameras(&self) -> &[CameraSpec] {
        &self.cameras
    }

    /// The device the encoder computes on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The parameters (for pretraining's optimiser).
    pub(crate) fn params(&self) -> &ParamGroup {
        &self.params
    }

    /// `images` (per camera `[B, H, W, 3]` u8 on the encoder's device) → `[B, dim]`, differentiable when the
    /// parameters are trainable.
    pub fn forward(&self, images: &[Tensor]) -> Tensor {
        let p = &self.params;
        let feats: Vec<Tensor> = self
            .backbones
            .iter()
            .zip(images)
            .map(|(bb, img)| {
                let x = img.permute([0, 3, 1, 2]).to_kind(Kind::Float) / 255.0;
                match bb {
                    Backbone::Keypoints(convs) => {
                        let mut h = x;
                        let last = convs.len() - 1;
                        for (i, &(w, b, s)) in convs.iter().enumerate() {
                            h = h.conv2d(p.get(w), Some(p.get(b)), [s, s], [0, 0], [1, 1], 1);
                            if i < last {
                                h = h.relu();
                            }
                        }
                        spatial_softmax(&h)
                    }
                    Backbone::Resnet(r) => r.forward(p, &x),
                }
            })
            .collect();
        Tensor::cat(&feats, 1)
    }

    /// [`FrameEncoder::forward`] without autograd.
    pub fn encode(&self, images: &[Tensor]) -> Tensor {
        tch::no_grad(|| self.forward(images))
    }

    /// Encodes `n` frames given per camera as `n · frame_bytes` contiguous bytes → `n · dim` f32 (row-major).
    pub fn encode_frames(&self, frames: &[&[u8]], n: usize) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(n * self.dim);
        let mut start = 0;
        while start < n {
            let len = (n - start).min(ENCODE_CHUNK);
            let imgs: Vec<Tensor> = self
                .cameras
                .iter()
                .zip(frames)
                .map(|(c, f)| {
                    let b = c.frame_bytes();
                    Tensor::from_slice(&f[start * b..(start + len) * b])
                        .view([len as i64, c.height as i64, c.width as i64, 3])
                        .to_device(self.device)
                })
                .collect();
            let f = self.encode(&imgs).to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
            out.extend(Vec::<f32>::try_from(f.reshape([-1]))?);
            start += len;
        }
        Ok(out)
    }

    /// Named tensors (`features.…`) for the policy weights and the encoder file.
    pub fn named(&self) -> Vec<(String, Tensor)> {
        self.params.named("")
    }

    /// Loads the parameters from `lookup` (the names of [`FrameEncoder::named`]). Errors name the missing tensor.
    pub fn load(&self, source: &str, lookup: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        self.params.load("", source, lookup)
    }

    /// Writes the encoder to `path` (safetensors) through [`crate::disk::write_atomic`]: synced, renamed over the
    /// old file and the rename synced, so a crash leaves the old encoder or the new one whole, never half-written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut meta = HashMap::new();
        meta.insert("kind".into(), format!("{:?}", self.kind));
        meta.insert("dim".into(), self.dim.to_string());
        let bytes = crate::nn::weights::to_bytes(&self.named(), meta)?;
        crate::disk::write_atomic(path, &bytes)
    }

    /// Reads an encoder written by [`FrameEncoder::save`] for the cameras of `spec`. Errors name the file and the
    /// missing or mismatched tensor (an encoder of another camera set or architecture).
    pub fn load_file(cfg: &EncoderConfig, spec: &ObsSpec, path: &Path, device: Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(crate::error::io_err("read", path))?;
        let source = path.display().to_string();
        let l = crate::nn::weights::from_bytes(&bytes, &source)?;
        // The weights come from the file: a resnet10 encoder does not read its pretrained file again.
        let e = Self::declare(cfg, spec, device, 0, false)?;
        e.load(&source, &|k| l.get(k))?;
        Ok(e)
    }
}

/// Spatial softmax: `h: [B, K, H, W]` → `[B, 2K]`, per channel the softmax-weighted mean position `(x, y)` over
/// a grid spanning `[-1, 1]` in both axes.
pub fn spatial_softmax(h: &Tensor) -> Tensor {
    let s = h.size();
    let (b, k, hh, ww) = (s[0], s[1], s[2], s[3]);
    let dev = h.device();
    let p = h.reshape([b, k, hh * ww]).softmax(-1, Kind::Float).reshape([b, k, hh, ww]);
    let xs = Tensor::linspace(-1.0, 1.0, ww, (Kind::Float, dev));
    let ys = Tensor::linspace(-1.0, 1.0, hh, (Kind::Float, dev));
    let ex = (p.sum_dim_intlist([2i64].as_slice(), false, Kind::Float) * xs.view([1, 1, ww])).sum_dim_intlist(
        [2i64].as_slice(),
        false,
        Kind::Float,
    );
    let ey = (p.sum_dim_intlist([3i64].as_slice(), false, Kind::Float) * ys.view([1, 1, hh])).sum_dim_intlist(
        [2i64].as_slice(),
        false,
        Kind::Float,
    );
    Tensor::cat(&[ex, ey], 1)
}

/// The spec a learner on cached features sees: no cameras, `proprio = [features, proprio]`.
pub fn encoded_spec(spec: &ObsSpec, feature_dim: usize) -> ObsSpec {
    ObsSpec { proprio_dim: feature_dim + spec.proprio_dim, cameras: Vec::new(), ..spec.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One channel peaked at column 3 of 5 (x = 0.5) and row 0 of 3 (y = −1).
    #[test]
    fn spatial_softmax_finds_the_peak() {
        let h = Tensor::full([1, 1, 3, 5], -50.0, (Kind::Float, Device::Cpu));
        let _ = h.get(0).get(0).get(0).get(3).fill_(50.0);
        let v: Vec<f32> = Vec::try_from(spatial_softmax(&h).reshape([-1])).expect("values");
        assert!((v[0] - 0.5).abs() < 1e-4 && (v[1] + 1.0).abs() < 1e-4, "{v:?}");
    }

    /// A cell of one 32×32 camera and an encoder of 4 keypoints, for the file tests.
    fn one_small_camera() -> (ObsSpec, EncoderConfig) {
        let spec = ObsSpec {
            proprio_dim: 3,
            cameras: vec![CameraSpec { name: "front".into(), height: 32, width: 32 }],
            action_dim: 2,
            gripper: false,
        };
        (spec, EncoderConfig { keypoints: 4, ..EncoderConfig::default() })
    }

    #[test]
    fn encoder_round_trips_through_its_file() {
        let (spec, cfg) = one_small_camera();
        let e = FrameEncoder::new(&cfg, &spec, Device::Cpu, 5, false).expect("encoder");
        assert_eq!(e.dim(), 8);
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("encoder.safetensors");
        e.save(&path).expect("save");
        let back = FrameEncoder::load_file(&cfg, &spec, &path, Device::Cpu).expect("load");
        let frame: Vec<u8> = (0..32 * 32 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let a = e.encode_frames(&[&frame], 1).expect("encode");
        let b = back.encode_frames(&[&frame], 1).expect("encode");
        assert_eq!(a, b);
        let other = FrameEncoder::new(&cfg, &spec, Device::Cpu, 6, false).expect("encoder");
        assert_ne!(a, other.encode_frames(&[&frame], 1).expect("encode"));
    }

    /// The encoder file is replaced whole through `disk::write_atomic`: a stale temporary file left by a crash,
    /// even a symbolic link at its name, is replaced and never written through, the result is a regular file
    /// that loads, and no temporary file stays behind.
    #[test]
    fn save_replaces_the_file_whole_and_never_writes_through_a_stale_temporary() {
        let (spec, cfg) = one_small_camera();
        let e = FrameEncoder::new(&cfg, &spec, Device::Cpu, 5, false).expect("encoder");
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("encoder.safetensors");
        std::fs::write(&path, b"old").expect("old file");
        let outside = dir.path().join("outside");
        std::os::unix::fs::symlink(&outside, dir.path().join("encoder.safetensors.tmp")).expect("symlink");
        e.save(&path).expect("save");
        assert!(!outside.exists(), "the save wrote through the symbolic link at the temporary name");
        assert!(std::fs::symlink_metadata(&path).expect("metadata").is_file(), "a regular file, not a link");
        FrameEncoder::load_file(&cfg, &spec, &path, Device::Cpu).expect("load");
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, ["encoder.safetensors"]);
    }
}
