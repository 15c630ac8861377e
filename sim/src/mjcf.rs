//! MJCF (MuJoCo XML) of the cell, generated from the cell config so that the simulator and the controller's
//! model ([`controller::model::RobotModel`]) agree exactly: the same modified-DH frames, link inertials, hand
//! inertial, joint limits and torque limits.
//!
//! Layout (base frame = world frame, z up, table top at z = 0): a 7-DOF torque-driven arm (`joint1..` hinge
//! joints, one `motor` per joint with `ctrlrange = ±torque_limit`), a parallel two-finger gripper (two slide
//! joints, force motors), a table, a free cube with rubber-on-wood friction, a `front` camera in the world and a
//! `wrist` camera on the hand. Physics at the driver's timestep (1 kHz). Arm link geoms are visual only.

use controller::model::{dh_origin, tcp_transform};
use interfaces::CellConfig;
use interfaces::config::{Inertial, RobotConfig};
use nalgebra::{Isometry3, UnitQuaternion, Vector3};
use std::fmt::Write as _;

/// Edge length of the default cube (`task.cube.size`), m.
pub const CUBE_SIZE: f64 = interfaces::config::DEFAULT_CUBE_SIZE;
/// Density of the cube, kg/m³ (a wooden 4.5 cm cube weighs 70 g).
pub const CUBE_DENSITY: f64 = 0.07 / (0.045 * 0.045 * 0.045);
/// Mass of each finger, kg.
pub const FINGER_MASS: f64 = 0.02;
/// Viscous damping of each finger joint, N·s/m (sets the closing speed: force / damping).
pub const FINGER_DAMPING: f64 = 100.0;
/// Reflected inertia of each finger's drive, kg. MuJoCo's soft constraints are scaled by the effective mass, so
/// a light finger pushed by tens of newtons would sink into the cube; the drive's armature gives the finger
/// joint a realistic effective mass without changing the arm's dynamics.
pub const FINGER_ARMATURE: f64 = 0.5;
/// Distance from the flange to the TCP (between the fingertips) along the last link's z axis, m (Franka's hand:
/// 0.1034). The gripper is placed this far behind the configured TCP, so its fingers close around the TCP on every
/// arm (Franka: the flange 0.107 m from the last joint).
pub const FLANGE_TO_TCP: f64 = 0.1034;

/// Distance from the last link's frame to the flange (the gripper's origin) along its z axis, m.
pub fn flange_offset(robot: &RobotConfig) -> f64 {
    // Rounded to a nanometre so that 0.2104 − 0.1034 is exactly Franka's 0.107.
    ((robot.tcp.position[2] - FLANGE_TO_TCP).max(0.0) * 1e9).round() / 1e9
}
/// Finger travel (half the opening), m; set from `gripper.max_width / 2`.
fn finger_travel(cfg: &CellConfig) -> f64 {
    cfg.gripper.max_width / 2.0
}
/// Height of the finger base above the flange, m.
const FINGER_BASE: f64 = 0.0584;

/// What to include besides the arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// The whole cell: arm, gripper, table, cube, cameras.
    Cell,
    /// The arm and the hand's inertial only (no fingers, no scene): the rigid-body system the controller
    /// models, for comparing dynamics.
    ArmOnly,
}

fn f(v: f64) -> String {
    // Round-trip exact decimal of an f64.
    format!("{v:?}")
}
fn v3(v: &Vector3<f64>) -> String {
    format!("{} {} {}", f(v.x), f(v.y), f(v.z))
}
fn quat(q: &UnitQuaternion<f64>) -> String {
    let q = q.quaternion();
    format!("{} {} {} {}", f(q.w), f(q.i), f(q.j), f(q.k))
}
fn inertial(i: &Inertial) -> String {
    let [xx, yy, zz, xy, xz, yz] = i.inertia;
    format!(
        r#"<inertial pos="{}" mass="{}" fullinertia="{} {} {} {} {} {}"/>"#,
        v3(&Vector3::from(i.com)),
        f(i.mass),
        f(xx),
        f(yy),
        f(zz),
        f(xy),
        f(xz),
        f(yz)
    )
}

/// The cell's MJCF text.
pub fn mjcf(cfg: &CellConfig, scene: Scene) -> String {
    let timestep = cfg.driver.sim_timestep();
    let (offw, offh) = cfg
        .cameras
        .iter()
        .fold((640, 480), |(w, h), c| (w.max(c.capture_width.max(c.width)), h.max(c.capture_height.max(c.height))));
    let g = Vector3::from(cfg.robot.gravity);
    let mut x = String::new();
    let _ = writeln!(x, r#"<mujoco model="corrigo_{}">"#, cfg.cell.name);
    let _ = writeln!(x, r#"  <compiler angle="radian" inertiafromgeom="false" autolimits="true"/>"#);
    let _ = writeln!(
        x,
        r#"  <option timestep="{}" gravity="{}" integrator="implicitfast" cone="elliptic" impratio="10"/>"#,
        f(timestep),
        v3(&g)
    );
    let _ = writeln!(
        x,
        r#"  <visual><global offwidth="{offw}" offheight="{offh}"/><quality shadowsize="0"/><headlight ambient="0.4 0.4 0.4" diffuse="0.5 0.5 0.5"/></visual>"#
    );
    let _ = writeln!(
        x,
        r#"  <default><geom contype="0" conaffinity="0" rgba="0.92 0.92 0.95 1"/><site group="5"/></default>"#
    );
    x.push_str("  <worldbody>\n");
    if scene == Scene::Cell {
        x.push_str(
            r#"    <light name="top" pos="0.5 0 2.5" dir="0 0 -1" directional="true" castshadow="false" diffuse="0.6 0.6 0.6"/>
    <geom name="floor" type="plane" pos="0 0 -0.75" size="3 3 0.1" rgba="0.3 0.32 0.35 1"/>
    <geom name="table" type="box" pos="0.45 0 -0.025" size="0.55 0.7 0.025" rgba="0.62 0.52 0.4 1" contype="1" conaffinity="1" friction="0.8 0.005 0.0001"/>
    <geom name="pedestal" type="cylinder" pos="0 0 0.005" size="0.09 0.005" rgba="0.2 0.2 0.2 1"/>
    <geom name="link0" type="capsule" fromto="0 0 0 0 0 0.28" size="0.06"/>
    <camera name="front" pos="1.35 0 0.8" xyaxes="0 1 0 -0.447 0 0.894" fovy="60"/>
"#,
        );
    }
    arm_bodies(&mut x, cfg, scene);
    if scene == Scene::Cell {
        let size = cfg.task.cube.size;
        let mass = CUBE_DENSITY * size * size * size;
        let h = size / 2.0;
        let i = mass * size * size / 6.0;
        let [x0, x1, y0, y1] = cfg.task.cube.region;
        let _ = writeln!(
            x,
            r#"    <body name="cube" pos="{} {} {}"><freejoint name="cube"/><inertial pos="0 0 0" mass="{}" diaginertia="{} {} {}"/><geom name="cube" type="box" size="{} {} {}" rgba="0.85 0.1 0.1 1" contype="1" conaffinity="1" condim="4" friction="1 0.005 0.0001"/></body>"#,
            f((x0 + x1) / 2.0),
            f((y0 + y1) / 2.0),
            f(h),
            f(mass),
            f(i),
            f(i),
            f(i),
            f(h),
            f(h),
            f(h)
        );
    }
    x.push_str("  </worldbody>\n  <actuator>\n");
    for j in &cfg.robot.joints {
        let _ = writeln!(
            x,
            r#"    <motor name="{n}" joint="{n}" ctrlrange="{} {}"/>"#,
            f(-j.torque_limit),
            f(j.torque_limit),
            n = j.name
        );
    }
    if scene == Scene::Cell {
        let fmax = f(cfg.gripper.max_force);
        let _ = writeln!(x, r#"    <motor name="finger_left" joint="finger_left" ctrlrange="-{fmax} {fmax}"/>"#);
        let _ = writeln!(x, r#"    <motor name="finger_right" joint="finger_right" ctrlrange="-{fmax} {fmax}"/>"#);
    }
    x.push_str("  </actuator>\n</mujoco>\n");
    x
}

fn arm_bodies(x: &mut String, cfg: &CellConfig, scene: Scene) {
    let robot: &RobotConfig = &cfg.robot;
    let n = robot.joints.len();
    let mut indent = String::from("    ");
    for (i, j) in robot.joints.iter().enumerate() {
        let o: Isometry3<f64> = dh_origin(j.a, j.d, j.alpha, j.theta_offset);
        let _ = writeln!(
            x,
            r#"{indent}<body name="link{}" pos="{}" quat="{}">"#,
            i + 1,
            v3(&o.translation.vector),
            quat(&o.rotation)
        );
        let _ = writeln!(
            x,
            r#"{indent}  <joint name="{}" type="hinge" axis="0 0 1" range="{} {}" damping="{}"/>"#,
            j.name,
            f(j.lower),
            f(j.upper),
            f(j.damping)
        );
        let _ = writeln!(x, "{indent}  {}", inertial(&j.inertial));
        // Visual: a capsule from this joint to the next joint's origin (or to the flange).
        let next = if i + 1 < n {
            let nj = &robot.joints[i + 1];
            dh_origin(nj.a, nj.d, nj.alpha, nj.theta_offset).translation.vector
        } else {
            Vector3::new(0.0, 0.0, flange_offset(robot))
        };
        if next.norm() > 1e-6 {
            let _ = writeln!(x, r#"{indent}  <geom type="capsule" fromto="0 0 0 {}" size="0.045"/>"#, v3(&next));
        } else {
            let _ = writeln!(x, r#"{indent}  <geom type="sphere" size="0.055"/>"#);
        }
        indent.push_str("  ");
    }
    // The hand: rigidly attached to the last link, inertial given in the last link's frame.
    let _ = writeln!(x, r#"{indent}<body name="hand" pos="0 0 0">"#);
    let _ = writeln!(x, "{indent}  {}", inertial(&robot.tcp.hand));
    let tcp = tcp_transform(robot.tcp.position, robot.tcp.rpy);
    let _ = writeln!(
        x,
        r#"{indent}  <site name="tcp" pos="{}" quat="{}" size="0.005"/>"#,
        v3(&tcp.translation.vector),
        quat(&tcp.rotation)
    );
    if scene == Scene::Cell {
        // The gripper frame: at the flange, oriented like the TCP (fingers open along its y axis).
        let travel = finger_travel(cfg);
        let _ = writeln!(
            x,
            r#"{indent}  <body name="gripper" pos="0 0 {}" quat="{}">"#,
            f(flange_offset(robot)),
            quat(&tcp.rotation)
        );
        let _ = writeln!(
            x,
            r#"{indent}    <geom name="palm" type="box" pos="0 0 0.03" size="0.025 0.1 0.028" rgba="0.9 0.9 0.92 1" contype="1" conaffinity="1"/>"#
        );
        let _ = writeln!(
            x,
            r#"{indent}    <camera name="wrist" pos="0.07 0 0.01" xyaxes="0 -1 0 -0.966 0 -0.259" fovy="75"/>"#
        );
        for (name, sign) in [("finger_left", 1.0), ("finger_right", -1.0)] {
            let fi = FINGER_MASS * 1e-4;
            let _ = writeln!(
                x,
                r#"{indent}    <body name="{name}" pos="0 0 {}"><joint name="{name}" type="slide" axis="0 {} 0" range="0 {}" damping="{}" armature="{}" solreflimit="0.005 1"/><inertial pos="0 {} 0.03" mass="{}" diaginertia="{} {} {}"/><geom name="{name}_pad" type="box" pos="0 {} 0.03" size="0.01 0.004 0.025" rgba="0.25 0.25 0.25 1" contype="1" conaffinity="1" condim="4" friction="1.5 0.005 0.0001" solref="0.005 1"/></body>"#,
                f(FINGER_BASE),
                f(sign),
                f(travel),
                f(FINGER_DAMPING),
                f(FINGER_ARMATURE),
                f(sign * 0.004),
                f(FINGER_MASS),
                f(fi),
                f(fi),
                f(fi),
                f(sign * 0.004)
            );
        }
        let _ = writeln!(x, "{indent}  </body>");
    }
    let _ = writeln!(x, "{indent}</body>");
    for _ in 0..n {
        indent.truncate(indent.len() - 2);
        let _ = writeln!(x, "{indent}</body>");
    }
}
