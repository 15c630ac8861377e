//! Videos written with OpenCV's VideoWriter, read back through the real `VideoCapture` path.

use super::support::*;
use interfaces::config::{CameraSource, Crop};
use interfaces::keys::FRAME;
use interfaces::msg::{Frame, PixelEncoding};
use perception::{CameraNode, CameraState, FULL_FRAME, SourceError, VideoSource, opener_for, pattern::write_video};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const W: u32 = 320;
const H: u32 = 240;
const FRAMES: u64 = 24;
const FPS: f64 = 30.0;

/// 16×16 blocks of one colour each: red grows with the block column, green with the block row, blue with the
/// frame index (so the frame can be identified after decoding). Blocks are aligned with the codec's 8×8/16×16
/// units, so MJPG at quality 100 keeps them flat.
fn colour(x: u32, y: u32, i: u64) -> [u8; 3] {
    [(40 + (x / 16) * 10) as u8, (40 + (y / 16) * 12) as u8, (20 + i * 8) as u8]
}

fn write_pattern(path: &Path) {
    write_video(path, W, H, FPS, FRAMES, |i, bgr| {
        for y in 0..H {
            for x in 0..W {
                let p = ((y * W + x) * 3) as usize;
                let [r, g, b] = colour(x, y, i);
                bgr[p..p + 3].copy_from_slice(&[b, g, r]);
            }
        }
    })
    .expect("write the test video");
}

fn frame_index(f: &Frame) -> u64 {
    let b = f64::from(f.data[2]);
    ((b - 20.0) / 8.0).round() as u64
}

/// Crop 256×192 at (32, 16) reduced by exactly 2 in both directions: every policy pixel is the mean of a 2×2
/// block of the full image.
const CROP: Crop = Crop { x: 32, y: 16, width: 256, height: 192 };

#[test]
fn a_written_video_is_read_back_in_order_with_exact_crop_and_area_resize() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pattern.avi");
    write_pattern(&path);
    let uri = CameraSource::Uri { uri: path.to_string_lossy().into_owned() };
    let mut raw = camera("raw", uri.clone(), W, H, FPS);
    raw.crop = Some(CROP);
    raw.height = 96;
    raw.full_frame_hz = FPS; // every capture also in full, to check the reduction exactly
    let mut jpeg = raw.clone();
    jpeg.name = "jpeg".into();
    jpeg.full_frame_hz = 0.0;
    jpeg.jpeg_quality = Some(95);

    let bus = bus("video_read");
    let frames = bus.subscribe::<Frame>(FRAME, Some("*")).unwrap();
    let full = bus.subscribe::<Frame>(FULL_FRAME, Some("raw")).unwrap();
    let events = events(&bus);
    let node = CameraNode::builder(&bus, Arc::new(AtomicBool::new(false)))
        .camera(raw.clone(), opener_for(&raw, None).unwrap())
        .camera(jpeg.clone(), opener_for(&jpeg, None).unwrap())
        .spawn()
        .unwrap();

    let mut policy: HashMap<String, Vec<Frame>> = HashMap::new();
    let mut fulls: Vec<Frame> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut finished_at = None;
    // Drain until the file has ended and everything published has arrived.
    while Instant::now() < deadline && finished_at.is_none_or(|t: Instant| t.elapsed() < Duration::from_millis(100)) {
        while let Some(r) = frames.try_recv() {
            policy.entry(r.msg.camera.clone()).or_default().push(r.msg);
        }
        while let Some(r) = full.try_recv() {
            fulls.push(r.msg);
        }
        if finished_at.is_none() && node.all_finished() {
            finished_at = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = node.status();
    for s in &status {
        assert_eq!(s.state, CameraState::Ended, "{s:?}");
        let err = s.last_error.as_deref().unwrap_or_default();
        assert!(err.contains("pattern.avi") && err.contains(&format!("ended after {FRAMES} frames")), "{err}");
        assert_eq!((s.frames, s.repeats), (FRAMES, 0), "{s:?}");
    }
    assert!(event_texts(&events).iter().any(|t| t.contains("camera `raw`") && t.contains("ended")));

    // Count, order, sequence numbers and capture stamps.
    let raw_frames = &policy["raw"];
    assert_eq!(raw_frames.len() as u64, FRAMES, "every frame of the file, once");
    for (i, f) in raw_frames.iter().enumerate() {
        assert_eq!((f.width, f.height, f.encoding), (128, 96, PixelEncoding::Rgb8));
        assert!(f.is_consistent());
        assert_eq!(frame_index(f), i as u64, "frame {i} out of order");
        assert_eq!(f.header.seq, i as u64 + 1);
        if i > 0 {
            let dt = f.header.stamp_ns.secs_since(raw_frames[i - 1].header.stamp_ns);
            assert!(dt > 0.0, "capture stamps strictly increase");
            assert!(dt > 0.5 / FPS, "a file is played at the configured rate ({dt} s between frames)");
        }
    }
    assert_eq!(fulls.len() as u64, FRAMES);

    // Exact reduction: each policy pixel is the rounded mean of its 2×2 block of the same capture's full image.
    for f in raw_frames {
        let whole = fulls.iter().find(|g| g.header.stamp_ns == f.header.stamp_ns).expect("full frame of the capture");
        assert_eq!((whole.width, whole.height), (W, H));
        for oy in 0..96u32 {
            for ox in 0..128u32 {
                for c in 0..3 {
                    let px = |x: u32, y: u32| u32::from(whole.data[((y * W + x) * 3 + c) as usize]);
                    let (x, y) = (CROP.x + 2 * ox, CROP.y + 2 * oy);
                    let sum = px(x, y) + px(x + 1, y) + px(x, y + 1) + px(x + 1, y + 1);
                    let got = u32::from(f.data[((oy * 128 + ox) * 3 + c) as usize]);
                    assert_eq!(got, (sum + 2) / 4, "pixel ({ox}, {oy}) channel {c} of frame {}", frame_index(f));
                }
            }
        }
        // And the content is the pattern, in RGB order, cropped at the right place.
        let i = frame_index(f);
        for (ox, oy) in [(0u32, 0u32), (127, 95), (64, 40), (7, 88)] {
            let want = colour(CROP.x + 2 * ox, CROP.y + 2 * oy, i);
            let p = ((oy * 128 + ox) * 3) as usize;
            for c in 0..3 {
                let d = (i32::from(f.data[p + c]) - i32::from(want[c])).abs();
                assert!(d <= 4, "pixel ({ox}, {oy}) of frame {i}: {:?} vs {want:?}", &f.data[p..p + 3]);
            }
        }
    }

    // The JPEG camera publishes the same images, compressed, decodable to RGB8.
    let jpeg_frames = &policy["jpeg"];
    assert_eq!(jpeg_frames.len() as u64, FRAMES);
    for (f, g) in jpeg_frames.iter().zip(raw_frames) {
        assert_eq!(f.encoding, PixelEncoding::Jpeg);
        assert!(f.data.len() < g.data.len());
        let d = perception::to_rgb8(f.clone()).expect("decodable JPEG");
        assert_eq!((d.width, d.height, d.data.len()), (128, 96, 128 * 96 * 3));
        let mean_err: f64 =
            d.data.iter().zip(&g.data).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>() / d.data.len() as f64;
        assert!(mean_err < 2.0, "JPEG close to the raw frame (mean error {mean_err})");
    }
}

#[test]
fn missing_devices_unreadable_files_and_wrong_sizes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let open = |source: CameraSource, w: u32, h: u32| VideoSource::open(&camera("cam", source, w, h, FPS)).unwrap_err();
    let uri = |p: &Path| CameraSource::Uri { uri: p.to_string_lossy().into_owned() };

    let e = open(CameraSource::Device { index: 97 }, W, H);
    assert!(matches!(&e, SourceError::MissingDevice { device, .. } if device == "/dev/video97"), "{e}");
    assert!(!e.is_final(), "a device may be plugged in later");
    let e = open(CameraSource::Uri { uri: "/dev/video98".into() }, W, H);
    assert!(e.to_string().contains("camera `cam`: no device /dev/video98"), "{e}");

    let missing = dir.path().join("nope.avi");
    let e = open(uri(&missing), W, H);
    assert!(matches!(&e, SourceError::UnreadableFile { reason, .. } if reason == "no such file"), "{e}");
    assert!(e.to_string().contains("nope.avi") && e.is_final(), "{e}");

    let text = dir.path().join("notes.avi");
    std::fs::write(&text, "these are not video frames\n".repeat(100)).unwrap();
    let e = open(uri(&text), W, H);
    assert!(matches!(&e, SourceError::UnreadableFile { .. }), "{e}");
    assert!(e.to_string().contains("notes.avi"), "{e}");

    let video = dir.path().join("small.avi");
    write_video(&video, 64, 48, FPS, 2, |_, bgr| bgr.fill(90)).unwrap();
    let e = open(uri(&video), W, H);
    assert!(matches!(e, SourceError::WrongSize { got_width: 64, got_height: 48, width: W, height: H, .. }), "{e}");
}

#[test]
fn a_missing_device_is_retried_with_backoff_and_reported_stale_and_a_bad_file_stops_its_camera() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("broken.avi");
    std::fs::write(&text, b"not a video").unwrap();
    let mut absent = camera("absent", CameraSource::Device { index: 99 }, W, H, FPS);
    absent.stale_ms = 100.0;
    let broken = camera("broken", CameraSource::Uri { uri: text.to_string_lossy().into_owned() }, W, H, FPS);
    let bus = bus("video_faults");
    let events = events(&bus);
    let node = CameraNode::builder(&bus, Arc::new(AtomicBool::new(false)))
        .camera(absent.clone(), opener_for(&absent, None).unwrap())
        .camera(broken.clone(), opener_for(&broken, None).unwrap())
        .spawn()
        .unwrap();
    // Attempts at 0, 100 and 300 ms (backoff 100 ms doubling).
    assert!(wait_for(&node, Duration::from_secs(5), |n| {
        n.camera_status("absent").is_some_and(|s| s.errors >= 3 && s.stale)
    }));
    let s = node.camera_status("absent").unwrap();
    assert_eq!((s.state, s.frames), (CameraState::Reconnecting, 0));
    assert!(s.last_error.as_deref().unwrap_or_default().contains("no device /dev/video99"), "{s:?}");
    let b = node.camera_status("broken").unwrap();
    assert_eq!(b.state, CameraState::Failed, "{b:?}");
    assert_eq!(b.errors, 1, "an unreadable file is not retried");
    std::thread::sleep(Duration::from_millis(50));
    let texts = event_texts(&events);
    assert!(texts.iter().any(|t| t.contains("/dev/video99") && t.contains("reopening in 100 ms")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("/dev/video99") && t.contains("reopening in 200 ms")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("camera `absent`: stale")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("broken.avi") && t.contains("camera stopped")), "{texts:?}");
    node.shutdown();
}
