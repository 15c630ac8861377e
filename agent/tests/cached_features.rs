//! The cached-feature path of image-based learning: the encoder's pretraining on demonstrations, the feature cache
//! of the replay store across a restart, the learner and policy on cached features, and a short learning run from
//! pixels alone.
//!
//! The task, "pixel point mass": a point in the plane (proprio: its position, 3 values, z = 0) must reach a target
//! that only the camera shows (a bright square in a 32×32 frame); reward −distance, 20 steps per episode.

use agent::features::{self, FrameEncoder, Prepared};
use agent::replay::{Action, GripperAction, Observation, ReplayStore, StoreOptions, Transition};
use agent::sac::{Learner, Policy};
use agent::{CameraSpec, ObsSpec};
use interfaces::config::{AgentConfig, EncoderConfig, EncoderTraining};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;
use tch::Device;

const HW: usize = 64;
/// Side of the target square, pixels.
const SQUARE: usize = 6;
const STEPS: usize = 20;
const SPEED: f32 = 0.15;

fn spec() -> ObsSpec {
    ObsSpec {
        proprio_dim: 3,
        cameras: vec![CameraSpec { name: "front".into(), height: HW, width: HW }],
        action_dim: 2,
        gripper: false,
    }
}

fn cfg() -> AgentConfig {
    AgentConfig {
        use_images: true,
        lr: 1e-3,
        batch_size: 64,
        critic_actor_ratio: 1,
        hidden: vec![64, 64],
        init_temperature: 0.1,
        seed: 1,
        encoder: EncoderConfig {
            training: EncoderTraining::Cached,
            keypoints: 4,
            pretrain_steps: 300,
            ..EncoderConfig::default()
        },
        ..AgentConfig::default()
    }
}

fn store_opts() -> StoreOptions {
    StoreOptions { online_capacity: 100_000, segment_transitions: 256, flush_interval: Duration::from_millis(500) }
}

struct PixelPointMass {
    p: [f32; 2],
    target: [f32; 2],
    t: usize,
}

impl PixelPointMass {
    fn reset(rng: &mut ChaCha8Rng) -> Self {
        Self { p: [0.0, 0.0], target: [rng.random_range(-0.8..0.8), rng.random_range(-0.8..0.8)], t: 0 }
    }
    /// The frame: dark, the target a bright yellow square, the point mass a dimmer blue one.
    fn frame(&self) -> Vec<u8> {
        let mut f = vec![20u8; HW * HW * 3];
        let px = |v: f32| (((v + 1.0) / 2.0) * (HW - SQUARE) as f32).round() as usize;
        for (pos, colour) in [(self.p, [40u8, 60, 160]), (self.target, [250, 240, 30])] {
            let (cx, cy) = (px(pos[0]), px(pos[1]));
            for y in cy..cy + SQUARE {
                for x in cx..cx + SQUARE {
                    f[(y * HW + x) * 3..(y * HW + x) * 3 + 3].copy_from_slice(&colour);
                }
            }
        }
        f
    }
    fn obs(&self) -> Observation {
        Observation { proprio: vec![self.p[0], self.p[1], 0.0], images: vec![self.frame()] }
    }
    fn dist(&self) -> f32 {
        ((self.p[0] - self.target[0]).powi(2) + (self.p[1] - self.target[1]).powi(2)).sqrt()
    }
    fn step(&mut self, a: &[f32]) -> (f32, bool) {
        for (p, a) in self.p.iter_mut().zip(a) {
            *p = (*p + SPEED * a.clamp(-1.0, 1.0)).clamp(-1.0, 1.0);
        }
        self.t += 1;
        (-self.dist(), self.t >= STEPS)
    }
    fn expert(&self) -> Vec<f32> {
        (0..2).map(|k| ((self.target[k] - self.p[k]) / SPEED).clamp(-1.0, 1.0)).collect()
    }
}

/// One episode; `act` sees the environment (for the expert) and the observation.
fn episode(
    env: &mut PixelPointMass,
    ep: u64,
    mut act: impl FnMut(&PixelPointMass, &Observation) -> Vec<f32>,
) -> Vec<Transition> {
    let mut out = Vec::new();
    loop {
        let obs = env.obs();
        let a = act(env, &obs);
        let (r, trunc) = env.step(&a);
        out.push(Transition {
            obs,
            action: Action { continuous: a, gripper: GripperAction::Stay },
            reward: r,
            next_obs: env.obs(),
            truncated: trunc,
            episode: ep,
            ..Transition::default()
        });
        if trunc {
            return out;
        }
    }
}

fn record_demos(store: &mut ReplayStore, n: u64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for ep in 0..n {
        let mut env = PixelPointMass::reset(&mut rng);
        let mut noise = ChaCha8Rng::seed_from_u64(ep);
        let ts = episode(&mut env, ep, |e, _| {
            e.expert().iter().map(|v| (v + noise.random_range(-0.1..0.1)).clamp(-1.0, 1.0)).collect()
        });
        for t in &ts {
            store.append_demo(t).expect("demo");
        }
    }
    store.flush().expect("flush");
}

/// Mean final distance of the deterministic policy over 10 fixed episodes.
fn evaluate(policy: &mut Policy) -> f32 {
    let mut total = 0.0;
    for k in 0..10 {
        let mut env = PixelPointMass::reset(&mut ChaCha8Rng::seed_from_u64(777_000 + k));
        episode(&mut env, 0, |_, o| policy.act(o, true).expect("act").continuous);
        total += env.dist();
    }
    total / 10.0
}

#[test]
fn encoder_pretraining_lowers_its_loss_on_held_out_demo_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = ReplayStore::open(tmp.path().join("replay"), &spec(), &store_opts()).unwrap();
    record_demos(&mut store, 24, 1);
    let (enc, report) = features::pretrain(&cfg(), &store, Device::Cpu, |s, l| eprintln!("step {s}: loss {l:.4}"))
        .expect("pretraining");
    assert_eq!((report.train_episodes, report.heldout_episodes), (20, 4));
    // By default every step runs and the last encoder is kept.
    assert_eq!((report.steps, report.best_step), (cfg().encoder.pretrain_steps, cfg().encoder.pretrain_steps));
    // With early stopping the encoder kept is one measured on the held-out episodes, at most the steps run, and
    // its held-out loss is no higher than the full run's last (300 steps: it cannot stop before them, so their last
    // measurement is among those compared).
    let early = AgentConfig { encoder: EncoderConfig { early_stop: true, ..cfg().encoder }, ..cfg() };
    let (_, es) = features::pretrain(&early, &store, Device::Cpu, |_, _| {}).expect("pretraining");
    assert!(es.steps <= cfg().encoder.pretrain_steps && es.best_step <= es.steps, "{es:?}");
    assert_eq!(es.best_step % features::HELDOUT_EVERY, 0, "{es:?}");
    assert!(es.heldout_after <= report.heldout_after * 1.05, "{es:?} against {report:?}");
    assert_eq!(report.heldout_frames, 4 * STEPS);
    eprintln!("{report:?}");
    assert!(
        report.heldout_after < 0.5 * report.heldout_before,
        "held-out loss {:.4} → {:.4}",
        report.heldout_before,
        report.heldout_after
    );
    assert_eq!(enc.dim(), 2 * 4);
}

/// The features live in memory only: a store opened again and given the run directory's encoder computes the same
/// features for every frame; frames appended after the attach get theirs too.
#[test]
fn feature_cache_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path();
    let c = AgentConfig { encoder: EncoderConfig { pretrain_steps: 20, ..cfg().encoder }, ..cfg() };
    let before = {
        let mut store = ReplayStore::open(run.join("replay"), &spec(), &store_opts()).unwrap();
        record_demos(&mut store, 3, 2);
        let p = features::prepare(&c, &mut store, run, Device::Cpu, |_| {}).expect("prepare");
        assert!(matches!(p, Prepared::Pretrained { frames, .. } if frames == 3 * (STEPS + 1)), "{p:?}");
        // online transitions appended after the attach
        let mut env = PixelPointMass::reset(&mut ChaCha8Rng::seed_from_u64(9));
        for t in episode(&mut env, 100, |_, _| vec![0.5, -0.5]) {
            store.append(&t).unwrap();
        }
        let all: Vec<Vec<f32>> = (0..store.demo_len())
            .flat_map(|i| [store.features_of(true, i, false), store.features_of(true, i, true)])
            .chain((0..store.online_len()).map(|i| store.features_of(false, i, true)))
            .map(|f| f.expect("every frame has features"))
            .collect();
        assert!(all.iter().all(|f| f.len() == 8));
        // the same frame in two transitions (next_obs of one, obs of the next) has the same features
        assert_eq!(store.features_of(true, 0, true), store.features_of(true, 1, false));
        all
    };
    let mut store = ReplayStore::open(run.join("replay"), &spec(), &store_opts()).unwrap();
    assert_eq!(store.feature_dim(), 0, "features are not on disk");
    let p = features::prepare(&c, &mut store, run, Device::Cpu, |_| {}).expect("prepare again");
    assert!(matches!(p, Prepared::Loaded { .. }), "{p:?}");
    let after: Vec<Vec<f32>> = (0..store.demo_len())
        .flat_map(|i| [store.features_of(true, i, false), store.features_of(true, i, true)])
        .chain((0..store.online_len()).map(|i| store.features_of(false, i, true)))
        .map(|f| f.expect("every frame has features"))
        .collect();
    // Equal up to float rounding: libtorch's convolutions sum in an order that depends on the batch size (an
    // append encodes one frame, an attach 128 at a time).
    assert_eq!(before.len(), after.len());
    for (k, (a, b)) in before.iter().zip(&after).enumerate() {
        let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "frame {k}: features differ by {worst} after the restart");
    }
}

/// A checkpoint whose encoder file is gone cannot be resumed silently on other features.
#[test]
fn a_checkpoint_without_its_encoder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path();
    let mut store = ReplayStore::open(run.join("replay"), &spec(), &store_opts()).unwrap();
    record_demos(&mut store, 2, 3);
    std::fs::write(run.join("checkpoint.safetensors"), b"x").unwrap();
    let e = features::prepare(&cfg(), &mut store, run, Device::Cpu, |_| {}).expect_err("refused");
    assert!(e.to_string().contains("encoder.safetensors"), "{e}");
}

/// The learner on cached features trains on the fused CPU path; its published weights carry the encoder, and a
/// policy built for the raw (camera) spec acts with them on raw observations, also when it was built in the
/// end-to-end layout.
#[test]
fn learner_and_policy_on_cached_features() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = ReplayStore::open(tmp.path().join("replay"), &spec(), &store_opts()).unwrap();
    record_demos(&mut store, 4, 4);
    let enc = FrameEncoder::new(&cfg().encoder, &spec(), Device::Cpu, 3, false).unwrap();
    store.attach_features(enc, &mut |_, _| {}).unwrap();
    let mut env = PixelPointMass::reset(&mut ChaCha8Rng::seed_from_u64(5));
    for t in episode(&mut env, 50, |_, _| vec![0.1, 0.2]) {
        store.append(&t).unwrap();
    }
    let mut learner = Learner::for_store(&cfg(), 0.9, &store, Device::Cpu).unwrap();
    assert!(learner.uses_cached_features() && learner.uses_fused_cpu_path());
    for _ in 0..3 {
        let m = learner.update(&store).expect("update");
        assert!(m.critic_loss.is_finite());
    }
    let w = learner.policy_weights().unwrap();
    let obs = PixelPointMass::reset(&mut ChaCha8Rng::seed_from_u64(6)).obs();
    let mut a = Policy::new(&cfg(), &spec(), Device::Cpu).unwrap();
    a.load_weights(&w).unwrap();
    let end_to_end =
        AgentConfig { encoder: EncoderConfig { training: EncoderTraining::EndToEnd, ..cfg().encoder }, ..cfg() };
    let mut b = Policy::new(&end_to_end, &spec(), Device::Cpu).unwrap();
    b.load_weights(&w).unwrap();
    assert_eq!(a.act(&obs, true).unwrap(), b.act(&obs, true).unwrap());
    assert_eq!(a.version(), 3);
    // a learner without the store's encoder: the sampler says what is missing
    let plain = ReplayStore::open(tmp.path().join("other"), &spec(), &store_opts()).unwrap();
    drop(plain);
    let spec_cached = features::encoded_spec(&spec(), 8);
    let mut wrong = Learner::new(&cfg(), 0.9, &spec_cached, Device::Cpu).unwrap();
    let mut raw = ReplayStore::open(tmp.path().join("raw"), &spec(), &store_opts()).unwrap();
    record_demos(&mut raw, 1, 7);
    let e = wrong.update(&raw).expect_err("no features attached");
    assert!(e.to_string().contains("no frame encoder is attached"), "{e}");
}

/// Learning from pixels alone: the target is visible only in the camera frame. After pretraining on 20 demos
/// and 1 500 env steps of SAC + RLPD on cached features, the deterministic policy ends closer to the target than
/// the untrained one by a fixed margin.
#[test]
fn sac_on_cached_features_learns_from_pixels() {
    learns_from_pixels(cfg());
}

/// The same with the behaviour prior (`agent.bc_prior`): fitted to the demos, published with the policy, and the
/// policy still learns.
#[test]
fn sac_with_the_behaviour_prior_learns_from_pixels() {
    learns_from_pixels(AgentConfig { bc_prior: Some(true), bc_prior_steps: 300, ..cfg() });
}

fn learns_from_pixels(c: AgentConfig) {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path();
    let mut store = ReplayStore::open(run.join("replay"), &spec(), &store_opts()).unwrap();
    record_demos(&mut store, 20, 8);
    features::prepare(&c, &mut store, run, Device::Cpu, |_| {}).expect("prepare");
    let mut learner = Learner::for_store(&c, 0.9, &store, Device::Cpu).unwrap();
    let mut policy = Policy::new(&c, &spec(), Device::Cpu).unwrap();
    policy.load_weights(&learner.policy_weights().unwrap()).unwrap();
    let untrained = evaluate(&mut policy);
    let fitted = learner.fit_bc_prior(&store, |_, _, _| {}).expect("fit the prior");
    assert_eq!(fitted, if c.uses_bc_prior() { c.bc_prior_steps } else { 0 });
    assert_eq!(learner.uses_bc_prior(), c.uses_bc_prior());
    policy.load_weights(&learner.policy_weights().unwrap()).unwrap();
    assert_eq!(policy.has_bc_prior(), c.uses_bc_prior(), "the policy carries the prior when it is on");
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut ep = 1000;
    while store.online_len() < 1500 {
        let mut env = PixelPointMass::reset(&mut rng);
        let ts = episode(&mut env, ep, |_, o| policy.act(o, false).expect("act").continuous);
        ep += 1;
        for t in &ts {
            store.append(t).unwrap();
            learner.update(&store).unwrap();
        }
        policy.load_weights(&learner.policy_weights().unwrap()).unwrap();
    }
    let trained = evaluate(&mut policy);
    eprintln!("final distance to the target: untrained {untrained:.3}, trained {trained:.3}");
    assert!(trained < untrained - 0.2 && trained < 0.25, "untrained {untrained:.3}, trained {trained:.3}");
}
