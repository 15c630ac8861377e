//! A progress bar on stderr for long commands (export, import, record, eval): redrawn in place on a terminal (at
//! most 5 times a second), a line every 10 % otherwise (logs stay readable); each with its rate and ETA.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Progress of `total` units (frames, demonstrations, episodes).
#[derive(Debug)]
pub struct Progress {
    what: &'static str,
    unit: &'static str,
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
        Self::of(what, total, "frames", enabled)
    }

    /// A bar for `total` `unit`s (e.g. `"demos"`) of `what`; silent when `enabled` is false.
    pub fn of(what: &'static str, total: usize, unit: &'static str, enabled: bool) -> Self {
        let now = Instant::now();
        Self {
            what,
            unit,
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
        let rate = self.done as f64 / secs;
        let eta = if self.done >= self.total {
            String::new()
        } else if rate > 0.0 {
            format!(", ETA {:.0} s", (self.total - self.done) as f64 / rate)
        } else {
            ", ETA –".to_string()
        };
        let line = format!(
            "{} [{}{}] {}/{} {unit}, {} {unit}/s{eta}\x1b[K",
            self.what,
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.done,
            self.total,
            if rate >= 10.0 { format!("{rate:.0}") } else { format!("{rate:.2}") },
            unit = self.unit
        );
        let line = if end == '\r' { line } else { line.trim_end_matches("\x1b[K").to_string() };
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
        } else if self.enabled && self.done * 10 / self.total > self.last_decile {
            self.draw('\n');
        }
    }
}
