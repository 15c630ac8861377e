//! Dynamixel Protocol 2.0 packets: framing, byte stuffing, CRC-16 — pure codec, no I/O.
//!
//! Implements the packet format of ROBOTIS' *Protocol 2.0* (as documented in the e-Manual):
//!
//! ```text
//! FF FF FD 00 | ID | LEN_L LEN_H | INST | PARAM… (stuffed) | CRC_L CRC_H
//! LEN = bytes after the length field = 1 (INST) + stuffed params + 2 (CRC)
//! status packets: INST = 0x55, the first param is the ERROR byte
//! ```
//!
//! *Byte stuffing*: inside INST..PARAM, every `FF FF FD` is followed by an extra `FD` so the header never appears
//! in a body. *CRC*: CRC-16 with polynomial 0x8005, initial value 0, no reflection, over every byte from the
//! header to the last (stuffed) param. Not implemented: Fast Sync Read / Fast Sync Write, Bulk Read / Bulk
//! Write, Control Table Backup (the driver needs none of them).
//!
//! Encoding reuses the caller's buffer (no allocation once it has grown); parsing returns a view into a
//! caller-owned scratch buffer and never panics on any input (fuzzed: `fuzz/`).

use std::fmt;

/// The packet header.
pub const HEADER: [u8; 4] = [0xFF, 0xFF, 0xFD, 0x00];
/// Broadcast ID (sync read/write, broadcast ping).
pub const BROADCAST_ID: u8 = 0xFE;
/// Largest ID a servo may have.
pub const MAX_ID: u8 = 252;
/// Largest `LEN` field this codec accepts (the servos' receive buffers are smaller).
pub const MAX_LEN: usize = 1024;
/// Bytes of a packet that are not body: header, ID, length field, CRC.
pub const OVERHEAD: usize = 4 + 1 + 2 + 2;

/// Instruction codes.
pub mod inst {
    /// Ping.
    pub const PING: u8 = 0x01;
    /// Read a control-table range.
    pub const READ: u8 = 0x02;
    /// Write a control-table range.
    pub const WRITE: u8 = 0x03;
    /// Factory reset.
    pub const FACTORY_RESET: u8 = 0x06;
    /// Reboot (clears a hardware error).
    pub const REBOOT: u8 = 0x08;
    /// Status (reply) packet.
    pub const STATUS: u8 = 0x55;
    /// Sync read: one range from many IDs, one status packet per ID, in the order asked.
    pub const SYNC_READ: u8 = 0x82;
    /// Sync write: one range to many IDs, no reply.
    pub const SYNC_WRITE: u8 = 0x83;
}

/// The ERROR byte of a status packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusError(pub u8);

impl StatusError {
    /// Bit 7: the servo has a hardware error (read its Hardware Error Status register).
    pub fn alert(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// Bits 0–6: the result of the instruction (0 = success).
    pub fn code(self) -> u8 {
        self.0 & 0x7F
    }
    /// The result's meaning.
    pub fn describe(self) -> &'static str {
        match self.code() {
            0 => "ok",
            1 => "result fail",
            2 => "instruction error",
            3 => "CRC error (at the servo)",
            4 => "data range error",
            5 => "data length error",
            6 => "data limit error",
            7 => "access error",
            _ => "unknown error code",
        }
    }
}

/// Hardware Error Status bits (same in X and P series), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardwareError(pub u8);

impl fmt::Display for HardwareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const BITS: [(u8, &str); 5] = [
            (0, "input voltage error"),
            (2, "overheating"),
            (3, "motor encoder error"),
            (4, "electrical shock"),
            (5, "overload"),
        ];
        let mut first = true;
        for (bit, name) in BITS {
            if self.0 & (1 << bit) != 0 {
                write!(f, "{}{name}", if first { "" } else { ", " })?;
                first = false;
            }
        }
        if first {
            write!(f, "hardware error status {:#04x}", self.0)?;
        }
        Ok(())
    }
}

/// CRC-16 (poly 0x8005, init 0, MSB first) lookup table, computed at compile time.
const CRC_TABLE: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u16) << 8;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x8000 != 0 { (c << 1) ^ 0x8005 } else { c << 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Continues a CRC-16 over `bytes`.
pub fn crc16_update(mut crc: u16, bytes: &[u8]) -> u16 {
    for &b in bytes {
        crc = (crc << 8) ^ CRC_TABLE[usize::from(((crc >> 8) as u8) ^ b)];
    }
    crc
}

/// CRC-16 of `bytes` (initial value 0).
pub fn crc16(bytes: &[u8]) -> u16 {
    crc16_update(0, bytes)
}

/// Appends `body` to `out` with byte stuffing: an `FD` is inserted after every `FF FF FD`. The state carries
/// across calls so that a body may be appended piecewise (`tail` = the last two body bytes written so far).
fn push_stuffed(out: &mut Vec<u8>, body: &[u8], tail: &mut [u8; 2]) {
    for &b in body {
        out.push(b);
        if tail[0] == 0xFF && tail[1] == 0xFF && b == 0xFD {
            out.push(0xFD);
            *tail = [0xFD, 0xFD];
        } else {
            *tail = [tail[1], b];
        }
    }
}

/// Writes a packet to `out` (cleared first): header, `id`, length, `instruction`, then `pieces` concatenated as
/// the params (stuffed), then the CRC. Returns the packet's length. `pieces` lets a caller assemble params (e.g.
/// a status's error byte then its data) without a temporary buffer.
///
/// # Errors
/// [`EncodeError::TooLong`] when the stuffed body exceeds [`MAX_LEN`].
pub fn encode(out: &mut Vec<u8>, id: u8, instruction: u8, pieces: &[&[u8]]) -> Result<usize, EncodeError> {
    out.clear();
    out.extend_from_slice(&HEADER);
    out.push(id);
    out.extend_from_slice(&[0, 0]);
    let mut tail = [0u8; 2];
    push_stuffed(out, &[instruction], &mut tail);
    for p in pieces {
        push_stuffed(out, p, &mut tail);
    }
    let len = out.len() - 7 + 2;
    if len > MAX_LEN {
        return Err(EncodeError::TooLong { len, max: MAX_LEN });
    }
    out[5..7].copy_from_slice(&(len as u16).to_le_bytes());
    let crc = crc16(out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out.len())
}

/// Why a packet could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The body is longer than [`MAX_LEN`].
    TooLong {
        /// Its length field.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { len, max } => write!(f, "packet length {len} exceeds {max}"),
        }
    }
}

/// A parsed packet; `params` (unstuffed) lives in the caller's scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Sender (status) or addressee (instruction).
    pub id: u8,
    /// Instruction code ([`inst::STATUS`] for replies).
    pub instruction: u8,
    /// Params, unstuffed (for a status packet: the ERROR byte first, then the data).
    pub params: &'a [u8],
}

impl<'a> Packet<'a> {
    /// For a status packet: its ERROR byte and data.
    pub fn status(&self) -> Option<(StatusError, &'a [u8])> {
        if self.instruction != inst::STATUS {
            return None;
        }
        let (&e, data) = self.params.split_first()?;
        Some((StatusError(e), data))
    }
}

/// What [`parse`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed (at least this many in total).
    Incomplete {
        /// Total bytes the packet needs, as far as known.
        needed: usize,
    },
    /// The buffer does not start with the header.
    NoHeader,
    /// The length field is impossible (< 3 or > [`MAX_LEN`]).
    BadLength {
        /// The length field.
        len: usize,
    },
    /// The CRC does not match.
    Crc {
        /// CRC in the packet.
        received: u16,
        /// CRC computed over the bytes.
        computed: u16,
    },
    /// The body holds a lone `FF FF FD` not followed by a stuffing `FD`.
    BadStuffing,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Incomplete { needed } => write!(f, "incomplete packet ({needed} bytes needed)"),
            ParseError::NoHeader => write!(f, "no packet header"),
            ParseError::BadLength { len } => write!(f, "length field {len} out of range 3..={MAX_LEN}"),
            ParseError::Crc { received, computed } => {
                write!(f, "CRC mismatch (received {received:#06x}, computed {computed:#06x})")
            }
            ParseError::BadStuffing => write!(f, "byte stuffing violated"),
        }
    }
}

/// Index of the first possible header start in `buf`: the first full header, or a trailing prefix of one
/// (which may complete with the next bytes); `buf.len()` when there is none. Bytes before it are garbage.
pub fn find_header(buf: &[u8]) -> usize {
    let mut i = 0;
    while i < buf.len() {
        let n = (buf.len() - i).min(HEADER.len());
        if buf[i..i + n] == HEADER[..n] {
            return i;
        }
        i += 1;
    }
    buf.len()
}

/// Parses the packet at the start of `buf` (which must begin with the header; see [`find_header`]). On success
/// returns the packet (params unstuffed into `scratch`) and the number of bytes it occupied. Never panics.
pub fn parse<'s>(buf: &[u8], scratch: &'s mut Vec<u8>) -> Result<(Packet<'s>, usize), ParseError> {
    let n = buf.len().min(HEADER.len());
    if buf[..n] != HEADER[..n] {
        return Err(ParseError::NoHeader);
    }
    if buf.len() < 7 {
        return Err(ParseError::Incomplete { needed: 7 });
    }
    let len = usize::from(u16::from_le_bytes([buf[5], buf[6]]));
    if !(3..=MAX_LEN).contains(&len) {
        return Err(ParseError::BadLength { len });
    }
    let total = 7 + len;
    if buf.len() < total {
        return Err(ParseError::Incomplete { needed: total });
    }
    let received = u16::from_le_bytes([buf[total - 2], buf[total - 1]]);
    let computed = crc16(&buf[..total - 2]);
    if received != computed {
        return Err(ParseError::Crc { received, computed });
    }
    let body = &buf[7..total - 2];
    scratch.clear();
    // Mirror of the encoder: after `FF FF FD` the next byte must be the stuffing `FD`, which is dropped.
    let mut tail = [0u8; 2];
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        scratch.push(b);
        if tail == [0xFF, 0xFF] && b == 0xFD {
            if body.get(i + 1) != Some(&0xFD) {
                return Err(ParseError::BadStuffing);
            }
            i += 1;
            tail = [0xFD, 0xFD];
        } else {
            tail = [tail[1], b];
        }
        i += 1;
    }
    let Some((&instruction, params)) = scratch.split_first() else {
        return Err(ParseError::BadLength { len });
    };
    Ok((Packet { id: buf[4], instruction, params }, total))
}

/// Bits on the wire for `bytes` bytes (8N1: start + 8 data + stop).
pub const BITS_PER_BYTE: f64 = 10.0;

/// Time `bytes` take on a bus at `baud`, s.
pub fn wire_time_s(bytes: usize, baud: u32) -> f64 {
    bytes as f64 * BITS_PER_BYTE / f64::from(baud.max(1))
}

/// Little-endian helpers for control-table values.
pub mod le {
    /// `u16` at `b[0..2]`, `None` if short.
    pub fn u16_at(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
    }
    /// `i16` at `b[at..at + 2]`, `None` if short.
    pub fn i16_at(b: &[u8], at: usize) -> Option<i16> {
        u16_at(b, at).map(|v| v as i16)
    }
    /// `i32` at `b[at..at + 4]`, `None` if short.
    pub fn i32_at(b: &[u8], at: usize) -> Option<i32> {
        Some(i32::from_le_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]))
    }
}
