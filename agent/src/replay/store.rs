//! [`ReplayStore`]: the online and demo buffers of one training run, on disk and in memory.

use crate::error::Result;
use crate::replay::buffer::{Buffer, Recovery};
use crate::replay::transition::Transition;
use crate::spec::ObsSpec;
use interfaces::config::AgentConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Sizes and timing of a store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOptions {
    /// Online buffer capacity, transitions; the oldest segments are evicted above it (the demo buffer never is).
    pub online_capacity: usize,
    /// Transitions per segment file.
    pub segment_transitions: usize,
    /// Pending records are written and synced at least this often while appending (≤ 1 s).
    pub flush_interval: Duration,
}

impl StoreOptions {
    /// From the agent config: capacity and flush interval as configured, segments of 1/16 of the capacity
    /// (at most 8192 transitions, at least 64).
    pub fn from_config(cfg: &AgentConfig) -> Self {
        let cap = cfg.online_capacity as usize;
        Self {
            online_capacity: cap,
            segment_transitions: (cap / 16).clamp(64, 8192),
            flush_interval: Duration::from_millis(cfg.flush_interval_ms.min(1000)),
        }
    }
}

/// What [`ReplayStore::open`] read back from disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreRecovery {
    /// Online buffer.
    pub online: Recovery,
    /// Demo buffer.
    pub demo: Recovery,
}

/// The replay store: `<dir>/online/seg-*.log` and `<dir>/demo/seg-*.log`.
///
/// Durability contract: a transition is in memory (and can be sampled) as soon as [`ReplayStore::append`] returns;
/// it is on disk, synced, after the next flush, which happens inside `append` once `flush_interval` has passed since
/// the previous one, on [`ReplayStore::flush_if_due`] (call it from the owner's loop when appends pause), on
/// [`ReplayStore::flush`] and on drop. A crash loses at most the records appended since the last flush; it never
/// damages flushed records: on the next open a torn tail is reported (`tracing::warn!`, naming file and offset) and
/// cut off.
#[derive(Debug)]
pub struct ReplayStore {
    dir: PathBuf,
    spec: ObsSpec,
    pub(crate) online: Buffer,
    pub(crate) demo: Buffer,
    recovery: StoreRecovery,
    /// The frozen encoder whose features every in-memory frame carries ([`ReplayStore::attach_features`]).
    features: Option<crate::features::FrameEncoder>,
    /// The exclusive lock of a store opened for writing (`None` read only); the OS releases it when the process
    /// ends, however it ends.
    _lock: Option<crate::replay::lock::WriterLock>,
}

impl ReplayStore {
    /// Opens (or creates) the store in `dir` for writing, reading back every valid record and truncating torn tails.
    ///
    /// One writer at a time: the store takes an exclusive OS lock on `dir/LOCK` (released when it is dropped or
    /// the process ends, also by `kill -9`); a second writer gets [`crate::AgentError::Locked`] naming the run
    /// directory and the holder's PID at once. Readers use [`ReplayStore::open_read_only`].
    pub fn open(dir: impl AsRef<Path>, spec: &ObsSpec, opts: &StoreOptions) -> Result<Self> {
        Self::open_mode(dir.as_ref(), spec, opts, false)
    }

    /// Opens the store in `dir` for reading only (export, inspection; safe beside a running learner): every valid
    /// record is read back, nothing on disk is changed (a torn tail is reported in [`ReplayStore::recovery`] and
    /// left as it is), and appends are refused with an I/O error. A missing directory is an empty store.
    pub fn open_read_only(dir: impl AsRef<Path>, spec: &ObsSpec) -> Result<Self> {
        let opts = StoreOptions {
            online_capacity: usize::MAX,
            segment_transitions: usize::MAX,
            flush_interval: Duration::from_secs(1),
        };
        Self::open_mode(dir.as_ref(), spec, &opts, true)
    }

    fn open_mode(dir: &Path, spec: &ObsSpec, opts: &StoreOptions, read_only: bool) -> Result<Self> {
        let lock = if read_only { None } else { Some(crate::replay::lock::WriterLock::acquire(dir)?) };
        let (online, r_online) = Buffer::open(
            "online",
            &dir.join("online"),
            spec,
            Some(opts.online_capacity),
            opts.segment_transitions,
            opts.flush_interval,
            read_only,
        )?;
        let (demo, r_demo) = Buffer::open(
            "demo",
            &dir.join("demo"),
            spec,
            None,
            opts.segment_transitions,
            opts.flush_interval,
            read_only,
        )?;
        if read_only {
            tracing::debug!(dir = %dir.display(), online = r_online.transitions, demo = r_demo.transitions, "replay store opened read only");
        } else {
            tracing::info!(
                dir = %dir.display(),
                online = r_online.transitions,
                demo = r_demo.transitions,
                "replay store opened"
            );
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            spec: spec.clone(),
            online,
            demo,
            recovery: StoreRecovery { online: r_online, demo: r_demo },
            features: None,
            _lock: lock,
        })
    }

    /// Attaches a frozen frame encoder: every stored frame is encoded now (`progress(done, total)` frames, for
    /// long stores) and every frame appended later as it arrives, so that batches carry the features instead of
    /// the pixels ([`crate::replay::BatchSampler`] with [`crate::features::encoded_spec`]). The features live in
    /// memory only: the frames on disk are the record, and a store opened again is encoded again with the same
    /// encoder (the run directory's `encoder.safetensors`), which gives the same features. Errors: the encoder's
    /// cameras differ from the store's, or libtorch fails.
    pub fn attach_features(
        &mut self,
        enc: crate::features::FrameEncoder,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        if enc.cameras() != self.spec.cameras.as_slice() {
            return Err(crate::AgentError::Config {
                key: "agent.encoder".into(),
                value: format!("{:?}", enc.cameras().iter().map(|c| &c.name).collect::<Vec<_>>()),
                reason: format!(
                    "the frame encoder's cameras differ from the replay store's {:?}",
                    self.spec.cameras.iter().map(|c| &c.name).collect::<Vec<_>>()
                ),
            });
        }
        let total = self.online.frames() + self.demo.frames();
        let mut done = 0;
        self.demo.encode_all_frames(&enc, progress, &mut done, total)?;
        self.online.encode_all_frames(&enc, progress, &mut done, total)?;
        self.features = Some(enc);
        Ok(())
    }

    /// Frames held in memory by the online buffer.
    pub fn online_frames(&self) -> usize {
        self.online.frames()
    }

    /// Frames held in memory by the demo buffer.
    pub fn demo_frames(&self) -> usize {
        self.demo.frames()
    }

    /// The attached frame encoder, if any.
    pub fn frame_encoder(&self) -> Option<&crate::features::FrameEncoder> {
        self.features.as_ref()
    }

    /// Width of the cached features (0 without an attached encoder).
    pub fn feature_dim(&self) -> usize {
        self.features.as_ref().map_or(0, |e| e.dim())
    }

    /// The cached features of the observation (`next = false`) or next observation of transition `i` of the
    /// online or demo buffer; `None` without an encoder or out of range.
    pub fn features_of(&self, demo: bool, i: usize, next: bool) -> Option<Vec<f32>> {
        let dim = self.feature_dim();
        let b = if demo { &self.demo } else { &self.online };
        if dim == 0 || i >= b.total {
            return None;
        }
        let (d, r) = b.locate(i);
        let f = if next { d.next_frame[r] } else { d.obs_frame[r] } as usize;
        Some(d.features[f * dim..(f + 1) * dim].to_vec())
    }

    fn encode_appended(&mut self) -> Result<()> {
        if let Some(enc) = &self.features {
            self.demo.encode_new_frames(enc)?;
            self.online.encode_new_frames(enc)?;
        }
        Ok(())
    }

    /// Appends an online transition; an intervention also goes to the demo buffer.
    /// Errors: [`crate::AgentError::SpecMismatch`], or an I/O error of a flush or of a new segment file (disk
    /// full): in every case nothing is appended, and what was appended before stays in memory, its records pending
    /// for a later flush to write.
    ///
    /// Ordering: an intervention's demo copy is never less durable than its online copy (the demo buffer is
    /// flushed first, also before an online segment rollover), so a crash cannot keep an intervention online and
    /// lose it from the demo buffer.
    pub fn append(&mut self, t: &Transition) -> Result<()> {
        self.append_from(t, None)
    }

    /// [`ReplayStore::append`] of a transition an actor delivered as number `seq` of its session `origin`: the
    /// record keeps them, and [`ReplayStore::delivered`] reads them back after a restart.
    pub fn append_from(&mut self, t: &Transition, origin: Option<(&str, u64)>) -> Result<()> {
        t.check(&self.spec)?;
        self.flush_if_due()?;
        if self.online.needs_rollover() {
            self.flush()?;
        }
        self.online.make_room()?;
        if t.intervention {
            self.demo.make_room()?;
            self.demo.push(t, origin);
        }
        self.online.push(t, origin);
        self.encode_appended()
    }

    /// Appends a demonstration transition (demo buffer only; never evicted). On an error nothing is appended.
    pub fn append_demo(&mut self, t: &Transition) -> Result<()> {
        self.append_demo_from(t, None)
    }

    /// [`ReplayStore::append_demo`] of a transition an actor delivered (see [`ReplayStore::append_from`]).
    pub fn append_demo_from(&mut self, t: &Transition, origin: Option<(&str, u64)>) -> Result<()> {
        t.check(&self.spec)?;
        self.flush_if_due()?;
        self.demo.make_room()?;
        self.demo.push(t, origin);
        self.encode_appended()
    }

    /// Per actor session, the highest number among the records read back when the store was opened (records
    /// appended with an origin): what a learner stored before it stopped, however it stopped.
    pub fn delivered(&self) -> std::collections::BTreeMap<String, u64> {
        let mut m = self.recovery.online.delivered.clone();
        for (s, n) in &self.recovery.demo.delivered {
            let e = m.entry(s.clone()).or_insert(0);
            *e = (*e).max(*n);
        }
        m
    }

    /// Writes and syncs every pending record of both buffers (demo first).
    pub fn flush(&mut self) -> Result<()> {
        self.demo.flush()?;
        self.online.flush()
    }

    /// Flushes both buffers when the flush interval has passed since either was last flushed.
    pub fn flush_if_due(&mut self) -> Result<()> {
        if self.online.flush_due() || self.demo.flush_due() { self.flush() } else { Ok(()) }
    }

    /// Records appended but not yet flushed (online, demo).
    pub fn pending(&self) -> (usize, usize) {
        (self.online.pending_records(), self.demo.pending_records())
    }

    /// Transitions in the online buffer.
    pub fn online_len(&self) -> usize {
        self.online.total
    }

    /// Transitions in the demo buffer.
    pub fn demo_len(&self) -> usize {
        self.demo.total
    }

    /// The observation spec.
    pub fn spec(&self) -> &ObsSpec {
        &self.spec
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What was read back and truncated at open.
    pub fn recovery(&self) -> &StoreRecovery {
        &self.recovery
    }

    /// Episode id and intervention flag of transition `i` of the online (`demo = false`) or demo buffer, without
    /// copying the transition (`None` past the end).
    pub fn episode_of(&self, demo: bool, i: usize) -> Option<(u64, bool)> {
        let b = if demo { &self.demo } else { &self.online };
        (i < b.total).then(|| b.episode_of(i))
    }

    /// Reward and `(done, truncated)` of transition `i` of the online (`demo = false`) or demo buffer, without
    /// copying its frames (`None` past the end).
    pub fn reward_of(&self, demo: bool, i: usize) -> Option<(f32, bool, bool)> {
        let b = if demo { &self.demo } else { &self.online };
        (i < b.total).then(|| {
            let (d, r) = b.locate(i);
            (d.reward[r], d.done[r], d.truncated[r])
        })
    }

    /// Copies transition `i` of the online (`demo = false`) or demo buffer back out (for export and tests).
    pub fn get(&self, demo: bool, i: usize) -> Option<Transition> {
        let b = if demo { &self.demo } else { &self.online };
        if i >= b.total {
            return None;
        }
        let (d, r) = b.locate(i);
        let (p, a) = (self.spec.proprio_dim, self.spec.action_dim);
        let frame = |idx: u32| -> Vec<Vec<u8>> {
            self.spec
                .cameras
                .iter()
                .enumerate()
                .map(|(c, cam)| {
                    let n = cam.frame_bytes();
                    d.frames[c][idx as usize * n..(idx as usize + 1) * n].to_vec()
                })
                .collect()
        };
        use crate::replay::transition::{Action, GripperAction, Observation};
        Some(Transition {
            obs: Observation { proprio: d.proprio[r * p..(r + 1) * p].to_vec(), images: frame(d.obs_frame[r]) },
            action: Action {
                continuous: d.action[r * a..(r + 1) * a].to_vec(),
                gripper: GripperAction::from_index(d.gripper[r]).unwrap_or_default(),
            },
            reward: d.reward[r],
            next_obs: Observation {
                proprio: d.next_proprio[r * p..(r + 1) * p].to_vec(),
                images: frame(d.next_frame[r]),
            },
            done: d.done[r],
            truncated: d.truncated[r],
            intervention: d.intervention[r],
            gripper_changed: d.gripper_changed[r],
            episode: d.episode[r],
            obs_stamp_ns: d.stamps[r].0,
            next_stamp_ns: d.stamps[r].1,
        })
    }
}

impl Drop for ReplayStore {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!(error = %e, "replay store: final flush failed");
        }
    }
}
