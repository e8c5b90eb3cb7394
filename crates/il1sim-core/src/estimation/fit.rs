//! One subject's individual fit: the conditional mode, its Laplace approximation, and the
//! estimates of the parameters themselves (typical × exp(η)) with 90% intervals, in each
//! parameter's declared unit.

use super::error::EstimationError;
use super::laplace::{laplace, Laplace, Z_90};
use super::map::{conditional_mode, MapOptions, Mode};
use super::objective::IndividualProblem;

/// One parameter's estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterEstimate {
    pub name: String,
    /// The parameter's declared unit (the model file's).
    pub unit: String,
    /// Typical value for this patient (η = 0), declared unit.
    pub typical: f64,
    /// Prior SD of η.
    pub prior_sd: f64,
    pub eta: f64,
    /// Posterior SD of η (Laplace).
    pub eta_sd: f64,
    /// Estimate (typical × exp(η)) and its 90% interval, declared unit.
    pub estimate: f64,
    pub lower_90: f64,
    pub upper_90: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndividualFit {
    pub mode: Mode,
    pub laplace: Laplace,
    pub parameters: Vec<ParameterEstimate>,
    /// Simulations the fit ran (mode and Hessian).
    pub evaluations: usize,
}

/// Typical value of each parameter with variability for the problem's patient (η = 0), in
/// canonical units.
pub fn typical_values(problem: &IndividualProblem) -> Result<Vec<f64>, EstimationError> {
    let p = &problem.subject.patient;
    let values = problem
        .model
        .parameter_values(&p.disease, &p.covariates(), &problem.typical)
        .map_err(|e| EstimationError::new(&problem.subject.id, e.to_string()))?;
    Ok(problem
        .prior
        .parameters
        .iter()
        .map(|(_, id)| values.values[*id])
        .collect())
}

/// Fit one subject from `start` (η; zeros for a cold start).
pub fn fit_individual(
    problem: &IndividualProblem,
    start: &[f64],
    options: &MapOptions,
) -> Result<IndividualFit, EstimationError> {
    let before = problem.evaluations();
    let mode = conditional_mode(problem, start, options)?;
    let laplace = laplace(problem, &mode.eta, mode.objective)?;
    let typical = typical_values(problem)?;
    let sd = laplace.sd();
    let prior_sd = problem.prior.sd();
    let parameters = problem
        .prior
        .parameters
        .iter()
        .enumerate()
        .map(|(k, (name, id))| {
            let p = &problem.model.parameters[*id];
            let t = typical[k] / p.to_canonical;
            let e = mode.eta[k];
            ParameterEstimate {
                name: name.clone(),
                unit: p.unit.clone(),
                typical: t,
                prior_sd: prior_sd[k],
                eta: e,
                eta_sd: sd[k],
                estimate: t * e.exp(),
                lower_90: t * (e - Z_90 * sd[k]).exp(),
                upper_90: t * (e + Z_90 * sd[k]).exp(),
            }
        })
        .collect();
    Ok(IndividualFit {
        mode,
        laplace,
        parameters,
        evaluations: problem.evaluations() - before,
    })
}
