//! SAC solves a small continuous-control task; BC imitates a scripted expert; checkpoints resume bit-exactly;
//! the reward classifier separates success frames; ResNet-10 loads a pretrained file.

use agent::bc::BcTrainer;
use agent::classifier::{LabelledFrame, RewardClassifier};
use agent::replay::{Action, GripperAction, Observation, ReplayStore, StoreOptions, Transition};
use agent::sac::{Learner, Policy};
use agent::{CameraSpec, ObsSpec};
use interfaces::config::{AgentConfig, EncoderConfig, EncoderKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;
use tch::Device;

/// Point mass in the plane: state p ∈ [-1, 1]², action a ∈ [-1, 1]², p ← clip(p + 0.15 a), reward −|p|,
/// episodes of 20 steps from a random start. Solved when the policy parks the mass at the origin.
struct PointMass {
    p: [f32; 2],
    t: usize,
}

impl PointMass {
    const STEPS: usize = 20;
    fn reset(rng: &mut ChaCha8Rng) -> Self {
        Self { p: [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)], t: 0 }
    }
    fn obs(&self) -> Observation {
        Observation { proprio: self.p.to_vec(), images: vec![] }
    }
    fn dist(&self) -> f32 {
        (self.p[0] * self.p[0] + self.p[1] * self.p[1]).sqrt()
    }
    fn step(&mut self, a: &[f32]) -> (f32, bool) {
        for (p, a) in self.p.iter_mut().zip(a) {
            *p = (*p + 0.15 * a.clamp(-1.0, 1.0)).clamp(-1.0, 1.0);
        }
        self.t += 1;
        (-self.dist(), self.t >= Self::STEPS)
    }
    fn expert(&self) -> Vec<f32> {
        self.p.iter().map(|v| (-v / 0.15).clamp(-1.0, 1.0)).collect()
    }
}

fn state_cfg() -> AgentConfig {
    AgentConfig {
        lr: 1e-3,
        batch_size: 64,
        critic_actor_ratio: 1,
        critic_ensemble: 2,
        critic_subsample: 2,
        hidden: vec![64, 64],
        init_temperature: 0.1,
        seed: 1,
        ..AgentConfig::default()
    }
}

fn store_opts() -> StoreOptions {
    StoreOptions { online_capacity: 100_000, segment_transitions: 1024, flush_interval: Duration::from_millis(500) }
}

fn run_episode(
    env: &mut PointMass,
    ep: u64,
    mut act: impl FnMut(&Observation) -> Vec<f32>,
    mut sink: impl FnMut(Transition),
) {
    loop {
        let obs = env.obs();
        let a = act(&obs);
        let (r, trunc) = env.step(&a);
        sink(Transition {
            obs,
            action: Action { continuous: a, gripper: GripperAction::Stay },
            reward: r,
            next_obs: env.obs(),
            truncated: trunc,
            episode: ep,
            ..Transition::default()
        });
        if trunc {
            break;
        }
    }
}

fn evaluate(policy: &mut Policy, seed: u64) -> f32 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut total = 0.0;
    for _ in 0..10 {
        let mut env = PointMass::reset(&mut rng);
        run_episode(&mut env, 0, |o| policy.act(o, true).expect("act").continuous, |_| {});
        total += env.dist();
    }
    total / 10.0
}

#[test]
fn sac_with_rlpd_solves_point_mass() {
    tch::set_num_threads(1);
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = ObsSpec::state(2, 2);
    let cfg = state_cfg();
    let mut store = ReplayStore::open(tmp.path(), &spec, &store_opts()).expect("store");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // a handful of scripted demonstrations for the demo half of every batch
    for ep in 0..5 {
        let mut env = PointMass::reset(&mut rng);
        let e = env.expert();
        let _ = e;
        let mut demo = Vec::new();
        run_episode(
            &mut env,
            ep,
            |o| o.proprio.iter().map(|v| (-v / 0.15).clamp(-1.0, 1.0)).collect(),
            |t| demo.push(t),
        );
        for t in demo {
            store.append_demo(&t).expect("demo");
        }
    }
    let mut learner = Learner::new(&cfg, 0.9, &spec, Device::Cpu).expect("learner");
    let mut policy = Policy::new(&cfg, &spec, Device::Cpu).expect("policy");
    let before = evaluate(&mut policy, 99);
    let mut ep = 100;
    let mut steps = 0;
    while steps < 1600 {
        let mut env = PointMass::reset(&mut rng);
        let mut batch = Vec::new();
        run_episode(
            &mut env,
            ep,
            |o| {
                if steps < 200 {
                    vec![rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)]
                } else {
                    policy.act(o, false).expect("act").continuous
                }
            },
            |t| batch.push(t),
        );
        for t in batch {
            store.append(&t).expect("append");
            steps += 1;
            if steps >= 200 {
                learner.update(&store).expect("update");
            }
        }
        policy.load_weights(&learner.policy_weights().expect("weights")).expect("load");
        ep += 1;
    }
    let after = evaluate(&mut policy, 99);
    assert!(after < 0.12, "mean final distance {after:.3} (random-weights policy: {before:.3})");
}

#[test]
fn bc_imitates_the_scripted_expert() {
    tch::set_num_threads(1);
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = ObsSpec::state(2, 2);
    let cfg = state_cfg();
    let mut store = ReplayStore::open(tmp.path(), &spec, &store_opts()).expect("store");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for ep in 0..20 {
        let mut env = PointMass::reset(&mut rng);
        let mut demo = Vec::new();
        run_episode(
            &mut env,
            ep,
            |o| o.proprio.iter().map(|v| (-v / 0.15).clamp(-1.0, 1.0)).collect(),
            |t| demo.push(t),
        );
        for t in demo {
            store.append_demo(&t).expect("demo");
        }
    }
    let mut bc = BcTrainer::new(&cfg, &spec, Device::Cpu).expect("bc");
    for _ in 0..600 {
        bc.step(&store).expect("bc step");
    }
    let mut policy = Policy::new(&cfg, &spec, Device::Cpu).expect("policy");
    policy.load_weights(&bc.policy_weights().expect("weights")).expect("load");
    let d = evaluate(&mut policy, 11);
    assert!(d < 0.1, "BC policy ends {d:.3} from the target");
    // and it warm-starts a learner
    let mut learner = Learner::new(&cfg, 0.9, &spec, Device::Cpu).expect("learner");
    learner.warm_start(&bc.policy_weights().expect("weights")).expect("warm start");
    let mut p2 = Policy::new(&cfg, &spec, Device::Cpu).expect("policy");
    p2.load_weights(&learner.policy_weights().expect("weights")).expect("load");
    assert_eq!(evaluate(&mut p2, 11), d);
}

fn image_spec() -> ObsSpec {
    ObsSpec {
        proprio_dim: 3,
        cameras: vec![
            CameraSpec { name: "wrist".into(), height: 32, width: 32 },
            CameraSpec { name: "front".into(), height: 32, width: 32 },
        ],
        action_dim: 6,
        gripper: true,
    }
}

fn random_transition(rng: &mut ChaCha8Rng, spec: &ObsSpec, i: u64) -> Transition {
    let mut obs = || Observation {
        proprio: (0..spec.proprio_dim).map(|_| rng.random_range(-1.0..1.0)).collect(),
        images: spec.cameras.iter().map(|c| (0..c.frame_bytes()).map(|_| rng.random::<u8>()).collect()).collect(),
    };
    let (o, n) = (obs(), obs());
    Transition {
        obs: o,
        next_obs: n,
        action: Action {
            continuous: (0..spec.action_dim).map(|_| rng.random_range(-1.0..1.0)).collect(),
            gripper: GripperAction::from_index(rng.random_range(0..3)).unwrap_or_default(),
        },
        reward: rng.random_range(-1.0..1.0),
        done: i % 9 == 8,
        gripper_changed: i.is_multiple_of(3),
        intervention: i.is_multiple_of(4),
        episode: i / 9,
        ..Transition::default()
    }
}

fn image_cfg() -> AgentConfig {
    AgentConfig {
        use_images: true,
        batch_size: 8,
        critic_actor_ratio: 2,
        critic_ensemble: 4,
        critic_subsample: 2,
        hidden: vec![32, 32],
        gripper_penalty: 0.1,
        encoder: EncoderConfig { features: 16, ..EncoderConfig::default() },
        seed: 42,
        ..AgentConfig::default()
    }
}

#[test]
fn resume_from_checkpoint_gives_bit_identical_updates() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = image_spec();
    let mut store = ReplayStore::open(tmp.path().join("replay"), &spec, &store_opts()).expect("store");
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for i in 0..40 {
        store.append(&random_transition(&mut rng, &spec, i)).expect("append");
    }
    let cfg = image_cfg();
    let mut a = Learner::new(&cfg, 0.95, &spec, Device::Cpu).expect("learner");
    for _ in 0..3 {
        a.update(&store).expect("update");
    }
    let ckpt = tmp.path().join("learner.safetensors");
    a.save_checkpoint(&ckpt).expect("save");
    let ma = a.update(&store).expect("update");
    let wa = a.policy_weights().expect("weights");
    let ca = a.checkpoint_bytes().expect("ckpt");

    // a learner with another seed, restored from the checkpoint
    let mut b = Learner::new(&AgentConfig { seed: 7, ..cfg.clone() }, 0.95, &spec, Device::Cpu).expect("learner");
    b.load_checkpoint(&ckpt).expect("load");
    assert_eq!(b.updates(), 3);
    let mb = b.update(&store).expect("update");
    assert_eq!(ma, mb, "metrics after resume");
    assert!(ma.gripper_loss > 0.0 && ma.critic_loss > 0.0);
    assert_eq!(wa, b.policy_weights().expect("weights"), "policy weights after resume");
    let (pa, pb) = (
        agent::nn::weights::from_bytes(&ca, "a").expect("parse"),
        agent::nn::weights::from_bytes(&b.checkpoint_bytes().expect("ckpt"), "b").expect("parse"),
    );
    assert_eq!(pa.metadata, pb.metadata, "counters and RNG states after resume");
    assert_eq!(pa.tensors.len(), pb.tensors.len());
    for (k, t) in &pa.tensors {
        assert!(pb.get(k).is_some_and(|u| u.equal(t)), "{k} differs after resume");
    }

    // without the checkpoint the next update differs (the test can fail)
    let mut c = Learner::new(&AgentConfig { seed: 7, ..cfg.clone() }, 0.95, &spec, Device::Cpu).expect("learner");
    assert_ne!(c.update(&store).expect("update"), ma);

    // a policy runs the published weights at batch 1
    let mut p = Policy::new(&cfg, &spec, Device::Cpu).expect("policy");
    p.load_weights(&wa).expect("load");
    assert_eq!(p.version(), 4);
    let act = p.act(&random_transition(&mut rng, &spec, 0).obs, true).expect("act");
    assert_eq!(act.continuous.len(), 6);
    assert!(act.continuous.iter().all(|v| v.abs() <= 1.0));
    // a corrupt checkpoint is a typed error naming the file
    std::fs::write(&ckpt, b"not a checkpoint").expect("write");
    match b.load_checkpoint(&ckpt) {
        Err(agent::AgentError::Weights { source_name, .. }) => assert!(source_name.contains("learner.safetensors")),
        other => panic!("expected Weights error, got {other:?}"),
    }
}

/// A state-based learner on the CPU takes the fused CPU path; it resumes from a checkpoint exactly as well.
#[test]
fn state_learner_on_the_fused_cpu_path_resumes_bit_identically() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = ObsSpec { proprio_dim: 5, cameras: vec![], action_dim: 3, gripper: true };
    let mut store = ReplayStore::open(tmp.path().join("replay"), &spec, &store_opts()).expect("store");
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for i in 0..60 {
        store.append(&random_transition(&mut rng, &spec, i)).expect("append");
    }
    let cfg = AgentConfig {
        batch_size: 16,
        critic_actor_ratio: 2,
        critic_ensemble: 4,
        critic_subsample: 2,
        hidden: vec![32, 24],
        seed: 5,
        ..AgentConfig::default()
    };
    let mut a = Learner::new(&cfg, 0.95, &spec, Device::Cpu).expect("learner");
    assert!(a.uses_fused_cpu_path());
    for _ in 0..3 {
        a.update(&store).expect("update");
    }
    let ckpt = tmp.path().join("learner.safetensors");
    a.save_checkpoint(&ckpt).expect("save");
    let ma = a.update(&store).expect("update");
    let ca = agent::nn::weights::from_bytes(&a.checkpoint_bytes().expect("ckpt"), "a").expect("parse");
    let mut b = Learner::new(&AgentConfig { seed: 7, ..cfg.clone() }, 0.95, &spec, Device::Cpu).expect("learner");
    b.load_checkpoint(&ckpt).expect("load");
    let mb = b.update(&store).expect("update");
    assert_eq!(ma, mb, "metrics after resume");
    assert!(ma.critic_loss > 0.0 && ma.gripper_loss > 0.0);
    let cb = agent::nn::weights::from_bytes(&b.checkpoint_bytes().expect("ckpt"), "b").expect("parse");
    for (k, t) in &ca.tensors {
        assert!(cb.get(k).is_some_and(|u| u.equal(t)), "{k} differs after resume");
    }
}

/// Frames with a bright 8×8 square (success) or without (failure), on noise.
fn labelled(rng: &mut ChaCha8Rng, n: usize) -> Vec<LabelledFrame> {
    (0..n)
        .map(|i| {
            let success = i.is_multiple_of(2);
            let mut img: Vec<u8> = (0..32 * 32 * 3).map(|_| rng.random_range(0..100)).collect();
            if success {
                let (y0, x0) = (rng.random_range(4..20), rng.random_range(4..20));
                for y in y0..y0 + 8 {
                    for x in x0..x0 + 8 {
                        for c in 0..3 {
                            img[(y * 32 + x) * 3 + c] = 250;
                        }
                    }
                }
            }
            LabelledFrame { images: vec![img], success }
        })
        .collect()
}

#[test]
fn reward_classifier_reports_precision_and_recall_on_held_out_frames() {
    tch::set_num_threads(1);
    let spec = ObsSpec {
        proprio_dim: 0,
        cameras: vec![CameraSpec { name: "front".into(), height: 32, width: 32 }],
        action_dim: 0,
        gripper: false,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let train = labelled(&mut rng, 128);
    let held_out = labelled(&mut rng, 64);
    let mut cls = RewardClassifier::new(&EncoderConfig::default(), &spec, 1e-3, 0, Device::Cpu).expect("classifier");
    cls.fit(&train, 150, 32).expect("fit");
    let m = cls.evaluate(&held_out).expect("evaluate");
    assert_eq!(m.frames, 64);
    assert!(m.precision >= 0.9 && m.recall >= 0.9, "{m:?}");
    // weights round-trip with the threshold
    cls.threshold = 0.7;
    let bytes = cls.to_bytes().expect("bytes");
    let mut other = RewardClassifier::new(&EncoderConfig::default(), &spec, 1e-3, 5, Device::Cpu).expect("classifier");
    other.load_bytes(&bytes).expect("load");
    assert_eq!(other.threshold, 0.7);
    assert_eq!(other.evaluate(&held_out).expect("evaluate"), cls.evaluate(&held_out).expect("evaluate"));
}

/// Writes a pretrained file in the documented HWIO layout and checks that the learner's backbone holds it
/// (transposed to OIHW), frozen or fine-tuned.
#[test]
fn resnet10_loads_pretrained_weights_frozen_or_fine_tuned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("resnet10.safetensors");
    let mut named = Vec::new();
    let mut k = 0.0f32;
    let mut add = |name: &str, shape: &[i64]| {
        k += 1.0;
        let n: i64 = shape.iter().product();
        let t = tch::Tensor::arange(n, tch::kind::FLOAT_CPU).view(shape) * 1e-4 + f64::from(k) * 1e-3;
        named.push((name.to_string(), t));
    };
    add("conv_init/kernel", &[7, 7, 3, 64]);
    add("norm_init/scale", &[64]);
    add("norm_init/bias", &[64]);
    let widths = [64i64, 128, 256, 512];
    let mut cin = 64;
    for (i, &c) in widths.iter().enumerate() {
        add(&format!("ResNetBlock_{i}/Conv_0/kernel"), &[3, 3, cin, c]);
        add(&format!("ResNetBlock_{i}/MyGroupNorm_0/scale"), &[c]);
        add(&format!("ResNetBlock_{i}/MyGroupNorm_0/bias"), &[c]);
        add(&format!("ResNetBlock_{i}/Conv_1/kernel"), &[3, 3, c, c]);
        add(&format!("ResNetBlock_{i}/MyGroupNorm_1/scale"), &[c]);
        add(&format!("ResNetBlock_{i}/MyGroupNorm_1/bias"), &[c]);
        if i > 0 {
            add(&format!("ResNetBlock_{i}/conv_proj/kernel"), &[1, 1, cin, c]);
            add(&format!("ResNetBlock_{i}/norm_proj/scale"), &[c]);
            add(&format!("ResNetBlock_{i}/norm_proj/bias"), &[c]);
        }
        cin = c;
    }
    let hwio = named[0].1.shallow_clone();
    std::fs::write(&path, agent::nn::weights::to_bytes(&named, Default::default()).expect("bytes")).expect("write");

    let mut spec = image_spec();
    spec.cameras.truncate(1);
    let mut store = ReplayStore::open(tmp.path().join("replay"), &spec, &store_opts()).expect("store");
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for i in 0..20 {
        store.append(&random_transition(&mut rng, &spec, i)).expect("append");
    }
    for frozen in [true, false] {
        let cfg = AgentConfig {
            critic_actor_ratio: 1,
            encoder: EncoderConfig {
                kind: EncoderKind::Resnet10,
                pretrained: Some(path.display().to_string()),
                frozen,
                features: 16,
                ..EncoderConfig::default()
            },
            ..image_cfg()
        };
        let mut learner = Learner::new(&cfg, 0.9, &spec, Device::Cpu).expect("learner");
        let key = "encoder.wrist.resnet.conv_init.kernel";
        let get = |l: &Learner| {
            let w = agent::nn::weights::from_bytes(&l.policy_weights().expect("weights"), "w").expect("parse");
            w.get(key).expect("backbone exported")
        };
        assert!(get(&learner).equal(&hwio.permute([3, 2, 0, 1])), "pretrained kernel transposed to OIHW");
        learner.update(&store).expect("update");
        let after = get(&learner);
        assert_eq!(after.equal(&hwio.permute([3, 2, 0, 1])), frozen, "frozen = {frozen}");
    }
    // a file that lacks a key is a typed error naming file and key
    std::fs::write(&path, agent::nn::weights::to_bytes(&named[1..], Default::default()).expect("bytes"))
        .expect("write");
    let cfg = AgentConfig {
        encoder: EncoderConfig {
            kind: EncoderKind::Resnet10,
            pretrained: Some(path.display().to_string()),
            frozen: true,
            features: 16,
            ..EncoderConfig::default()
        },
        ..image_cfg()
    };
    match Learner::new(&cfg, 0.9, &spec, Device::Cpu) {
        Err(agent::AgentError::Weights { source_name, reason }) => {
            assert!(source_name.ends_with("resnet10.safetensors") && reason.contains("conv_init.kernel"), "{reason}")
        }
        other => panic!("expected Weights error, got {other:?}"),
    }
}
