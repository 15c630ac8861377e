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
}

impl ReplayStore {
    /// Opens (or creates) the store in `dir`, reading back every valid record and truncating torn tails.
    pub fn open(dir: impl AsRef<Path>, spec: &ObsSpec, opts: &StoreOptions) -> Result<Self> {
        let dir = dir.as_ref();
        let (online, r_online) = Buffer::open(
            "online",
            &dir.join("online"),
            spec,
            Some(opts.online_capacity),
            opts.segment_transitions,
            opts.flush_interval,
        )?;
        let (demo, r_demo) =
            Buffer::open("demo", &dir.join("demo"), spec, None, opts.segment_transitions, opts.flush_interval)?;
        tracing::info!(
            dir = %dir.display(),
            online = r_online.transitions,
            demo = r_demo.transitions,
            "replay store opened"
        );
        Ok(Self {
            dir: dir.to_path_buf(),
            spec: spec.clone(),
            online,
            demo,
            recovery: StoreRecovery { online: r_online, demo: r_demo },
        })
    }

    /// Appends an online transition; an intervention also goes to the demo buffer.
    /// Errors: [`crate::AgentError::SpecMismatch`] (nothing stored) or an I/O error of a flush.
    ///
    /// Ordering: an intervention's demo copy is never less durable than its online copy (the demo buffer is
    /// flushed first, also before an online segment rollover), so a crash cannot keep an intervention online and
    /// lose it from the demo buffer.
    pub fn append(&mut self, t: &Transition) -> Result<()> {
        t.check(&self.spec)?;
        if t.intervention {
            self.demo.append(t)?;
        }
        if self.online.needs_rollover() {
            self.demo.flush()?;
        }
        self.online.append(t)?;
        self.flush_if_due()
    }

    /// Appends a demonstration transition (demo buffer only; never evicted).
    pub fn append_demo(&mut self, t: &Transition) -> Result<()> {
        t.check(&self.spec)?;
        self.demo.append(t)?;
        self.flush_if_due()
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
