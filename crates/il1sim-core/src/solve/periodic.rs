//! The periodic steady state of a dosing regimen by Newton's method: the fixed point of the
//! map Φ that advances the whole nonlinear system over one dosing interval, Φ(y) = y.
//! Repeating doses until troughs settle under-converges for slowly accumulating nonlinear
//! systems (ferx-core #867), so the fixed point is solved for directly and its residual
//! reported. It integrates with a [`Subject`], so it sits above `subject.rs`.

use super::equilibrium::{NEWTON_MAX_ITER, NEWTON_TOL};
use super::options::SolverOptions;
use super::subject::Subject;
use crate::dosing::inputs::StateInput;
use crate::dosing::regimen::{Regimen, Repeat};
use crate::error::{InputError, SimError, SolveError};
use crate::time::{before, same_time};
use nalgebra::{DMatrix, DVector};

/// The periodic steady state of a regimen and how well it was solved.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodicSteadyState {
    /// State just before a dose (all states; AUCs reset to 0).
    pub state: Vec<f64>,
    pub iterations: usize,
    /// max_i |Φ(y)_i − y_i| / scale_i at the solution.
    pub residual: f64,
}

/// The inputs of one dosing interval of the maintenance dose, given at 0 h, checked to
/// start before the interval ends and (infusions) to stop by its end: the interval map Φ
/// starts every interval with no infusion running.
pub fn one_interval_inputs(
    subject: &Subject,
    regimen: &Regimen,
) -> Result<Vec<StateInput>, SimError> {
    let tau = regimen.interval_h;
    let mut one = regimen.clone();
    one.start_h = 0.0;
    one.repeat = Repeat::Single;
    one.loading_dose = None;
    one.missed_days.clear();
    one.late_doses.clear();
    one.extra_doses.clear();
    one.stop_day = None;
    one.steady_state = false;
    // The map runs over [0, τ]: list inputs up to just after τ to see those at or past it.
    let inputs = subject.regimen_inputs(&one, 2.0 * tau)?;
    let within = |t: f64| t <= tau || same_time(t, tau);
    for i in &inputs {
        let starts = match *i {
            StateInput::Bolus { .. } => true,
            StateInput::RateStep {
                delta_nmol_per_h, ..
            } => delta_nmol_per_h > 0.0,
        };
        if starts && !before(i.time_h(), tau) {
            return Err(InputError::new(
                "steady_state",
                regimen.name.clone(),
                "the dose lag must be shorter than the dosing interval",
            )
            .into());
        }
        if !starts && !within(i.time_h()) {
            return Err(InputError::new(
                "steady_state",
                format!(
                    "infusion ending {} h after the dose, every {tau} h",
                    i.time_h()
                ),
                "a steady state needs infusions (after any lag) to end within the dosing \
                 interval",
            )
            .into());
        }
    }
    Ok(inputs)
}

/// A simulation's start: state, zero-order input rates running, inputs of an earlier dose
/// still to come.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    pub state: Vec<f64>,
    pub rates: Vec<f64>,
    pub pending: Vec<StateInput>,
}

/// Where a regimen that starts from its periodic steady state is at 0 h. Its schedule is
/// taken as extended backwards: the previous dose was τ − (start_h mod τ) before 0 h, so the
/// steady state just before a dose is advanced by that long. Returns the state (AUCs from
/// 0), the infusion rates still running at 0 h, and that dose's inputs still to come (an
/// infusion's end, a lagged bolus) on the simulation's clock.
pub fn state_at_start(
    subject: &Subject,
    regimen: &Regimen,
    ss: &PeriodicSteadyState,
) -> Result<Start, SimError> {
    let tau = regimen.interval_h;
    let n = subject.system.n;
    let phase = regimen.start_h.rem_euclid(tau);
    if same_time(phase, 0.0) || same_time(phase, tau) {
        return Ok(Start {
            state: ss.state.clone(),
            rates: vec![0.0; n],
            pending: vec![],
        });
    }
    let since = tau - phase;
    let inputs = one_interval_inputs(subject, regimen)?;
    let end = subject
        .integrate_with(
            &subject.options,
            &ss.state,
            &vec![0.0; n],
            0.0,
            since,
            &inputs,
            &[],
            &mut |_: f64, _: &[f64]| {},
        )
        .map_err(|e| {
            e.with_context(format!(
                "steady state of regimen '{}' advanced to its start",
                regimen.name
            ))
        })?;
    let mut state = end.state;
    let n_species = subject.model.species.len();
    state[n_species..].iter_mut().for_each(|a| *a = 0.0);
    // Inputs at `since` itself were not applied (a segment ends before its end's events).
    let pending = inputs
        .iter()
        .filter(|i| i.time_h() > since || same_time(i.time_h(), since))
        .map(|i| i.at((i.time_h() - since).max(0.0)))
        .collect();
    Ok(Start {
        state,
        rates: end.rates,
        pending,
    })
}

/// Newton on Φ(y) − y = 0 with a finite-difference Jacobian of Φ (tight tolerances).
pub fn periodic(subject: &Subject, regimen: &Regimen) -> Result<PeriodicSteadyState, SimError> {
    let tau = regimen.interval_h;
    if !regimen.with.is_empty() {
        return Err(InputError::new(
            "steady_state",
            regimen.name.clone(),
            "a periodic steady state needs one dosing period; this regimen has co-administered \
             regimens",
        )
        .into());
    }
    let inputs = one_interval_inputs(subject, regimen)?;
    let n_species = subject.model.species.len();
    let n = subject.system.n;
    let opts = SolverOptions {
        method: subject.options.method,
        ..SolverOptions::TIGHT
    };
    let scale: Vec<f64> = subject.atol(&SolverOptions { atol: 1.0, ..opts });
    let map = |y: &[f64]| -> Result<Vec<f64>, SolveError> {
        let mut full = y.to_vec();
        full.resize(n, 0.0);
        let end = subject.integrate_with(
            &opts,
            &full,
            &vec![0.0; n],
            0.0,
            tau,
            &inputs,
            &[],
            &mut |_: f64, _: &[f64]| {},
        )?;
        Ok(end.state[..n_species].to_vec())
    };
    let ctx = |e: SolveError| {
        e.with_context(format!(
            "periodic steady state of regimen '{}'",
            regimen.name
        ))
    };
    // Unknowns: the species this regimen can make non-zero (another drug's stay zero, and
    // finite-difference columns for them would only cost integrations).
    let targets: Vec<usize> = inputs.iter().map(StateInput::species).collect();
    let active = subject.system.reachable(&subject.baseline, &targets);
    let unknowns: Vec<usize> = (0..n_species).filter(|&i| active[i]).collect();
    let m = unknowns.len();
    // Start from a few intervals of ordinary dosing.
    let mut y = subject.baseline[..n_species].to_vec();
    for _ in 0..3 {
        y = map(&y).map_err(ctx)?;
    }
    for iter in 1..=NEWTON_MAX_ITER {
        let phi = map(&y).map_err(ctx)?;
        let r: Vec<f64> = unknowns.iter().map(|&i| phi[i] - y[i]).collect();
        let res = unknowns
            .iter()
            .zip(&r)
            .map(|(&i, ri)| ri.abs() / scale[i])
            .fold(0.0, f64::max);
        if res < NEWTON_TOL {
            let mut state = y.clone();
            state.resize(n, 0.0);
            return Ok(PeriodicSteadyState {
                state,
                iterations: iter - 1,
                residual: res,
            });
        }
        let mut jac = DMatrix::<f64>::zeros(m, m);
        for (col, &c) in unknowns.iter().enumerate() {
            let h = 1e-6 * scale[c].max(y[c].abs());
            let mut yp = y.clone();
            yp[c] += h;
            let pp = map(&yp).map_err(ctx)?;
            for (row, &i) in unknowns.iter().enumerate() {
                jac[(row, col)] = (pp[i] - yp[i] - r[row]) / h;
            }
        }
        let rhs = DVector::from_iterator(m, r.iter().map(|v| -v));
        let dx = jac.lu().solve(&rhs).ok_or_else(|| SolveError {
            context: format!(" (periodic steady state of regimen '{}')", regimen.name),
            time_h: 0.0,
            message: format!("singular interval-map Jacobian at Newton iteration {iter}"),
            state: subject.describe(&y),
        })?;
        let mut lambda: f64 = 1.0;
        for (k, &i) in unknowns.iter().enumerate() {
            if y[i] + lambda * dx[k] < 0.0 {
                lambda = lambda.min(0.5 * y[i] / -dx[k]);
            }
        }
        for (k, &i) in unknowns.iter().enumerate() {
            y[i] += lambda * dx[k];
        }
    }
    Err(SolveError {
        context: format!(" (periodic steady state of regimen '{}')", regimen.name),
        time_h: 0.0,
        message: format!("Newton did not converge in {NEWTON_MAX_ITER} iterations"),
        state: subject.describe(&y),
    }
    .into())
}
