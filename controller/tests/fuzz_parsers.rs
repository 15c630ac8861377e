//! Fuzz harness for every byte-level parser of the drivers, on stable Rust: seeded random and mutated inputs,
//! asserting that nothing panics and that the codecs' invariants hold. The iteration count comes from
//! `CORRIGO_FUZZ_ITERS` (default 20 000 per target, a few seconds); `make fuzz` runs it with millions and the
//! seed from `CORRIGO_FUZZ_SEED` (printed, so that a failure can be replayed).

use controller::drivers::dynamixel::protocol::{self, ParseError};
use controller::drivers::dynamixel::{BusError, DynamixelBus, SerialLink};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io;
use std::time::Duration;

fn iterations() -> usize {
    std::env::var("CORRIGO_FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000)
}

fn rng(target: u64) -> ChaCha8Rng {
    let seed = std::env::var("CORRIGO_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x00C0_4416u64);
    println!("fuzz seed {seed} (target {target})");
    ChaCha8Rng::seed_from_u64(seed ^ target.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Bytes biased towards the ones that matter to the framing (header and stuffing bytes).
fn bytes(r: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| match r.random_range(0..4) {
            0 => 0xFF,
            1 => 0xFD,
            2 => 0x00,
            _ => r.random(),
        })
        .collect()
}

#[test]
fn dynamixel_parse_never_panics_on_arbitrary_bytes() {
    let mut r = rng(1);
    let mut scratch = Vec::new();
    for _ in 0..iterations() {
        let n = r.random_range(0..64);
        let mut b = bytes(&mut r, n);
        if r.random_bool(0.5) {
            b.splice(0..0, protocol::HEADER);
        }
        let start = protocol::find_header(&b);
        assert!(start <= b.len());
        if let Ok((p, used)) = protocol::parse(&b[start..], &mut scratch) {
            assert!(used <= b.len() - start && used > protocol::OVERHEAD);
            assert!(p.params.len() < used);
        }
    }
}

#[test]
fn dynamixel_encode_parse_round_trips_and_single_bit_flips_are_caught() {
    let mut r = rng(2);
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    for _ in 0..iterations() {
        let id = r.random();
        let instruction = r.random();
        let n = r.random_range(0..40);
        let params = bytes(&mut r, n);
        let len = protocol::encode(&mut out, id, instruction, &[&params]).expect("small packets encode");
        assert_eq!(len, out.len());
        let (p, used) = protocol::parse(&out, &mut scratch).expect("a packet we encoded parses");
        assert_eq!((p.id, p.instruction, p.params, used), (id, instruction, &params[..], out.len()));
        assert!(out[7..out.len() - 2].windows(3).filter(|w| *w == [0xFF, 0xFF, 0xFD]).count() <= params.len());
        let bit = r.random_range(0..out.len() * 8);
        let mut flipped = out.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if let Ok((q, _)) = protocol::parse(&flipped, &mut scratch) {
            panic!("flip of bit {bit} undetected: {flipped:02X?} parsed as {q:?}");
        }
    }
}

/// A link that returns fuzzed bytes in random chunks, then times out.
struct FuzzLink {
    data: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl SerialLink for FuzzLink {
    fn send(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8], _: Duration) -> io::Result<usize> {
        if self.at >= self.data.len() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no more fuzz bytes"));
        }
        let n = self.chunk.min(buf.len()).min(self.data.len() - self.at).max(1);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
    fn discard_input(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn dynamixel_bus_survives_fuzzed_replies() {
    let mut r = rng(3);
    let mut pkt = Vec::new();
    let ids = [1u8, 2, 3];
    let mut out = [0u8; 30];
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..iterations() / 4 {
        // Valid status packets, some mutated, with garbage between them.
        let mut data = Vec::new();
        for &id in &ids {
            if r.random_bool(0.2) {
                let n = r.random_range(0..8);
                data.extend(bytes(&mut r, n));
            }
            let mut d = [0u8; 10];
            r.fill_bytes(&mut d);
            let err = if r.random_bool(0.1) { r.random() } else { 0 };
            protocol::encode(&mut pkt, id, protocol::inst::STATUS, &[&[err], &d]).expect("encode");
            data.extend_from_slice(&pkt);
        }
        for _ in 0..r.random_range(0..3) {
            let i = r.random_range(0..data.len());
            data[i] = r.random();
        }
        let chunk = r.random_range(1..40);
        let mut bus = DynamixelBus::new(FuzzLink { data, at: 0, chunk }, Duration::from_millis(1));
        match bus.sync_read(126, 10, &ids, &mut out) {
            Ok(()) => ok += 1,
            Err(e) => {
                failed += 1;
                assert!(e.id().is_some(), "every fuzzed failure names a servo: {e:?}");
            }
        }
    }
    assert!(ok > 0 && failed > 0, "both outcomes exercised ({ok} ok, {failed} failed)");
}

#[test]
fn a_bus_error_without_servo_is_only_a_port_or_encoding_error() {
    assert_eq!(BusError::Io(io::ErrorKind::BrokenPipe).id(), None);
    assert!(!BusError::Io(io::ErrorKind::BrokenPipe).is_transient());
    assert!(BusError::Corrupt { id: 1, error: ParseError::NoHeader }.is_transient());
}
