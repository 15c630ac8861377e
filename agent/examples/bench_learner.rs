//! `cargo run --release -p agent --example bench_learner [-- --threads N --iters-state N --iters-images N
//! --rounds N --state-only --no-cuda]`: the learner benchmark (see `agent::bench`).

use agent::bench::{BenchOptions, run_learner_bench};

fn main() {
    let mut o = BenchOptions::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = |i: usize| args.get(i + 1).and_then(|v| v.parse::<usize>().ok());
        match args[i].as_str() {
            "--threads" => o.threads = val(i).map_or(o.threads, |v| v as i32),
            "--iters-state" => o.iters_state = val(i).unwrap_or(o.iters_state),
            "--iters-images" => o.iters_images = val(i).unwrap_or(o.iters_images),
            "--ratio" => o.ratio = val(i).map_or(o.ratio, |v| v as u64),
            "--rounds" => o.rounds = val(i).unwrap_or(o.rounds),
            "--state-only" => {
                o.state_only = true;
                i -= 1;
            }
            "--no-cuda" => {
                o.cuda = false;
                i -= 1;
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    if let Err(e) = run_learner_bench(&o, &mut std::io::stdout()) {
        eprintln!("bench learner: {e}");
        std::process::exit(1);
    }
}
