//! Hostile input on the bus: valid messages of the wrong type, floods, oversize payloads, absurd sequence
//! numbers. Each test opens its own sessions on its own loopback port; the hostile side is a second session, as
//! another process on the network would be. No test passes or fails on time: they wait on conditions with
//! generous deadlines.

mod common;

use bus::qos::{self, FRAME_MAX_PAYLOAD, FULL_FRAME_MAX_PAYLOAD, SMALL_MAX_PAYLOAD, TRANSITION_MAX_PAYLOAD};
use bus::{Bus, BusError, DecodeError, Subscriber, decode, encode};
use common::*;
use interfaces::config::CellConfig;
use interfaces::drivers::MAX_DOF;
use interfaces::keys::{
    ALL_TOPICS, ARM_STATE, EVENT, FRAME, FULL_FRAME, LEARNER_METRICS, OPERATOR_COMMAND, POLICY_WEIGHTS, TRANSITIONS,
    Topic,
};
use interfaces::msg::*;
use interfaces::msg_training::{
    EpisodeReport, ObservationMsg, PolicyWeights, SceneReset, SceneState, TransitionAck, TransitionMsg,
};
use interfaces::time::Stamp;
use std::time::Duration;
use zenoh::Wait;
use zenoh::qos::CongestionControl;

/// Puts raw `bytes` on `key` from `session`, reliably (blocking under congestion rather than dropping: a large
/// payload must arrive for the test to mean anything).
fn put_raw(session: &Bus, key: String, bytes: Vec<u8>) {
    session.session().put(key, bytes).congestion_control(CongestionControl::Block).wait().expect("raw put");
}

/// Messages sent as fast as possible in a flood.
const FLOOD: u64 = 20_000;

/// `topic`'s key carrying another message type `U` (what a confused or hostile peer could put there).
fn retyped<T, U>(topic: Topic<T>) -> Topic<U> {
    let i = topic.info();
    Topic::new(i.node, i.name, i.class)
}

/// Publishes `msg` from `publisher` until `sub` has received one (discovery between sessions takes a moment),
/// then empties `sub`'s queue and returns its counters at that point.
fn connect<T: Message + Clone>(
    publisher: &mut bus::Publisher<T>,
    sub: &Subscriber<T>,
    msg: &T,
) -> bus::SubscriberCounts {
    wait_until(30, &format!("a first {} on {}", T::TYPE, sub.key()), || {
        publisher.publish(&mut msg.clone()).expect("publish");
        sub.recv_timeout(Duration::from_millis(50)).is_some()
    });
    // Stragglers of the loop above may still be on their way: wait until two polls in a row find nothing new.
    let mut quiet = 0;
    while quiet < 2 {
        quiet = if sub.recv_timeout(Duration::from_millis(200)).is_some() { 0 } else { quiet + 1 };
    }
    sub.counts()
}

/// One value of every message type, each with its `TYPE`.
fn one_of_each() -> Vec<(&'static str, Vec<u8>)> {
    fn enc<T: Message>(m: &T) -> (&'static str, Vec<u8>) {
        (T::TYPE, encode(m).expect("encode"))
    }
    vec![
        enc(&arm_state()),
        enc(&pose_target()),
        enc(&commands()[0]),
        enc(&frame()),
        enc(&event()),
        enc(&LearnerMetrics::default()),
        enc(&TeleopCommand::default()),
        enc(&TransitionMsg::default()),
        enc(&TransitionAck::default()),
        enc(&PolicyWeights::default()),
        enc(&EpisodeReport::default()),
        enc(&SceneReset::default()),
        enc(&SceneState::default()),
    ]
}

/// Decodes bytes as one message type: `Ok(())` when they are one, the error otherwise.
type Check = fn(&[u8]) -> Result<(), DecodeError>;

/// Decodes `bytes` as `T`: `Ok(())` when it is one, the error otherwise.
fn decodes_as<T: Message>(bytes: &[u8]) -> Result<(), DecodeError> {
    decode::<T>(bytes).map(|_| ())
}

#[test]
fn every_message_type_is_refused_as_every_other_type() {
    let all = one_of_each();
    let names: std::collections::BTreeSet<&str> = all.iter().map(|(n, _)| *n).collect();
    assert_eq!(names.len(), all.len(), "every type has its own name on the wire");
    // The envelope names the type and the decoder checks it, so a message whose fields happen to fit another
    // type (a missing Option field, an ignored extra field) is still refused.
    let checks: [(&str, Check); 13] = [
        (ArmState::TYPE, decodes_as::<ArmState>),
        (PoseTarget::TYPE, decodes_as::<PoseTarget>),
        (OperatorCommand::TYPE, decodes_as::<OperatorCommand>),
        (Frame::TYPE, decodes_as::<Frame>),
        (Event::TYPE, decodes_as::<Event>),
        (LearnerMetrics::TYPE, decodes_as::<LearnerMetrics>),
        (TeleopCommand::TYPE, decodes_as::<TeleopCommand>),
        (TransitionMsg::TYPE, decodes_as::<TransitionMsg>),
        (TransitionAck::TYPE, decodes_as::<TransitionAck>),
        (PolicyWeights::TYPE, decodes_as::<PolicyWeights>),
        (EpisodeReport::TYPE, decodes_as::<EpisodeReport>),
        (SceneReset::TYPE, decodes_as::<SceneReset>),
        (SceneState::TYPE, decodes_as::<SceneState>),
    ];
    for (sent, bytes) in &all {
        for (wanted, check) in &checks {
            match check(bytes) {
                Ok(()) => assert_eq!(sent, wanted, "a {sent} was accepted as a {wanted}"),
                Err(DecodeError::WrongType { got, expected }) => {
                    assert_ne!(sent, wanted, "a {sent} refused as itself");
                    assert_eq!((got.as_str(), expected), (*sent, *wanted));
                }
                Err(e) => panic!("a {sent} decoded as a {wanted}: {e} (expected a type mismatch)"),
            }
        }
    }
}

#[test]
fn a_valid_message_of_the_wrong_type_is_counted_and_never_delivered() {
    let (node, hostile) = two_peers("hostile_types");
    let states = node.subscribe(ARM_STATE, None).expect("subscribe");
    let cmds = node.subscribe(OPERATOR_COMMAND, None).expect("subscribe");
    let mut state_pub = hostile.publisher(ARM_STATE, None).expect("publisher");
    let mut command_pub = hostile.publisher(OPERATOR_COMMAND, None).expect("publisher");
    let s0 = connect(&mut state_pub, &states, &arm_state());
    let c0 = connect(&mut command_pub, &cmds, &commands()[0]);

    // An ArmState on the command key and an OperatorCommand on the state key, 100 of each.
    let mut state_on_command_key = hostile.publisher(retyped::<_, ArmState>(OPERATOR_COMMAND), None).expect("pub");
    let mut command_on_state_key = hostile.publisher(retyped::<_, OperatorCommand>(ARM_STATE), None).expect("pub");
    // One pair at a time, each waited for until both are counted: the state key is best effort (a loaded machine's
    // transport may drop a message of it), so a pair not counted within 5 s is sent again.
    let counted = || (states.counts().decode_errors - s0.decode_errors, cmds.counts().decode_errors - c0.decode_errors);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while counted().0 < 100 || counted().1 < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "waited 120 s for 100 decode errors on each key: {:?}",
            counted()
        );
        let before = counted();
        if before.1 < 100 {
            state_on_command_key.publish(&mut arm_state()).expect("publish");
        }
        if before.0 < 100 {
            command_on_state_key.publish(&mut commands()[2].clone()).expect("publish");
        }
        let pair_deadline = std::time::Instant::now() + Duration::from_secs(5);
        while counted() == before && std::time::Instant::now() < pair_deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // A valid message of the right type still comes through. Besides it, only late stragglers of `connect` (the
    // same valid messages it sent; a loaded machine may deliver one after its quiet period) may be delivered:
    // nothing of the wrong-type messages.
    let mut good = commands()[1].clone();
    assert_ne!(good.command, commands()[0].command);
    command_pub.publish(&mut good).expect("publish");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut delivered = Vec::new();
    while delivered.last() != Some(&good.command) {
        assert!(std::time::Instant::now() < deadline, "the valid command after the wrong ones: {delivered:?}");
        if let Some(m) = cmds.recv_timeout(Duration::from_millis(100)) {
            delivered.push(m.msg.command);
        }
    }
    let (s, c) = (states.counts(), cmds.counts());
    while let Some(m) = cmds.try_recv() {
        delivered.push(m.msg.command);
    }
    let strays = delivered.iter().filter(|d| **d != good.command).count() as u64;
    assert!(delivered.iter().all(|d| *d == good.command || *d == commands()[0].command), "{delivered:?}");
    let mut state_strays = 0;
    while let Some(m) = states.try_recv() {
        assert_eq!(m.msg.q, arm_state().q, "only stragglers of connect on the state key");
        state_strays += 1;
    }
    // At least 100 each (a pair sent again after a slow one may add one), every one counted, none delivered.
    assert!(s.decode_errors - s0.decode_errors >= 100 && c.decode_errors - c0.decode_errors >= 100);
    assert!(s.received - s0.received <= state_strays, "{} received on the state key", s.received - s0.received);
    assert!(c.received - c0.received <= 1 + strays, "{} received on the command key", c.received - c0.received);
    assert_eq!((s.oversize, c.oversize), (0, 0));
}

/// Floods `topic` (`instance`) with [`FLOOD`] messages from another session while the node reads nothing, then
/// with marked ones until one arrives: the queue never holds more than its capacity, the overflow is counted as
/// drops ([`Subscriber::dropped`]), and what the node finds when it reads again is the newest (newest wins): the
/// marked message last, everything before it in order, every message received either read or counted dropped.
fn flood_a_key<T: Message + Clone + PartialEq>(
    node: &Bus,
    hostile: &Bus,
    topic: Topic<T>,
    instance: Option<&str>,
    msg: T,
    marked: fn(&T) -> T,
) {
    let sub = node.subscribe(topic, instance).expect("subscribe");
    let capacity = sub.queue_capacity();
    assert!(capacity < FLOOD as usize, "{} holds {capacity}: the flood must overflow it", sub.key());
    let mut publisher = hostile.publisher(topic, instance).expect("publisher");
    let before = connect(&mut publisher, &sub, &msg);
    let mut sent = 0u64;
    for i in 0..FLOOD {
        publisher.publish(&mut msg.clone()).expect("publish");
        sent += 1;
        if i % 500 == 0 {
            assert!(sub.queued() <= capacity, "{} queued, capacity {capacity}", sub.queued());
        }
    }
    // Every message numbered up to the newest marked one is in: received, or counted missing once a later one
    // arrived (a congested network may drop some of a droppable class on the way).
    let mut last_marked = 0;
    wait_until(180, &format!("a marked message after the flood on {}", sub.key()), || {
        let c = sub.counts();
        if last_marked > 0 && c.received + c.seq_gaps - before.received - before.seq_gaps >= sent {
            return true;
        }
        last_marked = publisher.publish(&mut marked(&msg)).expect("publish");
        sent += 1;
        false
    });
    assert!(sub.queued() <= capacity, "{} queued, capacity {capacity}", sub.queued());
    let c = sub.counts();
    let read: Vec<T> = std::iter::from_fn(|| sub.try_recv()).map(|r| r.msg).collect();
    let last = read.last().expect("the queue holds the newest messages");
    assert!(last == &marked(last), "the newest message read is the last one sent: newest wins");
    assert_eq!(last.header().seq, last_marked, "the last marked message is the newest read");
    assert!(read.windows(2).all(|w| w[0].header().seq < w[1].header().seq), "in order");
    assert_eq!(c.queue_drops, sub.dropped());
    assert!(c.queue_drops > before.queue_drops, "the overflow is counted: {c:?}");
    assert_eq!(
        c.received - before.received,
        read.len() as u64 + c.queue_drops - before.queue_drops,
        "every received message was read or counted dropped: {c:?}"
    );
    assert_eq!((c.decode_errors, c.oversize), (before.decode_errors, before.oversize));
}

#[test]
fn a_flood_on_a_control_key_keeps_the_queue_bounded_and_the_newest_messages_arrive() {
    let (node, hostile) = two_peers("hostile_flood_control");
    flood_a_key(&node, &hostile, ARM_STATE, None, arm_state(), |m| ArmState { cycles: u64::MAX, ..m.clone() });
}

#[test]
fn a_flood_on_a_telemetry_key_keeps_the_queue_bounded_and_the_newest_messages_arrive() {
    let (node, hostile) = two_peers("hostile_flood_telemetry");
    let metrics = LearnerMetrics { step: 1, ..LearnerMetrics::default() };
    flood_a_key(&node, &hostile, LEARNER_METRICS, None, metrics, |m| LearnerMetrics { step: u64::MAX, ..m.clone() });
}

#[test]
fn a_flood_on_a_reliable_key_keeps_the_queue_bounded_and_the_newest_messages_arrive() {
    // Reliable on the wire (nothing lost on the way), bounded in the node: a node that does not read loses the
    // oldest, counted, and never runs out of memory.
    let (node, hostile) = two_peers("hostile_flood_reliable");
    let marked = |m: &Event| Event { text: "after the flood".into(), ..m.clone() };
    flood_a_key(&node, &hostile, EVENT, Some("hostile"), event(), marked);
}

#[test]
fn a_command_flood_keeps_the_operator_command_queue_bounded_and_the_newest_command_arrives() {
    let (node, hostile) = two_peers("hostile_flood_commands");
    let gains = commands().into_iter().find(|c| matches!(c.command, Command::SetGains(_))).expect("gains");
    let stop = |m: &OperatorCommand| OperatorCommand { command: Command::EStop, ..m.clone() };
    flood_a_key(&node, &hostile, OPERATOR_COMMAND, None, gains, stop);
}

#[test]
fn publishers_refuse_payloads_over_the_topic_limit() {
    let (node, _) = two_peers("hostile_publish_limit");
    let mut events = node.publisher(EVENT, Some("hostile")).expect("publisher");
    assert_eq!(events.max_payload(), SMALL_MAX_PAYLOAD);
    let mut long = Event { text: "x".repeat(SMALL_MAX_PAYLOAD), ..event() };
    match events.publish(&mut long) {
        Err(BusError::Oversize { key, size, limit }) => {
            assert_eq!((key.as_str(), limit), ("corrigo/hostile_publish_limit/hostile/event", SMALL_MAX_PAYLOAD));
            assert!(size > limit, "{size}");
        }
        other => panic!("an oversize event was not refused: {other:?}"),
    }
    let err = events.put_raw(vec![0; SMALL_MAX_PAYLOAD + 1]).expect_err("oversize raw bytes refused");
    let text = err.to_string();
    assert!(text.contains("hostile/event") && text.contains(&SMALL_MAX_PAYLOAD.to_string()), "{text}");
    events.put_raw(vec![0; SMALL_MAX_PAYLOAD]).expect("exactly the limit is sent");
    events.publish(&mut event()).expect("an ordinary event is sent");
}

#[test]
fn subscribers_refuse_payloads_over_the_topic_limit_before_decoding() {
    let (node, hostile) = two_peers("hostile_oversize");
    let states = node.subscribe(ARM_STATE, None).expect("subscribe");
    let frames = node.subscribe(FRAME, Some("*")).expect("subscribe");
    let mut state_pub = hostile.publisher(ARM_STATE, None).expect("publisher");
    let mut frame_pub = hostile.publisher(FRAME, Some("front")).expect("publisher");
    let s0 = connect(&mut state_pub, &states, &arm_state());
    let f0 = connect(&mut frame_pub, &frames, &frame());
    let raw = |key: String, bytes: Vec<u8>| put_raw(&hostile, key, bytes);

    // Garbage one byte over the limit is refused as oversize; at the limit it is decoded (and fails as garbage).
    raw(node.key(ARM_STATE, None), vec![0xff; SMALL_MAX_PAYLOAD + 1]);
    raw(node.key(ARM_STATE, None), vec![0xff; SMALL_MAX_PAYLOAD]);
    // A well-formed frame over the policy-frame limit is refused too, whatever it contains.
    let big = Frame { width: 2048, height: 2048, data: vec![7; 2048 * 2048 * 3], ..frame() };
    let big_bytes = encode(&big).expect("encode");
    assert!(big_bytes.len() > FRAME_MAX_PAYLOAD);
    raw(node.key(FRAME, Some("front")), big_bytes);
    wait_until(60, "the oversize payloads counted", || {
        states.counts().oversize == 1
            && states.counts().decode_errors > s0.decode_errors
            && frames.counts().oversize == 1
    });
    assert_eq!(states.counts().decode_errors - s0.decode_errors, 1);
    assert_eq!(frames.counts().decode_errors, f0.decode_errors);
    assert!(states.try_recv().is_none() && frames.try_recv().is_none(), "nothing delivered");

    // The largest policy frame the config allows (1024×1024 RGB8) is delivered.
    let largest = Frame { width: 1024, height: 1024, data: vec![9; 1024 * 1024 * 3], ..frame() };
    wait_until(60, "the largest policy frame", || {
        frame_pub.publish(&mut largest.clone()).expect("the largest frame is within the limit");
        frames.recv_timeout(Duration::from_millis(200)).is_some_and(|r| r.msg.width == 1024)
    });
    assert_eq!(frames.counts().oversize, 1);
}

#[test]
fn a_payload_over_the_largest_limit_is_refused_on_the_weights_key() {
    // 256 MiB + 1 byte: what the bus carries at most, plus one.
    let (node, hostile) = two_peers("hostile_huge");
    let weights = node.subscribe(POLICY_WEIGHTS, None).expect("subscribe");
    let mut publisher = hostile.publisher(POLICY_WEIGHTS, None).expect("publisher");
    let w0 = connect(&mut publisher, &weights, &PolicyWeights { safetensors: vec![1, 2, 3], ..Default::default() });
    let limit = weights.max_payload();
    assert_eq!(limit, qos::WEIGHTS_MAX_PAYLOAD);
    put_raw(&hostile, node.key(POLICY_WEIGHTS, None), vec![0u8; limit + 1]);
    wait_until(120, "the huge payload counted", || weights.counts().oversize == 1);
    let mut ok = PolicyWeights { version: 2, safetensors: vec![4; 1 << 20], ..Default::default() };
    publisher.publish(&mut ok).expect("publish");
    let got = weights.recv_timeout(Duration::from_secs(60)).expect("weights after the huge payload");
    assert_eq!(got.msg.version, 2);
    assert_eq!(weights.counts().decode_errors, w0.decode_errors);
}

#[test]
fn a_sequence_number_at_u64_max_does_not_break_the_subscriber() {
    // Regression: the gap check computed `previous + 1`, which overflows (a panic on zenoh's thread in a debug
    // build) after a message numbered u64::MAX.
    let (node, hostile) = two_peers("hostile_seq");
    let cmds = node.subscribe(OPERATOR_COMMAND, None).expect("subscribe");
    let mut publisher = hostile.publisher(OPERATOR_COMMAND, None).expect("publisher");
    let c0 = connect(&mut publisher, &cmds, &commands()[0]);
    for seq in [u64::MAX, u64::MAX, 1, 2] {
        let c = OperatorCommand { header: Header { seq, stamp_ns: Stamp(1) }, command: Command::StopEpisode };
        publisher.publish_as_is(&c).expect("publish");
    }
    // The publisher's own numbering goes on (a step back after the hostile numbers: not a gap).
    publisher.publish(&mut commands()[1].clone()).expect("publish");
    let mut got = Vec::new();
    wait_until(60, "the five commands", || {
        got.extend(std::iter::from_fn(|| cmds.try_recv()).map(|r| r.msg.command));
        got.len() == 5
    });
    assert_eq!(got.last(), Some(&Command::ResetEStop), "{got:?}");
    let c = cmds.counts();
    assert_eq!(c.received - c0.received, 5);
    // The jump to u64::MAX reads as a huge gap (it is one), counted without wrapping around.
    assert!(c.seq_gaps > u64::MAX / 2, "{c:?}");
}

/// The limits hold the largest messages the project's nodes make at the edges of the config's ranges. The
/// ranges are checked against the config's validation, so widening them fails here until the limits follow.
#[test]
fn the_limits_hold_the_largest_messages_the_config_allows() {
    let base = include_str!("../../hardware_configs/sim_panda.toml");
    let with = |capture: u32, policy: u32| {
        let text = base.replacen(
            "capture_width = 128\ncapture_height = 128",
            &format!("capture_width = {capture}\ncapture_height = {capture}\nwidth = {policy}\nheight = {policy}"),
            1,
        );
        CellConfig::from_toml_str(&text, "sim_panda.toml")
    };
    with(8192, 1024).expect("8192×8192 captures and 1024×1024 policy images are allowed");
    assert!(with(8193, 1024).is_err() && with(8192, 1025).is_err(), "the config's ranges grew: raise the limits");

    // Small messages at their widest: every float a double, every counter at its maximum.
    let wide = |i: usize| 0.1 + i as f64 * 1e-9;
    let state = ArmState {
        q: (0..MAX_DOF).map(wide).collect(),
        dq: (0..MAX_DOF).map(wide).collect(),
        tau: (0..MAX_DOF).map(wide).collect(),
        ee_twist: [wide(1); 6],
        deadline_misses: u64::MAX,
        cycles: u64::MAX,
        header: Header { seq: u64::MAX, stamp_ns: Stamp(u64::MAX) },
        ..arm_state()
    };
    let metrics = LearnerMetrics {
        header: Header { seq: u64::MAX, stamp_ns: Stamp(u64::MAX) },
        step: u64::MAX,
        updates: u64::MAX,
        updates_per_s: wide(1),
        critic_loss: Some(wide(2)),
        actor_loss: Some(wide(3)),
        temperature: Some(wide(4)),
        q_mean: Some(wide(5)),
        online_size: u64::MAX,
        demo_size: u64::MAX,
        success_rate: Some(wide(6)),
        success_ci95: Some(wide(7)),
        episode_return: Some(wide(8)),
        intervention_rate: Some(wide(9)),
        policy_version: u64::MAX,
        fleet: Vec::new(),
        diagnostics: None,
    };
    let small = [
        encode(&state).expect("encode").len(),
        encode(&metrics).expect("encode").len(),
        encode(&commands()[6]).expect("encode").len(),
        encode(&Event { text: "e".repeat(4096), ..event() }).expect("encode").len(),
        encode(&EpisodeReport { episode_return: wide(1), cycle_ms: wide(2), ..Default::default() }).expect("e").len(),
    ];
    for (size, topic) in small.iter().zip([ARM_STATE.info(), LEARNER_METRICS.info(), OPERATOR_COMMAND.info()]) {
        assert!(*size * 32 < qos::max_payload(topic), "{topic:?}: {size} bytes");
    }
    assert!(small.iter().all(|s| *s < 8 << 10), "{small:?}");

    // Frames: the encoded size is a fixed envelope plus the pixels (CBOR byte strings of 64 KiB .. 4 GiB have
    // a 5-byte head), so the largest frames are checked without allocating them.
    let envelope = |data: usize| {
        let f = Frame { camera: "c".repeat(64), width: 8192, height: 8192, data: vec![0; data], ..frame() };
        encode(&f).expect("encode").len() - data
    };
    let overhead = envelope(1 << 16);
    assert!(overhead + 1024 * 1024 * 3 <= FRAME_MAX_PAYLOAD);
    assert!(overhead + 8192 * 8192 * 3 <= FULL_FRAME_MAX_PAYLOAD);
    assert_eq!(qos::max_payload(FULL_FRAME.info()), FULL_FRAME_MAX_PAYLOAD);

    // Transitions: two 1024×1024 RGB8 images per camera; the envelope grows by each image's byte-string head.
    let transition = |cameras: usize, side: usize| {
        let obs = ObservationMsg {
            proprio: (0..64).map(|i| wide(i) as f32).collect(),
            images: (0..cameras).map(|_| vec![0u8; side * side * 3].into()).collect(),
        };
        TransitionMsg { actor: "a".repeat(64), obs: obs.clone(), next_obs: obs, ..Default::default() }
    };
    let per_image = encode(&transition(2, 256)).expect("encode").len() - encode(&transition(1, 256)).expect("e").len();
    let fixed = encode(&transition(0, 256)).expect("encode").len();
    let head = per_image / 2 - 256 * 256 * 3;
    let largest = |cameras: usize| fixed + cameras * 2 * (head + 1024 * 1024 * 3);
    assert!(largest(42) <= TRANSITION_MAX_PAYLOAD, "{}", largest(42));
    assert_eq!(qos::max_payload(TRANSITIONS.info()), TRANSITION_MAX_PAYLOAD);

    // Every topic has a limit at least as large as its class's smallest.
    for t in ALL_TOPICS {
        assert!(qos::max_payload(*t) >= SMALL_MAX_PAYLOAD, "{t:?}");
    }
}

#[test]
fn an_arrival_hook_sees_every_estop_of_a_flood_that_overflows_the_queue() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let (node, hostile) = two_peers("hostile_arrival_hook");
    let estops = Arc::new(AtomicU64::new(0));
    let seen = estops.clone();
    let commands = node
        .subscribe_with(OPERATOR_COMMAND, None, move |r: &bus::Received<OperatorCommand>| {
            if matches!(r.msg.command, Command::EStop) {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        })
        .expect("subscribe");
    let mut p = hostile.publisher(OPERATOR_COMMAND, None).expect("publisher");
    let gains = commands_of_kind(|c| matches!(c, Command::SetGains(_)));
    // Wait for the link: the first message that arrives.
    wait_until(20, "the subscriber to hear the publisher", || {
        p.publish(&mut gains.clone()).expect("publish");
        commands.try_recv().is_some()
    });
    // A flood of gains with one e-stop in its middle, never read by the node: the queue keeps the newest, the
    // e-stop is pushed out of it, and the hook saw it all the same.
    for i in 0..2000 {
        let mut c =
            if i == 1000 { OperatorCommand { command: Command::EStop, ..gains.clone() } } else { gains.clone() };
        p.publish(&mut c).expect("publish");
    }
    wait_until(20, "the flood to arrive", || commands.counts().received >= 2000);
    assert_eq!(estops.load(Ordering::Relaxed), 1, "the hook saw the e-stop");
    assert!(commands.dropped() > 0, "the flood overflowed the queue");
    let mut queued_estop = false;
    while let Some(c) = commands.try_recv() {
        queued_estop |= matches!(c.msg.command, Command::EStop);
    }
    assert!(!queued_estop, "the e-stop was pushed out of the queue: only the hook could latch it");
}

fn commands_of_kind(kind: impl Fn(&Command) -> bool) -> OperatorCommand {
    commands().into_iter().find(|c| kind(&c.command)).expect("a command of that kind")
}
