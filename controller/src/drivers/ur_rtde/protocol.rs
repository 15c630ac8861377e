//! The RTDE wire format (protocol version 2), pure: package framing, field types, recipes, the payloads of the
//! control packages, and the data packages of the recipes this driver uses. Big-endian throughout.
//!
//! A package is `size: u16` (header included) `| type: u8 | payload`. The client negotiates the protocol version
//! (`V`), asks the controller version (`v`), sets up an output recipe (`O`: frequency and field names; the
//! robot answers a recipe ID and the field types) and an input recipe (`I`), then starts (`S`) the stream of data
//! packages (`U`: recipe ID and the fields in recipe order) and may pause it (`P`). The robot may interleave text
//! messages (`M`) at any time.

use std::fmt;

/// Bytes of a package header: size (u16) and type (u8).
pub const HEADER_LEN: usize = 3;
/// The largest package this codec accepts, bytes (the longest recipe replies are a few hundred bytes).
pub const MAX_PACKAGE: usize = 4096;
/// The protocol version this client speaks.
pub const PROTOCOL_VERSION: u16 = 2;

/// Package types.
pub mod kind {
    /// Request protocol version (client: u16 version; robot: u8 accepted).
    pub const REQUEST_PROTOCOL_VERSION: u8 = b'V';
    /// Get controller version (client: empty; robot: u32 major, minor, bugfix, build).
    pub const GET_URCONTROL_VERSION: u8 = b'v';
    /// Text message (robot: u8 length, message, u8 length, source, u8 warning level).
    pub const TEXT_MESSAGE: u8 = b'M';
    /// Data package (u8 recipe ID, fields).
    pub const DATA_PACKAGE: u8 = b'U';
    /// Set up outputs (client: f64 frequency, names; robot: u8 recipe ID, types).
    pub const SETUP_OUTPUTS: u8 = b'O';
    /// Set up inputs (client: names; robot: u8 recipe ID, types).
    pub const SETUP_INPUTS: u8 = b'I';
    /// Start the data stream (robot: u8 accepted).
    pub const START: u8 = b'S';
    /// Pause the data stream (robot: u8 accepted).
    pub const PAUSE: u8 = b'P';
    /// Every type above.
    pub const ALL: [u8; 8] = [
        REQUEST_PROTOCOL_VERSION,
        GET_URCONTROL_VERSION,
        TEXT_MESSAGE,
        DATA_PACKAGE,
        SETUP_OUTPUTS,
        SETUP_INPUTS,
        START,
        PAUSE,
    ];
}

/// A package that did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed (at least this many in all).
    Incomplete {
        /// Total bytes needed.
        need: usize,
    },
    /// The size field is below the header or above [`MAX_PACKAGE`].
    BadSize {
        /// The size field.
        size: usize,
    },
    /// The type byte is not an RTDE package type.
    UnknownType {
        /// The type byte.
        kind: u8,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Incomplete { need } => write!(f, "incomplete package ({need} bytes needed)"),
            ParseError::BadSize { size } => write!(f, "package size {size} outside {HEADER_LEN}…{MAX_PACKAGE}"),
            ParseError::UnknownType { kind } => write!(f, "unknown package type 0x{kind:02x}"),
        }
    }
}

/// One framed package, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package<'a> {
    /// Package type (see [`kind`]).
    pub kind: u8,
    /// Payload after the header.
    pub payload: &'a [u8],
}

/// Parses the package at the start of `buf`; returns it and the bytes it used.
pub fn parse(buf: &[u8]) -> Result<(Package<'_>, usize), ParseError> {
    if buf.len() < HEADER_LEN {
        return Err(ParseError::Incomplete { need: HEADER_LEN });
    }
    let size = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
    if !(HEADER_LEN..=MAX_PACKAGE).contains(&size) {
        return Err(ParseError::BadSize { size });
    }
    if !kind::ALL.contains(&buf[2]) {
        return Err(ParseError::UnknownType { kind: buf[2] });
    }
    if buf.len() < size {
        return Err(ParseError::Incomplete { need: size });
    }
    Ok((Package { kind: buf[2], payload: &buf[HEADER_LEN..size] }, size))
}

/// A package too large to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge(pub usize);

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "package of {} bytes exceeds {MAX_PACKAGE}", self.0)
    }
}

/// Writes one package of type `kind` whose payload is `parts` concatenated into `out` (cleared first; no
/// allocation once `out` has the capacity).
pub fn encode(out: &mut Vec<u8>, kind: u8, parts: &[&[u8]]) -> Result<(), TooLarge> {
    let size = HEADER_LEN + parts.iter().map(|p| p.len()).sum::<usize>();
    if size > MAX_PACKAGE {
        return Err(TooLarge(size));
    }
    out.clear();
    out.extend_from_slice(&(size as u16).to_be_bytes());
    out.push(kind);
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(())
}

/// The type of an RTDE field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `BOOL`, one byte.
    Bool,
    /// `UINT8`.
    Uint8,
    /// `UINT32`.
    Uint32,
    /// `UINT64`.
    Uint64,
    /// `INT32`.
    Int32,
    /// `DOUBLE`.
    Double,
    /// `VECTOR3D`: three doubles.
    Vector3d,
    /// `VECTOR6D`: six doubles.
    Vector6d,
    /// `VECTOR6INT32`.
    Vector6Int32,
    /// `VECTOR6UINT32`.
    Vector6Uint32,
}

impl FieldType {
    /// Every type, for lookups.
    pub const ALL: [FieldType; 10] = [
        FieldType::Bool,
        FieldType::Uint8,
        FieldType::Uint32,
        FieldType::Uint64,
        FieldType::Int32,
        FieldType::Double,
        FieldType::Vector3d,
        FieldType::Vector6d,
        FieldType::Vector6Int32,
        FieldType::Vector6Uint32,
    ];
    /// Bytes on the wire.
    pub fn size(self) -> usize {
        match self {
            FieldType::Bool | FieldType::Uint8 => 1,
            FieldType::Uint32 | FieldType::Int32 => 4,
            FieldType::Uint64 | FieldType::Double => 8,
            FieldType::Vector3d => 24,
            FieldType::Vector6d => 48,
            FieldType::Vector6Int32 | FieldType::Vector6Uint32 => 24,
        }
    }
    /// The name the robot uses.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Bool => "BOOL",
            FieldType::Uint8 => "UINT8",
            FieldType::Uint32 => "UINT32",
            FieldType::Uint64 => "UINT64",
            FieldType::Int32 => "INT32",
            FieldType::Double => "DOUBLE",
            FieldType::Vector3d => "VECTOR3D",
            FieldType::Vector6d => "VECTOR6D",
            FieldType::Vector6Int32 => "VECTOR6INT32",
            FieldType::Vector6Uint32 => "VECTOR6UINT32",
        }
    }
    /// The type named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Why a recipe was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipeError {
    /// The reply is too short or not text.
    Malformed,
    /// The robot does not know field `index` of the request.
    NotFound {
        /// Position of the field in the request.
        index: usize,
    },
    /// Field `index` is an input another client (or a fieldbus) already writes.
    InUse {
        /// Position of the field in the request.
        index: usize,
    },
    /// Field `index` has a type this codec does not know.
    UnknownType {
        /// Position of the field in the request.
        index: usize,
    },
    /// The robot gave `got` types for `want` fields, or types other than expected.
    Mismatch {
        /// Fields requested.
        want: usize,
        /// Types returned.
        got: usize,
    },
}

impl fmt::Display for RecipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecipeError::Malformed => write!(f, "malformed recipe reply"),
            RecipeError::NotFound { index } => write!(f, "field {index} not found"),
            RecipeError::InUse { index } => write!(f, "field {index} is in use by another client"),
            RecipeError::UnknownType { index } => write!(f, "field {index} has an unknown type"),
            RecipeError::Mismatch { want, got } => write!(f, "{got} types returned for {want} fields"),
        }
    }
}

/// A recipe as the robot set it up: its ID and the types of its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// Recipe ID (1…255), the first byte of its data packages.
    pub id: u8,
    /// Field types, in order.
    pub types: Vec<FieldType>,
}

impl Recipe {
    /// Parses a setup reply (`O` or `I` payload): recipe ID and comma-separated types.
    pub fn from_reply(payload: &[u8]) -> Result<Self, RecipeError> {
        let (&id, rest) = payload.split_first().ok_or(RecipeError::Malformed)?;
        let text = std::str::from_utf8(rest).map_err(|_| RecipeError::Malformed)?;
        let mut types = Vec::new();
        for (index, name) in text.split(',').enumerate() {
            match name {
                "NOT_FOUND" => return Err(RecipeError::NotFound { index }),
                "IN_USE" => return Err(RecipeError::InUse { index }),
                _ => types.push(FieldType::from_name(name).ok_or(RecipeError::UnknownType { index })?),
            }
        }
        if id == 0 {
            return Err(RecipeError::Malformed);
        }
        Ok(Self { id, types })
    }
    /// Checks that the types are exactly `want`.
    pub fn expect(&self, want: &[FieldType]) -> Result<(), RecipeError> {
        if self.types != want {
            return Err(RecipeError::Mismatch { want: want.len(), got: self.types.len() });
        }
        Ok(())
    }
    /// Bytes of one data package's fields (recipe ID excluded).
    pub fn data_len(&self) -> usize {
        self.types.iter().map(|t| t.size()).sum()
    }
}

/// A text message from the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextMessage<'a> {
    /// The message.
    pub message: &'a str,
    /// Where it comes from.
    pub source: &'a str,
    /// 0 exception, 1 error, 2 warning, 3 info.
    pub level: u8,
}

/// Parses a text message payload (`M`, protocol version 2); `None` when malformed.
pub fn text_message(payload: &[u8]) -> Option<TextMessage<'_>> {
    let (&n, rest) = payload.split_first()?;
    let (msg, rest) = rest.split_at_checked(usize::from(n))?;
    let (&m, rest) = rest.split_first()?;
    let (src, rest) = rest.split_at_checked(usize::from(m))?;
    let [level] = rest else { return None };
    Some(TextMessage { message: std::str::from_utf8(msg).ok()?, source: std::str::from_utf8(src).ok()?, level: *level })
}

/// The controller's software version (`v` reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ControllerVersion {
    /// Major (5 for e-Series / PolyScope 5).
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Bug fix.
    pub bugfix: u32,
    /// Build.
    pub build: u32,
}

impl ControllerVersion {
    /// Parses a `v` reply payload.
    pub fn from_reply(payload: &[u8]) -> Option<Self> {
        if payload.len() != 16 {
            return None;
        }
        let w = |i: usize| be::u32_at(payload, 4 * i);
        Some(Self { major: w(0)?, minor: w(1)?, bugfix: w(2)?, build: w(3)? })
    }
    /// The reply payload.
    pub fn to_reply(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        for (i, v) in [self.major, self.minor, self.bugfix, self.build].into_iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
        }
        b
    }
}

impl fmt::Display for ControllerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}.{}", self.major, self.minor, self.bugfix, self.build)
    }
}

/// Big-endian readers that return `None` past the end.
pub mod be {
    /// `u32` at `at`.
    pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }
    /// `i32` at `at`.
    pub fn i32_at(b: &[u8], at: usize) -> Option<i32> {
        Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }
    /// `f64` at `at`.
    pub fn f64_at(b: &[u8], at: usize) -> Option<f64> {
        Some(f64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
    }
    /// Six `f64` from `at`.
    pub fn vec6_at(b: &[u8], at: usize) -> Option<[f64; 6]> {
        let mut v = [0.0; 6];
        for (i, x) in v.iter_mut().enumerate() {
            *x = f64_at(b, at + 8 * i)?;
        }
        Some(v)
    }
}

/// The output fields this driver subscribes to, in recipe order.
pub const OUTPUT_FIELDS: [&str; 7] =
    ["timestamp", "actual_q", "actual_qd", "actual_current", "robot_mode", "safety_mode", "runtime_state"];
/// Their types.
pub const OUTPUT_TYPES: [FieldType; 7] = [
    FieldType::Double,
    FieldType::Vector6d,
    FieldType::Vector6d,
    FieldType::Vector6d,
    FieldType::Int32,
    FieldType::Int32,
    FieldType::Uint32,
];
/// Bytes of an output data package's fields.
pub const OUTPUT_LEN: usize = 8 + 3 * 48 + 4 + 4 + 4;

/// Double input registers of the input recipe: six torques and the stop deceleration.
pub const INPUT_DOUBLES: usize = 7;
/// Integer input registers of the input recipe: counter, stop flag, watchdog cycles.
pub const INPUT_INTS: usize = 3;
/// Bytes of an input data package's fields.
pub const INPUT_LEN: usize = 8 * INPUT_DOUBLES + 4 * INPUT_INTS;

/// The input field names for the register block starting at `offset`, comma-separated.
pub fn input_fields(offset: u32) -> String {
    let doubles = (0..INPUT_DOUBLES as u32).map(|i| format!("input_double_register_{}", offset + i));
    let ints = (0..INPUT_INTS as u32).map(|i| format!("input_int_register_{}", offset + i));
    doubles.chain(ints).collect::<Vec<_>>().join(",")
}
/// The types of [`input_fields`].
pub fn input_types() -> Vec<FieldType> {
    let mut t = vec![FieldType::Double; INPUT_DOUBLES];
    t.extend([FieldType::Int32; INPUT_INTS]);
    t
}

/// `robot_mode` values.
pub mod robot_mode {
    /// Powered, brakes released, ready.
    pub const RUNNING: i32 = 7;
    /// The name of a robot mode.
    pub fn name(m: i32) -> &'static str {
        match m {
            -1 => "NO_CONTROLLER",
            0 => "DISCONNECTED",
            1 => "CONFIRM_SAFETY",
            2 => "BOOTING",
            3 => "POWER_OFF",
            4 => "POWER_ON",
            5 => "IDLE",
            6 => "BACKDRIVE",
            7 => "RUNNING",
            8 => "UPDATING_FIRMWARE",
            _ => "UNKNOWN",
        }
    }
}

/// `safety_mode` values.
pub mod safety_mode {
    /// Normal operation.
    pub const NORMAL: i32 = 1;
    /// Reduced limits active (still operating).
    pub const REDUCED: i32 = 2;
    /// Protective stop.
    pub const PROTECTIVE_STOP: i32 = 3;
    /// Emergency stop pressed on the teach pendant or robot.
    pub const ROBOT_EMERGENCY_STOP: i32 = 7;
    /// The name of a safety mode.
    pub fn name(m: i32) -> &'static str {
        match m {
            1 => "NORMAL",
            2 => "REDUCED",
            3 => "PROTECTIVE_STOP",
            4 => "RECOVERY",
            5 => "SAFEGUARD_STOP",
            6 => "SYSTEM_EMERGENCY_STOP",
            7 => "ROBOT_EMERGENCY_STOP",
            8 => "VIOLATION",
            9 => "FAULT",
            10 => "VALIDATE_JOINT_ID",
            12 => "AUTOMATIC_MODE_SAFEGUARD_STOP",
            13 => "SYSTEM_THREE_POSITION_ENABLING_STOP",
            _ => "UNDEFINED_SAFETY_MODE",
        }
    }
}

/// `runtime_state` values (the program's state).
pub mod runtime_state {
    /// A program is running.
    pub const PLAYING: u32 = 2;
    /// No program running.
    pub const STOPPED: u32 = 1;
    /// The name of a runtime state.
    pub fn name(s: u32) -> &'static str {
        match s {
            0 => "STOPPING",
            1 => "STOPPED",
            2 => "PLAYING",
            3 => "PAUSING",
            4 => "PAUSED",
            5 => "RESUMING",
            _ => "UNKNOWN",
        }
    }
}

/// One output data package of [`OUTPUT_FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RobotState {
    /// Controller time since start, s.
    pub timestamp: f64,
    /// Joint positions, rad.
    pub q: [f64; 6],
    /// Joint velocities, rad/s.
    pub qd: [f64; 6],
    /// Joint currents, A.
    pub current: [f64; 6],
    /// `robot_mode`.
    pub robot_mode: i32,
    /// `safety_mode`.
    pub safety_mode: i32,
    /// `runtime_state`.
    pub runtime_state: u32,
}

/// A data package that does not belong to the expected recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataError {
    /// No recipe ID byte.
    Empty,
    /// Another recipe's package.
    WrongRecipe {
        /// The ID in the package.
        got: u8,
        /// The ID expected.
        want: u8,
    },
    /// The fields have the wrong length.
    WrongLength {
        /// Bytes of fields received.
        got: usize,
        /// Bytes expected.
        want: usize,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Empty => write!(f, "empty data package"),
            DataError::WrongRecipe { got, want } => write!(f, "data package of recipe {got}, expected {want}"),
            DataError::WrongLength { got, want } => {
                write!(f, "data package with {got} bytes of fields, expected {want}")
            }
        }
    }
}

fn fields(payload: &[u8], recipe: u8, want: usize) -> Result<&[u8], DataError> {
    let (&id, data) = payload.split_first().ok_or(DataError::Empty)?;
    if id != recipe {
        return Err(DataError::WrongRecipe { got: id, want: recipe });
    }
    if data.len() != want {
        return Err(DataError::WrongLength { got: data.len(), want });
    }
    Ok(data)
}

impl RobotState {
    /// Decodes a data package payload of the output recipe `recipe`.
    pub fn decode(payload: &[u8], recipe: u8) -> Result<Self, DataError> {
        let d = fields(payload, recipe, OUTPUT_LEN)?;
        let bad = DataError::WrongLength { got: d.len(), want: OUTPUT_LEN };
        let (Some(timestamp), Some(q), Some(qd), Some(current)) =
            (be::f64_at(d, 0), be::vec6_at(d, 8), be::vec6_at(d, 56), be::vec6_at(d, 104))
        else {
            return Err(bad);
        };
        let (Some(robot_mode), Some(safety_mode), Some(runtime_state)) =
            (be::i32_at(d, 152), be::i32_at(d, 156), be::u32_at(d, 160))
        else {
            return Err(bad);
        };
        Ok(Self { timestamp, q, qd, current, robot_mode, safety_mode, runtime_state })
    }
    /// Encodes the payload of a data package of recipe `recipe` (recipe ID and fields) into `out`.
    pub fn encode(&self, recipe: u8, out: &mut [u8; 1 + OUTPUT_LEN]) {
        out[0] = recipe;
        let d = &mut out[1..];
        d[0..8].copy_from_slice(&self.timestamp.to_be_bytes());
        for (k, v) in [self.q, self.qd, self.current].iter().enumerate() {
            for (i, x) in v.iter().enumerate() {
                let at = 8 + 48 * k + 8 * i;
                d[at..at + 8].copy_from_slice(&x.to_be_bytes());
            }
        }
        d[152..156].copy_from_slice(&self.robot_mode.to_be_bytes());
        d[156..160].copy_from_slice(&self.safety_mode.to_be_bytes());
        d[160..164].copy_from_slice(&self.runtime_state.to_be_bytes());
    }
}

/// What the program on the robot reads from the input registers each cycle.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Command {
    /// Joint torques, N·m.
    pub tau: [f64; 6],
    /// Joint deceleration of the stop, rad/s².
    pub stop_deceleration: f64,
    /// Sequence counter, advanced by every command; the program stops when it stalls.
    pub counter: i32,
    /// Nonzero: stop the arm now.
    pub stop: i32,
    /// Cycles without a new counter after which the program stops the arm.
    pub watchdog_cycles: i32,
}

impl Command {
    /// Encodes the payload of a data package of input recipe `recipe` into `out`.
    pub fn encode(&self, recipe: u8, out: &mut [u8; 1 + INPUT_LEN]) {
        out[0] = recipe;
        let d = &mut out[1..];
        for (i, x) in self.tau.iter().chain([self.stop_deceleration].iter()).enumerate() {
            d[8 * i..8 * i + 8].copy_from_slice(&x.to_be_bytes());
        }
        for (i, x) in [self.counter, self.stop, self.watchdog_cycles].iter().enumerate() {
            let at = 8 * INPUT_DOUBLES + 4 * i;
            d[at..at + 4].copy_from_slice(&x.to_be_bytes());
        }
    }
    /// Decodes a data package payload of input recipe `recipe`.
    pub fn decode(payload: &[u8], recipe: u8) -> Result<Self, DataError> {
        let d = fields(payload, recipe, INPUT_LEN)?;
        let bad = DataError::WrongLength { got: d.len(), want: INPUT_LEN };
        let (Some(tau), Some(stop_deceleration)) = (be::vec6_at(d, 0), be::f64_at(d, 48)) else { return Err(bad) };
        let ints = 8 * INPUT_DOUBLES;
        let (Some(counter), Some(stop), Some(watchdog_cycles)) =
            (be::i32_at(d, ints), be::i32_at(d, ints + 4), be::i32_at(d, ints + 8))
        else {
            return Err(bad);
        };
        Ok(Self { tau, stop_deceleration, counter, stop, watchdog_cycles })
    }
}

/// Splits a setup-outputs request payload (`O`, version 2) into frequency and field names.
pub fn setup_outputs_request(payload: &[u8]) -> Option<(f64, &str)> {
    let f = be::f64_at(payload, 0)?;
    Some((f, std::str::from_utf8(&payload[8..]).ok()?))
}
