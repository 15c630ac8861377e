//! The replay view (`corrigo ui --run-dir`) on a run directory the test records: the stored episodes listed, one
//! played back, and the scrub bar choosing the step whose frames are shown.

use tests::common;

use corrigo_app::replay_source::StoreEpisodes;
use egui::Key;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ui::replay::{EpisodeSource, ReplayView, SCRUB_LABEL};

#[test]
fn the_replay_view_shows_the_frames_of_the_step_chosen_on_the_scrub_bar() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::reach_cell(common::free_port());
    cfg.agent.use_images = true;
    let run = dir.path().join("run");
    let demo = corrigo_app::run_training::ensure_demos(&cfg, &run, 2, 3).expect("two scripted demonstrations");
    let source = StoreEpisodes::open(&cfg, &run).expect("the run directory's episodes");
    let list = source.episodes().to_vec();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list.iter().map(|e| e.steps).sum::<usize>(), demo);
    assert!(list.iter().all(|e| e.buffer == "demo" && e.success), "scripted demonstrations succeed: {list:?}");
    let second = source.load(1).expect("episode 2");
    assert!(second.steps.len() > 6);
    assert_eq!(second.cameras.len(), cfg.cameras.len());
    // Frames change along the episode (the arm moves in view).
    assert_ne!(second.steps[0].frames, second.steps[second.steps.len() - 1].frames);

    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_state(|ctx, v: &mut ReplayView| v.show(ctx), ReplayView::new(Box::new(source), "run"));
    h.run();
    assert!(
        h.query_by_role_and_label(Role::Slider, SCRUB_LABEL).is_none(),
        "nothing played before an episode is chosen"
    );
    h.state_mut().select(1);
    h.run();
    assert_eq!(h.state().shown_step(0), Some(0));
    // Five steps on along the scrub bar with the keyboard.
    h.get_by_role_and_label(Role::Slider, SCRUB_LABEL).focus();
    h.run();
    for _ in 0..5 {
        h.key_press(Key::ArrowRight);
        h.run();
    }
    assert_eq!(h.state().step(), 5);
    for (c, cam) in cfg.cameras.iter().enumerate() {
        assert_eq!(h.state().shown_step(c), Some(5), "camera {} shows step 5's frame", cam.name);
        assert!(h.query_by_label(&format!("{} · step 5", cam.name)).is_some());
    }
}
