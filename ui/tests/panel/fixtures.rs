//! Fixed, realistic data: the default sim cell about 90 minutes into training a pick.

use bus::SubscriberCounts;
use interfaces::msg::{
    ArmState, ControllerMode, Event, Frame, GripperState, Header, LearnerMetrics, Level, LimitCounters, PixelEncoding,
    Pose,
};
use interfaces::{CellConfig, MockClock, Stamp};
use std::sync::Arc;
use ui::state::FrameKind;
use ui::{CommandSink, Panel, RecordingSink};

/// The time the fixed data is shown at, seconds of the mock clock.
pub const NOW_S: f64 = 7200.0;

/// A stamp `secs` seconds into the mock clock.
pub fn at(secs: f64) -> Stamp {
    Stamp((secs * 1e9).round() as u64)
}

/// The default cell's config.
pub fn cell() -> CellConfig {
    CellConfig::from_toml_str(include_str!("../../../hardware_configs/sim_panda.toml"), "sim_panda.toml")
        .expect("the default cell config is valid")
}

/// A panel on the default cell with a recording sink and a mock clock at [`NOW_S`].
pub fn panel() -> (Panel, RecordingSink, MockClock) {
    panel_with(RecordingSink::new())
}

/// A panel on the default cell sending through `sink`, with a mock clock at [`NOW_S`].
pub fn panel_with(sink: RecordingSink) -> (Panel, RecordingSink, MockClock) {
    let (panel, clock) = panel_on(Box::new(sink.clone()));
    (panel, sink, clock)
}

/// A panel on the default cell sending through `sink`, with a mock clock at [`NOW_S`].
pub fn panel_on(sink: Box<dyn CommandSink>) -> (Panel, MockClock) {
    let clock = MockClock::new(at(NOW_S));
    (Panel::new(&cell(), sink, Arc::new(clock.clone())), clock)
}

/// A deterministic pseudo-random sequence in [-1, 1].
pub struct Noise(u64);

impl Noise {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// The arm tracking a target above the cube.
pub fn arm_state(mode: ControllerMode, estop: bool) -> ArmState {
    ArmState {
        header: Header { seq: 7_200_000, stamp_ns: at(NOW_S - 0.004) },
        mode,
        q: vec![0.084, 0.412, -0.051, -1.986, 0.032, 2.391, 0.822],
        dq: vec![0.01, -0.02, 0.0, 0.03, 0.0, -0.01, 0.0],
        tau: vec![-1.2, -22.4, 0.8, 18.6, 0.4, 10.9, -0.3],
        ee_pose: Pose { position: [0.532, 0.028, 0.141], orientation: [0.0, 0.9239, -0.3827, 0.0] },
        ee_twist: [0.021, -0.004, -0.012, 0.0, 0.0, 0.05],
        pose_target: Pose { position: [0.538, 0.027, 0.133], orientation: [0.0, 0.9239, -0.3827, 0.0] },
        gripper: GripperState { width: 0.052, target_width: 0.08, force: 0.0 },
        estop,
        limits: LimitCounters {
            workspace_clamps: 312,
            error_clips: 48_210,
            torque_clamps: 0,
            torque_rate_clamps: 17,
            joint_limit_guards: 2,
            velocity_guards: 0,
            watchdog_trips: 3,
        },
        deadline_misses: 4,
        cycles: 7_200_000,
    }
}

fn put(img: &mut [u8], w: u32, x: u32, y: u32, rgb: [u8; 3]) {
    let i = ((y * w + x) * 3) as usize;
    img[i..i + 3].copy_from_slice(&rgb);
}

/// A synthetic camera image: a table in perspective, a red cube, the gripper's fingers coming from `finger_side`.
pub fn camera_image(camera: &str, w: u32, h: u32) -> Frame {
    let mut data = vec![0u8; (w * h * 3) as usize];
    let wrist = camera == "wrist";
    for y in 0..h {
        for x in 0..w {
            let fy = y as f32 / h as f32;
            let fx = x as f32 / w as f32;
            let horizon = if wrist { -1.0 } else { 0.35 };
            let rgb = if fy < horizon {
                let g = (70.0 + 60.0 * fy) as u8;
                [g, g, (g as f32 * 1.1) as u8]
            } else {
                // wood-coloured table with a faint grain
                let grain = ((fx * 40.0 + fy * 7.0).sin() * 6.0) as i32;
                let shade = 0.75 + 0.25 * fy;
                [
                    ((150 + grain) as f32 * shade) as u8,
                    ((112 + grain) as f32 * shade) as u8,
                    ((78 + grain / 2) as f32 * shade) as u8,
                ]
            };
            put(&mut data, w, x, y, rgb);
        }
    }
    let (cx, cy, half) = if wrist { (0.5, 0.62, 0.16) } else { (0.55, 0.66, 0.07) };
    for y in 0..h {
        for x in 0..w {
            let fx = x as f32 / w as f32;
            let fy = y as f32 / h as f32 * (h as f32 / w as f32);
            let cyy = cy * (h as f32 / w as f32);
            if (fx - cx).abs() < half && (fy - cyy).abs() < half {
                let top = fy < cyy - half * 0.4;
                put(&mut data, w, x, y, if top { [215, 60, 50] } else { [170, 35, 30] });
            }
        }
    }
    // fingers: two dark bars
    let (f0, f1, depth) = if wrist { (0.18, 0.82, 0.45) } else { (0.47, 0.63, 0.55) };
    for y in 0..h {
        for x in 0..w {
            let fx = x as f32 / w as f32;
            let fy = y as f32 / h as f32;
            let bar = |c: f32| (fx - c).abs() < if wrist { 0.06 } else { 0.018 };
            if fy < depth && (bar(f0) || bar(f1)) {
                put(&mut data, w, x, y, [45, 45, 50]);
            }
            if !wrist && fy < depth - 0.1 && (fx - 0.55).abs() < 0.06 {
                put(&mut data, w, x, y, [225, 225, 230]);
            }
        }
    }
    Frame { header: Header::default(), camera: camera.into(), width: w, height: h, encoding: PixelEncoding::Rgb8, data }
}

/// Metrics of a pick being learned: success rising, interventions falling, losses settling.
pub fn metrics_at(minutes: f64, noise: &mut Noise) -> LearnerMetrics {
    let success = 0.92 / (1.0 + (-(minutes - 45.0) / 9.0).exp());
    let n = 20.0;
    let ci = 1.96 * (success * (1.0 - success) / n).sqrt() + 0.02;
    let intervention = 0.45 * (-minutes / 22.0).exp() + 0.02 + 0.01 * noise.next();
    let step = (minutes * 60.0 * 10.0 * 0.8) as u64;
    let updates = (minutes * 60.0 * 9.6) as u64;
    LearnerMetrics {
        header: Header::default(),
        step,
        updates,
        updates_per_s: 9.6 - 0.8 * (-minutes / 3.0).exp() + 0.12 * noise.next(),
        critic_loss: Some(0.6 * (-minutes / 25.0).exp() + 0.08 + 0.03 * noise.next()),
        actor_loss: Some(-(0.5 + 3.0 * success) + 0.1 * noise.next()),
        temperature: Some(0.1 * (-minutes / 15.0).exp() + 0.004),
        q_mean: Some(0.5 + 3.0 * success),
        online_size: step,
        demo_size: 2000 + (minutes * 40.0 * (-minutes / 30.0).exp()) as u64 + (minutes * 4.0) as u64,
        success_rate: (minutes > 2.0).then_some(success),
        success_ci95: (minutes > 2.0).then_some(ci.min(0.5)),
        episode_return: (minutes > 2.0).then_some(success * 0.95 - 0.05 * (1.0 - success)),
        intervention_rate: Some(intervention.max(0.0)),
        policy_version: updates / 500,
        fleet: Vec::new(),
        diagnostics: None,
    }
}

/// Fills `panel` with 90 minutes of training: arm state at 1 kHz (the newest `arm_age_s` old), both cameras,
/// learner metrics every 10 s, the nodes of a full cell alive, a few events, and the panel's bus counters (a few
/// arm states lost on the way, nothing refused).
pub fn fill_training(panel: &mut Panel, mode: ControllerMode, estop: bool, arm_age_s: f64) {
    let st = panel.state_mut();
    for i in 0..200 {
        st.apply_arm_state(arm_state(mode, estop), at(NOW_S - arm_age_s - 0.199 + i as f64 * 0.001));
    }
    for cam in ["front", "wrist"] {
        for i in 0..10 {
            st.apply_frame(FrameKind::Policy, camera_image(cam, 128, 128), at(NOW_S - 0.018 - (9 - i) as f64 / 30.0));
        }
        for i in 0..5 {
            st.apply_frame(FrameKind::Full, camera_image(cam, 320, 240), at(NOW_S - 0.45 + i as f64 * 0.1));
        }
    }
    let mut noise = Noise(42);
    let start = NOW_S - 90.0 * 60.0;
    for i in 0..=540 {
        let t = i as f64 * 10.0;
        st.apply_metrics(metrics_at(t / 60.0, &mut noise), at(start + t - 0.6));
    }
    st.set_alive(["actor", "camera", "controller", "learner", "panel"].map(String::from));
    let events = [
        (NOW_S - 61.0, "learner", Level::Info, "checkpoint 14 written (updates 51 200)"),
        (NOW_S - 12.0, "actor", Level::Info, "episode 412 ended: success (labelled by classifier), return 0.95"),
        (NOW_S - 3.2, "camera", Level::Warn, "wrist: frame 18 ms late"),
    ];
    for (t, node, level, text) in events {
        st.apply_event(Event { header: Header::default(), node: node.into(), level, text: text.into() }, at(t));
    }
    let subscriptions = [
        ("controller/arm_state", 5_400_000, 12),
        ("camera/*/frame", 324_000, 0),
        ("camera/*/full", 54_000, 0),
        ("learner/metrics", 5_400, 0),
        ("*/event", 57, 0),
    ];
    for (key, received, seq_gaps) in subscriptions {
        st.set_subscription_counts(key, SubscriberCounts { received, seq_gaps, ..SubscriberCounts::default() });
    }
}
