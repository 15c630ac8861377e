//! A real network stream through `VideoCapture`: an MJPEG-over-HTTP server (as IP cameras serve) that closes
//! the connection after a few frames; the camera reports it and reopens.

use super::support::*;
use interfaces::config::CameraSource;
use interfaces::keys::FRAME;
use interfaces::msg::Frame;
use opencv::core::{CV_8UC3, Mat, Scalar, Vector};
use opencv::imgcodecs;
use perception::{CameraNode, opener_for};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const FRAMES_PER_CONNECTION: u64 = 12;

/// Serves `connections` clients one after the other, each with a short multipart JPEG stream, then closes.
fn serve(listener: TcpListener, connections: usize) {
    let mut jpegs = Vec::new();
    for i in 0..FRAMES_PER_CONNECTION {
        let img = Mat::new_rows_cols_with_default(48, 64, CV_8UC3, Scalar::all((i * 20) as f64)).unwrap();
        let mut buf = Vector::<u8>::new();
        imgcodecs::imencode(".jpg", &img, &mut buf, &Vector::new()).unwrap();
        jpegs.push(buf.as_slice().to_vec());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let _ = listener.set_nonblocking(true);
    for _ in 0..connections {
        let mut s = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => return,
            }
        };
        let _ = s.set_nonblocking(false);
        let mut req = [0u8; 2048];
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = s.read(&mut req);
        let head = "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=frame\r\n\r\n";
        if s.write_all(head.as_bytes()).is_err() {
            continue;
        }
        for j in &jpegs {
            let part = format!("--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", j.len());
            if s.write_all(part.as_bytes()).and_then(|()| s.write_all(j)).and_then(|()| s.write_all(b"\r\n")).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn an_http_stream_that_closes_is_reported_and_reopened() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::Builder::new().name("mjpeg-server".into()).spawn(move || serve(listener, 3)).unwrap();
    let uri = format!("http://127.0.0.1:{port}/cam.mjpg");
    let mut cfg = camera("ipcam", CameraSource::Uri { uri: uri.clone() }, 64, 48, 50.0);
    cfg.width = 32;
    cfg.height = 24;
    cfg.stale_ms = 3000.0;
    let bus = bus("http_stream");
    let frames = bus.subscribe::<Frame>(FRAME, Some("ipcam")).unwrap();
    let events = events(&bus);
    let node = CameraNode::builder(&bus, Arc::new(AtomicBool::new(false)))
        .camera(cfg.clone(), opener_for(&cfg, None).unwrap())
        .spawn()
        .unwrap();
    let mut got: Vec<Frame> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline
        && !(node.status()[0].reconnects >= 1 && got.len() > FRAMES_PER_CONNECTION as usize + 2)
    {
        got.extend(frames.recv_timeout(Duration::from_millis(10)).map(|r| r.msg));
    }
    let s = node.status().remove(0);
    node.shutdown();
    drop(server); // it may still wait for a connection that is no longer coming
    assert!(s.reconnects >= 1, "{s:?}");
    assert!(got.len() > FRAMES_PER_CONNECTION as usize, "frames from the reopened stream: {} {s:?}", got.len());
    assert!(got.windows(2).all(|w| w[1].header.stamp_ns > w[0].header.stamp_ns));
    assert!(got.iter().all(|f| (f.width, f.height, f.data.len()) == (32, 24, 32 * 24 * 3)));
    let texts = event_texts(&events);
    assert!(
        texts.iter().any(|t| t.contains(&uri) && t.contains("stream closed") && t.contains("reopening")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("reopened") && t.contains(&uri)), "{texts:?}");
}
