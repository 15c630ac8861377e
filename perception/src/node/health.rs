//! What each camera thread reports about itself, readable from any thread without locking the camera.

use interfaces::time::{Clock, MonotonicClock};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

/// Life-cycle state of a camera thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraState {
    /// Opening its source for the first time.
    Opening,
    /// Source open, frames flowing (or about to).
    Streaming,
    /// The source failed; waiting out the backoff or reopening it.
    Reconnecting,
    /// A video file reached its end: the thread has finished.
    Ended,
    /// The source failed for good (unreadable file, wrong size, driver gone): the thread has finished.
    Failed,
    /// Stopped on request.
    Stopped,
}

impl CameraState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => CameraState::Opening,
            1 => CameraState::Streaming,
            2 => CameraState::Reconnecting,
            3 => CameraState::Ended,
            4 => CameraState::Failed,
            _ => CameraState::Stopped,
        }
    }
    /// True when the thread has finished.
    pub fn is_finished(self) -> bool {
        matches!(self, CameraState::Ended | CameraState::Failed | CameraState::Stopped)
    }
}

/// Live counters of one camera, shared between its thread, the stale watchdog and the node's owner.
#[derive(Debug)]
pub struct CameraHealth {
    name: String,
    stale_after: Duration,
    state: AtomicU8,
    frames: AtomicU64,
    full_frames: AtomicU64,
    repeats: AtomicU64,
    errors: AtomicU64,
    reconnects: AtomicU64,
    started_ns: u64,
    last_frame_ns: AtomicU64,
    pipeline_ns_total: AtomicU64,
    pipeline_ns_max: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A snapshot of a camera's health.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraStatus {
    /// Camera name.
    pub name: String,
    /// Thread state.
    pub state: CameraState,
    /// Policy frames published.
    pub frames: u64,
    /// Full frames published (operator panel).
    pub full_frames: u64,
    /// Images the source delivered again with a stamp not later than the previous one (not published).
    pub repeats: u64,
    /// Failed opens, grabs, pipeline runs and publishes.
    pub errors: u64,
    /// Times the source was reopened after a failure.
    pub reconnects: u64,
    /// Time since the last published frame (since the thread started when none was published yet).
    pub since_last_frame: Duration,
    /// No new frame for longer than the camera's `stale_ms` while the thread is running.
    pub stale: bool,
    /// The last error, as text.
    pub last_error: Option<String>,
    /// Mean time from grab to published policy frame (crop, resize, colour, encode, publish).
    pub mean_pipeline: Duration,
    /// Longest time from grab to published policy frame.
    pub max_pipeline: Duration,
}

impl CameraHealth {
    pub(crate) fn new(name: &str, stale_after: Duration) -> Self {
        Self {
            name: name.to_string(),
            stale_after,
            state: AtomicU8::new(0),
            frames: AtomicU64::new(0),
            full_frames: AtomicU64::new(0),
            repeats: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            started_ns: MonotonicClock.now().0,
            last_frame_ns: AtomicU64::new(0),
            pipeline_ns_total: AtomicU64::new(0),
            pipeline_ns_max: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    pub(crate) fn set_state(&self, s: CameraState) {
        self.state.store(s as u8, Ordering::Release);
    }
    pub(crate) fn state(&self) -> CameraState {
        CameraState::from_u8(self.state.load(Ordering::Acquire))
    }
    pub(crate) fn frame_published(&self, pipeline: Duration) {
        let ns = pipeline.as_nanos() as u64;
        self.pipeline_ns_total.fetch_add(ns, Ordering::Relaxed);
        self.pipeline_ns_max.fetch_max(ns, Ordering::Relaxed);
        self.last_frame_ns.store(MonotonicClock.now().0, Ordering::Release);
        self.frames.fetch_add(1, Ordering::Release);
    }
    pub(crate) fn full_frame_published(&self) {
        self.full_frames.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn repeat(&self) {
        self.repeats.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn reconnected(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn error(&self, text: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(text);
        }
    }

    /// Camera name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The camera's `stale_ms`.
    pub fn stale_after(&self) -> Duration {
        self.stale_after
    }

    /// The current status.
    pub fn status(&self) -> CameraStatus {
        let state = self.state();
        let frames = self.frames.load(Ordering::Acquire);
        let last = self.last_frame_ns.load(Ordering::Acquire);
        let since =
            Duration::from_nanos(MonotonicClock.now().0.saturating_sub(if last == 0 { self.started_ns } else { last }));
        let total = self.pipeline_ns_total.load(Ordering::Relaxed);
        CameraStatus {
            name: self.name.clone(),
            state,
            frames,
            full_frames: self.full_frames.load(Ordering::Relaxed),
            repeats: self.repeats.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            since_last_frame: since,
            stale: !state.is_finished() && since > self.stale_after,
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
            mean_pipeline: Duration::from_nanos(total.checked_div(frames).unwrap_or(0)),
            max_pipeline: Duration::from_nanos(self.pipeline_ns_max.load(Ordering::Relaxed)),
        }
    }
}
