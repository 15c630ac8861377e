//! The payload of one transition record (inside the framing of [`super::framing`]).
//!
//! Layout, little-endian:
//! ```text
//! u8  version (1, or 2 when the record carries its origin)
//! u8  flags: bit0 done, bit1 truncated, bit2 intervention, bit3 gripper_changed, bit4 obs frames present,
//!     bit5 origin present (version 2)
//! u8  gripper action index (0 close, 1 stay, 2 open)
//! u64 episode, u64 obs_stamp_ns, u64 next_stamp_ns
//! f32 reward
//! u16 proprio_dim, u16 action_dim, u8 cameras
//! f32 × action_dim, f32 × proprio_dim (obs), f32 × proprio_dim (next_obs)
//! [obs frames, when flagged] per camera: u32 byte length, bytes
//! next_obs frames: per camera: u32 byte length, bytes
//! [origin, when flagged] u16 session length, session (UTF-8), u64 number: the actor session and the number it
//!     gave the transition, from which a restarted learner knows what it stored (exactly once, see the learner)
//! ```
//! The store writes the obs frames with every record (a record is self-contained: a damaged one costs only itself);
//! segments written before did so only when they were not the previous record's next_obs frames in the same
//! segment, and such records are still read. In memory each frame is held once either way.

use crate::replay::transition::GripperAction;

pub(crate) const VERSION: u8 = 1;
/// The version of a record carrying its origin.
pub(crate) const VERSION_ORIGIN: u8 = 2;
const DONE: u8 = 1;
const TRUNCATED: u8 = 2;
const INTERVENTION: u8 = 4;
const GRIPPER_CHANGED: u8 = 8;
const OBS_FRAMES: u8 = 16;
const ORIGIN: u8 = 32;

/// A decoded record borrowing its payload.
#[derive(Debug)]
pub(crate) struct RecordView<'a> {
    pub done: bool,
    pub truncated: bool,
    pub intervention: bool,
    pub gripper_changed: bool,
    pub gripper: GripperAction,
    pub episode: u64,
    pub obs_stamp_ns: u64,
    pub next_stamp_ns: u64,
    pub reward: f32,
    pub action: Vec<f32>,
    pub proprio: Vec<f32>,
    pub next_proprio: Vec<f32>,
    /// Present when the record carries its own obs frames.
    pub obs_frames: Option<Vec<&'a [u8]>>,
    pub next_frames: Vec<&'a [u8]>,
    /// The actor session and number the transition arrived with, when recorded.
    pub origin: Option<(&'a str, u64)>,
}

/// Fields of a transition to encode (frames by reference).
pub(crate) struct RecordRef<'a> {
    pub t: &'a crate::replay::Transition,
    pub with_obs_frames: bool,
    /// The actor session and number it arrived with (`None`: not delivered by an actor).
    pub origin: Option<(&'a str, u64)>,
}

pub(crate) fn encode(r: &RecordRef<'_>, out: &mut Vec<u8>) {
    let t = r.t;
    let bit = |on: bool, flag: u8| if on { flag } else { 0 };
    let flags = bit(t.done, DONE)
        | bit(t.truncated, TRUNCATED)
        | bit(t.intervention, INTERVENTION)
        | bit(t.gripper_changed, GRIPPER_CHANGED)
        | bit(r.with_obs_frames, OBS_FRAMES)
        | bit(r.origin.is_some(), ORIGIN);
    out.push(if r.origin.is_some() { VERSION_ORIGIN } else { VERSION });
    out.push(flags);
    out.push(t.action.gripper.index());
    out.extend_from_slice(&t.episode.to_le_bytes());
    out.extend_from_slice(&t.obs_stamp_ns.to_le_bytes());
    out.extend_from_slice(&t.next_stamp_ns.to_le_bytes());
    out.extend_from_slice(&t.reward.to_le_bytes());
    out.extend_from_slice(&(t.obs.proprio.len() as u16).to_le_bytes());
    out.extend_from_slice(&(t.action.continuous.len() as u16).to_le_bytes());
    out.push(t.next_obs.images.len() as u8);
    for v in t.action.continuous.iter().chain(&t.obs.proprio).chain(&t.next_obs.proprio) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if r.with_obs_frames {
        for f in &t.obs.images {
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f);
        }
    }
    for f in &t.next_obs.images {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    if let Some((session, seq)) = r.origin {
        let s = &session.as_bytes()[..session.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s);
        out.extend_from_slice(&seq.to_le_bytes());
    }
}

/// Bytes of a payload's fixed part (version … cameras), before the action and proprio values.
pub(crate) const FIXED_BYTES: usize = 3 + 3 * 8 + 4 + 2 + 2 + 1;
/// Bytes of an origin besides its session: the session's length field and the number.
const ORIGIN_FIXED_BYTES: usize = 2 + 8;

/// The sizes a record of one spec can have, for recognising a record start among damaged bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    proprio: usize,
    action: usize,
    cameras: usize,
    /// Bytes of one set of frames (one per camera), their length fields included.
    frames: usize,
}

impl Shape {
    /// The shape of the records of transitions of `spec`.
    pub fn of(spec: &crate::spec::ObsSpec) -> Self {
        let frames = spec.cameras.iter().fold(0usize, |acc, c| acc.saturating_add(c.frame_bytes()).saturating_add(4));
        Self { proprio: spec.proprio_dim, action: spec.action_dim, cameras: spec.cameras.len(), frames }
    }

    /// Payload bytes of a record without origin of `proprio` and `action` values, with or without its observation
    /// frames.
    fn without_origin(&self, proprio: usize, action: usize, obs_frames: bool) -> usize {
        let values = action.saturating_add(proprio.saturating_mul(2)).saturating_mul(4);
        let frames = if obs_frames { self.frames.saturating_mul(2) } else { self.frames };
        FIXED_BYTES.saturating_add(values).saturating_add(frames)
    }

    /// The largest payload a record of a transition of this spec can be: observation and next frames, and an
    /// origin with the longest session name the format holds.
    pub fn max_payload(&self) -> usize {
        self.without_origin(self.proprio, self.action, true).saturating_add(ORIGIN_FIXED_BYTES + u16::MAX as usize)
    }

    /// Whether a payload of `len` bytes starting with `prefix` (at least [`FIXED_BYTES`] of it) can be a record
    /// with this spec's cameras: a known version with a matching origin flag, a gripper index, the spec's camera
    /// count, and exactly the length its own dimensions and flags imply (its proprio and action widths are not
    /// required to be the spec's, so that an intact record of another spec is still found and reported). Cheap:
    /// it reads only the fixed part.
    pub fn plausible(&self, len: usize, prefix: &[u8]) -> bool {
        if prefix.len() < FIXED_BYTES {
            return false;
        }
        let (version, flags, gripper) = (prefix[0], prefix[1], prefix[2]);
        let dim = |at: usize| u16::from_le_bytes([prefix[at], prefix[at + 1]]) as usize;
        let origin = flags & ORIGIN != 0;
        if !((version == VERSION && !origin) || (version == VERSION_ORIGIN && origin))
            || GripperAction::from_index(gripper).is_none()
            || prefix[FIXED_BYTES - 1] as usize != self.cameras
        {
            return false;
        }
        let base = self.without_origin(dim(FIXED_BYTES - 5), dim(FIXED_BYTES - 3), flags & OBS_FRAMES != 0);
        if origin {
            let least = base.saturating_add(ORIGIN_FIXED_BYTES);
            (least..=least.saturating_add(u16::MAX as usize)).contains(&len)
        } else {
            len == base
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.b.len() - self.pos < n {
            return Err(format!("payload ends at byte {} while {} more were expected", self.b.len(), n));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, String> {
        let s = self.take(n * 4)?;
        Ok(s.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
    fn frames(&mut self, n: usize) -> Result<Vec<&'a [u8]>, String> {
        (0..n)
            .map(|_| {
                let len = self.u32()? as usize;
                self.take(len)
            })
            .collect()
    }
}

/// Decodes a payload; the error says what is wrong.
pub(crate) fn decode(payload: &[u8]) -> Result<RecordView<'_>, String> {
    let mut c = Cursor { b: payload, pos: 0 };
    let version = c.u8()?;
    if version != VERSION && version != VERSION_ORIGIN {
        return Err(format!("record version {version}, this build reads versions {VERSION} and {VERSION_ORIGIN}"));
    }
    let flags = c.u8()?;
    if (flags & ORIGIN != 0) != (version == VERSION_ORIGIN) {
        return Err(format!("record version {version} with origin flag {}", flags & ORIGIN != 0));
    }
    let g = c.u8()?;
    let gripper = GripperAction::from_index(g).ok_or_else(|| format!("gripper action index {g}"))?;
    let episode = c.u64()?;
    let obs_stamp_ns = c.u64()?;
    let next_stamp_ns = c.u64()?;
    let reward = f32::from_le_bytes(c.u32()?.to_le_bytes());
    let p = c.u16()? as usize;
    let a = c.u16()? as usize;
    let cams = c.u8()? as usize;
    let action = c.f32s(a)?;
    let proprio = c.f32s(p)?;
    let next_proprio = c.f32s(p)?;
    let obs_frames = if flags & OBS_FRAMES != 0 { Some(c.frames(cams)?) } else { None };
    let next_frames = c.frames(cams)?;
    let origin = if flags & ORIGIN != 0 {
        let n = c.u16()? as usize;
        let session = std::str::from_utf8(c.take(n)?).map_err(|e| format!("origin session: {e}"))?;
        Some((session, c.u64()?))
    } else {
        None
    };
    if c.pos != payload.len() {
        return Err(format!("{} trailing bytes", payload.len() - c.pos));
    }
    Ok(RecordView {
        done: flags & DONE != 0,
        truncated: flags & TRUNCATED != 0,
        intervention: flags & INTERVENTION != 0,
        gripper_changed: flags & GRIPPER_CHANGED != 0,
        gripper,
        episode,
        obs_stamp_ns,
        next_stamp_ns,
        reward,
        action,
        proprio,
        next_proprio,
        obs_frames,
        next_frames,
        origin,
    })
}
