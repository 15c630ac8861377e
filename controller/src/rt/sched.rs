//! Real-time scheduling of the calling thread: SCHED_FIFO and locked memory, when the system permits them.

use std::fmt;

/// The scheduling policy a thread obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedPolicy {
    /// `SCHED_FIFO` at this priority.
    Fifo(i32),
    /// `SCHED_RR` at this priority.
    RoundRobin(i32),
    /// The normal time-sharing policy (`SCHED_OTHER`).
    Other,
}

impl fmt::Display for SchedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchedPolicy::Fifo(p) => write!(f, "SCHED_FIFO priority {p}"),
            SchedPolicy::RoundRobin(p) => write!(f, "SCHED_RR priority {p}"),
            SchedPolicy::Other => write!(f, "SCHED_OTHER (normal scheduling)"),
        }
    }
}

/// What [`make_current_thread_realtime`] obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulingReport {
    /// Policy of the thread afterwards.
    pub policy: SchedPolicy,
    /// True when all current and future pages are locked in memory (`mlockall`).
    pub memory_locked: bool,
    /// One line per request that was refused, naming the cause and the remedy.
    pub warnings: Vec<String>,
}

/// Asks for `SCHED_FIFO` at `priority` (1–99) for the calling thread and `mlockall(MCL_CURRENT | MCL_FUTURE)`
/// for the process. Refusals (no `CAP_SYS_NICE` / `RLIMIT_RTPRIO`, no `CAP_IPC_LOCK` / `RLIMIT_MEMLOCK`) are not
/// errors: the thread keeps normal scheduling and the report says why. Allocates; call before the loop starts.
pub fn make_current_thread_realtime(priority: i32) -> SchedulingReport {
    let mut warnings = Vec::new();
    if let Err(e) = set_fifo(priority.clamp(1, 99)) {
        warnings.push(format!(
            "SCHED_FIFO priority {priority} refused ({e}); running with normal scheduling. Grant CAP_SYS_NICE or \
             an rtprio limit (e.g. `@realtime - rtprio 99` in /etc/security/limits.conf) for real-time timing"
        ));
    }
    let memory_locked =
        match rustix::mm::mlockall(rustix::mm::MlockAllFlags::CURRENT | rustix::mm::MlockAllFlags::FUTURE) {
            Ok(()) => true,
            Err(e) => {
                warnings.push(format!(
                    "mlockall refused ({e}); pages may fault in the loop. Grant CAP_IPC_LOCK or raise the memlock \
                     limit"
                ));
                false
            }
        };
    SchedulingReport { policy: current_policy(), memory_locked, warnings }
}

/// The calling thread's scheduling policy.
#[allow(unsafe_code)]
pub fn current_policy() -> SchedPolicy {
    // SAFETY: sched_getscheduler(0) only reads the calling thread's policy; no pointers are passed.
    let policy = unsafe { libc::sched_getscheduler(0) };
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid, writable sched_param that outlives the call.
    let prio = if unsafe { libc::sched_getparam(0, &mut param) } == 0 { param.sched_priority } else { 0 };
    match policy {
        libc::SCHED_FIFO => SchedPolicy::Fifo(prio),
        libc::SCHED_RR => SchedPolicy::RoundRobin(prio),
        _ => SchedPolicy::Other,
    }
}

#[allow(unsafe_code)]
fn set_fifo(priority: i32) -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: priority };
    // SAFETY: `param` is a valid sched_param that outlives the call; pid 0 means the calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}
