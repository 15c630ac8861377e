//! Free space of a filesystem, for error messages about a full disk (`statvfs`, the one unsafe call here).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_of_an_existing_and_a_missing_path() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).is_some_and(|b| b > 0));
        assert!(free_bytes(&dir.path().join("not/yet")).is_some(), "a missing path is measured on its ancestor");
        assert!(free_text(dir.path()).ends_with("MiB free"));
    }
}
