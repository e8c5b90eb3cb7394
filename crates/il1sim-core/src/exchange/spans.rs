//! Where a value stands in a file: the error a scenario, population or trial file reports
//! (file, line, key, message) and the line of a TOML span.

use std::fmt;
use std::ops::Range;

/// An error in a scenario file, with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    pub origin: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}: {}", self.origin, l, self.key, self.message),
            None => write!(f, "{}: {}: {}", self.origin, self.key, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// 1-based line of a span's start.
pub(crate) fn line_of(text: &str, span: &Range<usize>) -> usize {
    text[..span.start.min(text.len())].matches('\n').count() + 1
}
