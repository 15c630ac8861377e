//! Prints the round trip of one control cycle of the SO-101 (5 arm servos and the jaw) on the emulated Feetech bus
//! at 1 Mbps, on the bare pty and with the bus wire-timed, beside the bus's theoretical byte time.
//!
//! Usage: `cargo run --release -p sim --features bench --example bench_feetech [CYCLES]` (default 5000).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cycles = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let text = include_str!("../../hardware_configs/so101.toml");
    let cfg = match interfaces::CellConfig::from_toml_str(text, "hardware_configs/so101.toml") {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Feetech bus, SO-101 (5 + jaw), {cycles} cycles each (sync read of 15 B/servo + sync write of 2 B/servo)");
    println!(
        "A pty has no baud rate: 'bare pty' is host overhead only; 'wire-timed' holds every packet for its wire time."
    );
    println!("Target: cycle p50 ≤ 2500 µs (≥ 200 Hz) on the wire-timed bus at 1 Mbps.");
    for wire_timed in [false, true] {
        match sim::emulators::bench::measure_feetech(&cfg, 1_000_000, wire_timed, cycles) {
            Ok(f) => println!("{f}"),
            Err(e) => {
                eprintln!("1000000 bit/s: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
