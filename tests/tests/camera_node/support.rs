//! Shared helpers.

use bus::{Bus, Subscriber};
use interfaces::config::{BusConfig, CameraConfig, CameraSource, Crop};
use interfaces::keys::EVENT;
use interfaces::msg::Event;
use perception::CameraNode;
use std::time::{Duration, Instant};

/// An in-process bus of its own for one test.
pub fn bus(cell: &str) -> Bus {
    let cfg = BusConfig { listen: vec!["tcp/127.0.0.1:0".into()], connect: vec![], ..BusConfig::default() };
    Bus::open(&cfg, cell).expect("open a loopback bus")
}

/// A camera config reading `source` at `w`×`h`, reduced to `out_w`×`out_h`.
pub fn camera(name: &str, source: CameraSource, w: u32, h: u32, fps: f64) -> CameraConfig {
    CameraConfig {
        name: name.into(),
        source,
        capture_width: w,
        capture_height: h,
        fps,
        crop: None::<Crop>,
        width: 128,
        height: 128,
        pixel_format: None,
        full_frame_hz: 0.0,
        jpeg_quality: None,
        stale_ms: 1000.0,
    }
}

/// Events of the camera node.
pub fn events(bus: &Bus) -> Subscriber<Event> {
    bus.subscribe::<Event>(EVENT, Some(perception::NODE)).expect("event subscriber")
}

/// Waits up to `timeout` for `cond` on the node's status, polling every 5 ms.
pub fn wait_for(node: &CameraNode, timeout: Duration, cond: impl Fn(&CameraNode) -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond(node) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond(node)
}

/// Texts of the events received so far.
pub fn event_texts(sub: &Subscriber<Event>) -> Vec<String> {
    std::iter::from_fn(|| sub.try_recv()).map(|r| r.msg.text).collect()
}
