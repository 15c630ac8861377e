//! The camera node end to end: real `VideoCapture` on written videos, failing and stalling sources, the
//! simulated cameras, all through the pipeline and the bus.

mod faults;
mod http_stream;
mod sim_cameras;
mod support;
mod video_files;
