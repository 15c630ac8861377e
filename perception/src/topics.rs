//! Topics of the camera node beyond [`interfaces::keys::FRAME`].

/// Full (uncropped, unresized) camera images for the operator panel: `corrigo/<cell>/camera/<camera>/full`
/// (declared with its message type in [`interfaces::keys`]).
pub use interfaces::keys::FULL_FRAME;
