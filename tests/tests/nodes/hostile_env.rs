//! Well-formed hostile messages against the environment over the bus, from another session on the cell's bus,
//! while it drives `corrigo controller` with a `sim` driver: a forged arm state never steers the arm, and absurd
//! stamps, frames of the wrong length, corrupt JPEGs and JPEG bombs never end the environment; each is refused
//! and counted.

use tests::common;

use agent::replay::{Action, GripperAction};
use corrigo_app::bus_env::BusEnv;
use corrigo_app::run_controller;
use interfaces::CellConfig;
use interfaces::env::Env;
use interfaces::keys::{ARM_STATE, FRAME, POSE_TARGET};
use interfaces::msg::{ArmState, Frame, Header, PixelEncoding, PoseTarget};
use interfaces::{Clock, MonotonicClock, Stamp};
use nalgebra::Vector3;
use perception::Refusals;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The test cell, its controller pacing the simulation in real time as a real arm runs.
fn cell(port: u16) -> CellConfig {
    let mut cfg = common::reach_cell(port);
    let interfaces::config::DriverConfig::Sim { realtime, .. } = &mut cfg.driver else { unreachable!() };
    *realtime = true;
    cfg
}

fn still() -> Action {
    Action { continuous: vec![0.0; 6], gripper: GripperAction::Stay }
}

/// The controller node of `cfg` on `bus` (with its simulated cameras when `cameras`), stopped and joined when
/// dropped: a failing test does not leave it running.
struct Controller {
    stop: Arc<AtomicBool>,
    node: Option<JoinHandle<Result<run_controller::ControllerOutcome, String>>>,
}

impl Controller {
    fn start(cfg: &CellConfig, bus: &bus::Bus, cameras: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (bus, cfg, halt) = (bus.clone(), cfg.clone(), stop.clone());
        let node = std::thread::spawn(move || {
            run_controller::run(&cfg, &bus, halt, None, cameras).map_err(|e| format!("{e:#}"))
        });
        Self { stop, node: Some(node) }
    }

    fn stop(mut self) -> run_controller::ControllerOutcome {
        self.stop.store(true, Ordering::Release);
        let node = self.node.take().expect("running");
        node.join().expect("controller thread").expect("controller node")
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(n) = self.node.take() {
            let _ = n.join();
        }
    }
}

/// Waits (up to a minute) until the controller on `bus` publishes its arm state: a loaded machine may take
/// longer to start a simulated cell than the environment waits for a first state.
fn wait_for_the_controller(bus: &bus::Bus) {
    let states = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    assert!(states.recv_timeout(Duration::from_secs(60)).is_some(), "the controller publishes no arm state");
}

/// A forging thread that runs while its flag is up; lowered and joined when finished or dropped.
struct Forger<T> {
    forging: Arc<AtomicBool>,
    thread: Option<JoinHandle<T>>,
}

impl<T> Forger<T> {
    fn spawn(run: impl FnOnce(Arc<AtomicBool>) -> T + Send + 'static) -> Self
    where
        T: Send + 'static,
    {
        let forging = Arc::new(AtomicBool::new(true));
        let flag = forging.clone();
        Self { forging, thread: Some(std::thread::spawn(move || run(flag))) }
    }

    fn finish(mut self) -> T {
        self.forging.store(false, Ordering::Release);
        self.thread.take().expect("running").join().expect("forger thread")
    }
}

impl<T> Drop for Forger<T> {
    fn drop(&mut self) {
        self.forging.store(false, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The two cells of this file run one after the other: each is a real-time simulation (one renders cameras), and
/// a loaded machine must not make the observation late for reasons of its own.
static ONE_CELL: Mutex<()> = Mutex::new(());

fn refused(env: &BusEnv, input: &str) -> Refusals {
    env.refusals().into_iter().find(|(l, _)| l == input).map(|(_, r)| r).unwrap_or_default()
}

/// Steps `env` with still actions until `done` holds and at least `min` steps were taken; every step must
/// succeed. Bounded: 200 steps (20 s of the cell's 10 Hz).
fn step_until(env: &mut BusEnv, min: usize, done: impl Fn(&BusEnv) -> bool) -> usize {
    let mut k = 0;
    while k < min || !done(env) {
        assert!(k < 200, "the condition did not hold within {k} steps: {:?}", env.refusals());
        let s = env.step(&still()).unwrap_or_else(|e| panic!("step {k} failed under hostile messages: {e}"));
        if s.done || s.truncated {
            env.reset().unwrap_or_else(|e| panic!("reset after step {k} failed under hostile messages: {e}"));
        }
        k += 1;
    }
    k
}

/// A forger on another session of the cell's bus: republishes every real arm state it sees (stamps and all)
/// with the TCP moved to the workspace's upper corner, through a publisher of its own.
#[test]
fn a_forged_arm_state_from_another_session_never_steers_the_pose_targets() {
    let port = common::free_port();
    let cfg = cell(port);
    let _one = ONE_CELL.lock().unwrap_or_else(|p| p.into_inner());
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let node = Controller::start(&cfg, &bus, false);
    wait_for_the_controller(&bus);
    let mut env = BusEnv::new(&bus, &cfg, 5).expect("bus environment");
    env.reset().expect("reset through the controller");
    let home = Vector3::from(env.arm_state().expect("the controller's arm state").ee_pose.position);
    let corner = Vector3::from(cfg.workspace.max);
    assert!((corner - home).norm() > 0.2, "the corner {corner:?} is far from the reset pose {home:?}");

    let rogue = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("another session on the cell's bus");
    let forger = {
        let corner = cfg.workspace.max;
        let states = rogue.subscribe::<ArmState>(ARM_STATE, None).unwrap();
        let mut fake = rogue.publisher::<ArmState>(ARM_STATE, None).unwrap();
        Forger::spawn(move |forging| {
            let mut sent = 0u64;
            while forging.load(Ordering::Acquire) {
                let Some(r) = states.recv_timeout(Duration::from_millis(20)) else { continue };
                if r.msg.ee_pose.position == corner {
                    continue; // its own
                }
                let mut s = r.msg;
                s.ee_pose.position = corner;
                s.pose_target.position = corner;
                fake.publish(&mut s).unwrap();
                sent += 1;
            }
            sent
        })
    };
    let targets = bus.subscribe::<PoseTarget>(POSE_TARGET, None).unwrap();
    while targets.try_recv().is_some() {} // the reset's

    let steps = step_until(&mut env, 10, |env| refused(env, "arm_state").sequence >= 10);
    let sent = forger.finish();
    let arm = refused(&env, "arm_state");
    println!("{steps} steps; {sent} forged arm states sent, refused: {arm:?}");
    assert!(sent >= 10 && arm.sequence >= 10, "the forgeries reached the environment and were refused: {arm:?}");
    assert_eq!(arm.adoptions, 1, "the controller's stream only: {arm:?}");

    // Every pose target of the steps was built from the controller's arm state: still actions keep it where the
    // arm is, far from the corner.
    let mut n = 0;
    while let Some(t) = targets.try_recv() {
        let p = Vector3::from(t.msg.pose.position);
        assert!((p - home).norm() < 0.03, "a pose target {p:?} away from the arm at {home:?} (corner {corner:?})");
        n += 1;
    }
    assert!(n >= steps, "{n} pose targets for {steps} steps");
    let now = Vector3::from(env.arm_state().unwrap().ee_pose.position);
    assert!((now - home).norm() < 0.03, "the arm stayed put: {now:?} vs {home:?}");
    assert!(!node.stop().faulted);
}

/// Frames of 128×128 pixels for camera `front`: RGB8 of the right size, or `data` as a JPEG.
fn frame(seq: u64, stamp: Stamp, encoding: PixelEncoding, data: Vec<u8>) -> Frame {
    Frame { header: Header { seq, stamp_ns: stamp }, camera: "front".into(), width: 128, height: 128, encoding, data }
}

/// The start of a JPEG whose frame header declares `w`×`h` (three components), then `tail`.
fn jpeg_declaring(w: u16, h: u16, tail: &[u8]) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8];
    j.extend(h.to_be_bytes());
    j.extend(w.to_be_bytes());
    j.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    j.extend(tail);
    j
}

/// A forger on another session: arm states and frames stamped `u64::MAX` (with its own numbering and with the
/// real stream's next number), RGB8 frames of the wrong length, corrupt JPEGs and a JPEG bomb (a tiny file
/// whose header declares 20000×20000), all on the real keys, while the environment steps an image-based cell.
#[test]
fn absurd_stamps_and_broken_frames_never_end_the_environment() {
    let port = common::free_port();
    let mut cfg = cell(port);
    cfg.agent.use_images = true;
    let _one = ONE_CELL.lock().unwrap_or_else(|p| p.into_inner());
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let node = Controller::start(&cfg, &bus, true);
    wait_for_the_controller(&bus);
    let mut env = BusEnv::new(&bus, &cfg, 3).expect("bus environment");
    env.reset().expect("reset through the controller");

    let rogue = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("another session on the cell's bus");
    let forger = {
        let states = rogue.subscribe::<ArmState>(ARM_STATE, None).unwrap();
        let frames = rogue.subscribe::<Frame>(FRAME, Some("front")).unwrap();
        let mut arm_pub = rogue.publisher::<ArmState>(ARM_STATE, None).unwrap();
        let mut frame_pub = rogue.publisher::<Frame>(FRAME, Some("front")).unwrap();
        Forger::spawn(move |forging| {
            let never = Stamp(u64::MAX);
            let (mut arm_seq, mut frame_seq, mut rounds) = (0u64, 0u64, 0u64);
            let (mut last_arm, mut last_frame) = (ArmState::default(), frame(0, Stamp(0), PixelEncoding::Rgb8, vec![]));
            while forging.load(Ordering::Acquire) {
                // The real streams' numbers (a forgery is never below 2^62 ns).
                while let Some(r) = states.try_recv() {
                    if r.msg.header.stamp_ns < perception::MAX_STAMP && r.msg.header.seq > arm_seq {
                        arm_seq = r.msg.header.seq;
                        last_arm = r.msg;
                    }
                }
                while let Some(r) = frames.try_recv() {
                    if r.msg.header.stamp_ns < perception::MAX_STAMP && r.msg.header.seq > frame_seq {
                        frame_seq = r.msg.header.seq;
                        last_frame = r.msg;
                    }
                }
                let mut a = ArmState { header: Header { seq: 0, stamp_ns: never }, ..last_arm.clone() };
                arm_pub.publish(&mut a).unwrap();
                a.header.seq = arm_seq + 1;
                arm_pub.publish_as_is(&a).unwrap();
                let now = MonotonicClock.now();
                let good = last_frame.data.clone();
                let mut forged = vec![
                    frame(0, never, PixelEncoding::Rgb8, good.clone()),
                    frame(0, now, PixelEncoding::Rgb8, vec![7; 100]),
                    frame(0, now, PixelEncoding::Rgb8, vec![7; 128 * 128 * 3 + 1]),
                    frame(0, now, PixelEncoding::Jpeg, vec![0xFF, 0xD8, 0xFF, 0xD9]),
                    frame(0, now, PixelEncoding::Jpeg, jpeg_declaring(128, 128, &[0xFF, 0xDA, 0, 2, 0x55, 0xAA])),
                    frame(0, now, PixelEncoding::Jpeg, jpeg_declaring(20_000, 20_000, &[0xFF, 0xD9])),
                    Frame {
                        width: 20_000,
                        height: 20_000,
                        ..frame(0, now, PixelEncoding::Jpeg, jpeg_declaring(20_000, 20_000, &[]))
                    },
                ];
                for f in &mut forged {
                    frame_pub.publish(f).unwrap();
                }
                let next = frame(frame_seq + 1, never, PixelEncoding::Rgb8, good);
                frame_pub.publish_as_is(&next).unwrap();
                rounds += 1;
                std::thread::sleep(Duration::from_millis(40));
            }
            rounds
        })
    };

    let started = Instant::now();
    let steps = step_until(&mut env, 10, |env| {
        let (arm, front) = (refused(env, "arm_state"), refused(env, "camera front"));
        arm.ahead >= 5 && front.ahead >= 5 && front.malformed >= 20
    });
    let rounds = forger.finish();
    let (arm, front) = (refused(&env, "arm_state"), refused(&env, "camera front"));
    println!(
        "{steps} steps in {:?} under {rounds} rounds of forgeries; arm {arm:?}, front {front:?}",
        started.elapsed()
    );
    // And it keeps stepping once the forger is gone, on the real streams.
    let s = env.step(&still()).expect("a step after the forger left");
    assert_eq!(s.obs.images.len(), 2);
    assert!(s.obs.images.iter().all(|i| i.len() == 128 * 128 * 3 && i.iter().any(|&p| p != i[0])));
    assert_eq!((arm.adoptions, front.adoptions), (1, 1), "the controller's and the camera's streams only");
    assert!(!node.stop().faulted);
}
