//! The STS series' control table (STS3215 and its siblings): addresses, sizes and units the driver uses.
//!
//! Values are little-endian. Present position is `0 … 4095` over one turn (centre 2048); present speed and goal
//! speed are sign-magnitude with the sign in bit 15, present load with the sign in bit 10, the homing offset with
//! the sign in bit 11. EEPROM fields (below [`TORQUE_ENABLE`]) are written only with [`LOCK`] = 0 and kept across
//! power cycles once it is set back to 1.

/// Model Number (2 bytes, EEPROM).
pub const MODEL_NUMBER: u8 = 3;
/// ID (1 byte, EEPROM).
pub const ID: u8 = 5;
/// Baud Rate code (1 byte, EEPROM): 0 = 1 Mbps … see `interfaces::config::FEETECH_BAUDS`.
pub const BAUD_RATE: u8 = 6;
/// Return Delay Time (1 byte, 2 µs units).
pub const RETURN_DELAY: u8 = 7;
/// Min Position Limit (2 bytes, counts).
pub const MIN_POSITION_LIMIT: u8 = 9;
/// Max Position Limit (2 bytes, counts).
pub const MAX_POSITION_LIMIT: u8 = 11;
/// Max Torque Limit (2 bytes, 0.1 % of stall; the power-on value of Torque Limit).
pub const MAX_TORQUE_LIMIT: u8 = 16;
/// P Coefficient of the position loop (1 byte).
pub const P_COEFFICIENT: u8 = 21;
/// D Coefficient (1 byte).
pub const D_COEFFICIENT: u8 = 22;
/// I Coefficient (1 byte).
pub const I_COEFFICIENT: u8 = 23;
/// Homing Offset (2 bytes, sign-magnitude, sign bit 11): subtracted from the raw encoder reading.
pub const HOMING_OFFSET: u8 = 31;
/// Operating Mode (1 byte): 0 = position servo.
pub const OPERATING_MODE: u8 = 33;
/// Torque Enable (1 byte): 0 off, 1 on, 128 = set the present position as the centre.
pub const TORQUE_ENABLE: u8 = 40;
/// Acceleration (1 byte, 100 step/s² units; 0 = no ramp).
pub const ACCELERATION: u8 = 41;
/// Goal Position (2 bytes, counts).
pub const GOAL_POSITION: u8 = 42;
/// Goal Time (2 bytes, ms; 0 = as fast as Goal Speed allows).
pub const GOAL_TIME: u8 = 44;
/// Goal Speed (2 bytes, step/s, sign bit 15; 0 = fastest).
pub const GOAL_SPEED: u8 = 46;
/// Torque Limit (2 bytes, 0.1 % of stall torque: 1000 = 100 %).
pub const TORQUE_LIMIT: u8 = 48;
/// Lock (1 byte): 0 = EEPROM writable, 1 = locked.
pub const LOCK: u8 = 55;
/// Present Position (2 bytes): the first field of the present block.
pub const PRESENT_POSITION: u8 = 56;
/// Present Speed (2 bytes, step/s, sign bit 15).
pub const PRESENT_SPEED: u8 = 58;
/// Present Load (2 bytes, 0.1 % of stall torque, sign bit 10).
pub const PRESENT_LOAD: u8 = 60;
/// Present Voltage (1 byte, 0.1 V).
pub const PRESENT_VOLTAGE: u8 = 62;
/// Present Temperature (1 byte, °C).
pub const PRESENT_TEMPERATURE: u8 = 63;
/// Status (1 byte): the protection bits of [`super::protocol::ServoStatus`].
pub const STATUS: u8 = 65;
/// Moving (1 byte).
pub const MOVING: u8 = 66;
/// Present Current (2 bytes, 6.5 mA units).
pub const PRESENT_CURRENT: u8 = 69;

/// The present block one sync read fetches every cycle: position … current (56 … 70).
pub const PRESENT_BLOCK: u8 = PRESENT_POSITION;
/// Bytes of the present block.
pub const PRESENT_BLOCK_LEN: u8 = PRESENT_CURRENT + 2 - PRESENT_POSITION;
/// The goal block one sync write sends every cycle: goal position, goal time, goal speed (42 … 47).
pub const GOAL_BLOCK_LEN: u8 = 6;

/// Model Number of the STS3215.
pub const STS3215_MODEL: u16 = 777;
/// Counts per turn.
pub const COUNTS_PER_TURN: f64 = 4096.0;
/// Position count of the servo's centre.
pub const CENTRE: i32 = 2048;
/// rad per position (and speed) count.
pub const RAD_PER_COUNT: f64 = std::f64::consts::TAU / COUNTS_PER_TURN;
/// Sign bit of Present Speed and Goal Speed.
pub const SPEED_SIGN_BIT: u32 = 15;
/// Sign bit of Present Load.
pub const LOAD_SIGN_BIT: u32 = 10;
/// Sign bit of Homing Offset.
pub const HOMING_OFFSET_SIGN_BIT: u32 = 11;
/// Full scale of Torque Limit and Present Load (100 %).
pub const TORQUE_FULL_SCALE: f64 = 1000.0;
/// Size of a control-table image holding every address (the emulator keeps one per servo).
pub const SIZE: usize = 128;

/// One servo's present block, decoded (raw units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Present {
    /// Position, counts.
    pub position: i32,
    /// Speed, step/s.
    pub speed: i32,
    /// Load, 0.1 % of stall torque.
    pub load: i32,
    /// Voltage, 0.1 V.
    pub voltage: u8,
    /// Temperature, °C.
    pub temperature: u8,
    /// Status bits.
    pub status: u8,
    /// Current, 6.5 mA units.
    pub current: u16,
}

impl Present {
    /// Decodes a [`PRESENT_BLOCK_LEN`]-byte block; `None` if short.
    pub fn decode(b: &[u8]) -> Option<Self> {
        use super::protocol::{le::u16_at, sign_magnitude};
        let at = |addr: u8| usize::from(addr - PRESENT_BLOCK);
        Some(Self {
            position: sign_magnitude::decode(u16_at(b, at(PRESENT_POSITION))?, 15),
            speed: sign_magnitude::decode(u16_at(b, at(PRESENT_SPEED))?, SPEED_SIGN_BIT),
            load: sign_magnitude::decode(u16_at(b, at(PRESENT_LOAD))?, LOAD_SIGN_BIT),
            voltage: *b.get(at(PRESENT_VOLTAGE))?,
            temperature: *b.get(at(PRESENT_TEMPERATURE))?,
            status: *b.get(at(STATUS))?,
            current: u16_at(b, at(PRESENT_CURRENT))?,
        })
    }
    /// Encodes into a [`PRESENT_BLOCK_LEN`]-byte block (what a servo sends; the emulator's side).
    pub fn encode(&self, b: &mut [u8]) {
        use super::protocol::sign_magnitude;
        let at = |addr: u8| usize::from(addr - PRESENT_BLOCK);
        let mut put = |addr: u8, v: u16| b[at(addr)..at(addr) + 2].copy_from_slice(&v.to_le_bytes());
        put(PRESENT_POSITION, sign_magnitude::encode(self.position, 15));
        put(PRESENT_SPEED, sign_magnitude::encode(self.speed, SPEED_SIGN_BIT));
        put(PRESENT_LOAD, sign_magnitude::encode(self.load, LOAD_SIGN_BIT));
        put(PRESENT_CURRENT, self.current);
        b[at(PRESENT_VOLTAGE)] = self.voltage;
        b[at(PRESENT_TEMPERATURE)] = self.temperature;
        b[at(STATUS)] = self.status;
    }
}
