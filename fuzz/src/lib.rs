//! The contracts of corrigo's parsers, one function per fuzz target: each takes the fuzzer's bytes, feeds them to
//! a parser and asserts what the parser promises (it never panics; what it accepts re-encodes to the same bytes or
//! decodes again to the same value; what it refuses is refused with a consistent error).
//!
//! The binaries in `fuzz_targets/` are one line each around these functions (cargo-fuzz, libFuzzer);
//! `tests/corpus.rs` replays the checked-in corpora through them on stable Rust; [`seeds`] generates those corpora
//! (`cargo run --example gen_corpus`).
//!
//! The bus codec and the teleop parsers are compiled here from their crates' own source files (`#[path]`): those
//! files need only `interfaces`, serde, ciborium and thiserror, while their crates pull in zenoh (`bus`, and
//! `teleop` through it) and gilrs (`teleop`) — several hundred crates the fuzz build would otherwise instrument.
//! The driver parsers come from the `controller` crate itself.

// The parsers, from their crates' sources (see above).

/// `bus/src/codec.rs`: the bus's CBOR envelope.
#[allow(dead_code)]
#[path = "../../bus/src/codec.rs"]
pub mod bus_codec;

/// `teleop/src/spacemouse/report.rs`: SpaceMouse HID reports.
#[allow(dead_code)]
#[path = "../../teleop/src/spacemouse/report.rs"]
pub mod spacemouse_report;

/// `teleop/src/spacemouse/discover.rs`: hidraw `uevent` files.
#[allow(dead_code)]
#[path = "../../teleop/src/spacemouse/discover.rs"]
pub mod spacemouse_discover;

/// `teleop/src/mapping.rs`: device axes → twist.
#[allow(dead_code)]
#[path = "../../teleop/src/mapping.rs"]
pub mod teleop_mapping;

/// `teleop/src/controls.rs`: device buttons → gripper, takeover and episode controls.
#[allow(dead_code)]
#[path = "../../teleop/src/controls.rs"]
pub mod teleop_controls;

mod bus;
mod config;
mod drivers;
pub mod seeds;
mod teleop;

pub use bus::bus_decode;
pub use config::config_toml;
pub use drivers::{dynamixel_bus, dynamixel_packet, feetech_bus, feetech_packet, franka_fci, ur_rtde};
pub use teleop::{gamepad_mapping, spacemouse_report, spacemouse_uevent};

/// A target's contract: panics when the parser breaks it on these bytes.
pub type Contract = fn(&[u8]);

/// Every target: its name (a binary in `fuzz_targets/`, a folder in `corpus/`) and its contract.
pub const TARGETS: [(&str, Contract); 11] = [
    ("bus_decode", bus_decode),
    ("spacemouse_report", spacemouse_report),
    ("spacemouse_uevent", spacemouse_uevent),
    ("gamepad_mapping", gamepad_mapping),
    ("config_toml", config_toml),
    ("dynamixel_packet", dynamixel_packet),
    ("dynamixel_bus", dynamixel_bus),
    ("feetech_packet", feetech_packet),
    ("feetech_bus", feetech_bus),
    ("franka_fci", franka_fci),
    ("ur_rtde", ur_rtde),
];

/// `x == x`: false for a value holding a NaN, whose equality with its copy cannot be asserted.
#[allow(clippy::eq_op)]
pub(crate) fn self_equal<T: PartialEq>(x: &T) -> bool {
    x == x
}

/// The default cell (`hardware_configs/sim_panda.toml`), loaded once.
pub fn default_cell() -> &'static interfaces::CellConfig {
    static CELL: std::sync::OnceLock<interfaces::CellConfig> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        interfaces::CellConfig::from_toml_str(include_str!("../../hardware_configs/sim_panda.toml"), "sim_panda.toml")
            .expect("the default cell loads")
    })
}
