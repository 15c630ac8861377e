//! A scripted pick of the cube: pose targets and gripper commands from the arm's state and the cube's pose.
//!
//! Phases: `Open` (open the gripper) → `Above` (TCP 10 cm above the cube, fingers across the cube's faces) →
//! `Descend` (TCP at the cube's centre) → `Close` (squeeze at the grasp force) → `Lift` (raise by the lift height
//! plus a margin) → `Done` (hold). A phase ends when the TCP is within tolerance of its waypoint and the gripper
//! has settled, or after its time limit.

use interfaces::Stamp;
use interfaces::config::{GripperConfig, TaskConfig};
use interfaces::msg::{GripperCommand, GripperState, Pose};
use nalgebra::{Isometry3, UnitQuaternion, Vector3};

/// Height above the cube the approach waypoint is placed at, m.
const APPROACH_HEIGHT: f64 = 0.10;
/// Position tolerance that ends a motion phase, m.
const POSITION_TOLERANCE: f64 = 0.004;
/// Extra lift beyond the task's lift height, m.
const LIFT_MARGIN: f64 = 0.03;

/// Where the script is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickPhase {
    /// Opening the gripper.
    Open,
    /// Moving above the cube.
    Above,
    /// Moving down around the cube.
    Descend,
    /// Closing the gripper on the cube.
    Close,
    /// Lifting.
    Lift,
    /// Holding the cube up.
    Done,
}

/// One output of the script.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScriptStep {
    /// Pose target for the controller (base frame).
    pub target: Pose,
    /// Gripper command for this phase.
    pub gripper: GripperCommand,
    /// Phase.
    pub phase: PickPhase,
}

/// The scripted pick. Call [`PickScript::step`] at any rate (e.g. 10–100 Hz) with the current state.
#[derive(Debug, Clone)]
pub struct PickScript {
    phase: PickPhase,
    since: Option<Stamp>,
    grip: GripperConfig,
    lift: f64,
    /// Grasp pose (TCP at the cube centre), fixed when the descent starts.
    grasp: Option<Isometry3<f64>>,
}

impl PickScript {
    /// A script for the cell's gripper limits and task lift height.
    pub fn new(gripper: &GripperConfig, task: &TaskConfig) -> Self {
        Self { phase: PickPhase::Open, since: None, grip: *gripper, lift: task.lift_height, grasp: None }
    }

    /// Current phase.
    pub fn phase(&self) -> PickPhase {
        self.phase
    }

    /// The orientation that points the TCP's z axis down with the fingers across the cube's faces, given the
    /// current TCP orientation `tcp` (the yaw closest to it, modulo 90°, is kept so the wrist turns little).
    pub fn grasp_orientation(tcp: &UnitQuaternion<f64>, cube: &UnitQuaternion<f64>) -> UnitQuaternion<f64> {
        // Down-pointing frame with x along the cube's x axis: x = (cos ψ, sin ψ, 0), z = (0, 0, −1), y = z × x.
        let cube_x = cube * Vector3::x();
        let psi_cube = cube_x.y.atan2(cube_x.x);
        let tcp_x = tcp * Vector3::x();
        let psi_tcp = tcp_x.y.atan2(tcp_x.x);
        let quarter = std::f64::consts::FRAC_PI_2;
        let k = ((psi_tcp - psi_cube) / quarter).round();
        let psi = psi_cube + k * quarter;
        let down = UnitQuaternion::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI);
        UnitQuaternion::from_axis_angle(&Vector3::z_axis(), psi) * down
    }

    /// The next target from the TCP pose `ee`, the gripper state and the cube pose at time `now`.
    pub fn step(&mut self, now: Stamp, ee: &Pose, gripper: &GripperState, cube: &Isometry3<f64>) -> ScriptStep {
        let since = *self.since.get_or_insert(now);
        let elapsed = now.secs_since(since);
        let ee_iso = ee.to_isometry();
        let rot = Self::grasp_orientation(&ee_iso.rotation, &cube.rotation);
        let c = cube.translation.vector;
        let open = GripperCommand { width: self.grip.max_width, force: self.grip.default_force };
        let closed = GripperCommand { width: 0.0, force: self.grip.default_force };
        let at = |p: Vector3<f64>, r: UnitQuaternion<f64>| Isometry3::from_parts(p.into(), r);
        let reached =
            |t: &Isometry3<f64>| (t.translation.vector - ee_iso.translation.vector).norm() < POSITION_TOLERANCE;
        let (target, cmd, next) = match self.phase {
            PickPhase::Open => {
                let t = ee_iso;
                let done = (gripper.width - self.grip.max_width).abs() < 0.004 || elapsed > 1.5;
                (t, open, done.then_some(PickPhase::Above))
            }
            PickPhase::Above => {
                let t = at(c + Vector3::new(0.0, 0.0, APPROACH_HEIGHT), rot);
                (t, open, (reached(&t) || elapsed > 4.0).then_some(PickPhase::Descend))
            }
            PickPhase::Descend => {
                let g = *self.grasp.get_or_insert_with(|| at(c, rot));
                (g, open, (reached(&g) || elapsed > 3.0).then_some(PickPhase::Close))
            }
            PickPhase::Close => {
                let g = self.grasp.unwrap_or_else(|| at(c, rot));
                let settled = elapsed > 0.6 && gripper.width < self.grip.max_width * 0.9;
                (g, closed, (settled || elapsed > 2.0).then_some(PickPhase::Lift))
            }
            PickPhase::Lift | PickPhase::Done => {
                let g = self.grasp.unwrap_or_else(|| at(c, rot));
                let mut t = g;
                t.translation.vector.z += self.lift + LIFT_MARGIN;
                let done = self.phase == PickPhase::Lift && (reached(&t) || elapsed > 4.0);
                (t, closed, done.then_some(PickPhase::Done))
            }
        };
        if let Some(n) = next {
            self.phase = n;
            self.since = Some(now);
        }
        ScriptStep { target: Pose::from_isometry(&target), gripper: cmd, phase: self.phase }
    }
}
