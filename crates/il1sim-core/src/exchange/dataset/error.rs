//! The error of a dataset: file, line, column, the value found and what is allowed, in the
//! style of `crate::error` (what, where, what is allowed).

use thiserror::Error;

/// A dataset that cannot mean what it says. `line` is 1-based (the header is line 1); 0 for
/// an error of the whole file (a missing column).
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{}", self.describe())]
pub struct DatasetError {
    pub file: String,
    pub line: usize,
    /// The column as written in the header (or the required column's name).
    pub column: String,
    pub value: String,
    pub allowed: String,
}

impl DatasetError {
    pub fn new(
        file: &str,
        line: usize,
        column: impl Into<String>,
        value: impl ToString,
        allowed: impl Into<String>,
    ) -> DatasetError {
        DatasetError {
            file: file.into(),
            line,
            column: column.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }

    fn describe(&self) -> String {
        let place = if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}", self.file, self.line)
        };
        if self.value.is_empty() {
            format!("{place}: column {}: {}", self.column, self.allowed)
        } else {
            format!(
                "{place}: column {} = '{}': {}",
                self.column, self.value, self.allowed
            )
        }
    }
}
