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

#[cfg(test)]
mod tests {
    use super::*;

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
