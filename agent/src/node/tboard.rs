//! TensorBoard event files: the learner's metrics as scalars under `<run-dir>/tb/`, readable by `tensorboard
//! --logdir <run-dir>/tb` and by any reader of its format (tbparse, TensorBoard's `EventAccumulator`).
//!
//! The format is TensorFlow's: a file of TFRecords (`u64` length, masked CRC-32C of the length, the bytes, masked
//! CRC-32C of the bytes), each an `Event` protocol buffer (encoded by prost; the three message types used are
//! declared below with their field numbers from TensorFlow's `event.proto` and `summary.proto`). Each learner start
//! writes a new file (`events.out.tfevents.<unix time>.<host>.<pid>.<ns>.corrigo`, never an existing one): a restart
//! appends a file, never truncates one; TensorBoard reads every file of the folder. Writing is best effort like
//! [`super::runlog`]: a failed write is logged once and training goes on.

use prost::Message;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `Event` of TensorFlow's `event.proto` (the fields used).
#[derive(Clone, PartialEq, prost::Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(string, optional, tag = "3")]
    file_version: Option<String>,
    #[prost(message, optional, tag = "5")]
    summary: Option<Summary>,
}

/// `Summary` of TensorFlow's `summary.proto`.
#[derive(Clone, PartialEq, prost::Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

/// `Summary.Value` (a scalar).
#[derive(Clone, PartialEq, prost::Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
}

/// TFRecord's masked CRC-32C.
fn masked_crc(bytes: &[u8]) -> u32 {
    let c = crc32c::crc32c(bytes);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord around `data`.
fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

/// An event file being written.
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    file: Option<File>,
    warned: bool,
}

impl EventWriter {
    /// Creates a new event file in `dir` (created if missing) and writes its version event.
    pub fn create(dir: &Path) -> Self {
        let now = super::runlog::unix_now();
        let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let host = if host.is_empty() { "host".to_string() } else { host };
        // Never an existing file: two starts within a second (or in one process) each get their own, and names
        // sort in the order the files were made (TensorBoard reads them in name order).
        let name = |k: u32| {
            let ns = (now.fract() * 1e9) as u64;
            format!("events.out.tfevents.{}.{host}.{}.{ns:09}{k:03}.corrigo", now as u64, std::process::id())
        };
        let mut path = dir.join(name(0));
        let mut file = std::fs::create_dir_all(dir).and_then(|()| File::create_new(&path));
        for k in 1..1000 {
            match &file {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    path = dir.join(name(k));
                    file = File::create_new(&path);
                }
                _ => break,
            }
        }
        let mut w = match file {
            Ok(f) => Self { path, file: Some(f), warned: false },
            Err(e) => {
                tracing::warn!(file = %path.display(), "cannot create the TensorBoard event file ({e}); no events are written");
                return Self { path, file: None, warned: true };
            }
        };
        w.write(&Event { wall_time: now, step: 0, file_version: Some("brain.Event:2".into()), summary: None });
        w
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, e: &Event) {
        let Some(f) = self.file.as_mut() else { return };
        let bytes = record(&e.encode_to_vec());
        if let Err(err) = f.write_all(&bytes).and_then(|()| f.flush())
            && !self.warned
        {
            self.warned = true;
            tracing::warn!(file = %self.path.display(), "cannot write the TensorBoard event file ({err}); events are lost until it works again");
        }
    }

    /// Writes the scalars `(tag, value)` at `step` (non-finite values left out).
    pub fn scalars(&mut self, step: i64, values: &[(String, f64)]) {
        let value = values
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(tag, v)| SummaryValue { tag: tag.clone(), simple_value: Some(*v as f32) })
            .collect();
        let e =
            Event { wall_time: super::runlog::unix_now(), step, file_version: None, summary: Some(Summary { value }) };
        self.write(&e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32C's check value ("123456789" → 0xe3069283) masked as TensorFlow's `crc32c::Mask` does
    /// (`((c >> 15) | (c << 17)) + 0xa282ead8` = 0xc78ab0e5, worked out by hand).
    #[test]
    fn the_record_checksum_is_tensorflows() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc(b"123456789"), 0xc78a_b0e5);
        let r = record(b"abc");
        assert_eq!(r.len(), 8 + 4 + 3 + 4);
        assert_eq!(&r[..8], &3u64.to_le_bytes());
        assert_eq!(&r[12..15], b"abc");
    }

    /// Regression (two learner starts in one second in one process wrote the same file name, the second truncating
    /// the first): every start gets a new file.
    #[test]
    fn each_start_gets_its_own_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths: Vec<PathBuf> = (0..5).map(|_| EventWriter::create(dir.path()).path().to_path_buf()).collect();
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 5, "{paths:?}");
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(sorted, paths, "names sort in the order the files were made");
    }

    #[test]
    fn scalars_round_trip_through_the_event_encoding() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = EventWriter::create(dir.path());
        w.scalars(42, &[("success_rate".into(), 0.5), ("nan".into(), f64::NAN)]);
        let bytes = std::fs::read(w.path()).expect("read");
        // Two records: the version event, then the scalar.
        let len0 = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let second = &bytes[16 + len0..];
        let len1 = u64::from_le_bytes(second[..8].try_into().unwrap()) as usize;
        let e = Event::decode(&second[12..12 + len1]).expect("an Event");
        assert_eq!(e.step, 42);
        let v = &e.summary.expect("a summary").value;
        assert_eq!(v.len(), 1, "the NaN is left out");
        assert_eq!((v[0].tag.as_str(), v[0].simple_value), ("success_rate", Some(0.5)));
    }
}
