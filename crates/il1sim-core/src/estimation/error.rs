//! The estimation layer's error: which subject, where in its data (time, dataset line) when
//! the failure is tied to one, and what went wrong.

use thiserror::Error;

#[derive(Debug, Clone, Error)]
#[error("subject {subject}{}: {message}", place(.time_h, .line))]
pub struct EstimationError {
    /// The subject's ID as written in the dataset.
    pub subject: String,
    /// Time of the observation or of the solver failure (h), when there is one.
    pub time_h: Option<f64>,
    /// 1-based line of the dataset record, when there is one.
    pub line: Option<usize>,
    pub message: String,
}

fn place(time_h: &Option<f64>, line: &Option<usize>) -> String {
    let mut s = String::new();
    if let Some(t) = time_h {
        s.push_str(&format!(", time {t} h"));
    }
    if let Some(l) = line {
        s.push_str(&format!(", line {l}"));
    }
    s
}

impl EstimationError {
    pub fn new(subject: &str, message: impl Into<String>) -> Self {
        EstimationError {
            subject: subject.to_string(),
            time_h: None,
            line: None,
            message: message.into(),
        }
    }
    pub fn at_time(mut self, time_h: f64) -> Self {
        self.time_h = Some(time_h);
        self
    }
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}
