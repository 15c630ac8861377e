//! Topics of the camera node beyond [`interfaces::keys::FRAME`].

use interfaces::keys::{Topic, TopicClass};

/// Full (uncropped, unresized) camera images for the operator panel, one key per camera, at the camera's
/// `full_frame_hz`: `corrigo/<cell>/camera/<camera>/full` ([`interfaces::msg::Frame`]).
pub const FULL_FRAME: Topic = Topic { node: "camera", name: "{}/full", class: TopicClass::Frames };
