//! Human-in-the-loop corrections in the simulated cell: a scripted "human" publishes teleop commands on the bus
//! while the actor trains against the learner. The corrected steps are executed, flagged, stored in the online
//! and the demo buffer with the executed (human) action, counted in the episode reports, and the learner's
//! metrics carry the intervention rate. A teleop device's e-stop, sent by the teleop node on its own
//! `<node>/estop` key, stops the simulated cell stepped in the actor's process (as under `corrigo run`).

use tests::common;

use agent::node::{actor as actor_node, learner as learner_node};
use agent::replay::ReplayStore;
use interfaces::CellConfig;
use interfaces::drivers::TeleopReading;
use interfaces::keys::{ARM_STATE, EPISODES, LEARNER_METRICS, TELEOP_COMMAND};
use interfaces::msg::{ArmState, Header, LearnerMetrics, TeleopCommand};
use interfaces::msg_training::EpisodeReport;
use interfaces::time::{MonotonicClock, Stamp};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn cell(port: u16) -> CellConfig {
    // Paced at 50 Hz (300 steps in 6 s), so that the human's reactions land within the steps they aim at even on
    // a loaded machine.
    let mut cfg = common::reach_cell(port);
    cfg.teleop.hold_ms = 0;
    cfg.teleop.max_age_ms = 200;
    cfg.task.policy_hz = 50.0;
    common::checked(cfg)
}

/// The human's push: 0.1 m/s along +x in the base frame, with the takeover button held.
const PUSH: [f64; 6] = [0.1, 0.0, 0.0, 0.0, 0.0, 0.0];

#[test]
fn a_scripted_human_corrects_the_policy_and_the_corrections_are_stored_flagged_in_both_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let cfg = cell(port);
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let spec = interfaces::env::obs_spec(&cfg);
    let run_dir = dir.path().join("run");
    let stop = Arc::new(AtomicBool::new(false));
    let episodes = bus.subscribe::<EpisodeReport>(EPISODES, None).unwrap();
    let metrics = bus.subscribe::<LearnerMetrics>(LEARNER_METRICS, None).unwrap();

    let learner = {
        let (bus, cfg, spec, stop) = (bus.clone(), cfg.clone(), spec.clone(), stop.clone());
        let lo = learner_node::LearnerOptions {
            run_dir: run_dir.clone(),
            max_updates_per_transition: 0.5,
            max_updates: None,
            progress_every: Some(Duration::from_millis(200)),
            json: false,
        };
        std::thread::spawn(move || learner_node::run(&bus, &cfg, &spec, &lo, stop))
    };
    // The human watches the arm (one state per actor step) and alternates: pushes for 10 steps, lets go (a zero
    // twist, below the takeover threshold) for 10 steps.
    let human_done = Arc::new(AtomicBool::new(false));
    let human = {
        let (bus, done) = (bus.clone(), human_done.clone());
        std::thread::spawn(move || {
            let mut p = bus.publisher::<TeleopCommand>(TELEOP_COMMAND, None).unwrap();
            let states = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
            let (mut seen, mut pushes) = (0u64, 0u64);
            while !done.load(Ordering::Acquire) {
                if states.recv_timeout(Duration::from_millis(20)).is_none() {
                    continue;
                }
                seen += 1;
                let on = (seen / 10) % 2 == 1;
                let mut c = TeleopCommand {
                    header: Header::default(),
                    device: "scripted-human".into(),
                    twist: if on { PUSH } else { [0.0; 6] },
                    gripper_close: None,
                    takeover: on,
                };
                p.publish(&mut c).unwrap();
                pushes += u64::from(on);
            }
            pushes
        })
    };
    let ao = actor_node::ActorOptions {
        actor_id: "actor-hil".into(),
        seed: 3,
        pace: true,
        max_steps: Some(300),
        spool_dir: run_dir.join("spool"),
        spool: agent::delivery::SpoolOptions::from_config(&cfg.actor),
        random_steps: 0,
        final_ack_wait: Duration::from_secs(10),
    };
    let mut env = sim::SimEnv::new(&cfg, ao.seed).expect("the simulated cell");
    let summary = actor_node::run(&bus, &cfg, &ao, stop.clone(), &mut env).expect("actor");
    human_done.store(true, Ordering::Release);
    assert!(human.join().unwrap() > 0, "the human pushed");
    // Let the learner publish metrics covering the finished episodes, then stop it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut rate = None;
    while Instant::now() < deadline && rate.is_none_or(|r: f64| r <= 0.0) {
        if let Some(m) = metrics.recv_timeout(Duration::from_millis(200)) {
            rate = m.msg.intervention_rate;
        }
    }
    stop.store(true, Ordering::Release);
    learner.join().unwrap().expect("learner");

    assert_eq!(summary.steps, 300);
    assert_eq!(summary.acked, 300, "every transition acknowledged");
    let flagged_steps = summary.intervention_steps;
    assert!(flagged_steps > 0 && flagged_steps < 300, "some steps corrected, not all: {flagged_steps}");

    let mut reported = (0u64, 0u64);
    while let Some(e) = episodes.try_recv() {
        reported.0 += e.msg.interventions;
        reported.1 += e.msg.intervention_steps;
    }
    assert!(reported.0 >= 1, "episode reports count interventions: {reported:?}");
    assert!(reported.1 <= flagged_steps && reported.1 > 0, "reported {reported:?} of {flagged_steps} flagged steps");
    let rate = rate.expect("learner metrics with an intervention rate arrived");
    assert!(rate > 0.0 && rate < 1.0, "intervention rate {rate}");

    let store = ReplayStore::open_read_only(run_dir.join("replay"), &spec).unwrap();
    assert_eq!(store.online_len(), 300, "every step in the online buffer");
    let push = teleop::ArbiterConfig::new(&cfg.teleop, &cfg.task).twist_to_action(&PUSH);
    let push: Vec<f32> = push[..spec.action_dim].iter().map(|&v| v as f32).collect();
    let online_flagged = (0..store.online_len()).filter(|&i| store.get(false, i).unwrap().intervention).count();
    assert_eq!(online_flagged as u64, flagged_steps, "flagged transitions in the online buffer");
    assert_eq!(store.demo_len() as u64, flagged_steps, "every correction also in the demo buffer");
    let mut pushed = 0;
    for i in 0..store.demo_len() {
        let t = store.get(true, i).unwrap();
        assert!(t.intervention, "demo transition {i} is flagged");
        // The stored action is the executed one: the human's push, or (while the human lets go within the hold)
        // the human's zero twist; never the policy's.
        let zero = t.action.continuous.iter().all(|&v| v == 0.0);
        assert!(zero || t.action.continuous == push, "demo transition {i}: {:?}", t.action.continuous);
        pushed += usize::from(!zero);
    }
    assert!(pushed > 0, "the pushes are stored");
}

/// A teleop device that holds still and presses its e-stop on its `estop_at`-th sample.
struct EStopDevice {
    samples: u32,
    estop_at: u32,
}

impl teleop::TeleopSource for EStopDevice {
    fn name(&self) -> &str {
        "scripted e-stop"
    }
    fn sample(&mut self, now: Stamp) -> Result<teleop::DeviceSample, teleop::TeleopError> {
        self.samples += 1;
        let reading = TeleopReading { stamp: now, ..TeleopReading::default() };
        Ok(teleop::DeviceSample { reading, controls: vec![], estop: self.samples == self.estop_at })
    }
}

#[test]
fn an_estop_from_the_teleop_node_on_its_own_key_stops_the_in_process_cell() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let cfg = cell(port);
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let states = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let actor = {
        let (bus, cfg, stop) = (bus.clone(), cfg.clone(), stop.clone());
        let ao = actor_node::ActorOptions {
            actor_id: "actor-estop".into(),
            seed: 4,
            pace: true,
            max_steps: None,
            spool_dir: dir.path().join("spool"),
            spool: agent::delivery::SpoolOptions::from_config(&cfg.actor),
            random_steps: 0,
            final_ack_wait: Duration::ZERO,
        };
        std::thread::spawn(move || {
            let mut env = sim::SimEnv::new(&cfg, ao.seed).expect("the simulated cell");
            actor_node::run(&bus, &cfg, &ao, stop, &mut env)
        })
    };
    // The cell steps: each step publishes the arm state with a later control cycle count.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut cycles = Vec::new();
    while cycles.len() < 5 && Instant::now() < deadline {
        if let Some(s) = states.recv_timeout(Duration::from_millis(100)) {
            cycles.push(s.msg.cycles);
        }
    }
    assert!(cycles.len() >= 5 && cycles.windows(2).all(|w| w[1] > w[0]), "stepping: {cycles:?}");
    // The teleop node (no `operator/command` under the secure profile) sends its device's e-stop on
    // `bench-pad/estop`.
    let teleop_stop = Arc::new(AtomicBool::new(false));
    let teleop_node = {
        let (bus, stop, tcfg) = (bus.clone(), teleop_stop.clone(), cfg.teleop.clone());
        std::thread::spawn(move || {
            let open = || -> Result<Box<dyn teleop::TeleopSource>, teleop::TeleopError> {
                Ok(Box::new(EStopDevice { samples: 0, estop_at: 3 }))
            };
            teleop::run_teleop_node_with(&bus, &tcfg, "bench-pad", "scripted", open, &MonotonicClock, &stop)
        })
    };
    // Latched: the actor keeps publishing the arm state while it waits, and the control cycles no longer advance.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut last, mut unchanged) = (None, 0);
    while unchanged < 20 && Instant::now() < deadline {
        if let Some(s) = states.recv_timeout(Duration::from_millis(100)) {
            unchanged = if last == Some(s.msg.cycles) { unchanged + 1 } else { 0 };
            last = Some(s.msg.cycles);
        }
    }
    teleop_stop.store(true, Ordering::Release);
    let report = teleop_node.join().unwrap().expect("teleop node");
    stop.store(true, Ordering::Release);
    let summary = actor.join().unwrap().expect("actor");
    assert_eq!(report.estops, 1, "{report:?}");
    assert!(unchanged >= 20, "the cell went on stepping after the e-stop ({} steps)", summary.steps);
    assert_eq!(summary.commands_refused, 0);
}
