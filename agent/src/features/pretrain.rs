//! Pretraining the frozen encoder on the demonstrations (and interventions: the demo buffer), with no simulator
//! state — only what a real cell records: the camera frames, the arm's proprio and the demonstrated actions.
//!
//! Objective, per demo frame `t` of an episode (the keypoint encoder of [`super::FrameEncoder`] followed by a
//! small MLP head on `[features, proprio]`, trained together, DrQ random shifts on the frames):
//! - **behaviour cloning**: the demonstrated continuous action (mean squared error) and gripper action
//!   (cross-entropy, with a gripper);
//! - **where the demonstration goes**: the TCP displacement from frame `t` to the *grasp point* — the TCP position
//!   where the demonstration first closes the gripper (the episode's last TCP position when it never does, e.g.
//!   `reach`), in units of 10 cm. It is read off the episode's own proprio in hindsight, so it is available on a
//!   real cell, and it makes the keypoints find the object the task is about.
//!
//! `loss = MSE(action) + CE(gripper) + MSE(grasp point)`. The last episodes (a sixth, at least one when there
//! are two or more) are held out: [`PretrainReport`] gives their loss before and after.

use super::encoder::FrameEncoder;
use crate::error::{AgentError, Result};
use crate::nn::augment::random_shift;
use crate::nn::{Adam, Mlp, ParamBuilder, ParamGroup, Rng};
use crate::replay::ReplayStore;
use crate::sac::DRQ_PAD;
use interfaces::action::GripperAction;
use interfaces::config::AgentConfig;
use tch::{Device, Kind, Tensor};

/// Scale of the grasp-point target, m.
const GRASP_SCALE_M: f32 = 0.1;
/// Batch size of the pretraining.
const BATCH: usize = 64;
/// Learning rate of the pretraining.
const LR: f64 = 1e-3;
/// The held-out loss is measured every this many steps (logged; with `agent.encoder.early_stop` the encoder kept is
/// the one where it was lowest).
pub const HELDOUT_EVERY: u64 = 100;
/// With `agent.encoder.early_stop`: pretraining stops after this many held-out measurements in a row without a new
/// lowest loss.
pub const PATIENCE: u32 = 3;

/// What the pretraining did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PretrainReport {
    /// Gradient steps.
    pub steps: u64,
    /// Demo frames trained on / held out.
    pub train_frames: usize,
    /// Held-out demo frames.
    pub heldout_frames: usize,
    /// Episodes trained on.
    pub train_episodes: usize,
    /// Episodes held out.
    pub heldout_episodes: usize,
    /// Mean training loss over the last 50 steps.
    pub train_loss: f64,
    /// Held-out loss of the untrained encoder and head (NaN without held-out episodes).
    pub heldout_before: f64,
    /// Held-out loss after pretraining (NaN without held-out episodes).
    pub heldout_after: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The step whose encoder was kept: the last, or with `agent.encoder.early_stop` the one of the lowest held-out
    /// loss (the last without held-out episodes).
    pub best_step: u64,
}

/// One demo frame's inputs and targets.
struct Row {
    buffer_index: usize,
    proprio: Vec<f32>,
    action: Vec<f32>,
    gripper: i64,
    grasp: [f32; 3],
}

/// The TCP position entries of a proprio vector (its first three; 0 for those it lacks).
fn first3(p: &[f32]) -> [f32; 3] {
    [0, 1, 2].map(|k| p.get(k).copied().unwrap_or(0.0))
}

/// The demo buffer as rows grouped by episode (in stored order).
fn demo_episodes(store: &ReplayStore) -> Vec<Vec<Row>> {
    let spec = store.spec();
    let (p, a) = (spec.proprio_dim, spec.action_dim);
    let b = &store.demo;
    let mut episodes: Vec<Vec<Row>> = Vec::new();
    let mut ends: Vec<[f32; 3]> = Vec::new();
    let mut last_episode = None;
    for i in 0..b.total {
        let (d, r) = b.locate(i);
        let ep = d.episode[r];
        if last_episode != Some(ep) {
            episodes.push(Vec::new());
            ends.push([0.0; 3]);
            last_episode = Some(ep);
        }
        let proprio = d.proprio[r * p..(r + 1) * p].to_vec();
        let np = &d.next_proprio[r * p..(r + 1) * p];
        if let Some(e) = ends.last_mut() {
            *e = first3(np);
        }
        let row = Row {
            buffer_index: i,
            proprio,
            action: d.action[r * a..(r + 1) * a].to_vec(),
            gripper: i64::from(d.gripper[r]),
            grasp: [0.0; 3],
        };
        if let Some(e) = episodes.last_mut() {
            e.push(row);
        }
    }
    for (ep, end) in episodes.iter_mut().zip(ends) {
        let close = GripperAction::Close.index() as i64;
        let grasp = ep.iter().find(|r| r.gripper == close).map_or(end, |r| first3(&r.proprio));
        for r in ep.iter_mut() {
            let p = first3(&r.proprio);
            for k in 0..3 {
                r.grasp[k] = (grasp[k] - p[k]) / GRASP_SCALE_M;
            }
        }
    }
    episodes
}

/// The head on `[features, proprio]`: action (A), gripper logits (3), grasp point (3).
struct Head {
    net: Mlp,
    params: ParamGroup,
    action_dim: i64,
}

/// Pretrains a fresh keypoint encoder ([`super::FrameEncoder`], `agent.encoder`) on `store`'s demo buffer for
/// `agent.encoder.pretrain_steps` steps on `device`; `progress(step, loss)` is called every 100 steps. Errors:
/// an empty demo buffer, a store without cameras.
pub fn pretrain(
    cfg: &AgentConfig,
    store: &ReplayStore,
    device: Device,
    mut progress: impl FnMut(u64, f64),
) -> Result<(FrameEncoder, PretrainReport)> {
    let started = std::time::Instant::now();
    let spec = store.spec().clone();
    let episodes = demo_episodes(store);
    if episodes.is_empty() {
        return Err(AgentError::EmptyBuffer { buffer: "demo" });
    }
    let held = if episodes.len() >= 2 { (episodes.len() / 6).max(1) } else { 0 };
    let (train_eps, held_eps) = episodes.split_at(episodes.len() - held);
    let train: Vec<&Row> = train_eps.iter().flatten().collect();
    let heldout: Vec<&Row> = held_eps.iter().flatten().collect();
    let enc = FrameEncoder::new(&cfg.encoder, &spec, device, cfg.seed ^ 0xfea7, true)?;
    let mut rng = Rng::new(cfg.seed ^ 0xfea8);
    let mut pb = ParamBuilder::default();
    let a = spec.action_dim as i64;
    let feat = (enc.dim() + spec.proprio_dim) as i64;
    let net = Mlp::declare(&mut pb, "head.", feat, &[256, 256], Some(a + 6));
    let head = Head { net, params: pb.build(device, &mut rng, true), action_dim: a };
    let mut opt_enc = Adam::new(enc.params(), LR);
    let mut opt_head = Adam::new(&head.params, LR);
    let heldout_before = heldout_loss(store, &enc, &head, &heldout, spec.gripper);
    let mut recent = std::collections::VecDeque::new();
    let mut pick = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xfea9);
    // The lowest held-out loss so far, its step and the encoder and head then (early stopping).
    let mut best: Option<(f64, u64, Tensor, Tensor)> = None;
    let mut stale = 0u32;
    let mut steps = 0;
    for step in 1..=cfg.encoder.pretrain_steps {
        steps = step;
        let rows: Vec<&Row> =
            (0..BATCH.min(train.len().max(1))).map(|_| train[pick.random_range(0..train.len())]).collect();
        let (imgs, targets) = batch(store, &rows, device);
        let imgs: Vec<Tensor> = imgs.iter().map(|t| random_shift(t, DRQ_PAD, &mut rng)).collect();
        let loss = loss(&enc, &head, &imgs, &targets, spec.gripper);
        let grads = ParamGroup::flat_grads(&loss, &[enc.params(), &head.params]);
        opt_enc.step(enc.params(), &grads[0]);
        opt_head.step(&head.params, &grads[1]);
        recent.push_back(loss.double_value(&[]));
        if recent.len() > 50 {
            recent.pop_front();
        }
        if step % 100 == 0 {
            progress(step, recent.iter().sum::<f64>() / recent.len() as f64);
        }
        if step % HELDOUT_EVERY == 0 && !heldout.is_empty() {
            let h = heldout_loss(store, &enc, &head, &heldout, spec.gripper);
            tracing::info!(step, heldout_loss = h, "encoder pretraining: held-out loss");
            if best.as_ref().is_none_or(|b| h < b.0) {
                best = Some((h, step, enc.params().flat().copy(), head.params.flat().copy()));
                stale = 0;
            } else {
                stale += 1;
                if stale >= PATIENCE && cfg.encoder.early_stop {
                    break;
                }
            }
        }
    }
    let best_step = match best.as_ref().filter(|_| cfg.encoder.early_stop) {
        Some((_, step, e, h)) => {
            tch::no_grad(|| {
                enc.params().flat().shallow_clone().copy_(e);
                head.params.flat().shallow_clone().copy_(h);
            });
            *step
        }
        None => steps,
    };
    let heldout_after = heldout_loss(store, &enc, &head, &heldout, spec.gripper);
    let report = PretrainReport {
        best_step,
        steps,
        train_frames: train.len(),
        heldout_frames: heldout.len(),
        train_episodes: train_eps.len(),
        heldout_episodes: held_eps.len(),
        train_loss: recent.iter().sum::<f64>() / recent.len().max(1) as f64,
        heldout_before,
        heldout_after,
        seconds: started.elapsed().as_secs_f64(),
    };
    // Frozen from here on: the same weights without autograd.
    Ok((enc.clone(), report))
}

use rand::{Rng as _, SeedableRng};

/// Targets of a batch: proprio, action, gripper, grasp.
struct Targets {
    proprio: Tensor,
    action: Tensor,
    gripper: Tensor,
    grasp: Tensor,
}

fn batch(store: &ReplayStore, rows: &[&Row], device: Device) -> (Vec<Tensor>, Targets) {
    let spec = store.spec();
    let n = rows.len() as i64;
    let b = &store.demo;
    let imgs = spec
        .cameras
        .iter()
        .enumerate()
        .map(|(c, cam)| {
            let fb = cam.frame_bytes();
            let mut out = Vec::with_capacity(rows.len() * fb);
            for r in rows {
                let (d, k) = b.locate(r.buffer_index);
                let f = d.obs_frame[k] as usize;
                out.extend_from_slice(&d.frames[c][f * fb..(f + 1) * fb]);
            }
            Tensor::from_slice(&out).view([n, cam.height as i64, cam.width as i64, 3]).to_device(device)
        })
        .collect();
    let flat = |f: &dyn Fn(&Row) -> Vec<f32>, w: i64| {
        let v: Vec<f32> = rows.iter().flat_map(|r| f(r)).collect();
        Tensor::from_slice(&v).view([n, w]).to_device(device)
    };
    let t = Targets {
        proprio: flat(&|r| r.proprio.clone(), spec.proprio_dim as i64),
        action: flat(&|r| r.action.clone(), spec.action_dim as i64),
        gripper: Tensor::from_slice(&rows.iter().map(|r| r.gripper).collect::<Vec<i64>>()).to_device(device),
        grasp: flat(&|r| r.grasp.to_vec(), 3),
    };
    (imgs, t)
}

fn loss(enc: &FrameEncoder, head: &Head, imgs: &[Tensor], t: &Targets, gripper: bool) -> Tensor {
    let f = Tensor::cat(&[enc.forward(imgs), t.proprio.shallow_clone()], 1);
    let out = head.net.forward(&head.params, &f);
    let a = head.action_dim;
    let mut l = (out.narrow(1, 0, a) - &t.action).square().mean(Kind::Float);
    if gripper {
        l += out.narrow(1, a, 3).cross_entropy_for_logits(&t.gripper);
    }
    l + (out.narrow(1, a + 3, 3) - &t.grasp).square().mean(Kind::Float)
}

/// Mean loss over the held-out rows (no augmentation), NaN when there are none.
fn heldout_loss(store: &ReplayStore, enc: &FrameEncoder, head: &Head, rows: &[&Row], gripper: bool) -> f64 {
    if rows.is_empty() {
        return f64::NAN;
    }
    let _g = tch::no_grad_guard();
    let (mut sum, mut n) = (0.0, 0usize);
    for chunk in rows.chunks(BATCH) {
        let (imgs, t) = batch(store, chunk, enc.device());
        sum += loss(enc, head, &imgs, &t, gripper).double_value(&[]) * chunk.len() as f64;
        n += chunk.len();
    }
    sum / n as f64
}
