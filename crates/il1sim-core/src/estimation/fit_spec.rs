//! What a population fit estimates, from the `[estimation]` table of a design file: the
//! typical values (θ: base parameters of the model, initial values in their declared units),
//! the inter-individual variability (diagonal Ω on named parameters, base or derived, initial
//! variances of η) and the residual error of each observable (initial additive and
//! proportional SDs; a 0 is fixed at 0).
//!
//! ```toml
//! [estimation]
//! theta = [{ parameter = "CL_anakinra_adult", initial = 6.0 }]
//! omega = [{ parameter = "CL_anakinra", initial = 0.15 }]
//! residual = [{ observable = "anakinra_plasma", additive = 20.0, proportional = 0.1 }]
//! ```

use crate::exchange::spans::{line_of, ScenarioError};
use crate::model::definition::{Model, ParamId};
use serde::Deserialize;
use toml::Spanned;

/// One estimated typical value.
#[derive(Debug, Clone, PartialEq)]
pub struct ThetaSpec {
    pub name: String,
    pub id: ParamId,
    /// Initial value, canonical units.
    pub initial: f64,
}

/// One η (diagonal element of Ω).
#[derive(Debug, Clone, PartialEq)]
pub struct EtaSpec {
    pub name: String,
    pub id: ParamId,
    /// Initial variance of η (log scale).
    pub initial_variance: f64,
}

/// One observable's residual error: initial SDs; a 0 is not estimated.
#[derive(Debug, Clone, PartialEq)]
pub struct ResidualSpecInit {
    pub observable: usize,
    pub additive: f64,
    pub proportional: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FitSpec {
    pub theta: Vec<ThetaSpec>,
    pub eta: Vec<EtaSpec>,
    pub residual: Vec<ResidualSpecInit>,
}

#[derive(Debug, Deserialize)]
struct FileWithEstimation {
    estimation: Option<Spanned<EstimationTable>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EstimationTable {
    theta: Vec<Spanned<ThetaEntry>>,
    #[serde(default)]
    omega: Vec<Spanned<OmegaEntry>>,
    residual: Vec<Spanned<ResidualEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThetaEntry {
    parameter: String,
    initial: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OmegaEntry {
    parameter: String,
    initial: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResidualEntry {
    observable: String,
    #[serde(default)]
    additive: f64,
    #[serde(default)]
    proportional: f64,
}

/// Parse the `[estimation]` table of a design file (the rest of the file is read elsewhere).
pub fn parse_fit_spec(text: &str, origin: &str, model: &Model) -> Result<FitSpec, ScenarioError> {
    let file: FileWithEstimation = toml::from_str(text).map_err(|e| ScenarioError {
        origin: origin.into(),
        line: e.span().map(|s| line_of(text, &s)),
        key: "estimation".into(),
        message: e.message().to_string(),
    })?;
    let table = file.estimation.ok_or_else(|| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "estimation".into(),
        message: "a population fit needs an [estimation] table (theta, omega, residual)".into(),
    })?;
    let err = |span: std::ops::Range<usize>, key: &str, message: String| ScenarioError {
        origin: origin.into(),
        line: Some(line_of(text, &span)),
        key: format!("estimation.{key}"),
        message,
    };
    let table = table.into_inner();
    let mut theta = Vec::new();
    for (k, t) in table.theta.iter().enumerate() {
        let key = format!("theta[{k}]");
        let e = t.get_ref();
        let id = model.parameter_id(&e.parameter).ok_or_else(|| {
            err(
                t.span(),
                &key,
                format!(
                    "'{}' is not a parameter of model '{}'",
                    e.parameter, model.name
                ),
            )
        })?;
        let p = &model.parameters[id];
        if p.expr.is_some() {
            return Err(err(
                t.span(),
                &key,
                format!(
                    "'{}' is derived ({}); estimate one of its inputs",
                    e.parameter,
                    p.expr.as_deref().unwrap_or("")
                ),
            ));
        }
        if !(e.initial.is_finite() && e.initial > 0.0) {
            return Err(err(
                t.span(),
                &key,
                format!(
                    "initial {} is not allowed; a number > 0 {} (θ is estimated on the log scale)",
                    e.initial, p.unit
                ),
            ));
        }
        if theta.iter().any(|s: &ThetaSpec| s.id == id) {
            return Err(err(
                t.span(),
                &key,
                format!("'{}' is listed twice", e.parameter),
            ));
        }
        theta.push(ThetaSpec {
            name: e.parameter.clone(),
            id,
            initial: e.initial * p.to_canonical,
        });
    }
    if theta.is_empty() {
        return Err(ScenarioError {
            origin: origin.into(),
            line: None,
            key: "estimation.theta".into(),
            message: "no θ given; list at least one parameter to estimate".into(),
        });
    }
    let mut eta = Vec::new();
    for (k, o) in table.omega.iter().enumerate() {
        let key = format!("omega[{k}]");
        let e = o.get_ref();
        let id = model.parameter_id(&e.parameter).ok_or_else(|| {
            err(
                o.span(),
                &key,
                format!(
                    "'{}' is not a parameter of model '{}'",
                    e.parameter, model.name
                ),
            )
        })?;
        if !(e.initial.is_finite() && e.initial > 0.0) {
            return Err(err(
                o.span(),
                &key,
                format!("initial {} is not allowed; a variance of η > 0", e.initial),
            ));
        }
        if eta.iter().any(|s: &EtaSpec| s.id == id) {
            return Err(err(
                o.span(),
                &key,
                format!("'{}' is listed twice", e.parameter),
            ));
        }
        eta.push(EtaSpec {
            name: e.parameter.clone(),
            id,
            initial_variance: e.initial,
        });
    }
    let mut residual = Vec::new();
    for (k, r) in table.residual.iter().enumerate() {
        let key = format!("residual[{k}]");
        let e = r.get_ref();
        let observable = model.observable_id(&e.observable).ok_or_else(|| {
            let names: Vec<&str> = model.observables.iter().map(|o| o.name.as_str()).collect();
            err(
                r.span(),
                &key,
                format!(
                    "'{}' is not allowed; allowed: {}",
                    e.observable,
                    names.join(", ")
                ),
            )
        })?;
        for (what, v) in [("additive", e.additive), ("proportional", e.proportional)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(err(
                    r.span(),
                    &format!("{key}.{what}"),
                    format!("{v} is not allowed; an SD >= 0 (0: not estimated)"),
                ));
            }
        }
        if e.additive == 0.0 && e.proportional == 0.0 {
            return Err(err(
                r.span(),
                &key,
                "additive and proportional are both 0; give at least one initial SD > 0".into(),
            ));
        }
        if residual
            .iter()
            .any(|s: &ResidualSpecInit| s.observable == observable)
        {
            return Err(err(
                r.span(),
                &key,
                format!("'{}' is listed twice", e.observable),
            ));
        }
        residual.push(ResidualSpecInit {
            observable,
            additive: e.additive,
            proportional: e.proportional,
        });
    }
    Ok(FitSpec {
        theta,
        eta,
        residual,
    })
}
