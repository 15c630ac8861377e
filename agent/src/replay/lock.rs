//! One writer per run directory: an exclusive OS file lock (`flock`) on `<store>/LOCK`.
//!
//! The OS releases the lock when its file is closed, so a process that dies in any way (`kill -9`, a power cut
//! followed by a reboot) never leaves a stale lock behind: the file stays, the lock does not. The file's text
//! (`pid <n> (<command line>)`) only tells a refused writer who holds the directory.

use crate::error::{AgentError, Result, io_err};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The held lock; dropping it releases the directory.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

/// The run directory a store directory belongs to (`<run>/replay` → `<run>`), for messages.
fn run_dir_of(store: &Path) -> PathBuf {
    match (store.file_name(), store.parent()) {
        (Some(n), Some(p)) if n == "replay" && !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => store.to_path_buf(),
    }
}

/// How long a held lock is tried again before the writer is refused (see [`WriterLock::acquire`]).
const HELD_LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

impl WriterLock {
    /// Takes the lock of the store directory `dir` (created when missing), or says who holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        let path = dir.join("LOCK");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err("open", &path))?;
        // A child this process is starting holds a copy of every open descriptor from its fork until its exec
        // closes them (the descriptors are close-on-exec), and a copy keeps the lock: a store closed and reopened
        // while another thread starts a process can find its own lock held for that instant. So a held lock is
        // tried again for a short while before it is reported.
        let deadline = std::time::Instant::now() + HELD_LOCK_PATIENCE;
        let mut attempt = file.try_lock();
        while matches!(attempt, Err(TryLockError::WouldBlock)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
            attempt = file.try_lock();
        }
        match attempt {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = text.trim();
                return Err(AgentError::Locked {
                    dir: run_dir_of(dir),
                    holder: if holder.is_empty() { "another process".into() } else { holder.to_string() },
                });
            }
            Err(TryLockError::Error(e)) => return Err(AgentError::Io { op: "lock", file: path, source: e }),
        }
        let me = format!("pid {} ({})", std::process::id(), std::env::args().take(3).collect::<Vec<_>>().join(" "));
        let write =
            file.set_len(0).and_then(|_| file.seek(SeekFrom::Start(0))).and_then(|_| file.write_all(me.as_bytes()));
        write.map_err(io_err("write", &path))?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_released_within_the_patience_is_taken() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = tmp.path().join("replay");
        let first = WriterLock::acquire(&store).expect("first writer");
        // As a starting child's copy of the descriptor holds the lock until its exec: released a moment later.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let releaser = std::thread::spawn(move || {
            let _ = rx.recv();
            std::thread::sleep(HELD_LOCK_PATIENCE / 10);
            drop(first);
        });
        tx.send(()).expect("send");
        let second = WriterLock::acquire(&store);
        releaser.join().expect("join");
        assert!(second.is_ok(), "a lock released within {HELD_LOCK_PATIENCE:?} was reported held: {second:?}");
    }

    #[test]
    fn a_second_writer_is_refused_naming_the_directory_and_holder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = tmp.path().join("run").join("replay");
        let first = WriterLock::acquire(&store).expect("first writer");
        let err = WriterLock::acquire(&store).expect_err("second writer refused");
        let msg = err.to_string();
        assert!(msg.contains(&tmp.path().join("run").display().to_string()), "{msg}");
        assert!(msg.contains(&format!("pid {}", std::process::id())), "{msg}");
        drop(first);
        WriterLock::acquire(&store).expect("free again once the first is gone");
    }
}
