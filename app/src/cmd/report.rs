//! `corrigo report DIR`: the run's learning curves, evaluations and config as one static HTML file.

use super::common::ConfigArg;
use anyhow::Result;
use clap::Args;
use corrigo_app::exit;
use std::path::PathBuf;

/// Arguments of `corrigo report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The run directory (its `metrics.jsonl` and `evals.jsonl`).
    run_dir: PathBuf,
    /// Output file (default: `<run-dir>/report.html`); HTML with inline SVG charts.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    cfg: ConfigArg,
}

/// Runs `corrigo report`; returns the exit code.
pub fn run(args: ReportArgs) -> Result<i32> {
    let out = args.out.clone().unwrap_or_else(|| args.run_dir.join("report.html"));
    if out.extension().is_none_or(|e| e != "html") {
        eprintln!("error: --out {}: the report is an HTML file (charts as inline SVG); name it *.html", out.display());
        return Ok(exit::USAGE);
    }
    let cfg = args.cfg.load()?;
    let r = corrigo_app::report::write(&args.run_dir, &out, &cfg.to_toml_string()?)?;
    println!(
        "{}: {} charts from {} metrics samples{}, {} evaluations",
        out.display(),
        r.charts.len(),
        r.samples,
        if r.skipped > 0 { format!(" ({} unreadable lines skipped)", r.skipped) } else { String::new() },
        r.evals
    );
    Ok(exit::OK)
}
