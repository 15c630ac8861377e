//! The controller's rigid-body model against MuJoCo's own kinematics and dynamics on the same generated model.

use controller::model::RobotModel;
use controller::testing::{panda_config, random_q};
use interfaces::drivers::MAX_DOF;
use mujoco_rs::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::mjcf::{Scene, mjcf};

const TOL: f64 = 1e-6;

#[test]
fn fk_jacobian_mass_matrix_and_bias_match_mujoco_on_random_configurations() {
    let cfg = panda_config();
    let model = RobotModel::from_config(&cfg.robot).expect("model");
    let mj = MjModel::from_xml_string(&mjcf(&cfg, Scene::ArmOnly)).expect("mjcf compiles");
    let mut data = MjData::new(&mj);
    let nv = mj.ffi().nv as usize;
    assert_eq!(nv, 7);
    let link7 = mj.name_to_id(MjtObjBase::mjOBJ_BODY, "link7").expect("link7");
    let site = mj.name_to_id(MjtObjBase::mjOBJ_SITE, "tcp").expect("tcp site");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut full = vec![0.0; nv * nv];
    for case in 0..25 {
        let q = random_q(&model, &mut rng);
        let mut dq = [0.0; MAX_DOF];
        for v in dq.iter_mut() {
            *v = rand::Rng::random_range(&mut rng, -2.0..2.0);
        }
        data.qpos_mut().copy_from_slice(&q[..nv]);
        data.qvel_mut().copy_from_slice(&dq[..nv]);
        data.forward();
        let kin = model.kinematics(&q);

        // Forward kinematics of the TCP.
        let p = data.site_xpos()[site];
        let m = data.site_xmat()[site];
        let tcp = kin.tcp;
        let r = tcp.rotation.to_rotation_matrix();
        for i in 0..3 {
            assert!((tcp.translation.vector[i] - p[i]).abs() < TOL, "case {case}: tcp position");
            for j in 0..3 {
                assert!((r[(i, j)] - m[3 * i + j]).abs() < TOL, "case {case}: tcp rotation");
            }
        }

        // Geometric Jacobian at the TCP (mj_jac on the last link at the TCP point).
        let (jacp, jacr) = data.jac(true, true, &p, link7);
        let j = kin.jacobian();
        for c in 0..nv {
            for r in 0..3 {
                assert!((j[(r, c)] - jacp[r * nv + c]).abs() < TOL, "case {case}: jacp[{r},{c}]");
                assert!((j[(r + 3, c)] - jacr[r * nv + c]).abs() < TOL, "case {case}: jacr[{r},{c}]");
            }
        }

        // Mass matrix (mj_fullM).
        data.full_m(&mut full).expect("fullM");
        let mm = model.mass_matrix(&kin);
        for r in 0..nv {
            for c in 0..nv {
                assert!((mm[(r, c)] - full[r * nv + c]).abs() < TOL, "case {case}: M[{r},{c}]");
            }
        }

        // Coriolis + gravity (mj_rne without acceleration).
        let bias = data.rne(false);
        let ours = model.bias(&kin, &dq, true);
        for i in 0..nv {
            assert!((ours[i] - bias[i]).abs() < TOL, "case {case}: bias[{i}] {} vs {}", ours[i], bias[i]);
        }
    }
}

#[test]
fn the_generated_cell_model_is_written_out_for_inspection_and_is_current() {
    let cfg = panda_config();
    let xml = mjcf(&cfg, Scene::Cell);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/sim_panda.xml");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != xml {
        std::fs::write(&path, &xml).expect("write sim/models/sim_panda.xml");
        panic!("sim/models/sim_panda.xml was stale and has been regenerated; commit it");
    }
    MjModel::from_xml_string(&xml).expect("cell model compiles");
}
