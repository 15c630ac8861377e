//! Writing a Feetech arm's calibration ([`controller::drivers::feetech::Calibration`]) into its cell config:
//! `driver.zero_offset`, `driver.jaw_range` and every joint's `lower` / `upper`, keeping the file's comments and
//! layout, checked by loading the result, with the previous file kept as a backup.

use anyhow::{Context, Result, bail};
use controller::drivers::feetech::Calibration;
use interfaces::CellConfig;
use std::io::Write;
use std::path::{Path, PathBuf};
use toml_edit::{Array, DocumentMut, Item, Value, value};

/// Rounds to 0.1 mrad (well under one servo count of 1.5 mrad) for a readable file.
fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn floats(v: impl IntoIterator<Item = f64>) -> Value {
    Value::Array(v.into_iter().map(round).collect::<Array>())
}

/// The config text `text` (of `file`) with `cal` written into it. Refuses a config whose driver is not
/// `feetech` or whose joint count differs, and checks that the result loads and validates.
pub fn apply(text: &str, file: &str, cal: &Calibration) -> Result<String> {
    let mut doc: DocumentMut = text.parse().with_context(|| format!("{file}: not valid TOML"))?;
    let driver =
        doc.get_mut("driver").and_then(Item::as_table_like_mut).with_context(|| format!("{file}: no [driver]"))?;
    if driver.get("kind").and_then(Item::as_str) != Some("feetech") {
        bail!("{file}: `driver.kind` is not \"feetech\": only a Feetech arm is calibrated this way");
    }
    driver.insert("zero_offset", Item::Value(floats(cal.zero_offset.iter().copied())));
    if let Some([closed, open]) = cal.jaw_range {
        driver.insert("jaw_range", Item::Value(floats([closed, open])));
    }
    let joints = doc
        .get_mut("robot")
        .and_then(|r| r.get_mut("joints"))
        .and_then(Item::as_array_of_tables_mut)
        .with_context(|| format!("{file}: no [[robot.joints]]"))?;
    if joints.len() != cal.lower.len() {
        bail!("{file}: {} joints in the config, {} calibrated", joints.len(), cal.lower.len());
    }
    for (j, t) in joints.iter_mut().enumerate() {
        t.insert("lower", value(round(cal.lower[j])));
        t.insert("upper", value(round(cal.upper[j])));
    }
    let out = doc.to_string();
    CellConfig::from_toml_str(&out, file).with_context(|| format!("{file}: the calibrated config does not load"))?;
    Ok(out)
}

/// Writes `text` to `path` after copying the present file to `<path>.bak-<UTC time>` (returned): the new file
/// is written beside it, fsynced and renamed over it, so a crash leaves either the old or the new file.
pub fn write_with_backup(path: &Path, text: &str) -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut backup = path.as_os_str().to_owned();
    backup.push(format!(".bak-{stamp}"));
    let backup = PathBuf::from(backup);
    std::fs::copy(path, &backup).with_context(|| format!("backing up {} to {}", path.display(), backup.display()))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".calibrating");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::config::DriverConfig;

    const SO101: &str = include_str!("../../hardware_configs/so101.toml");

    fn cal() -> Calibration {
        Calibration {
            zero_offset: vec![0.1, -0.2, 0.3, -0.4, 0.5],
            lower: vec![-1.5, -1.6, -1.4, -1.3, -2.5],
            upper: vec![1.5, 1.6, 1.4, 1.3, 2.5],
            jaw_range: Some([0.05, 1.45]),
            counts: Vec::new(),
            samples: 10,
        }
    }

    #[test]
    fn a_calibration_lands_in_the_config_and_the_comments_stay() {
        let out = apply(SO101, "so101.toml", &cal()).expect("applies");
        let cfg = CellConfig::from_toml_str(&out, "so101.toml").expect("loads");
        let DriverConfig::Feetech(d) = &cfg.driver else { panic!("feetech") };
        assert_eq!(d.zero_offset, cal().zero_offset);
        assert_eq!(d.jaw_range, [0.05, 1.45]);
        assert_eq!(cfg.robot.joints.iter().map(|j| j.lower).collect::<Vec<_>>(), cal().lower);
        assert_eq!(cfg.robot.joints.iter().map(|j| j.upper).collect::<Vec<_>>(), cal().upper);
        assert!(out.contains("# The SO-101 follower arm"), "the header comment is kept");
        assert!(out.contains("# the STS3215's factory setting"), "inline comments are kept");
    }

    #[test]
    fn a_config_of_another_arm_or_joint_count_is_refused() {
        let panda = include_str!("../../hardware_configs/sim_panda.toml");
        let e = apply(panda, "sim_panda.toml", &cal()).expect_err("not feetech").to_string();
        assert!(e.contains("sim_panda.toml") && e.contains("feetech"), "{e}");
        let mut four = cal();
        four.lower.pop();
        four.upper.pop();
        let e = apply(SO101, "so101.toml", &four).expect_err("5 vs 4").to_string();
        assert!(e.contains("5 joints") && e.contains("4 calibrated"), "{e}");
        let mut inverted = cal();
        inverted.lower[0] = 2.0; // above its upper limit: the result would not validate
        assert!(apply(SO101, "so101.toml", &inverted).is_err());
    }

    #[test]
    fn writing_keeps_the_previous_file_as_a_backup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("so101.toml");
        std::fs::write(&path, SO101).expect("write");
        let out = apply(SO101, "so101.toml", &cal()).expect("applies");
        let backup = write_with_backup(&path, &out).expect("written");
        assert_eq!(std::fs::read_to_string(&backup).expect("backup"), SO101);
        assert_eq!(std::fs::read_to_string(&path).expect("new"), out);
        assert!(!dir.path().join("so101.toml.calibrating").exists());
    }
}
