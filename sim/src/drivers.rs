//! [`SimArm`] and [`SimGripper`]: the simulated cell behind the `interfaces` driver traits.

use crate::world::{GripperLink, SimWorld};
use interfaces::drivers::{ArmDriver, ArmInfo, DriverError, GripperDriver, JointState, JointVec};
use interfaces::msg::{GripperCommand, GripperState};

/// The simulated arm. It owns the [`SimWorld`]: every [`ArmDriver::write_torque`] applies the torques and advances
/// the physics by one step (and the world's mock clock by one timestep), so one control cycle is one physics
/// step. [`ArmDriver::safe_stop`] engages the brakes and advances one step. The arm does not compensate gravity
/// (`gravity_compensated = false`): the controller adds `g(q)`. Never fails; real-time safe (MuJoCo's step does
/// not allocate after start-up).
#[derive(Debug)]
pub struct SimArm {
    world: SimWorld,
    info: ArmInfo,
}

impl SimArm {
    /// The arm of `world`.
    pub fn new(world: SimWorld) -> Self {
        let info = ArmInfo { name: "sim".into(), dof: world.dof(), gravity_compensated: false };
        Self { world, info }
    }
    /// The world.
    pub fn world(&self) -> &SimWorld {
        &self.world
    }
    /// The world, mutable (scene resets, tasks).
    pub fn world_mut(&mut self) -> &mut SimWorld {
        &mut self.world
    }
    /// Gives the world back.
    pub fn into_world(self) -> SimWorld {
        self.world
    }
}

impl ArmDriver for SimArm {
    fn info(&self) -> &ArmInfo {
        &self.info
    }
    fn read_state(&mut self) -> Result<JointState, DriverError> {
        Ok(self.world.joint_state())
    }
    fn write_torque(&mut self, tau: &JointVec) -> Result<(), DriverError> {
        self.world.step(tau);
        Ok(())
    }
    fn safe_stop(&mut self) -> Result<(), DriverError> {
        self.world.step_braked();
        Ok(())
    }
}

/// The simulated gripper, usable from another thread than the world's: commands and state cross through
/// wait-free latest-value cells, and the world applies the newest command at its next step. The fingers move to
/// the commanded width with a position loop whose force saturates at the commanded force limit.
#[derive(Debug)]
pub struct SimGripper {
    link: GripperLink,
    seq: u64,
}

impl SimGripper {
    /// Connects a gripper front-end to `world` (replacing an earlier one).
    pub fn connect(world: &mut SimWorld) -> Self {
        Self { link: world.gripper_link(), seq: 0 }
    }
}

impl GripperDriver for SimGripper {
    fn command(&mut self, cmd: GripperCommand) -> Result<(), DriverError> {
        if !(cmd.width.is_finite() && cmd.force.is_finite() && cmd.force >= 0.0) {
            return Err(DriverError::InvalidCommand {
                device: "sim-gripper".into(),
                detail: format!("width {} m, force {} N", cmd.width, cmd.force),
            });
        }
        self.seq += 1;
        self.link.commands.write((self.seq, cmd));
        Ok(())
    }
    fn read(&mut self) -> Result<GripperState, DriverError> {
        Ok(*self.link.state.read())
    }
}
