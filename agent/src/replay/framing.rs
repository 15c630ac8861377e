//! Record framing of a segment file: `[len: u32 LE][crc32 of payload: u32 LE][payload: len bytes]`.
//!
//! A reader walks records from the start of the file. A record whose header is incomplete, whose length runs past
//! the end of the file or is absurd, or whose checksum does not match is *damaged*: the reader resynchronises on the
//! next offset where a whole valid record starts (its length in range and within the file, its checksum matching),
//! so damage in the middle of a segment costs only the damaged bytes (a *hole*). When no valid record follows, the
//! damage is the *torn tail* of a write that a crash interrupted: everything before it is valid.

/// Bytes of a record header.
pub const HEADER_BYTES: usize = 8;
/// Largest payload accepted (guards against a corrupt length field), bytes.
pub const MAX_PAYLOAD: usize = 256 << 20;

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

/// Why the record at `pos` is not valid (`None`: it is), with `max_len` the largest payload accepted.
fn check_at(bytes: &[u8], pos: usize, max_len: usize) -> Result<std::ops::Range<usize>, &'static str> {
    if bytes.len() - pos < HEADER_BYTES {
        return Err("incomplete record header");
    }
    let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]) as usize;
    let crc = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]);
    if len > max_len {
        return Err("record length out of range");
    }
    let start = pos + HEADER_BYTES;
    if bytes.len() - start < len {
        return Err("record runs past the end of the file");
    }
    if crc32fast::hash(&bytes[start..start + len]) != crc {
        return Err("checksum mismatch");
    }
    Ok(start..start + len)
}

/// Walks the records of `bytes` (a whole segment file), skipping damaged stretches.
///
/// While resynchronising, a candidate record longer than twice the longest valid record seen (or
/// [`MAX_PAYLOAD`] before any) is not considered, which keeps the search fast on large segments.
pub fn scan(bytes: &[u8]) -> Scan {
    let mut records = Vec::new();
    let mut holes = Vec::new();
    let mut pos = 0usize;
    let mut longest = 0usize;
    let torn = loop {
        if pos == bytes.len() {
            break None;
        }
        match check_at(bytes, pos, MAX_PAYLOAD) {
            Ok(range) => {
                longest = longest.max(range.len());
                records.push((pos as u64, range.clone()));
                pos = range.end;
            }
            Err(reason) => {
                let limit = if longest == 0 { MAX_PAYLOAD } else { (2 * longest + 64).min(MAX_PAYLOAD) };
                // An empty record is valid framing but never written by the store, and eight zero bytes (a dark
                // patch of a frame) would pass for one: only non-empty candidates count.
                let next = (pos + 1..bytes.len().saturating_sub(HEADER_BYTES - 1))
                    .find(|&q| check_at(bytes, q, limit).is_ok_and(|r| !r.is_empty()));
                match next {
                    Some(q) => {
                        holes.push(Hole { offset: pos as u64, bytes: (q - pos) as u64, reason });
                        pos = q;
                    }
                    None => break Some(reason),
                }
            }
        }
    };
    Scan { records, valid_len: pos as u64, torn, holes }
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
