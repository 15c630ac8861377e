//! The teleop node on a loopback bus: commands at the configured rate in the base frame, episode controls as
//! operator commands, and a device that goes away is reported and re-opened while the node keeps running.

use bus::Bus;
use interfaces::config::{BusConfig, TeleopConfig, TeleopFrameKind};
use interfaces::drivers::TeleopReading;
use interfaces::keys::{ARM_STATE, EVENT, OPERATOR_COMMAND, TELEOP_COMMAND};
use interfaces::msg::{ArmState, Command, Event, OperatorCommand, Pose, TeleopCommand};
use interfaces::time::{MonotonicClock, Stamp};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};
use teleop::{DeviceSample, EpisodeControl, TeleopError, TeleopSource, run_teleop_node_with};

/// A scripted device: pushes "forward" (+x of its frame); presses "success" on its 3rd sample; unplugs after
/// `unplug_after` samples.
struct ScriptedDevice {
    samples: u32,
    unplug_after: u32,
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
        Ok(DeviceSample { reading, controls })
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
                    Ok(Box::new(ScriptedDevice { samples: 0, unplug_after: 20 }))
                };
                run_teleop_node_with(&bus, &cfg, "scripted", open, &MonotonicClock, &stop)
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
    let label = operator.recv_timeout(Duration::from_secs(2)).expect("success label");
    stop.store(true, Ordering::Relaxed);
    let report = node.join().expect("node thread").expect("node result");
    assert!(got.len() >= 25, "commands received: {}", got.len());
    let c = &got[0];
    assert_eq!(c.device, "scripted");
    assert!((c.twist[1] - 0.1).abs() < 1e-9 && c.twist[0].abs() < 1e-9, "forward in the TCP frame: {:?}", c.twist);
    assert_eq!(c.gripper_close, Some(true));
    assert!(got.windows(2).all(|w| w[1].header.seq > w[0].header.seq && w[1].header.stamp_ns > w[0].header.stamp_ns));
    assert_eq!(label.msg.command, Command::Label(true));
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
