//! Facts extracted from a text: message ids, error codes, NT status names, releases, commands,
//! /QNTC paths and circumstances, each with the line it came from.

#[derive(Debug, Clone, Default)]
pub struct Evidence {}

impl Evidence {
    /// A stable key for "the same evidence": the sorted message ids, error codes and NT status
    /// names, joined with `|` (e.g. `3401|CPDB053`). Empty when the text has none of them;
    /// prose-only texts are never folded or used for learning.
    pub fn key(&self) -> String {
        String::new()
    }
}
