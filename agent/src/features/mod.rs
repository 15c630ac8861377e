//! The cached-feature path of an image-based learner, the fast setting on a CPU (`agent.encoder.training =
//! "cached"`, the default without CUDA).
//!
//! End-to-end training (SERL's DrQ: the critic trains the encoder on every augmented batch) spends nearly all of
//! a CPU's time in the convolutions of two 128×128 encoders at batch 256. Here the encoder is frozen instead:
//! 1. **an encoder worth freezing**, with no internet access and no simulator state: the keypoint CNN pretrained
//!    on the demonstrations ([`pretrain()`]: behaviour cloning plus the demonstration's grasp point, both from
//!    what a real cell records), or the pretrained ResNet-10 of `agent.encoder.pretrained`;
//! 2. **features once per stored frame**: [`crate::replay::ReplayStore::attach_features`] encodes every frame of
//!    the store once, and each new frame as it is appended; the features are kept in memory beside the frames
//!    and rebuilt from them (with the run directory's `encoder.safetensors`) when the store is opened again;
//! 3. **a state-sized update**: the learner trains on `[features, proprio]` ([`encoded_spec`]), on the fused CPU
//!    path like a state-based learner; the policy carries the encoder and encodes the current frames itself.
//!
//! [`prepare`] does 1–2 for a run directory (pretraining once, reusing the saved encoder on resume).

mod encoder;
mod pretrain;

pub use encoder::{ENCODE_CHUNK, FrameEncoder, encoded_spec, spatial_softmax};
pub use pretrain::{HELDOUT_EVERY, PATIENCE, PretrainReport, pretrain};

use crate::error::{AgentError, Result};
use crate::replay::ReplayStore;
use interfaces::config::{AgentConfig, EncoderKind};
use std::path::Path;
use tch::Device;

/// File of the frozen encoder in a run directory.
pub const ENCODER_FILE: &str = "encoder.safetensors";

/// True when an image-based learner for `cfg` on `device` uses cached features (see the module docs).
pub fn uses_cached_features(cfg: &AgentConfig, has_cameras: bool, device: Device) -> bool {
    has_cameras && cfg.use_images && cfg.encoder.cached_on(device.is_cuda())
}

/// What [`prepare`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// Not the cached-feature path (state-based, or end-to-end): nothing attached.
    NotCached,
    /// The encoder of `run_dir/encoder.safetensors` was loaded and attached.
    Loaded {
        /// Frames encoded.
        frames: usize,
    },
    /// A fresh encoder was pretrained on the demo buffer, saved and attached.
    Pretrained {
        /// The pretraining's figures.
        report: PretrainReport,
        /// Frames encoded.
        frames: usize,
    },
    /// The pretrained ResNet-10 was frozen, saved and attached.
    Frozen {
        /// Frames encoded.
        frames: usize,
    },
}

/// Readies `store` for a learner on `device`: on the cached-feature path, loads `run_dir/encoder.safetensors`
/// when it exists, else builds the encoder (pretrains the keypoint CNN on the demo buffer, or freezes the
/// pretrained ResNet-10) and saves it there; then attaches it to the store (encoding every stored frame).
/// `say` gets progress lines. Errors: no demonstrations to pretrain on, a checkpoint without its encoder
/// (its networks were trained on features that are gone), unreadable files.
pub fn prepare(
    cfg: &AgentConfig,
    store: &mut ReplayStore,
    run_dir: &Path,
    device: Device,
    mut say: impl FnMut(&str),
) -> Result<Prepared> {
    let spec = store.spec().clone();
    if !uses_cached_features(cfg, !spec.cameras.is_empty(), device) {
        return Ok(Prepared::NotCached);
    }
    let path = run_dir.join(ENCODER_FILE);
    if path.exists() {
        let enc = FrameEncoder::load_file(&cfg.encoder, &spec, &path, device)?;
        let frames = store.online_frames() + store.demo_frames();
        store.attach_features(enc, &mut encode_progress(&mut say))?;
        return Ok(Prepared::Loaded { frames });
    }
    let ckpt = run_dir.join("checkpoint.safetensors");
    if ckpt.exists() {
        return Err(AgentError::Weights {
            source_name: path.display().to_string(),
            reason: format!(
                "missing: {} was trained on this encoder's features; restore the file, or move the checkpoint away \
                 to start learning anew",
                ckpt.display()
            ),
        });
    }
    let (enc, prepared) = match cfg.encoder.kind {
        EncoderKind::SmallCnn => {
            if store.demo_len() == 0 {
                return Err(AgentError::EmptyBuffer { buffer: "demo" });
            }
            say(&format!(
                "pretraining the image encoder on {} demo transitions ({} steps)…",
                store.demo_len(),
                cfg.encoder.pretrain_steps
            ));
            let (enc, report) = pretrain(cfg, store, device, |step, loss| {
                say(&format!("  encoder pretraining step {step}: loss {loss:.4}"));
            })?;
            say(&format!(
                "encoder pretrained in {:.0} s, {} steps, kept step {} (lowest held-out loss): held-out loss {:.4} → \
                 {:.4} ({} held-out frames)",
                report.seconds,
                report.steps,
                report.best_step,
                report.heldout_before,
                report.heldout_after,
                report.heldout_frames
            ));
            (enc, Prepared::Pretrained { report, frames: 0 })
        }
        EncoderKind::Resnet10 => {
            (FrameEncoder::new(&cfg.encoder, &spec, device, 0, false)?, Prepared::Frozen { frames: 0 })
        }
    };
    enc.save(&path)?;
    let frames = store.online_frames() + store.demo_frames();
    store.attach_features(enc, &mut encode_progress(&mut say))?;
    Ok(match prepared {
        Prepared::Pretrained { report, .. } => Prepared::Pretrained { report, frames },
        _ => Prepared::Frozen { frames },
    })
}

/// Progress lines of an attach's encoding (only for stores large enough to take a while).
fn encode_progress(say: &mut impl FnMut(&str)) -> impl FnMut(usize, usize) + '_ {
    move |done, total| {
        if total >= 2 * ENCODE_CHUNK {
            say(&format!("encoding stored frames: {done}/{total}"));
        }
    }
}
