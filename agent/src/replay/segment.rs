//! One segment: its file and the transitions it holds in memory, laid out column-wise for batch gathers.

use crate::replay::record::RecordView;
use crate::replay::transition::{GripperAction, Transition};
use crate::spec::ObsSpec;
use std::path::PathBuf;

/// Columns of the transitions of one segment. Frames are stored once per camera (`frames[c]` holds
/// `n_frames × frame_bytes` bytes) and referenced by index from `obs_frame` / `next_frame`.
#[derive(Debug, Default)]
pub(crate) struct SegmentData {
    pub len: usize,
    pub proprio: Vec<f32>,
    pub next_proprio: Vec<f32>,
    pub action: Vec<f32>,
    pub gripper: Vec<u8>,
    pub reward: Vec<f32>,
    pub done: Vec<bool>,
    pub truncated: Vec<bool>,
    pub intervention: Vec<bool>,
    pub gripper_changed: Vec<bool>,
    pub episode: Vec<u64>,
    /// `(obs, next_obs)` monotonic stamps, ns.
    pub stamps: Vec<(u64, u64)>,
    pub frames: Vec<Vec<u8>>,
    pub n_frames: u32,
    pub obs_frame: Vec<u32>,
    pub next_frame: Vec<u32>,
    /// Cached encoder features of the frames (`features_done × dim` f32), when the store has a frame encoder
    /// attached ([`crate::replay::ReplayStore::attach_features`]); rebuilt from the frames, never stored on disk.
    pub features: Vec<f32>,
    /// Frames whose features are in `features`.
    pub features_done: u32,
    /// The next frames of a record that could not be kept (its observation frames were lost with a damaged record
    /// before it): the following record's observation, when it reuses them.
    pub orphan_next: Option<u32>,
}

impl SegmentData {
    pub fn new(spec: &ObsSpec) -> Self {
        Self { frames: vec![Vec::new(); spec.cameras.len()], ..Self::default() }
    }

    fn push_frames<'a>(&mut self, frames: impl Iterator<Item = &'a [u8]>) -> u32 {
        for (c, f) in frames.enumerate() {
            self.frames[c].extend_from_slice(f);
        }
        self.n_frames += 1;
        self.n_frames - 1
    }

    fn push_scalars(&mut self, proprio: &[f32], next: &[f32], action: &[f32], g: GripperAction, reward: f32) {
        self.proprio.extend_from_slice(proprio);
        self.next_proprio.extend_from_slice(next);
        self.action.extend_from_slice(action);
        self.gripper.push(g.index());
        self.reward.push(reward);
        self.len += 1;
    }

    /// True when the observation frames `obs` (one per camera) of a transition of `episode` are the last record's
    /// next_obs frames (same episode), so they need not be held twice in memory.
    pub fn continues<F: AsRef<[u8]>>(&self, obs: &[F], episode: u64, spec: &ObsSpec) -> bool {
        if self.len == 0 || spec.cameras.is_empty() || self.episode[self.len - 1] != episode {
            return false;
        }
        let last = self.next_frame[self.len - 1] as usize;
        obs.len() == spec.cameras.len()
            && spec.cameras.iter().enumerate().all(|(c, cam)| {
                let n = cam.frame_bytes();
                self.frames[c][last * n..(last + 1) * n] == *obs[c].as_ref()
            })
    }

    /// Adds a checked transition; `reuse` = [`SegmentData::continues`].
    pub fn push(&mut self, t: &Transition, reuse: bool) {
        let obs = if reuse || t.obs.images.is_empty() {
            self.next_frame.last().copied().unwrap_or(0)
        } else {
            self.push_frames(t.obs.images.iter().map(|f| &f[..]))
        };
        let next =
            if t.next_obs.images.is_empty() { 0 } else { self.push_frames(t.next_obs.images.iter().map(|f| &f[..])) };
        self.obs_frame.push(obs);
        self.next_frame.push(next);
        self.push_flags(t.done, t.truncated, t.intervention, t.gripper_changed, t.episode);
        self.stamps.push((t.obs_stamp_ns, t.next_stamp_ns));
        self.push_scalars(&t.obs.proprio, &t.next_obs.proprio, &t.action.continuous, t.action.gripper, t.reward);
    }

    fn push_flags(&mut self, done: bool, truncated: bool, intervention: bool, gripper_changed: bool, episode: u64) {
        self.done.push(done);
        self.truncated.push(truncated);
        self.intervention.push(intervention);
        self.gripper_changed.push(gripper_changed);
        self.episode.push(episode);
    }

    /// Encodes the frames that have no cached features yet (all of them after an attach, the newest one or two
    /// after an append). Returns the frames encoded.
    pub fn encode_new_frames(&mut self, enc: &crate::features::FrameEncoder) -> crate::error::Result<usize> {
        let (from, to) = (self.features_done as usize, self.n_frames as usize);
        if from >= to {
            return Ok(0);
        }
        let frames: Vec<&[u8]> = enc
            .cameras()
            .iter()
            .zip(&self.frames)
            .map(|(c, f)| &f[from * c.frame_bytes()..to * c.frame_bytes()])
            .collect();
        let feats = enc.encode_frames(&frames, to - from)?;
        self.features.truncate(from * enc.dim());
        self.features.extend_from_slice(&feats);
        self.features_done = to as u32;
        Ok(to - from)
    }

    /// Drops the cached features (another encoder is attached).
    pub fn clear_features(&mut self) {
        self.features = Vec::new();
        self.features_done = 0;
    }

    /// Adds a decoded record; `Err` when it does not fit the spec or references a frame the segment lacks.
    pub fn push_view(&mut self, r: &RecordView<'_>, spec: &ObsSpec) -> Result<(), String> {
        if r.proprio.len() != spec.proprio_dim || r.action.len() != spec.action_dim {
            return Err(format!(
                "proprio/action sizes {}/{} differ from the spec's {}/{}",
                r.proprio.len(),
                r.action.len(),
                spec.proprio_dim,
                spec.action_dim
            ));
        }
        let sizes_ok = |fs: &[&[u8]]| {
            fs.len() == spec.cameras.len() && fs.iter().zip(&spec.cameras).all(|(f, c)| f.len() == c.frame_bytes())
        };
        if !sizes_ok(&r.next_frames) || !r.obs_frames.as_deref().is_none_or(sizes_ok) {
            return Err("frame count or size differs from the spec".into());
        }
        let obs = match &r.obs_frames {
            // Stored with the record, and the same as the previous record's next frames: held once.
            Some(f) if self.orphan_next.is_none() && self.continues(f, r.episode, spec) => {
                self.next_frame[self.len - 1]
            }
            Some(f) if !spec.cameras.is_empty() => self.push_frames(f.iter().copied()),
            _ if spec.cameras.is_empty() => 0,
            _ => match self.orphan_next.or(self.next_frame.last().copied()) {
                Some(i) => i,
                None => return Err("record reuses the previous frame but is the first of its segment".into()),
            },
        };
        let next = if spec.cameras.is_empty() { 0 } else { self.push_frames(r.next_frames.iter().copied()) };
        self.orphan_next = None;
        self.obs_frame.push(obs);
        self.next_frame.push(next);
        self.push_flags(r.done, r.truncated, r.intervention, r.gripper_changed, r.episode);
        self.stamps.push((r.obs_stamp_ns, r.next_stamp_ns));
        self.push_scalars(&r.proprio, &r.next_proprio, &r.action, r.gripper, r.reward);
        Ok(())
    }
}

impl SegmentData {
    /// Keeps only the next frames of a record whose observation frames were lost (they were in a damaged record),
    /// so that the record after it, which reuses them as its observation, can still be read.
    pub fn push_orphan_frames(&mut self, r: &RecordView<'_>, spec: &ObsSpec) {
        let sizes_ok = r.next_frames.len() == spec.cameras.len()
            && r.next_frames.iter().zip(&spec.cameras).all(|(f, c)| f.len() == c.frame_bytes());
        if !spec.cameras.is_empty() && sizes_ok {
            self.orphan_next = Some(self.push_frames(r.next_frames.iter().copied()));
        }
    }
}

/// A segment: its number, file and contents.
#[derive(Debug)]
pub(crate) struct Segment {
    pub number: u64,
    pub path: PathBuf,
    pub data: SegmentData,
}

/// File name of segment `number`.
pub(crate) fn file_name(number: u64) -> String {
    format!("seg-{number:010}.log")
}

/// Segment number from a file name, `None` for other files.
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    name.strip_prefix("seg-")?.strip_suffix(".log")?.parse().ok()
}
