//! The controller stepped one cycle at a time: read the arm, run the target stages and the law, write through
//! the envelope. The real-time loop ([`crate::rt`]) calls [`ControllerCore::step`] at the control rate; tests and
//! the simulator call it directly with a mock clock (deterministic, faster than real time).

use crate::envelope::{self, EStopLatch, Envelope, SafetyStage, Watchdog, WorkspaceClamp};
use crate::law::{ImpedanceLaw, LawOutput, ValidatedGains};
use crate::model::{ModelError, RobotModel};
use interfaces::CellConfig;
use interfaces::Stamp;
use interfaces::drivers::{ArmDriver, DriverError, JointVec, MAX_DOF};
use interfaces::msg::{ControllerMode, GripperState, ImpedanceGains, LimitCounters, Pose};
use nalgebra::Isometry3;
use thiserror::Error;

/// Why a controller could not be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BuildError {
    /// The robot model is unusable.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The config's gains are out of range.
    #[error(transparent)]
    Gains(#[from] crate::law::GainsError),
    /// The driver's joint count differs from the config's.
    #[error("driver `{driver}` has {driver_dof} joints, robot.joints has {config_dof}")]
    DofMismatch {
        /// Driver name.
        driver: String,
        /// Joints of the driver.
        driver_dof: usize,
        /// Joints in the config.
        config_dof: usize,
    },
}

/// How long an e-stop or a fault stays latched before a reset can clear it, ns of the controller's clock (300 ms).
///
/// A reset that arrives within this time of the latch is refused (not deferred): an e-stop pressed while a reset
/// was on its way, or a reset sent by a script in the same breath as the e-stop, never unlatches the arm. The
/// operator resets again once the dwell has passed.
pub const RESET_DWELL_NS: u64 = 300_000_000;

/// Why a reset request ([`ControllerCore::request_reset`]) did not clear the latch. Nothing changed; the request
/// is counted in [`ControllerStatus::refused_resets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ResetRefused {
    /// The reset was issued before (or with) the latch it would clear: an e-stop wins over every reset that was
    /// not issued after it.
    #[error("reset #{issued} was issued before the latch (commands up to #{latched} were issued before it)")]
    IssuedBeforeLatch {
        /// The reset's place in the command order.
        issued: u64,
        /// The last command issued before the latch.
        latched: u64,
    },
    /// The latch is younger than [`RESET_DWELL_NS`].
    #[error("reset within {dwell_ms} ms of the latch ({remaining_ns} ns to go)")]
    Dwell {
        /// The dwell, ms.
        dwell_ms: u64,
        /// Time left before a reset can clear the latch, ns (the whole dwell when the latch has not been through a
        /// cycle yet).
        remaining_ns: u64,
    },
}

/// When the current e-stop or fault latched: after every command numbered up to `order`, at `at` (the controller's
/// clock; `None` until the first cycle after an [`ControllerCore::estop`] call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Latch {
    order: u64,
    at: Option<Stamp>,
}

/// Why a pose target was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TargetError {
    /// Not finite, or the quaternion is not of unit norm.
    #[error("pose target is invalid (non-finite or non-unit quaternion)")]
    Invalid,
    /// The controller is e-stopped or faulted: targets are ignored until reset.
    #[error("pose target ignored in mode {mode:?} (reset first)")]
    Ignored {
        /// Mode at the time.
        mode: ControllerMode,
    },
}

/// The controller's state after a cycle. Plain `Copy` data, real-time safe to produce and to pass through a
/// latest-value cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControllerStatus {
    /// Stamp of the joint measurement.
    pub stamp: Stamp,
    /// Mode.
    pub mode: ControllerMode,
    /// Joints used.
    pub dof: usize,
    /// Joint positions, rad.
    pub q: JointVec,
    /// Joint velocities, rad/s.
    pub dq: JointVec,
    /// Torque sent to the driver after the envelope, N·m.
    pub tau: JointVec,
    /// TCP pose, base frame.
    pub ee_pose: Pose,
    /// TCP twist, m/s then rad/s, base frame.
    pub ee_twist: [f64; 6],
    /// Target in force (after the workspace clamp), base frame.
    pub pose_target: Pose,
    /// Pose error before clipping: m then rad (rotation vector), base frame.
    pub pose_error: [f64; 6],
    /// Gripper state (filled by the loop that owns the gripper).
    pub gripper: GripperState,
    /// E-stop latched.
    pub estop: bool,
    /// Limit-hit counters.
    pub limits: LimitCounters,
    /// Deadline misses (filled by the real-time loop).
    pub deadline_misses: u64,
    /// Cycles run.
    pub cycles: u64,
    /// Impedance gains in force.
    pub gains: ImpedanceGains,
    /// Reset requests refused so far ([`ResetRefused`]: issued before the latch, or within the dwell).
    pub refused_resets: u64,
    /// Gripper commands not executed because the e-stop (or a fault) was latched.
    pub held_gripper_commands: u64,
}

impl Default for ControllerStatus {
    fn default() -> Self {
        Self {
            stamp: Stamp(0),
            mode: ControllerMode::Idle,
            dof: 0,
            q: [0.0; MAX_DOF],
            dq: [0.0; MAX_DOF],
            tau: [0.0; MAX_DOF],
            ee_pose: Pose::default(),
            ee_twist: [0.0; 6],
            pose_target: Pose::default(),
            pose_error: [0.0; 6],
            gripper: GripperState::default(),
            estop: false,
            limits: LimitCounters::default(),
            deadline_misses: 0,
            cycles: 0,
            gains: ImpedanceGains {
                translational_stiffness: [0.0; 3],
                rotational_stiffness: [0.0; 3],
                translational_damping: [0.0; 3],
                rotational_damping: [0.0; 3],
                translational_clip: [0.0; 3],
                rotational_clip: [0.0; 3],
                nullspace_stiffness: 0.0,
            },
            refused_resets: 0,
            held_gripper_commands: 0,
        }
    }
}

impl ControllerStatus {
    /// As the bus message (allocates: call off the real-time thread). `seq` goes into the header.
    pub fn to_arm_state(&self, seq: u64) -> interfaces::msg::ArmState {
        interfaces::msg::ArmState {
            header: interfaces::msg::Header { seq, stamp_ns: self.stamp },
            mode: self.mode,
            q: self.q[..self.dof].to_vec(),
            dq: self.dq[..self.dof].to_vec(),
            tau: self.tau[..self.dof].to_vec(),
            ee_pose: self.ee_pose,
            ee_twist: self.ee_twist,
            pose_target: self.pose_target,
            gripper: self.gripper,
            estop: self.estop,
            limits: self.limits,
            deadline_misses: self.deadline_misses,
            cycles: self.cycles,
        }
    }
}

/// The synchronous controller around a driver `D` (wrapped in the full [`Envelope`]).
#[derive(Debug)]
pub struct ControllerCore<D: ArmDriver> {
    model: RobotModel,
    law: ImpedanceLaw,
    workspace: WorkspaceClamp,
    watchdog: Watchdog,
    stack: Envelope<D>,
    mode: ControllerMode,
    target: Option<Isometry3<f64>>,
    pending: Option<Isometry3<f64>>,
    error_clips: u64,
    status: ControllerStatus,
    last_fault: Option<DriverError>,
    /// Every command numbered up to this has been issued ([`ControllerCore::note_issued`]).
    issued_upto: u64,
    /// The e-stop or fault in force, if any.
    latch: Option<Latch>,
}

impl<D: ArmDriver> ControllerCore<D> {
    /// A controller for `driver` with the robot, gains, limits and workspace of `cfg`. Adds `g(q)` when the
    /// driver's [`interfaces::drivers::ArmInfo::gravity_compensated`] is false.
    pub fn new(cfg: &CellConfig, driver: D) -> Result<Self, BuildError> {
        let model = RobotModel::from_config(&cfg.robot)?;
        if driver.info().dof != model.dof() {
            return Err(BuildError::DofMismatch {
                driver: driver.info().name.clone(),
                driver_dof: driver.info().dof,
                config_dof: model.dof(),
            });
        }
        let gains = ValidatedGains::new(cfg.controller.gains)?;
        let mut posture = [0.0; MAX_DOF];
        for (p, v) in posture.iter_mut().zip(&cfg.controller.nullspace_posture) {
            *p = *v;
        }
        let law = ImpedanceLaw::new(gains, posture, !driver.info().gravity_compensated);
        let stack = envelope::wrap(driver, &model, &cfg.controller);
        let status = ControllerStatus { dof: model.dof(), gains: *law.gains(), ..ControllerStatus::default() };
        Ok(Self {
            model,
            law,
            workspace: WorkspaceClamp::new(cfg.workspace),
            watchdog: Watchdog::new(cfg.controller.watchdog_ms),
            stack,
            mode: ControllerMode::Idle,
            target: None,
            pending: None,
            error_clips: 0,
            status,
            last_fault: None,
            issued_upto: 0,
            latch: None,
        })
    }

    /// Takes a new pose target (base frame), applied at the next [`step`](Self::step). Real-time safe.
    pub fn set_target(&mut self, pose: &Pose) -> Result<(), TargetError> {
        if !pose.is_valid() {
            return Err(TargetError::Invalid);
        }
        match self.mode {
            ControllerMode::EStopped | ControllerMode::Fault => Err(TargetError::Ignored { mode: self.mode }),
            _ => {
                self.pending = Some(pose.to_isometry());
                Ok(())
            }
        }
    }

    /// Notes that every command numbered up to `upto` (in the order the controller's commands were issued, see
    /// [`crate::rt::ControllerHandle`]) has been issued. A latch that happens afterwards is later than all of them:
    /// [`request_reset`](Self::request_reset) refuses their resets. Real-time safe.
    pub fn note_issued(&mut self, upto: u64) {
        self.issued_upto = self.issued_upto.max(upto);
    }

    /// Latches the e-stop: the arm goes to the driver's safe state and targets are ignored until a reset
    /// ([`request_reset`](Self::request_reset) issued after the latch and past the dwell, or
    /// [`reset_estop`](Self::reset_estop)). A second e-stop while latched starts the dwell again. Real-time safe.
    pub fn estop(&mut self) {
        self.stack.trip();
        self.pending = None;
        self.latch = Some(Latch { order: self.issued_upto, at: None });
        if self.mode != ControllerMode::Fault {
            self.mode = ControllerMode::EStopped;
        }
    }

    /// True while an e-stop or a fault is latched: the arm is in its safe state, targets are refused and the gripper
    /// holds.
    pub fn is_latched(&self) -> bool {
        self.stack.is_latched() || matches!(self.mode, ControllerMode::EStopped | ControllerMode::Fault)
    }

    /// A reset from the operator, `issued` as the command numbered so ([`note_issued`](Self::note_issued)), at
    /// `now` (the controller's clock). It clears the latch, as [`reset_estop`](Self::reset_estop) does, only when it
    /// was issued after the latch and the latch is at least [`RESET_DWELL_NS`] old; otherwise nothing changes, the
    /// refusal is counted in [`ControllerStatus::refused_resets`] and returned. Without a latch it does what
    /// [`reset_estop`](Self::reset_estop) does (the arm holds where it is until the next target). Real-time safe.
    pub fn request_reset(&mut self, issued: u64, now: Stamp) -> Result<(), ResetRefused> {
        if self.is_latched() {
            // Every latch is recorded; should one not be, it counts as one from the start of time.
            let latch = self.latch.unwrap_or(Latch { order: 0, at: Some(Stamp(0)) });
            let refused = if issued <= latch.order {
                Some(ResetRefused::IssuedBeforeLatch { issued, latched: latch.order })
            } else {
                let age = latch.at.map_or(0, |at| now.0.saturating_sub(at.0));
                (latch.at.is_none() || age < RESET_DWELL_NS).then_some(ResetRefused::Dwell {
                    dwell_ms: RESET_DWELL_NS / 1_000_000,
                    remaining_ns: RESET_DWELL_NS - age.min(RESET_DWELL_NS),
                })
            };
            if let Some(r) = refused {
                self.status.refused_resets = self.status.refused_resets.saturating_add(1);
                return Err(r);
            }
        }
        self.reset_estop();
        Ok(())
    }

    /// Whether a gripper command may be executed now: not while an e-stop or a fault is latched (the gripper holds;
    /// the command is counted in [`ControllerStatus::held_gripper_commands`]). Real-time safe.
    pub fn gate_gripper(&mut self) -> bool {
        if self.is_latched() {
            self.status.held_gripper_commands = self.status.held_gripper_commands.saturating_add(1);
            return false;
        }
        true
    }

    /// Clears a latched e-stop or a fault at once, whatever the order or the dwell: for a caller that issues its
    /// own e-stops and resets in order on one thread (the in-process simulator environment, tests, recovery
    /// tools). Commands that arrive from elsewhere go through [`request_reset`](Self::request_reset). The
    /// controller then holds the pose it measures at the next cycle until a new target arrives. After a fault the
    /// arm is first asked to recover ([`ArmDriver::recover`], e.g. a Franka reflex); if it cannot, the controller
    /// stays in `Fault` with that error as its last fault.
    pub fn reset_estop(&mut self) {
        if self.mode == ControllerMode::Fault
            && let Err(e) = self.stack.recover()
        {
            self.last_fault = Some(e);
            return;
        }
        self.stack.reset();
        self.mode = ControllerMode::Idle;
        self.target = None;
        self.pending = None;
        self.watchdog.disarm();
        self.last_fault = None;
        self.latch = None;
    }

    /// Replaces the impedance gains (validated by [`ValidatedGains::new`]). Real-time safe.
    pub fn set_gains(&mut self, g: ValidatedGains) {
        self.law.set_gains(g);
        self.status.gains = *g.get();
    }

    /// Records deadline misses counted by the loop, reported in the status.
    pub fn set_deadline_misses(&mut self, misses: u64) {
        self.status.deadline_misses = misses;
    }
    /// Records the gripper state, reported in the status.
    pub fn set_gripper_state(&mut self, g: GripperState) {
        self.status.gripper = g;
    }

    /// Runs one control cycle at time `now` (the controller's clock). Real-time safe on success. On a driver
    /// error the arm is brought to its safe state, the mode becomes [`ControllerMode::Fault`] (latched until
    /// [`reset_estop`](Self::reset_estop)) and the error is returned.
    pub fn step(&mut self, now: Stamp) -> Result<&ControllerStatus, DriverError> {
        self.status.cycles += 1;
        if let Some(l) = &mut self.latch
            && l.at.is_none()
        {
            l.at = Some(now);
        }
        if self.mode == ControllerMode::Fault {
            let _ = self.stack.safe_stop();
            return match self.stack.read_state() {
                Ok(s) => {
                    self.status.stamp = s.stamp;
                    self.status.q = s.q;
                    self.status.dq = s.dq;
                    Ok(&self.status)
                }
                Err(e) => Err(e),
            };
        }
        let state = match self.stack.read_state() {
            Ok(s) => s,
            Err(e) => return Err(self.fault(e, now)),
        };
        let kin = self.model.kinematics(&state.q);
        if self.stack.is_latched() {
            self.mode = ControllerMode::EStopped;
        } else if let Some(p) = self.pending.take() {
            self.target = Some(self.workspace.apply(&p));
            self.watchdog.feed(now);
            self.mode = ControllerMode::Tracking;
        } else if self.mode == ControllerMode::Tracking && self.watchdog.check(now) {
            self.target = Some(self.workspace.apply(&kin.tcp));
            self.mode = ControllerMode::WatchdogHold;
        }
        let target = match self.target {
            Some(t) => t,
            None => {
                let t = self.workspace.apply(&kin.tcp);
                self.target = Some(t);
                t
            }
        };
        let out: LawOutput = self.law.compute(&self.model, &kin, &state.q, &state.dq, &target);
        if self.mode != ControllerMode::EStopped {
            self.error_clips += u64::from(out.clipped);
        }
        if let Err(e) = self.stack.write_torque(&out.tau) {
            return Err(self.fault(e, now));
        }
        let limits = self.counters();
        let tau = self.stack.applied_torque();
        let estop = self.stack.is_latched();
        let s = &mut self.status;
        s.stamp = state.stamp;
        s.mode = self.mode;
        s.q = state.q;
        s.dq = state.dq;
        s.tau = tau;
        s.ee_pose = Pose::from_isometry(&kin.tcp);
        s.ee_twist = out.twist;
        s.pose_target = Pose::from_isometry(&target);
        s.pose_error = out.error;
        s.estop = estop;
        s.limits = limits;
        Ok(&self.status)
    }

    /// Enters the fault state (latched at `now`, after every command issued so far) and hands the error back to the
    /// caller (moved: the cycle never copies an error or formats a string).
    fn fault(&mut self, e: DriverError, now: Stamp) -> DriverError {
        let _ = self.stack.safe_stop();
        self.latch = Some(Latch { order: self.issued_upto, at: Some(now) });
        self.mode = ControllerMode::Fault;
        self.status.mode = ControllerMode::Fault;
        self.last_fault = None;
        e
    }

    /// All limit counters.
    pub fn counters(&self) -> LimitCounters {
        let mut c = LimitCounters {
            workspace_clamps: self.workspace.hits(),
            error_clips: self.error_clips,
            watchdog_trips: self.watchdog.trips(),
            ..LimitCounters::default()
        };
        self.stack.add_counts(&mut c);
        c
    }

    /// Status after the last cycle.
    pub fn status(&self) -> &ControllerStatus {
        &self.status
    }
    /// Mode.
    pub fn mode(&self) -> ControllerMode {
        self.mode
    }
    /// The model.
    pub fn model(&self) -> &RobotModel {
        &self.model
    }
    /// The law (gains in force).
    pub fn law(&self) -> &ImpedanceLaw {
        &self.law
    }
    /// The driver error of a failed recovery ([`reset_estop`](Self::reset_estop) in `Fault`), if any. The error that
    /// caused a fault is what [`step`](Self::step) returned (the loop hands it to its handle); it is not kept here,
    /// so that the cycle never copies it.
    pub fn last_fault(&self) -> Option<&DriverError> {
        self.last_fault.as_ref()
    }
    /// The envelope around the driver.
    pub fn envelope(&self) -> &EStopLatch<impl SafetyStage<Base = D>> {
        &self.stack
    }
    /// The unprotected driver (e.g. the simulator, to read or reset its world).
    pub fn driver(&self) -> &D {
        self.stack.base()
    }
    /// The unprotected driver, mutable (scene resets and tests; bypasses the envelope).
    pub fn driver_mut(&mut self) -> &mut D {
        self.stack.base_mut()
    }
    /// Gives the driver back.
    pub fn into_driver(self) -> Envelope<D> {
        self.stack
    }
}
