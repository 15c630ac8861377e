//! The host allocator setting of a learning process. libtorch takes every CPU tensor from the C allocator; with
//! glibc's defaults a tensor of more than a few hundred KiB (a `[256, 256]` activation is 256 KiB) is mapped
//! fresh from the kernel and unmapped when it is freed, or the heap top is trimmed back, so each update cycle
//! page-faults its working set in again: a quarter of a state-only learner's CPU time went to the kernel
//! (`clear_page`, page faults). [`keep_freed_memory`] makes glibc serve those blocks from the heap and keep freed
//! memory for reuse; the process keeps its peak footprint instead of returning it to the OS.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// Blocks below this are taken from the heap, not mapped per allocation (glibc's ceiling for the setting).
pub const MMAP_THRESHOLD: i32 = 32 << 20;
/// Free memory at the top of a heap is returned to the OS only above this.
pub const TRIM_THRESHOLD: i32 = 1 << 30;

/// Applies the allocator setting once per process (later calls return the first result): `true` when glibc
/// took it, `false` on other C libraries (nothing changes then).
pub fn keep_freed_memory() -> bool {
    static APPLIED: OnceLock<bool> = OnceLock::new();
    *APPLIED.get_or_init(|| {
        let ok = apply();
        if !ok {
            tracing::debug!("the C allocator did not take the learner's mmap/trim thresholds; left as it is");
        }
        ok
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // SAFETY: `mallopt` only changes glibc's allocation thresholds; it is thread-safe (it takes the arena
    // locks) and any value in range is valid. It returns 1 on success.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}
