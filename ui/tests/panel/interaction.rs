//! Commands the panel sends, captured by a recording sink.

use crate::fixtures::{NOW_S, at, fill_training, panel};
use egui::accesskit::Role;
use egui::{Event, Key, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use interfaces::config::check_gains;
use interfaces::msg::{ArmState, Command, ControllerMode};
use ui::Panel;
use ui::panel::{ESTOP_LABEL, STALE_LABEL, control_labels, gain_labels, gain_slider_label, joystick_labels};

fn harness(panel: Panel) -> Harness<'static, Panel> {
    Harness::builder().with_size(vec2(1600.0, 1000.0)).build_state(|ctx, p: &mut Panel| p.show(ctx), panel)
}

#[test]
fn estop_button_and_space_key_send_estop() {
    let (p, sink, _clock) = panel();
    let mut h = harness(p);
    h.run();
    assert!(sink.commands().is_empty());
    h.get_by_label(ESTOP_LABEL).click();
    h.run();
    assert_eq!(sink.commands(), [Command::EStop]);
    h.key_press(Key::Space);
    h.run();
    assert_eq!(sink.commands(), [Command::EStop, Command::EStop]);
}

/// Regression: Space on a focused button must stop the arm, not press the button.
#[test]
fn space_on_a_focused_button_is_an_estop_not_a_click() {
    let (p, sink, _clock) = panel();
    let mut h = harness(p);
    h.run();
    h.get_by_label(control_labels::START).focus();
    h.run();
    h.key_press(Key::Space);
    h.run();
    assert_eq!(sink.commands(), [Command::EStop]);
}

#[test]
fn estop_reset_needs_confirmation() {
    let (mut p, sink, _clock) = panel();
    fill_training(&mut p, ControllerMode::EStopped, true, 0.004);
    let mut h = harness(p);
    h.run();
    h.get_by_label(control_labels::ESTOP_RESET).click();
    h.run();
    assert!(sink.commands().is_empty(), "opening the dialog sends nothing");
    h.get_by_label(control_labels::ESTOP_RESET_CANCEL).click();
    h.run();
    assert!(sink.commands().is_empty(), "cancel sends nothing");
    assert!(h.query_by_label(control_labels::ESTOP_RESET_CONFIRM).is_none(), "dialog closed");

    h.get_by_label(control_labels::ESTOP_RESET).click();
    h.run();
    h.key_press(Key::Escape);
    h.run();
    assert!(sink.commands().is_empty(), "escape sends nothing");
    assert!(h.query_by_label(control_labels::ESTOP_RESET_CONFIRM).is_none(), "dialog closed by escape");

    h.get_by_label(control_labels::ESTOP_RESET).click();
    h.run();
    h.get_by_label(ESTOP_LABEL).click();
    h.run();
    assert_eq!(sink.commands(), [Command::EStop], "the e-stop stays clickable while the dialog is open");
    h.get_by_label(control_labels::ESTOP_RESET_CONFIRM).click();
    h.run();
    assert_eq!(sink.commands(), [Command::EStop, Command::ResetEStop]);
    assert!(h.query_by_label(control_labels::ESTOP_RESET_CONFIRM).is_none());
}

#[test]
fn episode_commands_and_labels_are_sent() {
    let (p, sink, _clock) = panel();
    let mut h = harness(p);
    h.run();
    for label in [
        control_labels::START,
        control_labels::SUCCESS,
        control_labels::STOP,
        control_labels::RESET,
        control_labels::FAILURE,
    ] {
        h.get_by_label(label).click();
        h.run();
    }
    assert_eq!(
        sink.commands(),
        [
            Command::StartEpisode,
            Command::Label(true),
            Command::StopEpisode,
            Command::ResetEpisode,
            Command::Label(false)
        ]
    );
}

#[test]
fn stale_state_shows_the_warning() {
    let (mut p, _sink, clock) = panel();
    p.state_mut().apply_arm_state(ArmState::default(), at(NOW_S - 0.1));
    let mut h = harness(p);
    h.run();
    assert!(h.query_by_label_contains(STALE_LABEL).is_none(), "fresh data: no warning");
    clock.advance_ns(2_000_000_000);
    h.run();
    let warning = h.get_by_label_contains(STALE_LABEL);
    let shown = format!("{warning:?}");
    assert!(shown.contains("arm state 2.1 s old (limit 500 ms)"), "{shown}");
}

/// Drags from `from` to `to` in a few steps, as a hand would.
fn drag(h: &mut Harness<'static, Panel>, from: Pos2, to: Pos2) {
    h.event(Event::PointerMoved(from));
    h.run();
    h.event(Event::PointerButton {
        pos: from,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    h.run();
    for i in 1..=4 {
        h.event(Event::PointerMoved(from + (to - from) * (i as f32 / 4.0)));
        h.run();
    }
    h.event(Event::PointerButton {
        pos: to,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.run();
}

#[test]
fn gain_sliders_cannot_leave_the_valid_range() {
    let (p, sink, _clock) = panel();
    let mut h = harness(p);
    h.run();
    h.get_by_label(gain_labels::SECTION).click();
    h.run();
    // Far past the right end of one slider and far past the left end of another.
    let stiff = gain_slider_label(0, Some(0));
    h.get_by_role_and_label(Role::Slider, &stiff).scroll_to_me();
    h.run();
    let r = h.get_by_role_and_label(Role::Slider, &stiff).rect();
    drag(&mut h, r.center(), r.center() + vec2(3000.0, 0.0));
    let clip = gain_slider_label(4, Some(1));
    h.get_by_role_and_label(Role::Slider, &clip).scroll_to_me();
    h.run();
    let r = h.get_by_role_and_label(Role::Slider, &clip).rect();
    drag(&mut h, r.center(), r.center() - vec2(3000.0, 0.0));
    h.get_by_label(gain_labels::APPLY).click();
    h.run();
    let cmds = sink.commands();
    let [Command::SetGains(g)] = cmds.as_slice() else { panic!("expected one SetGains, got {cmds:?}") };
    assert_eq!(g.translational_stiffness[0], 5000.0, "stiffness stops at its upper bound");
    assert_eq!(g.translational_clip[1], 0.001, "clip stops at its lower bound");
    assert_eq!(g.translational_stiffness[1], 2000.0, "other gains untouched");
    assert!(check_gains(g, "gains").is_empty(), "{:?}", check_gains(g, "gains"));
}

#[test]
fn keyboard_joystick_takes_over_and_hands_back() {
    let (p, sink, _clock) = panel();
    let mut h = harness(p);
    h.run();
    h.get_by_label(joystick_labels::KEYBOARD).click();
    h.run();
    assert!(sink.teleop().is_empty(), "nothing sent while idle");
    h.key_down(Key::W);
    h.run();
    let sent = sink.teleop();
    let last = sent.last().expect("samples while the key is held");
    assert!(last.takeover);
    assert_eq!(last.device, ui::panel::JOYSTICK_DEVICE);
    assert!((last.twist[0] - 0.05).abs() < 1e-12, "{:?}", last.twist);
    assert_eq!(&last.twist[1..], &[0.0; 5]);
    h.key_up(Key::W);
    h.run();
    let last = sink.teleop().last().cloned().expect("hand-back sample");
    assert!(!last.takeover);
    assert_eq!(last.twist, [0.0; 6]);
    let n = sink.teleop().len();
    h.run();
    assert_eq!(sink.teleop().len(), n, "nothing sent once handed back");
    assert!(sink.commands().is_empty());
}

/// A fleet learner's metrics list its cells: each cell's row, a refused cell with why.
#[test]
fn the_fleets_cells_are_shown_with_a_refused_one_marked() {
    use interfaces::msg::{CellFigures, LearnerMetrics};
    let (mut p, _sink, _clock) = panel();
    let cell = |name: &str, steps: u64, refused: Option<&str>| CellFigures {
        cell: name.into(),
        steps,
        steps_per_s: 9.5,
        episodes: 10,
        success_rate: Some(0.7),
        success_ci95: Some(0.2),
        intervention_rate: Some(0.05),
        refused: refused.map(Into::into),
    };
    let m = LearnerMetrics {
        fleet: vec![cell("so101_a", 1200, None), cell("so101_b", 0, Some("obs.proprio: expected 14, got 15"))],
        ..LearnerMetrics::default()
    };
    p.state_mut().apply_metrics(m, at(NOW_S - 0.5));
    let mut h = harness(p);
    h.run();
    assert!(h.query_by_label("fleet: 2 cells").is_some());
    assert!(h.query_by_label("so101_a").is_some() && h.query_by_label("so101_b").is_some());
    assert!(h.query_by_label("1 200").is_some() || h.query_by_label("1200").is_some(), "the cell's transitions");
    assert!(h.query_by_label("refused: obs.proprio: expected 14, got 15").is_some());
    assert_eq!(h.query_all_by_label("serving").count(), 1);
}
