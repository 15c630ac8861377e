//! The environment over the bus against `corrigo controller` with a `sim` driver, as an actor drives a real cell:
//! pose targets out, arm state and scene state in, at the controller's pace; then the actor node trains over it
//! with the learner, a human records a demonstration over it, and a controller that goes away is a clear error.

use tests::common;

use agent::node::recorder::{self, HumanRecordOptions};
use agent::node::{actor as actor_node, learner as learner_node};
use agent::replay::ReplayStore;
use agent::replay::{Action, GripperAction};
use corrigo_app::bus_env::BusEnv;
use corrigo_app::nodes::env::EnvChoice;
use corrigo_app::run_controller;
use interfaces::CellConfig;
use interfaces::config::RewardKind;
use interfaces::env::Env;
use interfaces::keys::{EPISODES, EVENT, OPERATOR_COMMAND, TELEOP_COMMAND};
use interfaces::msg::{Command, Event, Header, OperatorCommand, TeleopCommand};
use interfaces::msg_training::EpisodeReport;
use sim::SimEnv;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The test cell, its controller pacing the simulation in real time as a real arm runs.
fn cell(port: u16) -> CellConfig {
    let mut cfg = common::reach_cell(port);
    let interfaces::config::DriverConfig::Sim { realtime, .. } = &mut cfg.driver else { unreachable!() };
    *realtime = true;
    cfg
}

/// The scripted human's push, base frame.
const PUSH: [f64; 6] = [0.05, 0.0, -0.02, 0.0, 0.0, 0.0];

/// A proportional law on the observation: move toward the goal (entries 13–15 are goal − TCP).
fn toward_goal(obs: &[f32], cfg: &CellConfig) -> Action {
    let s = cfg.task.action_scale_m as f32;
    let mut continuous: Vec<f32> = obs[13..16].iter().map(|d| (d / s).clamp(-1.0, 1.0)).collect();
    continuous.extend([0.0; 3]);
    Action { continuous, gripper: GripperAction::Stay }
}

/// Waits (up to a minute) until the controller on `bus` publishes its arm state: a loaded machine may take
/// longer to start a simulated cell than the environment waits for a first state.
fn wait_for_the_controller(bus: &bus::Bus) {
    let states = bus.subscribe::<interfaces::msg::ArmState>(interfaces::keys::ARM_STATE, None).unwrap();
    assert!(states.recv_timeout(Duration::from_secs(60)).is_some(), "the controller publishes no arm state");
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[test]
fn the_bus_environment_drives_the_simulated_cell_through_corrigo_controller() {
    let port = common::free_port();
    let cfg = cell(port);
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let stop_controller = Arc::new(AtomicBool::new(false));
    let controller = {
        let (bus, cfg, stop) = (bus.clone(), cfg.clone(), stop_controller.clone());
        std::thread::spawn(move || run_controller::run(&cfg, &bus, stop, None, false))
    };
    wait_for_the_controller(&bus);

    // Reset: the arm is driven to the reset pose of the seed and the scene is the in-process environment's.
    let mut env = BusEnv::new(&bus, &cfg, 5).expect("bus environment");
    let mut reference = SimEnv::new(&cfg, 5).expect("in-process environment");
    let (obs, t0) = env.reset().expect("reset through the controller");
    let (ref_obs, _) = reference.reset().unwrap();
    assert_eq!(obs.proprio.len(), 17);
    assert!(obs.images.is_empty());
    assert!(norm(&obs.proprio[0..3]) < 0.005, "starts at the episode's origin: {:?}", &obs.proprio[0..3]);
    let to_goal = norm(&obs.proprio[13..16]);
    let off =
        norm(&std::iter::zip(&obs.proprio[13..16], &ref_obs.proprio[13..16]).map(|(a, b)| a - b).collect::<Vec<_>>());
    assert!(off < 0.015, "goal − TCP {:?} vs in-process {:?}", &obs.proprio[13..16], &ref_obs.proprio[13..16]);

    // Steps at the policy period of the controller's clock; the goal is reached and rewarded.
    let mut stamp = t0;
    let mut last = obs;
    let mut reached = None;
    for k in 1..=cfg.task.episode_steps() {
        let a = toward_goal(&last.proprio, &cfg);
        let s = env.step(&a).expect("step");
        let dt = s.stamp_ns - stamp;
        // At least one policy period of controller time; more only when this process was held up.
        assert!((100_000_000..1_000_000_000).contains(&dt), "step {k}: {dt} ns after the previous observation");
        stamp = s.stamp_ns;
        last = s.obs.clone();
        // The reward is the task's ground truth at the observed TCP (the shaped one is −distance / 25 cm).
        let d = norm(&s.obs.proprio[13..16]);
        let expected = match (cfg.task.reward, s.success) {
            (RewardKind::Sparse, ok) => f32::from(u8::from(ok)),
            (RewardKind::Shaped, true) => 0.0,
            (RewardKind::Shaped, false) => -(d / 0.25).min(1.0),
        };
        assert!((s.reward - expected).abs() < 1e-4, "step {k}: reward {} at {d:.4} m, expected {expected}", s.reward);
        if s.done {
            assert!(s.success && !s.truncated, "{s:?}");
            reached = Some(k);
            break;
        }
    }
    let k = reached.unwrap_or_else(|| panic!("goal {to_goal:.3} m away not reached; last obs {:?}", last.proprio));
    assert!(norm(&last.proprio[13..16]) <= cfg.task.reach_tolerance as f32 + 1e-3);
    assert!(norm(&last.proprio[0..3]) > 0.5 * to_goal, "the TCP moved from its start: {:?}", &last.proprio[0..3]);
    println!("reached a goal {to_goal:.3} m away in {k} steps");

    // The next episode draws the next seed's scene.
    let (obs2, _) = env.reset().expect("second reset");
    reference.reset().unwrap();
    let ref2 = reference.step(&Action { continuous: vec![0.0; 6], gripper: GripperAction::Stay }).unwrap().obs;
    let off2 =
        norm(&std::iter::zip(&obs2.proprio[13..16], &ref2.proprio[13..16]).map(|(a, b)| a - b).collect::<Vec<_>>());
    assert!(off2 < 0.02, "episode 2: {:?} vs {:?}", &obs2.proprio[13..16], &ref2.proprio[13..16]);
    drop(env);

    // The actor trains over the bus with the learner: every transition acknowledged, episodes reported.
    let dir = tempfile::tempdir().unwrap();
    let spec = interfaces::env::obs_spec(&cfg);
    let stop = Arc::new(AtomicBool::new(false));
    let episodes = bus.subscribe::<EpisodeReport>(EPISODES, None).unwrap();
    let learner = {
        let (bus, cfg, spec, stop) = (bus.clone(), cfg.clone(), spec.clone(), stop.clone());
        let lo = learner_node::LearnerOptions {
            run_dir: dir.path().join("run"),
            max_updates_per_transition: 0.5,
            max_updates: None,
            progress_every: None,
            json: false,
        };
        std::thread::spawn(move || learner_node::run(&bus, &cfg, &spec, &lo, stop))
    };
    let ao = actor_node::ActorOptions {
        actor_id: "actor-bus".into(),
        seed: 11,
        pace: false,
        max_steps: Some(40),
        spool_dir: dir.path().join("run").join("spool"),
        spool: agent::delivery::SpoolOptions::from_config(&cfg.actor),
        random_steps: 40,
        final_ack_wait: Duration::from_secs(30),
    };
    let mut env = BusEnv::new(&bus, &cfg, ao.seed).expect("the environment over the bus");
    let summary = actor_node::run(&bus, &cfg, &ao, stop.clone(), &mut env).expect("actor over the bus");
    stop.store(true, Ordering::Release);
    learner.join().unwrap().expect("learner");
    assert_eq!((summary.steps, summary.acked), (40, 40), "{summary:?}");
    let mut reports = Vec::new();
    while let Some(r) = episodes.try_recv() {
        reports.push(r.msg);
    }
    assert!(summary.episodes >= 1 && reports.len() as u64 == summary.episodes, "{summary:?} {reports:?}");
    assert!(reports.iter().all(|r| r.length >= 1 && r.cycle_ms >= 50.0), "paced at 10 Hz: {reports:?}");

    // A human records a demonstration over the bus: teleop pushes, then marks it successful and stops it.
    let recorded = dir.path().join("recorded");
    let human_done = Arc::new(AtomicBool::new(false));
    let human = {
        let (bus, done) = (bus.clone(), human_done.clone());
        std::thread::spawn(move || {
            let mut teleop = bus.publisher::<TeleopCommand>(TELEOP_COMMAND, None).unwrap();
            let mut operator = bus.publisher::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap();
            let events = bus.subscribe::<Event>(EVENT, Some("recorder")).unwrap();
            let mut started: Option<std::time::Instant> = None;
            while !done.load(Ordering::Acquire) {
                let mut c = TeleopCommand { twist: PUSH, device: "scripted-human".into(), ..Default::default() };
                teleop.publish(&mut c).unwrap();
                if events.try_recv().is_some_and(|e| e.msg.text.starts_with("demo ")) {
                    started = Some(std::time::Instant::now());
                }
                if started.is_some_and(|t| t.elapsed() > Duration::from_millis(800)) {
                    for command in [Command::Label(true), Command::StopEpisode] {
                        operator.publish(&mut OperatorCommand { header: Header::default(), command }).unwrap();
                    }
                    started = None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let ro = HumanRecordOptions { run_dir: recorded.clone(), episodes: 1, seed: 2 };
    let mut cell = corrigo_app::nodes::env::open(&bus, &cfg, EnvChoice::Bus, ro.seed, false).expect("bus environment");
    let rec = recorder::run(&cfg, &bus, &ro, Arc::new(AtomicBool::new(false)), cell.env.as_mut(), cell.needs_pacing)
        .expect("recording over the bus");
    human_done.store(true, Ordering::Release);
    human.join().unwrap();
    assert_eq!(rec.kept, 1, "{rec:?}");
    let store = ReplayStore::open_read_only(recorded.join("replay"), &spec).unwrap();
    assert!(store.demo_len() >= 3 && store.demo_len() == rec.transitions, "{rec:?}");
    let push = teleop::ArbiterConfig::new(&cfg.teleop, &cfg.task).twist_to_action(&PUSH);
    let push: Vec<f32> = push[..6].iter().map(|&v| v as f32).collect();
    assert!((0..store.demo_len()).all(|i| store.get(true, i).unwrap().action.continuous == push));
    drop(store);

    // The controller goes away: the next reset is an error naming it, not a hang.
    stop_controller.store(true, Ordering::Release);
    let outcome = controller.join().unwrap().expect("controller node");
    assert!(!outcome.faulted);
    let mut env = BusEnv::new(&bus, &cfg, 7).expect("bus environment");
    let started = std::time::Instant::now();
    let err = format!("{:#}", env.reset().unwrap_err());
    assert!(err.contains("corrigo controller"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn image_observations_over_the_bus_pair_the_simulated_cameras_with_the_arm_state() {
    let port = common::free_port();
    let mut cfg = cell(port);
    cfg.agent.use_images = true;
    assert!(cfg.agent.use_images && cfg.cameras.len() == 2);
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let stop = Arc::new(AtomicBool::new(false));
    let controller = {
        let (bus, cfg, stop) = (bus.clone(), cfg.clone(), stop.clone());
        std::thread::spawn(move || run_controller::run(&cfg, &bus, stop, None, true))
    };
    wait_for_the_controller(&bus);
    let mut env = BusEnv::new(&bus, &cfg, 3).expect("bus environment");
    let (obs, t0) = env.reset().expect("reset through the controller");
    let still = Action { continuous: vec![0.0; 6], gripper: GripperAction::Stay };
    let s = env.step(&still).expect("step");
    assert!(!s.success, "the goal is not where the arm starts");
    drop(env);

    // With `agent.reward_classifier` the classifier decides success from the frames, not the simulator: one that
    // sees success everywhere (threshold 0) ends the episode at the first step, one that never does (threshold 1)
    // does not.
    let dir = tempfile::tempdir().unwrap();
    for (threshold, expect) in [(0.0, true), (1.0, false)] {
        let spec = interfaces::env::obs_spec(&cfg);
        let mut c = agent::classifier::RewardClassifier::new(&cfg.agent.encoder, &spec, 1e-3, 0, tch::Device::Cpu)
            .expect("classifier");
        c.threshold = threshold;
        let path = dir.path().join(format!("classifier-{threshold}.safetensors"));
        agent::train::classifier::write(&c, &path).unwrap();
        let mut with = cfg.clone();
        with.agent.reward_classifier = Some(path.display().to_string());
        let mut env = BusEnv::new(&bus, &with, 3).expect("bus environment with a classifier");
        env.reset().expect("reset");
        let s = env.step(&still).expect("step");
        assert_eq!((s.success, s.done, s.reward), (expect, expect, f32::from(u8::from(expect))), "{threshold}");
    }
    stop.store(true, Ordering::Release);
    controller.join().unwrap().expect("controller node");
    for o in [&obs, &s.obs] {
        assert_eq!(o.images.len(), 2, "front and wrist");
        for img in &o.images {
            assert_eq!(img.len(), 128 * 128 * 3);
            assert!(img.iter().any(|&p| p != img[0]), "a rendered image");
        }
        assert_ne!(o.images[0], o.images[1]);
    }
    assert!(s.stamp_ns >= t0 + 100_000_000);
}
