//! Starting RL from what the user has: offline pretraining (conservative, calibrated critic; WSRL), residual RL on a
//! frozen base policy, and the HL-Gauss critic — checkpoints with each option resume exactly, pretraining lowers
//! held-out losses, a residual of scale 0 acts exactly as its base, bad base files are clear errors.

use agent::ObsSpec;
use agent::bc::BcTrainer;
use agent::replay::{Action, BatchSampler, GripperAction, Observation, ReplayStore, Source, StoreOptions, Transition};
use agent::sac::{Learner, Policy};
use interfaces::config::{AgentConfig, CriticKind, HlGaussConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::Duration;
use tch::Device;

const SPEC: ObsSpec = ObsSpec { proprio_dim: 5, cameras: Vec::new(), action_dim: 3, gripper: true };

fn store_opts() -> StoreOptions {
    StoreOptions { online_capacity: 100_000, segment_transitions: 1024, flush_interval: Duration::from_millis(500) }
}

/// The expert of the synthetic task: a fixed smooth map of the state, and the gripper closed when the first
/// state entry is positive.
fn expert(s: &[f32]) -> Action {
    Action {
        continuous: vec![(s[0] - s[1]).tanh() * 0.8, (0.5 * s[2]).tanh(), (s[3] + s[4]).tanh() * 0.6],
        gripper: if s[0] > 0.0 { GripperAction::Close } else { GripperAction::Open },
    }
}

/// `episodes` demonstrations of 6 steps each: random states whose last entry is the episode's progress, the
/// expert's actions, reward 1 at the last step (done), 0 before.
fn demo_store(dir: &Path, episodes: u64, seed: u64) -> ReplayStore {
    let mut store = ReplayStore::open(dir, &SPEC, &store_opts()).expect("store");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let state = |rng: &mut ChaCha8Rng, k: u64| Observation {
        proprio: (0..SPEC.proprio_dim)
            .map(|i| if i == SPEC.proprio_dim - 1 { k as f32 / 3.0 - 1.0 } else { rng.random_range(-1.0f32..1.0) })
            .collect(),
        images: vec![],
    };
    for ep in 0..episodes {
        let mut obs = state(&mut rng, 0);
        for k in 0..6 {
            let next = state(&mut rng, k + 1);
            store
                .append_demo(&Transition {
                    obs: obs.clone(),
                    next_obs: next.clone(),
                    action: expert(&obs.proprio),
                    reward: if k == 5 { 1.0 } else { 0.0 },
                    done: k == 5,
                    episode: ep,
                    ..Transition::default()
                })
                .expect("append");
            obs = next;
        }
    }
    store.flush().expect("flush");
    store
}

/// Online transitions of a random policy on the same task (reward 0).
fn add_online(store: &mut ReplayStore, n: u64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for i in 0..n {
        let mut o = || Observation {
            proprio: (0..SPEC.proprio_dim).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
            images: vec![],
        };
        let (obs, next_obs) = (o(), o());
        let action = Action {
            continuous: (0..SPEC.action_dim).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
            gripper: GripperAction::Stay,
        };
        store
            .append(&Transition {
                obs,
                next_obs,
                action,
                episode: 1000 + i / 6,
                done: i % 6 == 5,
                ..Transition::default()
            })
            .expect("append");
    }
    store.flush().expect("flush");
}

fn cfg() -> AgentConfig {
    AgentConfig {
        batch_size: 32,
        critic_actor_ratio: 2,
        hidden: vec![32, 32],
        lr: 1e-3,
        seed: 3,
        backup_entropy: Some(false),
        ..AgentConfig::default()
    }
}

/// A BC policy on `store`'s demonstrations, written to `path` (the base of residual RL).
fn bc_base(store: &ReplayStore, path: &Path, steps: usize) {
    let mut bc = BcTrainer::new(&cfg(), &SPEC, Device::Cpu).expect("bc");
    for _ in 0..steps {
        bc.step(store).expect("bc step");
    }
    std::fs::write(path, bc.policy_weights().expect("weights")).expect("write base");
}

/// Trains `k` steps of `cfg` (pretraining cycles first, then updates), checkpoints, does one more pretraining
/// cycle (or update), and checks that a learner restored from the checkpoint does exactly the same.
fn resumes_exactly(cfg: &AgentConfig, store: &ReplayStore, k: usize, what: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let step = |l: &mut Learner| {
        if l.pretraining_left() > 0 { l.pretrain_cycle(store) } else { l.update(store) }.expect("step")
    };
    let mut a = Learner::new(cfg, 0.9, &SPEC, Device::Cpu).expect("learner");
    for _ in 0..k {
        step(&mut a);
    }
    let ckpt = tmp.path().join("ckpt.safetensors");
    a.save_checkpoint(&ckpt).expect("save");
    let counters = (a.pretrained(), a.updates());
    let ma = step(&mut a);
    let mut b = Learner::new(&AgentConfig { seed: 99, ..cfg.clone() }, 0.9, &SPEC, Device::Cpu).expect("learner");
    b.load_checkpoint(&ckpt).expect("load");
    assert_eq!((b.pretrained(), b.updates()), counters, "{what}: counters");
    let mb = step(&mut b);
    assert_eq!(ma, mb, "{what}: metrics of the step after resuming");
    assert!(ma.critic_loss.is_finite() && ma.critic_loss != 0.0, "{what}: the critic trained");
    let parse =
        |l: &Learner| agent::nn::weights::from_bytes(&l.checkpoint_bytes().expect("ckpt"), what).expect("parse");
    let (ca, cb) = (parse(&a), parse(&b));
    assert_eq!(ca.metadata, cb.metadata, "{what}: counters and random streams after resuming");
    assert_eq!(ca.tensors.len(), cb.tensors.len());
    for (k, t) in &ca.tensors {
        assert!(cb.get(k).is_some_and(|u| u.equal(t)), "{what}: {k} differs after resuming");
    }
    // Without the checkpoint the step differs: the comparison can fail.
    let mut c = Learner::new(&AgentConfig { seed: 99, ..cfg.clone() }, 0.9, &SPEC, Device::Cpu).expect("learner");
    for _ in 0..k {
        step(&mut c);
    }
    assert_ne!(step(&mut c), ma, "{what}: another seed's step");
}

#[test]
fn a_checkpoint_with_each_option_resumes_exactly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut store = demo_store(&tmp.path().join("replay"), 10, 1);
    add_online(&mut store, 60, 2);
    let base = tmp.path().join("base.safetensors");
    bc_base(&store, &base, 20);
    let hl = AgentConfig { critic: Some(CriticKind::HlGauss), ..cfg() };
    resumes_exactly(&hl, &store, 3, "HL-Gauss critic (fused CPU path)");
    // Mid-pretraining (cycle 2 of 4), and after it (online updates 1 and 2).
    let pre = AgentConfig { pretrain_updates: Some(4), ..cfg() };
    resumes_exactly(&pre, &store, 2, "mid-pretraining");
    resumes_exactly(&pre, &store, 5, "online after pretraining");
    let wsrl =
        AgentConfig { pretrain_updates: Some(2), retain_offline: false, critic: Some(CriticKind::HlGauss), ..cfg() };
    resumes_exactly(&wsrl, &store, 4, "WSRL with the HL-Gauss critic");
    let residual = AgentConfig { base_policy: Some(base.display().to_string()), ..cfg() };
    resumes_exactly(&residual, &store, 3, "residual on a BC base");
}

/// WSRL samples online data only after pretraining; RLPD keeps half of every batch from the demo buffer.
#[test]
fn without_offline_data_the_learner_needs_online_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = demo_store(&tmp.path().join("replay"), 4, 1);
    let mut wsrl = Learner::new(
        &AgentConfig { pretrain_updates: Some(1), retain_offline: false, ..cfg() },
        0.9,
        &SPEC,
        Device::Cpu,
    )
    .expect("learner");
    wsrl.pretrain_cycle(&store).expect("pretraining uses the demos");
    match wsrl.update(&store) {
        Err(agent::AgentError::EmptyBuffer { buffer }) => assert_eq!(buffer, "online"),
        other => panic!("WSRL must not train on the demo buffer online: {other:?}"),
    }
    let mut rlpd =
        Learner::new(&AgentConfig { pretrain_updates: Some(1), ..cfg() }, 0.9, &SPEC, Device::Cpu).expect("l");
    rlpd.pretrain_cycle(&store).expect("pretrain");
    rlpd.update(&store).expect("RLPD trains on the demos alone while no online data exists");
    // Pretraining comes before online learning only: a learner that has updated online does not pretrain.
    let mut late = Learner::new(&cfg(), 0.9, &SPEC, Device::Cpu).expect("learner");
    let mut store2 = demo_store(&tmp.path().join("late"), 4, 2);
    add_online(&mut store2, 40, 5);
    late.update(&store2).expect("update");
    let ckpt = tmp.path().join("late.safetensors");
    late.save_checkpoint(&ckpt).expect("save");
    let mut later =
        Learner::new(&AgentConfig { pretrain_updates: Some(5), ..cfg() }, 0.9, &SPEC, Device::Cpu).expect("l");
    assert_eq!(later.pretraining_left(), 5);
    later.load_checkpoint(&ckpt).expect("load");
    assert_eq!((later.pretraining_left(), later.pretrain(&store2, |_, _, _| {}).expect("pretrain")), (0, 0));
    // Pretraining needs demonstrations.
    let empty = ReplayStore::open(tmp.path().join("empty"), &SPEC, &store_opts()).expect("store");
    assert!(matches!(rlpd.pretrain_cycle(&empty), Err(agent::AgentError::EmptyBuffer { buffer: "demo" })));
}

/// Pretraining on 60 demonstrations lowers the TD and behaviour-cloning losses on 20 held-out ones, with the MSE
/// and the HL-Gauss critic.
#[test]
fn pretraining_lowers_the_held_out_losses() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let train = demo_store(&tmp.path().join("train"), 60, 1);
    let held = demo_store(&tmp.path().join("held"), 20, 77);
    let batch = BatchSampler::new(&SPEC, 120, Device::Cpu, 5).sample_many_from(&held, 1, Source::Demo).expect("b");
    for critic in [CriticKind::Mse, CriticKind::HlGauss] {
        let c = AgentConfig {
            pretrain_updates: Some(300),
            critic: Some(critic),
            hl_gauss: HlGaussConfig { bins: 21, ..HlGaussConfig::default() },
            ..cfg()
        };
        let mut l = Learner::new(&c, 0.9, &SPEC, Device::Cpu).expect("learner");
        let (td0, bc0) = l.offline_losses(&batch);
        let mut seen = 0;
        let ran = l.pretrain(&train, |i, n, _| seen = i.max(seen).min(n)).expect("pretrain");
        assert_eq!((ran, seen, l.pretrained(), l.pretraining_left()), (300, 300, 300, 0));
        assert_eq!(l.updates(), 0, "pretraining cycles are not online updates");
        let (td1, bc1) = l.offline_losses(&batch);
        assert!(td1 < 0.8 * td0, "{critic:?}: held-out TD loss {td0} → {td1}");
        assert!(bc1 < bc0 - 1.0, "{critic:?}: held-out behaviour-cloning loss {bc0} → {bc1}");
        assert_eq!(l.pretrain(&train, |_, _, _| {}).expect("pretrain"), 0, "nothing left to pretrain");
    }
}

/// A residual policy of scale 0 acts exactly as its base (also when sampling); a residual of scale s stays within
/// s of it; the learner trains on it.
#[test]
fn a_residual_of_scale_zero_acts_exactly_as_its_base() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut store = demo_store(&tmp.path().join("replay"), 5, 1);
    add_online(&mut store, 40, 3);
    let path = tmp.path().join("base.safetensors");
    bc_base(&store, &path, 30);
    let mut base = Policy::new(&cfg(), &SPEC, Device::Cpu).expect("policy");
    base.load_weights(&std::fs::read(&path).expect("read")).expect("load the BC policy");
    let with =
        |scale: f64| AgentConfig { base_policy: Some(path.display().to_string()), residual_scale: scale, ..cfg() };
    let mut learner = Learner::new(&with(0.3), 0.9, &SPEC, Device::Cpu).expect("learner");
    for _ in 0..3 {
        learner.update(&store).expect("update");
    }
    let weights = learner.policy_weights().expect("weights");
    let mut zero = Policy::new(&with(0.0), &SPEC, Device::Cpu).expect("policy");
    zero.load_weights(&weights).expect("load");
    let mut bounded = Policy::new(&with(0.3), &SPEC, Device::Cpu).expect("policy");
    bounded.load_weights(&weights).expect("load");
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut moved = 0.0f32;
    for _ in 0..20 {
        let obs = Observation { proprio: (0..5).map(|_| rng.random_range(-1.0f32..1.0)).collect(), images: vec![] };
        let want = base.act(&obs, true).expect("base").continuous;
        for deterministic in [true, false] {
            assert_eq!(zero.act(&obs, deterministic).expect("act").continuous, want, "scale 0 is the base");
        }
        let got = bounded.act(&obs, false).expect("act").continuous;
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 0.3 + 1e-6, "a residual of scale 0.3 moved {w} to {g}");
            moved = moved.max((g - w).abs());
        }
    }
    assert!(moved > 0.01, "the sampled residual moves the action");
}

/// A missing, foreign or mismatched base file is an error naming the file and what is wrong.
#[test]
fn a_bad_base_policy_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let with = |p: &Path| AgentConfig { base_policy: Some(p.display().to_string()), ..cfg() };
    let missing = tmp.path().join("missing.safetensors");
    let e = Learner::new(&with(&missing), 0.9, &SPEC, Device::Cpu).expect_err("missing file").to_string();
    assert!(e.contains("missing.safetensors"), "{e}");
    let junk = tmp.path().join("junk.pt");
    std::fs::write(&junk, b"not a model").expect("write");
    let trusted = |p: &Path| AgentConfig { trust_torchscript: true, ..with(p) };
    let e = Policy::new(&trusted(&junk), &SPEC, Device::Cpu).expect_err("junk").to_string();
    assert!(e.contains("junk.pt") && e.contains("TorchScript"), "{e}");
    // A BC policy of another cell (7 proprio values).
    let other = ObsSpec { proprio_dim: 7, ..SPEC };
    let bc = BcTrainer::new(&cfg(), &other, Device::Cpu).expect("bc");
    let wrong = tmp.path().join("other_cell.safetensors");
    std::fs::write(&wrong, bc.policy_weights().expect("weights")).expect("write");
    let e = Learner::new(&with(&wrong), 0.9, &SPEC, Device::Cpu).expect_err("mismatch").to_string();
    assert!(e.contains("other_cell.safetensors") && e.contains("7 proprio values"), "{e}");
}

/// A TorchScript module saved by PyTorch (`torch.jit.save`) is a base policy: with residual scale 0 the policy acts
/// exactly as the module's forward.
#[test]
fn a_torchscript_module_is_a_base_policy() {
    let python = match std::env::var("CORRIGO_VENV_PYTHON") {
        Ok(p) if Path::new(&p).exists() => p,
        _ => panic!("the project's Python virtualenv is missing: run `make setup` (scripts/setup.sh) first"),
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("base.pt");
    let script = [
        "import sys, torch",
        "class Base(torch.nn.Module):",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        "        return torch.tanh(x[:, 0:3] * 0.5 - x[:, 3:4])",
        "torch.jit.save(torch.jit.script(Base()), sys.argv[1])",
    ]
    .join("\n");
    // TorchScript reads the module's source: a file, not `python -c`.
    let file = tmp.path().join("make_base.py");
    std::fs::write(&file, script).expect("write the script");
    let out = std::process::Command::new(python).arg(&file).arg(&path).output().expect("run python");
    assert!(out.status.success(), "torch.jit.save failed: {}", String::from_utf8_lossy(&out.stderr));
    let c = AgentConfig {
        base_policy: Some(path.display().to_string()),
        residual_scale: 0.0,
        trust_torchscript: true,
        ..cfg()
    };
    let mut policy = Policy::new(&c, &SPEC, Device::Cpu).expect("a policy on the TorchScript base");
    let obs = Observation { proprio: vec![0.4, -0.2, 1.0, 0.3, 0.0], images: vec![] };
    let got = policy.act(&obs, false).expect("act").continuous;
    let want: Vec<f32> = (0..3).map(|i| (obs.proprio[i] * 0.5 - obs.proprio[3]).tanh()).collect();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
    }
    // A module of the wrong shape is refused when loaded.
    let c = AgentConfig { base_policy: Some(path.display().to_string()), trust_torchscript: true, ..cfg() };
    let e = Learner::new(&c, 0.9, &ObsSpec { action_dim: 2, ..SPEC }, Device::Cpu).expect_err("2 actions").to_string();
    assert!(e.contains("base.pt") && e.contains("expected [1, 2]"), "{e}");
}

/// A TorchScript base policy is code: without `agent.trust_torchscript` the learner and the actor's policy refuse
/// it before libtorch loads it, naming the key to set; a safetensors base needs no such opt-in.
#[test]
fn a_torchscript_base_policy_is_refused_without_trust_torchscript() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Whatever its name, a file that is not safetensors weights would be loaded as TorchScript.
    for name in ["base.pt", "base.safetensors", "base"] {
        let path = tmp.path().join(name);
        std::fs::write(&path, b"PK\x03\x04 a TorchScript archive would run code").expect("write");
        let c = AgentConfig { base_policy: Some(path.display().to_string()), ..cfg() };
        let e = Learner::new(&c, 0.9, &SPEC, Device::Cpu).expect_err("refused").to_string();
        assert!(e.contains("agent.trust_torchscript") && e.contains(name), "{e}");
        let e = Policy::new(&c, &SPEC, Device::Cpu).expect_err("refused").to_string();
        assert!(e.contains("agent.trust_torchscript"), "{e}");
    }
    let bc = BcTrainer::new(&cfg(), &SPEC, Device::Cpu).expect("bc");
    let weights = tmp.path().join("bc.safetensors");
    std::fs::write(&weights, bc.policy_weights().expect("weights")).expect("write");
    let c = AgentConfig { base_policy: Some(weights.display().to_string()), ..cfg() };
    Policy::new(&c, &SPEC, Device::Cpu).expect("safetensors weights need no opt-in");
}
