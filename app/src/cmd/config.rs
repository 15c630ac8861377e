//! `corrigo config`: checking a cell config.

use anyhow::Result;
use clap::Subcommand;
use corrigo_app::{config_file, exit};
use std::path::PathBuf;

/// The `corrigo config` subcommands.
#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Validate a config file: prints "ok", or every problem with file, key, value and allowed range.
    Check {
        /// The cell config (TOML).
        file: PathBuf,
    },
}

/// Runs `corrigo config …`; returns the exit code ([`exit::CONFIG`] for an invalid config).
pub fn run(cmd: ConfigCmd) -> Result<i32> {
    match cmd {
        ConfigCmd::Check { file } => match config_file::load(&file) {
            Ok(_) => {
                println!("ok");
                Ok(exit::OK)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(exit::CONFIG)
            }
        },
    }
}
