//! Publishes the simulated cell's cameras on the bus (`camera/<name>/frame`), one named thread per camera at
//! the camera's configured rate. Frames carry the simulated capture time and a per-camera sequence number.

use anyhow::{Context, Result};
use bus::Bus;
use interfaces::CellConfig;
use interfaces::config::CameraSource;
use interfaces::drivers::Camera;
use interfaces::keys::FRAME;
use interfaces::msg::{Frame, Header, PixelEncoding};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Starts one publisher thread per `sim` camera of `cfg`, rendering `cell`'s world.
pub fn spawn_sim_cameras(
    bus: &Bus,
    cfg: &CellConfig,
    cell: &mut sim::SimCell,
    stop: Arc<AtomicBool>,
) -> Result<Vec<JoinHandle<()>>> {
    spawn_for_world(bus, cfg, cell.world_mut(), stop)
}

/// Starts one publisher thread per `sim` camera of `cfg`, rendering what `world` shows (its snapshots, at the
/// camera's configured capture size and rate; the renderers run on their own threads).
pub fn spawn_for_world(
    bus: &Bus,
    cfg: &CellConfig,
    world: &mut sim::SimWorld,
    stop: Arc<AtomicBool>,
) -> Result<Vec<JoinHandle<()>>> {
    let mut threads = Vec::new();
    for c in &cfg.cameras {
        let CameraSource::Sim { camera } = &c.source else { continue };
        let model = world.model().clone();
        let reader = world.subscribe();
        let cam = sim::SimCamera::spawn(&c.name, model, camera, c.capture_width, c.capture_height, reader)
            .with_context(|| format!("starting sim camera `{}`", c.name))?;
        threads.push(spawn_publisher(bus, &c.name, c.fps, cam, stop.clone())?);
    }
    Ok(threads)
}

/// Camera publisher threads that stop when this is dropped (however their owner returns).
#[derive(Debug)]
pub struct OwnedCameras {
    stop: Arc<AtomicBool>,
    _threads: Vec<JoinHandle<()>>,
}

impl Drop for OwnedCameras {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// [`spawn_for_world`] with its own stop flag, set when the returned [`OwnedCameras`] is dropped; no cameras
/// unless `enabled`.
pub fn spawn_owned(bus: &Bus, cfg: &CellConfig, world: &mut sim::SimWorld, enabled: bool) -> Result<OwnedCameras> {
    let stop = Arc::new(AtomicBool::new(false));
    let threads = if enabled { spawn_for_world(bus, cfg, world, stop.clone())? } else { Vec::new() };
    Ok(OwnedCameras { stop, _threads: threads })
}

/// Publishes the frames of `cam` as camera `name` at `fps` until `stop` is set or the camera fails.
pub fn spawn_publisher(
    bus: &Bus,
    name: &str,
    fps: f64,
    mut cam: impl Camera + 'static,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    let mut publisher = bus.publisher::<Frame>(FRAME, Some(name))?;
    let period = Duration::from_secs_f64(1.0 / fps);
    let name = name.to_string();
    std::thread::Builder::new()
        .name(format!("publish-{name}"))
        .spawn(move || {
            let mut pacer = super::pacer::Pacer::new(period);
            while !stop.load(Ordering::Acquire) {
                match cam.grab() {
                    Ok(img) => {
                        let mut f = Frame {
                            header: Header { seq: 0, stamp_ns: img.stamp },
                            camera: name.clone(),
                            width: img.width,
                            height: img.height,
                            encoding: PixelEncoding::Rgb8,
                            data: img.rgb,
                        };
                        if let Err(e) = publisher.publish(&mut f) {
                            tracing::warn!(camera = %name, "cannot publish frame: {e}");
                        }
                    }
                    Err(e) => {
                        tracing::error!(camera = %name, "camera failed: {e}");
                        return;
                    }
                }
                pacer.wait();
            }
        })
        .context("starting a camera thread")
}
