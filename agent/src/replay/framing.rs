//! Record framing of a segment file: `[len: u32 LE][crc32 of payload: u32 LE][payload: len bytes]`.
//!
//! A reader walks records from the start of the file. A record whose header is incomplete, whose length runs past
//! the end of the file or is absurd, or whose checksum does not match is *damaged*: the reader resynchronises on the
//! next offset where a whole valid record starts (its length in range and within the file, its checksum matching),
//! so damage in the middle of a segment costs only the damaged bytes (a *hole*). When no valid record follows, the
//! damage is the *torn tail* of a write that a crash interrupted: everything before it is valid.
//!
//! Cost: [`scan_stream`] reads a file through a window of at most about twice the largest record plus 1 MiB
//! (never the whole file), and resynchronisation examines each damaged offset once, computing a checksum only for
//! the candidates that [`Limits::plausible`] accepts from their first payload bytes. With the replay store's limits
//! (the largest record a transition of the run's spec can be, and the record's fixed header checked against the
//! spec) a damaged first record of a segment of image records costs one pass over the damage, not a checksum of up
//! to [`MAX_PAYLOAD`] bytes at every offset. [`ScanStats`] counts the work, so tests can check it.

/// Bytes of a record header.
pub const HEADER_BYTES: usize = 8;
/// Largest payload accepted without a better bound (guards against a corrupt length field), bytes.
pub const MAX_PAYLOAD: usize = 256 << 20;
/// Bytes read from the file at a time (at least).
const READ_CHUNK: usize = 1 << 20;

/// Appends one framed record for `payload` to `out`.
pub fn frame_into(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Damaged bytes between two valid records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// Offset of the first damaged byte (where a record should have started).
    pub offset: u64,
    /// Damaged bytes skipped (up to the next valid record).
    pub bytes: u64,
    /// What was wrong with the record at `offset`.
    pub reason: &'static str,
}

/// Result of scanning a segment's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// `(offset, payload range)` of every valid record, in order.
    pub records: Vec<(u64, std::ops::Range<usize>)>,
    /// End of the last valid record (offset of the torn tail, or the file length).
    pub valid_len: u64,
    /// Why the file ends in a torn tail, when it does.
    pub torn: Option<&'static str>,
    /// Damaged stretches with valid records after them, in order.
    pub holes: Vec<Hole>,
}

/// What a reader accepts as a record.
pub struct Limits<'a> {
    /// Largest payload a record can have, bytes; a longer length field is damage. The replay store passes the
    /// largest record a transition of its spec can be.
    pub max_payload: usize,
    /// Bytes of a candidate's payload that [`Limits::plausible`] looks at (fewer when the payload is shorter).
    pub prefix_bytes: usize,
    /// While resynchronising, whether a candidate of payload length `len` whose payload starts with `prefix` can be
    /// a record at all: checked before its checksum, so that the checksum is computed only for real candidates.
    pub plausible: &'a dyn Fn(usize, &[u8]) -> bool,
    /// While resynchronising, also refuse candidates longer than twice the longest valid record seen, plus 64
    /// (a heuristic for readers without a [`Limits::plausible`] check).
    pub cap_by_longest: bool,
}

impl std::fmt::Debug for Limits<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("max_payload", &self.max_payload)
            .field("prefix_bytes", &self.prefix_bytes)
            .field("cap_by_longest", &self.cap_by_longest)
            .finish_non_exhaustive()
    }
}

/// Every candidate is plausible.
fn any_payload(_len: usize, _prefix: &[u8]) -> bool {
    true
}

impl Limits<'static> {
    /// No knowledge of the payloads: lengths up to [`MAX_PAYLOAD`], every non-empty candidate checked.
    pub fn any() -> Self {
        Limits { max_payload: MAX_PAYLOAD, prefix_bytes: 0, plausible: &any_payload, cap_by_longest: true }
    }
}

/// Work done by a scan (offsets and checksums), for tests and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Offsets examined as a possible record start while resynchronising.
    pub resync_offsets: u64,
    /// Candidates whose checksum was computed while resynchronising.
    pub resync_candidates: u64,
    /// Payload bytes hashed for those candidates.
    pub resync_bytes_hashed: u64,
    /// Largest number of file bytes held in memory at once.
    pub max_window: usize,
}

/// Result of [`scan_stream`] (the records went to its callback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamScan {
    /// End of the last valid record (offset of the torn tail, or the file length).
    pub valid_len: u64,
    /// Bytes read (the file length).
    pub file_len: u64,
    /// Why the file ends in a torn tail, when it does.
    pub torn: Option<&'static str>,
    /// Damaged stretches with valid records after them, in order.
    pub holes: Vec<Hole>,
    /// The work done.
    pub stats: ScanStats,
}

/// A window onto a byte stream: the bytes from `start` on, refilled from `src` as the reader moves forward.
struct Window<R> {
    src: R,
    buf: Vec<u8>,
    start: u64,
    eof: bool,
    max_window: usize,
}

impl<R: std::io::Read> Window<R> {
    /// Bytes `[pos, pos + n)`, fewer only at the end of the stream. `pos` never moves backwards past a previous
    /// call's `pos`.
    fn get(&mut self, pos: u64, n: usize) -> std::io::Result<&[u8]> {
        debug_assert!(pos >= self.start);
        let off = usize::try_from(pos - self.start).unwrap_or(usize::MAX);
        if off.saturating_add(n) > self.buf.len() && !self.eof {
            // Keep only what is at or after `pos`, then read until `n` bytes are there.
            let keep = off.min(self.buf.len());
            self.buf.drain(..keep);
            self.start += keep as u64;
            let want = n.max(READ_CHUNK);
            while self.buf.len() < want && !self.eof {
                let have = self.buf.len();
                self.buf.resize(want, 0);
                match self.src.read(&mut self.buf[have..]) {
                    Ok(0) => {
                        self.buf.truncate(have);
                        self.eof = true;
                    }
                    Ok(k) => self.buf.truncate(have + k),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => self.buf.truncate(have),
                    Err(e) => {
                        self.buf.truncate(have);
                        return Err(e);
                    }
                }
            }
            self.max_window = self.max_window.max(self.buf.len());
        }
        let off = usize::try_from(pos - self.start).unwrap_or(usize::MAX).min(self.buf.len());
        let end = off.saturating_add(n).min(self.buf.len());
        Ok(&self.buf[off..end])
    }

    /// Offset just past the last byte of the stream once it has been reached.
    fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }
}

/// Why the record at `pos` is not valid (`Ok`: its payload's length), with `max_len` the largest payload accepted.
fn check_at<R: std::io::Read>(
    w: &mut Window<R>,
    pos: u64,
    max_len: usize,
) -> std::io::Result<Result<usize, &'static str>> {
    let h = w.get(pos, HEADER_BYTES)?;
    if h.len() < HEADER_BYTES {
        return Ok(Err("incomplete record header"));
    }
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
    let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    if len > max_len {
        return Ok(Err("record length out of range"));
    }
    let r = w.get(pos, HEADER_BYTES + len)?;
    if r.len() < HEADER_BYTES + len {
        return Ok(Err("record runs past the end of the file"));
    }
    if crc32fast::hash(&r[HEADER_BYTES..]) != crc {
        return Ok(Err("checksum mismatch"));
    }
    Ok(Ok(len))
}

/// Walks the records of the stream `src` (a whole segment file, read through a bounded window), calling
/// `on_record(offset, payload)` for each valid one in order and skipping damaged stretches.
///
/// While resynchronising after damage at `pos`, each later offset is examined once: its length field must be
/// non-zero and within `limits.max_payload` (an empty record is valid framing but never written by the store, and
/// eight zero bytes, a dark patch of a frame, would pass for one), its first payload bytes must satisfy
/// `limits.plausible`, and only then is its checksum computed. Errors: reading `src` failed.
pub fn scan_stream<R: std::io::Read>(
    src: R,
    limits: &Limits<'_>,
    mut on_record: impl FnMut(u64, &[u8]),
) -> std::io::Result<StreamScan> {
    let mut w = Window { src, buf: Vec::new(), start: 0, eof: false, max_window: 0 };
    let mut holes = Vec::new();
    let mut stats = ScanStats::default();
    let mut pos = 0u64;
    let mut longest = 0usize;
    let torn = loop {
        if w.get(pos, 1)?.is_empty() {
            break None;
        }
        match check_at(&mut w, pos, limits.max_payload)? {
            Ok(len) => {
                longest = longest.max(len);
                on_record(pos, &w.get(pos, HEADER_BYTES + len)?[HEADER_BYTES..]);
                pos += (HEADER_BYTES + len) as u64;
            }
            Err(reason) => {
                let limit = if limits.cap_by_longest && longest > 0 {
                    longest.saturating_mul(2).saturating_add(64).min(limits.max_payload)
                } else {
                    limits.max_payload
                };
                match resync(&mut w, pos, limit, limits, &mut stats)? {
                    Some(q) => {
                        holes.push(Hole { offset: pos, bytes: q - pos, reason });
                        pos = q;
                    }
                    None => break Some(reason),
                }
            }
        }
    };
    // Read to the end so the file length is known (a torn tail stops the walk early).
    let mut end = pos;
    while !w.get(end, 1)?.is_empty() {
        end = w.end();
    }
    stats.max_window = w.max_window;
    Ok(StreamScan { valid_len: pos, file_len: w.end(), torn, holes, stats })
}

/// The first offset after `pos` where a valid, plausible, non-empty record of at most `limit` bytes starts.
fn resync<R: std::io::Read>(
    w: &mut Window<R>,
    pos: u64,
    limit: usize,
    limits: &Limits<'_>,
    stats: &mut ScanStats,
) -> std::io::Result<Option<u64>> {
    let mut q = pos;
    loop {
        q += 1;
        let h = w.get(q, HEADER_BYTES)?;
        if h.len() < HEADER_BYTES {
            return Ok(None);
        }
        stats.resync_offsets += 1;
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        if len == 0 || len > limit {
            continue;
        }
        let prefix = w.get(q, HEADER_BYTES + len.min(limits.prefix_bytes))?;
        if prefix.len() < HEADER_BYTES + len.min(limits.prefix_bytes)
            || !(limits.plausible)(len, &prefix[HEADER_BYTES..])
        {
            continue;
        }
        if w.get(q, HEADER_BYTES + len)?.len() < HEADER_BYTES + len {
            // Runs past the end of the file: no checksum to compute.
            continue;
        }
        stats.resync_candidates += 1;
        stats.resync_bytes_hashed += len as u64;
        if check_at(w, q, limit)?.is_ok() {
            return Ok(Some(q));
        }
    }
}

/// Walks the records of `bytes` (a whole segment file in memory) with [`Limits::any`], skipping damaged stretches.
pub fn scan(bytes: &[u8]) -> Scan {
    scan_with(bytes, &Limits::any()).0
}

/// [`scan`] with `limits`, also returning the work done.
pub fn scan_with(bytes: &[u8], limits: &Limits<'_>) -> (Scan, ScanStats) {
    let mut records = Vec::new();
    let s = scan_stream(bytes, limits, |offset, payload| {
        let start = offset as usize + HEADER_BYTES;
        records.push((offset, start..start + payload.len()));
    });
    // Reading a slice cannot fail.
    let s = s.unwrap_or_else(|_| unreachable!("reading a byte slice cannot fail"));
    (Scan { records, valid_len: s.valid_len, torn: s.torn, holes: s.holes }, s.stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_torn_tail() {
        let mut buf = Vec::new();
        frame_into(&mut buf, b"hello");
        frame_into(&mut buf, b"");
        frame_into(&mut buf, b"world!");
        let s = scan(&buf);
        assert_eq!(s.records.len(), 3);
        assert_eq!(&buf[s.records[2].1.clone()], b"world!");
        assert_eq!(s.torn, None);
        let whole = buf.len();
        buf.truncate(whole - 2);
        let s = scan(&buf);
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.valid_len, (2 * HEADER_BYTES + 5) as u64);
        assert_eq!(s.torn, Some("record runs past the end of the file"));
    }

    #[test]
    fn flipped_byte_is_detected() {
        let mut buf = Vec::new();
        frame_into(&mut buf, b"abc");
        frame_into(&mut buf, b"defg");
        let n = buf.len();
        buf[n - 1] ^= 0x40;
        let s = scan(&buf);
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.torn, Some("checksum mismatch"));
    }

    /// Regression (a flipped byte in the middle of a closed segment cut the segment there, losing every intact
    /// record after it): the scan skips the damaged record and reads every one after it.
    #[test]
    fn a_flipped_byte_in_the_middle_costs_only_that_record() {
        let mut buf = Vec::new();
        let payloads: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 100 + usize::from(i)]).collect();
        let mut starts = Vec::new();
        for p in &payloads {
            starts.push(buf.len());
            frame_into(&mut buf, p);
        }
        buf[starts[20] + HEADER_BYTES + 30] ^= 0x01;
        let s = scan(&buf);
        assert_eq!(s.records.len(), 49, "every record but the damaged one");
        assert_eq!(s.torn, None);
        assert_eq!(
            s.holes,
            vec![Hole {
                offset: starts[20] as u64,
                bytes: (starts[21] - starts[20]) as u64,
                reason: "checksum mismatch"
            }]
        );
        let got: Vec<&[u8]> = s.records.iter().map(|(_, r)| &buf[r.clone()]).collect();
        let want: Vec<&[u8]> = payloads.iter().enumerate().filter(|(i, _)| *i != 20).map(|(_, p)| &p[..]).collect();
        assert_eq!(got, want);
        // A damaged length field too.
        buf[starts[30]] ^= 0x80;
        let s = scan(&buf);
        assert_eq!(s.records.len(), 48);
        assert_eq!(s.holes.len(), 2);
    }

    /// A segment of image-sized records (two 96×96 cameras, about 110 kB a record) whose frames look like dark
    /// images (small pixel values, so that most 4-byte windows read as a short, in-range length).
    fn image_segment(records: usize) -> (crate::spec::ObsSpec, Vec<u8>, Vec<usize>) {
        use crate::replay::record::{RecordRef, encode};
        use crate::replay::transition::{Action, Observation, Transition};
        let cam = |name: &str| interfaces::env::CameraSpec { name: name.into(), height: 96, width: 96 };
        let spec = crate::spec::ObsSpec {
            proprio_dim: 7,
            cameras: vec![cam("wrist"), cam("front")],
            action_dim: 3,
            gripper: true,
        };
        let frame = |i: usize, c: usize| -> Vec<u8> {
            (0..96 * 96 * 3).map(|k| if k % 4 < 2 { ((k / 4 + i + c) % 50) as u8 } else { 0 }).collect()
        };
        let obs = |i: usize| Observation { proprio: vec![i as f32; 7], images: vec![frame(i, 0), frame(i, 1)] };
        let (mut file, mut starts) = (Vec::new(), Vec::new());
        for i in 0..records {
            let t = Transition {
                obs: obs(i),
                action: Action { continuous: vec![0.1; 3], gripper: Default::default() },
                reward: 0.0,
                next_obs: obs(i + 1),
                done: false,
                truncated: false,
                intervention: false,
                gripper_changed: false,
                episode: 0,
                obs_stamp_ns: i as u64,
                next_stamp_ns: i as u64 + 1,
            };
            let mut payload = Vec::new();
            encode(&RecordRef { t: &t, with_obs_frames: true, origin: Some(("actor-1", i as u64)) }, &mut payload);
            starts.push(file.len());
            frame_into(&mut file, &payload);
        }
        (spec, file, starts)
    }

    /// Regression (a damaged first record of a segment of image records made the resynchronisation checksum up to
    /// 256 MiB at nearly every offset: minutes to hours at open): with the spec's limits each damaged offset is
    /// examined once, a checksum is computed only for a candidate whose header fits the spec, every later record
    /// is recovered, and the file is read through a window smaller than the file.
    #[test]
    fn a_damaged_first_record_of_image_records_costs_one_pass_over_it() {
        let (spec, mut file, starts) = image_segment(40);
        file[3] ^= 0x40; // the first record's length field: out of range
        let shape = crate::replay::record::Shape::of(&spec);
        let plausible = |len: usize, prefix: &[u8]| shape.plausible(len, prefix);
        let limits = Limits {
            max_payload: shape.max_payload(),
            prefix_bytes: crate::replay::record::FIXED_BYTES,
            plausible: &plausible,
            cap_by_longest: false,
        };
        let mut offsets = Vec::new();
        let s = scan_stream(&file[..], &limits, |offset, _| offsets.push(offset as usize)).expect("scan");
        assert_eq!(offsets, starts[1..], "every record after the damaged one");
        assert_eq!(s.holes.len(), 1);
        assert_eq!((s.holes[0].offset, s.holes[0].bytes), (0, starts[1] as u64));
        assert_eq!((s.torn, s.valid_len, s.file_len), (None, file.len() as u64, file.len() as u64));
        assert_eq!(s.stats.resync_offsets, starts[1] as u64, "each damaged offset examined once");
        assert_eq!(s.stats.resync_candidates, 1, "one checksum: the next real record's");
        assert!(s.stats.max_window < file.len() / 2, "window {} of a {} byte file", s.stats.max_window, file.len());
        // The records decode whole.
        let (scan, _) = scan_with(&file, &limits);
        for (_, r) in &scan.records {
            crate::replay::record::decode(&file[r.clone()]).expect("decodes");
        }
    }

    proptest! {
        /// Any truncation keeps exactly the records that lie wholly before the cut.
        #[test]
        fn truncation_keeps_whole_records(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..8), cut in 0usize..400) {
            let mut buf = Vec::new();
            let mut ends = Vec::new();
            for p in &payloads { frame_into(&mut buf, p); ends.push(buf.len()); }
            let cut = cut.min(buf.len());
            let s = scan(&buf[..cut]);
            let expect = ends.iter().filter(|&&e| e <= cut).count();
            prop_assert_eq!(s.records.len(), expect);
            for (i, (_, r)) in s.records.iter().enumerate() { prop_assert_eq!(&buf[r.clone()], &payloads[i][..]); }
        }
    }
}
