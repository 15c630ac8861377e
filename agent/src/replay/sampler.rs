//! RLPD batches: half demo, half online, uniform within each buffer, gathered column-wise into host tensors
//! (pinned when the learner is on CUDA) and moved to the learner's device.

use crate::error::{AgentError, Result};
use crate::replay::buffer::Buffer;
use crate::replay::host_tensor::HostTensor;
use crate::replay::store::ReplayStore;
use crate::spec::ObsSpec;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

/// A batch on the learner's device. `B` = batch size, `P` = proprio dim, `A` = action dim.
#[derive(Debug)]
pub struct Batch {
    /// `[B, P]` f32.
    pub proprio: Tensor,
    /// `[B, P]` f32.
    pub next_proprio: Tensor,
    /// `[B, A]` f32, in `[-1, 1]`.
    pub action: Tensor,
    /// `[B]` i64: gripper action index (0 close, 1 stay, 2 open).
    pub gripper: Tensor,
    /// `[B]` f32.
    pub reward: Tensor,
    /// `[B]` f32: 1 where the transition is terminal (no bootstrap), else 0.
    pub done: Tensor,
    /// `[B]` f32: 1 where the gripper changed state.
    pub gripper_changed: Tensor,
    /// Per camera `[B, H, W, 3]` u8.
    pub images: Vec<Tensor>,
    /// Per camera `[B, H, W, 3]` u8.
    pub next_images: Vec<Tensor>,
}

impl Batch {
    /// Rows `range` of every field (views, no copy).
    pub fn narrow(&self, start: i64, len: i64) -> Batch {
        let n = |t: &Tensor| t.narrow(0, start, len);
        Batch {
            proprio: n(&self.proprio),
            next_proprio: n(&self.next_proprio),
            action: n(&self.action),
            gripper: n(&self.gripper),
            reward: n(&self.reward),
            done: n(&self.done),
            gripper_changed: n(&self.gripper_changed),
            images: self.images.iter().map(n).collect(),
            next_images: self.next_images.iter().map(n).collect(),
        }
    }

    /// Builds a batch from host data (tests, BC datasets): shapes as documented on the fields.
    pub fn to_device(&self, device: Device) -> Batch {
        let d = |t: &Tensor| t.to_device(device);
        Batch {
            proprio: d(&self.proprio),
            next_proprio: d(&self.next_proprio),
            action: d(&self.action),
            gripper: d(&self.gripper),
            reward: d(&self.reward),
            done: d(&self.done),
            gripper_changed: d(&self.gripper_changed),
            images: self.images.iter().map(d).collect(),
            next_images: self.next_images.iter().map(d).collect(),
        }
    }
}

struct HostBatch {
    proprio: HostTensor,
    next_proprio: HostTensor,
    action: HostTensor,
    gripper: HostTensor,
    reward: HostTensor,
    done: HostTensor,
    gripper_changed: HostTensor,
    images: Vec<HostTensor>,
    next_images: Vec<HostTensor>,
}

impl HostBatch {
    fn new(spec: &ObsSpec, b: i64, device: Device) -> Self {
        let (p, a) = (spec.proprio_dim as i64, spec.action_dim as i64);
        let img = |c: &crate::spec::CameraSpec| HostTensor::new::<u8>(&[b, c.height as i64, c.width as i64, 3], device);
        Self {
            proprio: HostTensor::new::<f32>(&[b, p], device),
            next_proprio: HostTensor::new::<f32>(&[b, p], device),
            action: HostTensor::new::<f32>(&[b, a], device),
            gripper: HostTensor::new::<i64>(&[b], device),
            reward: HostTensor::new::<f32>(&[b], device),
            done: HostTensor::new::<f32>(&[b], device),
            gripper_changed: HostTensor::new::<f32>(&[b], device),
            images: spec.cameras.iter().map(img).collect(),
            next_images: spec.cameras.iter().map(img).collect(),
        }
    }

    /// Gathers `rows` with the sampler's `spec`. `feat` is the width of the store's cached frame features: when
    /// non-zero, each row's proprio is `[features of its frame, stored proprio]` (the encoded spec) and no image is
    /// gathered.
    fn fill(&mut self, spec: &ObsSpec, feat: usize, rows: &[(&Buffer, usize)]) {
        let (pw, a) = (spec.proprio_dim, spec.action_dim);
        let p = pw - feat;
        {
            let (pr, np, ac) =
                (self.proprio.slice_mut::<f32>(), self.next_proprio.slice_mut::<f32>(), self.action.slice_mut::<f32>());
            for (k, (b, i)) in rows.iter().enumerate() {
                let (d, r) = b.locate(*i);
                if feat > 0 {
                    let (fo, fnx) = (d.obs_frame[r] as usize, d.next_frame[r] as usize);
                    pr[k * pw..k * pw + feat].copy_from_slice(&d.features[fo * feat..(fo + 1) * feat]);
                    np[k * pw..k * pw + feat].copy_from_slice(&d.features[fnx * feat..(fnx + 1) * feat]);
                }
                pr[k * pw + feat..(k + 1) * pw].copy_from_slice(&d.proprio[r * p..(r + 1) * p]);
                np[k * pw + feat..(k + 1) * pw].copy_from_slice(&d.next_proprio[r * p..(r + 1) * p]);
                ac[k * a..(k + 1) * a].copy_from_slice(&d.action[r * a..(r + 1) * a]);
            }
        }
        let gr = self.gripper.slice_mut::<i64>();
        for (k, (b, i)) in rows.iter().enumerate() {
            let (d, r) = b.locate(*i);
            gr[k] = d.gripper[r].into();
        }
        let rw = self.reward.slice_mut::<f32>();
        for (k, (b, i)) in rows.iter().enumerate() {
            let (d, r) = b.locate(*i);
            rw[k] = d.reward[r];
        }
        let dn = self.done.slice_mut::<f32>();
        for (k, (b, i)) in rows.iter().enumerate() {
            let (d, r) = b.locate(*i);
            dn[k] = if d.done[r] { 1.0 } else { 0.0 };
        }
        let gc = self.gripper_changed.slice_mut::<f32>();
        for (k, (b, i)) in rows.iter().enumerate() {
            let (d, r) = b.locate(*i);
            gc[k] = if d.gripper_changed[r] { 1.0 } else { 0.0 };
        }
        for (c, cam) in spec.cameras.iter().enumerate() {
            let n = cam.frame_bytes();
            for (dst, next) in [(&mut self.images[c], false), (&mut self.next_images[c], true)] {
                let out = dst.slice_mut::<u8>();
                for (k, (b, i)) in rows.iter().enumerate() {
                    let (d, r) = b.locate(*i);
                    let f = if next { d.next_frame[r] } else { d.obs_frame[r] } as usize;
                    out[k * n..(k + 1) * n].copy_from_slice(&d.frames[c][f * n..(f + 1) * n]);
                }
            }
        }
    }
}

/// Which buffers a batch's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Half demo, half online (RLPD); all from the other when one is empty.
    Both,
    /// The demo buffer only.
    Demo,
    /// The online buffer only.
    Online,
}

/// Draws RLPD batches from a [`ReplayStore`] onto `device`.
pub struct BatchSampler {
    spec: ObsSpec,
    batch_size: usize,
    device: Device,
    rng: ChaCha8Rng,
    /// Reused pinned staging buffers (CUDA only; on the CPU every batch gets fresh tensors it owns).
    staging: Option<HostBatch>,
    /// The buffer indices of the last batch's rows, in order (each in the buffer the row came from).
    last_rows: Vec<usize>,
}

impl std::fmt::Debug for BatchSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchSampler").field("batch_size", &self.batch_size).field("device", &self.device).finish()
    }
}

impl BatchSampler {
    /// A sampler of `batch_size` transitions for `device`, with its own seeded RNG.
    pub fn new(spec: &ObsSpec, batch_size: usize, device: Device, seed: u64) -> Self {
        Self {
            spec: spec.clone(),
            batch_size,
            device,
            rng: ChaCha8Rng::seed_from_u64(seed),
            staging: None,
            last_rows: Vec::new(),
        }
    }

    /// Batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The RNG state (for checkpoints): the ChaCha8 seed and word position.
    pub fn rng_state(&self) -> ([u8; 32], u128) {
        (self.rng.get_seed(), self.rng.get_word_pos())
    }

    /// Restores [`BatchSampler::rng_state`].
    pub fn set_rng_state(&mut self, seed: [u8; 32], word_pos: u128) {
        self.rng = ChaCha8Rng::from_seed(seed);
        self.rng.set_word_pos(word_pos);
    }

    /// The width of the store's cached features this sampler gathers: 0 when its spec is the store's, the
    /// feature width when its spec is [`crate::features::encoded_spec`] of the store's. Errors name the mismatch.
    fn feature_width(&self, store: &ReplayStore) -> Result<usize> {
        let s = store.spec();
        if self.spec == *s {
            return Ok(0);
        }
        let f = store.feature_dim();
        if f > 0 && self.spec == crate::features::encoded_spec(s, f) {
            return Ok(f);
        }
        let field = if s.cameras.is_empty() || f > 0 {
            "proprio (sampler spec vs. replay store spec)"
        } else {
            "proprio: the learner expects cached image features, but no frame encoder is attached to the replay store"
        };
        Err(AgentError::SpecMismatch { field: field.into(), expected: s.proprio_dim + f, got: self.spec.proprio_dim })
    }

    /// Samples `n` batches' worth of rows in one gather: `n × batch_size` transitions, each consecutive
    /// `batch_size` rows half demo, half online (RLPD). When one buffer is empty all rows come from the other.
    /// With a spec of cached features ([`crate::features::encoded_spec`]) the rows carry the frames' features.
    /// Errors: [`AgentError::EmptyBuffer`] when both are empty; a spec that fits neither the store nor its
    /// features.
    pub fn sample_many(&mut self, store: &ReplayStore, n: usize) -> Result<Batch> {
        self.sample_many_from(store, n, Source::Both)
    }

    /// [`BatchSampler::sample_many`] from the buffers `source` names: [`Source::Demo`] (offline pretraining) or
    /// [`Source::Online`] (online fine-tuning without the offline data) take every row from that buffer and error
    /// when it is empty.
    pub fn sample_many_from(&mut self, store: &ReplayStore, n: usize, source: Source) -> Result<Batch> {
        let feat = self.feature_width(store)?;
        let (on, de) = (&store.online, &store.demo);
        match source {
            Source::Both if on.total == 0 && de.total == 0 => {
                return Err(AgentError::EmptyBuffer { buffer: "online" });
            }
            Source::Demo if de.total == 0 => return Err(AgentError::EmptyBuffer { buffer: "demo" }),
            Source::Online if on.total == 0 => return Err(AgentError::EmptyBuffer { buffer: "online" }),
            _ => {}
        }
        let b = self.batch_size;
        let half = b / 2;
        let mut rows = Vec::with_capacity(n * b);
        for _ in 0..n {
            for k in 0..b {
                let from_demo = match source {
                    Source::Demo => true,
                    Source::Online => false,
                    Source::Both if de.total == 0 => false,
                    Source::Both if on.total == 0 => true,
                    Source::Both => k < half,
                };
                let buf = if from_demo { de } else { on };
                let i = self.rng.random_range(0..buf.total);
                rows.push((buf, i));
            }
        }
        self.last_rows.clear();
        self.last_rows.extend(rows.iter().map(|&(_, i)| i));
        let total = (n * b) as i64;
        if self.device.is_cuda() {
            let reuse = self.staging.as_ref().is_some_and(|s| s.reward.numel() == total as usize);
            if !reuse {
                self.staging = None;
            }
            let (spec, device) = (&self.spec, self.device);
            let h = self.staging.get_or_insert_with(|| HostBatch::new(spec, total, device));
            h.fill(&self.spec, feat, &rows);
            let d = self.device;
            Ok(Batch {
                proprio: h.proprio.to_device(d),
                next_proprio: h.next_proprio.to_device(d),
                action: h.action.to_device(d),
                gripper: h.gripper.to_device(d),
                reward: h.reward.to_device(d),
                done: h.done.to_device(d),
                gripper_changed: h.gripper_changed.to_device(d),
                images: h.images.iter().map(|t| t.to_device(d)).collect(),
                next_images: h.next_images.iter().map(|t| t.to_device(d)).collect(),
            })
        } else {
            let mut h = HostBatch::new(&self.spec, total, Device::Cpu);
            h.fill(&self.spec, feat, &rows);
            Ok(Batch {
                proprio: h.proprio.into_tensor(),
                next_proprio: h.next_proprio.into_tensor(),
                action: h.action.into_tensor(),
                gripper: h.gripper.into_tensor(),
                reward: h.reward.into_tensor(),
                done: h.done.into_tensor(),
                gripper_changed: h.gripper_changed.into_tensor(),
                images: h.images.into_iter().map(HostTensor::into_tensor).collect(),
                next_images: h.next_images.into_iter().map(HostTensor::into_tensor).collect(),
            })
        }
    }

    /// The buffer indices of the last batch's rows, in order (a row's buffer: see [`Source`]).
    pub fn last_rows(&self) -> &[usize] {
        &self.last_rows
    }

    /// One RLPD batch of `batch_size`.
    pub fn sample(&mut self, store: &ReplayStore) -> Result<Batch> {
        self.sample_many(store, 1)
    }
}
