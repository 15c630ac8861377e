//! A progress bar on stderr for long exports and imports: redrawn in place on a terminal (at most 5 times a
//! second), a line every 10 % otherwise (logs stay readable).

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Progress of `total` frames.
#[derive(Debug)]
pub struct Progress {
    what: &'static str,
    total: usize,
    done: usize,
    enabled: bool,
    tty: bool,
    started: Instant,
    last_draw: Instant,
    last_decile: usize,
}

impl Progress {
    /// A bar for `total` frames of `what` (`export`, `import`); silent when `enabled` is false.
    pub fn new(what: &'static str, total: usize, enabled: bool) -> Self {
        let now = Instant::now();
        Self {
            what,
            total: total.max(1),
            done: 0,
            enabled,
            tty: std::io::stderr().is_terminal(),
            started: now,
            last_draw: now,
            last_decile: 0,
        }
    }

    /// `done` frames finished.
    pub fn set(&mut self, done: usize) {
        self.done = done;
        if !self.enabled {
            return;
        }
        let decile = done * 10 / self.total;
        if self.tty && self.last_draw.elapsed().as_millis() >= 200 {
            self.draw('\r');
        } else if !self.tty && decile > self.last_decile {
            self.last_decile = decile;
            self.draw('\n');
        }
    }

    fn draw(&mut self, end: char) {
        self.last_draw = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let width = 30;
        let filled = (self.done * width / self.total).min(width);
        let mut err = std::io::stderr().lock();
        let line = format!(
            "{} [{}{}] {}/{} frames, {:.0} frames/s",
            self.what,
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.done,
            self.total,
            self.done as f64 / secs
        );
        if end == '\r' {
            let _ = write!(err, "\r{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    /// Draws the final state (and ends the line on a terminal).
    pub fn finish(&mut self) {
        if self.enabled && self.tty {
            self.draw('\r');
            let _ = writeln!(std::io::stderr());
        } else if self.enabled {
            self.draw('\n');
        }
    }
}
