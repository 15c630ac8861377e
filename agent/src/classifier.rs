//! The reward classifier: a binary image classifier (success / not) trained from labelled frames, with a decision
//! threshold, reporting precision and recall on held-out frames. Architecture: the configured image encoder per
//! camera (small CNN by default) → MLP → one logit.

use crate::error::{AgentError, Result};
use crate::nn::augment::random_shift;
use crate::nn::{Adam, Encoders, Mlp, ParamBuilder, ParamGroup, Rng};
use crate::spec::ObsSpec;
use interfaces::config::EncoderConfig;
use tch::{Device, Kind, Tensor};

/// One labelled observation: a frame per camera (spec order, `H × W × 3` u8) and whether it shows success.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledFrame {
    /// Frames, one per camera.
    pub images: Vec<Vec<u8>>,
    /// Success label.
    pub success: bool,
}

/// Precision/recall of the classifier on a set of frames at its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClassifierMetrics {
    /// TP / (TP + FP) (1 when nothing is predicted positive).
    pub precision: f64,
    /// TP / (TP + FN) (1 when there is no positive).
    pub recall: f64,
    /// Correct / all.
    pub accuracy: f64,
    /// Frames evaluated.
    pub frames: usize,
}

/// The reward classifier.
#[derive(Debug)]
pub struct RewardClassifier {
    spec: ObsSpec,
    device: Device,
    encoders: Encoders,
    enc: ParamGroup,
    frozen: Option<ParamGroup>,
    head_net: Mlp,
    head: ParamGroup,
    opts: (Adam, Adam),
    rng: Rng,
    /// Probability above which a frame counts as success.
    pub threshold: f64,
}

impl RewardClassifier {
    /// A fresh classifier for the cameras of `spec` (errors without camera).
    pub fn new(enc_cfg: &EncoderConfig, spec: &ObsSpec, lr: f64, seed: u64, device: Device) -> Result<Self> {
        crate::alloc::keep_freed_memory();
        let mut rng = Rng::new(seed);
        let (mut enc_pb, mut frozen_pb) = (ParamBuilder::default(), ParamBuilder::default());
        let encoders =
            Encoders::declare(&mut enc_pb, &mut frozen_pb, spec, enc_cfg).ok_or_else(|| AgentError::Config {
                key: "cameras".into(),
                value: "[]".into(),
                reason: "the classifier needs a camera".into(),
            })?;
        let mut head_pb = ParamBuilder::default();
        let head_net = Mlp::declare(&mut head_pb, "cls.", encoders.out_dim, &[256], Some(1));
        let enc = enc_pb.build(device, &mut rng, true);
        let frozen = encoders.is_frozen().then(|| frozen_pb.build(device, &mut rng, false));
        if let Some(path) = &enc_cfg.pretrained {
            let cams: Vec<String> = spec.cameras.iter().map(|c| c.name.clone()).collect();
            crate::nn::resnet10::load_pretrained(frozen.as_ref().unwrap_or(&enc), &cams, path)?;
        }
        let head = head_pb.build(device, &mut rng, true);
        Ok(Self {
            opts: (Adam::new(&enc, lr), Adam::new(&head, lr)),
            spec: spec.clone(),
            device,
            encoders,
            enc,
            frozen,
            head_net,
            head,
            rng,
            threshold: 0.5,
        })
    }

    fn to_images(&self, frames: &[&LabelledFrame]) -> Result<Vec<Tensor>> {
        let mut out = Vec::new();
        for (c, cam) in self.spec.cameras.iter().enumerate() {
            let mut bytes = Vec::with_capacity(frames.len() * cam.frame_bytes());
            for f in frames {
                let img = self.spec.camera_frame(&f.images, c)?;
                bytes.extend_from_slice(img);
            }
            let t = Tensor::from_slice(&bytes).view([frames.len() as i64, cam.height as i64, cam.width as i64, 3]);
            out.push(t.to_device(self.device));
        }
        Ok(out)
    }

    fn logits(&self, images: &[Tensor]) -> Tensor {
        self.head_net
            .forward(&self.head, &self.encoders.forward(&self.enc, self.frozen.as_ref(), images))
            .squeeze_dim(1)
    }

    /// Trains for `steps` minibatch steps of `batch` frames drawn uniformly from `frames` (DrQ-augmented), with
    /// binary cross-entropy. Returns the last loss.
    pub fn fit(&mut self, frames: &[LabelledFrame], steps: usize, batch: usize) -> Result<f64> {
        if frames.is_empty() {
            return Err(AgentError::EmptyBuffer { buffer: "labelled frames" });
        }
        let mut last = 0.0;
        for _ in 0..steps {
            let pick: Vec<&LabelledFrame> = (0..batch).map(|_| &frames[self.rng.below(frames.len())]).collect();
            let imgs: Vec<Tensor> =
                self.to_images(&pick)?.iter().map(|t| random_shift(t, crate::sac::DRQ_PAD, &mut self.rng)).collect();
            let labels: Vec<f32> = pick.iter().map(|f| if f.success { 1.0 } else { 0.0 }).collect();
            let y = Tensor::from_slice(&labels).to_device(self.device);
            let loss =
                self.logits(&imgs).binary_cross_entropy_with_logits::<Tensor>(&y, None, None, tch::Reduction::Mean);
            let g = ParamGroup::flat_grads(&loss, &[&self.enc, &self.head]);
            self.opts.0.step(&self.enc, &g[0]);
            self.opts.1.step(&self.head, &g[1]);
            last = loss.double_value(&[]);
        }
        Ok(last)
    }

    /// Success probability of each frame, `[0, 1]`.
    pub fn probabilities(&self, frames: &[LabelledFrame]) -> Result<Vec<f64>> {
        let refs: Vec<&LabelledFrame> = frames.iter().collect();
        let mut out = Vec::with_capacity(frames.len());
        for chunk in refs.chunks(256) {
            let imgs = self.to_images(chunk)?;
            let p = tch::no_grad(|| self.logits(&imgs).sigmoid()).to_device(Device::Cpu).to_kind(Kind::Double);
            out.extend(Vec::<f64>::try_from(p)?);
        }
        Ok(out)
    }

    /// True when the observation's frames show success (probability > threshold).
    pub fn is_success(&self, images: &[Vec<u8>]) -> Result<bool> {
        let p = self.probabilities(&[LabelledFrame { images: images.to_vec(), success: false }])?;
        Ok(p.first().copied().unwrap_or(0.0) > self.threshold)
    }

    /// Precision, recall and accuracy on `held_out` at the current threshold.
    pub fn evaluate(&self, held_out: &[LabelledFrame]) -> Result<ClassifierMetrics> {
        let p = self.probabilities(held_out)?;
        let (mut tp, mut fp, mut fneg, mut ok) = (0usize, 0usize, 0usize, 0usize);
        for (f, &pr) in held_out.iter().zip(&p) {
            let pos = pr > self.threshold;
            match (pos, f.success) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fneg += 1,
                (false, false) => {}
            }
            ok += usize::from(pos == f.success);
        }
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        Ok(ClassifierMetrics {
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, tp + fneg),
            accuracy: ratio(ok, held_out.len()),
            frames: held_out.len(),
        })
    }

    /// Weights as safetensors bytes (encoder, frozen backbone, head) with the threshold in the metadata.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut named = self.enc.named("");
        if let Some(f) = &self.frozen {
            named.extend(f.named(""));
        }
        named.extend(self.head.named(""));
        let mut meta = std::collections::HashMap::new();
        meta.insert("threshold".into(), self.threshold.to_string());
        crate::nn::weights::to_bytes(&named, meta)
    }

    /// Loads [`RewardClassifier::to_bytes`] output into a classifier built with the same config and spec.
    pub fn load_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let l = crate::nn::weights::from_bytes(bytes, "<classifier weights>")?;
        let look = |k: &str| l.get(k);
        self.enc.load("", "<classifier weights>", &look)?;
        if let Some(f) = &self.frozen {
            f.load("", "<classifier weights>", &look)?;
        }
        self.head.load("", "<classifier weights>", &look)?;
        self.threshold = l.meta("<classifier weights>", "threshold")?;
        Ok(())
    }
}
