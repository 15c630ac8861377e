//! Offscreen cameras of the simulated cell, rendered by MuJoCo's own renderer through headless EGL (Mesa's
//! software device on machines without a GPU; no window system needed).

use crate::world::{SimError, SnapshotReader, WorldSnapshot};
use interfaces::config::{CameraConfig, CameraSource};
use interfaces::drivers::{Camera, DriverError, Image};
use mujoco_rs::prelude::*;
use mujoco_rs::renderer::MjRenderer;
use std::sync::Arc;
use std::sync::mpsc;

/// Renders one camera of the model. Holds an OpenGL context, so it is **not `Send`**: create it on the thread
/// that renders (see [`SimCamera`] for a `Send` camera with its own render thread).
#[derive(Debug)]
pub struct CameraRenderer {
    name: String,
    data: MjData<Arc<MjModel>>,
    renderer: MjRenderer,
    width: u32,
    height: u32,
}

impl CameraRenderer {
    /// A `width`×`height` RGB renderer of the model's camera `camera`.
    pub fn new(model: Arc<MjModel>, camera: &str, width: u32, height: u32) -> Result<Self, SimError> {
        let cam = model
            .name_to_id(MjtObjBase::mjOBJ_CAMERA, camera)
            .ok_or_else(|| SimError::Missing { kind: "camera", name: camera.to_string() })?;
        let renderer = MjRenderer::builder()
            .width(width)
            .height(height)
            .camera(MjvCamera::new_fixed(cam))
            .build(&model)
            .map_err(|e| SimError::Render { camera: camera.to_string(), detail: e.to_string() })?;
        let data = MjData::new(model);
        Ok(Self { name: camera.to_string(), data, renderer, width, height })
    }

    /// Renders the world as it was in `snap`; returns row-major RGB8 pixels (`width·height·3` bytes).
    pub fn render(&mut self, snap: &WorldSnapshot) -> Result<&[u8], SimError> {
        let nq = self.data.qpos().len().min(snap.nq);
        self.data.qpos_mut()[..nq].copy_from_slice(&snap.qpos[..nq]);
        // Rendering needs only the poses of bodies, geoms, cameras and lights: kinematics and camera/light
        // placement, not the rest of the position stage (collision detection, constraints).
        self.data.kinematics();
        self.data.camlight();
        let err = |e: mujoco_rs::renderer::RendererError| SimError::Render {
            camera: self.name.clone(),
            detail: e.to_string(),
        };
        self.renderer.sync_data(&mut self.data).map_err(err)?;
        self.renderer.render().map_err(|e| SimError::Render { camera: self.name.clone(), detail: e.to_string() })?;
        self.renderer
            .rgb_flat()
            .ok_or_else(|| SimError::Render { camera: self.name.clone(), detail: "RGB output disabled".into() })
    }

    /// Renders `snap` into an [`Image`] stamped with the snapshot's time.
    pub fn render_image(&mut self, snap: &WorldSnapshot) -> Result<Image, SimError> {
        let (width, height) = (self.width, self.height);
        let rgb = self.render(snap)?.to_vec();
        Ok(Image { stamp: snap.stamp, width, height, rgb })
    }
    /// Camera name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Image width, pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Image height, pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
}

type Reply = Result<Image, String>;

/// A simulated camera implementing [`Camera`]: a named thread (`camera-<name>`) owns the renderer and renders
/// the world's newest snapshot on every [`Camera::grab`] (which blocks until the image is ready).
#[derive(Debug)]
pub struct SimCamera {
    name: String,
    requests: mpsc::SyncSender<()>,
    replies: mpsc::Receiver<Reply>,
}

impl SimCamera {
    /// Starts the render thread for the model's camera `camera` at `width`×`height`, reading `snapshots`.
    /// Fails when the camera does not exist or no offscreen context can be created.
    pub fn spawn(
        name: &str,
        model: Arc<MjModel>,
        camera: &str,
        width: u32,
        height: u32,
        mut snapshots: SnapshotReader,
    ) -> Result<Self, SimError> {
        let (req_tx, req_rx) = mpsc::sync_channel::<()>(1);
        let (rep_tx, rep_rx) = mpsc::sync_channel::<Reply>(1);
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), SimError>>(1);
        let camera_name = camera.to_string();
        std::thread::Builder::new()
            .name(format!("camera-{name}"))
            .spawn(move || {
                let mut r = match CameraRenderer::new(model, &camera_name, width, height) {
                    Ok(r) => {
                        let _ = ready_tx.send(Ok(()));
                        r
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while req_rx.recv().is_ok() {
                    let snap = snapshots.latest();
                    let reply = r.render_image(&snap).map_err(|e| e.to_string());
                    if rep_tx.send(reply).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| SimError::Render {
                camera: camera.to_string(),
                detail: format!("cannot start thread: {e}"),
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self { name: name.to_string(), requests: req_tx, replies: rep_rx }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(SimError::Render { camera: camera.to_string(), detail: "render thread ended".into() }),
        }
    }
}

impl Camera for SimCamera {
    fn name(&self) -> &str {
        &self.name
    }
    fn grab(&mut self) -> Result<Image, DriverError> {
        let gone = || DriverError::Disconnected {
            device: format!("sim-camera:{}", self.name),
            detail: "render thread ended".into(),
        };
        self.requests.send(()).map_err(|_| gone())?;
        match self.replies.recv() {
            Ok(Ok(img)) => Ok(img),
            Ok(Err(detail)) => Err(DriverError::HardwareFault {
                device: format!("sim-camera:{}", self.name),
                unit: "renderer".into(),
                detail,
            }),
            Err(_) => Err(gone()),
        }
    }
}

/// Starts the camera of `cfg` (a `sim` source) at its capture size, rendering `world`'s snapshots.
pub fn spawn_for(world: &mut crate::SimWorld, cfg: &CameraConfig) -> Result<SimCamera, SimError> {
    let CameraSource::Sim { camera } = &cfg.source else {
        return Err(SimError::Missing { kind: "sim camera source for", name: cfg.name.clone() });
    };
    let model = world.model().clone();
    let reader = world.subscribe();
    SimCamera::spawn(&cfg.name, model, camera, cfg.capture_width, cfg.capture_height, reader)
}

impl interfaces::drivers::SimCameras for crate::SimWorld {
    fn open_camera(&mut self, cfg: &CameraConfig) -> Result<Box<dyn Camera>, String> {
        spawn_for(self, cfg).map(|c| Box::new(c) as Box<dyn Camera>).map_err(|e| e.to_string())
    }
}
