//! `corrigo classifier`: trains the reward classifier of a real cell from the run directory's replay store, so
//! that the environment over the bus can reward the policy without a simulator (`agent.reward_classifier`).
//!
//! Labels come from the recorded episodes: the frames after a step that ended its episode as a success (a
//! successful demonstration's last step, an episode the operator labelled successful) are positives; the frames
//! every transition started from are negatives (an episode ends at its success, so these show the task not yet
//! done). Every fifth episode is held out for precision and recall. Positives are rare (one per episode), so the
//! training set repeats them until both classes weigh the same; DrQ's random shift varies the repeats.

use crate::classifier::{ClassifierMetrics, LabelledFrame, RewardClassifier};
use crate::replay::ReplayStore;
use anyhow::{Context, Result, bail};
use interfaces::CellConfig;
use std::path::{Path, PathBuf};

/// Settings of a training run.
#[derive(Debug, Clone)]
pub struct ClassifierOptions {
    /// Run directory whose replay store holds the episodes.
    pub run_dir: PathBuf,
    /// Where the classifier is written (safetensors).
    pub out: PathBuf,
    /// Minibatch steps.
    pub steps: usize,
    /// Frames per minibatch.
    pub batch: usize,
    /// Success probability above which a frame counts as success.
    pub threshold: f64,
    /// Print the loss every this many steps (0: never).
    pub progress_every: usize,
}

/// What a training run gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifierReport {
    /// Labelled frames used for training: (positives, negatives), before balancing.
    pub train: (usize, usize),
    /// Held-out frames: (positives, negatives).
    pub held_out: (usize, usize),
    /// The last training loss.
    pub loss: f64,
    /// Precision, recall and accuracy on the held-out frames.
    pub metrics: ClassifierMetrics,
}

/// Labelled frames from every episode of the store, split into (training, held-out) by episode id.
pub fn labelled_frames(store: &ReplayStore) -> (Vec<LabelledFrame>, Vec<LabelledFrame>) {
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for demo in [true, false] {
        let n = if demo { store.demo_len() } else { store.online_len() };
        for i in 0..n {
            let Some(t) = store.get(demo, i) else { continue };
            let set = if t.episode % 5 == 4 { &mut held_out } else { &mut train };
            set.push(LabelledFrame { images: t.obs.images, success: false });
            if t.done && !t.truncated {
                set.push(LabelledFrame { images: t.next_obs.images, success: true });
            }
        }
    }
    (train, held_out)
}

fn count(frames: &[LabelledFrame]) -> (usize, usize) {
    let p = frames.iter().filter(|f| f.success).count();
    (p, frames.len() - p)
}

/// Trains the classifier of `cfg` on the store of `opts.run_dir` and writes it to `opts.out`.
pub fn train(cfg: &CellConfig, opts: &ClassifierOptions) -> Result<ClassifierReport> {
    let spec = interfaces::env::obs_spec(cfg);
    if spec.cameras.is_empty() {
        bail!("the reward classifier looks at camera frames: set `agent.use_images = true` and record with it");
    }
    let dir = opts.run_dir.join("replay");
    if !dir.exists() {
        bail!("no replay store at {}: record episodes first (`corrigo record`)", dir.display());
    }
    let store = ReplayStore::open_read_only(&dir, &spec)
        .with_context(|| format!("opening the replay store {}", dir.display()))?;
    let (train, held_out) = labelled_frames(&store);
    drop(store);
    let (tc, hc) = (count(&train), count(&held_out));
    if tc.0 == 0 || tc.1 == 0 {
        bail!(
            "{}: the training episodes give {} success and {} other frames; both are needed (record successful \
             episodes)",
            dir.display(),
            tc.0,
            tc.1
        );
    }
    let mut balanced = train.clone();
    let positives: Vec<&LabelledFrame> = train.iter().filter(|f| f.success).collect();
    for k in 0..tc.1.saturating_sub(tc.0) {
        balanced.push(positives[k % positives.len()].clone());
    }
    let device = if tch::Cuda::is_available() { tch::Device::Cuda(0) } else { tch::Device::Cpu };
    let mut c = RewardClassifier::new(&cfg.agent.encoder, &spec, cfg.agent.lr, cfg.agent.seed, device)?;
    c.threshold = opts.threshold;
    println!(
        "classifier: {} success and {} other frames to train on ({} held out), {} steps of {} on {device:?}",
        tc.0,
        tc.1,
        held_out.len(),
        opts.steps,
        opts.batch
    );
    let mut loss = f64::NAN;
    let mut done = 0;
    while done < opts.steps {
        let n = if opts.progress_every > 0 { opts.progress_every.min(opts.steps - done) } else { opts.steps - done };
        loss = c.fit(&balanced, n, opts.batch)?;
        done += n;
        if opts.progress_every > 0 {
            println!("classifier: step {done}/{}: loss {loss:.4}", opts.steps);
        }
    }
    let metrics = if held_out.is_empty() { ClassifierMetrics::default() } else { c.evaluate(&held_out)? };
    write(&c, &opts.out)?;
    Ok(ClassifierReport { train: tc, held_out: hc, loss, metrics })
}

/// Writes the classifier's weights and threshold (creating the folder) through [`crate::disk::write_atomic`]:
/// a crash leaves the old classifier or the new one whole, never a torn file.
pub fn write(c: &RewardClassifier, path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let bytes = c.to_bytes()?;
    crate::disk::write_atomic(path, &bytes).context("writing the reward classifier")?;
    Ok(())
}

/// Loads the classifier named by `agent.reward_classifier` for the cameras of `cfg` (on the CPU: one frame per
/// step).
pub fn load(cfg: &CellConfig, path: &Path) -> Result<RewardClassifier> {
    let spec = interfaces::env::obs_spec(cfg);
    let mut c = RewardClassifier::new(&cfg.agent.encoder, &spec, cfg.agent.lr, cfg.agent.seed, tch::Device::Cpu)
        .context("building the reward classifier")?;
    let bytes = std::fs::read(path).with_context(|| format!("reading the reward classifier {}", path.display()))?;
    c.load_bytes(&bytes).with_context(|| format!("loading the reward classifier {}", path.display()))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{CameraSpec, ObsSpec};
    use interfaces::config::EncoderConfig;

    /// The classifier file is replaced whole through `disk::write_atomic`: stale temporary files left by a crash,
    /// even symbolic links at their names, are never written through, and the result is a regular file that
    /// loads with the threshold written.
    #[test]
    fn write_replaces_the_file_whole_and_never_writes_through_a_stale_temporary() {
        let spec = ObsSpec {
            proprio_dim: 3,
            cameras: vec![CameraSpec { name: "front".into(), height: 32, width: 32 }],
            action_dim: 2,
            gripper: false,
        };
        let enc = EncoderConfig { keypoints: 4, ..EncoderConfig::default() };
        let mut c = RewardClassifier::new(&enc, &spec, 1e-3, 0, tch::Device::Cpu).expect("classifier");
        c.threshold = 0.25;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("classifier.safetensors");
        std::fs::write(&path, b"old").expect("old file");
        let outside = dir.path().join("outside");
        for stale in ["classifier.tmp", "classifier.safetensors.tmp"] {
            std::os::unix::fs::symlink(&outside, dir.path().join(stale)).expect("symlink");
        }
        write(&c, &path).expect("write");
        assert!(!outside.exists(), "the write went through a symbolic link at a temporary name");
        assert!(std::fs::symlink_metadata(&path).expect("metadata").is_file(), "a regular file, not a link");
        let mut back = RewardClassifier::new(&enc, &spec, 1e-3, 1, tch::Device::Cpu).expect("classifier");
        back.load_bytes(&std::fs::read(&path).expect("read")).expect("load");
        assert_eq!(back.threshold, 0.25);
    }
}
