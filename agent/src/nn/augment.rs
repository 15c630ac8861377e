//! DrQ random-shift augmentation on the device: each image is shifted by an integer offset in `[-pad, pad]` per
//! axis with edge replication — the same result as replicate-padding by `pad` and cropping at a random corner —
//! done as two index gathers on the uint8 batch (no padding buffer, no per-image ops).

use crate::nn::rng::Rng;
use tch::{Kind, Tensor};

/// Shifts every image of `imgs` (`[B, H, W, C]` u8, any device) by its own random offset; returns a new tensor.
pub fn random_shift(imgs: &Tensor, pad: i64, rng: &mut Rng) -> Tensor {
    let s = imgs.size();
    let (b, h, w, c) = (s[0], s[1], s[2], s[3]);
    let dev = imgs.device();
    let dy = rng.ints(b as usize, 2 * pad, dev) - pad;
    let dx = rng.ints(b as usize, 2 * pad, dev) - pad;
    let rows = (Tensor::arange(h, (Kind::Int64, dev)).unsqueeze(0) + dy.unsqueeze(1)).clamp(0, h - 1);
    let cols = (Tensor::arange(w, (Kind::Int64, dev)).unsqueeze(0) + dx.unsqueeze(1)).clamp(0, w - 1);
    let out = imgs.gather(1, &rows.view([b, h, 1, 1]).expand([b, h, w, c], false), false);
    out.gather(2, &cols.view([b, 1, w, 1]).expand([b, h, w, c], false), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_equals_replicate_pad_then_crop() {
        let imgs = Tensor::arange(2 * 5 * 6 * 3, (Kind::Int64, tch::Device::Cpu)).remainder(251).to_kind(Kind::Uint8);
        let imgs = imgs.view([2, 5, 6, 3]);
        let mut rng = Rng::new(3);
        let mut probe = rng.clone();
        let out = random_shift(&imgs, 2, &mut rng);
        let dy: Vec<i64> = Vec::try_from(probe.ints(2, 4, tch::Device::Cpu)).expect("ints");
        let dx: Vec<i64> = Vec::try_from(probe.ints(2, 4, tch::Device::Cpu)).expect("ints");
        // reference: replicate pad (as float), crop at (dy, dx)
        let padded = imgs.permute([0, 3, 1, 2]).to_kind(Kind::Float).pad([2, 2, 2, 2], "replicate", None);
        for i in 0..2 {
            let crop = padded.get(i).narrow(1, dy[i as usize], 5).narrow(2, dx[i as usize], 6);
            let got = out.get(i).permute([2, 0, 1]).to_kind(Kind::Float);
            assert!(crop.equal(&got), "image {i}: shift ({}, {})", dy[i as usize], dx[i as usize]);
        }
    }
}
