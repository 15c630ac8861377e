//! Transactions on a Dynamixel bus: instruction out, status packet(s) back, over any [`SerialLink`].
//!
//! No retries here (that policy lives in [`super::DynamixelArm`]); every failure comes back as a [`BusError`]
//! naming the servo ID. On the success path nothing allocates: the transmit, receive and scratch buffers are
//! sized at construction.

use super::protocol::{self, BROADCAST_ID, EncodeError, ParseError, StatusError, inst};
use crate::drivers::serial::{Receive, receive_more};
use std::io;
use std::time::{Duration, Instant};

pub use crate::drivers::serial::{QUIET_GAP, SerialLink};

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
    /// A valid packet that is not the status expected (wrong instruction or data length).
    Unexpected {
        /// Servo awaited.
        id: u8,
        /// Data bytes received.
        len: usize,
    },
    /// The servo refused the instruction (error code in the status).
    Refused {
        /// Servo.
        id: u8,
        /// Its ERROR byte.
        error: StatusError,
    },
    /// The servo raised its hardware-error alert (the instruction was carried out; read its status register).
    Alert {
        /// Servo.
        id: u8,
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
            | BusError::Refused { id, .. }
            | BusError::Alert { id } => Some(id),
            BusError::WrongId { expected, .. } => Some(expected),
            BusError::Encode(_) | BusError::Io(_) => None,
        }
    }
    /// Which [`BusHealth`](crate::drivers::serial::BusHealth) counter the error counts in.
    pub fn class(&self) -> crate::drivers::serial::FaultClass {
        use crate::drivers::serial::FaultClass;
        match self {
            BusError::Timeout { .. } | BusError::WrongId { .. } => FaultClass::Timeout,
            BusError::Corrupt { .. } | BusError::Unexpected { .. } => FaultClass::Corrupt,
            BusError::Refused { .. } => FaultClass::Refused,
            BusError::Alert { .. } => FaultClass::Alert,
            BusError::Encode(_) | BusError::Io(_) => FaultClass::Port,
        }
    }
    /// True for errors a retry may clear (timeouts, corruption, a missing reply).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BusError::Timeout { .. }
                | BusError::Corrupt { .. }
                | BusError::WrongId { .. }
                | BusError::Unexpected { .. }
                | BusError::Refused { .. }
        )
    }
}

const RX_CAPACITY: usize = 8192;

/// A Dynamixel Protocol 2.0 bus over a [`SerialLink`].
#[derive(Debug)]
pub struct DynamixelBus<L> {
    link: L,
    timeout: Duration,
    tx: Vec<u8>,
    params: Vec<u8>,
    rx: Vec<u8>,
    rx_start: usize,
    rx_end: usize,
    scratch: Vec<u8>,
}

impl<L: SerialLink> DynamixelBus<L> {
    /// A bus on `link`; every status packet is awaited at most `timeout`.
    pub fn new(link: L, timeout: Duration) -> Self {
        Self {
            link,
            timeout,
            tx: Vec::with_capacity(2 * protocol::MAX_LEN + 16),
            params: Vec::with_capacity(2 * protocol::MAX_LEN),
            rx: vec![0; RX_CAPACITY],
            rx_start: 0,
            rx_end: 0,
            scratch: Vec::with_capacity(2 * protocol::MAX_LEN),
        }
    }

    /// The link.
    pub fn link_mut(&mut self) -> &mut L {
        &mut self.link
    }

    /// Drops everything received and not yet consumed (before a retry), then waits for the bus to fall quiet
    /// (no byte for [`QUIET_GAP`], at most the status timeout) so that replies still on the wire from the failed
    /// instruction are not taken for answers to the next one.
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

    /// Receives the next status packet, which must come from `id` with `data_len` data bytes (`None`: any),
    /// and copies its data into `out[..len]`. Returns the data length.
    fn receive_status(&mut self, id: u8, data_len: Option<usize>, out: &mut [u8]) -> Result<usize, BusError> {
        let deadline = Instant::now() + self.timeout;
        let mut stray = None;
        loop {
            let avail = &self.rx[self.rx_start..self.rx_end];
            let skip = protocol::find_header(avail);
            self.rx_start += skip;
            let avail = &self.rx[self.rx_start..self.rx_end];
            if !avail.is_empty() {
                match protocol::parse(avail, &mut self.scratch) {
                    Ok((p, used)) => {
                        self.rx_start += used;
                        if p.instruction != inst::STATUS {
                            continue; // an instruction on the bus (another master, or an echo): not ours
                        }
                        if p.id != id {
                            // A late reply to an earlier instruction, or a servo further down a sync read
                            // answering while the awaited one stays silent: not ours. Keep waiting for `id`
                            // until the deadline, and name the stray servo if `id` never answers.
                            stray = Some(p.id);
                            continue;
                        }
                        let Some((err, data)) = p.status() else {
                            return Err(BusError::Unexpected { id, len: 0 });
                        };
                        if err.code() != 0 {
                            return Err(BusError::Refused { id, error: err });
                        }
                        if data_len.is_some_and(|n| n != data.len()) || data.len() > out.len() {
                            return Err(BusError::Unexpected { id, len: data.len() });
                        }
                        out[..data.len()].copy_from_slice(data);
                        if err.alert() {
                            return Err(BusError::Alert { id });
                        }
                        return Ok(data.len());
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

    /// Pings `id`; returns its model number.
    pub fn ping(&mut self, id: u8) -> Result<u16, BusError> {
        self.send(id, inst::PING, &[])?;
        let mut d = [0u8; 3];
        self.receive_status(id, Some(3), &mut d)?;
        Ok(u16::from_le_bytes([d[0], d[1]]))
    }

    /// Reads `out.len()` bytes at `addr` of servo `id`. Returns the servo's hardware-error alert flag (the data
    /// is valid either way).
    pub fn read(&mut self, id: u8, addr: u16, out: &mut [u8]) -> Result<bool, BusError> {
        let len = out.len() as u16;
        self.send(id, inst::READ, &[&addr.to_le_bytes(), &len.to_le_bytes()])?;
        match self.receive_status(id, Some(out.len()), out) {
            Ok(_) => Ok(false),
            Err(BusError::Alert { .. }) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Writes `data` at `addr` of servo `id` and waits for its acknowledgement.
    pub fn write(&mut self, id: u8, addr: u16, data: &[u8]) -> Result<(), BusError> {
        self.send(id, inst::WRITE, &[&addr.to_le_bytes(), data])?;
        if id != BROADCAST_ID {
            self.receive_status(id, Some(0), &mut [])?;
        }
        Ok(())
    }

    /// Reboots servo `id` (clears a hardware error; the servo comes back with torque off after ~1 s… per model).
    pub fn reboot(&mut self, id: u8) -> Result<(), BusError> {
        self.send(id, inst::REBOOT, &[])?;
        self.receive_status(id, Some(0), &mut [])?;
        Ok(())
    }

    /// Sync read of `len` bytes at `addr` from every servo in `ids`; servo `ids[k]`'s bytes land in
    /// `out[k·len..(k+1)·len]`. One instruction, one status packet per servo in the order of `ids`. On an
    /// [`BusError::Alert`] the remaining replies are still collected before the alert is returned.
    pub fn sync_read(&mut self, addr: u16, len: u16, ids: &[u8], out: &mut [u8]) -> Result<(), BusError> {
        let n = usize::from(len);
        self.params.clear();
        self.params.extend_from_slice(&addr.to_le_bytes());
        self.params.extend_from_slice(&len.to_le_bytes());
        self.params.extend_from_slice(ids);
        self.send_params(BROADCAST_ID, inst::SYNC_READ)?;
        let mut alert = None;
        for (k, &id) in ids.iter().enumerate() {
            let Some(slot) = out.get_mut(k * n..(k + 1) * n) else {
                return Err(BusError::Unexpected { id, len: n });
            };
            match self.receive_status(id, Some(n), slot) {
                Ok(_) => {}
                Err(BusError::Alert { id }) => alert = alert.or(Some(id)),
                Err(e) => return Err(e),
            }
        }
        match alert {
            Some(id) => Err(BusError::Alert { id }),
            None => Ok(()),
        }
    }

    /// Sync write of `len` bytes at `addr` to every servo in `ids`; `fill(k, bytes)` writes servo `ids[k]`'s
    /// bytes. No reply (broadcast).
    pub fn sync_write(
        &mut self,
        addr: u16,
        len: u16,
        ids: &[u8],
        mut fill: impl FnMut(usize, &mut [u8]),
    ) -> Result<(), BusError> {
        let n = usize::from(len);
        self.params.clear();
        self.params.extend_from_slice(&addr.to_le_bytes());
        self.params.extend_from_slice(&len.to_le_bytes());
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
