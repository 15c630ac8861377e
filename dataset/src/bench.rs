//! `corrigo bench dataset`: export and import throughput of a LeRobotDataset v3 round trip, per codec.
//!
//! A run directory is filled with `episodes × steps` transitions of a cell with two 128×128 cameras (pictures with
//! a smooth background and a moving square, compressible like a camera's view), exported (tables, stats, videos:
//! end to end, from opening the store to renaming the folder into place) and imported into a fresh run directory
//! (end to end, into the replay store, flushed). Frames/s counts dataset frames (one row, every camera's image).

use crate::error::{DatasetError, Result};
use crate::video::{Codec, psnr};
use crate::{BufferChoice, ExportOptions, ImportOptions};
use agent::replay::{Action, Observation, ReplayStore, StoreOptions, Transition};
use interfaces::CellConfig;

/// One codec's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecFigures {
    /// The codec.
    pub codec: Codec,
    /// Frames exported per second, end to end.
    pub export_fps: f64,
    /// Frames imported per second, end to end.
    pub import_fps: f64,
    /// Lowest PSNR of an imported image against the recorded one, dB.
    pub worst_psnr_db: f64,
    /// Mean PSNR, dB.
    pub mean_psnr_db: f64,
    /// Size of the videos, MiB.
    pub video_mib: f64,
}

fn picture(h: usize, w: usize, cam: usize, step: usize) -> Vec<u8> {
    let mut f = vec![0u8; h * w * 3];
    for y in 0..h {
        for x in 0..w {
            let p = (y * w + x) * 3;
            f[p] = (x * 200 / w + 20) as u8;
            f[p + 1] = (y * 180 / h + 30) as u8;
            f[p + 2] = (90 + 50 * cam) as u8;
            let (sx, sy) = (8 + (step * 2) % (w - 40), 30 + cam * 20);
            if (sx..sx + 24).contains(&x) && (sy..sy + 24).contains(&y) {
                f[p..p + 3].copy_from_slice(&[220, 50, 40]);
            }
        }
    }
    f
}

fn dir_mib(dir: &std::path::Path) -> f64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(m) = e.metadata() {
                    total += m.len();
                }
            }
        }
    }
    total as f64 / (1u64 << 20) as f64
}

/// Runs the round trip for each codec on a copy of `cfg` with images on; prints progress lines to stderr.
pub fn run(cfg: &CellConfig, episodes: usize, steps: usize, codecs: &[Codec]) -> Result<Vec<CodecFigures>> {
    let mut cfg = cfg.clone();
    cfg.agent.use_images = true;
    let spec = interfaces::env::obs_spec(&cfg);
    if spec.cameras.is_empty() {
        return Err(DatasetError::Usage("the cell has no camera; the benchmark needs one".into()));
    }
    let root = std::env::temp_dir().join(format!("corrigo-bench-dataset-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let src = root.join("src");
    let pictures: Vec<Vec<Vec<u8>>> = (0..=steps)
        .map(|k| spec.cameras.iter().enumerate().map(|(c, cam)| picture(cam.height, cam.width, c, k)).collect())
        .collect();
    {
        let mut store = ReplayStore::open(src.join("replay"), &spec, &StoreOptions::from_config(&cfg.agent))?;
        for e in 0..episodes {
            for k in 0..steps {
                let ob = |j: usize| Observation {
                    proprio: (0..spec.proprio_dim).map(|i| (e * 7 + j + i) as f32 * 0.01).collect(),
                    images: pictures[j].clone(),
                };
                let t = Transition {
                    obs: ob(k),
                    action: Action { continuous: vec![0.1; spec.action_dim], ..Default::default() },
                    reward: if k + 1 == steps { 1.0 } else { 0.0 },
                    next_obs: ob(k + 1),
                    done: k + 1 == steps,
                    episode: e as u64,
                    obs_stamp_ns: k as u64 * 100_000_000,
                    next_stamp_ns: (k as u64 + 1) * 100_000_000,
                    ..Default::default()
                };
                store.append_demo(&t)?;
            }
        }
        store.flush()?;
    }
    eprintln!("recorded {episodes} episodes × {steps} steps, {} cameras", spec.cameras.len());
    let mut out = Vec::new();
    for &codec in codecs {
        let ds = root.join(format!("ds-{}", codec.info_name()));
        let dst = root.join(format!("dst-{}", codec.info_name()));
        let ex = crate::export(
            &cfg,
            &src,
            &ds,
            &ExportOptions { buffer: BufferChoice::Demo, codec, progress: true, ..Default::default() },
        )?;
        let im =
            crate::import(&cfg, &ds, &dst, &ImportOptions { as_demo: true, progress: true, ..Default::default() })?;
        let store = ReplayStore::open_read_only(dst.join("replay"), &spec)?;
        let (mut worst, mut sum, mut n) = (f64::INFINITY, 0.0, 0usize);
        for i in (0..store.demo_len()).step_by(7) {
            if let Some(t) = store.get(true, i) {
                let k = i % steps;
                for (c, img) in t.obs.images.iter().enumerate() {
                    let p = psnr(&pictures[k][c], img);
                    worst = worst.min(p);
                    sum += p;
                    n += 1;
                }
            }
        }
        out.push(CodecFigures {
            codec,
            export_fps: ex.frames as f64 / ex.seconds,
            import_fps: im.transitions as f64 / im.seconds,
            worst_psnr_db: worst,
            mean_psnr_db: sum / n.max(1) as f64,
            video_mib: dir_mib(&ds.join("videos")),
        });
    }
    let _ = std::fs::remove_dir_all(&root);
    Ok(out)
}
