//! Files on disk: free space of a filesystem, for error messages about a full disk (`statvfs`, the one unsafe
//! call here), and [`write_atomic`], how every file that is replaced whole (policy, checkpoint) is written.
#![allow(unsafe_code)]

use std::path::Path;

/// Bytes available to this process on the filesystem holding `path` (the nearest existing ancestor of it), or
/// `None` when the OS does not say.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let mut p = path;
    while !p.exists() {
        p = p.parent()?;
    }
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// `free_bytes` as text for messages: `"123.4 MiB free"` or `"free space unknown"`.
pub fn free_text(path: &Path) -> String {
    match free_bytes(path) {
        Some(b) => format!("{:.1} MiB free", b as f64 / (1u64 << 20) as f64),
        None => "free space unknown".into(),
    }
}

/// Replaces `path` with `bytes` atomically and durably: the bytes go to a temporary file beside it
/// (`<name>.tmp`, created anew), which is synced, renamed over `path`, and then the directory is synced so the
/// rename itself survives a power cut. A crash at any point leaves either the old file or the new one whole, never
/// a torn or empty one. Errors (the failing operation and file, through `AgentError::Io`) leave `path` as it was
/// and remove the temporary file (best effort).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    use crate::error::io_err;
    use std::io::Write;
    let name = path.file_name().ok_or_else(|| crate::AgentError::Io {
        op: "write",
        file: path.to_path_buf(),
        source: std::io::Error::other("not a file name"),
    })?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let write = || -> crate::Result<()> {
        // A leftover of an earlier crash is replaced; a symlink there is replaced, never followed.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_err("remove", &tmp)(e)),
            _ => {}
        }
        let mut f =
            std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(io_err("create", &tmp))?;
        f.write_all(bytes).map_err(io_err("write", &tmp))?;
        f.sync_all().map_err(io_err("flush", &tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io_err("rename", path))
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("flush the directory", dir))
}

/// Opens `path` for reading only if it is a regular file, without ever blocking: the open does not follow a
/// symbolic link in the last component and does not wait for a writer (`O_NOFOLLOW | O_NONBLOCK`), and anything
/// that is not a regular file (a FIFO, a device, a socket, a directory) is refused after the open with
/// `InvalidInput`, before a byte is read. For files named by untrusted input (a dataset's metadata).
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FIFO (whose plain open blocks until a writer comes) and a symbolic link are refused at once; a regular
    /// file opens.
    #[test]
    fn open_regular_refuses_a_fifo_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = open_regular(&fifo).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(open_regular(&file).is_ok());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(open_regular(&link).is_err(), "a symbolic link is not followed");
    }

    /// A file replaced whole is written through a synced temporary file renamed over it: the old content is
    /// replaced, no temporary file stays behind, and a stale temporary file (or a symlink in its place) from an
    /// earlier crash neither blocks the write nor redirects it.
    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.safetensors");
        write_atomic(&path, b"old").unwrap();
        std::fs::write(dir.path().join("policy.safetensors.tmp"), b"stale").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let outside = dir.path().join("outside");
        std::os::unix::fs::symlink(&outside, dir.path().join("policy.safetensors.tmp")).unwrap();
        write_atomic(&path, b"newer").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"newer");
        assert!(!outside.exists(), "the write did not follow a symlink at the temporary name");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["policy.safetensors"]);
        // A failed write leaves the file as it was.
        let e = write_atomic(&dir.path().join("missing/policy.safetensors"), b"x").unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn free_space_of_an_existing_and_a_missing_path() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).is_some_and(|b| b > 0));
        assert!(free_bytes(&dir.path().join("not/yet")).is_some(), "a missing path is measured on its ancestor");
        assert!(free_text(dir.path()).ends_with("MiB free"));
    }
}
