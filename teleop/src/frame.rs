//! Frames of a teleop twist: the device's twist is expressed in the configured frame (`teleop.frame`) and
//! published in the robot's base frame (the frame of [`interfaces::msg::TeleopCommand::twist`]).
//!
//! With `R` the TCP orientation in the base frame (from [`interfaces::msg::ArmState::ee_pose`]), a twist of the
//! TCP given in the end-effector frame is `v_base = R·v_ee`, `ω_base = R·ω_ee` (both vectors are the TCP's own
//! velocity, so no lever-arm term); the inverse is `v_ee = Rᵀ·v_base`, `ω_ee = Rᵀ·ω_base`.

use interfaces::config::TeleopFrameKind;
use interfaces::msg::Pose;
use nalgebra::{UnitQuaternion, Vector3};

fn rotate(twist: [f64; 6], r: &UnitQuaternion<f64>) -> [f64; 6] {
    let v = r * Vector3::new(twist[0], twist[1], twist[2]);
    let w = r * Vector3::new(twist[3], twist[4], twist[5]);
    [v.x, v.y, v.z, w.x, w.y, w.z]
}

/// A twist given in the end-effector frame, expressed in the base frame (`ee_in_base` = TCP pose in the base).
pub fn ee_to_base(twist_ee: [f64; 6], ee_in_base: &Pose) -> [f64; 6] {
    rotate(twist_ee, &ee_in_base.to_isometry().rotation)
}

/// A twist given in the base frame, expressed in the end-effector frame.
pub fn base_to_ee(twist_base: [f64; 6], ee_in_base: &Pose) -> [f64; 6] {
    rotate(twist_base, &ee_in_base.to_isometry().rotation.inverse())
}

/// Expresses a device twist given in `frame` in the base frame. `None` when `frame` is the end effector and no
/// TCP pose is known yet (the caller must not guess a direction).
pub fn twist_in_base(twist: [f64; 6], frame: TeleopFrameKind, ee_in_base: Option<&Pose>) -> Option<[f64; 6]> {
    match frame {
        TeleopFrameKind::Base => Some(twist),
        TeleopFrameKind::EndEffector => ee_in_base.map(|p| ee_to_base(twist, p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Isometry3;

    fn close(a: [f64; 6], b: [f64; 6]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    /// TCP pointing down (Franka-style: rotated π about base x), then yawed by `yaw` about the base z.
    fn tcp_down(yaw: f64) -> Pose {
        let r = UnitQuaternion::from_euler_angles(0.0, 0.0, yaw)
            * UnitQuaternion::from_euler_angles(std::f64::consts::PI, 0.0, 0.0);
        Pose::from_isometry(&Isometry3::from_parts(Vector3::new(0.5, 0.0, 0.3).into(), r))
    }

    /// Moves a pose by a base-frame twist for `dt` and returns the displacement seen in the starting TCP frame.
    fn displacement_in_ee(start: &Pose, twist_base: [f64; 6], dt: f64) -> [f64; 3] {
        let p0 = start.to_isometry();
        let p1 = p0.translation.vector + Vector3::new(twist_base[0], twist_base[1], twist_base[2]) * dt;
        let d = p0.rotation.inverse() * (p1 - p0.translation.vector);
        [d.x, d.y, d.z]
    }

    #[test]
    fn forward_in_the_ee_frame_moves_the_tcp_forward_along_its_own_x() {
        let forward = [0.1, 0.0, 0.0, 0.0, 0.0, 0.0];
        let ee = tcp_down(std::f64::consts::FRAC_PI_2);
        let base = twist_in_base(forward, TeleopFrameKind::EndEffector, Some(&ee)).expect("pose known");
        // TCP x was yawed onto base +y.
        assert!(close(base, [0.0, 0.1, 0.0, 0.0, 0.0, 0.0]), "{base:?}");
        let d = displacement_in_ee(&ee, base, 0.5);
        assert!((d[0] - 0.05).abs() < 1e-9 && d[1].abs() < 1e-9 && d[2].abs() < 1e-9, "{d:?}");
        // "Into the tool" (+z of a downward TCP) is down in the base frame.
        let down = ee_to_base([0.0, 0.0, 0.1, 0.0, 0.0, 0.0], &tcp_down(0.0));
        assert!(close(down, [0.0, 0.0, -0.1, 0.0, 0.0, 0.0]), "{down:?}");
        // Rotations follow the same rotation: a twist about the tool axis is about base −z.
        let spin = ee_to_base([0.0, 0.0, 0.0, 0.0, 0.0, 0.4], &tcp_down(0.3));
        assert!(close(spin, [0.0, 0.0, 0.0, 0.0, 0.0, -0.4]), "{spin:?}");
    }

    #[test]
    fn forward_in_the_base_frame_moves_the_tcp_along_base_x_whatever_its_orientation() {
        let forward = [0.1, 0.0, 0.0, 0.0, 0.0, 0.0];
        let ee = tcp_down(1.0);
        assert_eq!(twist_in_base(forward, TeleopFrameKind::Base, Some(&ee)), Some(forward));
        assert_eq!(twist_in_base(forward, TeleopFrameKind::Base, None), Some(forward));
        assert_eq!(twist_in_base(forward, TeleopFrameKind::EndEffector, None), None, "no pose, no guess");
        // Seen from the TCP, base-forward is not its own x when it is yawed.
        let seen = base_to_ee(forward, &ee);
        assert!((seen[0] - 0.1 * 1f64.cos()).abs() < 1e-9, "{seen:?}");
    }

    #[test]
    fn the_two_directions_are_inverse() {
        let ee = Pose::from_isometry(&Isometry3::from_parts(
            Vector3::new(0.1, 0.2, 0.3).into(),
            UnitQuaternion::from_euler_angles(0.3, -0.7, 2.1),
        ));
        let t = [0.01, -0.02, 0.03, 0.4, -0.5, 0.6];
        assert!(close(base_to_ee(ee_to_base(t, &ee), &ee), t));
        assert!(close(ee_to_base(base_to_ee(t, &ee), &ee), t));
        assert!(!close(ee_to_base(t, &ee), t), "a rotated frame changes the twist");
    }
}
