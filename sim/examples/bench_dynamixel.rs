//! Prints the round trip of one control cycle and the achievable loop rate on the emulated Dynamixel bus at
//! 1 and 4 Mbps, on the bare pty and with replies held for their wire time.
//!
//! Usage: `cargo run --release -p sim --example bench_dynamixel [CYCLES]` (default 5000).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cycles = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let text = include_str!("../../hardware_configs/sim_panda.toml");
    let cfg = match interfaces::CellConfig::from_toml_str(text, "hardware_configs/sim_panda.toml") {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Dynamixel bus, 7 servos, {cycles} cycles each (sync read of 10 B/servo + sync write of 2 B/servo)");
    println!("A pty has no baud rate: 'bare pty' is host overhead only; 'wire-timed' adds each reply's wire time.");
    for baud in [1_000_000, 4_000_000] {
        for wire_timed in [false, true] {
            match sim::emulators::bench::measure(&cfg, baud, wire_timed, cycles) {
                Ok(f) => println!("{f}"),
                Err(e) => {
                    eprintln!("{baud} bit/s: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    ExitCode::SUCCESS
}
