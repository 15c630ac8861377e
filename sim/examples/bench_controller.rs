//! Prints the `corrigo bench controller` figures for a cell config.
//!
//! Usage: `cargo run --release -p sim --example bench_controller [CONFIG.toml] [LOOP_SECONDS]`
//! (defaults: `hardware_configs/sim_panda.toml`, 20 s).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "hardware_configs/sim_panda.toml".into());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cfg = match interfaces::CellConfig::from_toml_str(&text, &path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut opts = sim::bench::BenchOptions::standard();
    if let Some(s) = args.next() {
        match s.parse() {
            Ok(v) => opts.loop_seconds = v,
            Err(e) => {
                eprintln!("loop seconds `{s}`: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    match sim::bench::run(&cfg, &opts) {
        Ok(r) => {
            print!("{r}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
