//! A fleet: two simulated cells feed one learner over one bus (both cells' transitions stored once each with
//! their cell in the record's origin, weights reaching both, per-cell metrics); a cell whose transitions do not
//! fit the learner's spec is refused with an error naming the cell and the field.

use tests::common;

use agent::node::actor as actor_node;
use agent::replay::ReplayStore;
use interfaces::CellConfig;
use interfaces::keys::{EVENT, LEARNER_METRICS, POLICY_WEIGHTS, TRANSITIONS};
use interfaces::msg::{Event, Header, LearnerMetrics, Level};
use interfaces::msg_training::{ObservationMsg, PolicyWeights, TransitionMsg};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The config of fleet cell `name`: the shared cell under another name.
fn cell_named(cfg: &CellConfig, name: &str) -> CellConfig {
    let mut c = cfg.clone();
    c.cell.name = name.into();
    c
}

#[test]
fn two_cells_feed_one_learner_which_serves_both() {
    let dir = tempfile::tempdir().unwrap();
    let base = common::reach_cell(common::free_port());
    let mut learner_cfg = base.clone();
    learner_cfg.fleet.cells = vec!["fleet_a".into(), "fleet_b".into()];
    let bus = bus::Bus::open(&base.bus, &base.cell.name).expect("bus");
    // What each cell sees of the learner, subscribed before it starts.
    let weights: Vec<_> = ["fleet_a", "fleet_b"]
        .iter()
        .map(|c| bus.for_cell(c).subscribe::<PolicyWeights>(POLICY_WEIGHTS, None).expect("weights"))
        .collect();
    let metrics = bus.for_cell("fleet_b").subscribe::<LearnerMetrics>(LEARNER_METRICS, None).expect("metrics");
    let run_dir = dir.path().join("run");
    let learner_stop = Arc::new(AtomicBool::new(false));
    let learner = common::start_learner(
        &bus,
        &learner_cfg,
        &run_dir,
        learner_stop.clone(),
        0.2,
        Some(Duration::from_millis(250)),
    );
    let actors: Vec<_> = [("fleet_a", 40u64, 1u64), ("fleet_b", 30, 2)]
        .into_iter()
        .map(|(name, steps, seed)| {
            let cfg = cell_named(&base, name);
            let bus = bus.for_cell(name);
            let opts = common::random_actor(
                &cfg,
                &dir.path().join("spool").join(name),
                steps,
                seed,
                false,
                Duration::from_secs(180),
            );
            std::thread::spawn(move || {
                let mut env = sim::SimEnv::new(&cfg, seed).expect("the simulated cell");
                actor_node::run(&bus, &cfg, &opts, Arc::new(AtomicBool::new(false)), &mut env)
                    .map_err(|e| format!("{e:#}"))
            })
        })
        .collect();
    let summaries: Vec<_> = actors.into_iter().map(|a| a.join().unwrap().expect("actor")).collect();
    assert_eq!((summaries[0].acked, summaries[1].acked), (40, 30), "every transition acknowledged: {summaries:?}");
    // Per-cell metrics, on each cell's key: wait for a report that counts both cells' transitions.
    let deadline = Instant::now() + Duration::from_secs(120);
    let fleet = loop {
        if let Some(m) = metrics.recv_timeout(Duration::from_millis(500))
            && m.msg.fleet.iter().map(|f| f.steps).sum::<u64>() == 70
        {
            break m.msg.fleet;
        }
        assert!(Instant::now() < deadline, "no metrics counting both cells' 70 transitions on fleet_b's key");
    };
    learner_stop.store(true, Ordering::Release);
    let l = learner.join().unwrap().expect("learner");
    let per_cell: Vec<(&str, u64)> = fleet.iter().map(|f| (f.cell.as_str(), f.steps)).collect();
    assert_eq!(per_cell, [("fleet_a", 40), ("fleet_b", 30)]);
    assert!(fleet.iter().all(|f| f.refused.is_none()));
    assert_eq!(l.cells.get("fleet_a"), Some(&(40, None)));
    assert_eq!(l.cells.get("fleet_b"), Some(&(30, None)));
    // Both cells got the weights.
    for (w, cell) in weights.iter().zip(["fleet_a", "fleet_b"]) {
        let v = w.latest().map(|m| m.msg.version);
        assert!(v.is_some_and(|v| v >= 1), "{cell} saw no policy weights");
    }
    // Stored once each, the record naming its cell and actor.
    let store = ReplayStore::open_read_only(run_dir.join("replay"), &interfaces::env::obs_spec(&base)).expect("store");
    assert_eq!(store.online_len(), 70);
    let delivered = store.delivered();
    let cells: Vec<(&str, u64)> =
        delivered.iter().map(|(s, n)| (s.split('@').next().unwrap_or_default(), *n)).collect();
    assert_eq!(cells, [("fleet_a/actor-0", 40), ("fleet_b/actor-0", 30)], "{delivered:?}");
}

#[test]
fn a_cell_whose_spec_differs_is_refused_naming_the_cell_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let base = common::reach_cell(common::free_port());
    let mut learner_cfg = base.clone();
    learner_cfg.fleet.cells = vec!["same_spec".into(), "odd_spec".into()];
    let bus = bus::Bus::open(&base.bus, &base.cell.name).expect("bus");
    let events = bus.for_cell("odd_spec").subscribe::<Event>(EVENT, Some("*")).expect("events");
    let run_dir = dir.path().join("run");
    let learner_stop = Arc::new(AtomicBool::new(false));
    let learner = common::start_learner(
        &bus,
        &learner_cfg,
        &run_dir,
        learner_stop.clone(),
        0.2,
        Some(Duration::from_millis(250)),
    );
    // A transition with one proprio value too many, sent until the learner reacts.
    let spec = interfaces::env::obs_spec(&base);
    let obs = ObservationMsg { proprio: vec![0.0; spec.proprio_dim + 1], images: Vec::new() };
    let odd = TransitionMsg {
        header: Header { seq: 1, ..Header::default() },
        actor: "odd_spec/actor-0@1".into(),
        obs: obs.clone(),
        action: vec![0.0; spec.action_dim],
        gripper: 1,
        next_obs: obs,
        ..TransitionMsg::default()
    };
    let publisher = bus.for_cell("odd_spec").publisher::<TransitionMsg>(TRANSITIONS, None).expect("publisher");
    let deadline = Instant::now() + Duration::from_secs(120);
    let refusal = loop {
        // Number 1 of its session each time (as an actor resends what is unacknowledged).
        publisher.publish_as_is(&odd).expect("publish");
        if let Some(e) = events.recv_timeout(Duration::from_millis(500))
            && e.msg.level == Level::Error
        {
            break e.msg.text;
        }
        assert!(Instant::now() < deadline, "the learner never refused the odd cell");
    };
    assert!(refusal.contains("odd_spec") && refusal.contains("proprio"), "names the cell and the field: {refusal}");
    // The cell with the learner's spec is served all the same.
    let cfg = cell_named(&base, "same_spec");
    let opts = common::random_actor(&cfg, &dir.path().join("spool"), 20, 3, false, Duration::from_secs(180));
    let mut env = sim::SimEnv::new(&cfg, 3).expect("the simulated cell");
    let a = actor_node::run(&bus.for_cell("same_spec"), &cfg, &opts, Arc::new(AtomicBool::new(false)), &mut env)
        .expect("actor");
    learner_stop.store(true, Ordering::Release);
    let l = learner.join().unwrap().expect("learner");
    assert_eq!(a.acked, 20);
    assert_eq!(l.cells.get("same_spec"), Some(&(20, None)));
    let (stored, why) = l.cells.get("odd_spec").cloned().expect("the odd cell listed");
    assert_eq!(stored, 0);
    assert!(why.is_some_and(|w| w.contains("proprio")));
    let store = ReplayStore::open_read_only(run_dir.join("replay"), &spec).expect("store");
    assert_eq!(store.online_len(), 20, "nothing of the refused cell stored");
}
