//! The targets file (`validation/targets.toml`): published value or range, tolerance and
//! its basis, source; loaded and checked with the line of each error, and run.

use super::experiments::{experiment_unit, run_experiment, EXPERIMENTS};
use crate::error::ModelError;
use crate::model::definition::Model;
use serde::Deserialize;

/// The bundled targets file.
pub const TARGETS_TOML: &str = include_str!("../../../../validation/targets.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    targets: Vec<Target>,
}

/// What a target claims and where it comes from.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub id: String,
    pub group: String,
    /// `engine` (closed forms), `calibration` (a figure a parameter was fitted to) or
    /// `prediction` (a figure the model was not tuned to).
    pub role: String,
    pub quantity: String,
    pub experiment: String,
    pub unit: String,
    pub check: Check,
    pub source: String,
    /// Why the tolerance is what it is (published spread, label range, precision).
    pub tolerance_basis: String,
    /// Why the model is known not to meet this target. A marked target is reported as
    /// `known` while it fails and as an error once it passes (remove the mark then): the mark
    /// records a limitation, it never hides a change.
    #[serde(default)]
    pub known_failure: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Check {
    Range { low: f64, high: f64 },
    Relative { value: f64, tolerance: f64 },
    AtMost { value: f64 },
    AtLeast { value: f64 },
}

impl Check {
    pub fn passes(&self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        match *self {
            Check::Range { low, high } => x >= low && x <= high,
            Check::Relative { value, tolerance } => ((x - value) / value).abs() <= tolerance,
            Check::AtMost { value } => x <= value,
            Check::AtLeast { value } => x >= value,
        }
    }

    /// Whether the check can be evaluated at all: finite numbers, a range with low <= high,
    /// a relative check around a non-zero value with a tolerance > 0. A check that cannot
    /// pass is a mistake in the targets file, reported as such instead of as a FAIL.
    pub fn validate(&self) -> Result<(), String> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!(
                    "{name} = {v} is not allowed; it must be a finite number"
                ))
            }
        };
        match *self {
            Check::Range { low, high } => {
                finite("range.low", low)?;
                finite("range.high", high)?;
                if low > high {
                    return Err(format!(
                        "range low = {low}, high = {high} is not allowed; low must be <= high"
                    ));
                }
            }
            Check::Relative { value, tolerance } => {
                finite("relative.value", value)?;
                finite("relative.tolerance", tolerance)?;
                if value == 0.0 {
                    return Err(
                        "relative.value = 0 is not allowed; a relative tolerance needs \
                                a non-zero value (use range or at_most)"
                            .into(),
                    );
                }
                if tolerance <= 0.0 {
                    return Err(format!(
                        "relative.tolerance = {tolerance} is not allowed; it must be > 0"
                    ));
                }
            }
            Check::AtMost { value } => finite("at_most.value", value)?,
            Check::AtLeast { value } => finite("at_least.value", value)?,
        }
        Ok(())
    }

    /// The published figure with its tolerance, as shown to users.
    pub fn describe(&self) -> String {
        match *self {
            Check::Range { low, high } => format!("{} to {}", fmt_num(low), fmt_num(high)),
            Check::Relative { value, tolerance } => {
                format!("{} ± {}%", fmt_num(value), fmt_num(tolerance * 100.0))
            }
            Check::AtMost { value } => format!("≤ {}", fmt_num(value)),
            Check::AtLeast { value } => format!("≥ {}", fmt_num(value)),
        }
    }
}

/// Compact number formatting for tables.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e4 || x.abs() < 1e-3 {
        format!("{x:.2e}")
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// The targets of a targets file with their spans, read only to put a line on an error.
#[derive(Deserialize)]
struct TargetSpans {
    #[serde(default)]
    targets: Vec<toml::Spanned<toml::Value>>,
}

/// Parse and check a targets file: every target names a known experiment with that
/// experiment's unit, a usable check (finite bounds, low <= high, a tolerance > 0), a unique
/// id and non-empty text fields. Errors name the file, the line of the target, the field,
/// the value and what is allowed; a bad target is an input error, never a FAIL.
pub fn load_targets(text: &str, origin: &str) -> Result<Vec<Target>, ModelError> {
    let line_of = |start: usize| text[..start.min(text.len())].matches('\n').count() + 1;
    let f: TargetsFile = toml::from_str(text).map_err(|e| {
        let place = match e.span() {
            Some(span) => format!("{origin}:{}", line_of(span.start)),
            None => origin.to_string(),
        };
        ModelError::invalid(
            place,
            format!(
                "targets file is not valid TOML or has an unknown field: {}",
                e.message().trim()
            ),
        )
    })?;
    // The line of target i, when it can be found.
    let place = |i: usize, id: &str, field: &str| {
        let line = toml::from_str::<TargetSpans>(text)
            .ok()
            .and_then(|s| s.targets.get(i).map(|t| line_of(t.span().start)));
        let at = line.map_or(origin.to_string(), |l| format!("{origin}:{l}"));
        format!("{at}: target '{id}'.{field}")
    };
    for (i, t) in f.targets.iter().enumerate() {
        let bad = |field: &str, message: String| {
            Err(ModelError::invalid(place(i, &t.id, field), message))
        };
        for (field, value) in [
            ("id", &t.id),
            ("group", &t.group),
            ("quantity", &t.quantity),
            ("source", &t.source),
            ("tolerance_basis", &t.tolerance_basis),
        ] {
            if value.trim().is_empty() {
                return bad(
                    field,
                    format!("'{value}' is not allowed; every target needs a non-empty {field}"),
                );
            }
        }
        if let Some(reason) = &t.known_failure {
            if reason.trim().is_empty() {
                return bad(
                    "known_failure",
                    "'' is not allowed; a known failure says why the model misses the target"
                        .into(),
                );
            }
        }
        if let Some(j) = f.targets[..i].iter().position(|o| o.id == t.id) {
            return bad(
                "id",
                format!(
                    "'{}' is used twice (also targets[{j}]); target ids must differ",
                    t.id
                ),
            );
        }
        if !["engine", "calibration", "prediction"].contains(&t.role.as_str()) {
            return bad(
                "role",
                format!(
                    "'{}' is not allowed; allowed: engine, calibration, prediction",
                    t.role
                ),
            );
        }
        let Some(unit) = experiment_unit(&t.experiment) else {
            return bad(
                "experiment",
                format!(
                    "'{}' is not an experiment; allowed: {}",
                    t.experiment,
                    EXPERIMENTS.join(", ")
                ),
            );
        };
        if t.unit != unit {
            return bad(
                "unit",
                format!(
                    "'{}' is not allowed; experiment '{}' gives a value in '{unit}'",
                    t.unit, t.experiment
                ),
            );
        }
        if let Err(message) = t.check.validate() {
            return bad("check", message);
        }
    }
    Ok(f.targets)
}

/// The result of one target.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub target: Target,
    pub model_value: Result<f64, String>,
    /// Whether the model's value meets the check (whatever the target's `known_failure`).
    pub passed: bool,
}

/// What a target's result means, its `known_failure` mark taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Meets the check and is not marked.
    Pass,
    /// Misses the check (or its experiment failed) and is not marked.
    Fail,
    /// Marked as a known failure and still misses the check with a computed value.
    Known,
    /// Marked as a known failure but meets the check: the mark is stale and must be removed.
    /// Counted as a failure, so that a fixed limitation cannot stay marked.
    StaleMark,
}

impl Status {
    /// The word shown in the table.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Known => "known",
            Status::StaleMark => "FIXED",
        }
    }

    /// Whether this result makes the validation fail.
    pub fn is_failure(&self) -> bool {
        matches!(self, Status::Fail | Status::StaleMark)
    }
}

impl Outcome {
    pub fn status(&self) -> Status {
        match (&self.target.known_failure, self.passed) {
            (None, true) => Status::Pass,
            (None, false) => Status::Fail,
            (Some(_), true) => Status::StaleMark,
            // An experiment that errors is not the known limitation: it fails.
            (Some(_), false) if self.model_value.is_err() => Status::Fail,
            (Some(_), false) => Status::Known,
        }
    }

    /// Why the result is a failure, for a test or a report; None when it is not one.
    pub fn failure_message(&self) -> Option<String> {
        let t = &self.target;
        match self.status() {
            Status::Pass | Status::Known => None,
            Status::Fail => Some(format!(
                "{}: published {} {}, model {:?} ({})",
                t.id,
                t.check.describe(),
                t.unit,
                self.model_value,
                t.source
            )),
            Status::StaleMark => Some(format!(
                "{}: marked as a known failure ({}) but now passes (published {} {}, model \
                 {:?}): remove its known_failure line from validation/targets.toml",
                t.id,
                t.known_failure.as_deref().unwrap_or(""),
                t.check.describe(),
                t.unit,
                self.model_value
            )),
        }
    }
}

pub fn run_target(model: &Model, target: &Target) -> Outcome {
    let model_value = run_experiment(model, &target.experiment).map_err(|e| e.to_string());
    let passed = model_value
        .as_ref()
        .map(|v| target.check.passes(*v))
        .unwrap_or(false);
    Outcome {
        target: target.clone(),
        model_value,
        passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[targets]]
id = "x"
group = "g"
role = "prediction"
quantity = "q"
experiment = "healthy_crp"
unit = "mg/L"
check = { at_most = { value = 1.0 } }
source = "s"
tolerance_basis = "b"
"#;

    fn outcome(known: Option<&str>, value: Result<f64, String>, passed: bool) -> Outcome {
        let mut target = load_targets(ONE, "t").unwrap().remove(0);
        target.known_failure = known.map(str::to_string);
        Outcome {
            target,
            model_value: value,
            passed,
        }
    }

    #[test]
    fn known_failure_is_optional_and_must_say_why() {
        assert_eq!(load_targets(ONE, "t").unwrap()[0].known_failure, None);
        let marked = format!("{ONE}known_failure = \"out of reach\"\n");
        assert_eq!(
            load_targets(&marked, "t").unwrap()[0]
                .known_failure
                .as_deref(),
            Some("out of reach")
        );
        let empty = format!("{ONE}known_failure = \" \"\n");
        let e = load_targets(&empty, "t").unwrap_err().to_string();
        assert!(e.contains("known_failure"), "{e}");
    }

    #[test]
    fn status_of_marked_and_unmarked_targets() {
        assert_eq!(outcome(None, Ok(0.5), true).status(), Status::Pass);
        assert_eq!(outcome(None, Ok(2.0), false).status(), Status::Fail);
        assert_eq!(outcome(Some("r"), Ok(2.0), false).status(), Status::Known);
        // A mark that no longer applies is a failure that says to remove it.
        let stale = outcome(Some("r"), Ok(0.5), true);
        assert_eq!(stale.status(), Status::StaleMark);
        assert!(stale.status().is_failure());
        assert!(stale.failure_message().unwrap().contains("remove"));
        // An experiment that errors is not the known limitation.
        let err = outcome(Some("r"), Err("solver".into()), false);
        assert_eq!(err.status(), Status::Fail);
        assert!(outcome(Some("r"), Ok(2.0), false)
            .failure_message()
            .is_none());
    }
}
