//! The cell's observation layout and action meaning, which every environment of a cell builds (the simulated cell
//! in process, `sim::SimEnv`, and the cell over the bus in the `corrigo` binary), and what the actor needs of a cell
//! beyond the gym contract ([`CellEnv`]).
//!
//! Observation layout (`proprio`, SERL's relative-frame convention — positions relative to the TCP pose at the
//! start of the episode, expressed in the base frame): 17 × f32 for a state-based agent, 13 × f32 (entries 0–12,
//! what a real arm measures) with `agent.use_images = true`:
//!
//! | index | content | unit | with `use_images` |
//! |---|---|---|---|
//! | 0–2 | TCP position − episode-start TCP position | m | yes |
//! | 3–5 | TCP orientation relative to the episode start, rotation vector | rad | yes |
//! | 6–8 | TCP linear velocity | m/s | yes |
//! | 9–11 | TCP angular velocity | rad/s | yes |
//! | 12 | gripper opening | m | yes |
//! | 13–15 | object − TCP position (`reach`: the goal; `pick_cube`: the cube) | m | **absent** |
//! | 16 | object height above its resting height (`reach`: 0) | m | **absent** |
//!
//! Entries 13–16 are privileged simulator state: the in-process `sim::SimEnv` reads them from the
//! world, the bus-backed bus-backed environment from the simulated cell's `controller/sim_scene` topic, and
//! only for a state-based agent (`agent.use_images = false`), the easy reference of `corrigo bench learning`. An
//! image-based observation carries no simulator state in any environment: the policy sees the object only through
//! its cameras, as on a real cell (which has no object state and requires `agent.use_images = true`). Simulator
//! state may still decide the reward and success (standing in for a real cell's reward classifier).
//!
//! Action: 6 continuous values in [-1, 1] — TCP translation `[dx, dy, dz]` × `task.action_scale_m` and rotation
//! vector `[rx, ry, rz]` × `task.action_scale_rad` per step, base frame — plus the discrete gripper action
//! (close / stay / open) for `pick_cube`.

use super::{CameraSpec, Env, ObsSpec};
use crate::CellConfig;
use crate::config::TaskKind;
use crate::msg::{ArmState, ImpedanceGains};
use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3, Vector6};

/// Length of the proprio vector of a state-based agent (arm measurements + the privileged object entries).
pub const PROPRIO_DIM: usize = 17;
/// Length of the proprio vector of an image-based agent: what a real arm measures (entries 0–12).
pub const ARM_PROPRIO_DIM: usize = 13;

/// The proprio length for the cell: [`ARM_PROPRIO_DIM`] with `agent.use_images`, else [`PROPRIO_DIM`].
pub fn proprio_dim(cfg: &CellConfig) -> usize {
    if cfg.agent.use_images { ARM_PROPRIO_DIM } else { PROPRIO_DIM }
}
/// Continuous action size.
pub const ACTION_DIM: usize = 6;

/// The spec of the cell's task: state-only unless `agent.use_images`, with the gripper for `pick_cube`.
pub fn obs_spec(cfg: &CellConfig) -> ObsSpec {
    let cameras = if cfg.agent.use_images {
        cfg.cameras
            .iter()
            .map(|c| CameraSpec { name: c.name.clone(), height: c.height as usize, width: c.width as usize })
            .collect()
    } else {
        Vec::new()
    };
    ObsSpec {
        proprio_dim: proprio_dim(cfg),
        cameras,
        action_dim: ACTION_DIM,
        gripper: cfg.task.kind == TaskKind::PickCube,
    }
}

/// The pose target an action asks for (SERL's convention): the TCP pose `tcp` moved by the action scaled by
/// `task.action_scale_m` / `task.action_scale_rad` (components clamped to [-1, 1]), clamped into the workspace box,
/// its orientation within `task.max_rotation_rad` of `start` (the episode's start orientation).
pub fn action_target(cfg: &CellConfig, tcp: &Isometry3<f64>, start: &UnitQuaternion<f64>, a: &[f32]) -> Isometry3<f64> {
    let s = cfg.task.action_scale_m;
    let r = cfg.task.action_scale_rad;
    let c = |i: usize| f64::from(a[i]).clamp(-1.0, 1.0);
    let p = tcp.translation.vector + Vector3::new(c(0), c(1), c(2)) * s;
    let p = cfg.workspace.clamp([p.x, p.y, p.z]);
    let rot = UnitQuaternion::from_scaled_axis(Vector3::new(c(3), c(4), c(5)) * r) * tcp.rotation;
    // Away from the start orientation by at most `max_rotation_rad` (the rotation scaled back along its axis).
    let away = (rot * start.inverse()).scaled_axis();
    let max = cfg.task.max_rotation_rad;
    let rot =
        if away.norm() > max { UnitQuaternion::from_scaled_axis(away * (max / away.norm())) * start } else { rot };
    Isometry3::from_parts(Translation3::new(p[0], p[1], p[2]), rot)
}

/// The proprio vector of the table above: TCP pose `tcp` relative to the episode's `start`, the TCP `twist`,
/// the gripper opening, and — `Some((position, height above rest))` for a state-based agent only — the object
/// entries. `None` gives the [`ARM_PROPRIO_DIM`] arm measurements of an image-based agent.
pub fn proprio(
    start: &Isometry3<f64>,
    tcp: &Isometry3<f64>,
    twist: &Vector6<f64>,
    gripper_width: f64,
    object: Option<(&Vector3<f64>, f64)>,
) -> Vec<f32> {
    let rel_p = tcp.translation.vector - start.translation.vector;
    let rel_r = (tcp.rotation * start.rotation.inverse()).scaled_axis();
    let mut p = Vec::with_capacity(PROPRIO_DIM);
    p.extend(rel_p.iter().chain(rel_r.iter()).map(|v| *v as f32));
    p.extend(twist.iter().map(|v| *v as f32));
    p.push(gripper_width as f32);
    if let Some((object, height)) = object {
        let d = object - tcp.translation.vector;
        p.extend(d.iter().map(|v| *v as f32));
        p.push(height as f32);
    }
    p
}

/// What the actor needs of an environment beyond the gym contract: the operator's e-stop and gains, and the arm
/// state for the panel. An environment whose controller is another node leaves e-stop and gains to that node,
/// which takes the operator's commands from the bus itself.
pub trait CellEnv: Env {
    /// Episodes started so far.
    fn episodes(&self) -> u64;
    /// Latches the e-stop: the arm holds and actions are ignored until [`CellEnv::reset_estop`].
    fn estop(&mut self);
    /// Clears a latched e-stop.
    fn reset_estop(&mut self);
    /// True while the e-stop (or a fault) holds the arm.
    fn estopped(&mut self) -> bool;
    /// Replaces the impedance gains. `Err` says why they were rejected; the old gains stay. An environment whose
    /// controller is another node accepts them and leaves them to that node.
    fn set_gains(&mut self, gains: ImpedanceGains) -> Result<(), String>;
    /// The arm state the actor publishes for the panel, `None` when a controller node publishes its own.
    fn arm_state_to_publish(&mut self) -> Option<ArmState>;
}

/// The gripper side of an action: the discrete action latched into open or closed, and the command that holds it
/// (closed: width 0; open: `gripper.max_width`; both at `gripper.default_force`). Both environments keep one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GripperLatch {
    closed: bool,
}

impl GripperLatch {
    /// Open (the state at every reset).
    pub fn open() -> Self {
        Self { closed: false }
    }

    /// Applies the action's gripper part (`Stay` keeps the state); true when the state changed.
    pub fn apply(&mut self, g: crate::action::GripperAction) -> bool {
        let close = match g {
            crate::action::GripperAction::Close => true,
            crate::action::GripperAction::Open => false,
            crate::action::GripperAction::Stay => return false,
        };
        let changed = close != self.closed;
        self.closed = close;
        changed
    }

    /// True while closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The command that holds the latched state.
    pub fn command(&self, cfg: &crate::config::GripperConfig) -> crate::msg::GripperCommand {
        crate::msg::GripperCommand { width: if self.closed { 0.0 } else { cfg.max_width }, force: cfg.default_force }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::GripperAction;
    use crate::config::GripperConfig;

    #[test]
    fn the_gripper_latch_changes_only_on_a_different_request_and_commands_its_state() {
        let cfg = GripperConfig { max_width: 0.08, max_force: 70.0, default_force: 20.0 };
        let mut g = GripperLatch::open();
        assert_eq!((g.command(&cfg).width, g.command(&cfg).force), (0.08, 20.0));
        assert!(!g.apply(GripperAction::Stay) && !g.apply(GripperAction::Open), "already open");
        assert!(g.apply(GripperAction::Close) && g.is_closed());
        assert_eq!(g.command(&cfg).width, 0.0);
        assert!(!g.apply(GripperAction::Close) && !g.apply(GripperAction::Stay) && g.is_closed());
        assert!(g.apply(GripperAction::Open) && !g.is_closed());
    }

    #[test]
    fn an_action_moves_the_tcp_by_its_scale_and_stays_in_the_workspace() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../hardware_configs/sim_panda.toml");
        let cfg = CellConfig::from_toml_str(&std::fs::read_to_string(path).unwrap(), path).unwrap();
        let c = cfg.workspace.clamp([0.5, 0.0, 0.3]);
        let tcp = Isometry3::translation(c[0], c[1], c[2]);
        let start = tcp.rotation;
        let t = action_target(&cfg, &tcp, &start, &[1.0, 0.0, -0.5, 0.0, 0.0, 0.0]);
        let d = t.translation.vector - tcp.translation.vector;
        let s = cfg.task.action_scale_m;
        assert!((d.x - s).abs() < 1e-12 || t.translation.x == cfg.workspace.max[0], "{d:?}");
        assert!((d.z + 0.5 * s).abs() < 1e-12 || t.translation.z == cfg.workspace.min[2], "{d:?}");
        let far = action_target(&cfg, &tcp, &start, &[100.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!((far.translation.x - tcp.translation.x) <= s + 1e-12, "components clamped to [-1, 1]");
        let p = proprio(&tcp, &t, &Vector6::zeros(), 0.04, None);
        assert_eq!(p.len(), ARM_PROPRIO_DIM);
        assert!((f64::from(p[0]) - d.x).abs() < 1e-6 && p[12] == 0.04);
    }

    #[test]
    fn rotating_actions_stop_at_the_rotation_bound_around_the_start_orientation() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../hardware_configs/sim_panda.toml");
        let cfg = CellConfig::from_toml_str(&std::fs::read_to_string(path).unwrap(), path).unwrap();
        let start = UnitQuaternion::from_euler_angles(3.1, 0.1, -0.4);
        let mut tcp = Isometry3::from_parts(Translation3::new(0.5, 0.0, 0.3), start);
        let r = cfg.task.action_scale_rad;
        let first = action_target(&cfg, &tcp, &start, &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert!(((first.rotation * start.inverse()).angle() - r).abs() < 1e-9, "one step rotates by the scale");
        // Full rotations about a tilted axis, many steps: the target never leaves the bound.
        let mut largest: f64 = 0.0;
        for k in 0..200 {
            let a = [0.0, 0.0, 0.0, 1.0, if k % 3 == 0 { -1.0 } else { 0.7 }, 0.5];
            tcp = action_target(&cfg, &tcp, &start, &a);
            largest = largest.max((tcp.rotation * start.inverse()).angle());
        }
        assert!(largest <= cfg.task.max_rotation_rad + 1e-9, "{largest} rad away from the start");
        assert!(largest > cfg.task.max_rotation_rad - 1e-6, "the bound is reached: {largest}");
        // Rotating back toward the start is always allowed.
        let toward = (start * tcp.rotation.inverse()).scaled_axis().normalize();
        let back =
            action_target(&cfg, &tcp, &start, &[0.0, 0.0, 0.0, toward.x as f32, toward.y as f32, toward.z as f32]);
        assert!((back.rotation * start.inverse()).angle() < largest);
    }
}
