//! Writing a batch straight into a (pinned) host tensor's memory: one copy from the replay columns, no
//! intermediate `Vec` and no per-item tensors.
#![allow(unsafe_code)]

use tch::{Device, Kind, Tensor};

/// Element types a host tensor may be filled with.
pub(crate) trait HostElement: Copy {
    const KIND: Kind;
}
impl HostElement for f32 {
    const KIND: Kind = Kind::Float;
}
impl HostElement for u8 {
    const KIND: Kind = Kind::Uint8;
}
impl HostElement for i64 {
    const KIND: Kind = Kind::Int64;
}

/// A contiguous CPU tensor owned by this module, exposed as a mutable slice.
#[derive(Debug)]
pub(crate) struct HostTensor {
    tensor: Tensor,
    numel: usize,
}

impl HostTensor {
    /// Allocates `shape` of `T` on the host; page-locked (pinned) when `pin_for` is a CUDA device, so the copy to
    /// that device is a DMA transfer.
    pub fn new<T: HostElement>(shape: &[i64], pin_for: Device) -> Self {
        let t = Tensor::empty(shape, (T::KIND, Device::Cpu));
        let tensor = if pin_for.is_cuda() { t.pin_memory(pin_for) } else { t };
        let numel = shape.iter().product::<i64>().max(0) as usize;
        Self { tensor, numel }
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.numel
    }

    /// The tensor's elements.
    pub fn slice_mut<T: HostElement>(&mut self) -> &mut [T] {
        assert_eq!(self.tensor.kind(), T::KIND, "host tensor kind");
        if self.numel == 0 {
            return &mut [];
        }
        // SAFETY: `tensor` was allocated by `new` as a contiguous CPU tensor of `numel` elements of kind `T::KIND`
        // (checked above); it is private to this struct and never shared (callers only get copies via `to_device`
        // or `copy`), and the returned slice borrows `self` mutably, so no other reference to its memory exists
        // while the slice lives.
        unsafe { std::slice::from_raw_parts_mut(self.tensor.data_ptr() as *mut T, self.numel) }
    }

    /// A copy on `device` (a blocking copy from pinned memory on CUDA; a fresh copy on the CPU).
    pub fn to_device(&self, device: Device) -> Tensor {
        if device.is_cuda() { self.tensor.to_device(device) } else { self.tensor.copy() }
    }

    /// Hands the tensor itself out (the buffer is consumed).
    pub fn into_tensor(self) -> Tensor {
        self.tensor
    }
}
