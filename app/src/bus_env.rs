//! The environment over the bus: the actor's side of a cell whose controller, cameras and scene run as other
//! nodes (`corrigo controller`, `corrigo camera`), on this machine or another. The same contract as the
//! in-process simulated environment (`sim::SimEnv`, the layout of [`interfaces::env::proprio`]), at the policy rate of the controller's clock.
//!
//! - **Step:** the action becomes a pose target, the TCP pose now moved by the scaled action and clamped into the
//!   workspace box (the controller's envelope clamps it again), with the gripper command, published on
//!   `actor/pose_target`. The environment then waits until the controller's arm state is one policy period newer
//!   than the last observation (controller time: wall time on a real cell, simulated time in the simulator), and
//!   assembles the observation from the newest arm state and the newest frame of every policy camera
//!   (`perception::ObservationAssembler`). Inputs older or further apart than the cell's tolerance are an error
//!   that lists each input's age; the controller keeps holding the last target meanwhile (and holds on its
//!   watchdog when targets stop).
//! - **Reward:** with `agent.reward_classifier`, the reward classifier on the observation's frames (success:
//!   reward 1, the episode ends). Without it, on a simulated cell the task's ground truth, from the privileged
//!   scene state that `corrigo controller` publishes for a `sim` driver (`controller/sim_scene`); on a real cell
//!   the operator's label. On a real cell the operator's `Label(true)` on `operator/command` (the panel's success
//!   button, a teleop device's success key) always ends the episode as a success with reward 1.
//! - **Reset (scripted, through the controller):** the gripper opens and the arm moves to the episode's reset pose
//!   (the TCP pose of the home posture plus the episode's seeded joint noise, the pose the in-process environment
//!   starts from); the environment waits until the TCP is within 1 cm and 0.05 rad of it and at rest. On a
//!   simulated cell it then asks for the episode's scene (`actor/scene_reset`, the cube placed where the
//!   in-process environment puts it for the same seed) and waits until it is applied.
//!
//! Time is measured on the controller's clock: ages are taken against the newest accepted arm state's stamp
//! advanced by the wall time since it arrived. Cameras must be stamped on the controller's clock (the same
//! machine, or the simulator's own cameras). Pose targets are stamped on this host's monotonic clock, which the
//! controller compares with its own (`docs/messages.md`: stamps are comparable on one host only): the actor runs
//! on the controller's host.
//!
//! **Whose arm state and frames.** The pose targets are built from the arm state, so only the cell's own
//! controller may provide it: the environment binds `controller/arm_state` to one publisher's stream
//! ([`perception::StreamGate`]: the first stream that delivers [`GatePolicy::confirm`] consistent messages; its
//! sequence numbers must continue and its stamps must run forward, never further than the time between arrivals
//! allows, never to `u64::MAX`). Another publisher on the key (a stale process, a script, a hostile peer) is
//! refused and counted for as long as the controller keeps publishing; after [`ARM_SILENCE`] without an accepted
//! state (the controller was restarted) the next stream is adopted, with a warning. Frames are bound the same
//! way per camera, and checked before they are decoded ([`perception::ObservationAssembler`]). Refused messages
//! are counted ([`BusEnv::refusals`]) and reported with rate-limited warnings; they never end the environment.
//! Under the secure profile the bus's access rules decide who may publish these keys at all.

use agent::classifier::RewardClassifier;
use anyhow::{Context, Result, bail};
use bus::{Bus, Publisher, Subscriber};
use controller::model::RobotModel;
use interfaces::config::DriverConfig;
use interfaces::drivers::MAX_DOF;
use interfaces::env::{
    ACTION_DIM, Action, CellEnv, Env, EnvError, GripperLatch, ObsSpec, Observation, Step, action_target, obs_spec,
    proprio,
};
use interfaces::keys::{ARM_STATE, OPERATOR_COMMAND, POSE_TARGET, SCENE_RESET, SIM_SCENE, TELEOP_EPISODE};
use interfaces::msg::{ArmState, Command, ControllerMode, GripperCommand, Header, OperatorCommand, Pose, PoseTarget};
use interfaces::msg_training::{SceneReset, SceneState};
use interfaces::time::MonotonicClock;
use interfaces::{CellConfig, Clock, Stamp};
use nalgebra::{Isometry3, Vector3, Vector6};
use perception::{
    Admitted, CameraInput, GatePolicy, ObservationAssembler, ObservationTolerance, Refusal, Refusals, Reporter,
    StreamGate, arm_state_problem,
};
use sim::Task;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How close the TCP must come to the reset pose: position, m.
pub const RESET_TOLERANCE_M: f64 = 0.01;
/// How close the TCP must come to the reset pose: orientation, rad.
pub const RESET_TOLERANCE_RAD: f64 = 0.05;
/// TCP speed below which the arm counts as at rest after a reset, m/s.
const AT_REST_MPS: f64 = 0.02;
/// Longest wait for a first arm state: without one there is no controller to wait for.
const FIRST_STATE_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for the arm to reach its reset pose.
const RESET_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for the simulated cell to apply a scene reset.
const SCENE_TIMEOUT: Duration = Duration::from_secs(5);
/// Controller time to let the scene settle after a reset, s.
const SETTLE_S: f64 = 0.1;
/// Pose targets are sent again this often while the arm moves to its reset pose (the controller's watchdog).
const RESEND: Duration = Duration::from_millis(50);
/// How long the controller's arm-state stream must stay silent before another stream is adopted.
pub const ARM_SILENCE: Duration = Duration::from_secs(1);

/// The controller's clock as seen from here: the newest accepted arm-state stamp plus the wall time since it
/// arrived (this host's monotonic clock). Reads 0 before the first accepted arm state.
#[derive(Debug, Default)]
struct FollowClock {
    newest: Mutex<Option<(Stamp, Stamp)>>,
}

impl FollowClock {
    /// Follows the accepted arm state stamped `stamp` that arrived at `arrived` (host monotonic clock).
    fn follow(&self, stamp: Stamp, arrived: Stamp) {
        *self.newest.lock().unwrap_or_else(|p| p.into_inner()) = Some((stamp, arrived));
    }
}

impl Clock for FollowClock {
    fn now(&self) -> Stamp {
        match *self.newest.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((s, at)) => Stamp(s.0.saturating_add(MonotonicClock.now().0.saturating_sub(at.0))),
            None => Stamp(0),
        }
    }
}

/// The controller's arm state: its subscription, the stream it is bound to, and what was refused.
struct ArmInput {
    sub: Subscriber<ArmState>,
    gate: StreamGate,
    refusals: Refusals,
    reporter: Reporter,
}

impl ArmInput {
    /// Drains the subscription; returns the newest arm state of the adopted stream and when it arrived.
    fn poll(&mut self) -> Option<(ArmState, Stamp)> {
        let mut newest = None;
        while let Some(r) = self.sub.try_recv() {
            let (seq, stamp) = (r.msg.header.seq, r.msg.header.stamp_ns);
            let verdict = match arm_state_problem(&r.msg) {
                Some(p) => Err(Refusal::Malformed(format!("an arm state whose {p}"))),
                None => self.gate.admit(seq, stamp, r.received, None),
            };
            match verdict {
                Ok(admitted) => {
                    if let Admitted::Adopted { after } = admitted {
                        self.refusals.adoptions = self.refusals.adoptions.saturating_add(1);
                        self.reporter.adopted("arm_state", seq, stamp, after);
                    }
                    newest = Some((r.msg, r.received));
                }
                Err(why) => {
                    self.refusals.count(&why);
                    self.reporter.refused("arm_state", &why);
                }
            }
        }
        newest
    }
}

/// Where the reward and the object entries come from.
enum Source {
    /// A simulated cell: its privileged scene state, and the channel to reset it.
    Scene { states: Subscriber<SceneState>, resets: Box<Publisher<SceneReset>>, newest: Option<SceneState> },
    /// A real cell: the operator's success label, from the panel (`operator/command`) or a teleop device
    /// (`teleop/episode`, where only the episode controls count).
    Operator { commands: Subscriber<OperatorCommand>, episode: Subscriber<OperatorCommand> },
}

/// The environment over the bus.
pub struct BusEnv {
    cfg: CellConfig,
    spec: ObsSpec,
    seed: u64,
    episode: u64,
    steps: u64,
    targets: Publisher<PoseTarget>,
    arm: ArmInput,
    newest_arm: Option<ArmState>,
    clock: Arc<FollowClock>,
    assembler: ObservationAssembler,
    source: Source,
    classifier: Option<RewardClassifier>,
    task: Task,
    robot: RobotModel,
    home: [f64; MAX_DOF],
    start: Isometry3<f64>,
    gripper: GripperLatch,
    obs_stamp: Stamp,
    period_ns: u64,
}

impl std::fmt::Debug for BusEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusEnv").field("task", &self.task.kind()).field("episode", &self.episode).finish()
    }
}

impl BusEnv {
    /// The environment of cell `cfg` on `bus`; episode `k` is reset with seed `seed + k`. A real cell (a driver
    /// other than `sim`) needs `agent.use_images`: it has no object state to observe.
    pub fn new(bus: &Bus, cfg: &CellConfig, seed: u64) -> Result<Self> {
        let simulated = matches!(cfg.driver, DriverConfig::Sim { .. });
        if !simulated && !cfg.agent.use_images {
            bail!(
                "a real cell has no object state to observe: the policy needs its cameras, set \
                 `agent.use_images = true` in the config"
            );
        }
        let spec = obs_spec(cfg);
        let clock = Arc::new(FollowClock::default());
        let cameras: Vec<CameraInput> = spec
            .cameras
            .iter()
            .map(|c| {
                let side = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
                CameraInput::sized(c.name.clone(), side(c.width), side(c.height))
            })
            .collect();
        let tolerance = ObservationTolerance::for_cell(cfg);
        let assembler = ObservationAssembler::subscribe_frames(bus, cameras, tolerance, clock.clone())
            .context("subscribing to the cameras")?;
        // The controller's clock runs at wall time, except for a simulation run as fast as it can.
        let max_rate = match cfg.driver {
            DriverConfig::Sim { realtime: false, .. } => 1000,
            _ => 2,
        };
        let arm = ArmInput {
            sub: bus.subscribe(ARM_STATE, None)?,
            gate: StreamGate::new(GatePolicy { silence: ARM_SILENCE, max_rate, ..GatePolicy::default() }),
            refusals: Refusals::default(),
            reporter: Reporter::default(),
        };
        let source = if simulated {
            Source::Scene {
                states: bus.subscribe(SIM_SCENE, None)?,
                resets: Box::new(bus.publisher(SCENE_RESET, None)?),
                newest: None,
            }
        } else {
            Source::Operator {
                commands: bus.subscribe(OPERATOR_COMMAND, None)?,
                episode: bus.subscribe(TELEOP_EPISODE, None)?,
            }
        };
        let classifier = match &cfg.agent.reward_classifier {
            Some(path) => Some(agent::train::classifier::load(cfg, std::path::Path::new(path))?),
            None => None,
        };
        let mut home = [0.0; MAX_DOF];
        home[..cfg.controller.nullspace_posture.len()].copy_from_slice(&cfg.controller.nullspace_posture);
        Ok(Self {
            cfg: cfg.clone(),
            spec,
            seed,
            episode: 0,
            steps: 0,
            targets: bus.publisher(POSE_TARGET, None)?,
            arm,
            newest_arm: None,
            clock,
            assembler,
            source,
            classifier,
            task: Task::new(&cfg.task, &cfg.workspace),
            robot: RobotModel::from_config(&cfg.robot).context("the robot model of the reset pose")?,
            home,
            start: Isometry3::identity(),
            gripper: GripperLatch::open(),
            obs_stamp: Stamp(0),
            period_ns: (1e9 / cfg.task.policy_hz).round() as u64,
        })
    }

    /// The newest arm state from the controller, if any arrived.
    pub fn arm_state(&mut self) -> Option<&ArmState> {
        self.poll_arm();
        self.newest_arm.as_ref()
    }

    /// What was refused so far: the arm state (`arm_state`), then what the observation's inputs refused (each
    /// camera, `camera <name>`, and the arm state as the assembler saw it, `observation arm_state`).
    pub fn refusals(&self) -> Vec<(String, Refusals)> {
        let observed = self.assembler.refusals().into_iter().map(|(input, r)| {
            let label = if input == "arm_state" { "observation arm_state".to_string() } else { input };
            (label, r)
        });
        std::iter::once(("arm_state".to_string(), self.arm.refusals)).chain(observed).collect()
    }

    fn poll_arm(&mut self) {
        if let Some((s, arrived)) = self.arm.poll() {
            self.clock.follow(s.header.stamp_ns, arrived);
            // The assembler checks it again against this clock; a refusal there is counted there.
            let _ = self.assembler.offer_arm_state(s.clone());
            self.newest_arm = Some(s);
        }
    }

    /// Waits until the newest arm state satisfies `done`, sending `target` again every [`RESEND`] when given.
    fn wait_arm(
        &mut self,
        timeout: Duration,
        target: Option<&PoseTarget>,
        what: &str,
        done: impl Fn(&ArmState) -> bool,
    ) -> Result<ArmState, EnvError> {
        let deadline = Instant::now() + timeout;
        let first_deadline = Instant::now() + FIRST_STATE_TIMEOUT.min(timeout);
        let mut sent = Instant::now();
        loop {
            self.poll_arm();
            if let Some(s) = &self.newest_arm
                && done(s)
            {
                return Ok(s.clone());
            }
            if let Some(t) = target
                && sent.elapsed() >= RESEND
            {
                self.send(t)?;
                sent = Instant::now();
            }
            if Instant::now() >= deadline || (self.newest_arm.is_none() && Instant::now() >= first_deadline) {
                let last = match &self.newest_arm {
                    None => "no arm state arrived: is `corrigo controller` running on this cell's bus?".to_string(),
                    Some(s) => {
                        let mut m = format!("the controller is in {:?} at TCP {:?}", s.mode, s.ee_pose.position);
                        if let Some(t) = target {
                            let (tcp, goal) = (s.ee_pose.to_isometry(), t.pose.to_isometry());
                            m += &format!(
                                ", {:.3} m and {:.3} rad from the target {:?}, moving at {:.3} m/s; joints {:?}",
                                (tcp.translation.vector - goal.translation.vector).norm(),
                                (tcp.rotation * goal.rotation.inverse()).angle(),
                                t.pose.position,
                                Vector3::new(s.ee_twist[0], s.ee_twist[1], s.ee_twist[2]).norm(),
                                &s.q[..self.cfg.robot.joints.len().min(s.q.len())],
                            );
                        }
                        m
                    }
                };
                return Err(EnvError::input(what, last));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Publishes `t` stamped now on this host's monotonic clock (`docs/messages.md`: when the target was decided;
    /// the controller refuses targets stamped in its host's future or too long ago).
    fn send(&mut self, t: &PoseTarget) -> Result<(), EnvError> {
        let mut t = t.clone();
        t.header = Header::now();
        self.targets.publish(&mut t).map_err(|e| EnvError::internal("sending a pose target to the controller", e))?;
        Ok(())
    }

    fn gripper_command(&self) -> Option<GripperCommand> {
        self.spec.gripper.then(|| self.gripper.command(&self.cfg.gripper))
    }

    /// The newest scene state of a simulated cell (waiting for the first up to [`SCENE_TIMEOUT`]).
    fn scene(&mut self) -> Result<Option<SceneState>, EnvError> {
        let Source::Scene { states, newest, .. } = &mut self.source else { return Ok(None) };
        let deadline = Instant::now() + SCENE_TIMEOUT;
        loop {
            if let Some(s) = states.latest() {
                *newest = Some(s.msg);
            }
            if newest.is_some() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        match newest {
            Some(s) => Ok(Some(s.clone())),
            None => Err(EnvError::input(
                "scene state",
                format!(
                    "none from the simulated cell within {} s: is `corrigo controller` running with this `sim` \
                     config?",
                    SCENE_TIMEOUT.as_secs()
                ),
            )),
        }
    }

    /// The observation of the newest inputs, with an arm state not older than `not_before`, and that arm state.
    fn observe(&mut self, not_before: Stamp) -> Result<(Observation, ArmState, Option<SceneState>), EnvError> {
        let wait = Duration::from_nanos(2 * self.period_ns).max(Duration::from_millis(200));
        let deadline = Instant::now() + wait;
        let raw = loop {
            // The arm state reaches the assembler through this environment's gate: keep it flowing meanwhile.
            self.poll_arm();
            match self.assembler.assemble() {
                Ok(raw) if raw.arm.header.stamp_ns >= not_before => break raw,
                Ok(raw) if Instant::now() >= deadline => {
                    return Err(EnvError::input(
                        "arm state",
                        format!("the newest is at {} ns, {} ns are due", raw.arm.header.stamp_ns.0, not_before.0),
                    ));
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(EnvError::input("assembling the observation", e));
                }
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        };
        let mut images = Vec::with_capacity(raw.frames.len());
        for (f, c) in raw.frames.into_iter().zip(&self.spec.cameras) {
            if (f.width as usize, f.height as usize) != (c.width, c.height) {
                return Err(EnvError::input(
                    format!("camera `{}`", c.name),
                    format!(
                        "publishes {}×{} frames, the policy takes {}×{}: set its `width`/`height`",
                        f.width, f.height, c.width, c.height
                    ),
                ));
            }
            images.push(f.data);
        }
        let scene = self.scene()?;
        let arm = raw.arm;
        let tcp = arm.ee_pose.to_isometry();
        // The object entries only for a state-based agent on the simulated cell; an image-based observation holds
        // no scene state (a real cell has none: there a state-based agent gets 0).
        let object = if self.cfg.agent.use_images {
            None
        } else {
            Some(match &scene {
                Some(s) => self.task.object_entries(&s.cube.to_isometry()),
                None => (tcp.translation.vector, 0.0),
            })
        };
        let twist = Vector6::from(arm.ee_twist);
        let p = proprio(&self.start, &tcp, &twist, arm.gripper.width, object.as_ref().map(|(o, h)| (o, *h)));
        debug_assert_eq!(p.len(), self.spec.proprio_dim);
        self.obs_stamp = raw.stamp;
        Ok((Observation { proprio: p, images }, arm, scene))
    }

    /// The reset pose of episode `seed`: the TCP pose of the home posture plus the seeded joint noise.
    fn reset_pose(&mut self, seed: u64) -> (Isometry3<f64>, [f64; 3]) {
        let mut q = self.home;
        let dof = self.cfg.robot.joints.len().min(MAX_DOF);
        let scene = self.task.draw(seed, &mut q[..dof]);
        (self.robot.tcp_pose(&q), scene.goal)
    }
}

fn near(s: &ArmState, target: &Isometry3<f64>) -> bool {
    let tcp = s.ee_pose.to_isometry();
    let dp = (tcp.translation.vector - target.translation.vector).norm();
    let dr = (tcp.rotation * target.rotation.inverse()).angle();
    let v = Vector3::new(s.ee_twist[0], s.ee_twist[1], s.ee_twist[2]).norm();
    dp <= RESET_TOLERANCE_M && dr <= RESET_TOLERANCE_RAD && v <= AT_REST_MPS
}

impl Env for BusEnv {
    fn spec(&self) -> &ObsSpec {
        &self.spec
    }

    fn reset(&mut self) -> Result<(Observation, u64), EnvError> {
        let seed = self.seed.wrapping_add(self.episode);
        self.episode += 1;
        self.steps = 0;
        self.gripper = GripperLatch::open();
        let (pose, goal) = self.reset_pose(seed);
        let target = PoseTarget { header: Header::now(), pose: Pose::from_isometry(&pose), gripper: None };
        let target = PoseTarget { gripper: self.gripper_command(), ..target };
        self.send(&target)?;
        let what = format!("the arm did not reach its reset pose within {} s", RESET_TIMEOUT.as_secs());
        self.wait_arm(RESET_TIMEOUT, Some(&target), &what, |s| s.mode == ControllerMode::Tracking && near(s, &pose))?;
        if let Source::Scene { resets, .. } = &mut self.source {
            let mut r = SceneReset { header: Header::now(), seed };
            resets.publish(&mut r).map_err(|e| EnvError::internal("asking the simulated cell for a scene reset", e))?;
            let deadline = Instant::now() + SCENE_TIMEOUT;
            while self.scene()?.is_none_or(|s| s.seed != Some(seed)) {
                if Instant::now() >= deadline {
                    return Err(EnvError::input(
                        "scene reset",
                        format!("the simulated cell did not apply it (seed {seed}) within 5 s"),
                    ));
                }
                self.send(&target)?;
                std::thread::sleep(Duration::from_millis(5));
            }
            self.task.set_goal(goal);
        }
        if let Source::Operator { commands, episode } = &self.source {
            // Labels of the previous episode.
            while commands.try_recv().is_some() {}
            while episode.try_recv().is_some() {}
        }
        let settle_until = self.newest_arm.as_ref().map_or(0, |s| s.header.stamp_ns.0) + (SETTLE_S * 1e9) as u64;
        self.wait_arm(RESET_TIMEOUT, Some(&target), "no arm state after the reset", |s| {
            s.header.stamp_ns.0 >= settle_until
        })?;
        // The TCP at rest after the reset is the reference of the relative entries.
        let newest =
            self.newest_arm.as_ref().map_or((pose, Stamp(0)), |s| (s.ee_pose.to_isometry(), s.header.stamp_ns));
        self.start = newest.0;
        let (obs, _, _) = self.observe(newest.1)?;
        Ok((obs, self.obs_stamp.0))
    }

    fn step(&mut self, action: &Action) -> Result<Step, EnvError> {
        if action.continuous.len() != ACTION_DIM {
            return Err(EnvError::BadAction(format!(
                "{} continuous values, expected {ACTION_DIM}",
                action.continuous.len()
            )));
        }
        let tcp = match self.arm_state() {
            Some(s) => s.ee_pose.to_isometry(),
            None => return Err(EnvError::input("arm state", "none from the controller")),
        };
        let gripper_changed = self.spec.gripper && self.gripper.apply(action.gripper);
        let target = action_target(&self.cfg, &tcp, &self.start.rotation, &action.continuous);
        let t =
            PoseTarget { header: Header::now(), pose: Pose::from_isometry(&target), gripper: self.gripper_command() };
        self.send(&t)?;
        let due = self.obs_stamp.0 + self.period_ns;
        let wait = Duration::from_nanos(3 * self.period_ns) + Duration::from_secs(1);
        self.wait_arm(wait, None, "no arm state one policy period later", |s| s.header.stamp_ns.0 >= due)?;
        let (obs, arm, scene) = self.observe(Stamp(due))?;
        self.steps += 1;
        let labelled = match &self.source {
            Source::Operator { commands, episode } => {
                let mut labelled = false;
                // A teleop device's success label comes on `teleop/episode`; any other command there is not this
                // environment's business (the actor refuses and counts it).
                while let Some(c) = commands.try_recv().or_else(|| episode.try_recv()) {
                    labelled |= c.msg.command == Command::Label(true);
                }
                labelled
            }
            Source::Scene { .. } => false,
        };
        let (success, reward) = match (&self.classifier, &scene) {
            (Some(c), _) => {
                let ok = labelled
                    || c.is_success(&obs.images).map_err(|e| EnvError::internal("the reward classifier", e))?;
                (ok, f32::from(u8::from(ok)))
            }
            (None, Some(s)) => self.task.step_reward_at(&arm.ee_pose.to_isometry(), &s.cube.to_isometry()),
            (None, None) => (labelled, f32::from(u8::from(labelled))),
        };
        Ok(Step {
            obs,
            reward,
            done: success,
            truncated: !success && self.steps >= self.cfg.task.episode_steps(),
            success,
            gripper_changed,
            stamp_ns: self.obs_stamp.0,
        })
    }

    fn expert_action(&mut self) -> Option<Action> {
        None
    }
}

/// The controller node takes the operator's e-stop and gains from the bus itself: nothing to forward.
impl CellEnv for BusEnv {
    fn episodes(&self) -> u64 {
        self.episode
    }
    fn estop(&mut self) {}
    fn reset_estop(&mut self) {}
    fn estopped(&mut self) -> bool {
        self.arm_state().is_some_and(|s| matches!(s.mode, ControllerMode::EStopped | ControllerMode::Fault))
    }
    fn set_gains(&mut self, _gains: interfaces::msg::ImpedanceGains) -> Result<(), String> {
        Ok(())
    }
    fn arm_state_to_publish(&mut self) -> Option<ArmState> {
        None
    }
}
