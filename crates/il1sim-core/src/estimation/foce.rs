//! Population estimation by FOCE-I (first-order conditional estimation with interaction,
//! Lindstrom & Bates 1990; Beal & Sheiner, NONMEM Users Guides): the marginal likelihood of
//! each subject is the Laplace approximation at its conditional mode η̂ with the Hessian
//! replaced by its first-order form, and the residual variance evaluated at η̂ (interaction):
//!
//!   OFVᵢ = Σⱼ [ln Vᵢⱼ + (yᵢⱼ − fᵢⱼ)² / Vᵢⱼ] + η̂ᵀ Ω⁻¹ η̂ + ln det Ω + ln det(Ω⁻¹ + Gᵀ V⁻¹ G),
//!
//! f and V at η̂, G = ∂f/∂η there (forward differences), censored samples by M3 at η̂. The OFV
//! is Σᵢ OFVᵢ, the −2 log likelihood without the N ln 2π constant (as NONMEM reports it).
//!
//! Why FOCE-I rather than SAEM: it is deterministic (the same data give the same estimates to
//! the last digit, whatever the thread count, with no Monte Carlo error to tune), its OFV is
//! comparable with NONMEM's and usable for likelihood-ratio tests, and standard errors come
//! from the Hessian of the same objective. Its inner step is the individual layer's: the
//! per-subject objective (`objective.rs`) and conditional mode (`map.rs`).
//!
//! The outer search runs over x = (ln θ, ln ω (the diagonal of Ω's Cholesky factor), ln σ)
//! with argmin's BFGS and a Moré–Thuente line search; gradients are central differences of
//! the OFV, the first inverse Hessian is the inverse of the OFV's diagonal curvature at the
//! start (so that the first step has the right size in every direction). Each OFV evaluation
//! starts every subject's inner search from its η̂ of the previous evaluation. Subjects are
//! evaluated in parallel (rayon) and summed in subject order, so the result does not depend on
//! the thread count. Written here: the FOCE-I objective, the outer parametrisation and the
//! finite-difference Hessian's covariance (no Rust crate implements mixed-effects estimation).

use super::fit_spec::FitSpec;
use super::laplace::central_hessian;
use super::map::{central_gradient, conditional_mode, MapOptions};
use super::objective::{IndividualProblem, ESTIMATION_SOLVER};
use super::prior::Prior;
use super::residual::{ResidualError, ResidualModel};
use crate::exchange::dataset::subjects::{DataSubject, Dataset};
use crate::model::definition::Model;
use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::BFGS;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// ln(2π).
pub const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Step of the forward differences of the predictions in η (G): small against the η a
/// subject has (0.1–1) and large against the predictions' integration error (relative 1e-8 at
/// `ESTIMATION_SOLVER`, so G's error is about 1e-4 relative).
pub const JACOBIAN_STEP: f64 = 1e-4;

/// Settings of a fit; the defaults are what `fit-population` and the tests use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoceOptions {
    /// Most outer BFGS iterations.
    pub max_iterations: u64,
    /// Step of the outer gradient's central differences (log scale: 0.1% of a parameter).
    pub gradient_step: f64,
    /// Convergence: outer gradient norm (OFV units per log unit); 0.01 moves a parameter of
    /// curvature 10 or more by 0.1% or less of itself.
    pub gradient_tolerance: f64,
    /// Step of the covariance step's Hessian (log scale: 1%).
    pub hessian_step: f64,
    /// Whether to run the covariance step (standard errors).
    pub covariance: bool,
    /// The inner step's settings.
    pub map: MapOptions,
}

impl Default for FoceOptions {
    fn default() -> Self {
        FoceOptions {
            max_iterations: 60,
            gradient_step: 1e-3,
            gradient_tolerance: 1e-2,
            hessian_step: 1e-2,
            covariance: true,
            // The individual fit's settings: a tighter inner tolerance (1e-4) made the inner
            // line search fail on finite-difference noise (subject 9 of ra-pk-sim.csv).
            map: MapOptions::default(),
        }
    }
}

/// Population parameters on their natural scales.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationParameters {
    /// Typical values, canonical units (the order of `FitSpec::theta`).
    pub theta: Vec<f64>,
    /// Variances of η (the order of `FitSpec::eta`).
    pub omega: Vec<f64>,
    /// Residual error per observable (the order of `FitSpec::residual`).
    pub residual: Vec<ResidualError>,
}

/// What an entry of the search vector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Theta(usize),
    /// ln ω of η k (half the log variance).
    Omega(usize),
    /// ln of residual k's additive SD.
    Additive(usize),
    /// ln of residual k's proportional SD.
    Proportional(usize),
}

/// The search vector's layout for a fit specification.
pub fn layout(spec: &FitSpec) -> Vec<Entry> {
    let mut v: Vec<Entry> = (0..spec.theta.len()).map(Entry::Theta).collect();
    v.extend((0..spec.eta.len()).map(Entry::Omega));
    for (k, r) in spec.residual.iter().enumerate() {
        if r.additive > 0.0 {
            v.push(Entry::Additive(k));
        }
        if r.proportional > 0.0 {
            v.push(Entry::Proportional(k));
        }
    }
    v
}

impl PopulationParameters {
    /// The initial values of a specification.
    pub fn initial(spec: &FitSpec) -> PopulationParameters {
        PopulationParameters {
            theta: spec.theta.iter().map(|t| t.initial).collect(),
            omega: spec.eta.iter().map(|e| e.initial_variance).collect(),
            residual: spec
                .residual
                .iter()
                .map(|r| ResidualError {
                    observable: r.observable,
                    additive: r.additive,
                    proportional: r.proportional,
                })
                .collect(),
        }
    }

    fn pack(&self, entries: &[Entry]) -> Vec<f64> {
        entries
            .iter()
            .map(|e| match *e {
                Entry::Theta(k) => self.theta[k].ln(),
                Entry::Omega(k) => 0.5 * self.omega[k].ln(),
                Entry::Additive(k) => self.residual[k].additive.ln(),
                Entry::Proportional(k) => self.residual[k].proportional.ln(),
            })
            .collect()
    }

    /// These parameters with the search vector `x` written in.
    fn unpack(&self, entries: &[Entry], x: &[f64]) -> PopulationParameters {
        let mut p = self.clone();
        for (e, &v) in entries.iter().zip(x) {
            match *e {
                Entry::Theta(k) => p.theta[k] = v.exp(),
                Entry::Omega(k) => p.omega[k] = (2.0 * v).exp(),
                Entry::Additive(k) => p.residual[k].additive = v.exp(),
                Entry::Proportional(k) => p.residual[k].proportional = v.exp(),
            }
        }
        p
    }
}

/// One subject at the conditional mode.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectMode {
    pub eta: Vec<f64>,
    /// The subject's OFV term.
    pub ofv: f64,
    /// Predictions at η̂ (IPRED), the subject's observation order.
    pub ipred: Vec<f64>,
    /// ∂f/∂η at η̂: one row per observation.
    pub jacobian: DMatrix<f64>,
    pub converged: bool,
    /// Restarts of the inner search after a failed line search (`map::conditional_mode`).
    pub restarts: usize,
    /// Simulations run for this subject.
    pub simulations: usize,
}

/// The problem a fit solves: model, data, what is estimated.
pub struct PopulationProblem<'a> {
    pub model: &'a Model,
    pub dataset: &'a Dataset,
    pub spec: &'a FitSpec,
    pub options: FoceOptions,
}

impl PopulationProblem<'_> {
    pub fn typical(&self, p: &PopulationParameters) -> Vec<(String, f64)> {
        self.spec
            .theta
            .iter()
            .zip(&p.theta)
            .map(|(t, &v)| (t.name.clone(), v))
            .collect()
    }

    pub fn prior(&self, p: &PopulationParameters) -> Prior {
        let n = p.omega.len();
        let chol = DMatrix::from_fn(n, n, |i, j| if i == j { p.omega[i].sqrt() } else { 0.0 });
        Prior::from_cholesky(
            self.spec
                .eta
                .iter()
                .map(|e| (e.name.clone(), e.id))
                .collect(),
            chol,
        )
    }

    /// Every subject at its conditional mode for parameters `p`, from the starts `warm`
    /// (one η per subject), in subject order.
    pub fn modes(
        &self,
        p: &PopulationParameters,
        warm: &[Vec<f64>],
    ) -> Result<Vec<SubjectMode>, String> {
        let typical = self.typical(p);
        let prior = self.prior(p);
        let residual = ResidualModel {
            errors: p.residual.clone(),
        };
        let results: Vec<Result<SubjectMode, String>> = self
            .dataset
            .subjects
            .par_iter()
            .zip(warm.par_iter())
            .map(|(s, start)| {
                subject_mode(
                    self.model,
                    s,
                    &typical,
                    &prior,
                    &residual,
                    start,
                    &self.options.map,
                )
            })
            .collect();
        results.into_iter().collect()
    }
}

/// ln det of a symmetric positive-definite matrix, None when it is not.
fn ln_det_spd(m: DMatrix<f64>) -> Option<f64> {
    let c = m.cholesky()?;
    Some(2.0 * c.l().diagonal().iter().map(|d| d.ln()).sum::<f64>())
}

/// Whether an observation carries a value (neither censored nor prediction-only).
pub(crate) fn has_value(o: &crate::exchange::dataset::subjects::Observation) -> bool {
    o.value.is_some() && !o.below_lloq
}

fn subject_mode(
    model: &Model,
    subject: &DataSubject,
    typical: &[(String, f64)],
    prior: &Prior,
    residual: &ResidualModel,
    start: &[f64],
    map: &MapOptions,
) -> Result<SubjectMode, String> {
    let problem = IndividualProblem::new(
        model,
        subject,
        typical.to_vec(),
        prior,
        residual,
        ESTIMATION_SOLVER,
    )
    .map_err(|e| e.to_string())?;
    let n = problem.dimension();
    let (eta, converged, restarts) = if n == 0 {
        (vec![], true, 0)
    } else {
        let mode = conditional_mode(&problem, start, map).map_err(|e| e.to_string())?;
        (mode.eta, mode.converged, mode.restarts)
    };
    let f = problem.predict(&eta).map_err(|e| e.to_string())?;
    let m = f.len();
    let mut jacobian = DMatrix::zeros(m, n);
    let mut p = eta.clone();
    for k in 0..n {
        p[k] = eta[k] + JACOBIAN_STEP;
        let up = problem.predict(&p).map_err(|e| e.to_string())?;
        p[k] = eta[k];
        for j in 0..m {
            jacobian[(j, k)] = (up[j] - f[j]) / JACOBIAN_STEP;
        }
    }
    let data = problem.data_m2ll(&f);
    let errors = problem.errors();
    let valued = subject.observations.iter().filter(|o| has_value(o)).count();
    let mut ofv = data - valued as f64 * LN_2PI;
    if n > 0 {
        ofv += prior.m2lp(&eta) - n as f64 * LN_2PI;
        let mut info = prior
            .omega
            .clone()
            .try_inverse()
            .ok_or_else(|| format!("subject {}: Ω is singular", subject.id))?;
        for (j, o) in subject.observations.iter().enumerate() {
            if has_value(o) {
                let g = jacobian.row(j);
                info += g.transpose() * g / errors[j].variance(f[j]);
            }
        }
        ofv += ln_det_spd(info).ok_or_else(|| {
            format!(
                "subject {}: Ω⁻¹ + GᵀV⁻¹G is not positive definite at η̂ = {eta:?}",
                subject.id
            )
        })?;
    }
    if !ofv.is_finite() {
        return Err(format!(
            "subject {}: the FOCE-I objective is {ofv} at η̂ = {eta:?}",
            subject.id
        ));
    }
    Ok(SubjectMode {
        eta,
        ofv,
        ipred: f,
        jacobian,
        converged,
        restarts,
        simulations: problem.evaluations(),
    })
}

/// The OFV as a function of the search vector, with the warm starts and the best point seen.
struct Objective<'p, 'a> {
    problem: &'p PopulationProblem<'a>,
    base: PopulationParameters,
    entries: Vec<Entry>,
    warm: Mutex<Vec<Vec<f64>>>,
    best: Mutex<Option<(Vec<f64>, f64)>>,
    last: Mutex<Option<(Vec<f64>, f64)>>,
    failure: Mutex<Option<String>>,
    evaluations: AtomicUsize,
    simulations: AtomicUsize,
    progress: &'p (dyn Fn(usize, f64) + Sync),
}

impl Objective<'_, '_> {
    fn value(&self, x: &[f64]) -> Result<f64, String> {
        if let Some((p, v)) = self.last.lock().expect("not poisoned").as_ref() {
            if p.as_slice() == x {
                return Ok(*v);
            }
        }
        let params = self.base.unpack(&self.entries, x);
        let warm = self.warm.lock().expect("not poisoned").clone();
        let modes = self.problem.modes(&params, &warm)?;
        let ofv: f64 = modes.iter().map(|m| m.ofv).sum();
        self.simulations.fetch_add(
            modes.iter().map(|m| m.simulations).sum::<usize>(),
            Ordering::Relaxed,
        );
        *self.warm.lock().expect("not poisoned") = modes.into_iter().map(|m| m.eta).collect();
        let k = self.evaluations.fetch_add(1, Ordering::Relaxed) + 1;
        *self.last.lock().expect("not poisoned") = Some((x.to_vec(), ofv));
        let mut best = self.best.lock().expect("not poisoned");
        if best.as_ref().is_none_or(|(_, b)| ofv < *b) {
            *best = Some((x.to_vec(), ofv));
        }
        (self.progress)(k, ofv);
        Ok(ofv)
    }

    fn value_argmin(&self, x: &[f64]) -> Result<f64, argmin::core::Error> {
        self.value(x).map_err(|m| {
            *self.failure.lock().expect("not poisoned") = Some(m.clone());
            argmin::core::Error::msg(m)
        })
    }
}

struct Borrowed<'o, 'p, 'a>(&'o Objective<'p, 'a>);

impl CostFunction for Borrowed<'_, '_, '_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        self.0.value_argmin(x)
    }
}

impl Gradient for Borrowed<'_, '_, '_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        let f = |p: &[f64]| self.0.value_argmin(p);
        let step = self.0.problem.options.gradient_step;
        let g = central_gradient(&f, x, step)?;
        // The differences moved the warm starts; the next evaluation is at x or beyond.
        Ok(g)
    }
}

/// One row of the parameter table.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateRow {
    /// `theta`, `omega` (variance of η) or `sigma` (residual SD).
    pub kind: &'static str,
    /// Parameter, η's parameter, or `<observable> additive|proportional`.
    pub name: String,
    pub unit: String,
    pub initial: f64,
    pub estimate: f64,
    pub se: Option<f64>,
    pub rse_percent: Option<f64>,
    /// η shrinkage (omega rows) or ε shrinkage (sigma rows), %.
    pub shrinkage_percent: Option<f64>,
}

/// The result of a fit.
#[derive(Debug, Clone)]
pub struct PopulationFit {
    pub parameters: PopulationParameters,
    pub ofv: f64,
    pub initial_ofv: f64,
    pub rows: Vec<EstimateRow>,
    /// Covariance of the search vector (log scale), 2 R⁻¹ with R the OFV's Hessian.
    pub covariance: Option<DMatrix<f64>>,
    /// Largest over smallest eigenvalue of the correlation matrix of the estimates.
    pub condition_number: Option<f64>,
    /// Why the covariance step failed, when it did.
    pub covariance_failure: Option<String>,
    pub modes: Vec<SubjectMode>,
    /// η shrinkage per η (fraction), 1 − SD(η̂)/ω.
    pub eta_shrinkage: Vec<f64>,
    /// ε shrinkage per residual spec (fraction), 1 − SD(IWRES).
    pub eps_shrinkage: Vec<f64>,
    pub iterations: u64,
    pub converged: bool,
    pub stop_reason: String,
    /// OFV evaluations (estimation and covariance step) and simulations they ran.
    pub evaluations: usize,
    pub simulations: usize,
}

fn sample_sd(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    if v.len() < 2 {
        return f64::NAN;
    }
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// Fit the population parameters from `start` (usually `PopulationParameters::initial`).
/// `progress` hears each OFV evaluation (count, OFV).
pub fn fit_population(
    problem: &PopulationProblem,
    start: &PopulationParameters,
    progress: &(dyn Fn(usize, f64) + Sync),
) -> Result<PopulationFit, String> {
    let entries = layout(problem.spec);
    let n_eta = problem.spec.eta.len();
    let objective = Objective {
        problem,
        base: start.clone(),
        entries: entries.clone(),
        warm: Mutex::new(vec![vec![0.0; n_eta]; problem.dataset.subjects.len()]),
        best: Mutex::new(None),
        last: Mutex::new(None),
        failure: Mutex::new(None),
        evaluations: AtomicUsize::new(0),
        simulations: AtomicUsize::new(0),
        progress,
    };
    let x0 = start.pack(&entries);
    let initial_ofv = objective.value(&x0)?;
    // First inverse Hessian: the inverse of the OFV's diagonal curvature at the start.
    let h = 0.05;
    let mut inv_hessian = vec![vec![0.0; x0.len()]; x0.len()];
    let mut p = x0.clone();
    for i in 0..x0.len() {
        p[i] = x0[i] + h;
        let up = objective.value(&p)?;
        p[i] = x0[i] - h;
        let down = objective.value(&p)?;
        p[i] = x0[i];
        let curvature = (up - 2.0 * initial_ofv + down) / (h * h);
        // A flat or concave start direction gets a unit-curvature guess (a step of ~1 log
        // unit per OFV unit of slope would be reckless; 1 / 100 is a cautious start).
        inv_hessian[i][i] = if curvature > 1.0 {
            1.0 / curvature
        } else {
            1e-2
        };
    }
    let solver = BFGS::new(MoreThuenteLineSearch::new())
        .with_tolerance_grad(problem.options.gradient_tolerance)
        .map_err(|e| e.to_string())?
        .with_tolerance_cost(1e-6)
        .map_err(|e| e.to_string())?;
    let result = Executor::new(Borrowed(&objective), solver)
        .configure(|s| {
            s.param(x0.clone())
                .inv_hessian(inv_hessian)
                .max_iters(problem.options.max_iterations)
        })
        .run();
    let (mut x_hat, iterations, converged, stop_reason) = match result {
        Ok(r) => {
            let state = r.state();
            let x = state.get_best_param().cloned().unwrap_or(x0.clone());
            let converged = matches!(
                state.get_termination_status(),
                TerminationStatus::Terminated(TerminationReason::SolverConverged)
            );
            (
                x,
                state.get_iter(),
                converged,
                state.get_termination_status().to_string(),
            )
        }
        Err(e) => {
            if let Some(m) = objective.failure.lock().expect("not poisoned").take() {
                return Err(m);
            }
            let best = objective.best.lock().expect("not poisoned").clone();
            match best {
                Some((x, _)) => (x, 0, false, format!("BFGS stopped: {e}")),
                None => return Err(format!("BFGS failed: {e}")),
            }
        }
    };
    // The best point seen is at least as good as the solver's.
    if let Some((x, v)) = objective.best.lock().expect("not poisoned").clone() {
        if v < objective.value(&x_hat)? {
            x_hat = x;
        }
    }
    let ofv = objective.value(&x_hat)?;
    let params = start.unpack(&entries, &x_hat);
    let warm = objective.warm.lock().expect("not poisoned").clone();
    let modes = problem.modes(&params, &warm)?;

    // Covariance step: R = Hessian of the OFV in x, covariance 2 R⁻¹.
    let (covariance, condition_number, covariance_failure) = if problem.options.covariance {
        let f = |p: &[f64]| objective.value(p);
        match central_hessian(&f, &x_hat, ofv, problem.options.hessian_step) {
            Err(m) => (None, None, Some(m)),
            Ok(r) => {
                let r = (&r + r.transpose()) * 0.5;
                match r.clone().cholesky() {
                    None => (
                        None,
                        None,
                        Some(format!(
                            "the OFV's Hessian at the estimates is not positive definite (R = {r}); the estimates are not a minimum or a parameter is not identifiable"
                        )),
                    ),
                    Some(c) => {
                        let cov = c.inverse() * 2.0;
                        let d = DVector::from_fn(cov.nrows(), |i, _| cov[(i, i)].sqrt());
                        let corr = DMatrix::from_fn(cov.nrows(), cov.ncols(), |i, j| {
                            cov[(i, j)] / (d[i] * d[j])
                        });
                        let eig = corr.symmetric_eigenvalues();
                        let cond = eig.max() / eig.min();
                        (Some(cov), Some(cond), None)
                    }
                }
            }
        }
    } else {
        (None, None, None)
    };
    // The covariance step moved the warm starts; the modes above are at the estimates.
    let eta_shrinkage: Vec<f64> = (0..n_eta)
        .map(|k| {
            let v: Vec<f64> = modes.iter().map(|m| m.eta[k]).collect();
            1.0 - sample_sd(&v) / params.omega[k].sqrt()
        })
        .collect();
    let eps_shrinkage: Vec<f64> = params
        .residual
        .iter()
        .map(|r| {
            let mut iwres = Vec::new();
            for (s, m) in problem.dataset.subjects.iter().zip(&modes) {
                for (j, o) in s.observations.iter().enumerate() {
                    if o.observable == r.observable && has_value(o) {
                        let y = o.value.expect("has_value");
                        iwres.push((y - m.ipred[j]) / r.sd(m.ipred[j]));
                    }
                }
            }
            1.0 - sample_sd(&iwres)
        })
        .collect();
    let rows = parameter_rows(
        problem,
        start,
        &params,
        &entries,
        covariance.as_ref(),
        &eta_shrinkage,
        &eps_shrinkage,
    );
    Ok(PopulationFit {
        parameters: params,
        ofv,
        initial_ofv,
        rows,
        covariance,
        condition_number,
        covariance_failure,
        modes,
        eta_shrinkage,
        eps_shrinkage,
        iterations,
        converged,
        stop_reason,
        evaluations: objective.evaluations.load(Ordering::Relaxed),
        simulations: objective.simulations.load(Ordering::Relaxed),
    })
}

fn parameter_rows(
    problem: &PopulationProblem,
    start: &PopulationParameters,
    p: &PopulationParameters,
    entries: &[Entry],
    covariance: Option<&DMatrix<f64>>,
    eta_shrinkage: &[f64],
    eps_shrinkage: &[f64],
) -> Vec<EstimateRow> {
    let model = problem.model;
    // SE of x's entry for (kind, index), when the covariance step ran.
    let se_x = |e: Entry| -> Option<f64> {
        let i = entries.iter().position(|&x| x == e)?;
        covariance.map(|c| c[(i, i)].sqrt())
    };
    let mut rows = Vec::new();
    for (k, t) in problem.spec.theta.iter().enumerate() {
        let par = &model.parameters[t.id];
        let est = p.theta[k] / par.to_canonical;
        let s = se_x(Entry::Theta(k));
        rows.push(EstimateRow {
            kind: "theta",
            name: t.name.clone(),
            unit: par.unit.clone(),
            initial: start.theta[k] / par.to_canonical,
            estimate: est,
            se: s.map(|s| s * est),
            rse_percent: s.map(|s| 100.0 * s),
            shrinkage_percent: None,
        });
    }
    for (k, e) in problem.spec.eta.iter().enumerate() {
        let s = se_x(Entry::Omega(k));
        rows.push(EstimateRow {
            kind: "omega",
            name: e.name.clone(),
            unit: "variance of η (log scale)".into(),
            initial: start.omega[k],
            estimate: p.omega[k],
            // ω² = exp(2x): SE(ω²) = 2 ω² SE(x).
            se: s.map(|s| 2.0 * s * p.omega[k]),
            rse_percent: s.map(|s| 200.0 * s),
            shrinkage_percent: Some(100.0 * eta_shrinkage[k]),
        });
    }
    for (k, r) in p.residual.iter().enumerate() {
        let obs = &model.observables[r.observable];
        for (which, est, ini, entry, unit) in [
            (
                "additive",
                r.additive,
                start.residual[k].additive,
                Entry::Additive(k),
                obs.unit.clone(),
            ),
            (
                "proportional",
                r.proportional,
                start.residual[k].proportional,
                Entry::Proportional(k),
                "fraction".to_string(),
            ),
        ] {
            if ini == 0.0 {
                continue;
            }
            let s = se_x(entry);
            rows.push(EstimateRow {
                kind: "sigma",
                name: format!("{} {which}", obs.name),
                unit,
                initial: ini,
                estimate: est,
                se: s.map(|s| s * est),
                rse_percent: s.map(|s| 100.0 * s),
                shrinkage_percent: Some(100.0 * eps_shrinkage[k]),
            });
        }
    }
    rows
}
