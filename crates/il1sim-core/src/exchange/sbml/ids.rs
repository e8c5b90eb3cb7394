//! SBML ids: valid SIds made from il1sim's names, unique within the document, with the
//! observable columns kept exactly as named.

use crate::error::ModelError;
use std::collections::HashSet;

// ------------------------------------------------------------------------------- ids

/// Names that MathML readers or infix parsers treat specially; never used as ids.
const RESERVED: &[&str] = &[
    "time",
    "avogadro",
    "pi",
    "exponentiale",
    "true",
    "false",
    "notanumber",
    "infinity",
    "inf",
    "nan",
    "delay",
    "rateOf",
    "e",
];

/// Whether `s` is a valid SBML SId: a letter or underscore, then letters, digits, underscores.
pub fn is_valid_sid(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Allocates unique, valid SBML ids (one namespace for compartments, species, parameters,
/// reactions and events).
#[derive(Debug, Default)]
pub(super) struct Ids {
    used: HashSet<String>,
}

impl Ids {
    pub(super) fn sanitize(name: &str) -> String {
        let mut s: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            s.insert(0, '_');
        }
        if RESERVED.contains(&s.as_str()) {
            s.push('_');
        }
        s
    }

    /// A valid id as close to `name` as possible, not used before.
    pub(super) fn claim(&mut self, name: &str) -> String {
        let base = Self::sanitize(name);
        let mut candidate = base.clone();
        let mut k = 2;
        while self.used.contains(&candidate) {
            candidate = format!("{base}_{k}");
            k += 1;
        }
        self.used.insert(candidate.clone());
        candidate
    }

    /// Exactly `name`, or an error if it is not a valid id or already taken.
    pub(super) fn claim_exact(&mut self, name: &str, what: &str) -> Result<String, ModelError> {
        if !is_valid_sid(name) || RESERVED.contains(&name) {
            return Err(ModelError::invalid(
                "export-sbml",
                format!("{what} '{name}' is not a valid SBML id (letters, digits and underscores, not starting with a digit)"),
            ));
        }
        if !self.used.insert(name.to_string()) {
            return Err(ModelError::invalid(
                "export-sbml",
                format!("{what} '{name}' is used twice"),
            ));
        }
        Ok(name.to_string())
    }
}
