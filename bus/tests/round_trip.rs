//! Every message type through the bus: in one process, and between two processes on loopback.

mod common;

use bus::{Bus, decode, encode};
use common::*;
use interfaces::keys::{ARM_STATE, EVENT, FRAME, OPERATOR_COMMAND, POSE_TARGET};
use interfaces::msg::*;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

/// Receives until `want` matches or the deadline passes, publishing `msg` repeatedly meanwhile (discovery
/// between sessions takes a moment, so the first messages may go nowhere).
fn exchange<T: Message + PartialEq + Clone + std::fmt::Debug>(
    pubr: &mut bus::Publisher<T>,
    sub: &bus::Subscriber<T>,
    msg: &T,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let mut m = msg.clone();
        pubr.publish(&mut m).expect("publish");
        if let Some(r) = sub.recv_timeout(Duration::from_millis(50)) {
            return r.msg;
        }
    }
    panic!("no {} arrived on {} within 10 s", T::TYPE, sub.key());
}

#[test]
fn every_message_type_round_trips_in_one_process() {
    let bus = Bus::open(&bus_config(vec!["tcp/127.0.0.1:0".into()], vec![]), "rt1").expect("open bus");

    let mut p = bus.publisher::<ArmState>(ARM_STATE, None).unwrap();
    let s = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    let got = exchange(&mut p, &s, &arm_state());
    assert!(same_but_seq(&arm_state(), &got), "{got:?}");
    assert!(got.header.seq >= 1);

    let mut p = bus.publisher::<PoseTarget>(POSE_TARGET, None).unwrap();
    let s = bus.subscribe::<PoseTarget>(POSE_TARGET, None).unwrap();
    assert!(same_but_seq(&pose_target(), &exchange(&mut p, &s, &pose_target())));

    let mut p = bus.publisher::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap();
    let s = bus.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap();
    for c in commands() {
        let mut m = c.clone();
        p.publish(&mut m).unwrap();
        let got = s.recv_timeout(Duration::from_secs(5)).expect("command delivered");
        assert!(same_but_seq(&c, &got.msg), "{:?} != {:?}", c, got.msg);
    }

    let mut p = bus.publisher::<Frame>(FRAME, Some("front")).unwrap();
    let s = bus.subscribe::<Frame>(FRAME, Some("*")).unwrap();
    let got = exchange(&mut p, &s, &frame());
    assert!(same_but_seq(&frame(), &got));

    let mut p = bus.publisher::<Event>(EVENT, Some("controller")).unwrap();
    let s = bus.subscribe::<Event>(EVENT, Some("*")).unwrap();
    assert!(same_but_seq(&event(), &exchange(&mut p, &s, &event())));
}

#[test]
fn garbage_on_a_topic_is_counted_and_the_subscriber_keeps_working() {
    let bus = Bus::open(&bus_config(vec!["tcp/127.0.0.1:0".into()], vec![]), "rt2").expect("open bus");
    let mut p = bus.publisher::<ArmState>(ARM_STATE, None).unwrap();
    let s = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    let _ = exchange(&mut p, &s, &arm_state());
    while s.try_recv().is_some() {}
    let before = s.decode_errors();
    let garbage: [&[u8]; 4] = [b"\xff\xfe garbage", b"", &[0xa1, 0x61, 0x78, 0x01], &encode(&event()).unwrap()];
    for g in garbage {
        p.put_raw(g.to_vec()).unwrap();
    }
    let mut good = arm_state();
    p.publish(&mut good).unwrap();
    let got = s.recv_timeout(Duration::from_secs(5)).expect("valid message after garbage delivered");
    assert!(same_but_seq(&arm_state(), &got.msg));
    assert!(s.try_recv().is_none(), "garbage never reaches the node as a value");
    assert_eq!(s.decode_errors() - before, 4);
}

#[test]
fn decoding_rejects_other_types_and_versions() {
    let bytes = encode(&event()).unwrap();
    let err = decode::<ArmState>(&bytes).unwrap_err();
    assert!(err.to_string().contains("`Event`"), "{err}");
    let mut v = bytes.clone();
    // The envelope's first entry is "schema": 1; patch the version to 9.
    let pos = v.windows(7).position(|w| w == b"schema\x01").expect("schema field") + 6;
    v[pos] = 9;
    assert!(matches!(decode::<Event>(&v), Err(bus::DecodeError::Schema { got: 9, .. })));
    for n in 0..bytes.len() {
        assert!(decode::<Event>(&bytes[..n]).is_err(), "truncated at {n} accepted");
    }
}

const CHILD_ENV: &str = "CORRIGO_BUS_TEST_CHILD_CONNECT";

/// Child role: connect to the parent and echo every message type back, on the `echo` cell.
fn child(connect: String) {
    let bus = Bus::open(&bus_config(vec![], vec![connect]), "xproc").expect("child opens bus");
    let state = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    let cmd = bus.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap();
    let frames = bus.subscribe::<Frame>(FRAME, Some("*")).unwrap();
    let mut ev = bus.publisher::<Event>(EVENT, Some("child")).unwrap();
    let mut state_back = bus.publisher::<ArmState>(ARM_STATE, None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = (false, false, false);
    while Instant::now() < deadline && !(seen.0 && seen.1 && seen.2) {
        if let Some(r) = state.recv_timeout(Duration::from_millis(20))
            && r.msg.cycles == 1000
        {
            seen.0 = true;
        }
        if let Some(r) = cmd.try_recv() {
            seen.1 = r.msg.command == Command::SetGains(gains());
        }
        if let Some(r) = frames.try_recv() {
            seen.2 = same_but_seq(&frame(), &r.msg);
        }
    }
    let text = format!("seen state={} command={} frame={}", seen.0, seen.1, seen.2);
    for _ in 0..200 {
        let mut e = Event { text: text.clone(), ..event() };
        ev.publish(&mut e).unwrap();
        let mut s = ArmState { cycles: 2000, ..arm_state() };
        state_back.publish(&mut s).unwrap();
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn every_message_type_round_trips_between_two_processes() {
    if let Ok(connect) = std::env::var(CHILD_ENV) {
        child(connect);
        return;
    }
    let port = free_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let bus = Bus::open(&bus_config(vec![endpoint.clone()], vec![]), "xproc").expect("parent opens bus");
    let events = bus.subscribe::<Event>(EVENT, Some("*")).unwrap();
    let states = bus.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut proc = Process::new(exe)
        .args(["--exact", "every_message_type_round_trips_between_two_processes", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &endpoint)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn child process");
    let mut state = bus.publisher::<ArmState>(ARM_STATE, None).unwrap();
    let mut cmd = bus.publisher::<OperatorCommand>(OPERATOR_COMMAND, None).unwrap();
    let mut frames = bus.publisher::<Frame>(FRAME, Some("front")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut report = None;
    let mut echoed_state = false;
    while Instant::now() < deadline && (report.is_none() || !echoed_state) {
        state.publish(&mut arm_state()).unwrap();
        cmd.publish(&mut commands().pop().unwrap()).unwrap();
        frames.publish(&mut frame()).unwrap();
        if let Some(e) = events.recv_timeout(Duration::from_millis(30)) {
            assert_eq!(e.key, "corrigo/xproc/child/event");
            report = Some(e.msg.text);
        }
        while let Some(s) = states.try_recv() {
            echoed_state |= s.msg.cycles == 2000 && s.msg.q == arm_state().q;
        }
    }
    let _ = proc.kill();
    let _ = proc.wait();
    assert_eq!(report.as_deref(), Some("seen state=true command=true frame=true"));
    assert!(echoed_state, "the child's ArmState arrived in the parent");
}

#[test]
fn presence_follows_liveliness_tokens() {
    let port = free_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let a = Bus::open(&bus_config(vec![endpoint.clone()], vec![]), "alive").unwrap();
    let b = Bus::open(&bus_config(vec![], vec![endpoint]), "alive").unwrap();
    let presence = a.presence().unwrap();
    let token = b.announce("learner").unwrap();
    let _own = a.announce("controller").unwrap();
    let wait_for = |cond: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !cond() {
            std::thread::sleep(Duration::from_millis(10));
        }
        cond()
    };
    assert!(wait_for(&|| presence.alive() == vec!["controller".to_string(), "learner".to_string()]), "{presence:?}");
    drop(token);
    assert!(wait_for(&|| !presence.is_alive("learner")), "a dropped token withdraws the node: {presence:?}");
    drop(b);
    assert!(presence.is_alive("controller"));
}

#[test]
fn a_second_local_peer_joins_the_first_instead_of_failing() {
    let port = free_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let cfg = bus_config(vec![endpoint.clone()], vec![endpoint.clone()]);
    let first = Bus::open(&cfg, "hub").unwrap();
    assert_eq!(first.listening(), std::slice::from_ref(&endpoint));
    let second = Bus::open(&cfg, "hub").expect("the second peer joins");
    assert!(second.listening().is_empty(), "the taken endpoint is skipped: {:?}", second.listening());
    let mut p = second.publisher::<ArmState>(ARM_STATE, None).unwrap();
    let s = first.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    assert!(same_but_seq(&arm_state(), &exchange(&mut p, &s, &arm_state())));
}

#[test]
fn two_nodes_that_joined_a_third_talk_to_each_other() {
    // A cell's layout: the controller node hosts the endpoint, the actor and the learner join it; the learner
    // (re)starts after the actor. Peers do not forward between peers, so the two joiners need a direct link.
    let port = free_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let cfg = bus_config(vec![endpoint.clone()], vec![endpoint.clone()]);
    let hub = Bus::open(&cfg, "trio").unwrap();
    let actor = Bus::open(&cfg, "trio").expect("the actor joins");
    let learner = Bus::open(&cfg, "trio").expect("the learner joins");
    assert!(actor.listening().is_empty() && learner.listening().is_empty(), "only the hub hosts the endpoint");
    let mut p = actor.publisher::<ArmState>(ARM_STATE, None).unwrap();
    let s = learner.subscribe::<ArmState>(ARM_STATE, None).unwrap();
    assert!(same_but_seq(&arm_state(), &exchange(&mut p, &s, &arm_state())));
    drop(hub);
}

#[test]
fn peers_opened_at_the_same_instant_find_each_other() {
    // Both probe the endpoint at once; exactly one must host it and the other join, never both trying to host.
    for _ in 0..5 {
        let port = free_port();
        let endpoint = format!("tcp/127.0.0.1:{port}");
        let cfg = bus_config(vec![endpoint.clone()], vec![endpoint]);
        let barrier = std::sync::Barrier::new(2);
        let (a, b) = std::thread::scope(|s| {
            let open = || {
                barrier.wait();
                Bus::open(&cfg, "race").unwrap()
            };
            let a = s.spawn(open);
            let b = s.spawn(open);
            (a.join().unwrap(), b.join().unwrap())
        });
        let hosts = usize::from(!a.listening().is_empty()) + usize::from(!b.listening().is_empty());
        assert_eq!(hosts, 1, "exactly one session hosts the endpoint");
        let mut p = a.publisher::<ArmState>(ARM_STATE, None).unwrap();
        let sub = b.subscribe::<ArmState>(ARM_STATE, None).unwrap();
        assert!(same_but_seq(&arm_state(), &exchange(&mut p, &sub, &arm_state())));
    }
}

#[test]
fn a_zero_stamp_travels_as_zero_and_a_stamped_one_as_stamped() {
    use interfaces::Stamp;
    let bus = Bus::open(&bus_config(vec!["tcp/127.0.0.1:0".into()], vec![]), "rt-stamp").expect("open bus");
    let mut p = bus.publisher::<Event>(EVENT, Some("n")).unwrap();
    let s = bus.subscribe::<Event>(EVENT, Some("n")).unwrap();
    let mut unstamped = Event { header: Header::default(), ..event() };
    let got = exchange(&mut p, &s, &unstamped);
    assert_eq!(got.header.stamp_ns, Stamp(0), "the bus does not invent a stamp");
    unstamped.header = Header::now();
    let want = unstamped.header.stamp_ns;
    let got = exchange(&mut p, &s, &unstamped);
    assert_eq!(got.header.stamp_ns, want, "the publisher's stamp is kept");
    assert!(want > Stamp(0));
}
