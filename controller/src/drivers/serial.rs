//! What the serial-bus drivers ([`super::dynamixel`], [`super::feetech`]) share: the byte link they speak over,
//! the wait for a quiet bus before a retry, and the USB adapter's latency timer.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A byte link to the bus (a serial port, or a test double).
pub trait SerialLink: Send {
    /// Writes all of `bytes`.
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Reads what is available into `buf`, waiting at most `timeout`; an error of kind
    /// [`io::ErrorKind::TimedOut`] (or `Ok(0)`) when nothing came.
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    /// Drops bytes received but not read.
    fn discard_input(&mut self) -> io::Result<()>;
}

impl SerialLink for serialport::TTYPort {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(self, bytes)?;
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        serialport::SerialPort::set_timeout(self, timeout).map_err(io::Error::from)?;
        io::Read::read(self, buf)
    }
    fn discard_input(&mut self) -> io::Result<()> {
        serialport::SerialPort::clear(self, serialport::ClearBuffer::Input).map_err(io::Error::from)
    }
}

/// Silence on the bus that ends a discard: longer than a USB-serial adapter's 1 ms latency timer.
pub const QUIET_GAP: Duration = Duration::from_millis(3);

/// Drops what `link` has received, then reads and drops bytes until the bus has been quiet for [`QUIET_GAP`] (at
/// most `timeout` in all), so that replies still on the wire from a failed instruction are not taken for answers
/// to the next one. `buf` is scratch space. Errors are the port's own (unplugged, closed).
pub fn discard_until_quiet<L: SerialLink + ?Sized>(link: &mut L, buf: &mut [u8], timeout: Duration) -> io::Result<()> {
    link.discard_input()?;
    let deadline = Instant::now() + timeout;
    let gap = QUIET_GAP.min(timeout);
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        match link.recv(buf, gap.min(deadline - now)) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The latency timer of the USB-serial adapter behind `port` (FTDI, CH340/CH343 and compatibles), ms, if the
/// system exposes it.
pub fn latency_timer_ms(port: &str) -> Option<u32> {
    let real = std::fs::canonicalize(port).ok()?;
    let name = real.file_name()?.to_str()?;
    let text = std::fs::read_to_string(format!("/sys/bus/usb-serial/devices/{name}/latency_timer")).ok()?;
    text.trim().parse().ok()
}

/// Opens `port` at `baud` with exclusive access and warns when the USB adapter's latency timer is above
/// `expected_latency_ms` (every reply may then wait that long). Errors name the port.
pub fn open_port(
    port: &str,
    baud: u32,
    timeout: Duration,
    expected_latency_ms: u32,
) -> Result<serialport::TTYPort, interfaces::drivers::DriverError> {
    let p = serialport::new(port, baud).timeout(timeout).open_native().map_err(|e| {
        interfaces::drivers::DriverError::Disconnected { device: port.to_string(), detail: format!("cannot open: {e}") }
    })?;
    if let Some(ms) = latency_timer_ms(port)
        && ms > expected_latency_ms
    {
        tracing::warn!(
            port = %port,
            "USB latency timer is {ms} ms (config expects {expected_latency_ms} ms): every status packet may wait \
             that long; set it with `echo {expected_latency_ms} | sudo tee /sys/bus/usb-serial/devices/<ttyUSBx>/latency_timer`"
        );
    }
    Ok(p)
}

/// Which counter of [`BusHealth`] a bus error counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultClass {
    /// No (complete) reply in time, or a reply from another servo than awaited.
    Timeout,
    /// Bytes that failed framing or checksum, or a reply of the wrong shape.
    Corrupt,
    /// An instruction the servo refused.
    Refused,
    /// A servo's hardware-error alert (overload, overheating, voltage, …).
    Alert,
    /// The port itself (not counted: it ends the transaction at once).
    Port,
}

/// Counters of a servo bus's faults, shared with a non-real-time reader (the bus bridge publishes them).
#[derive(Debug, Default)]
pub struct BusHealth {
    /// Transactions attempted (sync reads, writes, pings).
    pub transactions: AtomicU64,
    /// Status packets that did not come in time (including replies from another ID than awaited).
    pub timeouts: AtomicU64,
    /// Packets that failed framing or checksum.
    pub corrupt: AtomicU64,
    /// Instructions refused by a servo.
    pub refused: AtomicU64,
    /// Retries made.
    pub retries: AtomicU64,
    /// Hardware-error alerts raised by servos.
    pub hardware_alerts: AtomicU64,
}

impl BusHealth {
    /// Counts one fault of `class`.
    pub fn count(&self, class: FaultClass) {
        let c = match class {
            FaultClass::Timeout => &self.timeouts,
            FaultClass::Corrupt => &self.corrupt,
            FaultClass::Refused => &self.refused,
            FaultClass::Alert => &self.hardware_alerts,
            FaultClass::Port => return,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
    /// `(timeouts, corrupt, refused, retries, hardware_alerts)` now.
    pub fn snapshot(&self) -> [u64; 5] {
        [&self.timeouts, &self.corrupt, &self.refused, &self.retries, &self.hardware_alerts]
            .map(|c| c.load(Ordering::Relaxed))
    }
}

/// What a servo bus can do, measured when the arm is opened (shared by the Dynamixel and Feetech drivers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusTiming {
    /// Baud rate, bit/s.
    pub baud: u32,
    /// Round trip of one sync read of a 1-byte status register of every servo, measured, µs.
    pub probe_round_trip_us: interfaces::stats::Percentiles,
    /// Bytes of one control cycle on the wire: the sync read of the present block, its replies and the sync
    /// write of the goals.
    pub cycle_bytes: usize,
    /// Time those bytes take on the wire at `baud` (plus the servos' return delays where they have one), µs
    /// (computed, not measured).
    pub cycle_wire_us: f64,
    /// Estimated time of one control cycle: the measured probe round trip (median) plus the wire time of the
    /// cycle's extra bytes, µs.
    pub cycle_estimate_us: f64,
    /// The highest control rate this bus sustains with 20 % headroom, Hz.
    pub achievable_rate_hz: f64,
}

/// Time `bytes` take on a UART at `baud` (10 bits a byte: start, 8 data, stop), s.
pub fn wire_time_s(bytes: usize, baud: u32) -> f64 {
    bytes as f64 * 10.0 / f64::from(baud.max(1))
}

impl BusTiming {
    /// From the probe's round trips `rtt_us` (µs; sorted in place), the probe's bytes on the wire and the cycle's
    /// bytes; `extra_wire_s` is added to the cycle's wire time (the servos' return delays).
    pub fn from_probe(
        baud: u32,
        rtt_us: &mut [f64],
        probe_bytes: usize,
        cycle_bytes: usize,
        extra_wire_s: f64,
    ) -> Self {
        let cycle_wire_us = (wire_time_s(cycle_bytes, baud) + extra_wire_s) * 1e6;
        let probe = interfaces::stats::Percentiles::of(rtt_us);
        let extra_us = wire_time_s(cycle_bytes.saturating_sub(probe_bytes), baud) * 1e6;
        let cycle_estimate_us = probe.p50.max(0.0) + extra_us;
        Self {
            baud,
            probe_round_trip_us: probe,
            cycle_bytes,
            cycle_wire_us,
            cycle_estimate_us,
            achievable_rate_hz: 1e6 / (1.2 * cycle_estimate_us.max(cycle_wire_us)),
        }
    }
}

/// What [`receive_more`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receive {
    /// Read (possibly nothing: a timed-out or interrupted read); scan the buffer again.
    Got,
    /// The buffer is full without a packet in it: its content was dropped (garbage).
    Full,
    /// The deadline has passed.
    Deadline,
    /// The port failed.
    Io(io::ErrorKind),
}

/// The receive step shared by the servo buses: moves the unread bytes `rx[*start..*end]` to the front of `rx`,
/// then reads what `link` has until `deadline`.
pub fn receive_more<L: SerialLink + ?Sized>(
    link: &mut L,
    rx: &mut [u8],
    start: &mut usize,
    end: &mut usize,
    deadline: Instant,
) -> Receive {
    if *start > 0 {
        rx.copy_within(*start..*end, 0);
        *end -= *start;
        *start = 0;
    }
    if *end == rx.len() {
        *end = 0;
        return Receive::Full;
    }
    let now = Instant::now();
    if now >= deadline {
        return Receive::Deadline;
    }
    match link.recv(&mut rx[*end..], deadline - now) {
        Ok(n) => {
            *end += n;
            Receive::Got
        }
        Err(e)
            if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) =>
        {
            Receive::Got
        }
        Err(e) => Receive::Io(e.kind()),
    }
}

/// A servo bus's transaction error as the retry loop sees it.
pub trait TransientFault {
    /// Which counter of [`BusHealth`] it goes to.
    fn fault_class(&self) -> FaultClass;
    /// A retry may clear it (timeouts, corruption, a missing reply).
    fn transient(&self) -> bool;
}

/// Runs `f` on `bus` up to `1 + max_retries` times while it fails with a transient error, calling `flush` (drop the
/// input) between tries; every transaction, failure and retry is counted in `health`.
pub fn retry<B, T, E: TransientFault>(
    bus: &mut B,
    health: &BusHealth,
    max_retries: u32,
    mut f: impl FnMut(&mut B) -> Result<T, E>,
    mut flush: impl FnMut(&mut B) -> Result<(), E>,
) -> Result<T, E> {
    let mut tries = 0;
    loop {
        health.transactions.fetch_add(1, Ordering::Relaxed);
        match f(bus) {
            Ok(v) => return Ok(v),
            Err(e) => {
                health.count(e.fault_class());
                if !e.transient() || tries >= max_retries {
                    return Err(e);
                }
                tries += 1;
                health.retries.fetch_add(1, Ordering::Relaxed);
                flush(bus)?;
            }
        }
    }
}
