//! Control-table addresses and units of the servo families the driver speaks to.
//!
//! Values from ROBOTIS' e-Manual control tables: the X series (XM430-W350, XM540-W270, …) and the Dynamixel-P
//! series (PH54-200-S500-R; other P models differ in counts per revolution — check before use). In both, the
//! present current, velocity and position are one contiguous 10-byte block (2 + 4 + 4), so one sync read
//! fetches all three for every joint.

use interfaces::config::ServoSeries;

/// Operating Mode values used.
pub mod mode {
    /// Current (torque) control.
    pub const CURRENT: u8 = 0;
    /// Current-based position control (position loop with the goal current as limit).
    pub const CURRENT_BASED_POSITION: u8 = 5;
}

/// The Bus Watchdog's unit, ms.
pub const BUS_WATCHDOG_UNIT_MS: f64 = 20.0;
/// The longest Bus Watchdog time the register holds, units (127 × 20 ms = 2.54 s).
pub const BUS_WATCHDOG_MAX_UNITS: u8 = 127;
/// The Bus Watchdog register's value while its error is latched (−1 as a signed byte).
pub const BUS_WATCHDOG_ERROR: u8 = 0xFF;

/// Bytes of the present current/velocity/position block.
pub const PRESENT_BLOCK_LEN: u16 = 10;

/// One family's addresses (bytes) and units (SI per raw count).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControlTable {
    /// Family.
    pub series: ServoSeries,
    /// Model Number (2 bytes).
    pub model_number: u16,
    /// Return Delay Time (1 byte, 2 µs units).
    pub return_delay: u16,
    /// Operating Mode (1 byte).
    pub operating_mode: u16,
    /// Current Limit (2 bytes).
    pub current_limit: u16,
    /// Torque Enable (1 byte).
    pub torque_enable: u16,
    /// Hardware Error Status (1 byte).
    pub hardware_error: u16,
    /// Bus Watchdog (1 byte, RAM): 0 disabled, 1…127 the time in [`BUS_WATCHDOG_UNIT_MS`] units, 255 (−1) the
    /// latched Bus Watchdog Error. While torque is on and it is 1…127, a servo that receives no instruction for
    /// that long stops and latches the error; its goals are then read-only until 0 is written here.
    pub bus_watchdog: u16,
    /// Goal Current (2 bytes, signed).
    pub goal_current: u16,
    /// Goal Position (4 bytes, signed).
    pub goal_position: u16,
    /// Present Current (2 bytes signed), then Present Velocity (4), then Present Position (4).
    pub present_block: u16,
    /// Amperes per current count.
    pub amps_per_count: f64,
    /// rad/s per velocity count.
    pub rad_s_per_count: f64,
    /// rad per position count.
    pub rad_per_count: f64,
    /// Position count of the servo's zero angle.
    pub position_center: i32,
}

const RPM: f64 = std::f64::consts::TAU / 60.0;

impl ControlTable {
    /// The table of `series`.
    pub const fn of(series: ServoSeries) -> Self {
        match series {
            ServoSeries::X => Self {
                series,
                model_number: 0,
                return_delay: 9,
                operating_mode: 11,
                current_limit: 38,
                torque_enable: 64,
                hardware_error: 70,
                bus_watchdog: 98,
                goal_current: 102,
                goal_position: 116,
                present_block: 126,
                amps_per_count: 2.69e-3,
                rad_s_per_count: 0.229 * RPM,
                rad_per_count: std::f64::consts::TAU / 4096.0,
                position_center: 2048,
            },
            ServoSeries::P => Self {
                series,
                model_number: 0,
                return_delay: 9,
                operating_mode: 11,
                current_limit: 38,
                torque_enable: 512,
                hardware_error: 518,
                bus_watchdog: 546,
                goal_current: 550,
                goal_position: 564,
                present_block: 574,
                amps_per_count: 1e-3,
                rad_s_per_count: 0.01 * RPM,
                rad_per_count: std::f64::consts::TAU / 1_003_846.0,
                position_center: 0,
            },
        }
    }
    /// Size of a control table image that holds every address used, bytes.
    pub const fn size(&self) -> usize {
        self.present_block as usize + PRESENT_BLOCK_LEN as usize + 16
    }
}
