//! Calibration of a Feetech arm (`corrigo calibrate`): the servos' zeros and the joints' ranges, measured by
//! hand with torque off.
//!
//! Every SO-100/SO-101 is assembled with its servos at arbitrary angles, so the joint angle at a servo's centre
//! count (2048) differs from arm to arm. The procedure, driven by [`Calibrator`]:
//!
//! 1. The arm is opened as the driver opens it ([`FeetechArm`]): every servo answers, torque stays **off**.
//! 2. The arm is held in the model's **zero pose** (every joint at 0: upper arm up, forearm and gripper forward)
//!    with the jaw **closed**; [`Calibrator::record_zero`] reads every servo's count `c0_j`. The zero offset that
//!    makes that pose read 0 is `zero_offset_j = −dir_j · (c0_j − 2048) · 2π/4096` (`dir_j = −1` for an
//!    `inverted` joint).
//! 3. Every joint and the jaw are moved slowly **through their whole range**; [`Calibrator::sample`] (called at
//!    ~50 Hz) keeps each servo's smallest and largest count.
//! 4. [`Calibrator::result`]: each joint's limits are the angles of its extreme counts, `margin` inside them; the
//!    jaw's range is `[closed, open]` = its angle in the zero pose and its extreme farthest from it. A joint
//!    moved through less than [`MIN_RANGE_RAD`] is refused by name (it was forgotten), as is a jaw that did not
//!    open.
//!
//! The result is written into the config's `driver.zero_offset`, `driver.jaw_range` and the joints' `lower` /
//! `upper` by the command, which keeps a backup of the file.

use super::arm::{FeetechArm, count_to_angle};
use super::control_table as ct;
use crate::drivers::serial::SerialLink;
use interfaces::config::FeetechConfig;
use interfaces::drivers::{ArmDriver, DriverError};
use thiserror::Error;

/// The smallest range a joint must be moved through to count as calibrated, rad.
pub const MIN_RANGE_RAD: f64 = 0.5;

/// What a calibration measured, per joint (base to tip) and for the jaw.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// `driver.zero_offset`: the joint angle at each servo's centre count, rad.
    pub zero_offset: Vec<f64>,
    /// Lower joint limits, rad (the smallest angle reached, `margin` inside).
    pub lower: Vec<f64>,
    /// Upper joint limits, rad.
    pub upper: Vec<f64>,
    /// `driver.jaw_range` (`[closed, open]`, rad), when the arm has a jaw.
    pub jaw_range: Option<[f64; 2]>,
    /// Smallest and largest count seen per servo (arm, then jaw).
    pub counts: Vec<(i32, i32)>,
    /// Reads taken.
    pub samples: u64,
}

/// Why a calibration cannot be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CalibrationError {
    /// [`Calibrator::record_zero`] was not called.
    #[error("the zero pose was not recorded")]
    NoZero,
    /// A joint barely moved.
    #[error(
        "joint {joint} (`{name}`, servo ID {id}) moved through {range:.2} rad only: move it through its whole range (at least {MIN_RANGE_RAD} rad)"
    )]
    JointNotMoved {
        /// Joint number, 1-based.
        joint: usize,
        /// Joint name.
        name: String,
        /// Servo ID.
        id: u8,
        /// Range seen, rad.
        range: f64,
    },
    /// The jaw barely moved.
    #[error("the jaw (servo ID {id}) moved through {range:.2} rad only: open and close it fully")]
    JawNotMoved {
        /// Servo ID.
        id: u8,
        /// Range seen, rad.
        range: f64,
    },
    /// A servo reached the end of its encoder's turn (count 0 or 4095): its range wraps around and cannot be
    /// mapped to one interval of angles.
    #[error(
        "joint {joint} (`{name}`, servo ID {id}) reached count {count}, the end of its encoder's turn: its range wraps around; re-seat the servo horn so the joint's range lies within one turn"
    )]
    EncoderWrap {
        /// Joint number, 1-based.
        joint: usize,
        /// Joint name.
        name: String,
        /// Servo ID.
        id: u8,
        /// The count reached.
        count: i32,
    },
    /// The zero pose lies outside the range recorded afterwards (the arm slipped between the two steps).
    #[error("joint {joint} (`{name}`): its zero pose is outside the range recorded for it; calibrate again")]
    ZeroOutsideRange {
        /// Joint number, 1-based.
        joint: usize,
        /// Joint name.
        name: String,
    },
}

/// A calibration in progress on an opened arm (torque off).
#[derive(Debug)]
pub struct Calibrator<L: SerialLink> {
    arm: FeetechArm<L>,
    cfg: FeetechConfig,
    names: Vec<String>,
    zero: Option<Vec<i32>>,
    min: Vec<i32>,
    max: Vec<i32>,
    samples: u64,
}

impl<L: SerialLink> Calibrator<L> {
    /// Starts on `arm`, opened from `cfg` (whose `zero_offset` is ignored: it is what is measured) with the
    /// joints named `names`. Torque stays off: nothing here commands a servo.
    pub fn new(arm: FeetechArm<L>, cfg: &FeetechConfig, names: Vec<String>) -> Self {
        let n = cfg.ids.len() + usize::from(cfg.gripper_id.is_some());
        Self { arm, cfg: cfg.clone(), names, zero: None, min: vec![i32::MAX; n], max: vec![i32::MIN; n], samples: 0 }
    }

    /// The arm (for its health counters).
    pub fn arm(&self) -> &FeetechArm<L> {
        &self.arm
    }

    /// One read of every servo's position (one sync read); extends the recorded ranges. Returns the counts
    /// (arm servos, then the jaw's).
    pub fn sample(&mut self) -> Result<Vec<i32>, DriverError> {
        self.arm.read_state()?;
        let raw = self.arm.raw_positions().to_vec();
        for (k, &c) in raw.iter().enumerate() {
            self.min[k] = self.min[k].min(c);
            self.max[k] = self.max[k].max(c);
        }
        self.samples += 1;
        Ok(raw)
    }

    /// Reads the zero pose (every joint at 0, jaw closed): the counts that become the joints' zeros.
    pub fn record_zero(&mut self) -> Result<(), DriverError> {
        self.zero = Some(self.sample()?);
        Ok(())
    }

    /// The joint angles (calibrated with the zero recorded so far) and the ranges seen, for a progress display:
    /// `(angle, min angle, max angle)` per joint; `None` before the zero is recorded.
    pub fn progress(&self) -> Option<Vec<(f64, f64, f64)>> {
        let zero = self.zero.as_ref()?;
        let raw = self.arm.raw_positions();
        Some(
            (0..self.cfg.ids.len())
                .map(|j| {
                    let (d, off) = (self.dir(j), offset_for_zero(zero[j], self.dir(j)));
                    let (a, b) = (count_to_angle(self.min[j], d, off), count_to_angle(self.max[j], d, off));
                    (count_to_angle(raw[j], d, off), a.min(b), a.max(b))
                })
                .collect(),
        )
    }

    fn dir(&self, j: usize) -> f64 {
        if self.cfg.inverted.get(j).copied().unwrap_or(false) { -1.0 } else { 1.0 }
    }

    /// The calibration: zeros from [`record_zero`](Self::record_zero), limits `margin` rad inside the ranges
    /// seen by [`sample`](Self::sample).
    pub fn result(&self, margin: f64) -> Result<Calibration, CalibrationError> {
        let zero = self.zero.as_ref().ok_or(CalibrationError::NoZero)?;
        let dof = self.cfg.ids.len();
        let mut out = Calibration {
            zero_offset: Vec::with_capacity(dof),
            lower: Vec::with_capacity(dof),
            upper: Vec::with_capacity(dof),
            jaw_range: None,
            counts: self.min.iter().copied().zip(self.max.iter().copied()).collect(),
            samples: self.samples,
        };
        for (j, &z) in zero.iter().enumerate().take(dof) {
            let name = self.names.get(j).cloned().unwrap_or_default();
            let (d, range) = (self.dir(j), f64::from(self.max[j] - self.min[j]) * ct::RAD_PER_COUNT);
            if range < MIN_RANGE_RAD {
                return Err(CalibrationError::JointNotMoved { joint: j + 1, name, id: self.cfg.ids[j], range });
            }
            if self.min[j] <= 0 || self.max[j] >= ct::COUNTS_PER_TURN as i32 - 1 {
                let count = if self.min[j] <= 0 { self.min[j] } else { self.max[j] };
                return Err(CalibrationError::EncoderWrap { joint: j + 1, name, id: self.cfg.ids[j], count });
            }
            if !(self.min[j]..=self.max[j]).contains(&z) {
                return Err(CalibrationError::ZeroOutsideRange { joint: j + 1, name });
            }
            let off = offset_for_zero(z, d);
            let (a, b) = (count_to_angle(self.min[j], d, off), count_to_angle(self.max[j], d, off));
            let m = margin.min(range / 4.0);
            out.zero_offset.push(off);
            out.lower.push(a.min(b) + m);
            out.upper.push(a.max(b) - m);
        }
        if let Some(id) = self.cfg.gripper_id {
            let k = dof;
            let range = f64::from(self.max[k] - self.min[k]) * ct::RAD_PER_COUNT;
            if range < MIN_RANGE_RAD {
                return Err(CalibrationError::JawNotMoved { id, range });
            }
            // The driver maps the jaw without offset or inversion: angle = (count − 2048)·2π/4096.
            let angle = |c: i32| count_to_angle(c, 1.0, 0.0);
            let closed = angle(zero[k]);
            let open = if (angle(self.max[k]) - closed).abs() >= (angle(self.min[k]) - closed).abs() {
                angle(self.max[k])
            } else {
                angle(self.min[k])
            };
            out.jaw_range = Some([closed, open]);
        }
        Ok(out)
    }
}

/// The zero offset that makes count `c0` read as angle 0: `−dir · (c0 − 2048) · 2π/4096`.
pub fn offset_for_zero(c0: i32, dir: f64) -> f64 {
    -dir * f64::from(c0 - ct::CENTRE) * ct::RAD_PER_COUNT
}
