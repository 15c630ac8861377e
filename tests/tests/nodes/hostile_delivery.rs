//! A hostile peer against delivery, actor and learner as processes over loopback: acknowledgements forged while
//! the learner is down — `upto = u64::MAX` for the actor's own session, and a plausible `upto` from a learner
//! session that does not exist — release nothing, and once the learner is up every transition reaches its store.

use tests::common;

use agent::replay::ReplayStore;
use interfaces::keys::{EPISODES, EVENT, TRANSITION_ACK, TRANSITIONS};
use interfaces::msg::{Event, Header};
use interfaces::msg_training::{EpisodeReport, TransitionAck, TransitionMsg};
use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn forged_acknowledgements_sent_while_the_learner_is_down_lose_no_transition() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut cell = common::reach_cell(port);
    // Resend rounds at most 2 s apart, so that the learner coming up is served at once.
    cell.actor.resend_max_ms = 2000;
    cell.actor.resend_after_ms = 500;
    let cell = common::checked(cell);
    let cfg = dir.path().join("cell.toml");
    common::write_cell(&cell, &cfg);
    let run = dir.path().join("run");
    let steps: u64 = 1500;

    // The attacker: listens to the actor's transitions (its session, its numbers) and forges acknowledgements.
    let bus = bus::Bus::open(&cell.bus, &cell.cell.name).expect("the attacker's bus");
    let transitions = bus.subscribe::<TransitionMsg>(TRANSITIONS, None).unwrap();
    let episodes = bus.subscribe::<EpisodeReport>(EPISODES, None).unwrap();
    let events = bus.subscribe::<Event>(EVENT, Some("actor")).unwrap();
    let mut acks = bus.publisher::<TransitionAck>(TRANSITION_ACK, None).unwrap();

    let actor_dir = dir.path().join("actor");
    let mut actor = tests::spawn_fast_actor(&cfg, &actor_dir, steps);

    // No learner: the actor spools every step. Wait until (nearly) all of them are taken: the episodes it
    // reports cover all but the last one.
    let (mut session, mut newest, mut stepped) = (String::new(), 0u64, 0u64);
    let episode_steps = cell.task.episode_steps();
    let deadline = Instant::now() + Duration::from_secs(180);
    while session.is_empty() || stepped + 2 * episode_steps < steps {
        assert!(Instant::now() < deadline, "the actor took {stepped} of {steps} steps in 180 s");
        if let Some(t) = transitions.recv_timeout(Duration::from_millis(50)) {
            session = t.msg.actor.clone();
            newest = newest.max(t.msg.header.seq);
        }
        while let Some(e) = episodes.try_recv() {
            stepped += e.msg.length;
        }
        assert!(actor.try_wait().unwrap().is_none(), "the actor ended with nothing acknowledged");
    }
    // Five forged acknowledgements: everything of the actor's session, and what it sent, from learner sessions
    // that do not exist (and from none).
    for (upto, learner) in
        [(u64::MAX, ""), (newest, "learner@1"), (u64::MAX, "learner@1"), (newest, "learner@2"), (u64::MAX, "")]
    {
        let mut ack = TransitionAck { header: Header::now(), actor: session.clone(), upto, learner: learner.into() };
        acks.publish(&mut ack).expect("forge an acknowledgement");
    }
    // The actor says it refused them (bounded wait: an actor that took them says nothing, and is caught below).
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if events.recv_timeout(Duration::from_millis(200)).is_some_and(|e| e.msg.text.contains("refused")) {
            break;
        }
    }

    let mut learner = tests::spawn_learner(&cfg, &run, &dir.path().join("learner.log"));
    let deadline = Instant::now() + Duration::from_secs(240);
    let actor_status = loop {
        if let Some(s) = actor.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = actor.kill();
            break actor.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    actor.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    // SIGINT once the learner runs (its handler installed).
    let log_path = dir.path().join("learner.log");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(&log_path).unwrap_or_default().contains("learner running") {
        assert!(Instant::now() < deadline, "the learner did not start in 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill").args(["-INT", &learner.id().to_string()]).status();
    let learner_status = learner.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(learner_status.success(), "the learner stops cleanly ({learner_status}):\n{log}");

    let spec = interfaces::env::obs_spec(&cell);
    let store = ReplayStore::open_read_only(run.join("replay"), &spec).unwrap();
    assert_eq!(store.online_len() as u64, steps, "every transition stored, none lost to a forged acknowledgement");
    assert!(actor_status.success(), "every transition acknowledged by the learner: {out}");
    assert!(out.contains(&format!("{steps} acknowledged")), "{out}");
}
