//! Reading a cell config file from disk.

use interfaces::{CellConfig, ConfigError};
use std::path::Path;

/// Reads and validates the cell config at `path`. Every error names the file; a missing file, an unreadable
/// file, a syntax or schema error and an out-of-range value each have their own [`ConfigError`] variant.
pub fn load(path: &Path) -> Result<CellConfig, ConfigError> {
    let file = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|e| ConfigError::Unreadable { file: file.clone(), reason: format!("not UTF-8 text: {e}") })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ConfigError::NotFound { file }),
        Err(e) => return Err(ConfigError::Unreadable { file, reason: e.to_string() }),
    };
    CellConfig::from_toml_str(&text, &file)
}

/// Reads the cell config at `path` with `overrides` (`KEY=VALUE`, a dotted key and a TOML value, e.g.
/// `agent.hidden=[64, 64]`, `task.kind="reach"`; a value that is not TOML is taken as a string) put in place
/// before it is validated. Errors name the file and the override.
pub fn load_with(path: &Path, overrides: &[String]) -> Result<CellConfig, ConfigError> {
    if overrides.is_empty() {
        return load(path);
    }
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ConfigError::NotFound { file: file.clone() },
        _ => ConfigError::Unreadable { file: file.clone(), reason: e.to_string() },
    })?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| ConfigError::Unreadable {
        file: file.clone(),
        reason: format!("not TOML: {e}"),
    })?;
    for o in overrides {
        let bad = |why: &str| ConfigError::Unreadable { file: file.clone(), reason: format!("--set {o:?}: {why}") };
        let (key, value) = o.split_once('=').ok_or_else(|| bad("expected KEY=VALUE"))?;
        let parts: Vec<&str> = key.trim().split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad("the key is a dotted path like agent.hidden"));
        }
        let value: toml_edit::Value =
            value.trim().parse().unwrap_or_else(|_| toml_edit::Value::from(value.trim().to_string()));
        let mut table = doc.as_table_mut();
        for p in &parts[..parts.len() - 1] {
            let entry = table.entry(p).or_insert(toml_edit::Item::Table(toml_edit::Table::new()));
            table = entry.as_table_mut().ok_or_else(|| bad(&format!("`{p}` is not a table")))?;
        }
        table.insert(parts[parts.len() - 1], toml_edit::Item::Value(value));
    }
    CellConfig::from_toml_str(&doc.to_string(), &format!("{file} (with --set {})", overrides.join(" --set ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_keys_before_validation_and_are_named_in_errors() {
        let cfg = load_with(Path::new(DEFAULT), &["agent.hidden=[64, 64]".into(), "task.kind=reach".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.agent.hidden, vec![64, 64]);
        assert_eq!(cfg.task.kind, interfaces::config::TaskKind::Reach);
        let err = load_with(Path::new(DEFAULT), &["agent.batch_size=0".into()]).unwrap_err().to_string();
        assert!(err.contains("--set agent.batch_size=0") && err.contains("agent.batch_size"), "{err}");
        let err = load_with(Path::new(DEFAULT), &["agent.hidden".into()]).unwrap_err().to_string();
        assert!(err.contains("expected KEY=VALUE"), "{err}");
    }

    const DEFAULT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../hardware_configs/sim_panda.toml");

    #[test]
    fn loads_the_default_cell() {
        let cfg = load(Path::new(DEFAULT)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.cell.name, "sim_panda");
    }

    #[test]
    fn missing_file_is_named() {
        let err = load(Path::new("/nonexistent/cell.toml")).unwrap_err();
        assert_eq!(err.to_string(), "/nonexistent/cell.toml: config file not found");
    }

    #[test]
    fn unreadable_file_is_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        // A directory cannot be read as a file, whatever the user's privileges (root bypasses chmod).
        let err = load(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ConfigError::Unreadable { .. }), "{err:?}");
        assert!(msg.starts_with(&dir.path().display().to_string()), "{msg}");
        assert!(msg.contains("cannot read config file"), "{msg}");
        let bin = dir.path().join("cell.toml");
        std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
        let msg = load(&bin).unwrap_err().to_string();
        assert!(msg.contains("not UTF-8"), "{msg}");
    }
}
