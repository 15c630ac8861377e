//! The fused elementwise kernels of the CPU training path, on plain slices. Each is one pass over its rows where
//! libtorch's eager API takes several (bias add, LayerNorm, affine, SiLU forward; their backward; Adam; the soft
//! target update). Written to be auto-vectorised: reductions keep [`LANES`] partial sums, `exp` is a polynomial.
//! On x86-64 CPUs with AVX2 and FMA the same code is compiled a second time for those features and chosen at run
//! time (the only `unsafe` here: calling that copy after checking the CPU has them).
#![allow(unsafe_code)]

/// LayerNorm's ε (as `torch.nn.LayerNorm`).
pub(crate) const LN_EPS: f32 = 1e-5;

/// Partial sums kept by the reductions (one AVX-512 or two AVX2 registers).
const LANES: usize = 16;

/// Declares a kernel whose body is compiled twice: once for the baseline CPU and once with AVX2 + FMA, the
/// second chosen at run time when the CPU has them. The body sees `const FMA: bool`: whether `a · b + c` may be
/// one fused multiply-add ([`madd`]).
macro_rules! kernel {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn imp<const FMA: bool>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    #[target_feature(enable = "avx2,fma")]
                    fn wide($($arg: $ty),*) {
                        imp::<true>($($arg),*)
                    }
                    // SAFETY: `wide` only requires AVX2 and FMA, which the CPU has (checked just above).
                    return unsafe { wide($($arg),*) };
                }
            }
            imp::<false>($($arg),*)
        }
    };
}

/// `a · b + c`, as one fused multiply-add (one rounding) when `FMA` (only in code compiled with the `fma` target
/// feature: elsewhere `mul_add` would be a slow library call).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `e^x` for f32, vectorisable: `2^k · p(r)` with `k = round(x / ln 2)`, `r = x − k ln 2` and the Cephes `expf`
/// polynomial; relative error below 2e-7 on `[-87, 88]`. `x` is clamped to that range (no infinities, no
/// subnormals).
#[inline(always)]
pub(crate) fn exp<const FMA: bool>(x: f32) -> f32 {
    // Adding 1.5 · 2²³ rounds to the nearest integer k and leaves k in the low bits of the sum: no float → int
    // conversion (which would not vectorise) is needed for 2^k.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = madd::<FMA>(x, std::f32::consts::LOG2_E, MAGIC);
    let k = t - MAGIC;
    let r = madd::<FMA>(k, 2.121_944_4e-4, madd::<FMA>(k, -0.693_359_4, x));
    let mut p = 1.987_569_1e-4;
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5] {
        p = madd::<FMA>(p, r, c);
    }
    let p = madd::<FMA>(p, r * r, r + 1.0);
    p * f32::from_bits(t.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23)
}

/// The logistic function `1 / (1 + e^−y)`.
#[inline(always)]
pub(crate) fn sigmoid<const FMA: bool>(y: f32) -> f32 {
    1.0 / (1.0 + exp::<FMA>(-y))
}

#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for j in 0..LANES {
            acc[j] += c[j];
        }
    }
    let mut s: f32 = chunks.remainder().iter().sum();
    for a in acc {
        s += a;
    }
    s
}

/// `Σ (x_i − c)(y_i − d)`.
#[inline(always)]
fn dot_centered(x: &[f32], c: f32, y: &[f32], d: f32) -> f32 {
    let mut acc = [0f32; LANES];
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut xc = x.chunks_exact(LANES);
    let mut yc = y.chunks_exact(LANES);
    for (a, b) in (&mut xc).zip(&mut yc) {
        for j in 0..LANES {
            acc[j] += (a[j] - c) * (b[j] - d);
        }
    }
    let mut s: f32 = xc.remainder().iter().zip(yc.remainder()).map(|(a, b)| (a - c) * (b - d)).sum();
    for a in acc {
        s += a;
    }
    s
}

/// Where one hidden layer's parameters live in a flat parameter buffer, and the layer's shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LnLayer {
    /// Offset of the bias `[E, width]`.
    pub bias: usize,
    /// Offset of the LayerNorm scale `[E, width]`.
    pub scale: usize,
    /// Offset of the LayerNorm shift `[E, width]`.
    pub shift: usize,
    /// Units.
    pub width: usize,
    /// Rows per member (the batch).
    pub rows: usize,
}

/// Where the forward pass saves what the backward pass needs (training); empty slices when not training.
#[derive(Debug)]
pub(crate) struct LnSaved<'a> {
    /// `σ(y)` per element, `y` being the LayerNorm output.
    pub sig: &'a mut [f32],
    /// `1 / √(var + ε)` per row.
    pub rstd: &'a mut [f32],
}

kernel! {
    /// One hidden layer's activation, forward: per row of member block `j` (rows `j·B … j·B + B`, parameters of
    /// member `members[j]`), `z ← z + bias`, `x̂ = (z − mean) / √(var + ε)`, `y = scale ⊙ x̂ + shift`,
    /// `h = y ⊙ σ(y)` (SiLU). With `saved`, `z` is overwritten by `x̂` and `σ(y)`, `1/√(var + ε)` are kept for
    /// [`bias_ln_silu_backward`]; without, `z` holds `z + bias` afterwards.
    pub(crate) fn bias_ln_silu_forward(
        params: &[f32],
        l: &LnLayer,
        members: &[i64],
        z: &mut [f32],
        h: &mut [f32],
        saved: Option<&mut LnSaved<'_>>,
    ) {
        let (n, b) = (l.width, l.rows);
        let inv_n = 1.0 / n as f32;
        let mut saved = saved;
        for (j, &e) in members.iter().enumerate() {
            let e = e as usize;
            let bias = &params[l.bias + e * n..][..n];
            let g = &params[l.scale + e * n..][..n];
            let be = &params[l.shift + e * n..][..n];
            for r in 0..b {
                let row = j * b + r;
                let zr = &mut z[row * n..][..n];
                let hr = &mut h[row * n..][..n];
                for (zi, bi) in zr.iter_mut().zip(bias) {
                    *zi += bi;
                }
                let mean = sum(zr) * inv_n;
                let var = dot_centered(zr, mean, zr, mean) * inv_n;
                let rstd = 1.0 / (var + LN_EPS).sqrt();
                match saved.as_deref_mut() {
                    Some(s) => {
                        let sr = &mut s.sig[row * n..][..n];
                        for i in 0..n {
                            let xh = (zr[i] - mean) * rstd;
                            let y = madd::<FMA>(g[i], xh, be[i]);
                            let sg = sigmoid::<FMA>(y);
                            hr[i] = y * sg;
                            zr[i] = xh;
                            sr[i] = sg;
                        }
                        s.rstd[row] = rstd;
                    }
                    None => {
                        for i in 0..n {
                            let y = madd::<FMA>(g[i], (zr[i] - mean) * rstd, be[i]);
                            hr[i] = y * sigmoid::<FMA>(y);
                        }
                    }
                }
            }
        }
    }
}

kernel! {
    /// One hidden layer's activation, backward, for all `E` members (`d: [E, B, width]`): on entry `d = ∂L/∂h`,
    /// on return `d = ∂L/∂z` (the pre-activation, before the bias). With SiLU `h = y σ(y)`:
    /// `∂L/∂y = ∂L/∂h · σ(y)(1 + y(1 − σ(y)))`; LayerNorm: `∂L/∂x̂ = scale ⊙ ∂L/∂y`,
    /// `∂L/∂z = rstd · (∂L/∂x̂ − mean(∂L/∂x̂) − x̂ · mean(∂L/∂x̂ ⊙ x̂))`. With `grad`, the bias, scale and shift
    /// gradients (`Σ_rows ∂L/∂z`, `Σ_rows ∂L/∂y ⊙ x̂`, `Σ_rows ∂L/∂y`) are written at their offsets.
    pub(crate) fn bias_ln_silu_backward(
        params: &[f32],
        l: &LnLayer,
        xhat: &[f32],
        sig: &[f32],
        rstd: &[f32],
        d: &mut [f32],
        grad: Option<&mut [f32]>,
    ) {
        let (n, b) = (l.width, l.rows);
        let inv_n = 1.0 / n as f32;
        let members = d.len() / (n * b).max(1);
        let mut grad = grad;
        let mut dbias = vec![0f32; n];
        let mut dscale = vec![0f32; n];
        let mut dshift = vec![0f32; n];
        for e in 0..members {
            let g = &params[l.scale + e * n..][..n];
            let be = &params[l.shift + e * n..][..n];
            dbias.fill(0.0);
            dscale.fill(0.0);
            dshift.fill(0.0);
            for r in 0..b {
                let row = e * b + r;
                let dr = &mut d[row * n..][..n];
                let xr = &xhat[row * n..][..n];
                let sr = &sig[row * n..][..n];
                for i in 0..n {
                    let y = madd::<FMA>(g[i], xr[i], be[i]);
                    let s = sr[i];
                    let dy = dr[i] * s * (1.0 + y * (1.0 - s));
                    dscale[i] += dy * xr[i];
                    dshift[i] += dy;
                    dr[i] = dy * g[i];
                }
                let m1 = sum(dr) * inv_n;
                let m2 = dot_centered(dr, 0.0, xr, 0.0) * inv_n;
                let rs = rstd[row];
                for i in 0..n {
                    let dz = rs * (dr[i] - m1 - xr[i] * m2);
                    dr[i] = dz;
                    dbias[i] += dz;
                }
            }
            if let Some(gr) = grad.as_deref_mut() {
                gr[l.bias + e * n..][..n].copy_from_slice(&dbias);
                gr[l.scale + e * n..][..n].copy_from_slice(&dscale);
                gr[l.shift + e * n..][..n].copy_from_slice(&dshift);
            }
        }
    }
}

/// `out[j·B + r, :] += bias[members[j], :]` for a linear head of `width` outputs.
pub(crate) fn add_bias(params: &[f32], bias: usize, width: usize, rows: usize, members: &[i64], out: &mut [f32]) {
    for (j, &e) in members.iter().enumerate() {
        let bv = &params[bias + e as usize * width..][..width];
        for r in 0..rows {
            for (o, b) in out[(j * rows + r) * width..][..width].iter_mut().zip(bv) {
                *o += b;
            }
        }
    }
}

/// Bias gradients of a linear head: `grad[bias + e·width + o] = Σ_r d[e, r, o]`.
pub(crate) fn head_bias_grad(d: &[f32], bias: usize, width: usize, rows: usize, grad: &mut [f32]) {
    let members = d.len() / (width * rows).max(1);
    for e in 0..members {
        let g = &mut grad[bias + e * width..][..width];
        g.fill(0.0);
        for r in 0..rows {
            for (gi, di) in g.iter_mut().zip(&d[(e * rows + r) * width..][..width]) {
                *gi += di;
            }
        }
    }
}

/// Scalars of one Adam step (as `torch.optim.Adam`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamStep {
    /// β₁.
    pub beta1: f32,
    /// β₂.
    pub beta2: f32,
    /// `lr / (1 − β₁ᵗ)`.
    pub step_size: f32,
    /// `√(1 − β₂ᵗ)`.
    pub bc2_sqrt: f32,
    /// ε.
    pub eps: f32,
}

kernel! {
    /// One Adam step over a flat buffer, the arithmetic of `torch.optim.Adam` (no weight decay, no amsgrad):
    /// `m ← m + (1 − β₁)(g − m)`, `v ← β₂ v + (1 − β₂) g²`, `θ ← θ − step_size · m / (√v / √(1 − β₂ᵗ) + ε)`;
    /// with `target = (θ', τ)`, then the Polyak update `θ' ← θ' + τ (θ − θ')` in the same call.
    pub(crate) fn adam(
        c: &AdamStep,
        grad: &[f32],
        param: &mut [f32],
        m: &mut [f32],
        v: &mut [f32],
        target: Option<(&mut [f32], f32)>,
    ) {
        let n = param.len();
        let (grad, m, v) = (&grad[..n], &mut m[..n], &mut v[..n]);
        let (w1, w2) = (1.0 - c.beta1, 1.0 - c.beta2);
        for i in 0..n {
            let g = grad[i];
            let mi = m[i] + w1 * (g - m[i]);
            let vi = v[i] * c.beta2 + (g * w2) * g;
            m[i] = mi;
            v[i] = vi;
            let denom = vi.sqrt() / c.bc2_sqrt + c.eps;
            param[i] -= mi / denom * c.step_size;
        }
        if let Some((t, tau)) = target {
            let t = &mut t[..n];
            for i in 0..n {
                t[i] += tau * (param[i] - t[i]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_library_to_two_tenths_of_a_micro() {
        let mut worst = 0f64;
        for i in -8700..=8800 {
            let x = i as f32 * 0.01;
            let want = (x as f64).exp();
            for got in [exp::<false>(x) as f64, exp::<true>(x) as f64] {
                worst = worst.max(((got - want) / want).abs());
            }
        }
        assert!(worst < 2e-7, "worst relative error {worst}");
        assert!(exp::<false>(-1e4) > 0.0 && exp::<false>(1e4).is_finite(), "clamped outside [-87, 88]");
    }

    #[test]
    fn reductions_cover_every_element_and_the_remainder() {
        let x: Vec<f32> = (0..37).map(|i| i as f32).collect();
        assert_eq!(sum(&x), (0..37).sum::<i32>() as f32);
        let want: f32 = x.iter().map(|v| (v - 1.0) * (v - 2.0)).sum();
        assert!((dot_centered(&x, 1.0, &x, 2.0) - want).abs() < 1e-2);
    }
}
