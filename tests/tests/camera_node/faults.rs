//! Sources that end, stall or repeat themselves: reported, reopened, never published as new.

use super::support::*;
use interfaces::config::CameraSource;
use interfaces::keys::FRAME;
use interfaces::msg::Frame;
use interfaces::time::{Clock, MonotonicClock, Stamp};
use opencv::core::{CV_8UC3, Mat, Scalar};
use perception::{CameraNode, CameraState, Captured, ChannelOrder, FrameSource, SourceError, SourceOpener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Behaviour {
    /// Closes (a grab error, as a network stream that ends) after this many frames.
    Ends(u32),
    /// Blocks in one grab for the duration after this many frames, then goes on.
    Stalls(u32, Duration),
    /// Delivers the same image (same stamp) again and again after this many frames.
    Repeats(u32),
}

struct Scripted {
    image: Mat,
    behaviour: Behaviour,
    grabs: u32,
    last: Stamp,
}

impl FrameSource for Scripted {
    fn describe(&self) -> &str {
        "scripted://test"
    }
    fn needs_pacing(&self) -> bool {
        true
    }
    fn grab(&mut self) -> Result<Captured<'_>, SourceError> {
        self.grabs += 1;
        match self.behaviour {
            Behaviour::Ends(n) if self.grabs > n => {
                return Err(SourceError::Grab {
                    camera: "cam".into(),
                    device: "scripted://test".into(),
                    reason: "no frame: the stream closed or timed out".into(),
                });
            }
            Behaviour::Stalls(n, d) if self.grabs == n + 1 => std::thread::sleep(d),
            Behaviour::Repeats(n) if self.grabs > n => {
                return Ok(Captured { stamp: self.last, image: &self.image, order: ChannelOrder::Rgb });
            }
            _ => {}
        }
        self.last = MonotonicClock.now();
        Ok(Captured { stamp: self.last, image: &self.image, order: ChannelOrder::Rgb })
    }
}

fn scripted(behaviour: Behaviour, opens: Arc<AtomicU32>) -> SourceOpener {
    Box::new(move || {
        opens.fetch_add(1, Ordering::SeqCst);
        let image = Mat::new_rows_cols_with_default(48, 64, CV_8UC3, Scalar::all(77.0)).expect("test image");
        Ok(Box::new(Scripted { image, behaviour, grabs: 0, last: Stamp(0) }) as Box<dyn FrameSource>)
    })
}

fn cam(stale_ms: f64) -> interfaces::config::CameraConfig {
    let mut c = camera("cam", CameraSource::Uri { uri: "scripted://test".into() }, 64, 48, 50.0);
    c.width = 32;
    c.height = 24;
    c.stale_ms = stale_ms;
    c
}

#[test]
fn a_stream_that_ends_is_reopened_and_stamps_keep_increasing() {
    let bus = bus("fault_end");
    let frames = bus.subscribe::<Frame>(FRAME, Some("cam")).unwrap();
    let events = events(&bus);
    let opens = Arc::new(AtomicU32::new(0));
    let node = CameraNode::builder(&bus, Arc::new(AtomicBool::new(false)))
        .camera(cam(1000.0), scripted(Behaviour::Ends(4), opens.clone()))
        .spawn()
        .unwrap();
    let mut got: Vec<Frame> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !(node.status()[0].reconnects >= 2 && got.len() >= 12) {
        got.extend(frames.recv_timeout(Duration::from_millis(10)).map(|r| r.msg));
    }
    node.shutdown();
    got.extend(std::iter::from_fn(|| frames.try_recv()).map(|r| r.msg));
    let s_opens = opens.load(Ordering::SeqCst);
    assert!(s_opens >= 3, "opened {s_opens} times");
    assert!(got.len() >= 12);
    for w in got.windows(2) {
        assert!(w[1].header.stamp_ns > w[0].header.stamp_ns, "stamps strictly increase across reconnects");
        assert_eq!(w[1].header.seq, w[0].header.seq + 1, "no frame lost or repeated");
    }
    let texts = event_texts(&events);
    let waits = texts.iter().filter(|t| t.contains("stream closed") && t.contains("reopening in 100 ms")).count();
    assert!(waits >= 2, "backoff restarts at 100 ms after frames flowed again: {texts:?}");
    assert!(texts.iter().any(|t| t == "camera `cam`: reopened scripted://test"), "{texts:?}");
}

#[test]
fn a_camera_that_stalls_is_flagged_stale_and_fresh_again_when_it_recovers() {
    let bus = bus("fault_stall");
    let events = events(&bus);
    let opens = Arc::new(AtomicU32::new(0));
    let node = CameraNode::builder(&bus, Arc::new(AtomicBool::new(false)))
        .camera(cam(150.0), scripted(Behaviour::Stalls(3, Duration::from_millis(700)), opens.clone()))
        .spawn()
        .unwrap();
    assert!(wait_for(&node, Duration::from_secs(5), |n| n.status()[0].stale), "{:?}", node.status());
    let s = &node.status()[0];
    assert_eq!((s.frames, s.state), (3, CameraState::Streaming), "nothing published while stalled: {s:?}");
    assert!(wait_for(&node, Duration::from_secs(5), |n| n.status()[0].frames > 3 && !n.status()[0].stale));
    std::thread::sleep(Duration::from_millis(150));
    let texts = event_texts(&events);
    assert!(texts.iter().any(|t| t.starts_with("camera `cam`: stale, no new frame for")), "{texts:?}");
    assert!(texts.iter().any(|t| t == "camera `cam`: fresh frames again"), "{texts:?}");
    assert_eq!(opens.load(Ordering::SeqCst), 1);
}

#[test]
fn repeated_images_are_never_published_as_new_frames() {
    let bus = bus("fault_repeat");
    let frames = bus.subscribe::<Frame>(FRAME, Some("cam")).unwrap();
    let opens = Arc::new(AtomicU32::new(0));
    let node = CameraNode::builder(&bus, Arc::new(AtomicBool::new(false)))
        .camera(cam(100.0), scripted(Behaviour::Repeats(2), opens))
        .spawn()
        .unwrap();
    assert!(wait_for(&node, Duration::from_secs(5), |n| n.status()[0].repeats >= 10 && n.status()[0].stale));
    let s = node.status().remove(0);
    assert_eq!(s.frames, 2, "{s:?}");
    node.shutdown();
    assert_eq!(std::iter::from_fn(|| frames.try_recv()).count(), 2);
}
