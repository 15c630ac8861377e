//! Networks on libtorch: flat parameter groups and Adam, MLPs with LayerNorm, the batched critic ensemble, image
//! encoders (small CNN, ResNet-10), DrQ augmentation, the seeded RNG, safetensors I/O.

pub mod adam;
pub mod augment;
pub mod encoder;
pub mod fused;
pub mod layers;
pub mod params;
pub mod resnet10;
pub mod rng;
pub mod weights;

pub use adam::Adam;
pub use encoder::Encoders;
pub use layers::{EnsembleMlp, Mlp};
pub use params::{Init, ParamBuilder, ParamGroup};
pub use rng::Rng;
