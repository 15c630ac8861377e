//! Feetech SCS/STS "protocol 0" packets: framing and checksum — pure codec, no I/O.
//!
//! ```text
//! instruction: FF FF | ID | LEN | INSTR | PARAM… | CHK
//! status:      FF FF | ID | LEN | ERROR | DATA…  | CHK
//! LEN = bytes after the length field = 1 (INSTR or ERROR) + params + 1 (CHK)
//! CHK = !(ID + LEN + INSTR + ΣPARAM) mod 256
//! ```
//!
//! A status packet has the shape of an instruction packet with the ERROR byte in the instruction's place; which
//! one a packet is follows from who sent it (the master sends instructions, servos answer with status packets).
//! Multi-byte values of the STS series are little-endian; some are sign-magnitude ([`sign_magnitude`]).
//! There is no byte stuffing: an ID is never `FF`, so a header is `FF FF` followed by a byte other than `FF`.
//!
//! Encoding reuses the caller's buffer; parsing returns a view into the input and never panics on any input
//! (fuzzed: `fuzz/`, target `feetech_packet`).

use std::fmt;

/// The packet header.
pub const HEADER: [u8; 2] = [0xFF, 0xFF];
/// Broadcast ID (sync read/write, broadcast ping).
pub const BROADCAST_ID: u8 = 0xFE;
/// Largest ID a servo may have.
pub const MAX_ID: u8 = 253;
/// Bytes of a packet that are not params: header, ID, LEN, INSTR/ERROR, CHK.
pub const OVERHEAD: usize = 6;
/// Largest params a packet holds (LEN is one byte: params ≤ 255 − 2).
pub const MAX_PARAMS: usize = 253;

/// Instruction codes.
pub mod inst {
    /// Ping (the servo answers an empty status).
    pub const PING: u8 = 0x01;
    /// Read `len` bytes at an address: params `[addr, len]`.
    pub const READ: u8 = 0x02;
    /// Write bytes at an address: params `[addr, data…]`.
    pub const WRITE: u8 = 0x03;
    /// Registered write, carried out by the next [`ACTION`].
    pub const REG_WRITE: u8 = 0x04;
    /// Carry out registered writes.
    pub const ACTION: u8 = 0x05;
    /// Factory reset.
    pub const RESET: u8 = 0x06;
    /// Sync read: params `[addr, len, id…]`; every listed servo answers a status with `len` bytes, in order.
    pub const SYNC_READ: u8 = 0x82;
    /// Sync write: params `[addr, len, (id, data[len])…]`; no reply.
    pub const SYNC_WRITE: u8 = 0x83;
}

/// The ERROR byte of a status packet, which is also the servo's Status register (address 65): one bit per
/// protection that has tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServoStatus(pub u8);

impl ServoStatus {
    /// Input voltage outside the servo's limits.
    pub const VOLTAGE: u8 = 1 << 0;
    /// Magnetic encoder (angle sensor) fault.
    pub const SENSOR: u8 = 1 << 1;
    /// Temperature above the limit.
    pub const OVERHEAT: u8 = 1 << 2;
    /// Current above the protection current.
    pub const OVERCURRENT: u8 = 1 << 3;
    /// Angle outside the limits.
    pub const ANGLE: u8 = 1 << 4;
    /// Load above the overload torque for longer than the protection time.
    pub const OVERLOAD: u8 = 1 << 5;

    /// True when no bit is set.
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for ServoStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const BITS: [(u8, &str); 6] = [
            (ServoStatus::VOLTAGE, "input voltage error"),
            (ServoStatus::SENSOR, "angle sensor error"),
            (ServoStatus::OVERHEAT, "overheating"),
            (ServoStatus::OVERCURRENT, "overcurrent"),
            (ServoStatus::ANGLE, "angle limit error"),
            (ServoStatus::OVERLOAD, "overload"),
        ];
        let mut first = true;
        for (bit, name) in BITS {
            if self.0 & bit != 0 {
                write!(f, "{}{name}", if first { "" } else { ", " })?;
                first = false;
            }
        }
        if first {
            write!(f, "status {:#04x}", self.0)?;
        }
        Ok(())
    }
}

/// The checksum of the bytes from ID to the last param.
pub fn checksum(bytes: &[u8]) -> u8 {
    !bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b))
}

/// Why a packet could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// More params than a packet holds.
    TooLong {
        /// Params given.
        params: usize,
    },
    /// `FF` is not an ID (it would read as a header).
    BadId,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { params } => write!(f, "{params} params exceed {MAX_PARAMS}"),
            EncodeError::BadId => write!(f, "ID 0xFF is not an ID"),
        }
    }
}

/// Writes a packet to `out` (cleared first): header, `id`, LEN, `code` (the instruction, or a status's ERROR
/// byte), then `pieces` concatenated as the params, then the checksum. Returns the packet's length.
pub fn encode(out: &mut Vec<u8>, id: u8, code: u8, pieces: &[&[u8]]) -> Result<usize, EncodeError> {
    if id == 0xFF {
        return Err(EncodeError::BadId);
    }
    let params: usize = pieces.iter().map(|p| p.len()).sum();
    if params > MAX_PARAMS {
        return Err(EncodeError::TooLong { params });
    }
    out.clear();
    out.extend_from_slice(&HEADER);
    out.push(id);
    out.push((params + 2) as u8);
    out.push(code);
    for p in pieces {
        out.extend_from_slice(p);
    }
    let chk = checksum(&out[2..]);
    out.push(chk);
    Ok(out.len())
}

/// A parsed packet, borrowing the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Sender (status) or addressee (instruction).
    pub id: u8,
    /// The instruction (instruction packets) or the ERROR byte (status packets).
    pub code: u8,
    /// Params (instruction) or data (status).
    pub params: &'a [u8],
}

/// What [`parse`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed (at least this many in total).
    Incomplete {
        /// Total bytes the packet needs, as far as known.
        needed: usize,
    },
    /// The buffer does not start with a header (`FF FF` then an ID other than `FF`).
    NoHeader,
    /// The length field is below 2.
    BadLength {
        /// The length field.
        len: usize,
    },
    /// The checksum does not match.
    Checksum {
        /// Checksum in the packet.
        received: u8,
        /// Checksum computed over the bytes.
        computed: u8,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Incomplete { needed } => write!(f, "incomplete packet ({needed} bytes needed)"),
            ParseError::NoHeader => write!(f, "no packet header"),
            ParseError::BadLength { len } => write!(f, "length field {len} below 2"),
            ParseError::Checksum { received, computed } => {
                write!(f, "checksum mismatch (received {received:#04x}, computed {computed:#04x})")
            }
        }
    }
}

/// Index of the first possible packet start in `buf`: the last `FF` of a run of `FF`s (at least two) followed by
/// a byte other than `FF` — a header with its ID —, or a trailing run of `FF`s that may become one with the
/// next bytes; `buf.len()` when there is none. Bytes before it are garbage.
pub fn find_header(buf: &[u8]) -> usize {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] != 0xFF {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < buf.len() && buf[j] == 0xFF {
            j += 1;
        }
        // buf[i..j] is a run of FF.
        if j == buf.len() {
            // A trailing run: keep its last two (the header may complete with the next bytes).
            return i.max(j.saturating_sub(2));
        }
        if j - i >= 2 {
            return j - 2;
        }
        i = j;
    }
    buf.len()
}

/// Parses the packet at the start of `buf` (which must begin with a header; see [`find_header`]). On success
/// returns the packet and the number of bytes it occupied. Never panics.
pub fn parse(buf: &[u8]) -> Result<(Packet<'_>, usize), ParseError> {
    let n = buf.len().min(2);
    if buf[..n] != HEADER[..n] {
        return Err(ParseError::NoHeader);
    }
    if buf.len() < 4 {
        return Err(ParseError::Incomplete { needed: 4 });
    }
    if buf[2] == 0xFF {
        return Err(ParseError::NoHeader);
    }
    let len = usize::from(buf[3]);
    if len < 2 {
        return Err(ParseError::BadLength { len });
    }
    let total = 4 + len;
    if buf.len() < total {
        return Err(ParseError::Incomplete { needed: total });
    }
    let received = buf[total - 1];
    let computed = checksum(&buf[2..total - 1]);
    if received != computed {
        return Err(ParseError::Checksum { received, computed });
    }
    Ok((Packet { id: buf[2], code: buf[4], params: &buf[5..total - 1] }, total))
}

/// Bits on the wire per byte (8N1: start + 8 data + stop).
pub const BITS_PER_BYTE: f64 = 10.0;

/// Time `bytes` take on a bus at `baud`, s.
pub fn wire_time_s(bytes: usize, baud: u32) -> f64 {
    bytes as f64 * BITS_PER_BYTE / f64::from(baud.max(1))
}

/// Sign-magnitude fields of the STS series: bit `sign_bit` is the sign, the bits below it the magnitude.
pub mod sign_magnitude {
    /// Decodes `raw` (sign at `sign_bit`).
    pub fn decode(raw: u16, sign_bit: u32) -> i32 {
        let mag = i32::from(raw & ((1u16 << sign_bit) - 1));
        if raw & (1 << sign_bit) != 0 { -mag } else { mag }
    }
    /// Encodes `v` (sign at `sign_bit`), its magnitude saturated to the bits below the sign.
    pub fn encode(v: i32, sign_bit: u32) -> u16 {
        let max = (1u32 << sign_bit) - 1;
        let mag = v.unsigned_abs().min(max) as u16;
        if v < 0 { mag | (1 << sign_bit) } else { mag }
    }
}

/// Little-endian 16-bit helpers.
pub mod le {
    /// `u16` at `b[at..at + 2]`, `None` if short.
    pub fn u16_at(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
    }
}
