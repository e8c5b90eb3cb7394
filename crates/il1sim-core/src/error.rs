//! Errors of the core library. Every variant says what was wrong, where, and what is allowed.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("model file is not valid TOML or has an unknown field: {0}")]
    Syntax(String),
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
}

impl ModelError {
    pub fn invalid(location: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError::Invalid {
            location: location.into(),
            message: message.into(),
        }
    }
}

/// A failure of the ODE solver, with enough context to reproduce it.
#[derive(Debug, Error, Clone)]
#[error("solver failed{context} at t = {time_h:.6} h: {message}; state: {state}")]
pub struct SolveError {
    /// Filled in by callers: scenario, regimen, subject.
    pub context: String,
    pub time_h: f64,
    pub message: String,
    /// `name=value` pairs of the state at the failure.
    pub state: String,
}

impl SolveError {
    pub fn with_context(mut self, context: impl AsRef<str>) -> Self {
        self.context = format!("{} ({})", self.context, context.as_ref());
        self
    }
}

/// Invalid dosing or patient input (values out of range and the like).
#[derive(Debug, Error, Clone)]
#[error("{field} = {value}: {allowed}")]
pub struct InputError {
    pub field: String,
    pub value: String,
    pub allowed: String,
}

impl InputError {
    pub fn new(field: impl Into<String>, value: impl ToString, allowed: impl Into<String>) -> Self {
        InputError {
            field: field.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

#[derive(Debug, Error)]
pub enum SimError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Solve(#[from] SolveError),
    #[error(transparent)]
    Input(#[from] InputError),
}
