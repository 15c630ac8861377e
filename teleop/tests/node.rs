//! The teleop node on a loopback bus: commands at the configured rate in the base frame, episode controls on
//! `teleop/episode`, the device's e-stop on the node's own `<node>/estop` key, and a device that goes away is
//! reported and re-opened while the node keeps running.

use bus::Bus;
use interfaces::config::{BusConfig, TeleopConfig, TeleopFrameKind};
use interfaces::drivers::TeleopReading;
use interfaces::keys::{ARM_STATE, ESTOP, EVENT, OPERATOR_COMMAND, TELEOP_COMMAND, TELEOP_EPISODE};
use interfaces::msg::{ArmState, Command, Event, OperatorCommand, Pose, TeleopCommand};
use interfaces::time::{MonotonicClock, Stamp};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};
use teleop::{DeviceSample, EpisodeControl, TeleopError, TeleopSource, run_teleop_node_with};

/// A scripted device: pushes "forward" (+x of its frame); presses "success" on its 3rd sample and its e-stop on
/// sample `estop_at`; unplugs after `unplug_after` samples.
struct ScriptedDevice {
    samples: u32,
    unplug_after: u32,
    estop_at: u32,
}

impl TeleopSource for ScriptedDevice {
    fn name(&self) -> &str {
        "scripted test-device"
    }
    fn sample(&mut self, now: Stamp) -> Result<DeviceSample, TeleopError> {
        self.samples += 1;
        if self.samples > self.unplug_after {
            return Err(TeleopError::Disconnected {
                device: "scripted test-device".into(),
                detail: "unplugged".into(),
            });
        }
        let reading = TeleopReading {
            stamp: now,
            twist: [0.1, 0.0, 0.0, 0.0, 0.0, 0.0],
            gripper_close: Some(true),
            takeover: false,
        };
        let controls = if self.samples == 3 { vec![EpisodeControl::Success] } else { vec![] };
        Ok(DeviceSample { reading, controls, estop: self.samples == self.estop_at })
    }
}

fn bus() -> Bus {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let cfg = BusConfig { listen: vec![format!("tcp/127.0.0.1:{port}")], connect: vec![], ..BusConfig::default() };
    Bus::open(&cfg, "teleop_test").expect("bus")
}

#[test]
fn node_publishes_commands_controls_and_survives_an_unplugged_device() {
    let bus = bus();
    let commands = bus.subscribe::<TeleopCommand>(TELEOP_COMMAND, None).expect("sub");
    let operator = bus.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None).expect("sub");
    let episode = bus.subscribe::<OperatorCommand>(TELEOP_EPISODE, None).expect("sub");
    let events = bus.subscribe::<Event>(EVENT, Some("teleop")).expect("sub");
    let mut arm = bus.publisher::<ArmState>(ARM_STATE, None).expect("pub");
    let cfg =
        TeleopConfig { rate_hz: 100.0, frame: TeleopFrameKind::EndEffector, reopen_ms: 50, ..TeleopConfig::default() };
    let stop = Arc::new(AtomicBool::new(false));
    let opens = Arc::new(AtomicU32::new(0));
    let node = {
        let (bus, stop, opens) = (bus.clone(), stop.clone(), opens.clone());
        std::thread::Builder::new()
            .name("teleop-node-test".into())
            .spawn(move || {
                let open = || -> Result<Box<dyn TeleopSource>, TeleopError> {
                    // The first attempt finds nothing plugged in.
                    if opens.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Err(TeleopError::NotFound {
                            device: "scripted".into(),
                            detail: "not plugged in".into(),
                        });
                    }
                    Ok(Box::new(ScriptedDevice { samples: 0, unplug_after: 20, estop_at: 0 }))
                };
                run_teleop_node_with(&bus, &cfg, "teleop", "scripted", open, &MonotonicClock, &stop)
            })
            .expect("spawn")
    };
    // TCP yawed by +90° about the base z: the device's "forward" is base +y.
    let yawed = Pose { position: [0.4, 0.0, 0.3], orientation: [0.5f64.sqrt(), 0.0, 0.0, 0.5f64.sqrt()] };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < 25 && Instant::now() < deadline {
        arm.publish(&mut ArmState { ee_pose: yawed, ..ArmState::default() }).expect("publish arm state");
        if let Some(r) = commands.recv_timeout(Duration::from_millis(10)) {
            got.push(r.msg);
        }
    }
    let label = episode.recv_timeout(Duration::from_secs(2)).expect("success label on teleop/episode");
    stop.store(true, Ordering::Relaxed);
    let report = node.join().expect("node thread").expect("node result");
    assert!(got.len() >= 25, "commands received: {}", got.len());
    let c = &got[0];
    assert_eq!(c.device, "scripted");
    assert!((c.twist[1] - 0.1).abs() < 1e-9 && c.twist[0].abs() < 1e-9, "forward in the TCP frame: {:?}", c.twist);
    assert_eq!(c.gripper_close, Some(true));
    assert!(got.windows(2).all(|w| w[1].header.seq > w[0].header.seq && w[1].header.stamp_ns > w[0].header.stamp_ns));
    assert_eq!(label.msg.command, Command::Label(true));
    assert!(operator.try_recv().is_none(), "nothing on operator/command, which a teleop device may not put");
    // Missing at start, unplugged after 20 samples, re-opened: the node kept publishing throughout.
    assert!(opens.load(Ordering::SeqCst) >= 3, "opened {} times", opens.load(Ordering::SeqCst));
    assert!(report.device_errors >= 2 && report.commands >= 25, "{report:?}");
    let mut texts = Vec::new();
    while let Some(e) = events.try_recv() {
        texts.push(e.msg.text);
    }
    assert!(texts.iter().any(|t| t.contains("scripted: not found (not plugged in)")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("scripted test-device: disconnected (unplugged)")), "{texts:?}");
}

#[test]
fn the_device_estop_goes_on_the_node_own_estop_key_and_never_on_operator_command() {
    let bus = bus();
    let estops = bus.subscribe::<OperatorCommand>(ESTOP, Some("*")).expect("sub");
    let operator = bus.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None).expect("sub");
    let episode = bus.subscribe::<OperatorCommand>(TELEOP_EPISODE, None).expect("sub");
    let cfg = TeleopConfig { rate_hz: 100.0, frame: TeleopFrameKind::Base, ..TeleopConfig::default() };
    let stop = Arc::new(AtomicBool::new(false));
    let node = {
        let (bus, stop) = (bus.clone(), stop.clone());
        std::thread::Builder::new()
            .name("teleop-estop-test".into())
            .spawn(move || {
                let open = || -> Result<Box<dyn TeleopSource>, TeleopError> {
                    Ok(Box::new(ScriptedDevice { samples: 0, unplug_after: u32::MAX, estop_at: 5 }))
                };
                run_teleop_node_with(&bus, &cfg, "bench-pad", "scripted", open, &MonotonicClock, &stop)
            })
            .expect("spawn")
    };
    let got = estops.recv_timeout(Duration::from_secs(10));
    // The success label of sample 3 is on its way too; wait for it so that nothing the node sent is still in flight.
    let label = episode.recv_timeout(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    let report = node.join().expect("node thread").expect("node result");
    let got = got.expect("an e-stop on the node's e-stop key");
    assert_eq!(got.msg.command, Command::EStop);
    assert_eq!(got.key, "corrigo/teleop_test/bench-pad/estop", "the node's own key");
    assert_eq!(report.estops, 1);
    assert_eq!(label.map(|l| l.msg.command), Some(Command::Label(true)));
    assert!(operator.try_recv().is_none(), "nothing on operator/command");
    assert!(episode.try_recv().is_none(), "the e-stop is not an episode control");
}
