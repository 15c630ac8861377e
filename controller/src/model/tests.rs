use super::*;
use crate::testing::{panda_config, random_q};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn panda_tcp_at_zero_configuration_matches_published_geometry() {
    let m = RobotModel::from_config(&panda_config().robot).expect("model");
    let k = m.kinematics(&[0.0; MAX_DOF]);
    // Link 7 sits at x = 0.088, z = 0.333 + 0.316 + 0.384 with its z axis pointing down; the TCP is 0.2104 below.
    let p = k.tcp.translation.vector;
    assert!((p - Vector3::new(0.088, 0.0, 1.033 - 0.2104)).norm() < 1e-12, "{p}");
    assert!((k.axis(6) - Vector3::new(0.0, 0.0, -1.0)).norm() < 1e-12);
}

#[test]
fn jacobian_matches_finite_differences_of_forward_kinematics() {
    let m = RobotModel::from_config(&panda_config().robot).expect("model");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..20 {
        let q = random_q(&m, &mut rng);
        let k = m.kinematics(&q);
        let j = k.jacobian();
        for i in 0..m.dof() {
            let h = 1e-6;
            let mut qp = q;
            qp[i] += h;
            let kp = m.kinematics(&qp);
            let dv = (kp.tcp.translation.vector - k.tcp.translation.vector) / h;
            let dw = (kp.tcp.rotation * k.tcp.rotation.inverse()).scaled_axis() / h;
            assert!((dv - j.fixed_view::<3, 1>(0, i)).norm() < 1e-5, "linear column {i}");
            assert!((dw - j.fixed_view::<3, 1>(3, i)).norm() < 1e-5, "angular column {i}");
        }
    }
}

#[test]
fn mass_matrix_is_symmetric_positive_definite_and_agrees_with_newton_euler() {
    let m = RobotModel::from_config(&panda_config().robot).expect("model");
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for _ in 0..20 {
        let q = random_q(&m, &mut rng);
        let k = m.kinematics(&q);
        let mm = m.mass_matrix(&k);
        assert!((mm - mm.transpose()).norm() < 1e-12);
        assert!(mm.cholesky().is_some(), "M must be positive definite");
        for c in 0..m.dof() {
            let mut e = [0.0; MAX_DOF];
            e[c] = 1.0;
            let col = m.inverse_dynamics(&k, &[0.0; MAX_DOF], &e, false);
            for r in 0..m.dof() {
                assert!((col[r] - mm[(r, c)]).abs() < 1e-10, "M[{r},{c}]");
            }
        }
    }
}

#[test]
fn coriolis_term_conserves_energy() {
    // Without gravity and torque, d/dt(½ q̇ᵀ M q̇) = 0, i.e. q̇ᵀ (½ Ṁ q̇ − C q̇) = 0 for the RNEA bias.
    let m = RobotModel::from_config(&panda_config().robot).expect("model");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..10 {
        let q = random_q(&m, &mut rng);
        let dq = random_q(&m, &mut rng);
        let k = m.kinematics(&q);
        let c = m.bias(&k, &dq, false);
        let h = 1e-6;
        let mut qp = q;
        for i in 0..MAX_DOF {
            qp[i] += h * dq[i];
        }
        let mdot = (m.mass_matrix(&m.kinematics(&qp)) - m.mass_matrix(&k)) / h;
        let dqv = JointColumn::from_column_slice(&dq);
        let lhs = 0.5 * (dqv.transpose() * mdot * dqv)[0];
        let rhs = dqv.dot(&JointColumn::from_column_slice(&c));
        assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
    }
}

#[test]
fn bad_joint_count_is_rejected() {
    let mut cfg = panda_config().robot;
    cfg.joints.clear();
    assert_eq!(RobotModel::from_config(&cfg), Err(ModelError::BadDof { dof: 0, max: MAX_DOF }));
}
