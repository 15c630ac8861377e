//! Host memory of CPU tensors as Rust slices, for the fused kernels. The one place in the learner that reads and
//! writes libtorch storage directly: every tensor is checked to be a contiguous f32 CPU tensor, and the write
//! slices are checked not to overlap each other or any read slice, so the kernels get ordinary `&[f32]` /
//! `&mut [f32]` with Rust's aliasing guarantees.
#![allow(unsafe_code)]

use tch::{Device, Kind, Tensor};

fn range(t: &Tensor, role: &str) -> (*mut f32, usize) {
    assert!(
        t.defined() && t.device() == Device::Cpu && t.kind() == Kind::Float && t.is_contiguous(),
        "fused kernel {role} tensor must be a contiguous f32 CPU tensor (got {:?} {:?} {:?})",
        t.kind(),
        t.device(),
        t.size()
    );
    (t.data_ptr() as *mut f32, t.numel())
}

fn overlaps(a: (*mut f32, usize), b: (*mut f32, usize)) -> bool {
    let (a0, b0) = (a.0 as usize, b.0 as usize);
    let (a1, b1) = (a0 + a.1 * 4, b0 + b.1 * 4);
    a.1 > 0 && b.1 > 0 && a0 < b1 && b0 < a1
}

/// Runs `f` on the host memory of `reads` (shared slices) and `writes` (exclusive slices), in the order given.
///
/// Panics when a tensor is not a contiguous f32 CPU tensor, or when a write tensor's memory overlaps another
/// tensor's: both are programming errors of the caller, not conditions of the data. `f` must not run tensor
/// operations on these tensors (it only sees slices; the learner is single-threaded, so nothing else touches them).
pub(crate) fn with_host<R>(
    reads: &[&Tensor],
    writes: &[&Tensor],
    f: impl FnOnce(&[&[f32]], &mut [&mut [f32]]) -> R,
) -> R {
    let r: Vec<_> = reads.iter().map(|t| range(t, "input")).collect();
    let w: Vec<_> = writes.iter().map(|t| range(t, "output")).collect();
    for (i, &wi) in w.iter().enumerate() {
        for &other in w.iter().skip(i + 1).chain(r.iter()) {
            assert!(!overlaps(wi, other), "fused kernel output {i} overlaps another tensor");
        }
    }
    // SAFETY: each pointer is the data of a live, contiguous f32 tensor of `len` elements (checked above); the
    // tensors are borrowed for the whole call, so their storage outlives the slices; no write range overlaps any
    // other range (checked above), so the `&mut` slices are exclusive; nothing else accesses the storage meanwhile
    // (single-threaded learner, and `f` receives only the slices).
    // An empty tensor may have no storage (a null pointer): it gets an empty slice.
    let rs: Vec<&[f32]> = r
        .iter()
        .map(|&(p, n)| if n == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(p as *const f32, n) } })
        .collect();
    let mut ws: Vec<&mut [f32]> = w
        .iter()
        .map(|&(p, n)| if n == 0 { &mut [][..] } else { unsafe { std::slice::from_raw_parts_mut(p, n) } })
        .collect();
    f(&rs, &mut ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_reach_the_tensor() {
        let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
        let b = Tensor::zeros([3], tch::kind::FLOAT_CPU);
        with_host(&[&a], &[&b], |r, w| {
            for (o, i) in w[0].iter_mut().zip(r[0]) {
                *o = i * 2.0;
            }
        });
        assert_eq!(Vec::<f32>::try_from(&b).expect("values"), vec![2.0, 4.0, 6.0]);
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn overlapping_views_are_refused() {
        let a = Tensor::zeros([8], tch::kind::FLOAT_CPU);
        let (x, y) = (a.narrow(0, 0, 5), a.narrow(0, 4, 4));
        with_host(&[&x], &[&y], |_, _| ());
    }

    #[test]
    #[should_panic(expected = "contiguous f32 CPU")]
    fn non_contiguous_tensors_are_refused() {
        let a = Tensor::zeros([4, 4], tch::kind::FLOAT_CPU).transpose(0, 1);
        with_host(&[&a], &[], |_, _| ());
    }
}
