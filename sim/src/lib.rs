//! # sim
//!
//! The MuJoCo simulation of a corrigo cell, built from the cell config: the generated MJCF ([`mjcf`]), the
//! [`SimWorld`] stepped at 1 kHz with its mock clock, the drivers [`SimArm`] / [`SimGripper`], offscreen cameras
//! ([`SimCamera`], [`CameraRenderer`]), the tasks `reach` and `pick_cube` ([`Task`]), a scripted pick
//! ([`scripted::PickScript`]), and the `bench controller` figures (`bench`, behind the `bench` feature).
//!
//! Running the cell with the real-time controller:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let cfg: interfaces::CellConfig = unimplemented_config();
//! let mut cell = sim::SimCell::new(&cfg)?;
//! let front = cell.camera("front")?;                // a `Send` camera on its own render thread
//! let mut observer = cell.observer();              // cube pose etc., wait-free
//! let (arm, gripper, clock) = cell.into_parts();
//! let core = controller::core::ControllerCore::new(&cfg, arm)?;
//! let handle = controller::rt::spawn(core, Some(gripper), cfg.gripper, clock,
//!                                    controller::rt::LoopOptions::from_config(&cfg))?;
//! # let _ = (front, observer.latest(), handle.latest_state());
//! # Ok(()) }
//! # fn unimplemented_config() -> interfaces::CellConfig { panic!() }
//! ```

#[cfg(feature = "bench")]
pub mod bench;
pub mod camera;
pub mod drivers;
pub mod emulators;
pub mod env;
pub mod mjcf;
pub mod scripted;
pub mod task;
pub mod world;

pub use camera::{CameraRenderer, SimCamera};
pub use drivers::{SimArm, SimGripper};
pub use env::SimEnv;
pub use task::Task;
pub use world::{SceneLink, SimError, SimWorld, SnapshotReader, WorldSnapshot};

use interfaces::config::CameraConfig;
use interfaces::{CellConfig, MockClock};

/// The simulated cell, assembled from a config: call [`camera`](Self::camera) and [`observer`](Self::observer)
/// for what other threads need, then [`into_parts`](Self::into_parts) to hand the drivers to the controller.
#[derive(Debug)]
pub struct SimCell {
    cfg: CellConfig,
    arm: SimArm,
    gripper: SimGripper,
}

impl interfaces::drivers::SimCameras for SimCell {
    fn open_camera(&mut self, cfg: &CameraConfig) -> Result<Box<dyn interfaces::drivers::Camera>, String> {
        self.world_mut().open_camera(cfg)
    }
}

impl SimCell {
    /// Builds the world of `cfg` and its drivers.
    pub fn new(cfg: &CellConfig) -> Result<Self, SimError> {
        let mut world = SimWorld::new(cfg)?;
        let gripper = SimGripper::connect(&mut world);
        Ok(Self { cfg: cfg.clone(), arm: SimArm::new(world), gripper })
    }

    /// Starts the camera `name` of `[[cameras]]` (a `sim` source) at its capture size.
    pub fn camera(&mut self, name: &str) -> Result<SimCamera, SimError> {
        let c = self
            .cfg
            .cameras
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| SimError::Missing { kind: "camera in [[cameras]]", name: name.to_string() })?;
        let c = c.clone();
        camera::spawn_for(self.arm.world_mut(), &c)
    }

    /// A wait-free view of the world (cube pose, gripper, time) for another thread.
    pub fn observer(&mut self) -> SnapshotReader {
        self.arm.world_mut().subscribe()
    }

    /// A scene editor (cube placement) usable while the control loop owns the world.
    pub fn scene_link(&mut self) -> SceneLink {
        self.arm.world_mut().scene_link()
    }

    /// The world.
    pub fn world(&self) -> &SimWorld {
        self.arm.world()
    }
    /// The world, mutable (resets, tasks).
    pub fn world_mut(&mut self) -> &mut SimWorld {
        self.arm.world_mut()
    }

    /// The arm driver, the gripper driver and the world's clock (give the clock to the controller loop).
    pub fn into_parts(self) -> (SimArm, SimGripper, MockClock) {
        let clock = self.arm.world().clock().clone();
        (self.arm, self.gripper, clock)
    }
}
