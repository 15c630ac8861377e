//! Append-only JSON-lines logs of a run directory: `metrics.jsonl` (every learner metrics sample) and
//! `episodes.jsonl` (every episode report), readable line by line by anything (`pandas.read_json(path,
//! lines=True)`).
//!
//! A learner restart appends, never truncates. Each line is one `write` of a whole line; a line cut short by a
//! crash is closed with a newline on the next open, so it stays one unreadable line that readers skip
//! ([`read`] does) and never merges with the next. Writing is best effort: a failed write (a full disk) is
//! logged once per file and training goes on; the replay store, not these logs, is what must not lose data.

use serde::Serialize;
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One append-only JSON-lines file.
#[derive(Debug)]
pub struct JsonLines {
    path: PathBuf,
    file: Option<File>,
    warned: bool,
}

impl JsonLines {
    /// Opens `path` for appending (created if missing); a last line without its newline is closed first.
    pub fn open(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        let opened = OpenOptions::new().create(true).read(true).append(true).open(&path).and_then(|mut f| {
            let len = f.seek(SeekFrom::End(0))?;
            if len > 0 {
                let mut last = [0u8; 1];
                f.seek(SeekFrom::Start(len - 1))?;
                f.read_exact(&mut last)?;
                if last[0] != b'\n' {
                    f.write_all(b"\n")?;
                }
            }
            Ok(f)
        });
        match opened {
            Ok(f) => Self { path, file: Some(f), warned: false },
            Err(e) => {
                tracing::warn!(file = %path.display(), "cannot open the run log ({e}); its lines are not kept");
                Self { path, file: None, warned: true }
            }
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `value` as one line, with `extra` fields added when it serialises to an object.
    pub fn append<T: Serialize>(&mut self, value: &T, extra: &[(&str, Value)]) {
        let Some(f) = self.file.as_mut() else { return };
        let mut v = match serde_json::to_value(value) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(file = %self.path.display(), "run log line not serialisable: {e}");
                return;
            }
        };
        if let Value::Object(m) = &mut v {
            for (k, x) in extra {
                m.insert((*k).to_string(), x.clone());
            }
        }
        let mut line = v.to_string().into_bytes();
        line.push(b'\n');
        if let Err(e) = f.write_all(&line)
            && !self.warned
        {
            self.warned = true;
            tracing::warn!(
                file = %self.path.display(),
                "cannot write the run log ({e}; {}); lines are lost until writing works again",
                crate::disk::free_text(self.path.parent().unwrap_or(Path::new(".")))
            );
        }
    }
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Every readable line of a JSON-lines file (unreadable ones — a line cut by a crash — skipped), with the number
/// of lines skipped.
pub fn read(path: impl AsRef<Path>) -> std::io::Result<(Vec<Value>, usize)> {
    let text = std::fs::read_to_string(path)?;
    let mut skipped = 0;
    let values = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).map_err(|_| skipped += 1).ok())
        .collect();
    Ok((values, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_across_reopens_and_isolates_a_torn_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("metrics.jsonl");
        let mut log = JsonLines::open(&p);
        log.append(&serde_json::json!({"step": 1}), &[("t", Value::from(0.5))]);
        log.append(&serde_json::json!({"step": 2}), &[]);
        drop(log);
        // A crash in the middle of a line.
        let mut f = OpenOptions::new().append(true).open(&p).expect("open");
        f.write_all(b"{\"step\": 3, \"upd").expect("write");
        drop(f);
        let mut log = JsonLines::open(&p);
        log.append(&serde_json::json!({"step": 4}), &[]);
        let (values, skipped) = read(&p).expect("read");
        let steps: Vec<i64> = values.iter().filter_map(|v| v["step"].as_i64()).collect();
        assert_eq!(steps, [1, 2, 4], "earlier lines kept, the next line not merged with the torn one");
        assert_eq!(skipped, 1);
        assert_eq!(values[0]["t"], 0.5);
    }
}
