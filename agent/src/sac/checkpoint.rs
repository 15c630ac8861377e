//! Learner checkpoints: one safetensors file with every parameter buffer, target network, Adam moment and step,
//! the update counter and the exact state of the learner's and the sampler's random streams. Written to a
//! temporary file, synced, then renamed: a crash leaves either the old or the new checkpoint, never a torn one.
//! Resuming from a checkpoint gives bit-identical updates to an uninterrupted run on the same device and thread
//! settings.

use crate::error::{AgentError, Result, io_err};
use crate::nn::weights::{self, Loaded};
use crate::nn::{Adam, ParamGroup};
use crate::sac::Learner;
use std::collections::HashMap;
use std::path::Path;
use tch::Tensor;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The largest counter a checkpoint may hold (updates, pretraining cycles, Adam steps): 2^53, beyond any run and
/// exact in a float. A larger one is corrupt or hostile, and counting on from it would overflow.
pub const MAX_COUNTER: u64 = 1 << 53;

/// Metadata `key` of `l` as a counter in `0..=MAX_COUNTER`; errors name the source and the key.
fn counter(l: &Loaded, source: &str, key: &str) -> Result<u64> {
    let v: i128 = l.meta(source, key)?;
    u64::try_from(v).ok().filter(|v| *v <= MAX_COUNTER).ok_or_else(|| AgentError::Weights {
        source_name: source.into(),
        reason: format!("metadata `{key}` = {v} is out of range (0 ..= 2^53): the checkpoint is corrupt"),
    })
}

impl Learner {
    fn groups(&self) -> Vec<(&'static str, &ParamGroup, Option<&Adam>)> {
        let mut g = vec![
            ("critic", &self.p.critic, Some(&self.opt_critic)),
            ("critic_target", &self.critic_target, None),
            ("actor", &self.p.actor, Some(&self.opt_actor)),
            ("log_alpha", &self.log_alpha, Some(&self.opt_alpha)),
        ];
        if let (Some(gp), Some(gt)) = (&self.p.gripper, &self.gripper_target) {
            g.push(("gripper", gp, self.opt_gripper.as_ref()));
            g.push(("gripper_target", gt, None));
        }
        if let Some(f) = &self.p.frozen {
            g.push(("frozen", f, None));
        }
        if let Some(p) = self.prior.as_ref().filter(|p| p.trained) {
            g.push(("prior", &p.p, None));
        }
        g
    }

    /// The checkpoint as bytes.
    pub fn checkpoint_bytes(&self) -> Result<Vec<u8>> {
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        let mut meta = HashMap::new();
        for (name, group, opt) in self.groups() {
            tensors.push((format!("{name}.flat"), group.flat().shallow_clone()));
            if let Some(o) = opt {
                tensors.push((format!("{name}.adam_m"), o.m.shallow_clone()));
                tensors.push((format!("{name}.adam_v"), o.v.shallow_clone()));
                meta.insert(format!("{name}.adam_step"), o.step.to_string());
            }
        }
        meta.insert("updates".into(), self.updates.to_string());
        meta.insert("pretrained".into(), self.pretrained.to_string());
        let (seed, pos) = self.rng.state();
        meta.insert("rng.seed".into(), hex(&seed));
        meta.insert("rng.word_pos".into(), pos.to_string());
        let (seed, pos) = self.sampler.rng_state();
        meta.insert("sampler.seed".into(), hex(&seed));
        meta.insert("sampler.word_pos".into(), pos.to_string());
        weights::to_bytes(&tensors, meta)
    }

    /// Writes the checkpoint to `path` atomically and durably ([`crate::disk::write_atomic`]: temporary file,
    /// sync, rename, directory sync). Errors name the file.
    pub fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::disk::write_atomic(path.as_ref(), &self.checkpoint_bytes()?)
    }

    /// Restores a checkpoint written by a learner with the same config and spec. Errors name the file and the
    /// missing or mismatched entry; on error the learner may be partly restored and should be discarded.
    pub fn load_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(io_err("read", path))?;
        self.restore_checkpoint(&bytes, &path.display().to_string())
    }

    /// [`Learner::load_checkpoint`] from bytes; `source` names them in errors. Counters (updates, pretraining
    /// cycles, Adam steps) above [`MAX_COUNTER`] or negative are refused before anything is restored.
    pub fn restore_checkpoint(&mut self, bytes: &[u8], source: &str) -> Result<()> {
        let l: Loaded = weights::from_bytes(bytes, source)?;
        let err = |reason: String| AgentError::Weights { source_name: source.to_string(), reason };
        let updates = counter(&l, source, "updates")?;
        // Checkpoints written before offline pretraining existed have no count: none was done.
        let pretrained = if l.metadata.contains_key("pretrained") { counter(&l, source, "pretrained")? } else { 0 };
        for (name, _, opt) in self.groups() {
            if opt.is_some() {
                counter(&l, source, &format!("{name}.adam_step"))?;
            }
        }
        let fetch = |key: &str, like: &Tensor| -> Result<Tensor> {
            let t = l.get(key).ok_or_else(|| err(format!("missing tensor `{key}`")))?;
            if t.size() != like.size() {
                let hint = if key.starts_with("critic") {
                    " (written with another critic objective? runs with a sparse reward started before HL-Gauss became \
                     its default resume with agent.critic = \"mse\")"
                } else {
                    ""
                };
                return Err(err(format!("tensor `{key}` has shape {:?}, expected {:?}{hint}", t.size(), like.size())));
            }
            Ok(t.to_device(like.device()))
        };
        let mut steps = Vec::new();
        for (name, group, opt) in self.groups() {
            let flat = fetch(&format!("{name}.flat"), group.flat())?;
            tch::no_grad(|| group.flat().shallow_clone().copy_(&flat));
            if let Some(o) = opt {
                let m = fetch(&format!("{name}.adam_m"), &o.m)?;
                let v = fetch(&format!("{name}.adam_v"), &o.v)?;
                let step: i64 = l.meta(source, &format!("{name}.adam_step"))?;
                steps.push((name, m, v, step));
            }
        }
        for (name, m, v, step) in steps {
            let opt = match name {
                "critic" => &mut self.opt_critic,
                "actor" => &mut self.opt_actor,
                "log_alpha" => &mut self.opt_alpha,
                _ => match self.opt_gripper.as_mut() {
                    Some(o) => o,
                    None => continue,
                },
            };
            tch::no_grad(|| {
                opt.m.copy_(&m);
                opt.v.copy_(&v);
            });
            opt.step = step;
        }
        // A fitted behaviour prior comes back fitted (one written before the prior was configured: fitted anew).
        if let Some(prior) = self.prior.as_mut().filter(|p| !p.trained)
            && let Some(t) = l.get("prior.flat")
        {
            if t.size() != prior.p.flat().size() {
                return Err(err(format!(
                    "tensor `prior.flat` has shape {:?}, expected {:?}",
                    t.size(),
                    prior.p.flat().size()
                )));
            }
            tch::no_grad(|| prior.p.flat().shallow_clone().copy_(&t.to_device(prior.p.flat().device())));
            prior.trained = true;
        }
        self.updates = updates;
        self.pretrained = pretrained;
        let seed = |k: &str| l.metadata.get(k).and_then(|s| unhex(s)).ok_or_else(|| err(format!("metadata `{k}`")));
        self.rng.set_state(seed("rng.seed")?, l.meta(source, "rng.word_pos")?);
        self.sampler.set_rng_state(seed("sampler.seed")?, l.meta(source, "sampler.word_pos")?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::config::AgentConfig;

    /// Regression (a checkpoint claiming `updates = u64::MAX` was restored, and the next update overflowed): a
    /// counter out of range is refused naming the key, and the learner keeps its state.
    #[test]
    fn a_checkpoint_with_a_counter_at_u64_max_is_refused() {
        let cfg = AgentConfig { hidden: vec![8], batch_size: 4, ..AgentConfig::default() };
        let spec = crate::spec::ObsSpec { proprio_dim: 3, cameras: Vec::new(), action_dim: 2, gripper: false };
        let mut learner = Learner::new(&cfg, 0.9, &spec, tch::Device::Cpu).expect("learner");
        let bytes = learner.checkpoint_bytes().expect("bytes");
        learner.restore_checkpoint(&bytes, "good").expect("a checkpoint of its own restores");
        for (key, value) in
            [("updates", u64::MAX.to_string()), ("pretrained", u64::MAX.to_string()), ("actor.adam_step", "-1".into())]
        {
            let mut l = weights::from_bytes(&bytes, "good").expect("parse");
            l.metadata.insert(key.into(), value.clone());
            let tensors: Vec<(String, Tensor)> =
                l.tensors.iter().map(|(k, t)| (k.clone(), t.shallow_clone())).collect();
            let bad = weights::to_bytes(&tensors, l.metadata.clone()).expect("bytes");
            let e = learner.restore_checkpoint(&bad, "bad").expect_err("refused").to_string();
            assert!(e.contains(key) && e.contains("out of range"), "{key} = {value}: {e}");
            assert_eq!(learner.updates(), 0, "nothing restored");
        }
    }
}
