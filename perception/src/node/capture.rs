//! One camera's thread: open → grab → pipeline → publish, reopening with backoff after failures.

use super::StopFlags;
use super::events::CameraEvents;
use super::health::{CameraHealth, CameraState};
use crate::error::SourceError;
use crate::pipeline::Pipeline;
use crate::source::{FrameSource, SourceOpener};
use bus::Publisher;
use interfaces::config::CameraConfig;
use interfaces::msg::{Frame, Level};
use interfaces::time::Stamp;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wait before the first reopen after a failure; doubled after each failed attempt up to [`MAX_BACKOFF`] and
/// reset by the next published frame.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between two reopen attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(crate) struct CaptureLoop {
    pub cfg: CameraConfig,
    pub opener: SourceOpener,
    pub pipeline: Pipeline,
    pub frames: Publisher<Frame>,
    pub full: Option<Publisher<Frame>>,
    pub events: Arc<CameraEvents>,
    pub health: Arc<CameraHealth>,
    pub stop: StopFlags,
}

/// Sleeps until `deadline` in short slices; false when a stop was requested meanwhile.
pub(crate) fn sleep_until(deadline: Instant, stop: &StopFlags) -> bool {
    loop {
        if stop.is_set() {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
    }
}

impl CaptureLoop {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    /// Runs until a stop is requested or the source fails for good. Never publishes an image twice: an image
    /// whose capture stamp is not later than the last published one is counted as a repeat and dropped.
    pub(crate) fn run(mut self) {
        let mut backoff = INITIAL_BACKOFF;
        let mut last_stamp = Stamp(0);
        let mut opened_before = false;
        self.health.set_state(CameraState::Opening);
        while !self.stop.is_set() {
            let mut source = match (self.opener)() {
                Ok(s) => s,
                Err(e) => {
                    if !self.failed(&e, &mut backoff) {
                        return;
                    }
                    continue;
                }
            };
            if opened_before {
                self.health.reconnected();
                self.events.report(Level::Info, format!("camera `{}`: reopened {}", self.name(), source.describe()));
            } else {
                tracing::info!(camera = %self.name(), source = %source.describe(), "camera streaming");
            }
            opened_before = true;
            self.health.set_state(CameraState::Streaming);
            match self.stream(source.as_mut(), &mut last_stamp, &mut backoff) {
                Ok(()) => break,
                Err(e) => {
                    drop(source);
                    if !self.failed(&e, &mut backoff) {
                        return;
                    }
                }
            }
        }
        self.health.set_state(CameraState::Stopped);
    }

    /// Reports a failure; for a final one sets the end state and returns false, otherwise waits out the
    /// backoff (doubling it) and returns whether to try again.
    fn failed(&mut self, e: &SourceError, backoff: &mut Duration) -> bool {
        self.health.error(e.to_string());
        if e.is_final() {
            let (state, level) = match e {
                SourceError::Ended { .. } => (CameraState::Ended, Level::Warn),
                _ => (CameraState::Failed, Level::Error),
            };
            self.events.report(level, format!("{e}; camera stopped"));
            self.health.set_state(state);
            return false;
        }
        self.health.set_state(CameraState::Reconnecting);
        self.events.report(Level::Warn, format!("{e}; reopening in {} ms", backoff.as_millis()));
        let go_on = sleep_until(Instant::now() + *backoff, &self.stop);
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
        if !go_on {
            self.health.set_state(CameraState::Stopped);
        }
        go_on
    }

    /// Grabs and publishes until a stop (`Ok`) or a source error.
    fn stream(
        &mut self,
        source: &mut dyn FrameSource,
        last_stamp: &mut Stamp,
        backoff: &mut Duration,
    ) -> Result<(), SourceError> {
        let period = Duration::from_secs_f64(1.0 / self.cfg.fps);
        let full_period = (self.cfg.full_frame_hz > 0.0)
            .then(|| Duration::from_secs_f64(1.0 / self.cfg.full_frame_hz.min(self.cfg.fps)));
        let mut next_due = Instant::now();
        let mut next_full = Instant::now();
        loop {
            if self.stop.is_set() {
                return Ok(());
            }
            if source.needs_pacing() {
                if !sleep_until(next_due, &self.stop) {
                    return Ok(());
                }
                next_due += period;
                let now = Instant::now();
                if next_due + period < now {
                    next_due = now; // fell behind: resume the rate, no burst to catch up
                }
            }
            let cap = source.grab()?;
            let grabbed = Instant::now();
            if cap.stamp <= *last_stamp {
                self.health.repeat();
                continue;
            }
            *last_stamp = cap.stamp;
            *backoff = INITIAL_BACKOFF;
            let published = self
                .pipeline
                .policy_frame(&cap)
                .map_err(|e| e.to_string())
                .and_then(|mut f| self.frames.publish(&mut f).map_err(|e| e.to_string()));
            match published {
                Ok(_) => self.health.frame_published(grabbed.elapsed()),
                Err(e) => self.soft_error(e),
            }
            // A quarter capture period of slack, so that jitter does not skip a due full frame.
            if let (Some(p), Some(publisher)) = (full_period, self.full.as_mut())
                && grabbed + period / 4 >= next_full
            {
                next_full = (next_full + p).max(grabbed);
                let r = self
                    .pipeline
                    .full_frame(&cap)
                    .map_err(|e| e.to_string())
                    .and_then(|mut f| publisher.publish(&mut f).map_err(|e| e.to_string()));
                match r {
                    Ok(_) => self.health.full_frame_published(),
                    Err(e) => self.soft_error(e),
                }
            }
        }
    }

    /// A pipeline or publish failure: counted and logged (first and every 100th), the camera goes on.
    fn soft_error(&self, text: String) {
        let n = self.health.status().errors + 1;
        if n == 1 || n.is_multiple_of(100) {
            tracing::warn!(camera = %self.cfg.name, count = n, "frame not published: {text}");
        }
        self.health.error(text);
    }
}
