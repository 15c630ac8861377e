//! Scripted demonstrations: the simulated expert's actions with Gaussian noise, kept only when the episode
//! succeeds (only successful episodes go to the demo buffer).

use crate::replay::Transition;
use anyhow::Result;
use interfaces::env::Env;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// One recorded episode.
#[derive(Debug, Clone)]
pub struct Episode {
    /// Its transitions.
    pub transitions: Vec<Transition>,
    /// It met the task's success criterion.
    pub success: bool,
    /// Sum of rewards.
    pub episode_return: f64,
}

/// Runs one episode with the env's scripted expert, adding `noise` (standard deviation, in action units) to
/// every continuous action. Episode ids are `episode`.
pub fn scripted_episode(env: &mut dyn Env, episode: u64, noise: f64, rng: &mut ChaCha8Rng) -> Result<Episode> {
    let normal = Normal::new(0.0, noise.max(1e-12)).map_err(|e| anyhow::anyhow!("noise {noise}: {e}"))?;
    let (mut obs, mut stamp) = env.reset()?;
    let mut transitions = Vec::new();
    let mut ret = 0.0;
    loop {
        let Some(mut action) = env.expert_action() else { anyhow::bail!("this environment has no scripted expert") };
        for a in &mut action.continuous {
            *a = (*a + normal.sample(rng) as f32).clamp(-1.0, 1.0);
        }
        let step = env.step(&action)?;
        ret += f64::from(step.reward);
        transitions.push(Transition::from_step(&obs, stamp, action, &step, episode));
        obs = step.obs;
        stamp = step.stamp_ns;
        if step.done || step.truncated {
            return Ok(Episode { transitions, success: step.success, episode_return: ret });
        }
    }
}

/// Records `n` successful scripted episodes (trying at most `3·n + 10`), returning them.
pub fn scripted_demos(env: &mut dyn Env, n: usize, noise: f64, seed: u64) -> Result<Vec<Episode>> {
    scripted_demos_with(env, n, noise, seed, &mut |_, _| {})
}

/// [`scripted_demos`], calling `kept(k, episode)` as the `k`-th successful episode (from 1) is kept.
pub fn scripted_demos_with(
    env: &mut dyn Env,
    n: usize,
    noise: f64,
    seed: u64,
    kept: &mut dyn FnMut(usize, &Episode),
) -> Result<Vec<Episode>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut tries = 0;
    while out.len() < n {
        tries += 1;
        if tries > 3 * n + 10 {
            anyhow::bail!("the scripted expert succeeded in only {} of {} episodes", out.len(), tries - 1);
        }
        let ep = scripted_episode(env, tries as u64, noise, &mut rng)?;
        if ep.success {
            kept(out.len() + 1, &ep);
            out.push(ep);
        }
    }
    Ok(out)
}
