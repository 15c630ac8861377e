//! The simulated cell's cameras through the same pipeline and bus, and observations assembled from them.

use super::support::*;
use controller::testing::panda_config;
use interfaces::keys::{ARM_STATE, FRAME};
use interfaces::msg::{ArmState, Frame, Header, PixelEncoding};
use interfaces::{Clock, Stamp};
use perception::{AssemblyError, ObservationAssembler, ObservationTolerance, run_camera_node};
use sim::SimCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

#[test]
fn sim_camera_frames_are_published_with_sim_stamps_and_assembled_with_the_arm_state() {
    let cfg = panda_config();
    let mut cell = SimCell::new(&cfg).expect("simulated cell");
    let bus = bus("sim_cams");
    let frames = bus.subscribe::<Frame>(FRAME, Some("*")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let node = run_camera_node(&bus, &cfg, stop.clone(), Some(&mut cell)).expect("camera node");
    let clock = Arc::new(cell.world().clock().clone());
    let tolerance = ObservationTolerance { max_age: Duration::from_millis(100), max_skew: Duration::from_millis(100) };
    let names = vec!["front".to_string(), "wrist".to_string()];
    let mut assembler = ObservationAssembler::subscribe(&bus, names, tolerance, clock.clone()).unwrap();
    let mut arm_pub = bus.publisher::<ArmState>(ARM_STATE, None).unwrap();

    // Three rounds: advance simulated time by 40 ms, then wait for a frame of that time from each camera.
    let mut seen: HashMap<String, Vec<Frame>> = HashMap::new();
    for round in 1..=3u64 {
        for _ in 0..40 {
            cell.world_mut().step_braked();
        }
        let now = clock.now();
        assert_eq!(now, Stamp(round * 40_000_000));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && !["front", "wrist"]
                .iter()
                .all(|c| seen.get(*c).is_some_and(|v| v.last().is_some_and(|f| f.header.stamp_ns == now)))
        {
            if let Some(r) = frames.recv_timeout(Duration::from_millis(20)) {
                seen.entry(r.msg.camera.clone()).or_default().push(r.msg);
            }
        }
    }
    // The node counts a frame once its publication returned, which can be just after the frame arrived here.
    // Sim time stays frozen now; the cameras keep rendering at their rate and must count the same time as repeats.
    let status_of = |c: &str| node.status().into_iter().find(|s| s.name == c).expect("camera status");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline
        && ["front", "wrist"].iter().any(|c| {
            let s = status_of(c);
            s.frames < seen[*c].len() as u64 || s.repeats == 0
        })
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = node.status();
    for c in ["front", "wrist"] {
        let got = &seen[c];
        let stamps: Vec<u64> = got.iter().map(|f| f.header.stamp_ns.0).collect();
        assert!(stamps.windows(2).all(|w| w[1] > w[0]), "{c}: each sim time once, in order: {stamps:?}");
        for t in [40_000_000, 80_000_000, 120_000_000] {
            assert!(stamps.contains(&t), "{c}: a frame at sim time {t} ns: {stamps:?}");
        }
        for f in got {
            assert_eq!((f.width, f.height, f.encoding), (128, 128, PixelEncoding::Rgb8));
            assert!(f.is_consistent() && f.data.iter().any(|&p| p != f.data[0]), "{c}: a rendered image");
        }
        let s = status.iter().find(|s| s.name == c).unwrap();
        assert!(s.repeats > 0, "frozen sim time is rendered again but not republished: {s:?}");
        assert_eq!(s.frames, got.len() as u64, "{s:?}");
    }
    assert_ne!(seen["front"][0].data, seen["wrist"][0].data);

    // Arm state at the current sim time: the observation assembles.
    let mut arm = ArmState { header: Header { seq: 0, stamp_ns: clock.now() }, cycles: 7, ..Default::default() };
    arm_pub.publish(&mut arm).unwrap();
    let obs = assembler.assemble_within(Duration::from_secs(5)).expect("inputs within tolerance");
    assert_eq!(obs.arm.cycles, 7);
    assert_eq!(obs.frames.iter().map(|f| f.camera.as_str()).collect::<Vec<_>>(), ["front", "wrist"]);
    assert_eq!(obs.stamp, clock.now());

    // The world moves on 300 ms, the cameras follow, the arm state does not: refused, with the ages.
    for _ in 0..300 {
        cell.world_mut().step_braked();
    }
    std::thread::sleep(Duration::from_millis(300));
    let err = assembler.assemble().unwrap_err();
    let AssemblyError::OutOfTolerance { ages, .. } = &err;
    assert_eq!(ages[2].input, "arm_state");
    assert_eq!(ages[2].age, Some(Duration::from_millis(300)));
    assert!(ages[..2].iter().all(|a| a.age.is_some_and(|a| a < Duration::from_millis(100))), "{err}");
    assert!(err.to_string().contains("arm_state 300.0 ms old"), "{err}");
    node.shutdown();
}
