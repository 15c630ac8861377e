//! `[fleet]` section: the cells one learner trains from.

use super::validate::Validator;
use serde::{Deserialize, Serialize};

/// `[fleet]` section of the learner's config.
///
/// Several identical cells (same task, same observation and action spec) can feed one learner: it subscribes to
/// the transitions and episode reports of every cell listed here, stores each actor's transitions with its cell
/// and actor id (the record's origin is `<cell>/<actor>@<start>`), publishes the policy weights and the
/// acknowledgements to every cell, and reports metrics per cell and for the fleet. A cell whose transitions do
/// not fit the learner's spec is refused: an error event on that cell and in the learner's log names the cell
/// and the field, and none of its transitions are stored or acknowledged (its actor keeps them in its spool).
///
/// Empty (the default): the learner serves its own cell (`cell.name`) only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// Names of the cells (their `cell.name`), e.g. `["so101_a", "so101_b"]`.
    pub cells: Vec<String>,
}

impl FleetConfig {
    pub(crate) fn validate(&self, v: &mut Validator) {
        for (i, c) in self.cells.iter().enumerate() {
            if !crate::keys::is_valid_chunk(c) {
                v.push(&format!("fleet.cells[{i}]"), format!("{c:?}"), "a cell name: letters, digits, '_' and '-'");
            } else if self.cells[..i].contains(c) {
                v.push(&format!("fleet.cells[{i}]"), format!("{c:?}"), "each cell listed once");
            }
        }
    }

    /// The cells a learner of cell `own` serves: the listed ones, or `own` alone.
    pub fn cells_or(&self, own: &str) -> Vec<String> {
        if self.cells.is_empty() { vec![own.to_string()] } else { self.cells.clone() }
    }
}
