//! `corrigo teleop`: an input device publishes end-effector twists and episode controls on the bus.

use super::common::{BusArgs, ConfigArg, open_bus, stop_flag};
use anyhow::Result;
use clap::{Args, ValueEnum};
use corrigo_app::exit;
use teleop::DeviceChoice;

/// `--device`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceArg {
    // A 3Dconnexion SpaceMouse.
    Spacemouse,
    // The first gamepad.
    Gamepad,
    // The keyboard of the terminal.
    Keyboard,
    // A leader arm (`[teleop.leader]`).
    Leader,
}

impl From<DeviceArg> for DeviceChoice {
    fn from(d: DeviceArg) -> Self {
        match d {
            DeviceArg::Spacemouse => DeviceChoice::SpaceMouse,
            DeviceArg::Gamepad => DeviceChoice::Gamepad,
            DeviceArg::Keyboard => DeviceChoice::Keyboard,
            DeviceArg::Leader => DeviceChoice::Leader,
        }
    }
}

/// Arguments of `corrigo teleop`.
#[derive(Args, Debug)]
#[command(mut_arg("connect", |a| a.help(
    "Bus endpoints to connect to (overrides the config's bus.connect), e.g. the robot's machine"
)))]
pub struct TeleopArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// The input device: spacemouse, gamepad, keyboard or leader (a leader arm, `[teleop.leader]`).
    #[arg(long, value_enum, default_value_t = DeviceArg::Spacemouse)]
    device: DeviceArg,
    #[command(flatten)]
    bus: BusArgs,
}

/// Runs `corrigo teleop` until Ctrl-C; returns the exit code.
pub fn run(args: TeleopArgs) -> Result<i32> {
    let cfg = args.bus.load(&args.cfg)?;
    let stop = stop_flag()?;
    let bus = open_bus(&cfg)?;
    // The `<node>` of its e-stop key: the certificate's name under the secure profile (the only `<node>/estop` it
    // may put), the node's kind otherwise.
    let node = if cfg.bus.security.enabled { cfg.bus.security.node.as_str() } else { "teleop" };
    let r = teleop::run_teleop_node(&bus, &cfg.teleop, args.device.into(), cfg.task.policy_hz, node, &stop)?;
    println!(
        "teleop: {} commands, {} episode controls and {} e-stops published, device missing or lost {} times",
        r.commands, r.controls, r.estops, r.device_errors
    );
    Ok(exit::OK)
}
