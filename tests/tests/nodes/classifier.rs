//! `corrigo classifier`'s training: labels from the recorded episodes (the frame after a successful last step is
//! a success, every starting frame is not), held-out episodes for precision and recall, a file the environment
//! loads back.

use tests::common;

use agent::replay::{Action, GripperAction, Observation, ReplayStore, StoreOptions, Transition};
use agent::train::classifier::{self, ClassifierOptions};
use interfaces::env::obs_spec;

/// A frame per camera: success frames show a bright block in the middle, the others a dark scene with noise.
fn frames(success: bool, k: u64) -> Vec<Vec<u8>> {
    (0..2)
        .map(|cam| {
            let mut img = vec![0u8; 128 * 128 * 3];
            for (i, p) in img.iter_mut().enumerate() {
                *p = ((i as u64 * 31 + k * 7 + cam) % 60) as u8;
                let (y, x) = ((i / 3) / 128, (i / 3) % 128);
                if success && (40..88).contains(&y) && (40..88).contains(&x) {
                    *p = 230;
                }
            }
            img
        })
        .collect()
}

#[test]
fn a_classifier_trained_from_recorded_episodes_separates_success_frames_on_held_out_episodes() {
    let port = common::free_port();
    let mut cfg = common::reach_cell(port);
    cfg.agent.use_images = true;
    let spec = obs_spec(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let mut store = ReplayStore::open(run_dir.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent)).unwrap();
    // 10 episodes of 6 steps; the last step of the even ones is a success, the odd ones run out of time.
    for episode in 0..10u64 {
        for step in 0..6u64 {
            let last = step == 5;
            let success = last && episode % 2 == 0;
            let obs = |ok: bool, k: u64| Observation { proprio: vec![0.0; spec.proprio_dim], images: frames(ok, k) };
            let t = Transition {
                obs: obs(false, episode * 10 + step),
                action: Action { continuous: vec![0.0; 6], gripper: GripperAction::Stay },
                reward: f32::from(u8::from(success)),
                next_obs: obs(success, episode * 10 + step + 1),
                done: success,
                truncated: last && !success,
                intervention: false,
                gripper_changed: false,
                episode,
                obs_stamp_ns: step,
                next_stamp_ns: step + 1,
            };
            store.append_demo(&t).unwrap();
        }
    }
    store.flush().unwrap();
    let (train, held_out) = classifier::labelled_frames(&store);
    drop(store);
    // Episodes 4 and 9 are held out: 12 starting frames and episode 4's success frame.
    assert_eq!((held_out.len(), held_out.iter().filter(|f| f.success).count()), (13, 1));
    assert_eq!((train.len(), train.iter().filter(|f| f.success).count()), (52, 4));

    let out = dir.path().join("models/classifier.safetensors");
    let opts = ClassifierOptions {
        run_dir: run_dir.clone(),
        out: out.clone(),
        steps: 60,
        batch: 16,
        threshold: 0.5,
        progress_every: 20,
    };
    let report = classifier::train(&cfg, &opts).expect("training");
    assert_eq!((report.train, report.held_out), ((4, 48), (1, 12)));
    let m = report.metrics;
    assert_eq!(m.frames, 13);
    assert!(m.recall == 1.0 && m.precision == 1.0, "held out: {m:?}, last loss {}", report.loss);

    // Loaded back as the environment does: the same decisions, the threshold kept.
    let c = classifier::load(&cfg, &out).expect("load");
    assert_eq!(c.threshold, 0.5);
    assert!(c.is_success(&frames(true, 99)).unwrap());
    assert!(!c.is_success(&frames(false, 99)).unwrap());

    // A store without success frames is refused with what is missing.
    let empty = ClassifierOptions { run_dir: dir.path().join("nothing"), ..opts };
    let err = format!("{:#}", classifier::train(&cfg, &empty).unwrap_err());
    assert!(err.contains("no replay store") && err.contains("corrigo record"), "{err}");
}
