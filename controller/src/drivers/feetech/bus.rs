//! Transactions on a Feetech bus: instruction out, status packet(s) back, over any [`SerialLink`].
//!
//! No retries here (that policy lives in [`super::FeetechArm`]); every failure comes back as a [`BusError`]
//! naming the servo ID. On the success path nothing allocates: the buffers are sized at construction.
//! An adapter that echoes the master's bytes back (some half-duplex converters do) is handled: a received copy
//! of the instruction just sent is skipped.

use super::protocol::{self, BROADCAST_ID, EncodeError, ParseError, ServoStatus, inst};
use crate::drivers::serial::{FaultClass, Receive, SerialLink, receive_more};
use std::io;
use std::time::{Duration, Instant};

/// Why a transaction failed. `Copy`, so the real-time path builds it without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusError {
    /// No (complete) status packet from `id` in time.
    Timeout {
        /// Servo awaited.
        id: u8,
    },
    /// Bytes arrived but did not form a valid packet.
    Corrupt {
        /// Servo awaited.
        id: u8,
        /// What was wrong.
        error: ParseError,
    },
    /// Only other servos answered while `expected` was awaited, until the timeout.
    WrongId {
        /// Servo awaited.
        expected: u8,
        /// Servo that answered.
        got: u8,
    },
    /// A valid status packet with another data length than asked.
    Unexpected {
        /// Servo.
        id: u8,
        /// Data bytes received.
        len: usize,
    },
    /// The servo's status has protection bits set (overload, overheating, voltage, …); the data is valid.
    Alert {
        /// Servo.
        id: u8,
        /// Its status bits.
        status: ServoStatus,
    },
    /// The instruction could not be encoded.
    Encode(EncodeError),
    /// The port failed (unplugged, closed).
    Io(io::ErrorKind),
}

impl BusError {
    /// The servo concerned, when there is one.
    pub fn id(&self) -> Option<u8> {
        match *self {
            BusError::Timeout { id }
            | BusError::Corrupt { id, .. }
            | BusError::Unexpected { id, .. }
            | BusError::Alert { id, .. } => Some(id),
            BusError::WrongId { expected, .. } => Some(expected),
            BusError::Encode(_) | BusError::Io(_) => None,
        }
    }
    /// True for errors a retry may clear (timeouts, corruption, a missing or odd reply).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BusError::Timeout { .. }
                | BusError::Corrupt { .. }
                | BusError::WrongId { .. }
                | BusError::Unexpected { .. }
        )
    }
    /// Which [`BusHealth`](crate::drivers::serial::BusHealth) counter the error counts in.
    pub fn class(&self) -> FaultClass {
        match self {
            BusError::Timeout { .. } | BusError::WrongId { .. } => FaultClass::Timeout,
            BusError::Corrupt { .. } | BusError::Unexpected { .. } => FaultClass::Corrupt,
            BusError::Alert { .. } => FaultClass::Alert,
            BusError::Encode(_) | BusError::Io(_) => FaultClass::Port,
        }
    }
}

const RX_CAPACITY: usize = 4096;

/// A Feetech protocol-0 bus over a [`SerialLink`].
#[derive(Debug)]
pub struct FeetechBus<L> {
    link: L,
    timeout: Duration,
    tx: Vec<u8>,
    params: Vec<u8>,
    rx: Vec<u8>,
    rx_start: usize,
    rx_end: usize,
}

impl<L: SerialLink> FeetechBus<L> {
    /// A bus on `link`; every status packet is awaited at most `timeout`.
    pub fn new(link: L, timeout: Duration) -> Self {
        Self {
            link,
            timeout,
            tx: Vec::with_capacity(protocol::MAX_PARAMS + protocol::OVERHEAD),
            params: Vec::with_capacity(protocol::MAX_PARAMS),
            rx: vec![0; RX_CAPACITY],
            rx_start: 0,
            rx_end: 0,
        }
    }

    /// The link.
    pub fn link_mut(&mut self) -> &mut L {
        &mut self.link
    }

    /// The status timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Drops everything received and not yet consumed, then waits for the bus to fall quiet (before a retry).
    pub fn discard_input(&mut self) -> Result<(), BusError> {
        self.rx_start = 0;
        self.rx_end = 0;
        crate::drivers::serial::discard_until_quiet(&mut self.link, &mut self.rx, self.timeout)
            .map_err(|e| BusError::Io(e.kind()))
    }

    fn send(&mut self, id: u8, instruction: u8, pieces: &[&[u8]]) -> Result<(), BusError> {
        protocol::encode(&mut self.tx, id, instruction, pieces).map_err(BusError::Encode)?;
        self.link.send(&self.tx).map_err(|e| BusError::Io(e.kind()))
    }

    fn send_params(&mut self, id: u8, instruction: u8) -> Result<(), BusError> {
        protocol::encode(&mut self.tx, id, instruction, &[&self.params]).map_err(BusError::Encode)?;
        self.link.send(&self.tx).map_err(|e| BusError::Io(e.kind()))
    }

    /// Receives the next status packet from `id` with `data_len` data bytes into `out[..data_len]`.
    fn receive_status(&mut self, id: u8, data_len: usize, out: &mut [u8]) -> Result<(), BusError> {
        let deadline = Instant::now() + self.timeout;
        let mut stray = None;
        loop {
            let skip = protocol::find_header(&self.rx[self.rx_start..self.rx_end]);
            self.rx_start += skip;
            let avail = &self.rx[self.rx_start..self.rx_end];
            if !avail.is_empty() {
                match protocol::parse(avail) {
                    Ok((p, used)) => {
                        let echo = avail[..used] == self.tx[..];
                        self.rx_start += used;
                        if echo {
                            continue; // the adapter echoed our instruction
                        }
                        if p.id != id {
                            // A late reply to an earlier instruction, or a servo further down a sync read
                            // answering while the awaited one stays silent: keep waiting for `id` until the
                            // deadline, and name the stray servo if `id` never answers.
                            stray = Some(p.id);
                            continue;
                        }
                        if p.params.len() != data_len || data_len > out.len() {
                            return Err(BusError::Unexpected { id, len: p.params.len() });
                        }
                        out[..data_len].copy_from_slice(p.params);
                        if p.code != 0 {
                            return Err(BusError::Alert { id, status: ServoStatus(p.code) });
                        }
                        return Ok(());
                    }
                    Err(ParseError::Incomplete { .. }) => {}
                    Err(error) => {
                        self.rx_start += 1; // resynchronise past this header on the next attempt
                        return Err(BusError::Corrupt { id, error });
                    }
                }
            }
            match receive_more(&mut self.link, &mut self.rx, &mut self.rx_start, &mut self.rx_end, deadline) {
                Receive::Got => {}
                Receive::Full => {
                    return Err(BusError::Corrupt { id, error: ParseError::BadLength { len: RX_CAPACITY } });
                }
                Receive::Deadline => {
                    return Err(match stray {
                        Some(got) => BusError::WrongId { expected: id, got },
                        None => BusError::Timeout { id },
                    });
                }
                Receive::Io(kind) => return Err(BusError::Io(kind)),
            }
        }
    }

    /// Pings `id` (an empty status comes back). Status bits come back as [`BusError::Alert`].
    pub fn ping(&mut self, id: u8) -> Result<(), BusError> {
        self.send(id, inst::PING, &[])?;
        self.receive_status(id, 0, &mut [])
    }

    /// Reads `out.len()` bytes at `addr` of servo `id`. Returns the servo's status bits (the data is valid
    /// either way).
    pub fn read(&mut self, id: u8, addr: u8, out: &mut [u8]) -> Result<ServoStatus, BusError> {
        let len = u8::try_from(out.len()).map_err(|_| BusError::Encode(EncodeError::TooLong { params: out.len() }))?;
        self.send(id, inst::READ, &[&[addr, len]])?;
        match self.receive_status(id, out.len(), out) {
            Ok(()) => Ok(ServoStatus(0)),
            Err(BusError::Alert { status, .. }) => Ok(status),
            Err(e) => Err(e),
        }
    }

    /// Writes `data` at `addr` of servo `id` and waits for its acknowledgement (none for the broadcast ID).
    /// Returns the servo's status bits.
    pub fn write(&mut self, id: u8, addr: u8, data: &[u8]) -> Result<ServoStatus, BusError> {
        self.send(id, inst::WRITE, &[&[addr], data])?;
        if id == BROADCAST_ID {
            return Ok(ServoStatus(0));
        }
        match self.receive_status(id, 0, &mut []) {
            Ok(()) => Ok(ServoStatus(0)),
            Err(BusError::Alert { status, .. }) => Ok(status),
            Err(e) => Err(e),
        }
    }

    /// Sync read of `len` bytes at `addr` from every servo in `ids`; servo `ids[k]`'s bytes land in
    /// `out[k·len..(k+1)·len]`. One instruction, one status packet per servo in the order of `ids`. When a servo
    /// reports status bits, the remaining replies are still collected, then the first [`BusError::Alert`] is
    /// returned (the data is valid).
    pub fn sync_read(&mut self, addr: u8, len: u8, ids: &[u8], out: &mut [u8]) -> Result<(), BusError> {
        let n = usize::from(len);
        self.params.clear();
        self.params.extend_from_slice(&[addr, len]);
        self.params.extend_from_slice(ids);
        self.send_params(BROADCAST_ID, inst::SYNC_READ)?;
        let mut alert = None;
        for (k, &id) in ids.iter().enumerate() {
            let Some(slot) = out.get_mut(k * n..(k + 1) * n) else {
                return Err(BusError::Unexpected { id, len: n });
            };
            match self.receive_status(id, n, slot) {
                Ok(()) => {}
                Err(e @ BusError::Alert { .. }) => alert = alert.or(Some(e)),
                Err(e) => return Err(e),
            }
        }
        alert.map_or(Ok(()), Err)
    }

    /// Sync write of `len` bytes at `addr` to every servo in `ids`; `fill(k, bytes)` writes servo `ids[k]`'s
    /// bytes. No reply (broadcast).
    pub fn sync_write(
        &mut self,
        addr: u8,
        len: u8,
        ids: &[u8],
        mut fill: impl FnMut(usize, &mut [u8]),
    ) -> Result<(), BusError> {
        let n = usize::from(len);
        self.params.clear();
        self.params.extend_from_slice(&[addr, len]);
        for (k, &id) in ids.iter().enumerate() {
            self.params.push(id);
            let at = self.params.len();
            self.params.resize(at + n, 0);
            fill(k, &mut self.params[at..at + n]);
        }
        self.send_params(BROADCAST_ID, inst::SYNC_WRITE)
    }
}

impl crate::drivers::serial::TransientFault for BusError {
    fn fault_class(&self) -> crate::drivers::serial::FaultClass {
        self.class()
    }
    fn transient(&self) -> bool {
        self.is_transient()
    }
}
