//! A Python zenoh client decodes every topic from docs/messages.md alone (tests/python_peer.py).

mod common;

use bus::Bus;
use common::*;
use interfaces::config::BusConfig;
use interfaces::keys::{ARM_STATE, EVENT, FRAME, OPERATOR_COMMAND, POSE_TARGET};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn venv_python() -> String {
    match std::env::var("CORRIGO_VENV_PYTHON") {
        Ok(p) if std::path::Path::new(&p).exists() => p,
        _ => panic!("the project's Python virtualenv is missing: run `make setup` (scripts/setup.sh) first"),
    }
}

#[test]
fn python_zenoh_client_decodes_every_message_type() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let cfg = BusConfig { listen: vec![endpoint.clone()], connect: vec![], ..BusConfig::default() };
    let bus = Bus::open(&cfg, "pycell").unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python_peer.py");
    let mut child = Command::new(venv_python())
        .args([script, &endpoint, "pycell"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the Python client");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut state = bus.publisher(ARM_STATE, None).unwrap();
    let mut target = bus.publisher(POSE_TARGET, None).unwrap();
    let mut cmd = bus.publisher(OPERATOR_COMMAND, None).unwrap();
    let mut frames = bus.publisher(FRAME, Some("front")).unwrap();
    let mut events = bus.publisher(EVENT, Some("controller")).unwrap();
    let mut seen: HashMap<String, serde_json::Value> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(25);
    while seen.len() < 5 && Instant::now() < deadline {
        state.publish(&mut arm_state()).unwrap();
        target.publish(&mut pose_target()).unwrap();
        cmd.publish(&mut commands().pop().unwrap()).unwrap();
        frames.publish(&mut frame()).unwrap();
        events.publish(&mut event()).unwrap();
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(50)) {
            let v: serde_json::Value = serde_json::from_str(&line).expect("JSON from the Python client");
            seen.insert(v["type"].as_str().unwrap_or_default().to_string(), v);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen.len(), 5, "types decoded by Python: {:?}", seen.keys());
    let s = &seen["ArmState"];
    assert_eq!(s["mode"], "Tracking");
    assert_eq!(s["q"], serde_json::json!(arm_state().q));
    assert_eq!(s["position"], serde_json::json!([0.5, 0.0, 0.3]));
    assert_eq!(s["error_clips"], 3);
    assert_eq!(s["stamp_ns"], 123_456_789);
    assert_eq!(s["key"], "corrigo/pycell/controller/arm_state");
    assert_eq!(seen["PoseTarget"]["gripper"], serde_json::json!({"width": 0.0, "force": 30.0}));
    assert_eq!(seen["OperatorCommand"]["command"]["SetGains"]["nullspace_stiffness"], 0.5);
    let f = &seen["Frame"];
    let expected_sum: u64 = frame().data.iter().map(|&b| u64::from(b)).sum();
    assert_eq!(
        (f["camera"].as_str(), f["width"].as_u64(), f["encoding"].as_str()),
        (Some("front"), Some(128), Some("Rgb8"))
    );
    assert_eq!(f["byte_sum"], expected_sum);
    assert_eq!(f["key"], "corrigo/pycell/camera/front/frame");
    assert_eq!(seen["Event"]["level"], "Warn");
}
