//! `corrigo record --teleop` in the simulated cell: a scripted "human" teleoperates through the bus and uses the
//! episode controls; only the episodes marked successful reach the demo buffer, holding the human's actions.

use tests::common;

use agent::node::recorder::{self, HumanRecordOptions};
use agent::replay::ReplayStore;
use corrigo_app::nodes::env::{self, EnvChoice};
use interfaces::keys::{ARM_STATE, EVENT, OPERATOR_COMMAND, TELEOP_COMMAND};
use interfaces::msg::{ArmState, Command, Event, Header, OperatorCommand, TeleopCommand};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const PUSH: [f64; 6] = [0.05, 0.0, -0.02, 0.0, 0.0, 0.0];

#[test]
fn a_teleoperated_recording_keeps_only_the_episodes_marked_successful() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let cfg = common::reach_cell(port);
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    // The human: pushes all the time; per attempt (announced by the recorder's event), after a few steps:
    // 1st attempt marked failed and stopped, 2nd reset, 3rd and 4th marked successful and stopped.
    let human = {
        let (bus, done) = (bus.clone(), done.clone());
        std::thread::spawn(move || {
            let mut teleop = bus.publisher::<TeleopCommand>(TELEOP_COMMAND, None).unwrap();
            let mut operator = bus.publisher::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap();
            let states = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
            let events = bus.subscribe::<Event>(EVENT, Some("*")).unwrap();
            let (mut attempt, mut steps, mut sent) = (0, 0, false);
            let mut send = |c: Command| {
                operator.publish(&mut OperatorCommand { header: Header::default(), command: c }).unwrap();
            };
            while !done.load(Ordering::Acquire) {
                let mut c = TeleopCommand { twist: PUSH, device: "scripted-human".into(), ..Default::default() };
                teleop.publish(&mut c).unwrap();
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
                            send(Command::Label(false));
                            send(Command::StopEpisode);
                        }
                        2 => send(Command::ResetEpisode),
                        _ => {
                            send(Command::Label(true));
                            send(Command::StopEpisode);
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

    assert_eq!((summary.kept, summary.discarded), (2, 2), "{summary:?}");
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
