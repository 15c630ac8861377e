//! The simulated cell: a MuJoCo model and its state, stepped at the physics rate, with the mock clock it drives.

// Joint loops index MuJoCo's address tables and the joint vectors in parallel.
#![allow(clippy::needless_range_loop)]

use crate::mjcf::{self, Scene};
use controller::model::RobotModel;
use interfaces::drivers::{JointState, JointVec, MAX_DOF};
use interfaces::msg::{GripperCommand, GripperState};
use interfaces::{CellConfig, Clock, MockClock, Stamp};
use mujoco_rs::prelude::*;
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion, Vector3};
use std::sync::Arc;
use thiserror::Error;

/// Most `qpos` entries a [`WorldSnapshot`] carries.
pub const SNAPSHOT_NQ: usize = 32;
/// Proportional gain of the simulated gripper's finger position loop, N/m (the output saturates at the
/// commanded force, which is how a force-limited gripper squeezes).
const FINGER_KP: f64 = 3000.0;

/// Why the simulation could not be built or used.
#[derive(Debug, Error)]
pub enum SimError {
    /// MuJoCo rejected the generated model.
    #[error("MuJoCo rejected the generated model: {detail}")]
    Model {
        /// MuJoCo's message.
        detail: String,
    },
    /// A named element is missing from the model.
    #[error("model has no {kind} named `{name}`")]
    Missing {
        /// Element kind (joint, body, site, camera, actuator).
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// The model is larger than a snapshot can carry.
    #[error("model has nq = {nq}, snapshots carry at most {max}")]
    TooLarge {
        /// Position coordinates of the model.
        nq: usize,
        /// Capacity.
        max: usize,
    },
    /// The robot model could not be built.
    #[error(transparent)]
    Robot(#[from] controller::model::ModelError),
    /// Rendering failed.
    #[error("camera `{camera}`: rendering failed: {detail}")]
    Render {
        /// Camera name.
        camera: String,
        /// Cause.
        detail: String,
    },
}

/// The state of the world after a physics step, cheap to copy (used by cameras and observers on other threads).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldSnapshot {
    /// Simulated time (the mock clock).
    pub stamp: Stamp,
    /// Number of valid `qpos` entries.
    pub nq: usize,
    /// MuJoCo generalized positions.
    pub qpos: [f64; SNAPSHOT_NQ],
    /// Cube pose: position m, quaternion `[w, x, y, z]`, base frame.
    pub cube_position: [f64; 3],
    /// Cube orientation `[w, x, y, z]`.
    pub cube_orientation: [f64; 4],
    /// Gripper state.
    pub gripper: GripperState,
}

impl Default for WorldSnapshot {
    fn default() -> Self {
        Self {
            stamp: Stamp(0),
            nq: 0,
            qpos: [0.0; SNAPSHOT_NQ],
            cube_position: [0.0; 3],
            cube_orientation: [1.0, 0.0, 0.0, 0.0],
            gripper: GripperState::default(),
        }
    }
}

impl WorldSnapshot {
    /// The cube's pose as an isometry.
    pub fn cube_pose(&self) -> Isometry3<f64> {
        let [w, x, y, z] = self.cube_orientation;
        Isometry3::from_parts(
            Translation3::from(Vector3::from(self.cube_position)),
            UnitQuaternion::from_quaternion(Quaternion::new(w, x, y, z)),
        )
    }
}

/// The reading end of a world's snapshot stream: wait-free, for one consumer thread.
#[derive(Debug)]
pub struct SnapshotReader {
    out: triple_buffer::Output<WorldSnapshot>,
}

impl SnapshotReader {
    /// The newest snapshot.
    pub fn latest(&mut self) -> WorldSnapshot {
        *self.out.read()
    }
}

/// A numbered cube placement.
type SceneRequest = (u64, Isometry3<f64>);

/// Scene edits from another thread than the world's (the simulated cell's scene-reset service while the control
/// loop owns the world): the newest request is applied at the world's next step, wait-free.
#[derive(Debug)]
pub struct SceneLink {
    requests: triple_buffer::Input<SceneRequest>,
    seq: u64,
}

impl SceneLink {
    /// Places the cube at `pose` (at rest) before the world's next step.
    pub fn place_cube(&mut self, pose: &Isometry3<f64>) {
        self.seq += 1;
        self.requests.write((self.seq, *pose));
    }
}

/// The sending end of a gripper command cell (for [`crate::SimGripper`]).
#[derive(Debug)]
pub(crate) struct GripperLink {
    pub commands: triple_buffer::Input<(u64, GripperCommand)>,
    pub state: triple_buffer::Output<GripperState>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Addresses {
    pub arm_qpos: [usize; MAX_DOF],
    pub arm_dof: [usize; MAX_DOF],
    pub arm_act: [usize; MAX_DOF],
    pub finger_qpos: [usize; 2],
    pub finger_dof: [usize; 2],
    pub finger_act: [usize; 2],
    pub cube_qpos: usize,
    pub cube_dof: usize,
    pub tcp_site: usize,
}

/// The simulated cell. Not `Sync`; owned by whoever steps it (the [`crate::SimArm`], usually inside the control
/// loop). Other threads see it through [`SnapshotReader`]s.
#[derive(Debug)]
pub struct SimWorld {
    model: Arc<MjModel>,
    data: MjData<Arc<MjModel>>,
    clock: MockClock,
    dof: usize,
    timestep_ns: u64,
    adr: Addresses,
    robot: RobotModel,
    home: JointVec,
    brake: Option<JointVec>,
    gripper_cmd: GripperCommand,
    gripper_max_width: f64,
    gripper_seq: u64,
    gripper_inbox: Option<triple_buffer::Output<(u64, GripperCommand)>>,
    gripper_outbox: Option<triple_buffer::Input<GripperState>>,
    readers: Vec<triple_buffer::Input<WorldSnapshot>>,
    scene_inbox: Option<(u64, triple_buffer::Output<SceneRequest>)>,
}

fn id(model: &MjModel, kind: MjtObjBase, label: &'static str, name: &str) -> Result<usize, SimError> {
    model.name_to_id(kind, name).ok_or_else(|| SimError::Missing { kind: label, name: name.to_string() })
}

impl SimWorld {
    /// Builds the cell of `cfg` (MJCF from [`mjcf::mjcf`]), the arm at its nullspace posture, the cube at rest on
    /// the table, the gripper open, and the clock at 0.
    pub fn new(cfg: &CellConfig) -> Result<Self, SimError> {
        let xml = mjcf::mjcf(cfg, Scene::Cell);
        let model = Arc::new(MjModel::from_xml_string(&xml).map_err(|e| SimError::Model { detail: e.to_string() })?);
        let nq = model.ffi().nq as usize;
        if nq > SNAPSHOT_NQ {
            return Err(SimError::TooLarge { nq, max: SNAPSHOT_NQ });
        }
        let jq = |name: &str| -> Result<(usize, usize), SimError> {
            let j = id(&model, MjtObjBase::mjOBJ_JOINT, "joint", name)?;
            Ok((model.jnt_qposadr()[j] as usize, model.jnt_dofadr()[j] as usize))
        };
        let mut adr = Addresses {
            arm_qpos: [0; MAX_DOF],
            arm_dof: [0; MAX_DOF],
            arm_act: [0; MAX_DOF],
            finger_qpos: [0; 2],
            finger_dof: [0; 2],
            finger_act: [0; 2],
            cube_qpos: 0,
            cube_dof: 0,
            tcp_site: id(&model, MjtObjBase::mjOBJ_SITE, "site", "tcp")?,
        };
        for (i, j) in cfg.robot.joints.iter().enumerate() {
            (adr.arm_qpos[i], adr.arm_dof[i]) = jq(&j.name)?;
            adr.arm_act[i] = id(&model, MjtObjBase::mjOBJ_ACTUATOR, "actuator", &j.name)?;
        }
        for (k, n) in ["finger_left", "finger_right"].iter().enumerate() {
            (adr.finger_qpos[k], adr.finger_dof[k]) = jq(n)?;
            adr.finger_act[k] = id(&model, MjtObjBase::mjOBJ_ACTUATOR, "actuator", n)?;
        }
        (adr.cube_qpos, adr.cube_dof) = jq("cube")?;
        let timestep = cfg.driver.sim_timestep();
        let data = MjData::new(model.clone());
        let mut home = [0.0; MAX_DOF];
        home[..cfg.controller.nullspace_posture.len()].copy_from_slice(&cfg.controller.nullspace_posture);
        let mut w = Self {
            model,
            data,
            clock: MockClock::new(Stamp(0)),
            dof: cfg.robot.joints.len(),
            timestep_ns: (timestep * 1e9).round() as u64,
            adr,
            robot: RobotModel::from_config(&cfg.robot)?,
            home,
            brake: None,
            gripper_cmd: GripperCommand { width: cfg.gripper.max_width, force: cfg.gripper.default_force },
            gripper_max_width: cfg.gripper.max_width,
            gripper_seq: 0,
            gripper_inbox: None,
            gripper_outbox: None,
            readers: Vec::new(),
            scene_inbox: None,
        };
        w.set_arm_q(&home);
        w.set_gripper_width(cfg.gripper.max_width);
        let [x0, x1, y0, y1] = cfg.task.cube.region;
        w.set_cube_pose(&Isometry3::translation((x0 + x1) / 2.0, (y0 + y1) / 2.0, cfg.task.cube.size / 2.0));
        Ok(w)
    }

    /// The compiled MuJoCo model (shared with cameras).
    pub fn model(&self) -> &Arc<MjModel> {
        &self.model
    }
    /// MuJoCo's state (read-only).
    pub fn data(&self) -> &MjData<Arc<MjModel>> {
        &self.data
    }
    /// The controller's rigid-body model of the same arm.
    pub fn robot(&self) -> &RobotModel {
        &self.robot
    }
    /// The clock the world drives (one physics step = one timestep).
    pub fn clock(&self) -> &MockClock {
        &self.clock
    }
    /// Simulated time.
    pub fn now(&self) -> Stamp {
        self.clock.now()
    }
    /// Number of arm joints.
    pub fn dof(&self) -> usize {
        self.dof
    }
    /// Physics step, ns.
    pub fn timestep_ns(&self) -> u64 {
        self.timestep_ns
    }
    /// The home posture (the controller's nullspace posture), rad.
    pub fn home(&self) -> &JointVec {
        &self.home
    }

    /// The arm's joint state now.
    pub fn joint_state(&self) -> JointState {
        let (qpos, qvel) = (self.data.qpos(), self.data.qvel());
        let mut s = JointState { stamp: self.now(), ..JointState::default() };
        for i in 0..self.dof {
            s.q[i] = qpos[self.adr.arm_qpos[i]];
            s.dq[i] = qvel[self.adr.arm_dof[i]];
            s.tau_measured[i] = self.data.ctrl()[self.adr.arm_act[i]];
        }
        s
    }

    /// The TCP pose from MuJoCo's `tcp` site, base frame.
    pub fn tcp_pose(&self) -> Isometry3<f64> {
        let p = self.data.site_xpos()[self.adr.tcp_site];
        let m = self.data.site_xmat()[self.adr.tcp_site];
        let r = nalgebra::Rotation3::from_matrix_unchecked(nalgebra::Matrix3::from_row_slice(&m));
        Isometry3::from_parts(Translation3::new(p[0], p[1], p[2]), UnitQuaternion::from_rotation_matrix(&r))
    }

    /// The cube's pose, base frame.
    pub fn cube_pose(&self) -> Isometry3<f64> {
        let q = &self.data.qpos()[self.adr.cube_qpos..self.adr.cube_qpos + 7];
        Isometry3::from_parts(
            Translation3::new(q[0], q[1], q[2]),
            UnitQuaternion::from_quaternion(Quaternion::new(q[3], q[4], q[5], q[6])),
        )
    }

    /// Places the cube (at rest) and recomputes the kinematics.
    pub fn set_cube_pose(&mut self, pose: &Isometry3<f64>) {
        let (a, d) = (self.adr.cube_qpos, self.adr.cube_dof);
        let t = pose.translation.vector;
        let q = pose.rotation.quaternion();
        self.data.qpos_mut()[a..a + 7].copy_from_slice(&[t.x, t.y, t.z, q.w, q.i, q.j, q.k]);
        self.data.qvel_mut()[d..d + 6].fill(0.0);
        self.data.forward();
    }

    /// Places the arm at `q` (rad) at rest, releases the brakes and recomputes the kinematics.
    pub fn set_arm_q(&mut self, q: &JointVec) {
        for i in 0..self.dof {
            self.data.qpos_mut()[self.adr.arm_qpos[i]] = q[i];
            self.data.qvel_mut()[self.adr.arm_dof[i]] = 0.0;
            self.data.ctrl_mut()[self.adr.arm_act[i]] = 0.0;
        }
        self.brake = None;
        self.data.forward();
    }

    /// Opens the fingers to `width` m at rest (scene resets).
    pub fn set_gripper_width(&mut self, width: f64) {
        for k in 0..2 {
            self.data.qpos_mut()[self.adr.finger_qpos[k]] = width / 2.0;
            self.data.qvel_mut()[self.adr.finger_dof[k]] = 0.0;
        }
        self.gripper_cmd.width = width;
        self.data.forward();
    }

    /// The gripper's full opening, m (`gripper.max_width`).
    pub fn gripper_max_width(&self) -> f64 {
        self.gripper_max_width
    }

    /// Commands the gripper: fingers move to `width` (m), squeezing with at most `force` (N) each.
    pub fn command_gripper(&mut self, cmd: GripperCommand) {
        self.gripper_cmd = cmd;
    }

    /// The gripper's state.
    pub fn gripper_state(&self) -> GripperState {
        let qpos = self.data.qpos();
        let ctrl = self.data.ctrl();
        GripperState {
            width: qpos[self.adr.finger_qpos[0]] + qpos[self.adr.finger_qpos[1]],
            target_width: self.gripper_cmd.width,
            force: 0.5 * (ctrl[self.adr.finger_act[0]].abs() + ctrl[self.adr.finger_act[1]].abs()),
        }
    }

    /// Engages the brakes: the arm is held kinematically at its current position until the next
    /// [`step`](Self::step) with torques (how a Franka's brakes behave after a stop).
    pub fn engage_brakes(&mut self) {
        if self.brake.is_none() {
            self.brake = Some(self.joint_state().q);
        }
    }
    /// True while the brakes hold the arm.
    pub fn brakes_engaged(&self) -> bool {
        self.brake.is_some()
    }

    /// Applies joint torques `tau` (N·m; MuJoCo clamps them to the actuators' ranges), releases the brakes, and
    /// advances the physics by one step.
    pub fn step(&mut self, tau: &JointVec) {
        self.brake = None;
        for i in 0..self.dof {
            self.data.ctrl_mut()[self.adr.arm_act[i]] = tau[i];
        }
        self.advance();
    }

    /// Advances the physics by one step holding the arm on its brakes (engaging them if needed).
    pub fn step_braked(&mut self) {
        self.engage_brakes();
        for i in 0..self.dof {
            self.data.ctrl_mut()[self.adr.arm_act[i]] = 0.0;
        }
        self.advance();
    }

    fn advance(&mut self) {
        if let Some((seen, inbox)) = self.scene_inbox.as_mut()
            && inbox.update()
        {
            let (seq, cube) = *inbox.output_buffer();
            if seq != *seen {
                *seen = seq;
                self.set_cube_pose(&cube);
            }
        }
        if let Some(inbox) = self.gripper_inbox.as_mut()
            && inbox.update()
        {
            let (seq, cmd) = *inbox.output_buffer();
            if seq != self.gripper_seq {
                self.gripper_seq = seq;
                self.gripper_cmd = cmd;
            }
        }
        // Force-limited finger position loop: F = clamp(kp (w/2 − s), ±force); damping is the joint's own.
        let half = self.gripper_cmd.width / 2.0;
        for k in 0..2 {
            let s = self.data.qpos()[self.adr.finger_qpos[k]];
            let force = self.gripper_cmd.force;
            self.data.ctrl_mut()[self.adr.finger_act[k]] = (FINGER_KP * (half - s)).clamp(-force, force);
        }
        self.data.step();
        if let Some(q) = self.brake {
            for i in 0..self.dof {
                self.data.qpos_mut()[self.adr.arm_qpos[i]] = q[i];
                self.data.qvel_mut()[self.adr.arm_dof[i]] = 0.0;
            }
            self.data.forward();
        }
        self.clock.advance_ns(self.timestep_ns);
        self.publish();
    }

    /// The current state as a snapshot.
    pub fn snapshot(&self) -> WorldSnapshot {
        let mut s = WorldSnapshot { stamp: self.now(), nq: self.data.qpos().len(), ..WorldSnapshot::default() };
        s.qpos[..s.nq].copy_from_slice(self.data.qpos());
        let c = self.cube_pose();
        let q = c.rotation.quaternion();
        s.cube_position = [c.translation.x, c.translation.y, c.translation.z];
        s.cube_orientation = [q.w, q.i, q.j, q.k];
        s.gripper = self.gripper_state();
        s
    }

    fn publish(&mut self) {
        if self.readers.is_empty() && self.gripper_outbox.is_none() {
            return;
        }
        let s = self.snapshot();
        for r in &mut self.readers {
            r.write(s);
        }
        if let Some(o) = self.gripper_outbox.as_mut() {
            o.write(s.gripper);
        }
    }

    /// A new snapshot stream, updated after every step (and now).
    pub fn subscribe(&mut self) -> SnapshotReader {
        let (input, out) = triple_buffer::triple_buffer(&self.snapshot());
        self.readers.push(input);
        SnapshotReader { out }
    }

    /// A scene editor for another thread (replaces an earlier one); its requests apply at the next step.
    pub fn scene_link(&mut self) -> SceneLink {
        let (input, output) = triple_buffer::triple_buffer(&(0u64, self.cube_pose()));
        self.scene_inbox = Some((0, output));
        SceneLink { requests: input, seq: 0 }
    }

    /// Connects a gripper front-end (replaces an earlier one).
    pub(crate) fn gripper_link(&mut self) -> GripperLink {
        let (cmd_in, cmd_out) = triple_buffer::triple_buffer(&(0u64, self.gripper_cmd));
        let (st_in, st_out) = triple_buffer::triple_buffer(&self.gripper_state());
        self.gripper_inbox = Some(cmd_out);
        self.gripper_outbox = Some(st_in);
        self.gripper_seq = 0;
        GripperLink { commands: cmd_in, state: st_out }
    }

    /// Sets MuJoCo's arm state to `q`, `dq` without stepping and runs the forward pass (model comparisons).
    pub fn set_arm_state_for_analysis(&mut self, q: &JointVec, dq: &JointVec) {
        for i in 0..self.dof {
            self.data.qpos_mut()[self.adr.arm_qpos[i]] = q[i];
            self.data.qvel_mut()[self.adr.arm_dof[i]] = dq[i];
        }
        self.data.forward();
    }
}
