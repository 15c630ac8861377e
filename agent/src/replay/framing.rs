//! Record framing of a segment file: `[len: u32 LE][crc32 of payload: u32 LE][payload: len bytes]`.
//!
//! A reader walks records from the start of the file; the first record whose header is incomplete, whose length
//! runs past the end of the file or is absurd, or whose checksum does not match, marks the *torn tail*: everything
//! before it is valid, everything from it on is discarded.

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

/// Result of scanning a segment's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// `(offset, payload range)` of every valid record, in order.
    pub records: Vec<(u64, std::ops::Range<usize>)>,
    /// Byte length of the valid prefix (offset of the torn tail, or the file length).
    pub valid_len: u64,
    /// Why the scan stopped early, when it did.
    pub torn: Option<&'static str>,
}

/// Walks the records of `bytes` (a whole segment file).
pub fn scan(bytes: &[u8]) -> Scan {
    let mut records = Vec::new();
    let mut pos = 0usize;
    let torn = loop {
        if pos == bytes.len() {
            break None;
        }
        if bytes.len() - pos < HEADER_BYTES {
            break Some("incomplete record header");
        }
        let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]) as usize;
        let crc = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]);
        if len > MAX_PAYLOAD {
            break Some("record length out of range");
        }
        let start = pos + HEADER_BYTES;
        if bytes.len() - start < len {
            break Some("record runs past the end of the file");
        }
        if crc32fast::hash(&bytes[start..start + len]) != crc {
            break Some("checksum mismatch");
        }
        records.push((pos as u64, start..start + len));
        pos = start + len;
    };
    Scan { records, valid_len: pos as u64, torn }
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
