//! Device axes → TCP twist: axis selection, sign, dead zone and scaling (`[teleop.<device>]` in the config).

use interfaces::config::AxisMapping;

/// Applies a dead zone to a normalised axis value: `0` inside `|x| ≤ deadzone`, and outside it the remaining
/// range rescaled so the output still reaches ±1 at full deflection (no jump at the edge of the dead zone).
/// Non-finite input reads as 0; the output is clamped to `[-1, 1]`.
pub fn apply_deadzone(x: f64, deadzone: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let x = x.clamp(-1.0, 1.0);
    let dz = deadzone.clamp(0.0, 0.99);
    if x.abs() <= dz { 0.0 } else { x.signum() * (x.abs() - dz) / (1.0 - dz) }
}

/// Maps normalised device axes (each in `[-1, 1]`) to a twist `[vx, vy, vz, wx, wy, wz]` (m/s, rad/s) in the
/// configured teleop frame: component `i` = `dz(axes[axes_map[i]] · signs[i]) · (max_linear | max_angular)`.
/// An axis index beyond `axes` (rejected by config validation) reads as 0.
pub fn axes_to_twist(axes: &[f64], m: &AxisMapping) -> [f64; 6] {
    let mut twist = [0.0; 6];
    for (i, t) in twist.iter_mut().enumerate() {
        let raw = axes.get(m.axes[i] as usize).copied().unwrap_or(0.0);
        let scale = if i < 3 { m.max_linear } else { m.max_angular };
        *t = apply_deadzone(raw * m.signs[i], m.deadzone) * scale;
    }
    twist
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadzone_zeroes_small_inputs_and_rescales_the_rest() {
        assert_eq!(apply_deadzone(0.05, 0.1), 0.0);
        assert_eq!(apply_deadzone(-0.1, 0.1), 0.0);
        assert!((apply_deadzone(0.55, 0.1) - 0.5).abs() < 1e-12);
        assert!((apply_deadzone(-1.0, 0.1) + 1.0).abs() < 1e-12);
        assert_eq!(apply_deadzone(3.0, 0.1), 1.0, "clamped to full deflection");
        assert_eq!(apply_deadzone(f64::NAN, 0.1), 0.0);
    }

    #[test]
    fn axes_are_selected_signed_and_scaled() {
        let m = AxisMapping {
            max_linear: 0.2,
            max_angular: 1.0,
            deadzone: 0.0,
            axes: [1, 0, 2, 5, 4, 3],
            signs: [-1.0, 1.0, 0.0, 1.0, 1.0, -1.0],
        };
        let t = axes_to_twist(&[0.5, -1.0, 1.0, 0.25, 0.0, -0.5], &m);
        assert_eq!(t, [0.2, 0.1, 0.0, -0.5, 0.0, -0.25]);
    }
}
