//! `config_toml`: the cell config loader (TOML, schema, validation).

use crate::self_equal;
use interfaces::{CellConfig, ConfigError};

const FILE: &str = "fuzz.toml";

/// A config file's text (UTF-8). A config that loads is valid, writes back to TOML, and that text loads again into
/// an equal config (the same text, for a config holding a NaN). A refusal names the file and, for a schema error,
/// a line and column inside the text; an invalid config lists at least one problem.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match CellConfig::from_toml_str(text, FILE) {
        Ok(cfg) => {
            assert_eq!(cfg.validate(), [], "a loaded config is valid");
            let out = cfg.to_toml_string().unwrap_or_else(|e| panic!("a loaded config does not write: {e}"));
            let back = CellConfig::from_toml_str(&out, FILE)
                .unwrap_or_else(|e| panic!("a written config does not load: {e}\n--- written:\n{out}"));
            if self_equal(&cfg) {
                assert_eq!(back, cfg, "a config changed through TOML\n--- written:\n{out}");
            } else {
                assert_eq!(back.to_toml_string().expect("writes"), out, "a config changed through TOML");
            }
        }
        Err(e) => {
            assert!(e.to_string().starts_with(FILE), "{e}");
            match e {
                ConfigError::Schema { line, column, .. } => {
                    let lines = text.matches('\n').count() + 1;
                    assert!(line <= lines, "line {line} of a text of {lines} lines");
                    if line > 0 {
                        let width = text.split('\n').nth(line - 1).map_or(0, |l| l.len());
                        assert!((1..=width + 1).contains(&column), "column {column} of line {line} ({width} bytes)");
                    }
                }
                ConfigError::Invalid { problems, .. } => assert!(!problems.is_empty()),
                ConfigError::NotFound { .. } | ConfigError::Unreadable { .. } => panic!("no I/O when parsing: {e}"),
            }
        }
    }
}
