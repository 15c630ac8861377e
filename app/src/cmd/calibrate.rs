//! `corrigo calibrate`: guided calibration of a Feetech arm (SO-100/SO-101) by hand, torque off; writes the
//! servos' zeros, the joints' ranges and the jaw's range into the config, keeping a backup.

use super::common::ConfigArg;
use anyhow::{Context, Result, bail};
use clap::Args;
use controller::drivers::feetech::{Calibrator, FeetechArm};
use corrigo_app::exit;
use interfaces::config::DriverConfig;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Arguments of `corrigo calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Limits this far inside the range moved through by hand, rad.
    #[arg(long, default_value_t = 0.05)]
    margin: f64,
    /// Print the result without writing the config.
    #[arg(long)]
    dry_run: bool,
}

fn wait_enter(lines: &mpsc::Receiver<String>, prompt: &str) -> Result<()> {
    println!("{prompt}");
    lines.recv().context("standard input closed before Enter")?;
    Ok(())
}

/// Runs `corrigo calibrate`.
pub fn run(args: CalibrateArgs) -> Result<i32> {
    let path = &args.cfg.config;
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let cfg = args.cfg.load()?;
    let DriverConfig::Feetech(d) = &cfg.driver else {
        bail!(
            "{}: `driver.kind` is not \"feetech\": `corrigo calibrate` calibrates a Feetech arm (SO-100/SO-101)",
            path.display()
        );
    };
    if !(0.0..=0.5).contains(&args.margin) {
        bail!("--margin {}: between 0 and 0.5 rad", args.margin);
    }
    let mut uncal = d.clone();
    uncal.zero_offset = Vec::new();
    println!(
        "calibrating {} on {} ({} servos{}); torque stays off: support the arm.",
        cfg.cell.name,
        d.port,
        d.ids.len(),
        if d.gripper_id.is_some() { " and the jaw" } else { "" }
    );
    let clock: Arc<dyn interfaces::Clock> = Arc::new(interfaces::MonotonicClock);
    let arm = FeetechArm::open(&uncal, &cfg.robot, &cfg.gripper, clock)?;
    let names = cfg.robot.joints.iter().map(|j| j.name.clone()).collect();
    let mut cal = Calibrator::new(arm, &uncal, names);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() || tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    cal.sample()?;
    wait_enter(
        &lines,
        "1/2 Hold the arm in its zero pose: upper arm straight up, forearm and gripper pointing forward, wrist \
         level, jaw closed. Press Enter.",
    )?;
    cal.record_zero()?;
    println!(
        "2/2 Move every joint slowly through its whole range, one after the other, and open and close the jaw. \
         Press Enter when done."
    );
    let tty = std::io::stderr().is_terminal();
    let mut last_print = Instant::now();
    loop {
        cal.sample()?;
        match lines.try_recv() {
            Ok(_) => break,
            Err(mpsc::TryRecvError::Empty) => {}
            Err(mpsc::TryRecvError::Disconnected) => bail!("standard input closed before Enter"),
        }
        if last_print.elapsed() >= Duration::from_millis(if tty { 200 } else { 5000 }) {
            last_print = Instant::now();
            if let Some(p) = cal.progress() {
                let s: Vec<String> = p.iter().map(|(q, lo, hi)| format!("{q:+.2} [{lo:+.2} {hi:+.2}]")).collect();
                if tty {
                    eprint!("\r  {}   ", s.join("  "));
                    let _ = std::io::stderr().flush();
                } else {
                    eprintln!("  {}", s.join("  "));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if tty {
        eprintln!();
    }
    let result = cal.result(args.margin)?;
    println!("{:<16} {:>4} {:>12} {:>22} {:>22}", "joint", "ID", "zero offset", "limits before", "limits after");
    for (j, joint) in cfg.robot.joints.iter().enumerate() {
        println!(
            "{:<16} {:>4} {:>+12.4} {:>+10.3} {:>+10.3}  {:>+10.3} {:>+10.3}",
            joint.name, d.ids[j], result.zero_offset[j], joint.lower, joint.upper, result.lower[j], result.upper[j]
        );
    }
    if let Some([closed, open]) = result.jaw_range {
        println!("jaw range: closed {closed:+.3} rad, open {open:+.3} rad ({} samples in all)", result.samples);
    }
    let out = corrigo_app::calibrate::apply(&text, &path.display().to_string(), &result)?;
    if args.dry_run {
        println!("--dry-run: {} left as it was", path.display());
        return Ok(exit::OK);
    }
    let backup = corrigo_app::calibrate::write_with_backup(path, &out)?;
    println!("wrote {} (the previous file is {})", path.display(), backup.display());
    Ok(exit::OK)
}
