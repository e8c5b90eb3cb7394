//! One patient and one regimen, evaluated with some parameters multiplied: the figures a
//! sensitivity refers to, and the parameters that may be varied.

use crate::dosing::regimen::Regimen;
use crate::error::SimError;
use crate::metrics::summarise_with_days;
use crate::model::definition::{Model, ParamId};
use crate::model::patient::Patient;
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use crate::time::same_time;

/// Figures of the summary left out: Tmax moves in steps of the peak grid, so it has no
/// derivative.
const NOT_DIFFERENTIABLE: [&str; 1] = ["tmax"];

/// Site-of-action signals reported at the end of the last dosing interval (their trough)
/// when the disease has the site (the value is finite).
const SITE_SIGNALS: [&str; 2] = ["il1_signal_joint_relative", "il1_signal_cns_relative"];

/// A patient, a regimen and a horizon: the figures of the regimen as a function of
/// multiplicative factors on parameters.
#[derive(Debug, Clone)]
pub struct SensitivityProblem<'m> {
    pub model: &'m Model,
    pub patient: Patient,
    /// Parameter overrides of the scenario (canonical units), applied before the factors.
    pub overrides: Vec<(String, f64)>,
    pub regimen: Regimen,
    pub horizon_h: f64,
    pub crp_days: Vec<u32>,
    pub options: SolverOptions,
}

/// Names and units of the figures, and their values at the nominal parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureValues {
    pub names: Vec<String>,
    pub units: Vec<String>,
    pub values: Vec<f64>,
}

impl<'m> SensitivityProblem<'m> {
    /// The figures with `factors` applied (parameter, multiplier): a new subject (its
    /// untreated state moves with the parameters too), then the regimen.
    pub fn figures(&self, factors: &[(ParamId, f64)]) -> Result<FigureValues, SimError> {
        let subject = Subject::with_variability(
            self.model,
            &self.patient,
            &self.overrides,
            factors,
            self.options,
        )?;
        let grid = [self.horizon_h];
        let (traj, summary) = summarise_with_days(
            &subject,
            &self.regimen,
            self.horizon_h,
            &grid,
            &self.crp_days,
        )?;
        let mut out = FigureValues {
            names: vec![],
            units: vec![],
            values: vec![],
        };
        for f in &summary.figures {
            if !NOT_DIFFERENTIABLE.contains(&f.name.as_str()) {
                out.names.push(f.name.clone());
                out.units.push(f.unit.clone());
                out.values.push(f.value);
            }
        }
        // The trough of the last interval is the end of the horizon when dosing goes on to
        // the end; otherwise the value is the one at the end.
        let suffix = if same_time(summary.interval_end_h, self.horizon_h) {
            "trough"
        } else {
            "end"
        };
        if let Some(y) = traj.states.last() {
            let observed = subject.observe(y);
            for name in SITE_SIGNALS {
                if let Some(i) = self.model.observable_id(name) {
                    if observed[i].is_finite() {
                        out.names.push(format!("{name}_{suffix}"));
                        out.units.push(self.model.observables[i].unit.clone());
                        out.values.push(observed[i]);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The parameters a local analysis varies: base parameters (derived ones follow their
    /// inputs) that are not structural switches and are not zero for this patient (a factor
    /// on zero changes nothing). In model file order.
    pub fn local_parameters(&self) -> Result<Vec<ParamId>, SimError> {
        let values = self.model.parameter_values(
            &self.patient.disease,
            &self.patient.covariates(),
            &self.overrides,
        )?;
        Ok(self
            .model
            .parameters
            .iter()
            .enumerate()
            .filter(|(id, p)| p.expr.is_none() && !p.structural && values.values[*id] != 0.0)
            .map(|(id, _)| id)
            .collect())
    }

    /// The parameters with a declared plausible range (global analysis), in model file order,
    /// with their fold ranges; those zero for this patient are left out.
    pub fn ranged_parameters(&self) -> Result<Vec<(ParamId, f64, f64)>, SimError> {
        let values = self.model.parameter_values(
            &self.patient.disease,
            &self.patient.covariates(),
            &self.overrides,
        )?;
        Ok(self
            .model
            .parameters
            .iter()
            .enumerate()
            .filter_map(|(id, p)| {
                let r = p.range.as_ref()?;
                (values.values[id] != 0.0).then_some((id, r.low_fold, r.high_fold))
            })
            .collect())
    }
}

/// Factors for a point `u` of the unit cube over `ranged` parameters: each parameter's fold
/// is log-uniform over its range, exp(ln low + u (ln high − ln low)).
pub fn folds_at(ranged: &[(ParamId, f64, f64)], u: &[f64]) -> Vec<(ParamId, f64)> {
    ranged
        .iter()
        .zip(u)
        .map(|(&(id, low, high), &v)| (id, (low.ln() + v * (high.ln() - low.ln())).exp()))
        .collect()
}
