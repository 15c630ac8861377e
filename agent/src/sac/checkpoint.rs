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
use std::io::Write;
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

    /// Writes the checkpoint to `path` atomically (temporary file, sync, rename). Errors name the file.
    pub fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.checkpoint_bytes()?;
        let tmp = path.with_extension("safetensors.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
        f.write_all(&bytes).map_err(io_err("write", &tmp))?;
        f.sync_all().map_err(io_err("flush", &tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err("rename", path))?;
        if let Some(dir) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Restores a checkpoint written by a learner with the same config and spec. Errors name the file and the
    /// missing or mismatched entry; on error the learner may be partly restored and should be discarded.
    pub fn load_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(io_err("read", path))?;
        self.restore_checkpoint(&bytes, &path.display().to_string())
    }

    /// [`Learner::load_checkpoint`] from bytes; `source` names them in errors.
    pub fn restore_checkpoint(&mut self, bytes: &[u8], source: &str) -> Result<()> {
        let l: Loaded = weights::from_bytes(bytes, source)?;
        let err = |reason: String| AgentError::Weights { source_name: source.to_string(), reason };
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
        self.updates = l.meta(source, "updates")?;
        // Checkpoints written before offline pretraining existed have no count: none was done.
        self.pretrained = if l.metadata.contains_key("pretrained") { l.meta(source, "pretrained")? } else { 0 };
        let seed = |k: &str| l.metadata.get(k).and_then(|s| unhex(s)).ok_or_else(|| err(format!("metadata `{k}`")));
        self.rng.set_state(seed("rng.seed")?, l.meta(source, "rng.word_pos")?);
        self.sampler.set_rng_state(seed("sampler.seed")?, l.meta(source, "sampler.word_pos")?);
        Ok(())
    }
}
