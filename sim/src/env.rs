//! The environment over the simulated cell, stepped synchronously: the real controller (impedance law and
//! safety envelope) drives the MuJoCo arm cycle by cycle on the world's mock clock, so an episode runs as fast as
//! the CPU allows and the same seed gives the same episode. Used for training in the simulator, demonstrations,
//! evaluation and benchmarks; on a real cell the environment over the bus (in the `corrigo` binary) takes its place. Both build the observation
//! layout of [`interfaces::env::proprio`].

use crate::scripted::PickScript;
use crate::{CameraRenderer, SimArm, SimWorld, Task};
use controller::core::{ControllerCore, TargetError};
use controller::law::ValidatedGains;
use interfaces::CellConfig;
use interfaces::config::TaskKind;
use interfaces::env::{
    ACTION_DIM, Action, CellEnv, Env, EnvError, GripperAction, GripperLatch, ObsSpec, Observation, Step, action_target,
    obs_spec, proprio,
};
use interfaces::msg::Pose;
use interfaces::msg::{ArmState, ControllerMode, ImpedanceGains};
use nalgebra::{Isometry3, Vector3, Vector6};

/// Simulated settling time after a reset before the first observation, s.
const SETTLE_S: f64 = 0.1;

/// The simulated environment.
pub struct SimEnv {
    cfg: CellConfig,
    spec: ObsSpec,
    core: ControllerCore<SimArm>,
    task: Task,
    renderers: Vec<CameraRenderer>,
    substeps: u64,
    seed: u64,
    episode: u64,
    steps: u64,
    start: Isometry3<f64>,
    gripper: GripperLatch,
    script: PickScript,
}

impl std::fmt::Debug for SimEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimEnv").field("task", &self.task.kind()).field("episode", &self.episode).finish()
    }
}

impl SimEnv {
    /// An environment for the cell `cfg`; episode `k` is reset with seed `seed + k`. Renders the cameras of
    /// `[[cameras]]` when `agent.use_images` (the renderers live on the calling thread).
    pub fn new(cfg: &CellConfig, seed: u64) -> Result<Self, EnvError> {
        let timestep = cfg.driver.sim_timestep();
        let substeps = (1.0 / (timestep * cfg.task.policy_hz)).round().max(1.0) as u64;
        let world = SimWorld::new(cfg).map_err(|e| EnvError::internal("building the simulated cell", e))?;
        let mut renderers = Vec::new();
        let spec = obs_spec(cfg);
        for cam in &spec.cameras {
            let what = || format!("camera `{}`", cam.name);
            let c = cfg
                .cameras
                .iter()
                .find(|c| c.name == cam.name)
                .ok_or_else(|| EnvError::internal(what(), "not in [[cameras]]"))?;
            let model_cam = match &c.source {
                interfaces::config::CameraSource::Sim { camera } => camera.clone(),
                other => {
                    return Err(EnvError::internal(
                        what(),
                        format!("the simulated cell renders only sim cameras, not {other:?}"),
                    ));
                }
            };
            renderers.push(
                CameraRenderer::new(world.model().clone(), &model_cam, c.width, c.height)
                    .map_err(|e| EnvError::internal(format!("starting the renderer of {}", what()), e))?,
            );
        }
        let core = ControllerCore::new(cfg, SimArm::new(world))
            .map_err(|e| EnvError::internal("building the controller", e))?;
        Ok(Self {
            cfg: cfg.clone(),
            spec,
            core,
            task: Task::new(&cfg.task, &cfg.workspace),
            renderers,
            substeps,
            seed,
            episode: 0,
            steps: 0,
            start: Isometry3::identity(),
            gripper: GripperLatch::open(),
            script: PickScript::new(&cfg.gripper, &cfg.task),
        })
    }

    fn world(&self) -> &SimWorld {
        self.core.driver().world()
    }

    /// The simulated world (to attach cameras that render it for the operator panel).
    pub fn world_mut(&mut self) -> &mut SimWorld {
        self.core.driver_mut().world_mut()
    }

    /// The task's success criterion now.
    pub fn success(&self) -> bool {
        self.task.success(self.world())
    }

    /// Latches the e-stop: the arm holds on its brakes and actions are ignored until [`SimEnv::reset_estop`].
    pub fn estop(&mut self) {
        self.core.estop();
    }

    /// Clears a latched e-stop.
    pub fn reset_estop(&mut self) {
        self.core.reset_estop();
    }

    /// True while the e-stop is latched.
    pub fn estopped(&self) -> bool {
        matches!(self.core.mode(), ControllerMode::EStopped | ControllerMode::Fault)
    }

    /// Replaces the impedance gains (already validated).
    pub fn set_gains(&mut self, g: ValidatedGains) {
        self.core.set_gains(g);
    }

    /// The controller's state as the bus message the panel shows.
    pub fn arm_state(&self) -> ArmState {
        let mut s = *self.core.status();
        s.gripper = self.world().gripper_state();
        s.to_arm_state(0)
    }

    /// Episodes started so far.
    pub fn episodes(&self) -> u64 {
        self.episode
    }

    fn run_cycles(&mut self, n: u64) -> Result<(), EnvError> {
        for _ in 0..n {
            let now = self.world().now();
            if let Err(e) = self.core.step(now) {
                return Err(EnvError::Fault { what: "simulated arm".into(), reason: e.to_string() });
            }
        }
        Ok(())
    }

    fn observe(&mut self) -> Result<(Observation, u64), EnvError> {
        let world = self.core.driver().world();
        let tcp = world.tcp_pose();
        let twist = Vector6::from(self.core.status().ee_twist);
        // Image-based: no simulator state in the observation (a real cell has none).
        let object = (!self.cfg.agent.use_images).then(|| self.task.object_entries(&world.cube_pose()));
        let object = object.as_ref().map(|(o, h)| (o, *h));
        let p = proprio(&self.start, &tcp, &twist, world.gripper_state().width, object);
        let stamp = world.now().0;
        let snap = if self.renderers.is_empty() { None } else { Some(world.snapshot()) };
        let mut images = Vec::with_capacity(self.renderers.len());
        if let Some(snap) = snap {
            for r in &mut self.renderers {
                images.push(r.render(&snap).map_err(|e| EnvError::internal("rendering a camera", e))?.to_vec());
            }
        }
        Ok((Observation { proprio: p, images }, stamp))
    }

    fn command_gripper(&mut self, g: GripperAction) -> bool {
        let changed = self.gripper.apply(g);
        let command = self.gripper.command(&self.cfg.gripper);
        self.core.driver_mut().world_mut().command_gripper(command);
        changed
    }
}

fn to_action(target: &Isometry3<f64>, tcp: &Isometry3<f64>, scale_m: f64, scale_rad: f64) -> Vec<f32> {
    let dp = (target.translation.vector - tcp.translation.vector) / scale_m;
    let dr = (target.rotation * tcp.rotation.inverse()).scaled_axis() / scale_rad.max(1e-9);
    dp.iter().chain(dr.iter()).map(|v| v.clamp(-1.0, 1.0) as f32).collect()
}

impl Env for SimEnv {
    fn spec(&self) -> &ObsSpec {
        &self.spec
    }

    fn reset(&mut self) -> Result<(Observation, u64), EnvError> {
        let seed = self.seed.wrapping_add(self.episode);
        self.episode += 1;
        self.steps = 0;
        let world = self.core.driver_mut().world_mut();
        self.task.reset(world, seed);
        self.gripper = GripperLatch::open();
        let open = self.gripper.command(&self.cfg.gripper);
        world.command_gripper(open);
        let tcp = world.tcp_pose();
        self.core
            .set_target(&Pose::from_isometry(&tcp))
            .map_err(|e| EnvError::internal("holding the reset pose", e))?;
        let settle = (SETTLE_S * self.cfg.task.policy_hz * self.substeps as f64).round() as u64;
        self.run_cycles(settle)?;
        self.start = self.world().tcp_pose();
        self.script = PickScript::new(&self.cfg.gripper, &self.cfg.task);
        self.observe()
    }

    fn step(&mut self, action: &Action) -> Result<Step, EnvError> {
        if action.continuous.len() != ACTION_DIM {
            return Err(EnvError::BadAction(format!(
                "{} continuous values, expected {ACTION_DIM}",
                action.continuous.len()
            )));
        }
        let target = action_target(&self.cfg, &self.world().tcp_pose(), &self.start.rotation, &action.continuous);
        let gripper_changed = self.spec.gripper && self.command_gripper(action.gripper);
        match self.core.set_target(&Pose::from_isometry(&target)) {
            Ok(()) | Err(TargetError::Ignored { .. }) => {}
            Err(e) => return Err(EnvError::BadAction(format!("pose target {target:?}: {e}"))),
        }
        self.run_cycles(self.substeps)?;
        self.steps += 1;
        let world = self.world();
        let (success, reward) = self.task.step_reward_at(&world.tcp_pose(), &world.cube_pose());
        let (obs, stamp_ns) = self.observe()?;
        Ok(Step {
            obs,
            reward,
            done: success,
            truncated: !success && self.steps >= self.cfg.task.episode_steps(),
            success,
            gripper_changed,
            stamp_ns,
        })
    }

    fn expert_action(&mut self) -> Option<Action> {
        let world = self.core.driver().world();
        let tcp = world.tcp_pose();
        let (s, r) = (self.cfg.task.action_scale_m, self.cfg.task.action_scale_rad);
        match self.task.kind() {
            TaskKind::Reach => {
                let goal = Vector3::from(self.task.goal());
                let target = Isometry3::from_parts(goal.into(), self.start.rotation);
                Some(Action { continuous: to_action(&target, &tcp, s, r), gripper: GripperAction::Stay })
            }
            TaskKind::PickCube => {
                let cube = world.cube_pose();
                let gripper = world.gripper_state();
                let now = world.now();
                let step = self.script.step(now, &Pose::from_isometry(&tcp), &gripper, &cube);
                let close = step.gripper.width < self.cfg.gripper.max_width / 2.0;
                let g = if close { GripperAction::Close } else { GripperAction::Open };
                Some(Action { continuous: to_action(&step.target.to_isometry(), &tcp, s, r), gripper: g })
            }
        }
    }
}

impl CellEnv for SimEnv {
    fn episodes(&self) -> u64 {
        self.episode
    }
    fn estop(&mut self) {
        SimEnv::estop(self);
    }
    fn reset_estop(&mut self) {
        SimEnv::reset_estop(self);
    }
    fn estopped(&mut self) -> bool {
        SimEnv::estopped(self)
    }
    fn set_gains(&mut self, gains: ImpedanceGains) -> Result<(), String> {
        let v = ValidatedGains::new(gains).map_err(|e| e.to_string())?;
        SimEnv::set_gains(self, v);
        Ok(())
    }
    fn arm_state_to_publish(&mut self) -> Option<ArmState> {
        Some(self.arm_state())
    }
}
