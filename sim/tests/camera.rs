//! Offscreen rendering of the simulated cameras.

use controller::testing::panda_config;
use interfaces::drivers::Camera;
use mujoco_rs::prelude::*;
use nalgebra::{Isometry3, Point3, Vector3};
use sim::mjcf::CUBE_SIZE;
use sim::{CameraRenderer, SimCell, SimWorld};

/// Pixel bounding box `(col_min, col_max, row_min, row_max)` of the cube's corners seen by the fixed camera
/// `cam` (pinhole projection, MuJoCo's camera looks along −z with y up).
fn cube_bbox(world: &SimWorld, cam: usize, w: f64, h: f64) -> (f64, f64, f64, f64) {
    let data = world.data();
    let p = Vector3::from(data.cam_xpos()[cam]);
    let m = data.cam_xmat()[cam];
    let r = nalgebra::Matrix3::from_row_slice(&m);
    let fovy = world.model().cam_fovy()[cam].to_radians();
    let f = 0.5 * h / (0.5 * fovy).tan();
    let cube = world.cube_pose();
    let s = CUBE_SIZE / 2.0;
    let mut bb = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for i in 0..8 {
        let corner = Point3::new(
            if i & 1 == 0 { -s } else { s },
            if i & 2 == 0 { -s } else { s },
            if i & 4 == 0 { -s } else { s },
        );
        let c = r.transpose() * ((cube * corner).coords - p);
        let (u, v) = (w / 2.0 + f * c.x / -c.z, h / 2.0 - f * c.y / -c.z);
        bb = (bb.0.min(u), bb.1.max(u), bb.2.min(v), bb.3.max(v));
    }
    bb
}

#[test]
fn a_rendered_frame_changes_where_and_only_where_the_cube_moved() {
    let cfg = panda_config();
    let mut world = SimWorld::new(&cfg).expect("world");
    let (w, h) = (128u32, 128u32);
    let mut r = CameraRenderer::new(world.model().clone(), "front", w, h).expect("EGL offscreen renderer");
    let cam = world.model().name_to_id(MjtObjBase::mjOBJ_CAMERA, "front").expect("front camera");
    let before = r.render(&world.snapshot()).expect("render").to_vec();
    assert_eq!(before.len(), (w * h * 3) as usize);
    let bb1 = cube_bbox(&world, cam, w.into(), h.into());
    world.set_cube_pose(&Isometry3::translation(0.5, 0.12, CUBE_SIZE / 2.0));
    let bb2 = cube_bbox(&world, cam, w.into(), h.into());
    let after = r.render(&world.snapshot()).expect("render").to_vec();

    let inside = |bb: (f64, f64, f64, f64), col: f64, row: f64| {
        col >= bb.0 - 2.0 && col <= bb.1 + 2.0 && row >= bb.2 - 2.0 && row <= bb.3 + 2.0
    };
    let (mut changed, mut outside) = (0, 0);
    for row in 0..h as usize {
        for col in 0..w as usize {
            let i = (row * w as usize + col) * 3;
            let d: i32 = (0..3).map(|k| (i32::from(before[i + k]) - i32::from(after[i + k])).abs()).sum();
            if d > 30 {
                changed += 1;
                let (c, r_) = (col as f64 + 0.5, row as f64 + 0.5);
                if !(inside(bb1, c, r_) || inside(bb2, c, r_)) {
                    outside += 1;
                }
            }
        }
    }
    assert!(changed > 20, "moving the cube must change the image ({changed} pixels changed)");
    assert_eq!(outside, 0, "{outside} pixels changed outside the cube's old and new footprints {bb1:?} {bb2:?}");
    // Rendering the same state again gives the same image.
    assert_eq!(r.render(&world.snapshot()).expect("render"), &after[..]);
}

#[test]
fn sim_cameras_grab_from_their_own_threads() {
    let cfg = panda_config();
    let mut cell = SimCell::new(&cfg).expect("cell");
    let mut front = cell.camera("front").expect("front");
    let mut wrist = cell.camera("wrist").expect("wrist");
    assert!(cell.camera("nope").is_err());
    let a = front.grab().expect("front frame");
    let b = wrist.grab().expect("wrist frame");
    assert_eq!((a.width, a.height, a.rgb.len()), (128, 128, 128 * 128 * 3));
    assert_eq!(b.rgb.len(), 128 * 128 * 3);
    assert_ne!(a.rgb, b.rgb);
    assert!(a.rgb.iter().any(|&p| p != a.rgb[0]), "the front image is not blank");
}
