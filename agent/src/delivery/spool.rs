//! The actor's side of delivery: an append-only **spool** on disk of every transition the learner has not
//! acknowledged yet, with paced resending.
//!
//! - **On disk, bounded by bytes.** Each transition's encoded message is appended to a segment file of the spool
//!   directory (`<12 digits>.spool`, the replay store's checksummed framing; payload `[seq u64 LE][session length
//!   u16 LE][session][message]`) before it is sent, and RAM keeps an index entry only (~40 bytes). A segment is
//!   deleted once every transition in it is acknowledged. [`Spool::is_full`] says when the files reach the cap:
//!   the actor then pauses acting instead of dropping anything. Appends are synced at least every
//!   `sync_every` (1 s): a crash of the actor process loses nothing written, a power cut at most that last second.
//! - **Restart.** An actor opened on the same directory finds every unacknowledged transition of its earlier
//!   sessions (sessions keep their own numbers, so the learner's marks still tell what it stored) and resends them
//!   first, oldest first. `acked.json` keeps the newest acknowledgement per session (written at most once a
//!   second; losing it only means resending what the learner drops as duplicates). A torn tail is cut off; a
//!   damaged record in the middle costs that record only.
//! - **Paced resending (go-back-N with a window and backoff).** At most `window` transitions (and `window_bytes`)
//!   are sent and unacknowledged at once; further ones wait in the spool. When no acknowledgement arrives for the
//!   current wait (`resend_after` at first), the window is sent again from the oldest unacknowledged transition
//!   and the wait doubles, up to `resend_max`; an acknowledgement resets it. A returning learner therefore gets at
//!   most one window per wait, and then the spool at the rate it acknowledges.
//! - **One actor per spool**: an exclusive OS lock on `LOCK`, released by the OS however the process ends.
//!
//! Time is passed in (`Instant`s), so the pacing is tested without sleeping.

use crate::error::{AgentError, Result, io_err};
use crate::replay::framing;
use crate::replay::lock::WriterLock;
use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Sizes and timing of a spool.
#[derive(Debug, Clone, PartialEq)]
pub struct SpoolOptions {
    /// Most bytes of segment files; [`Spool::is_full`] beyond.
    pub cap_bytes: u64,
    /// A new segment file is started past this size.
    pub segment_bytes: u64,
    /// First wait without an acknowledgement before resending.
    pub resend_after: Duration,
    /// Longest wait between resend rounds (backoff cap).
    pub resend_max: Duration,
    /// Most transitions sent and unacknowledged.
    pub window: usize,
    /// Most bytes sent and unacknowledged.
    pub window_bytes: u64,
    /// Appends are synced to disk at least this often.
    pub sync_every: Duration,
}

impl SpoolOptions {
    /// From the `[actor]` section: a cap of `spool_mib`, segments of 1/16 of it (1 to 16 MiB; a restart reads a
    /// segment at a time), a window of `resend_window` transitions and 16 MiB.
    pub fn from_config(c: &interfaces::config::ActorConfig) -> Self {
        let cap = c.spool_mib.saturating_mul(1 << 20);
        Self {
            cap_bytes: cap,
            segment_bytes: (cap / 16).clamp(1 << 20, 16 << 20),
            resend_after: Duration::from_millis(c.resend_after_ms),
            resend_max: Duration::from_millis(c.resend_max_ms.max(c.resend_after_ms)),
            window: (c.resend_window as usize).max(1),
            window_bytes: 16 << 20,
            sync_every: Duration::from_secs(1),
        }
    }
}

/// What [`Spool::open`] found on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpoolRecovery {
    /// Unacknowledged transitions found (to be resent).
    pub transitions: u64,
    /// Their sessions.
    pub sessions: usize,
    /// Damaged stretches skipped: file, offset, bytes.
    pub damaged: Vec<(PathBuf, u64, u64)>,
    /// Torn tails cut off: file, offset.
    pub torn: Vec<(PathBuf, u64)>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    session: u32,
    seq: u64,
    seg: u64,
    /// Offset and length of the message bytes in the segment file.
    offset: u64,
    len: u32,
    /// Times sent (recovered transitions count as sent once before).
    sends: u32,
}

#[derive(Debug)]
struct Seg {
    path: PathBuf,
    file: File,
    bytes: u64,
    live: usize,
}

/// Header bytes of a spool record's payload before the session text.
const FIXED: usize = 8 + 2;

fn file_name(n: u64) -> String {
    format!("{n:012}.spool")
}

fn number_of(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".spool")?;
    (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

/// The spool of one actor (see the module doc).
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    opts: SpoolOptions,
    _lock: WriterLock,
    sessions: Vec<String>,
    /// Per session index: highest acknowledged number.
    acked: Vec<u64>,
    /// Per session index: highest number sent (recovered transitions count as sent): no acknowledgement may
    /// reach above it.
    sent: Vec<u64>,
    session: u32,
    seq: u64,
    entries: VecDeque<Entry>,
    segs: BTreeMap<u64, Seg>,
    current: u64,
    disk_bytes: u64,
    /// Entries `[..cursor]` were sent in this round and are unacknowledged (or acknowledged out of order).
    cursor: usize,
    in_flight_bytes: u64,
    last_progress: Instant,
    backoff: Duration,
    dirty: bool,
    last_sync: Instant,
    marks_dirty: bool,
    last_marks: Instant,
    acked_total: u64,
    resent_total: u64,
    rounds: u64,
    refused_acks: u64,
    scratch: Vec<u8>,
    framed: Vec<u8>,
}

impl Spool {
    /// Opens (or creates) the spool in `dir` for session `session` (see [`super::session_of`]), taking its lock
    /// and reading back every unacknowledged transition of earlier sessions. Errors: the directory is locked by
    /// another actor ([`AgentError::Locked`], naming the holder), or cannot be read or written.
    pub fn open(dir: impl AsRef<Path>, session: &str, opts: SpoolOptions) -> Result<(Self, SpoolRecovery)> {
        let dir = dir.as_ref().to_path_buf();
        let lock = WriterLock::acquire(&dir)?;
        let marks_path = dir.join("acked.json");
        let marks: BTreeMap<String, u64> = match std::fs::read(&marks_path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(file = %marks_path.display(), "unreadable spool marks ignored ({e}): acknowledged transitions may be resent, the learner drops them");
                BTreeMap::new()
            }),
            Err(_) => BTreeMap::new(),
        };
        let mut numbers: Vec<u64> = std::fs::read_dir(&dir)
            .map_err(io_err("read directory", &dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(number_of))
            .collect();
        numbers.sort_unstable();
        let now = Instant::now();
        let mut s = Self {
            dir: dir.clone(),
            opts,
            _lock: lock,
            sessions: Vec::new(),
            acked: Vec::new(),
            sent: Vec::new(),
            session: 0,
            seq: 0,
            entries: VecDeque::new(),
            segs: BTreeMap::new(),
            current: numbers.last().map_or(0, |n| n + 1),
            disk_bytes: 0,
            cursor: 0,
            in_flight_bytes: 0,
            last_progress: now,
            backoff: Duration::ZERO,
            dirty: false,
            last_sync: now,
            marks_dirty: false,
            last_marks: now,
            acked_total: 0,
            resent_total: 0,
            rounds: 0,
            refused_acks: 0,
            scratch: Vec::new(),
            framed: Vec::new(),
        };
        s.backoff = s.opts.resend_after;
        let mut rec = SpoolRecovery::default();
        for n in numbers {
            s.recover_segment(n, &marks, &mut rec)?;
        }
        rec.transitions = s.entries.len() as u64;
        rec.sessions = s.sessions.len();
        s.session = s.session_index(session);
        s.start_segment()?;
        if rec.transitions > 0 {
            tracing::info!(dir = %dir.display(), transitions = rec.transitions, sessions = rec.sessions, "spool holds unacknowledged transitions of an earlier start: resending them first");
        }
        Ok((s, rec))
    }

    fn session_index(&mut self, session: &str) -> u32 {
        if let Some(i) = self.sessions.iter().position(|x| x == session) {
            return i as u32;
        }
        self.sessions.push(session.to_string());
        self.acked.push(0);
        self.sent.push(0);
        (self.sessions.len() - 1) as u32
    }

    fn recover_segment(&mut self, n: u64, marks: &BTreeMap<String, u64>, rec: &mut SpoolRecovery) -> Result<()> {
        let path = self.dir.join(file_name(n));
        let bytes = std::fs::read(&path).map_err(io_err("read", &path))?;
        let scan = framing::scan(&bytes);
        for h in &scan.holes {
            tracing::warn!(file = %path.display(), offset = h.offset, bytes = h.bytes, "damaged spool record skipped: {}", h.reason);
            rec.damaged.push((path.clone(), h.offset, h.bytes));
        }
        let mut live = 0;
        for (offset, range) in &scan.records {
            let p = &bytes[range.clone()];
            let parsed = (p.len() >= FIXED).then(|| {
                let seq = u64::from_le_bytes(p[..8].try_into().expect("8 bytes"));
                let slen = u16::from_le_bytes([p[8], p[9]]) as usize;
                (seq, slen)
            });
            let Some((seq, slen)) = parsed.filter(|(_, slen)| p.len() >= FIXED + slen) else {
                tracing::warn!(file = %path.display(), offset, "spool record with a malformed header skipped");
                rec.damaged.push((path.clone(), *offset, range.len() as u64 + framing::HEADER_BYTES as u64));
                continue;
            };
            let Ok(session) = std::str::from_utf8(&p[FIXED..FIXED + slen]) else {
                rec.damaged.push((path.clone(), *offset, range.len() as u64 + framing::HEADER_BYTES as u64));
                continue;
            };
            if marks.get(session).is_some_and(|m| seq <= *m) {
                continue;
            }
            let idx = self.session_index(session);
            if let Some(m) = marks.get(session) {
                self.acked[idx as usize] = *m;
            }
            // Written before it was sent: counted as sent (the learner may have it), never more.
            self.sent[idx as usize] = self.sent[idx as usize].max(seq);
            let msg_start = range.start + FIXED + slen;
            self.entries.push_back(Entry {
                session: idx,
                seq,
                seg: n,
                offset: msg_start as u64,
                len: (range.end - msg_start) as u32,
                sends: 1,
            });
            live += 1;
        }
        if let Some(why) = scan.torn {
            tracing::warn!(file = %path.display(), offset = scan.valid_len, "torn spool tail cut off ({why})");
            rec.torn.push((path.clone(), scan.valid_len));
        }
        if live == 0 {
            std::fs::remove_file(&path).map_err(io_err("remove", &path))?;
            return Ok(());
        }
        let file = OpenOptions::new().read(true).write(true).open(&path).map_err(io_err("open", &path))?;
        if scan.torn.is_some() {
            file.set_len(scan.valid_len).map_err(io_err("truncate", &path))?;
        }
        let size = if scan.torn.is_some() { scan.valid_len } else { bytes.len() as u64 };
        self.disk_bytes += size;
        self.segs.insert(n, Seg { path, file, bytes: size, live });
        Ok(())
    }

    fn start_segment(&mut self) -> Result<()> {
        let path = self.dir.join(file_name(self.current));
        let file =
            OpenOptions::new().create_new(true).read(true).append(true).open(&path).map_err(io_err("create", &path))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.segs.insert(self.current, Seg { path, file, bytes: 0, live: 0 });
        Ok(())
    }

    /// This process's session.
    pub fn session(&self) -> &str {
        &self.sessions[self.session as usize]
    }

    /// The number the next [`Spool::push`] takes (numbers of a session start at 1).
    pub fn next_seq(&self) -> u64 {
        self.seq + 1
    }

    /// Appends message `msg`, numbered [`Spool::next_seq`], to the spool. Returns `true` when it is to be sent
    /// now (the window has room and nothing older waits), `false` when a later [`Spool::due`] sends it. On an
    /// error (disk full, I/O) nothing is kept and the number is not taken: push the same message again later.
    pub fn push(&mut self, now: Instant, msg: &[u8]) -> Result<bool> {
        let seq = self.seq + 1;
        if self.segs.get(&self.current).is_some_and(|s| s.bytes >= self.opts.segment_bytes) {
            self.sync()?;
            self.current += 1;
            self.start_segment()?;
            self.drop_if_empty(self.current - 1)?;
        }
        let session = self.sessions[self.session as usize].as_bytes();
        let mut payload = std::mem::take(&mut self.scratch);
        payload.clear();
        payload.extend_from_slice(&seq.to_le_bytes());
        payload.extend_from_slice(&(session.len() as u16).to_le_bytes());
        payload.extend_from_slice(session);
        payload.extend_from_slice(msg);
        let mut framed = std::mem::take(&mut self.framed);
        framed.clear();
        framing::frame_into(&mut framed, &payload);
        let msg_offset = (framing::HEADER_BYTES + FIXED + session.len()) as u64;
        self.scratch = payload;
        let seg = self.segs.get_mut(&self.current).expect("the current segment is open");
        let written = (&seg.file).write_all(&framed);
        let framed_len = framed.len() as u64;
        self.framed = framed;
        if let Err(e) = written {
            let _ = seg.file.set_len(seg.bytes);
            return Err(AgentError::Io { op: "append", file: seg.path.clone(), source: e });
        }
        self.entries.push_back(Entry {
            session: self.session,
            seq,
            seg: self.current,
            offset: seg.bytes + msg_offset,
            len: msg.len() as u32,
            sends: 0,
        });
        seg.bytes += framed_len;
        seg.live += 1;
        self.disk_bytes += framed_len;
        self.seq = seq;
        self.dirty = true;
        let idx = self.entries.len() - 1;
        if self.cursor == idx && self.has_window_room() {
            if self.cursor == 0 {
                self.last_progress = now;
            }
            self.cursor += 1;
            self.in_flight_bytes += msg.len() as u64;
            self.sent[self.session as usize] = seq;
            self.entries[idx].sends = 1;
            return Ok(true);
        }
        Ok(false)
    }

    fn has_window_room(&self) -> bool {
        self.cursor < self.opts.window && self.in_flight_bytes < self.opts.window_bytes
    }

    fn is_acked(&self, e: &Entry) -> bool {
        e.seq <= self.acked[e.session as usize]
    }

    /// Applies a cumulative acknowledgement `upto` addressed to `session` (this one or an earlier session's);
    /// returns how many spooled transitions it released.
    ///
    /// Trusts nothing it was not sent: an acknowledgement above the highest number this spool has sent in that
    /// session ([`Spool::sent`]) acknowledges what the learner cannot have received — a forged one (`u64::MAX`
    /// would release the whole spool) or one of another spool's session of the same name — and is refused: it
    /// releases nothing, is counted ([`Spool::refused_acks`]) and logged (the first and every 1000th). One naming a
    /// session this spool holds nothing of (another actor's; the learner re-announces every session's mark) is
    /// ignored. Which learner may acknowledge at all is the caller's check
    /// ([`super::LearnerLink::admits_ack`]).
    pub fn ack(&mut self, now: Instant, session: &str, upto: u64) -> Result<usize> {
        let Some(i) = self.sessions.iter().position(|s| s == session) else { return Ok(0) };
        if upto > self.sent[i] {
            self.refused_acks = self.refused_acks.saturating_add(1);
            if self.refused_acks == 1 || self.refused_acks.is_multiple_of(1000) {
                tracing::warn!(
                    session,
                    upto,
                    sent = self.sent[i],
                    refused = self.refused_acks,
                    "refused an acknowledgement above what was sent: nothing released"
                );
            }
            return Ok(0);
        }
        if upto <= self.acked[i] {
            return Ok(0);
        }
        self.acked[i] = upto;
        self.marks_dirty = true;
        self.last_progress = now;
        self.backoff = self.opts.resend_after;
        self.release()
    }

    /// Pops acknowledged transitions off the front and deletes segments left without any.
    fn release(&mut self) -> Result<usize> {
        let mut n = 0;
        while let Some(e) = self.entries.front().copied().filter(|e| self.is_acked(e)) {
            self.entries.pop_front();
            if self.cursor > 0 {
                self.cursor -= 1;
                self.in_flight_bytes = self.in_flight_bytes.saturating_sub(u64::from(e.len));
            }
            if let Some(seg) = self.segs.get_mut(&e.seg) {
                seg.live -= 1;
            }
            self.drop_if_empty(e.seg)?;
            n += 1;
        }
        if self.entries.is_empty() {
            self.in_flight_bytes = 0;
        }
        self.acked_total += n as u64;
        Ok(n)
    }

    fn drop_if_empty(&mut self, n: u64) -> Result<()> {
        if n == self.current || self.segs.get(&n).is_none_or(|s| s.live > 0) {
            return Ok(());
        }
        if let Some(seg) = self.segs.remove(&n) {
            self.disk_bytes -= seg.bytes;
            std::fs::remove_file(&seg.path).map_err(io_err("remove", &seg.path))?;
        }
        Ok(())
    }

    /// The messages to send at `now`, oldest first: the unsent ones the window has room for, and — when no
    /// acknowledgement came for the current wait — the window again from the oldest unacknowledged one (the
    /// wait then doubles, up to `resend_max`). Read back from the spool's files and collected (for tests; the
    /// actor uses [`Spool::send_due`], which holds one message at a time).
    pub fn due(&mut self, now: Instant) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        self.send_due(now, &mut |m| {
            out.push(m);
            Ok(())
        })
        .map_err(|e| match e.downcast::<AgentError>() {
            Ok(e) => e,
            Err(e) => AgentError::Io { op: "send", file: self.dir.clone(), source: std::io::Error::other(e) },
        })?;
        Ok(out)
    }

    /// What [`Spool::due`] returns, handed to `send` one message at a time as it is read (so a resend round
    /// never holds more than one message in memory). Returns how many were sent; stops at `send`'s first error.
    pub fn send_due(
        &mut self,
        now: Instant,
        send: &mut dyn FnMut(Vec<u8>) -> anyhow::Result<()>,
    ) -> anyhow::Result<usize> {
        self.release()?;
        if self.cursor > 0 && now.saturating_duration_since(self.last_progress) > self.backoff {
            self.cursor = 0;
            self.in_flight_bytes = 0;
            self.backoff = (self.backoff * 2).min(self.opts.resend_max);
            self.rounds += 1;
        }
        let mut n = 0;
        while self.cursor < self.entries.len() && self.has_window_room() {
            if self.cursor == 0 {
                self.last_progress = now;
            }
            let e = self.entries[self.cursor];
            self.cursor += 1;
            self.in_flight_bytes += u64::from(e.len);
            if self.is_acked(&e) {
                continue;
            }
            let seg = self.segs.get(&e.seg).expect("a live entry's segment is open");
            let mut buf = vec![0u8; e.len as usize];
            seg.file.read_exact_at(&mut buf, e.offset).map_err(io_err("read", &seg.path))?;
            if e.sends > 0 {
                self.resent_total += 1;
            }
            self.entries[self.cursor - 1].sends += 1;
            let sent = &mut self.sent[e.session as usize];
            *sent = (*sent).max(e.seq);
            send(buf)?;
            n += 1;
        }
        Ok(n)
    }

    /// Syncs appended transitions when `sync_every` has passed, and saves the acknowledgement marks at most once
    /// a second. Call it from the owner's loop.
    pub fn maintain(&mut self, now: Instant) -> Result<()> {
        if self.dirty && now.saturating_duration_since(self.last_sync) >= self.opts.sync_every {
            self.sync()?;
        }
        if self.marks_dirty && now.saturating_duration_since(self.last_marks) >= Duration::from_secs(1) {
            self.save_marks()?;
            self.last_marks = now;
        }
        Ok(())
    }

    /// Syncs the segment being written.
    pub fn sync(&mut self) -> Result<()> {
        if self.dirty {
            let seg = self.segs.get(&self.current).expect("the current segment is open");
            seg.file.sync_data().map_err(io_err("sync", &seg.path))?;
            self.dirty = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    fn save_marks(&mut self) -> Result<()> {
        let mut live = vec![false; self.sessions.len()];
        for e in &self.entries {
            live[e.session as usize] = true;
        }
        live[self.session as usize] = true;
        let marks: BTreeMap<&str, u64> = (0..self.sessions.len())
            .filter(|i| live[*i] && self.acked[*i] > 0)
            .map(|i| (self.sessions[i].as_str(), self.acked[i]))
            .collect();
        let bytes = serde_json::to_vec(&marks).unwrap_or_default();
        crate::disk::write_atomic(&self.dir.join("acked.json"), &bytes)?;
        self.marks_dirty = false;
        Ok(())
    }

    /// True when the spool's files have reached the cap: pause producing until acknowledgements free space.
    pub fn is_full(&self) -> bool {
        self.disk_bytes >= self.opts.cap_bytes
    }

    /// True when every transition is acknowledged.
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|e| self.is_acked(e))
    }

    /// Spooled transitions not yet released (unacknowledged, or acknowledged behind an unacknowledged one).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of the spool's segment files.
    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    /// The spool's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Transitions released by acknowledgements so far (this process).
    pub fn acked(&self) -> u64 {
        self.acked_total
    }

    /// Transitions sent more than once so far (this process; recovered transitions count as sent before).
    pub fn resent(&self) -> u64 {
        self.resent_total
    }

    /// Acknowledgements refused so far (this process) because they reached above what was sent.
    pub fn refused_acks(&self) -> u64 {
        self.refused_acks
    }

    /// The highest number sent so far in `session` (recovered transitions count as sent; 0: none, or a session
    /// this spool holds nothing of).
    pub fn sent(&self, session: &str) -> u64 {
        self.sessions.iter().position(|s| s == session).map_or(0, |i| self.sent[i])
    }

    /// Resend rounds begun because no acknowledgement came (go-back-N restarts).
    pub fn resend_rounds(&self) -> u64 {
        self.rounds
    }

    /// The wait before the next resend round while no acknowledgement comes.
    pub fn backoff(&self) -> Duration {
        self.backoff
    }

    /// Time since the last acknowledgement (or since sending began).
    pub fn waiting_for(&self, now: Instant) -> Duration {
        if self.cursor == 0 { Duration::ZERO } else { now.saturating_duration_since(self.last_progress) }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = self.sync();
        if self.marks_dirty {
            let _ = self.save_marks();
        }
        // Leave no segment behind whose transitions are all acknowledged.
        let current = self.current;
        if self.entries.iter().all(|e| e.seg != current || self.is_acked(e))
            && let Some(seg) = self.segs.remove(&current)
        {
            let _ = std::fs::remove_file(&seg.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER: Duration = Duration::from_millis(500);

    fn opts(window: usize) -> SpoolOptions {
        SpoolOptions {
            cap_bytes: 1 << 20,
            segment_bytes: 256,
            resend_after: AFTER,
            resend_max: AFTER * 4,
            window,
            window_bytes: 1 << 20,
            sync_every: Duration::ZERO,
        }
    }

    fn push_n(s: &mut Spool, t: Instant, n: u64) -> Vec<bool> {
        (0..n).map(|_| s.push(t, &s.next_seq().to_le_bytes()).unwrap()).collect()
    }

    fn seqs(msgs: Vec<Vec<u8>>) -> Vec<u64> {
        msgs.into_iter().map(|m| u64::from_le_bytes(m.try_into().unwrap())).collect()
    }

    fn segment_files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_str().and_then(number_of).is_some())
            .count()
    }

    #[test]
    fn numbers_start_at_one_and_acks_release_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let (mut s, rec) = Spool::open(dir.path(), "a@1", opts(8)).unwrap();
        assert_eq!(rec, SpoolRecovery::default());
        assert_eq!(s.next_seq(), 1);
        assert_eq!(push_n(&mut s, t0, 3), vec![true; 3], "sent at once while the window has room");
        assert_eq!(s.ack(t0, "other@2", 3).unwrap(), 0, "another session's acknowledgement releases nothing");
        assert_eq!(s.ack(t0, "a@1", 2).unwrap(), 2);
        assert_eq!((s.len(), s.acked()), (1, 2));
        assert_eq!(s.ack(t0, "a@1", 2).unwrap(), 0, "a repeated acknowledgement is harmless");
        assert_eq!(s.ack(t0, "a@1", 3).unwrap(), 1);
        assert!(s.is_empty());
    }

    #[test]
    fn acknowledgement_marks_are_written_through_a_fresh_temporary_file_never_a_planted_one() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("acked.json.tmp")).unwrap();
        let t0 = Instant::now();
        let (mut s, _) = Spool::open(dir.path(), "a@1", opts(8)).unwrap();
        push_n(&mut s, t0, 3);
        assert_eq!(s.ack(t0, "a@1", 2).unwrap(), 2);
        drop(s);
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep", "the planted link is replaced, not followed");
        let marks = dir.path().join("acked.json");
        assert!(std::fs::symlink_metadata(&marks).unwrap().file_type().is_file());
        let saved: BTreeMap<String, u64> = serde_json::from_slice(&std::fs::read(&marks).unwrap()).unwrap();
        assert_eq!(saved.get("a@1"), Some(&2));
    }

    #[test]
    fn a_full_spool_is_backpressure_and_acknowledged_segments_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let o = SpoolOptions { cap_bytes: 2048, segment_bytes: 512, ..opts(1000) };
        let (mut s, _) = Spool::open(dir.path(), "a@1", o).unwrap();
        let msg = vec![7u8; 100];
        let mut n = 0;
        while !s.is_full() {
            s.push(t0, &msg).unwrap();
            n += 1;
            assert!(n < 100, "never full");
        }
        assert!(s.disk_bytes() >= 2048);
        assert!(segment_files(dir.path()) >= 4, "segments roll at their size");
        s.ack(t0, "a@1", n).unwrap();
        assert!(!s.is_full(), "acknowledgements free the space");
        assert_eq!(segment_files(dir.path()), 1, "only the segment being written stays");
        drop(s);
        assert_eq!(segment_files(dir.path()), 0, "nothing unacknowledged: nothing left on disk");
    }

    #[test]
    fn resending_is_a_window_at_a_time_with_a_doubling_wait() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let (mut s, _) = Spool::open(dir.path(), "a@1", opts(2)).unwrap();
        assert_eq!(push_n(&mut s, t0, 5), vec![true, true, false, false, false], "the window holds two");
        assert!(s.due(t0).unwrap().is_empty(), "nothing more while two are in flight");
        assert!(s.due(t0 + AFTER / 2).unwrap().is_empty(), "not before the wait");
        assert_eq!(seqs(s.due(t0 + AFTER * 2).unwrap()), vec![1, 2], "the oldest window again");
        assert_eq!((s.resent(), s.resend_rounds(), s.backoff()), (2, 1, AFTER * 2));
        let t1 = t0 + AFTER * 2;
        assert!(s.due(t1 + AFTER * 3 / 2).unwrap().is_empty(), "the wait has doubled");
        assert_eq!(seqs(s.due(t1 + AFTER * 3).unwrap()), vec![1, 2]);
        assert_eq!(s.backoff(), AFTER * 4);
        let t2 = t1 + AFTER * 3;
        assert_eq!(seqs(s.due(t2 + AFTER * 9).unwrap()), vec![1, 2]);
        assert_eq!(s.backoff(), AFTER * 4, "capped at resend_max");
        // An acknowledgement resets the wait and moves the window on.
        let t3 = t2 + AFTER * 9;
        s.ack(t3, "a@1", 1).unwrap();
        assert_eq!(s.backoff(), AFTER);
        assert_eq!(seqs(s.due(t3).unwrap()), vec![3], "one slot freed, the next unsent one fills it");
        s.ack(t3, "a@1", 3).unwrap();
        assert_eq!(seqs(s.due(t3).unwrap()), vec![4, 5]);
        s.ack(t3, "a@1", 5).unwrap();
        assert!(s.is_empty() && s.due(t3 + AFTER * 10).unwrap().is_empty());
    }

    #[test]
    fn a_restarted_actor_resends_its_spool_first() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        {
            let (mut s, _) = Spool::open(dir.path(), "a@1", opts(8)).unwrap();
            push_n(&mut s, t0, 6);
            s.ack(t0, "a@1", 2).unwrap();
            s.maintain(t0 + Duration::from_secs(2)).unwrap();
        }
        let (mut s, rec) = Spool::open(dir.path(), "a@2", opts(8)).unwrap();
        assert_eq!((rec.transitions, rec.sessions), (4, 1));
        assert_eq!(s.session(), "a@2");
        assert_eq!(s.next_seq(), 1, "the new session numbers from 1");
        assert!(!s.push(t0, &100u64.to_le_bytes()).unwrap(), "new transitions wait behind the old ones");
        assert_eq!(seqs(s.due(t0).unwrap()), vec![3, 4, 5, 6, 100], "oldest first");
        assert_eq!(s.resent(), 4, "the recovered ones count as resent");
        s.ack(t0, "a@1", 6).unwrap();
        s.ack(t0, "a@2", 1).unwrap();
        assert!(s.is_empty());
    }

    #[test]
    fn an_acknowledgement_above_what_was_sent_releases_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        {
            let (mut s, _) = Spool::open(dir.path(), "a@1", opts(2)).unwrap();
            assert_eq!(push_n(&mut s, t0, 5), vec![true, true, false, false, false]);
            assert_eq!(s.sent("a@1"), 2);
            assert_eq!(s.ack(t0, "a@1", u64::MAX).unwrap(), 0, "a forged acknowledgement of everything");
            assert_eq!(s.ack(t0, "a@1", 3).unwrap(), 0, "3 is spooled, not sent yet");
            assert_eq!((s.len(), s.refused_acks()), (5, 2), "nothing released, both refusals counted");
            assert_eq!(s.ack(t0, "a@1", 2).unwrap(), 2, "what was sent is acknowledged as before");
            assert_eq!(seqs(s.due(t0).unwrap()), vec![3, 4]);
            assert_eq!(s.sent("a@1"), 4);
            assert_eq!(s.ack(t0, "other@1", u64::MAX).unwrap(), 0, "another actor's session: ignored");
            assert_eq!(s.refused_acks(), 2);
        }
        // A restarted actor: its recovered transitions count as sent, nothing above them.
        let (mut s, rec) = Spool::open(dir.path(), "a@2", opts(2)).unwrap();
        assert_eq!(rec.transitions, 3);
        assert_eq!(s.ack(t0, "a@1", 6).unwrap(), 0);
        assert_eq!(s.ack(t0, "a@2", 1).unwrap(), 0, "the new session has sent nothing");
        assert_eq!(s.refused_acks(), 2);
        assert_eq!(s.ack(t0, "a@1", 5).unwrap(), 3);
        assert!(s.is_empty());
    }

    #[test]
    fn a_second_actor_on_the_spool_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_s, _) = Spool::open(dir.path(), "a@1", opts(8)).unwrap();
        let e = Spool::open(dir.path(), "a@2", opts(8)).unwrap_err();
        assert!(matches!(e, AgentError::Locked { .. }), "{e}");
    }

    #[test]
    fn damage_costs_the_damaged_record_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let o = SpoolOptions { segment_bytes: 1 << 20, ..opts(8) };
        {
            let (mut s, _) = Spool::open(dir.path(), "a@1", o.clone()).unwrap();
            push_n(&mut s, t0, 5);
        }
        let path = dir.path().join(file_name(0));
        let mut bytes = std::fs::read(&path).unwrap();
        let rec_len = bytes.len() / 5;
        bytes[2 * rec_len + rec_len / 2] ^= 0xff; // inside record 3
        bytes.extend_from_slice(&[1, 2, 3]); // a torn tail
        std::fs::write(&path, &bytes).unwrap();
        let (mut s, rec) = Spool::open(dir.path(), "a@2", o).unwrap();
        assert_eq!(rec.transitions, 4);
        assert_eq!(rec.damaged.len(), 1);
        assert_eq!(rec.torn.len(), 1);
        assert_eq!(seqs(s.due(t0).unwrap()), vec![1, 2, 4, 5]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), (bytes.len() - 3) as u64, "the torn tail is cut off");
    }
}
