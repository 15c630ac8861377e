//! A leader arm as the teleop device (`corrigo teleop --device leader`): a second SO-101 (a Feetech chain on its
//! own port, torque off) that the human moves by hand.
//!
//! Each sample reads the leader's joints (one sync read), puts them through the leader's kinematics (the same as
//! the follower's) and gives the human's TCP pose `T_L` and jaw opening. The human **leads** while the leader
//! moves: its TCP faster than `teleop.leader.move_speed` / `turn_speed`, or its jaw faster than `jaw_speed`, and
//! for `teleop.hold_ms` after it stops. While leading, the sample asks the arbiter to take over (`takeover`)
//! with the twist that brings the follower's TCP `T_F` (the newest `controller/arm_state`) to the leader's in one
//! policy step `dt`:
//!
//! ```text
//! v = (p_L − p_F) / dt,    ω = log(R_L · R_Fᵀ) / dt        (base frame)
//! ```
//!
//! which the arbiter turns into the action `clamp(v·dt / action_scale_m, ±1)`: the follower moves towards the
//! leader by at most one action step per policy step, so a fast leader is followed at the task's speed limit and
//! the envelope still bounds everything. The gripper closes while the leader's jaw is below `close_below` of its
//! opening. When the human lets go, the sample carries a zero twist and no takeover: the policy acts again.
//! Before the first arm state arrives the twist is the leader's own velocity (the follower then moves as the
//! leader does). Corrections recorded from it go to both buffers, flagged, as with every other device.

use crate::controls::EpisodeControl;
use crate::error::TeleopError;
use crate::source::{DeviceSample, TeleopSource};
use controller::drivers::feetech::{FeetechArm, FeetechGripper, SerialLink};
use controller::model::RobotModel;
use interfaces::CellConfig;
use interfaces::config::{DriverConfig, LeaderConfig};
use interfaces::drivers::{ArmDriver, GripperDriver, TeleopReading};
use interfaces::time::{Clock, Stamp};
use nalgebra::Isometry3;
use std::sync::Arc;

/// Reads a leader arm; see the module docs.
pub struct LeaderArm<L: SerialLink> {
    name: String,
    arm: FeetechArm<L>,
    jaw: Option<FeetechGripper>,
    max_width: f64,
    model: RobotModel,
    cfg: LeaderConfig,
    hold_ns: u64,
    policy_dt: f64,
    previous: Option<(Stamp, Isometry3<f64>, f64)>,
    leading_until: Option<Stamp>,
    follower: Option<Isometry3<f64>>,
}

impl<L: SerialLink> std::fmt::Debug for LeaderArm<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderArm").field("name", &self.name).finish_non_exhaustive()
    }
}

/// What one leader sample measured (for displays and tests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeaderPose {
    /// The leader's TCP through its kinematics, base frame.
    pub tcp: Isometry3<f64>,
    /// The leader's jaw opening, 0 (closed) … 1 (open).
    pub jaw: f64,
    /// The human is leading.
    pub leading: bool,
}

impl<L: SerialLink> LeaderArm<L> {
    /// A leader on the opened chain `arm` (torque stays off: nothing here commands a servo) with the kinematics of
    /// `leader` (its cell config), the thresholds of `cfg`, the arbiter's hold `hold_ms` and the policy period
    /// `policy_dt` s.
    pub fn new(
        arm: FeetechArm<L>,
        leader: &CellConfig,
        cfg: &LeaderConfig,
        hold_ms: u64,
        policy_dt: f64,
    ) -> Result<Self, TeleopError> {
        let model = RobotModel::from_config(&leader.robot)
            .map_err(|e| TeleopError::NotFound { device: "leader".into(), detail: format!("its kinematics: {e}") })?;
        let jaw = arm.gripper();
        Ok(Self {
            name: format!("leader {}", arm.info().name.trim_start_matches("feetech:")),
            arm,
            jaw,
            max_width: leader.gripper.max_width,
            model,
            cfg: cfg.clone(),
            hold_ns: hold_ms * 1_000_000,
            policy_dt,
            previous: None,
            leading_until: None,
            follower: None,
        })
    }

    /// The leader's pose and whether the human is leading, as of the last sample.
    pub fn last(&self) -> Option<LeaderPose> {
        let (t, tcp, jaw) = self.previous?;
        Some(LeaderPose { tcp, jaw, leading: self.leading_until.is_some_and(|u| t <= u) })
    }

    fn read(&mut self) -> Result<(Isometry3<f64>, f64), TeleopError> {
        let lost = |e: interfaces::drivers::DriverError| TeleopError::Disconnected {
            device: self.name.clone(),
            detail: e.to_string(),
        };
        let s = self.arm.read_state().map_err(lost)?;
        let tcp = self.model.tcp_pose(&s.q);
        let jaw = match &mut self.jaw {
            Some(j) => {
                let w = j
                    .read()
                    .map_err(|e| TeleopError::Disconnected { device: "leader jaw".into(), detail: e.to_string() })?;
                (w.width / self.max_width.max(1e-9)).clamp(0.0, 1.0)
            }
            None => 1.0,
        };
        Ok((tcp, jaw))
    }
}

fn log_rotation(a: &Isometry3<f64>, b: &Isometry3<f64>) -> nalgebra::Vector3<f64> {
    (a.rotation * b.rotation.inverse()).scaled_axis()
}

impl<L: SerialLink + Send> TeleopSource for LeaderArm<L> {
    fn name(&self) -> &str {
        &self.name
    }

    fn base_frame(&self) -> bool {
        true
    }

    fn follower_pose(&mut self, tcp: &Isometry3<f64>) {
        self.follower = Some(*tcp);
    }

    fn sample(&mut self, now: Stamp) -> Result<DeviceSample, TeleopError> {
        let (tcp, jaw) = self.read()?;
        let velocity = self.previous.and_then(|(t, p, j)| {
            let dt = now.secs_since(t);
            (dt > 1e-6).then(|| {
                ((tcp.translation.vector - p.translation.vector) / dt, log_rotation(&tcp, &p) / dt, (jaw - j) / dt)
            })
        });
        if let Some((v, w, j)) = velocity
            && (v.norm() > self.cfg.move_speed || w.norm() > self.cfg.turn_speed || j.abs() > self.cfg.jaw_speed)
        {
            self.leading_until = Some(now.plus_ns(self.hold_ns));
        }
        self.previous = Some((now, tcp, jaw));
        let leading = self.leading_until.is_some_and(|u| now <= u);
        let mut reading = TeleopReading { stamp: now, twist: [0.0; 6], gripper_close: None, takeover: leading };
        if leading {
            let (v, w) = match (&self.follower, velocity) {
                (Some(f), _) => (
                    (tcp.translation.vector - f.translation.vector) / self.policy_dt,
                    log_rotation(&tcp, f) / self.policy_dt,
                ),
                (None, Some((v, w, _))) => (v, w),
                (None, None) => Default::default(),
            };
            reading.twist = [v.x, v.y, v.z, w.x, w.y, w.z];
            reading.gripper_close = Some(jaw < self.cfg.close_below);
        }
        Ok(DeviceSample { reading, controls: Vec::<EpisodeControl>::new(), estop: false })
    }
}

impl LeaderArm<serialport::TTYPort> {
    /// Opens the leader of `cfg.config` (its port, servos and calibration), torque off.
    pub fn open(cfg: &LeaderConfig, hold_ms: u64, policy_dt: f64) -> Result<Self, TeleopError> {
        let path = cfg.config.as_deref().ok_or_else(|| TeleopError::NotFound {
            device: "leader".into(),
            detail: "no `teleop.leader.config`: name the leader arm's config file".into(),
        })?;
        let text = std::fs::read_to_string(path).map_err(|e| TeleopError::Io {
            device: format!("leader {path}"),
            what: "read its config",
            source: e,
        })?;
        let leader = CellConfig::from_toml_str(&text, path)
            .map_err(|e| TeleopError::NotFound { device: "leader".into(), detail: e.to_string() })?;
        let DriverConfig::Feetech(d) = &leader.driver else {
            return Err(TeleopError::NotFound {
                device: "leader".into(),
                detail: format!("{path}: `driver.kind` is not \"feetech\""),
            });
        };
        let clock: Arc<dyn Clock> = Arc::new(interfaces::time::MonotonicClock);
        let arm = FeetechArm::open(d, &leader.robot, &leader.gripper, clock)
            .map_err(|e| TeleopError::NotFound { device: format!("leader {}", d.port), detail: e.to_string() })?;
        Self::new(arm, &leader, cfg, hold_ms, policy_dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_without_a_config_or_with_a_missing_file_or_adapter_is_refused_by_name() {
        let e = LeaderArm::open(&LeaderConfig::default(), 300, 0.1).expect_err("no config").to_string();
        assert!(e.contains("teleop.leader.config"), "{e}");
        let cfg = LeaderConfig { config: Some("/nonexistent/leader.toml".into()), ..LeaderConfig::default() };
        let e = LeaderArm::open(&cfg, 300, 0.1).expect_err("no file").to_string();
        assert!(e.contains("/nonexistent/leader.toml"), "{e}");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../hardware_configs/so101_leader.toml");
        let cfg = LeaderConfig { config: Some(path.into()), ..LeaderConfig::default() };
        let e = LeaderArm::open(&cfg, 300, 0.1).expect_err("no adapter here").to_string();
        assert!(e.contains("usb-1a86_USB_Single_Serial_0000000001"), "the leader's port is named: {e}");
    }
}
