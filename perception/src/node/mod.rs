//! The camera node: one named thread per camera (`camera-<name>`), a stale watchdog (`camera-watchdog`), frames
//! published on the bus.
//!
//! Per camera, on `corrigo/<cell>/camera/<name>/frame` ([`interfaces::keys::FRAME`]): the policy image (crop →
//! area resize → RGB8, or JPEG when `jpeg_quality` is set) of every new capture, stamped with its capture time;
//! on `corrigo/<cell>/camera/<name>/full` ([`crate::FULL_FRAME`]): the whole image at `full_frame_hz`. Camera
//! events (stale, reopened, ended, failed) go to `corrigo/<cell>/camera/event`.

mod capture;
mod events;
mod health;
mod watchdog;

pub use capture::{INITIAL_BACKOFF, MAX_BACKOFF};
pub use events::NODE;
pub use health::{CameraHealth, CameraState, CameraStatus};

use crate::error::PerceptionError;
use crate::pipeline::Pipeline;
use crate::source::{SourceOpener, opener_for};
use crate::topics::FULL_FRAME;
use bus::{Bus, NodeToken};
use capture::CaptureLoop;
use events::CameraEvents;
use interfaces::CellConfig;
use interfaces::config::CameraConfig;
use interfaces::drivers::SimCameras;
use interfaces::keys::FRAME;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The caller's stop flag and the node's own (set by [`CameraNode::shutdown`] and on drop).
#[derive(Debug, Clone)]
pub(crate) struct StopFlags {
    external: Arc<AtomicBool>,
    own: Arc<AtomicBool>,
}

impl StopFlags {
    pub(crate) fn is_set(&self) -> bool {
        self.external.load(Ordering::Acquire) || self.own.load(Ordering::Acquire)
    }
}

/// Starts the camera node of a cell: every `[[cameras]]` entry gets its thread, publishing on the bus until
/// `stop` is set (or the returned [`CameraNode`] is shut down or dropped).
///
/// `sim_cell` provides the cameras of `sim` sources (the simulated cell of this process: `sim::SimCell` or
/// `sim::SimWorld`, through [`SimCameras`]); a config with a `sim`
/// camera and no cell fails with [`PerceptionError::NoSimulation`]. A device or stream that cannot be opened yet
/// is not an error here: its thread reports it and retries with backoff.
pub fn run_camera_node(
    bus: &Bus,
    cfg: &CellConfig,
    stop: Arc<AtomicBool>,
    mut sim_cell: Option<&mut dyn SimCameras>,
) -> Result<CameraNode, PerceptionError> {
    let mut builder = CameraNode::builder(bus, stop);
    for c in &cfg.cameras {
        // A reborrow for this camera (its trait object's lifetime shortened to the loop body's).
        let cell: Option<&mut dyn SimCameras> = match sim_cell.as_mut() {
            Some(cell) => Some(&mut **cell),
            None => None,
        };
        let opener = opener_for(c, cell)?;
        builder = builder.camera(c.clone(), opener);
    }
    builder.spawn()
}

/// Collects cameras and their source openers, then starts them ([`CameraNode::builder`]).
pub struct CameraNodeBuilder {
    bus: Bus,
    stop: Arc<AtomicBool>,
    cameras: Vec<(CameraConfig, SourceOpener)>,
}

impl std::fmt::Debug for CameraNodeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.cameras.iter().map(|(c, _)| c.name.as_str()).collect();
        f.debug_struct("CameraNodeBuilder").field("cameras", &names).finish()
    }
}

impl CameraNodeBuilder {
    /// Adds a camera whose images come from `opener` (see [`crate::opener_for`], or any custom source).
    pub fn camera(mut self, cfg: CameraConfig, opener: SourceOpener) -> Self {
        self.cameras.push((cfg, opener));
        self
    }

    /// Declares the publishers and starts the threads.
    pub fn spawn(self) -> Result<CameraNode, PerceptionError> {
        let own = Arc::new(AtomicBool::new(false));
        let stop = StopFlags { external: self.stop, own: own.clone() };
        let events = Arc::new(CameraEvents::declare(&self.bus)?);
        let token = self.bus.announce(NODE)?;
        let mut node = CameraNode { cameras: Vec::new(), watchdog: None, own, _token: token };
        for (cfg, opener) in self.cameras {
            let frames = self.bus.publisher(FRAME, Some(&cfg.name))?;
            let full =
                if cfg.full_frame_hz > 0.0 { Some(self.bus.publisher(FULL_FRAME, Some(&cfg.name))?) } else { None };
            let health = Arc::new(CameraHealth::new(&cfg.name, Duration::from_secs_f64(cfg.stale_ms * 1e-3)));
            let thread = format!("camera-{}", cfg.name);
            let l = CaptureLoop {
                pipeline: Pipeline::new(&cfg),
                cfg,
                opener,
                frames,
                full,
                events: events.clone(),
                health: health.clone(),
                stop: stop.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(thread.clone())
                .spawn(move || l.run())
                .map_err(|e| PerceptionError::Thread { thread, reason: e.to_string() })?;
            node.cameras.push(CameraHandle { health, thread: Some(handle) });
        }
        let healths: Vec<_> = node.cameras.iter().map(|c| c.health.clone()).collect();
        let thread = "camera-watchdog".to_string();
        node.watchdog = Some(
            std::thread::Builder::new()
                .name(thread.clone())
                .spawn(move || watchdog::run(healths, events, stop))
                .map_err(|e| PerceptionError::Thread { thread, reason: e.to_string() })?,
        );
        Ok(node)
    }
}

#[derive(Debug)]
struct CameraHandle {
    health: Arc<CameraHealth>,
    thread: Option<JoinHandle<()>>,
}

/// A running camera node. Dropping it stops and joins its threads (a thread blocked in a device read finishes
/// when the read returns or times out).
#[derive(Debug)]
pub struct CameraNode {
    cameras: Vec<CameraHandle>,
    watchdog: Option<JoinHandle<()>>,
    own: Arc<AtomicBool>,
    _token: NodeToken,
}

impl CameraNode {
    /// A builder for a node with custom sources (tests, benchmarks, other backends).
    pub fn builder(bus: &Bus, stop: Arc<AtomicBool>) -> CameraNodeBuilder {
        CameraNodeBuilder { bus: bus.clone(), stop, cameras: Vec::new() }
    }

    /// Status of every camera, in config order.
    pub fn status(&self) -> Vec<CameraStatus> {
        self.cameras.iter().map(|c| c.health.status()).collect()
    }

    /// Status of camera `name`.
    pub fn camera_status(&self, name: &str) -> Option<CameraStatus> {
        self.cameras.iter().find(|c| c.health.name() == name).map(|c| c.health.status())
    }

    /// True when every camera thread has finished (file ended, failed for good, or stopped).
    pub fn all_finished(&self) -> bool {
        self.cameras.iter().all(|c| c.health.state().is_finished())
    }

    /// Stops the threads and waits for them.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.own.store(true, Ordering::Release);
        for c in &mut self.cameras {
            if let Some(t) = c.thread.take()
                && t.join().is_err()
            {
                tracing::error!(camera = %c.health.name(), "camera thread panicked");
            }
        }
        if let Some(w) = self.watchdog.take() {
            let _ = w.join();
        }
    }
}

impl Drop for CameraNode {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
