//! The simulated cell's scene service, a thread of `corrigo controller` with a `sim` driver: what a human does
//! between episodes on a real cell (put the cube somewhere new) and what only a simulator can tell (where the
//! cube is, the episode's goal).
//!
//! It applies the scene resets a bus-backed environment requests on `actor/scene_reset` ([`SceneReset`]) to the
//! world that the control loop owns, through a wait-free [`SceneLink`] (the cube is placed before the next
//! physics step), and publishes the privileged scene state on `controller/sim_scene` ([`SceneState`]) at 50 Hz.
//! The scene of a seed is the one the in-process environment draws for that seed ([`sim::Task::draw`]).

use anyhow::Result;
use bus::Bus;
use interfaces::CellConfig;
use interfaces::drivers::MAX_DOF;
use interfaces::keys::{SCENE_RESET, SIM_SCENE};
use interfaces::msg::{Header, Pose};
use interfaces::msg_training::{SceneReset, SceneState};
use sim::{SceneLink, SnapshotReader, Task};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Publishing rate of the scene state, Hz.
pub const SCENE_HZ: f64 = 50.0;

/// How close to its placement the cube must be seen for a reset to count as applied, m.
const PLACED_TOLERANCE_M: f64 = 0.002;

/// Starts the scene thread; it runs until `stop` is set.
pub fn spawn(
    bus: &Bus,
    cfg: &CellConfig,
    mut link: SceneLink,
    mut observer: SnapshotReader,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    let resets = bus.subscribe::<SceneReset>(SCENE_RESET, None)?;
    let mut publisher = bus.publisher::<SceneState>(SIM_SCENE, None)?;
    let mut task = Task::new(&cfg.task, &cfg.workspace);
    let dof = cfg.robot.joints.len().min(MAX_DOF);
    let mut state = SceneState { goal: observer.latest().cube_position, ..SceneState::default() };
    std::thread::Builder::new()
        .name("sim-scene".into())
        .spawn(move || {
            let mut pacer = super::pacer::Pacer::new(Duration::from_secs_f64(1.0 / SCENE_HZ));
            // A requested reset: its seed and where it puts the cube.
            let mut pending: Option<(u64, nalgebra::Vector3<f64>)> = None;
            while !stop.load(Ordering::Acquire) {
                while let Some(r) = resets.try_recv() {
                    let mut noise = [0.0; MAX_DOF];
                    let scene = task.draw(r.msg.seed, &mut noise[..dof]);
                    link.place_cube(&scene.cube);
                    state.goal = scene.goal;
                    pending = Some((r.msg.seed, scene.cube.translation.vector));
                }
                let snap = observer.latest();
                // The reset counts as applied once a snapshot shows the cube where it was put.
                if let Some((seed, at)) = pending
                    && (nalgebra::Vector3::from(snap.cube_position) - at).norm() < PLACED_TOLERANCE_M
                {
                    state.seed = Some(seed);
                    pending = None;
                }
                state.header = Header { seq: 0, stamp_ns: snap.stamp };
                state.cube = Pose::from_isometry(&snap.cube_pose());
                if let Err(e) = publisher.publish(&mut state) {
                    tracing::warn!("cannot publish the scene state: {e}");
                }
                pacer.wait();
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot start thread `sim-scene`: {e}"))
}
