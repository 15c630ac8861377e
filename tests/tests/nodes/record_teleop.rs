//! `corrigo record --teleop` in the simulated cell: a scripted "human" teleoperates through the teleop node
//! (`corrigo teleop`'s node, with a scripted device) and uses the device's episode buttons, which the node sends on
//! `teleop/episode`; only the episodes marked successful reach the demo buffer, holding the human's actions.

use tests::common;

use agent::node::recorder::{self, HumanRecordOptions};
use agent::replay::ReplayStore;
use corrigo_app::nodes::env::{self, EnvChoice};
use interfaces::config::TeleopFrameKind;
use interfaces::drivers::TeleopReading;
use interfaces::keys::{ARM_STATE, EVENT, OPERATOR_COMMAND};
use interfaces::msg::{ArmState, Event, OperatorCommand};
use interfaces::time::{MonotonicClock, Stamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use teleop::{DeviceSample, EpisodeControl, TeleopError, TeleopSource};

const PUSH: [f64; 6] = [0.05, 0.0, -0.02, 0.0, 0.0, 0.0];

/// The human's device: pushes all the time, and presses the buttons the human asks for on its next sample.
struct HumanDevice {
    buttons: mpsc::Receiver<EpisodeControl>,
}

impl TeleopSource for HumanDevice {
    fn name(&self) -> &str {
        "scripted human"
    }
    fn sample(&mut self, now: Stamp) -> Result<DeviceSample, TeleopError> {
        let reading = TeleopReading { stamp: now, twist: PUSH, gripper_close: None, takeover: false };
        Ok(DeviceSample { reading, controls: self.buttons.try_iter().collect(), estop: false })
    }
}

#[test]
fn a_teleoperated_recording_keeps_only_the_episodes_marked_successful() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut cfg = common::reach_cell(port);
    cfg.teleop.frame = TeleopFrameKind::Base;
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).unwrap();
    let operator = bus.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    // The teleop node with the human's device.
    let (buttons, pressed) = mpsc::channel();
    let teleop_node = {
        let (bus, done, tcfg) = (bus.clone(), done.clone(), cfg.teleop.clone());
        let mut device = Some(HumanDevice { buttons: pressed });
        std::thread::spawn(move || {
            let open = || -> Result<Box<dyn TeleopSource>, TeleopError> {
                device.take().map(|d| Box::new(d) as Box<dyn TeleopSource>).ok_or_else(|| TeleopError::NotFound {
                    device: "scripted human".into(),
                    detail: "opened once only".into(),
                })
            };
            teleop::run_teleop_node_with(&bus, &tcfg, "teleop", "scripted", open, &MonotonicClock, &done)
        })
    };
    // The human: per attempt (announced by the recorder's event), after a few steps presses: 1st attempt failure
    // and stop, 2nd reset, 3rd and 4th success and stop.
    let human = {
        let (bus, done) = (bus.clone(), done.clone());
        std::thread::spawn(move || {
            let states = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
            let events = bus.subscribe::<Event>(EVENT, Some("*")).unwrap();
            let (mut attempt, mut steps, mut sent) = (0, 0, false);
            // The device is dropped when the node stops, after the recording: a press then goes nowhere.
            let send = |c: EpisodeControl| {
                let _ = buttons.send(c);
            };
            while !done.load(Ordering::Acquire) {
                while let Some(e) = events.try_recv() {
                    if e.msg.text.starts_with("demo ") {
                        (attempt, steps, sent) = (attempt + 1, 0, false);
                    }
                }
                while states.try_recv().is_some() {
                    steps += 1;
                }
                if attempt > 0 && steps >= 6 && !sent {
                    sent = true;
                    match attempt {
                        1 => {
                            send(EpisodeControl::Failure);
                            send(EpisodeControl::Stop);
                        }
                        2 => send(EpisodeControl::Reset),
                        _ => {
                            send(EpisodeControl::Success);
                            send(EpisodeControl::Stop);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let opts = HumanRecordOptions { run_dir: dir.path().join("run"), episodes: 2, seed: 5 };
    let mut cell = env::open(&bus, &cfg, EnvChoice::InProcess, opts.seed, false).expect("the simulated cell");
    let summary =
        recorder::run(&cfg, &bus, &opts, Arc::new(AtomicBool::new(false)), cell.env.as_mut(), cell.needs_pacing)
            .expect("recording");
    done.store(true, Ordering::Release);
    human.join().unwrap();
    let node = teleop_node.join().unwrap().expect("teleop node");

    assert_eq!((summary.kept, summary.discarded), (2, 2), "{summary:?}");
    assert!(node.controls >= 7, "the device's buttons went through the teleop node: {node:?}");
    assert_eq!(summary.commands_refused, 0);
    assert!(operator.try_recv().is_none(), "nothing on operator/command: the buttons travel on teleop/episode");
    let spec = interfaces::env::obs_spec(&cfg);
    let store = ReplayStore::open_read_only(dir.path().join("run/replay"), &spec).unwrap();
    assert_eq!(store.demo_len(), summary.transitions);
    assert_eq!(store.online_len(), 0);
    assert!(summary.transitions >= 12, "two episodes of at least 6 steps: {}", summary.transitions);
    let push = teleop::ArbiterConfig::new(&cfg.teleop, &cfg.task).twist_to_action(&PUSH);
    let push: Vec<f32> = push[..spec.action_dim].iter().map(|&v| v as f32).collect();
    let episodes: std::collections::BTreeSet<u64> = (0..store.demo_len())
        .map(|i| {
            let t = store.get(true, i).unwrap();
            assert_eq!(t.action.continuous, push, "demo transition {i} holds the human's action");
            t.episode
        })
        .collect();
    assert_eq!(episodes.len(), 2, "two distinct episodes");
}
