//! The stored episodes of a run directory as the replay view's [`ui::replay::EpisodeSource`]: the replay store
//! opened read only (beside a running learner too), its episodes found from the transitions' episode ids.

use agent::replay::ReplayStore;
use anyhow::{Context, Result};
use interfaces::CellConfig;
use std::ops::Range;
use std::path::Path;
use ui::replay::{Episode, EpisodeSource, EpisodeSummary, ReplayStep};

/// A run directory's episodes.
#[derive(Debug)]
pub struct StoreEpisodes {
    store: ReplayStore,
    list: Vec<EpisodeSummary>,
    ranges: Vec<(bool, Range<usize>)>,
}

impl StoreEpisodes {
    /// Opens the replay store of `run_dir` (read only) for the cell `cfg` and lists its episodes: the demo buffer's
    /// first, then the online buffer's, each a run of consecutive transitions with one episode id.
    pub fn open(cfg: &CellConfig, run_dir: &Path) -> Result<Self> {
        let dir = run_dir.join("replay");
        let store = ReplayStore::open_read_only(&dir, &interfaces::env::obs_spec(cfg))
            .with_context(|| format!("opening the replay store {}", dir.display()))?;
        let mut list = Vec::new();
        let mut ranges = Vec::new();
        for (demo, len) in [(true, store.demo_len()), (false, store.online_len())] {
            let mut i = 0;
            while i < len {
                let (id, _) = store.episode_of(demo, i).context("episode id")?;
                let start = i;
                let (mut ret, mut human, mut success) = (0.0f64, 0usize, false);
                while i < len {
                    let (e, intervention) = store.episode_of(demo, i).context("episode id")?;
                    if e != id {
                        break;
                    }
                    let (reward, done, truncated) = store.reward_of(demo, i).context("reward")?;
                    ret += f64::from(reward);
                    human += usize::from(intervention);
                    success = done && !truncated;
                    i += 1;
                    if done || truncated {
                        break;
                    }
                }
                list.push(EpisodeSummary {
                    buffer: if demo { "demo" } else { "online" },
                    episode: id,
                    steps: i - start,
                    episode_return: ret,
                    success,
                    intervention_steps: human,
                });
                ranges.push((demo, start..i));
            }
        }
        Ok(Self { store, list, ranges })
    }
}

impl EpisodeSource for StoreEpisodes {
    fn episodes(&self) -> &[EpisodeSummary] {
        &self.list
    }

    fn load(&self, i: usize) -> Result<Episode, String> {
        let (demo, range) = self.ranges.get(i).cloned().ok_or_else(|| format!("no episode {i}"))?;
        let spec = self.store.spec();
        let cameras = spec.cameras.iter().map(|c| (c.name.clone(), c.width, c.height)).collect();
        let steps = range
            .map(|k| {
                let t = self.store.get(demo, k).ok_or_else(|| format!("transition {k} is gone"))?;
                let p = &t.obs.proprio;
                Ok(ReplayStep {
                    frames: t.obs.images,
                    tcp: [
                        p.first().copied().unwrap_or(0.0),
                        p.get(1).copied().unwrap_or(0.0),
                        p.get(2).copied().unwrap_or(0.0),
                    ],
                    action: t.action.continuous,
                    reward: t.reward,
                    intervention: t.intervention,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Episode { cameras, steps })
    }
}
