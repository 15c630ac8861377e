//! The stale watchdog: notices cameras that deliver no new frame (even while their thread is blocked in a grab)
//! and reports each change between fresh and stale once.

use super::StopFlags;
use super::events::CameraEvents;
use super::health::CameraHealth;
use interfaces::msg::Level;
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn run(cameras: Vec<Arc<CameraHealth>>, events: Arc<CameraEvents>, stop: StopFlags) {
    let tick = cameras
        .iter()
        .map(|c| c.stale_after() / 4)
        .min()
        .unwrap_or(Duration::from_millis(100))
        .clamp(Duration::from_millis(5), Duration::from_millis(100));
    let mut stale = vec![false; cameras.len()];
    while !stop.is_set() {
        for (c, was) in cameras.iter().zip(stale.iter_mut()) {
            let s = c.status();
            if s.stale && !*was {
                let last = s.last_error.map(|e| format!(" (last error: {e})")).unwrap_or_default();
                events.report(
                    Level::Warn,
                    format!(
                        "camera `{}`: stale, no new frame for {} ms (limit {} ms){last}",
                        s.name,
                        s.since_last_frame.as_millis(),
                        c.stale_after().as_millis()
                    ),
                );
            } else if !s.stale && *was && !s.state.is_finished() {
                events.report(Level::Info, format!("camera `{}`: fresh frames again", s.name));
            }
            *was = s.stale;
        }
        std::thread::sleep(tick);
    }
}
