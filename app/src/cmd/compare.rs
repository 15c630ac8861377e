//! `corrigo compare A B`: whether two settings differ, from their runs' newest evaluations (`evals.jsonl`).

use agent::node::runlog;
use agent::train::eval::{
    SuccessRate, interquartile_mean, iqm_bootstrap_95, iqm_diff_bootstrap_95, iqm_permutation_p, newcombe_diff_95,
};
use anyhow::{Context, Result, bail};
use clap::Args;
use corrigo_app::exit;
use std::path::{Path, PathBuf};

/// Arguments of `corrigo compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Setting A: a run directory, or several (one per seed) separated by commas.
    a: String,
    /// Setting B: likewise.
    b: String,
    /// Bootstrap and permutation resamples.
    #[arg(long, default_value_t = 10_000)]
    resamples: usize,
}

/// The newest evaluation of a run directory: `(successes, episodes)`.
fn newest_eval(dir: &Path) -> Result<(u64, u64)> {
    let path = dir.join("evals.jsonl");
    let (values, _) = runlog::read(&path).with_context(|| {
        format!("reading {} (run `corrigo eval --run-dir {}` first)", path.display(), dir.display())
    })?;
    let v = values.last().with_context(|| format!("{}: no evaluation recorded", path.display()))?;
    match (v["successes"].as_u64(), v["episodes"].as_u64()) {
        (Some(k), Some(n)) if n > 0 && k <= n => Ok((k, n)),
        _ => bail!("{}: the newest line has no valid successes/episodes", path.display()),
    }
}

fn runs(list: &str) -> Result<Vec<(PathBuf, u64, u64)>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| {
            let p = PathBuf::from(d);
            let (k, n) = newest_eval(&p)?;
            Ok((p, k, n))
        })
        .collect()
}

/// Runs `corrigo compare`; returns the exit code.
pub fn run(args: CompareArgs) -> Result<i32> {
    let (a, b) = (runs(&args.a)?, runs(&args.b)?);
    if a.is_empty() || b.is_empty() {
        eprintln!("error: each setting needs at least one run directory with an evaluation");
        return Ok(exit::USAGE);
    }
    for (name, side) in [("A", &a), ("B", &b)] {
        for (p, k, n) in side.iter() {
            println!("{name}: {} — {}", p.display(), SuccessRate::new(*k, *n));
        }
    }
    if a.len() == 1 && b.len() == 1 {
        let ((_, k1, n1), (_, k2, n2)) = (&a[0], &b[0]);
        let (lo, hi) = newcombe_diff_95(*k1, *n1, *k2, *n2);
        let d = *k1 as f64 / *n1 as f64 - *k2 as f64 / *n2 as f64;
        println!(
            "difference A − B in success rate: {:+.0} points, 95% interval [{:+.0}, {:+.0}] (Newcombe's hybrid score \
             interval over the episodes of one run each)",
            100.0 * d,
            100.0 * lo,
            100.0 * hi
        );
        println!(
            "{}",
            if lo > 0.0 || hi < 0.0 {
                "A and B differ (the interval excludes 0)"
            } else {
                "no difference shown (the interval includes 0); more episodes or seeds would narrow it"
            }
        );
        return Ok(exit::OK);
    }
    let rate = |s: &[(PathBuf, u64, u64)]| -> Vec<f64> { s.iter().map(|(_, k, n)| *k as f64 / *n as f64).collect() };
    let (ra, rb) = (rate(&a), rate(&b));
    for (name, r) in [("A", &ra), ("B", &rb)] {
        let (lo, hi) = iqm_bootstrap_95(r, args.resamples, 1);
        println!(
            "{name}: interquartile mean of {} seeds {:.0}% [{:.0}–{:.0}%] (95% bootstrap over seeds)",
            r.len(),
            100.0 * interquartile_mean(r),
            100.0 * lo,
            100.0 * hi
        );
    }
    let (lo, hi) = iqm_diff_bootstrap_95(&ra, &rb, args.resamples, 2);
    let p = iqm_permutation_p(&ra, &rb, args.resamples, 3);
    println!(
        "difference of the interquartile means A − B: {:+.0} points, 95% interval [{:+.0}, {:+.0}] (stratified \
         bootstrap); permutation test p = {p:.3} ({} seeds against {})",
        100.0 * (interquartile_mean(&ra) - interquartile_mean(&rb)),
        100.0 * lo,
        100.0 * hi,
        ra.len(),
        rb.len()
    );
    println!(
        "{}",
        if p < 0.05 && (lo > 0.0 || hi < 0.0) {
            "A and B differ (p < 0.05 and the interval excludes 0)"
        } else {
            "no difference shown at the 5% level; more seeds would tell"
        }
    );
    Ok(exit::OK)
}
