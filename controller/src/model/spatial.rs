//! Spatial (6-D) vectors in Plücker coordinates about the **base-frame origin**: motion `(ω, v_O)`, force `(n_O, f)`.
//! Used by the composite-rigid-body and recursive Newton–Euler algorithms.

use nalgebra::{Matrix3, Vector3};

/// A spatial motion vector `(ω, v_O)`: angular velocity and the velocity of the body point at the base origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Motion {
    pub w: Vector3<f64>,
    pub v: Vector3<f64>,
}

/// A spatial force vector `(n_O, f)`: moment about the base origin and force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Force {
    pub n: Vector3<f64>,
    pub f: Vector3<f64>,
}

impl Motion {
    pub fn zero() -> Self {
        Self { w: Vector3::zeros(), v: Vector3::zeros() }
    }
    /// Unit twist of a revolute joint about axis `z` through point `p`: `(z, p × z)`.
    pub fn revolute(z: Vector3<f64>, p: Vector3<f64>) -> Self {
        Self { w: z, v: p.cross(&z) }
    }
    pub fn scale(&self, s: f64) -> Self {
        Self { w: self.w * s, v: self.v * s }
    }
    pub fn add(&self, o: &Motion) -> Self {
        Self { w: self.w + o.w, v: self.v + o.v }
    }
    /// Motion cross product `self ×ₘ m = (ω×ω₂, v×ω₂ + ω×v₂)`.
    pub fn cross_motion(&self, m: &Motion) -> Motion {
        Motion { w: self.w.cross(&m.w), v: self.v.cross(&m.w) + self.w.cross(&m.v) }
    }
    /// Force cross product `self ×* f = (ω×n + v×f, ω×f)`.
    pub fn cross_force(&self, f: &Force) -> Force {
        Force { n: self.w.cross(&f.n) + self.v.cross(&f.f), f: self.w.cross(&f.f) }
    }
    /// Power pairing `self · f`.
    pub fn dot(&self, f: &Force) -> f64 {
        self.w.dot(&f.n) + self.v.dot(&f.f)
    }
}

impl Force {
    pub fn zero() -> Self {
        Self { n: Vector3::zeros(), f: Vector3::zeros() }
    }
    pub fn add(&self, o: &Force) -> Self {
        Self { n: self.n + o.n, f: self.f + o.f }
    }
}

/// A spatial inertia about the base origin, stored as mass `m`, first moment `h = m·c` and rotational inertia
/// about the origin `I_O = I_c + m([c]ₓ[c]ₓᵀ)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SpatialInertia {
    pub m: f64,
    pub h: Vector3<f64>,
    pub i_o: Matrix3<f64>,
}

impl SpatialInertia {
    pub fn zero() -> Self {
        Self { m: 0.0, h: Vector3::zeros(), i_o: Matrix3::zeros() }
    }
    /// From mass, centre of mass `c` and inertia about the centre `i_c`, all in base-frame axes.
    pub fn new(m: f64, c: Vector3<f64>, i_c: Matrix3<f64>) -> Self {
        let cx = c.cross_matrix();
        Self { m, h: c * m, i_o: i_c + m * cx * cx.transpose() }
    }
    pub fn add(&self, o: &SpatialInertia) -> Self {
        Self { m: self.m + o.m, h: self.h + o.h, i_o: self.i_o + o.i_o }
    }
    /// `I · (ω, v) = (I_O ω + h × v, m v − h × ω)`.
    pub fn mul(&self, a: &Motion) -> Force {
        Force { n: self.i_o * a.w + self.h.cross(&a.v), f: a.v * self.m - self.h.cross(&a.w) }
    }
}
