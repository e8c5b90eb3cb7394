//! The objective of one subject: −2 log posterior of its η,
//!   Σ_obs −2 log p(y | f(η)) + ηᵀ Ω⁻¹ η + ln det Ω + n ln 2π,
//! with f the engine's predictions (typical values, possibly a population fit's θ, times
//! exp(η)) and p the residual error model of each observable (M3 for BLQ samples). The
//! constants are kept, so the value is a true −2 log density (population estimation adds
//! subjects' values). `IndividualProblem` is what the conditional mode, Laplace, MCMC and a
//! population fit's inner step all evaluate.

use super::error::EstimationError;
use super::prior::Prior;
use super::residual::{ResidualError, ResidualModel};
use crate::exchange::dataset::predict::SubjectDesign;
use crate::exchange::dataset::subjects::DataSubject;
use crate::model::definition::Model;
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Solver settings of the estimation layer: tighter than the default (1e-6) so that
/// finite-difference gradients (step 1e-3) and Hessians (step 1e-2) of the objective are not
/// dominated by integration error: with relative errors of 1e-8 in the predictions the
/// objective's noise is below 1e-6, a gradient error below 1e-3 and a Hessian error below
/// 1e-2 against curvatures of order 2 (the prior's, in whitened coordinates).
pub const ESTIMATION_SOLVER: SolverOptions = SolverOptions {
    method: crate::solve::options::Method::Bdf,
    rtol: 1e-8,
    atol: 1e-8,
};

/// The parts of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveValue {
    /// −2 log likelihood of the data.
    pub data: f64,
    /// −2 log prior density of η.
    pub prior: f64,
    /// The prediction of each observation (the subject's order).
    pub predictions: Vec<f64>,
}

impl ObjectiveValue {
    pub fn total(&self) -> f64 {
        self.data + self.prior
    }
}

/// One subject to fit: model, data, typical values, prior and residual errors.
#[derive(Debug)]
pub struct IndividualProblem<'a> {
    pub model: &'a Model,
    pub subject: &'a DataSubject,
    /// Typical-value overrides (canonical units, by parameter name): empty for the model's
    /// own values, a population fit's θ otherwise.
    pub typical: Vec<(String, f64)>,
    pub prior: &'a Prior,
    /// The residual error of each observation, resolved once (the subject's order).
    errors: Vec<ResidualError>,
    /// The parameter-free part of the subject's simulation, built once.
    design: SubjectDesign,
    pub options: SolverOptions,
    evaluations: AtomicUsize,
}

impl<'a> IndividualProblem<'a> {
    /// Checks that every observation has a residual error model and every censored sample an
    /// LLOQ; the error names the record.
    pub fn new(
        model: &'a Model,
        subject: &'a DataSubject,
        typical: Vec<(String, f64)>,
        prior: &'a Prior,
        residual: &ResidualModel,
        options: SolverOptions,
    ) -> Result<IndividualProblem<'a>, EstimationError> {
        let mut errors = Vec::with_capacity(subject.observations.len());
        for o in &subject.observations {
            let name = &model.observables[o.observable].name;
            let e = residual.for_observable(o.observable).ok_or_else(|| {
                let known: Vec<&str> = residual
                    .errors
                    .iter()
                    .map(|e| model.observables[e.observable].name.as_str())
                    .collect();
                EstimationError::new(
                    &subject.id,
                    format!(
                        "observable '{name}' has no residual error model; the population file's [[population.residual]] has: {}",
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ),
                )
                .at_time(o.time_h)
                .at_line(o.line)
            })?;
            if o.below_lloq && o.lloq.is_none() {
                return Err(EstimationError::new(
                    &subject.id,
                    format!("a '{name}' sample below the LLOQ needs the LLOQ (M3)"),
                )
                .at_time(o.time_h)
                .at_line(o.line));
            }
            errors.push(e.clone());
        }
        Ok(IndividualProblem {
            model,
            subject,
            typical,
            prior,
            errors,
            design: SubjectDesign::new(subject),
            options,
            evaluations: AtomicUsize::new(0),
        })
    }

    /// Number of η the problem has.
    pub fn dimension(&self) -> usize {
        self.prior.len()
    }

    /// Simulations run so far (each evaluation is one).
    pub fn evaluations(&self) -> usize {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// The residual error model of each observation (the subject's order).
    pub fn errors(&self) -> &[ResidualError] {
        &self.errors
    }

    /// The prediction of each observation at η (one simulation).
    pub fn predict(&self, eta: &[f64]) -> Result<Vec<f64>, EstimationError> {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        let fail =
            |e: crate::error::SimError| EstimationError::new(&self.subject.id, e.to_string());
        let built = Subject::with_variability(
            self.model,
            &self.subject.patient,
            &self.typical,
            &self.prior.multipliers(eta),
            self.options,
        )
        .map_err(fail)?;
        self.design.predict(&built).map_err(fail)
    }

    /// −2 log likelihood of the data given predictions.
    pub fn data_m2ll(&self, predictions: &[f64]) -> f64 {
        self.subject
            .observations
            .iter()
            .zip(&self.errors)
            .zip(predictions)
            .map(|((o, e), &f)| {
                e.m2ll(o, f)
                    .expect("censored samples have an LLOQ (checked)")
            })
            .sum()
    }

    /// The objective at η, with its parts.
    pub fn evaluate(&self, eta: &[f64]) -> Result<ObjectiveValue, EstimationError> {
        let predictions = self.predict(eta)?;
        let data = self.data_m2ll(&predictions);
        if !data.is_finite() {
            return Err(EstimationError::new(
                &self.subject.id,
                format!("the data's −2 log likelihood is {data} at η = {eta:?}"),
            ));
        }
        Ok(ObjectiveValue {
            data,
            prior: self.prior.m2lp(eta),
            predictions,
        })
    }

    /// −2 log posterior of η (up to nothing: constants included).
    pub fn objective(&self, eta: &[f64]) -> Result<f64, EstimationError> {
        Ok(self.evaluate(eta)?.total())
    }
}
