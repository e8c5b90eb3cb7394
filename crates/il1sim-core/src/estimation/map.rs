//! The conditional mode of one subject's η (maximum a posteriori): argmin's BFGS with a
//! Moré–Thuente line search on whitened coordinates z (η = L z), in which the prior's
//! curvature is the identity, so that the first inverse Hessian (½ I, the prior's) is the
//! right scale and no direction is favoured. Gradients are central finite differences of the
//! objective (written here: argmin's `finitediff` crate would add a dependency for ten lines;
//! the model has no parameter sensitivities), so one gradient is 2n simulations.
//!
//! Bounded first step: BFGS's first direction is −H₀ g, and with the prior's H₀ = ½ I a steep
//! start (a gradient of 10³–10⁴ objective units per SD where the data disagree with the
//! typical patient) sent the first line search hundreds to thousands of prior SDs away
//! (η up to 9·10³, where parameters overflow or the untreated state has no solution): 35 of
//! the 427 simulations of the example NOMID fit failed that way, none near the mode. So H₀ is
//! scaled down until the first step is at most [`FIRST_STEP_MAX_Z`] prior SDs long (the
//! unit-length first step of Nocedal & Wright 2006, *Numerical Optimization*, §6.1, measured
//! in the prior's SDs), and the line search may stretch a quasi-Newton step at most
//! [`LINE_SEARCH_STEP_MAX`]-fold.
//!
//! Robust start: the caller's start (a warm start: the previous estimate of the subject in a
//! population fit) and η = 0 are both evaluated and the lower one is used; when BFGS fails
//! from a warm start it is run again from η = 0. Failures name the subject and, for solver
//! failures, the time.

use super::error::EstimationError;
use super::objective::IndividualProblem;
use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::BFGS;
use std::sync::Mutex;

/// Settings of the search; the defaults are what `fit-individual` and the recovery test use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapOptions {
    /// Most BFGS iterations.
    pub max_iterations: u64,
    /// Step of the central differences in z (prior SDs): small against the posterior's width
    /// (at least about 0.1 SD for the data a patient gives) and large against the
    /// objective's integration noise (see `objective::ESTIMATION_SOLVER`).
    pub gradient_step: f64,
    /// Convergence: gradient norm in z (objective units per prior SD); 1e-3 moves the mode by
    /// about 1e-3 / 2 SD, far inside the posterior's width.
    pub gradient_tolerance: f64,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            max_iterations: 100,
            gradient_step: 1e-3,
            gradient_tolerance: 1e-3,
        }
    }
}

/// The conditional mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Mode {
    /// η at the mode.
    pub eta: Vec<f64>,
    /// The objective there (−2 log posterior).
    pub objective: f64,
    /// BFGS iterations.
    pub iterations: u64,
    /// Whether the gradient tolerance was met (otherwise the iteration limit or a stalled
    /// line search ended the search; the mode is the best point found).
    pub converged: bool,
    /// Why the search stopped, in argmin's words.
    pub stop_reason: String,
    /// Trial points where the simulation failed (given [`FAILED_OBJECTIVE`]), and the first
    /// such failure.
    pub failed_evaluations: usize,
    pub first_failure: Option<String>,
    /// Searches that ended in an error of the line search and were restarted (see
    /// [`conditional_mode`]); 0 for a search that ran through.
    pub restarts: usize,
}

/// Objective given to the optimiser where a simulation fails (a trial point far from the
/// mode where the untreated steady state cannot be found, for example): far above any value
/// the data give (a subject's objective is of order tens to hundreds), so the line search
/// backs off, yet finite, so its interpolation stays defined.
pub const FAILED_OBJECTIVE: f64 = 1e10;

/// Longest first BFGS step, in prior SDs (whitened units): one SD, the scale on which the
/// prior changes the objective by order 1; the line search stretches it where the data
/// pull further.
pub const FIRST_STEP_MAX_Z: f64 = 1.0;

/// Largest multiple of a quasi-Newton step the Moré–Thuente line search may try (its
/// extrapolation otherwise grows the step fourfold per trial without bound): 16 lets a
/// one-SD first step reach a mode 16 SDs away, far beyond any patient the prior allows.
pub const LINE_SEARCH_STEP_MAX: f64 = 16.0;

/// Restarts of a search whose line search failed: one from the best point seen (fresh
/// inverse Hessian) and, for a warm start, one from η = 0.
pub const MAX_RESTARTS: usize = 2;

/// The objective on whitened coordinates, remembering the first failure and the last value
/// (the line search asks for the cost and then the gradient at the same point).
struct Whitened<'p, 'a> {
    problem: &'p IndividualProblem<'a>,
    step: f64,
    failure: Mutex<Option<EstimationError>>,
    failures: Mutex<usize>,
    last: Mutex<Option<(Vec<f64>, f64)>>,
    /// The last gradient: BFGS asks again for the gradient the line search ended on.
    last_gradient: Mutex<Option<(Vec<f64>, Vec<f64>)>>,
    /// The lowest objective seen (z, value), where a failed search restarts or ends.
    best: Mutex<Option<(Vec<f64>, f64)>>,
}

impl Whitened<'_, '_> {
    fn value(&self, z: &[f64]) -> Result<f64, argmin::core::Error> {
        if let Some((p, v)) = self.last.lock().expect("not poisoned").as_ref() {
            if p.as_slice() == z {
                return Ok(*v);
            }
        }
        let eta = self.problem.prior.eta_of(z);
        match self.problem.objective(&eta) {
            Ok(v) => {
                *self.last.lock().expect("not poisoned") = Some((z.to_vec(), v));
                let mut best = self.best.lock().expect("not poisoned");
                if best.as_ref().is_none_or(|(_, b)| v < *b) {
                    *best = Some((z.to_vec(), v));
                }
                Ok(v)
            }
            Err(e) => {
                self.failure.lock().expect("not poisoned").get_or_insert(e);
                *self.failures.lock().expect("not poisoned") += 1;
                Ok(FAILED_OBJECTIVE)
            }
        }
    }

    fn gradient(&self, z: &[f64]) -> Result<Vec<f64>, argmin::core::Error> {
        if let Some((p, g)) = self.last_gradient.lock().expect("not poisoned").as_ref() {
            if p.as_slice() == z {
                return Ok(g.clone());
            }
        }
        let g = central_gradient(&|p: &[f64]| self.value(p), z, self.step)?;
        *self.last_gradient.lock().expect("not poisoned") = Some((z.to_vec(), g.clone()));
        Ok(g)
    }
}

/// What argmin owns during a run: a borrow, so the failure stays readable afterwards.
struct Borrowed<'w, 'p, 'a>(&'w Whitened<'p, 'a>);

impl CostFunction for Borrowed<'_, '_, '_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, z: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        self.0.value(z)
    }
}

impl Gradient for Borrowed<'_, '_, '_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, z: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        self.0.gradient(z)
    }
}

/// Central-difference gradient of `f` at `x` with step `h` (2n evaluations).
pub fn central_gradient<E>(
    f: &dyn Fn(&[f64]) -> Result<f64, E>,
    x: &[f64],
    h: f64,
) -> Result<Vec<f64>, E> {
    let mut g = Vec::with_capacity(x.len());
    let mut p = x.to_vec();
    for i in 0..x.len() {
        p[i] = x[i] + h;
        let up = f(&p)?;
        p[i] = x[i] - h;
        let down = f(&p)?;
        p[i] = x[i];
        g.push((up - down) / (2.0 * h));
    }
    Ok(g)
}

/// The scale h of the first inverse Hessian h I: the prior's ½ unless that makes the first
/// step −h g longer than [`FIRST_STEP_MAX_Z`].
pub fn first_inverse_hessian_scale(gradient_norm: f64) -> f64 {
    if gradient_norm > 0.0 && gradient_norm.is_finite() {
        0.5_f64.min(FIRST_STEP_MAX_Z / gradient_norm)
    } else {
        0.5
    }
}

fn run_bfgs(
    w: &Whitened,
    z0: Vec<f64>,
    options: &MapOptions,
) -> Result<Mode, Option<EstimationError>> {
    let n = z0.len();
    let g0 = w.gradient(&z0).map_err(|e| {
        w.failure.lock().expect("not poisoned").clone().or_else(|| {
            Some(EstimationError::new(
                &w.problem.subject.id,
                format!("gradient at the start: {e}"),
            ))
        })
    })?;
    let g0_norm = g0.iter().map(|g| g * g).sum::<f64>().sqrt();
    let h0 = first_inverse_hessian_scale(g0_norm);
    let inv_hessian: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { h0 } else { 0.0 }).collect())
        .collect();
    let line_search = MoreThuenteLineSearch::new()
        .with_bounds(f64::EPSILON.sqrt(), LINE_SEARCH_STEP_MAX)
        .expect("step_min < step_max");
    let solver = BFGS::new(line_search)
        .with_tolerance_grad(options.gradient_tolerance)
        .expect("a positive tolerance")
        .with_tolerance_cost(0.0)
        .expect("a tolerance >= 0");
    let result = Executor::new(Borrowed(w), solver)
        .configure(|s| {
            s.param(z0)
                .inv_hessian(inv_hessian)
                .max_iters(options.max_iterations)
        })
        .run();
    match result {
        Ok(r) => {
            let state = r.state();
            let z = state
                .get_best_param()
                .cloned()
                .expect("BFGS keeps its best point");
            let converged = matches!(
                state.get_termination_status(),
                TerminationStatus::Terminated(TerminationReason::SolverConverged)
            );
            let objective = state.get_best_cost();
            if objective >= FAILED_OBJECTIVE {
                return Err(w.failure.lock().expect("not poisoned").clone());
            }
            Ok(Mode {
                restarts: 0,
                failed_evaluations: *w.failures.lock().expect("not poisoned"),
                first_failure: w
                    .failure
                    .lock()
                    .expect("not poisoned")
                    .as_ref()
                    .map(|e| e.to_string()),
                eta: w.problem.prior.eta_of(&z),
                objective,
                iterations: state.get_iter(),
                converged,
                stop_reason: state.get_termination_status().to_string(),
            })
        }
        Err(e) => Err(w.failure.lock().expect("not poisoned").take().or_else(|| {
            Some(EstimationError::new(
                &w.problem.subject.id,
                format!("BFGS failed: {e}"),
            ))
        })),
    }
}

/// The conditional mode of η from `start` (η; zeros for a cold start).
pub fn conditional_mode(
    problem: &IndividualProblem,
    start: &[f64],
    options: &MapOptions,
) -> Result<Mode, EstimationError> {
    let n = problem.dimension();
    if start.len() != n {
        return Err(EstimationError::new(
            &problem.subject.id,
            format!("a start of {} values for {n} η", start.len()),
        ));
    }
    let w = Whitened {
        problem,
        step: options.gradient_step,
        failure: Mutex::new(None),
        failures: Mutex::new(0),
        last: Mutex::new(None),
        last_gradient: Mutex::new(None),
        best: Mutex::new(None),
    };
    let zero = vec![0.0; n];
    let warm = problem.prior.z_of(start);
    let ok = |v: Result<f64, argmin::core::Error>| v.ok().filter(|v| *v < FAILED_OBJECTIVE);
    let cold_value = ok(w.value(&zero));
    let warm_value = if start.iter().any(|&e| e != 0.0) {
        ok(w.value(&warm))
    } else {
        None
    };
    let z0 = match (cold_value, warm_value) {
        (Some(c), Some(v)) if v < c => warm,
        (None, Some(_)) => warm,
        (Some(_), _) => zero.clone(),
        (None, None) => {
            return Err(w
                .failure
                .lock()
                .expect("not poisoned")
                .take()
                .unwrap_or_else(|| {
                    EstimationError::new(&problem.subject.id, "the objective fails at the start")
                }))
        }
    };
    let from_warm = z0 != zero;
    let first = match run_bfgs(&w, z0, options) {
        Ok(m) => return Ok(m),
        Err(e) => e,
    };
    // The line search failed (an inverse Hessian made indefinite by finite-difference noise
    // near the mode gives an ascent direction, for example). Restart from the best point
    // seen with a fresh inverse Hessian, then from η = 0, and at last report the best point
    // seen as an unconverged mode: one subject's failed search must not end a population fit.
    let mut restarts = 0;
    let mut last_error = first;
    let mut starts = Vec::new();
    if let Some((z, _)) = w.best.lock().expect("not poisoned").clone() {
        starts.push(z);
    }
    if from_warm && cold_value.is_some() {
        starts.push(zero.clone());
    }
    for z in starts.into_iter().take(MAX_RESTARTS) {
        restarts += 1;
        *w.failure.lock().expect("not poisoned") = None;
        match run_bfgs(&w, z, options) {
            Ok(mut m) => {
                m.restarts = restarts;
                return Ok(m);
            }
            Err(e) => last_error = e.or(last_error),
        }
    }
    let message = last_error
        .as_ref()
        .map_or_else(|| "BFGS failed".to_string(), |e| e.to_string());
    let best = w.best.lock().expect("not poisoned").clone();
    match best {
        Some((z, v)) if v < FAILED_OBJECTIVE => Ok(Mode {
            eta: problem.prior.eta_of(&z),
            objective: v,
            iterations: 0,
            converged: false,
            stop_reason: format!(
                "best point seen after {restarts} restart(s) of a failed search: {message}"
            ),
            failed_evaluations: *w.failures.lock().expect("not poisoned"),
            first_failure: w
                .failure
                .lock()
                .expect("not poisoned")
                .as_ref()
                .map(|e| e.to_string()),
            restarts,
        }),
        _ => {
            Err(last_error
                .unwrap_or_else(|| EstimationError::new(&problem.subject.id, "BFGS failed")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_is_at_most_one_prior_sd() {
        // Gentle slopes keep the prior's ½ I; steep ones are scaled to a one-SD step.
        assert_eq!(first_inverse_hessian_scale(1.0), 0.5);
        for g in [2.0, 1e2, 1e4] {
            let h = first_inverse_hessian_scale(g);
            assert!(
                (h * g - FIRST_STEP_MAX_Z).abs() < 1e-12,
                "g {g}: step {}",
                h * g
            );
        }
        assert_eq!(first_inverse_hessian_scale(0.0), 0.5);
        assert_eq!(first_inverse_hessian_scale(f64::NAN), 0.5);
    }
}
