//! `cargo run --release -p perception --example bench_perception [-- --seconds S] [--jpeg QUALITY]`
//!
//! Prints the end-to-end latency (grab → received in another process), achieved rate and CPU share of two
//! 640×480 cameras at 30 Hz reduced to 128×128. The receiving process is this program run again with
//! `--receiver <endpoint> <cell>`.

use perception::bench::{BenchOptions, run, run_receiver};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, endpoint, cell] = &args[..]
        && flag == "--receiver"
    {
        return match run_receiver(endpoint, cell) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("receiver: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut opts = BenchOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next().map(String::as_str).unwrap_or_default();
        match a.as_str() {
            "--seconds" => match value.parse() {
                Ok(s) => opts.seconds = s,
                Err(_) => return usage(&format!("--seconds {value:?}: not a number")),
            },
            "--jpeg" => match value.parse() {
                Ok(q) => opts.jpeg_quality = Some(q),
                Err(_) => return usage(&format!("--jpeg {value:?}: not a quality 1–100")),
            },
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let Ok(exe) = std::env::current_exe() else { return usage("cannot find this program's path") };
    let mut receiver = Command::new(exe);
    receiver.arg("--receiver");
    match run(&opts, receiver) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("{problem}\nusage: bench_perception [--seconds S] [--jpeg QUALITY]");
    ExitCode::FAILURE
}
