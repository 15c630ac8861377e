//! Sample messages of every type, and loopback sessions, shared by the bus tests.
#![allow(dead_code)]

use bus::Bus;
use interfaces::config::BusConfig;
use interfaces::msg::*;
use interfaces::time::Stamp;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A TCP port free on loopback now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

/// A peer-mode bus config with these endpoints (no multicast scouting).
pub fn bus_config(listen: Vec<String>, connect: Vec<String>) -> BusConfig {
    BusConfig { listen, connect, ..BusConfig::default() }
}

/// Two sessions of `cell` on loopback, as two processes of a cell would be: the first listens on a free port,
/// the second (e.g. a hostile peer) connects to it. Each call uses its own port, so tests stay independent.
pub fn two_peers(cell: &str) -> (Bus, Bus) {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let host = Bus::open(&bus_config(vec![endpoint.clone()], vec![]), cell).expect("open the listening session");
    let peer = Bus::open(&bus_config(vec![], vec![endpoint]), cell).expect("open the connecting session");
    (host, peer)
}

/// Polls `done` every 10 ms until it holds; panics naming `what` after `secs` seconds (generous: the test
/// machines are loaded, and no test passes on time).
pub fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "waited {secs} s for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn arm_state() -> ArmState {
    ArmState {
        header: Header { seq: 0, stamp_ns: Stamp(123_456_789) },
        mode: ControllerMode::Tracking,
        q: vec![0.1, -0.7, 0.0, -2.3, 0.0, 1.6, 0.8],
        dq: vec![0.01; 7],
        tau: vec![-1.5; 7],
        ee_pose: Pose { position: [0.5, 0.0, 0.3], orientation: [0.0, 1.0, 0.0, 0.0] },
        ee_twist: [0.1, 0.0, 0.0, 0.0, 0.0, 0.2],
        pose_target: Pose { position: [0.55, 0.0, 0.3], orientation: [0.0, 1.0, 0.0, 0.0] },
        gripper: GripperState { width: 0.04, target_width: 0.0, force: 20.0 },
        estop: false,
        limits: LimitCounters { error_clips: 3, watchdog_trips: 1, ..Default::default() },
        deadline_misses: 2,
        cycles: 1000,
    }
}

pub fn gains() -> ImpedanceGains {
    ImpedanceGains {
        translational_stiffness: [2000.0; 3],
        rotational_stiffness: [150.0; 3],
        translational_damping: [89.0; 3],
        rotational_damping: [7.0; 3],
        translational_clip: [0.01; 3],
        rotational_clip: [0.05; 3],
        nullspace_stiffness: 0.5,
    }
}

pub fn pose_target() -> PoseTarget {
    PoseTarget {
        header: Header { seq: 0, stamp_ns: Stamp(42) },
        pose: Pose { position: [0.4, 0.1, 0.2], orientation: [1.0, 0.0, 0.0, 0.0] },
        gripper: Some(GripperCommand { width: 0.0, force: 30.0 }),
    }
}

pub fn commands() -> Vec<OperatorCommand> {
    [
        Command::EStop,
        Command::ResetEStop,
        Command::StartEpisode,
        Command::StopEpisode,
        Command::ResetEpisode,
        Command::Label(true),
        Command::SetGains(gains()),
    ]
    .into_iter()
    .map(|command| OperatorCommand { header: Header { seq: 0, stamp_ns: Stamp(7) }, command })
    .collect()
}

pub fn frame() -> Frame {
    Frame {
        header: Header { seq: 0, stamp_ns: Stamp(99) },
        camera: "front".into(),
        width: 128,
        height: 128,
        encoding: PixelEncoding::Rgb8,
        data: (0..128 * 128 * 3).map(|i| (i % 251) as u8).collect(),
    }
}

pub fn event() -> Event {
    Event {
        header: Header { seq: 0, stamp_ns: Stamp(5) },
        node: "controller".into(),
        level: Level::Warn,
        text: "gains rejected: key `gains.translational_stiffness[0]` = 9000".into(),
    }
}

/// Compares everything but the sequence number (set by the publisher).
pub fn same_but_seq<T: Message + PartialEq + Clone>(a: &T, b: &T) -> bool {
    let mut a = a.clone();
    a.header_mut().seq = b.header().seq;
    &a == b
}
