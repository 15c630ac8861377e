//! One buffer (online or demo): a directory of append-only segment files and their transitions in memory.

use crate::error::{AgentError, Result, io_err};
use crate::replay::framing;
use crate::replay::record::{self, RecordRef};
use crate::replay::segment::{Segment, SegmentData, file_name, parse_file_name};
use crate::replay::transition::Transition;
use crate::spec::ObsSpec;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What [`Buffer::open`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Transitions read back.
    pub transitions: usize,
    /// Segment files read.
    pub segments: usize,
    /// Torn tails truncated (a write a crash interrupted; nothing valid after it): `(file, offset, bytes dropped)`.
    pub truncated: Vec<(PathBuf, u64, u64)>,
    /// Damaged stretches skipped in the middle of a segment, which is left as it is: `(file, offset, bytes)`.
    /// A damaged record costs only itself (in segments written before records carried their own observation
    /// frames, also the record right after it when that one's observation frames were stored in the damaged one).
    pub skipped: Vec<(PathBuf, u64, u64)>,
    /// Per actor session, the highest number of a record found (records an actor delivered carry their origin).
    pub delivered: std::collections::BTreeMap<String, u64>,
    /// Records whose origin number is not above an earlier record's of the same session in this buffer: a
    /// transition an actor delivered stored a second time (0 when delivery is exactly once).
    pub repeats: usize,
    /// Offsets examined as a possible record start while resynchronising after damage, over every segment read:
    /// each damaged byte once, so at most the bytes read.
    pub resync_offsets: u64,
    /// Candidate records whose checksum was computed while resynchronising (those whose header fits the spec).
    pub resync_checksums: u64,
    /// The most bytes of one segment file held in memory at once while reading it (a window of about two of the
    /// largest records the spec allows plus 1 MiB, never the whole file).
    pub read_window: usize,
}

#[derive(Debug)]
pub(crate) struct Buffer {
    pub name: &'static str,
    dir: PathBuf,
    spec: ObsSpec,
    /// Evict the oldest segments above this many transitions (`None`: never evict).
    capacity: Option<usize>,
    segment_transitions: usize,
    flush_interval: Duration,
    pub segments: VecDeque<Segment>,
    /// Start index of each segment in the concatenation of all segments.
    pub starts: Vec<usize>,
    pub total: usize,
    file: Option<File>,
    flushed_len: u64,
    pending: Vec<u8>,
    pending_records: usize,
    last_flush: Instant,
    scratch: Vec<u8>,
    /// Opened for reading only: nothing on disk is changed, appends are refused.
    read_only: bool,
    /// The lowest number a new segment may take: past every segment file found at open, also those kept on disk
    /// for inspection without a usable record.
    next_number: u64,
}

impl Buffer {
    pub fn open(
        name: &'static str,
        dir: &Path,
        spec: &ObsSpec,
        capacity: Option<usize>,
        segment_transitions: usize,
        flush_interval: Duration,
        read_only: bool,
    ) -> Result<(Self, Recovery)> {
        if !read_only {
            std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        }
        let mut numbers = Vec::new();
        let listing = match std::fs::read_dir(dir) {
            Err(e) if read_only && e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            other => other.map_err(io_err("list", dir))?.collect(),
        };
        for entry in listing {
            let entry = entry.map_err(io_err("list", dir))?;
            if let Some(n) = entry.file_name().to_str().and_then(parse_file_name) {
                numbers.push(n);
            }
        }
        numbers.sort_unstable();
        // Saturating: a file numbered u64::MAX (hostile or corrupt) makes `start_segment` refuse, not overflow.
        let next_number = numbers.last().map_or(0, |n| n.saturating_add(1));
        let mut rec = Recovery::default();
        let mut segments = VecDeque::new();
        let shape = record::Shape::of(spec);
        let plausible = |len: usize, prefix: &[u8]| shape.plausible(len, prefix);
        let limits = framing::Limits {
            max_payload: shape.max_payload(),
            prefix_bytes: record::FIXED_BYTES,
            plausible: &plausible,
            cap_by_longest: false,
        };
        for n in numbers {
            let path = dir.join(file_name(n));
            let file = File::open(&path).map_err(io_err("read", &path))?;
            let mut data = SegmentData::new(spec);
            // Records that passed their checksum but cannot be used: skipped like damaged bytes.
            let mut unusable: Vec<(u64, u64, String)> = Vec::new();
            let mut expected_offset = 0u64;
            // The record before was lost whole (undecodable): a record reusing its frames cannot be read.
            let mut lost_prev = false;
            let scan = framing::scan_stream(file, &limits, |offset, payload| {
                let end = offset + (framing::HEADER_BYTES + payload.len()) as u64;
                let after_hole = offset != expected_offset || lost_prev;
                expected_offset = end;
                lost_prev = false;
                let decoded = record::decode(payload);
                if let Ok(r) = &decoded
                    && let Some((session, seq)) = r.origin
                {
                    let m = rec.delivered.entry(session.to_string()).or_insert(0);
                    if seq <= *m {
                        rec.repeats += 1;
                    }
                    *m = (*m).max(seq);
                }
                let outcome = match decoded {
                    Err(why) => {
                        lost_prev = true;
                        Err(why)
                    }
                    Ok(r) if after_hole && r.obs_frames.is_none() && !spec.cameras.is_empty() => {
                        // Its observation frames were the damaged record's next frames: the transition is lost,
                        // its own next frames are kept for the record after it.
                        data.push_orphan_frames(&r, spec);
                        Err("its observation's frames were in the damaged record before it".to_string())
                    }
                    Ok(r) => data.push_view(&r, spec).inspect_err(|_| lost_prev = true),
                };
                if let Err(why) = outcome {
                    unusable.push((offset, end - offset, why));
                }
            })
            .map_err(io_err("read", &path))?;
            let mut holes: Vec<(u64, u64, String)> =
                scan.holes.iter().map(|h| (h.offset, h.bytes, h.reason.to_string())).collect();
            holes.extend(unusable);
            rec.resync_offsets += scan.stats.resync_offsets;
            rec.resync_checksums += scan.stats.resync_candidates;
            rec.read_window = rec.read_window.max(scan.stats.max_window);
            holes.sort_by_key(|h| h.0);
            tracing::debug!(
                file = %path.display(),
                resync_offsets = scan.stats.resync_offsets,
                resync_candidates = scan.stats.resync_candidates,
                max_window = scan.stats.max_window,
                "replay segment read"
            );
            for (offset, bytes_skipped, reason) in &holes {
                tracing::warn!(
                    file = %path.display(),
                    offset,
                    skipped_bytes = bytes_skipped,
                    %reason,
                    "replay segment is damaged here: skipped, every intact record after it is kept (the file is \
                     left as it is for inspection)"
                );
                rec.skipped.push((path.clone(), *offset, *bytes_skipped));
            }
            let dropped = scan.file_len - scan.valid_len;
            if let Some(reason) = scan.torn.filter(|_| read_only) {
                // Read-only: keep the file as it is; the records before the damage are read.
                tracing::warn!(
                    file = %path.display(),
                    offset = scan.valid_len,
                    %reason,
                    "replay segment has a torn tail (read only: the file is left as it is)"
                );
                rec.truncated.push((path.clone(), scan.valid_len, dropped));
            } else if let Some(reason) = scan.torn {
                // A write that a crash interrupted: nothing valid follows, cut it off.
                tracing::warn!(
                    file = %path.display(),
                    offset = scan.valid_len,
                    dropped_bytes = dropped,
                    %reason,
                    "replay segment has a torn tail: truncating it, every record before it is kept"
                );
                let f = OpenOptions::new().write(true).open(&path).map_err(io_err("open", &path))?;
                f.set_len(scan.valid_len).map_err(io_err("truncate", &path))?;
                f.sync_all().map_err(io_err("flush", &path))?;
                rec.truncated.push((path.clone(), scan.valid_len, dropped));
            }
            if data.len == 0 && (read_only || !holes.is_empty()) {
                // Nothing usable, but damaged bytes that someone may want to inspect: left as they are.
                continue;
            }
            if data.len == 0 {
                // An empty segment (created just before a crash): nothing to keep.
                std::fs::remove_file(&path).map_err(io_err("remove", &path))?;
                continue;
            }
            rec.transitions += data.len;
            rec.segments += 1;
            segments.push_back(Segment { number: n, path, data });
        }
        let mut b = Buffer {
            name,
            dir: dir.to_path_buf(),
            spec: spec.clone(),
            capacity,
            segment_transitions: segment_transitions.max(1),
            flush_interval,
            segments,
            starts: Vec::new(),
            total: 0,
            file: None,
            flushed_len: 0,
            pending: Vec::new(),
            pending_records: 0,
            last_flush: Instant::now(),
            scratch: Vec::new(),
            read_only,
            next_number,
        };
        if read_only {
            b.reindex();
            return Ok((b, rec));
        }
        // Never append to a recovered segment: start a fresh one (keeps every segment self-contained).
        b.start_segment()?;
        b.evict()?;
        b.reindex();
        Ok((b, rec))
    }

    fn reindex(&mut self) {
        self.starts.clear();
        let mut s = 0;
        for seg in &self.segments {
            self.starts.push(s);
            s += seg.data.len;
        }
        self.total = s;
    }

    fn start_segment(&mut self) -> Result<()> {
        let number = self.segments.back().map_or(0, |s| s.number.saturating_add(1)).max(self.next_number);
        let path = self.dir.join(file_name(number));
        self.next_number = number.checked_add(1).ok_or_else(|| AgentError::Io {
            op: "create",
            file: path.clone(),
            source: std::io::Error::other(
                "no segment number is left (a segment file is numbered u64::MAX): move the buffer's segments away",
            ),
        })?;
        let file = OpenOptions::new().create_new(true).append(true).open(&path).map_err(io_err("create", &path))?;
        // Make the new file's directory entry durable too.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.file = Some(file);
        self.flushed_len = 0;
        self.segments.push_back(Segment { number, path, data: SegmentData::new(&self.spec) });
        Ok(())
    }

    fn evict(&mut self) -> Result<()> {
        let Some(cap) = self.capacity else { return Ok(()) };
        let mut total: usize = self.segments.iter().map(|s| s.data.len).sum();
        while total + self.segment_transitions > cap && self.segments.len() > 1 {
            if let Some(old) = self.segments.pop_front() {
                total -= old.data.len;
                std::fs::remove_file(&old.path).map_err(io_err("remove", &old.path))?;
                tracing::debug!(buffer = self.name, file = %old.path.display(), transitions = old.data.len, "evicted replay segment");
            }
        }
        Ok(())
    }

    /// True when the next append starts a new segment (and so flushes this buffer first).
    pub fn needs_rollover(&self) -> bool {
        self.segments.back().is_none_or(|s| s.data.len >= self.segment_transitions)
    }

    /// Prepares the next append (a transition is in memory once [`Buffer::push`]ed, on disk at the next flush,
    /// which the owner decides; a segment rollover flushes first): refuses a read-only buffer, and when the segment is full flushes it and starts
    /// the next one (evicting the oldest above the capacity). After it succeeds, [`Buffer::push`] cannot fail.
    pub fn make_room(&mut self) -> Result<()> {
        if self.read_only {
            return Err(AgentError::Io {
                op: "append",
                file: self.dir.clone(),
                source: std::io::Error::other("the replay store was opened read-only"),
            });
        }
        if self.needs_rollover() {
            self.flush()?;
            self.start_segment()?;
            self.evict()?;
            self.reindex();
        }
        Ok(())
    }

    /// Appends a checked transition to the open segment, in memory (its record pending). Call
    /// [`Buffer::make_room`] first.
    pub fn push(&mut self, t: &Transition, origin: Option<(&str, u64)>) {
        let Some(seg) = self.segments.back_mut() else {
            unreachable!("make_room opens a segment before every push");
        };
        let reuse = seg.data.continues(&t.obs.images, t.episode, &self.spec);
        self.scratch.clear();
        // Every record carries its own observation frames on disk, also when they are the previous record's next
        // frames (held once in memory): a damaged record then costs only itself.
        record::encode(&RecordRef { t, with_obs_frames: !t.obs.images.is_empty(), origin }, &mut self.scratch);
        framing::frame_into(&mut self.pending, &self.scratch);
        self.pending_records += 1;
        seg.data.push(t, reuse);
        self.total += 1;
    }

    /// Writes pending records to the segment file and syncs it. On error the file is cut back to its last good
    /// length (best effort) and the records stay pending, so a later flush can retry.
    pub fn flush(&mut self) -> Result<()> {
        self.last_flush = Instant::now();
        if self.pending.is_empty() {
            return Ok(());
        }
        let path = match self.segments.back() {
            Some(s) => s.path.clone(),
            None => self.dir.clone(),
        };
        let Some(file) = self.file.as_mut() else {
            return Err(AgentError::Io { op: "flush", file: path, source: std::io::Error::other("no open segment") });
        };
        let res = file.write_all(&self.pending).and_then(|_| file.sync_data());
        if let Err(e) = res {
            let _ = file.set_len(self.flushed_len);
            return Err(AgentError::Io { op: "flush", file: path, source: e });
        }
        self.flushed_len += self.pending.len() as u64;
        self.pending.clear();
        self.pending_records = 0;
        Ok(())
    }

    /// True when the flush interval has passed since the last flush.
    pub fn flush_due(&self) -> bool {
        self.last_flush.elapsed() >= self.flush_interval
    }

    pub fn pending_records(&self) -> usize {
        self.pending_records
    }

    /// Episode id and intervention flag of transition `i < total`, without copying it.
    pub fn episode_of(&self, i: usize) -> (u64, bool) {
        let (d, r) = self.locate(i);
        (d.episode[r], d.intervention[r])
    }

    /// Encodes every frame without cached features, newest segments first (after an append only the last
    /// segment has any). Returns the frames encoded.
    pub fn encode_new_frames(&mut self, enc: &crate::features::FrameEncoder) -> Result<usize> {
        let mut n = 0;
        for seg in self.segments.iter_mut().rev() {
            if seg.data.features_done == seg.data.n_frames {
                break;
            }
            n += seg.data.encode_new_frames(enc)?;
        }
        Ok(n)
    }

    /// Frames held in memory.
    pub fn frames(&self) -> usize {
        self.segments.iter().map(|s| s.data.n_frames as usize).sum()
    }

    /// Encodes every frame of every segment anew with `enc` (attach), calling `progress(done, total)`.
    pub fn encode_all_frames(
        &mut self,
        enc: &crate::features::FrameEncoder,
        progress: &mut dyn FnMut(usize, usize),
        done: &mut usize,
        total: usize,
    ) -> Result<()> {
        for seg in self.segments.iter_mut() {
            seg.data.clear_features();
            *done += seg.data.encode_new_frames(enc)?;
            progress(*done, total);
        }
        Ok(())
    }

    /// `(segment, row)` of global index `i < total`.
    pub fn locate(&self, i: usize) -> (&SegmentData, usize) {
        let s = self.starts.partition_point(|&st| st <= i) - 1;
        (&self.segments[s].data, i - self.starts[s])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::transition::{Action, GripperAction, Observation};
    use interfaces::env::CameraSpec;

    fn spec() -> ObsSpec {
        ObsSpec {
            proprio_dim: 1,
            cameras: vec![CameraSpec { name: "wrist".into(), height: 2, width: 3 }],
            action_dim: 1,
            gripper: false,
        }
    }

    /// Transition `i` of one episode: frame `i` → frame `i + 1`.
    fn transition(i: u8) -> Transition {
        let obs = |k: u8| Observation { proprio: vec![f32::from(k)], images: vec![vec![k; 18]] };
        Transition {
            obs: obs(i),
            action: Action { continuous: vec![0.5], gripper: GripperAction::Stay },
            reward: f32::from(i),
            next_obs: obs(i + 1),
            done: false,
            truncated: false,
            intervention: false,
            gripper_changed: false,
            episode: 0,
            obs_stamp_ns: u64::from(i),
            next_stamp_ns: u64::from(i) + 1,
        }
    }

    /// A segment as written before every record carried its own observation frames (each frame once on disk)
    /// is still read whole, each frame held once; a damaged record there costs itself and the record after it.
    #[test]
    fn segments_with_frames_once_on_disk_are_still_read() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let s = spec();
        let mut file = Vec::new();
        let mut starts = Vec::new();
        for i in 0..10u8 {
            let mut payload = Vec::new();
            let t = transition(i);
            record::encode(&RecordRef { t: &t, with_obs_frames: i == 0, origin: None }, &mut payload);
            starts.push(file.len());
            framing::frame_into(&mut file, &payload);
        }
        let seg = tmp.path().join(file_name(0));
        std::fs::write(&seg, &file).expect("write");
        let open = || Buffer::open("online", tmp.path(), &s, None, 100, Duration::from_secs(1), true).expect("open");
        let (b, rec) = open();
        assert_eq!((rec.transitions, b.frames()), (10, 11));
        assert!(rec.skipped.is_empty());
        for i in 0..10u8 {
            let (d, r) = b.locate(usize::from(i));
            let (o, n) = (d.obs_frame[r] as usize * 18, d.next_frame[r] as usize * 18);
            assert_eq!((d.frames[0][o], d.frames[0][n], d.reward[r]), (i, i + 1, f32::from(i)));
        }
        file[starts[4] + framing::HEADER_BYTES + 20] ^= 0x10;
        std::fs::write(&seg, &file).expect("write");
        let (b, rec) = open();
        assert_eq!(rec.transitions, 8, "the damaged record and the one whose obs frames were in it");
        assert_eq!(rec.skipped.len(), 2);
        let rewards: Vec<f32> = (0..8).map(|k| b.locate(k)).map(|(d, r)| d.reward[r]).collect();
        assert_eq!(rewards, [0.0, 1.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0]);
        let (d, r) = b.locate(4);
        assert_eq!(d.frames[0][d.obs_frame[r] as usize * 18], 6, "the orphaned next frames serve the record after");
    }

    /// Today's records each carry their obs frames: on reopen a frame shared by two records is held once, and a
    /// damaged record costs only itself.
    #[test]
    fn self_contained_records_cost_only_themselves_and_share_frames_in_memory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let s = spec();
        {
            let (mut b, _) =
                Buffer::open("online", tmp.path(), &s, None, 100, Duration::from_secs(1), false).expect("open");
            for i in 0..10u8 {
                b.make_room().expect("room");
                b.push(&transition(i), None);
            }
            assert_eq!(b.frames(), 11);
            b.flush().expect("flush");
        }
        let seg = tmp.path().join(file_name(0));
        let mut file = std::fs::read(&seg).expect("read");
        let open = || Buffer::open("online", tmp.path(), &s, None, 100, Duration::from_secs(1), true).expect("open");
        assert_eq!(open().0.frames(), 11);
        let n = file.len();
        file[n / 2] ^= 0x10;
        std::fs::write(&seg, &file).expect("write");
        let (b, rec) = open();
        assert_eq!((rec.transitions, rec.skipped.len()), (9, 1));
        for k in 0..9 {
            let (d, r) = b.locate(k);
            let i = d.reward[r] as u8;
            assert_eq!(
                (d.frames[0][d.obs_frame[r] as usize * 18], d.frames[0][d.next_frame[r] as usize * 18]),
                (i, i + 1)
            );
        }
    }
}
