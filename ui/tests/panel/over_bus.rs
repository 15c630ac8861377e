//! The panel on a real bus (zenoh on loopback): its commands are published, and the feed fills its state.

use crate::fixtures::{arm_state, camera_image, cell, panel_on};
use bus::Bus;
use egui::vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use interfaces::config::BusConfig;
use interfaces::keys::{ARM_STATE, ESTOP, FRAME, LEARNER_METRICS, OPERATOR_COMMAND, TELEOP_COMMAND};
use interfaces::msg::{ArmState, Command, ControllerMode, Frame, LearnerMetrics, OperatorCommand, TeleopCommand};
use interfaces::{Clock, MonotonicClock, Stamp};
use std::time::{Duration, Instant};
use ui::RecordingSink;
use ui::feed::FULL_FRAME;
use ui::panel::{BUS_SECTION, BusCounter, ESTOP_LABEL, bus_count_label};
use ui::state::{FrameKind, PanelState, StaleLimits};
use ui::{BusFeed, BusSink, EStopRoute, Panel};

fn loopback_bus(cell: &str) -> Bus {
    let cfg = BusConfig { listen: vec!["tcp/127.0.0.1:0".into()], connect: vec![], ..BusConfig::default() };
    Bus::open(&cfg, cell).expect("open a bus on loopback")
}

#[test]
fn clicking_estop_puts_it_on_the_panels_own_estop_key_and_on_operator_command() {
    let bus = loopback_bus("ui_estop");
    let estops = bus.subscribe::<OperatorCommand>(ESTOP, Some("*")).expect("subscribe");
    let commands = bus.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None).expect("subscribe");
    let teleop = bus.subscribe::<TeleopCommand>(TELEOP_COMMAND, None).expect("subscribe");
    let route = EStopRoute::for_bus(&BusConfig::default());
    let (p, _clock) = panel_on(Box::new(BusSink::new(&bus, &route).expect("sink")));
    let mut h = Harness::builder().with_size(vec2(1600.0, 1000.0)).build_state(|ctx, p: &mut Panel| p.show(ctx), p);
    h.run();
    h.get_by_label(ESTOP_LABEL).click();
    h.run();
    let own = estops.recv_timeout(Duration::from_secs(5)).expect("e-stop delivered on the panel's e-stop key");
    assert_eq!(own.msg.command, Command::EStop);
    assert_eq!(own.key, "corrigo/ui_estop/operator/estop");
    assert!(own.msg.header.seq >= 1 && own.msg.header.stamp_ns > Stamp(0), "{:?}", own.msg.header);
    let got = commands.recv_timeout(Duration::from_secs(5)).expect("e-stop delivered on operator/command");
    assert_eq!(got.msg.command, Command::EStop);
    assert_eq!(got.key, "corrigo/ui_estop/operator/command");
    assert!(estops.try_recv().is_none() && commands.try_recv().is_none(), "exactly one e-stop on each key");
    assert!(teleop.try_recv().is_none(), "no joystick sample without a takeover");
}

#[test]
fn a_panel_whose_role_may_not_put_operator_commands_estops_on_its_own_key_only() {
    let bus = loopback_bus("ui_estop_own");
    let estops = bus.subscribe::<OperatorCommand>(ESTOP, Some("*")).expect("subscribe");
    let commands = bus.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None).expect("subscribe");
    let route = EStopRoute { node: "wall-display".into(), operator_command: false };
    let (p, _clock) = panel_on(Box::new(BusSink::new(&bus, &route).expect("sink")));
    let mut h = Harness::builder().with_size(vec2(1600.0, 1000.0)).build_state(|ctx, p: &mut Panel| p.show(ctx), p);
    h.run();
    h.get_by_label(ESTOP_LABEL).click();
    h.run();
    let own = estops.recv_timeout(Duration::from_secs(5)).expect("e-stop delivered on the panel's e-stop key");
    assert_eq!((own.key.as_str(), own.msg.command), ("corrigo/ui_estop_own/wall-display/estop", Command::EStop));
    // Nothing on operator/command: a copy there would have been published right after the one that arrived (same
    // session, same reliable class), so half a second is ample.
    assert!(commands.recv_timeout(Duration::from_millis(500)).is_none(), "no e-stop on operator/command");
}

#[test]
fn the_feed_fills_the_state_from_the_bus() {
    let bus = loopback_bus("ui_feed");
    let peer = bus.clone();
    let feed = BusFeed::open(&bus).expect("feed");
    let mut arm = peer.publisher(ARM_STATE, None).expect("publisher");
    let mut frames = peer.publisher::<Frame>(FRAME, Some("front")).expect("publisher");
    let mut full = peer.publisher::<Frame>(FULL_FRAME, Some("front")).expect("publisher");
    let mut metrics = peer.publisher(LEARNER_METRICS, None).expect("publisher");
    let _controller = peer.announce("controller").expect("token");
    let mut state = PanelState::new(cell().cameras.iter().map(|c| c.name.clone()), StaleLimits::default());
    let deadline = Instant::now() + Duration::from_secs(10);
    let complete = |s: &PanelState| {
        s.arm.is_some()
            && s.metrics.is_some()
            && s.cameras["front"].slot(FrameKind::Policy).is_some()
            && s.cameras["front"].slot(FrameKind::Full).is_some()
            && s.alive.contains("controller")
            && s.alive.contains("panel")
    };
    while !complete(&state) && Instant::now() < deadline {
        arm.publish(&mut arm_state(ControllerMode::Tracking, false)).expect("publish");
        frames.publish(&mut camera_image("front", 16, 16)).expect("publish");
        full.publish(&mut camera_image("front", 32, 24)).expect("publish");
        metrics.publish(&mut LearnerMetrics { policy_version: 7, ..Default::default() }).expect("publish");
        std::thread::sleep(Duration::from_millis(20));
        feed.drain_into(&mut state);
    }
    assert!(complete(&state), "state after 10 s: {state:?}");
    assert_eq!(state.metrics.as_ref().map(|m| m.msg.policy_version), Some(7));
    assert_eq!(state.cameras["front"].full.as_ref().map(|f| f.frame.width), Some(32));
    let age = MonotonicClock.now().secs_since(state.arm.as_ref().map(|a| a.received).unwrap_or_default());
    assert!((0.0..5.0).contains(&age), "receipt stamps are on the monotonic clock: {age}");
}

#[test]
fn a_garbage_payload_shows_as_a_decode_error_of_its_key() {
    let bus = loopback_bus("ui_bus_counts");
    let feed = BusFeed::open(&bus).expect("feed");
    let (p, _clock) = panel_on(Box::new(RecordingSink::new()));
    let mut h = Harness::builder().with_size(vec2(1600.0, 1000.0)).build_state(|ctx, p: &mut Panel| p.show(ctx), p);
    feed.drain_into(h.state_mut().state_mut());
    h.run();
    let arm = "controller/arm_state";
    h.get_by_label(BUS_SECTION);
    h.get_by_label(&bus_count_label(arm, BusCounter::DecodeErrors, 0));

    // Garbage on the arm state key, from a peer on the bus: the panel's subscriber refuses it and counts it.
    let hostile = bus.publisher::<ArmState>(ARM_STATE, None).expect("publisher");
    hostile.put_raw(b"\xff\x00 not an ArmState".to_vec()).expect("put");
    let deadline = Instant::now() + Duration::from_secs(30);
    let counted = |p: &Panel| p.state().subscriptions.get(arm).is_some_and(|c| c.decode_errors > 0);
    while !counted(h.state()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        feed.drain_into(h.state_mut().state_mut());
    }
    h.run();
    h.get_by_label(&bus_count_label(arm, BusCounter::DecodeErrors, 1));
    assert!(h.state().state().arm.is_none(), "the garbage never reached the panel as an arm state");
    // The other keys and counters stay at zero.
    for key in ["camera/*/frame", "camera/*/full", "learner/metrics", "*/event"] {
        h.get_by_label(&bus_count_label(key, BusCounter::DecodeErrors, 0));
    }
    for c in [BusCounter::Oversize, BusCounter::QueueDrops, BusCounter::SeqGaps] {
        h.get_by_label(&bus_count_label(arm, c, 0));
    }
}
