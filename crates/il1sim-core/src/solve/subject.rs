//! Integration with diffsol: one subject, one regimen. Integration stops exactly at every
//! dose or infusion boundary, applies the jump, and restarts the multistep method.
//!
//! Two diffsol settings matter for repeated dosing (see docs/solver.md):
//! `max_nonlinear_solver_failures` counts over the whole solve, not per step, so it is
//! raised (each restart costs a few recovered Newton failures); and after a jump the
//! solver state is cloned back in (`set_state`) so BDF rebuilds its history and Jacobian.

use super::equilibrium;
use super::options::{Method, SolverOptions};
use super::trajectory::{Observer, Probe};
use crate::dosing::inputs::{state_inputs, StateInput};
use crate::dosing::regimen::Regimen;
use crate::error::{SimError, SolveError};
use crate::model::definition::{Model, ParameterValues};
use crate::model::patient::Patient;
use crate::model::system::OdeSystem;
use crate::time::same_time;
use diffsol::{NalgebraMat, OdeBuilder, OdeSolverMethod, OdeSolverStopReason, Vector};
use std::cell::RefCell;

type M = NalgebraMat<f64>;
type LS = super::kinetic_lu::KineticLu;

/// Hours of drug-free integration before the Newton polish of the untreated state
/// (long against the slowest untreated process, CRP with t½ 19 h).
const BASELINE_RUN_H: f64 = 24.0 * 100.0;
/// Relative and absolute tolerance of that run: it only has to end in the basin of the
/// untreated equilibrium, which Newton then solves for to [`equilibrium::NEWTON_TOL`]. The
/// polished state is then within 3.4e-10 of the one after a run at the default 1e-6, for
/// 100 instead of 178 µs (CAPS adult; examples/baseline_cost.rs).
const BASELINE_RUN_TOL: f64 = 1e-3;

/// What an integration segment hands to the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentEnd {
    pub state: Vec<f64>,
    /// Zero-order input rates in force at the end (nmol/h per state).
    pub rates: Vec<f64>,
}

/// One patient with resolved parameters, compiled system and untreated steady state.
#[derive(Debug, Clone)]
pub struct Subject<'m> {
    pub model: &'m Model,
    pub patient: Patient,
    pub params: ParameterValues,
    pub system: OdeSystem,
    /// Untreated steady state (drug-free), all states.
    pub baseline: Vec<f64>,
    /// Value of each model signal in the untreated steady state.
    pub baseline_signals: Vec<f64>,
    pub options: SolverOptions,
    scale: Vec<f64>,
}

impl<'m> Subject<'m> {
    /// Resolve parameters for `patient` (with optional overrides by name, canonical units),
    /// compile, and find the untreated steady state.
    pub fn new(
        model: &'m Model,
        patient: &Patient,
        overrides: &[(String, f64)],
        options: SolverOptions,
    ) -> Result<Subject<'m>, SimError> {
        Subject::with_variability(model, patient, overrides, &[], options)
    }

    /// As [`Subject::new`], with multiplicative inter-individual variability on parameters.
    pub fn with_variability(
        model: &'m Model,
        patient: &Patient,
        overrides: &[(String, f64)],
        multipliers: &[(crate::model::definition::ParamId, f64)],
        options: SolverOptions,
    ) -> Result<Subject<'m>, SimError> {
        patient.check(model, "patient")?;
        let params = model.parameter_values_with_variability(
            &patient.disease,
            &patient.covariates(),
            overrides,
            multipliers,
        )?;
        let system = model.system(&params);
        let n_species = model.species.len();
        let mut scale: Vec<f64> = model.species.iter().map(|s| s.scale).collect();
        for d in &model.drugs {
            scale.push(model.species[d.concentration_species].scale * 24.0);
        }
        let mut y0: Vec<f64> = model.species.iter().map(|s| s.initial).collect();
        y0.resize(system.n, 0.0);
        let mut subject = Subject {
            model,
            patient: patient.clone(),
            params,
            system,
            baseline: vec![],
            baseline_signals: vec![],
            options,
            scale,
        };
        let rates = vec![0.0; subject.system.n];
        let untreated_run = SolverOptions {
            rtol: BASELINE_RUN_TOL,
            atol: BASELINE_RUN_TOL,
            ..options
        };
        let end = subject
            .integrate_with(
                &untreated_run,
                &y0,
                &rates,
                0.0,
                BASELINE_RUN_H,
                &[],
                &[],
                &mut |_: f64, _: &[f64]| {},
            )
            .map_err(|e| e.with_context("untreated baseline"))?;
        let mut base = end.state;
        let polished = equilibrium::equilibrium(
            &subject.system,
            &base[..n_species],
            &subject.scale[..n_species],
        )
        .map_err(|m| SolveError {
            context: " (untreated baseline)".into(),
            time_h: BASELINE_RUN_H,
            message: m,
            state: subject.describe(&base),
        })?;
        base[..n_species].copy_from_slice(&polished);
        base[n_species..].iter_mut().for_each(|a| *a = 0.0);
        // States the untreated system cannot reach (the drugs') stay exactly zero, whatever
        // rounding Newton's linear solves leave in them.
        let reached = subject.system.reachable(&y0, &[]);
        for (b, _) in base.iter_mut().zip(&reached).filter(|(_, r)| !**r) {
            *b = 0.0;
        }
        // Tolerances scale with each state's untreated magnitude where it has one.
        for (s, b) in subject.scale.iter_mut().zip(&base) {
            *s = s.max(b.abs());
        }
        subject.baseline_signals = (0..subject.system.signals.len())
            .map(|i| subject.system.signal_value(i, &base))
            .collect();
        subject.baseline = base;
        Ok(subject)
    }

    /// `name=value` list of a state, for error messages.
    pub fn describe(&self, y: &[f64]) -> String {
        let mut names: Vec<String> = self.model.species.iter().map(|s| s.name.clone()).collect();
        names.extend(self.model.drugs.iter().map(|d| format!("auc_{}", d.name)));
        names
            .iter()
            .zip(y)
            .map(|(n, v)| format!("{n}={v:.6e}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn atol(&self, options: &SolverOptions) -> Vec<f64> {
        self.scale.iter().map(|s| s * options.atol).collect()
    }

    /// Integrate from `t0` to `t_end` starting at `y0` with input `rates` in force, applying
    /// `inputs` (sorted by time) and handing `observe` the whole state at each of
    /// `output_times` (sorted) inside (t0, t_end], plus t0 when listed, and its probe species
    /// at each of the probe's times in the same range (a closure `|t, y| ...` observes whole
    /// states only). At an event time the observation is taken before the event (trough
    /// semantics).
    #[allow(clippy::too_many_arguments)]
    pub fn integrate<'p>(
        &self,
        y0: &[f64],
        rates: &[f64],
        t0: f64,
        t_end: f64,
        inputs: &[StateInput],
        output_times: &[f64],
        observe: &mut dyn Observer<'p>,
    ) -> Result<SegmentEnd, SolveError> {
        self.integrate_with(
            &self.options,
            y0,
            rates,
            t0,
            t_end,
            inputs,
            output_times,
            observe,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn integrate_with<'p>(
        &self,
        options: &SolverOptions,
        y0: &[f64],
        rates: &[f64],
        t0: f64,
        t_end: f64,
        inputs: &[StateInput],
        output_times: &[f64],
        observe: &mut dyn Observer<'p>,
    ) -> Result<SegmentEnd, SolveError> {
        // Integrate only the states that can become non-zero (an undosed drug's states stay
        // exactly zero and would only make every linear solve larger).
        let mut targets: Vec<usize> = inputs.iter().map(StateInput::species).collect();
        targets.extend((0..rates.len()).filter(|&i| rates[i] != 0.0));
        let active = self.system.reachable(y0, &targets);
        let atol = self.atol(options);
        if active.iter().all(|a| *a) {
            return self.integrate_system(
                &self.system,
                &atol,
                options,
                y0,
                rates,
                t0,
                t_end,
                inputs,
                output_times,
                observe,
                None,
            );
        }
        let keep: Vec<usize> = (0..self.system.n).filter(|&i| active[i]).collect();
        if keep.is_empty() {
            // Nothing can change: every state is zero and nothing feeds it.
            for &t in output_times
                .iter()
                .filter(|&&t| t >= t0 - 1e-12 && t <= t_end + 1e-12)
            {
                observe.observe(t, y0);
            }
            constant_probe(observe, y0, t0, t_end);
            return Ok(SegmentEnd {
                state: y0.to_vec(),
                rates: rates.to_vec(),
            });
        }
        let mut map = vec![usize::MAX; self.system.n];
        for (new, &old) in keep.iter().enumerate() {
            map[old] = new;
        }
        let sys = self.system.restrict(&keep);
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let inputs_r: Vec<StateInput> = inputs
            .iter()
            .map(|i| match *i {
                StateInput::Bolus {
                    time_h,
                    species,
                    amount_nmol,
                } => StateInput::Bolus {
                    time_h,
                    species: map[species],
                    amount_nmol,
                },
                StateInput::RateStep {
                    time_h,
                    species,
                    delta_nmol_per_h,
                } => StateInput::RateStep {
                    time_h,
                    species: map[species],
                    delta_nmol_per_h,
                },
            })
            .collect();
        let n_full = self.system.n;
        let expand = |v: &[f64]| expand_kept(&keep, n_full, v);
        // A probe on a state that cannot change reads its starting value.
        if observe.probe().is_some_and(|p| !active[p.species]) {
            constant_probe(observe, y0, t0, t_end);
        }
        let mut observe_full = Expanding {
            inner: observe,
            keep: &keep,
            map: &map,
            // One buffer for every observation.
            full: vec![0.0; n_full],
        };
        let end = self.integrate_system(
            &sys,
            &pick(&atol),
            options,
            &pick(y0),
            &pick(rates),
            t0,
            t_end,
            &inputs_r,
            output_times,
            &mut observe_full,
            Some(&keep),
        )?;
        Ok(SegmentEnd {
            state: expand(&end.state),
            rates: expand(&end.rates),
        })
    }

    /// Integrate `sys` (the full system, or a restriction to the states `kept`).
    #[allow(clippy::too_many_arguments)]
    fn integrate_system<'p>(
        &self,
        sys: &OdeSystem,
        atol: &[f64],
        options: &SolverOptions,
        y0: &[f64],
        rates: &[f64],
        t0: f64,
        t_end: f64,
        inputs: &[StateInput],
        output_times: &[f64],
        observe: &mut dyn Observer<'p>,
        kept: Option<&[usize]>,
    ) -> Result<SegmentEnd, SolveError> {
        let n = sys.n;
        let current_rates = RefCell::new(rates.to_vec());
        let fail = |t: f64, y: &[f64], message: String| {
            let full = match kept {
                None => y.to_vec(),
                Some(keep) => expand_kept(keep, self.system.n, y),
            };
            SolveError {
                context: String::new(),
                time_h: t,
                message,
                state: self.describe(&full),
            }
        };
        let mut problem = OdeBuilder::<M>::new()
            .t0(t0)
            .rtol(options.rtol)
            .atol(atol.to_vec())
            .rhs_implicit(
                |x: &[f64], _p: &[f64], _t: f64, y: &mut [f64]| {
                    sys.rhs(x, &current_rates.borrow(), y)
                },
                |x: &[f64], _p: &[f64], _t: f64, v: &[f64], y: &mut [f64]| sys.jvp(x, v, y),
            )
            .init(
                |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(y0),
                n,
            )
            .build()
            .map_err(|e| fail(t0, y0, format!("cannot set up the problem: {e}")))?;
        // Cumulative over the whole solve in diffsol 0.18: raise it (rust-crates.md).
        problem.ode_options.max_nonlinear_solver_failures = usize::MAX / 4;
        // The three methods differ only in the solver type `drive` is instantiated with.
        macro_rules! drive_with {
            ($solver:expr, $polynomial:expr) => {{
                let solver = $solver.map_err(|e| fail(t0, y0, e.to_string()))?;
                drive(
                    solver,
                    sys,
                    (atol, options.rtol),
                    &current_rates,
                    t0,
                    t_end,
                    inputs,
                    output_times,
                    observe,
                    $polynomial,
                    &fail,
                )
            }};
        }
        // BDF's dense output between steps is one polynomial of the current order; the
        // Runge–Kutta methods' is not tied to their order.
        match options.method {
            Method::Bdf => drive_with!(problem.bdf::<LS>(), true),
            Method::Esdirk34 => drive_with!(problem.esdirk34::<LS>(), false),
            Method::TrBdf2 => drive_with!(problem.tr_bdf2::<LS>(), false),
        }
    }

    /// State inputs of a regimen, and of the regimens given with it, up to `horizon_h`.
    pub fn regimen_inputs(
        &self,
        regimen: &Regimen,
        horizon_h: f64,
    ) -> Result<Vec<StateInput>, SimError> {
        let drug = self.model.drug(&regimen.drug).ok_or_else(|| {
            let names: Vec<&str> = self.model.drugs.iter().map(|d| d.name.as_str()).collect();
            crate::error::InputError::new(
                "drug",
                &regimen.drug,
                format!("allowed: {}", names.join(", ")),
            )
        })?;
        let doses = regimen.dose_events(self.patient.weight_kg, horizon_h)?;
        let mut inputs = state_inputs(self.model, &self.params, drug, &doses)?;
        for w in &regimen.with {
            inputs.extend(self.regimen_inputs(w, horizon_h)?);
        }
        // Stable: at equal times this regimen's inputs come before those given with it.
        inputs.sort_by(|a, b| a.time_h().total_cmp(&b.time_h()));
        Ok(inputs)
    }

    /// Value of every observable of the model at one state.
    pub fn observe(&self, y: &[f64]) -> Vec<f64> {
        self.model
            .observables
            .iter()
            .map(|o| {
                self.model
                    .observe(o, y, &self.system, &self.params, &self.baseline_signals)
            })
            .collect()
    }
}

/// A state on the kept states `keep` written back into a full state of `n` (the others zero).
/// An observer of the full system fed by an integration of the states `keep`: whole states
/// are expanded (the others are zero), the probe's species is renumbered.
struct Expanding<'o, 'p> {
    inner: &'o mut dyn Observer<'p>,
    keep: &'o [usize],
    map: &'o [usize],
    full: Vec<f64>,
}

impl<'p> Observer<'p> for Expanding<'_, 'p> {
    fn observe(&mut self, t: f64, y: &[f64]) {
        for (k, &i) in self.keep.iter().enumerate() {
            self.full[i] = y[k];
        }
        self.inner.observe(t, &self.full)
    }
    fn probe(&self) -> Option<Probe<'p>> {
        let p = self.inner.probe()?;
        let species = *self.map.get(p.species).filter(|&&m| m != usize::MAX)?;
        Some(Probe {
            species,
            times: p.times,
        })
    }
    fn sample(&mut self, t: f64, value: f64) {
        self.inner.sample(t, value)
    }
}

/// The probe's samples in [t0, t_end] when its species keeps its starting value.
fn constant_probe(observe: &mut dyn Observer<'_>, y0: &[f64], t0: f64, t_end: f64) {
    if let Some(p) = observe.probe() {
        for &t in p
            .times
            .iter()
            .filter(|&&t| (t >= t0 || same_time(t, t0)) && (t <= t_end || same_time(t, t_end)))
        {
            observe.sample(t, y0[p.species]);
        }
    }
}

/// Values of species `species` at `times` (sorted, all in the last step) from the step's
/// interpolating polynomial, of degree `degree` (None: not a polynomial of known degree):
/// each time interpolated directly when there are at most degree + 1 of them, otherwise the
/// species at degree + 1 Chebyshev points of [first, last] and barycentric Lagrange
/// interpolation through them, which reproduces a polynomial of that degree up to rounding
/// (Berrut & Trefethen 2004, SIAM Rev 46:501).
fn sample_step<'a, Eqn, S>(
    solver: &S,
    degree: Option<usize>,
    species: usize,
    times: &[f64],
    buffer: &mut Eqn::V,
    observe: &mut dyn Observer<'_>,
) -> Result<(), (f64, diffsol::error::DiffsolError)>
where
    Eqn: diffsol::OdeEquations<T = f64, V = diffsol::NalgebraVec<f64>> + 'a,
    S: OdeSolverMethod<'a, Eqn>,
{
    let degree = match degree {
        Some(d) if (1..=MAX_BDF_ORDER).contains(&d) && times.len() > d + 1 => d,
        _ => {
            for &t in times {
                solver.interpolate_inplace(t, buffer).map_err(|e| (t, e))?;
                observe.sample(t, buffer.batch_as_slice(0)[species]);
            }
            return Ok(());
        }
    };
    let (a, b) = (times[0], times[times.len() - 1]);
    let mut nodes = [(0.0f64, 0.0f64, 0.0f64); MAX_BDF_ORDER + 1];
    let nodes = &mut nodes[..=degree];
    for (j, node) in nodes.iter_mut().enumerate() {
        // Chebyshev points of the second kind, b first; weights (−1)^j, halved at the ends.
        let x = if j == 0 {
            b
        } else if j == degree {
            a
        } else {
            0.5 * (a + b) + 0.5 * (b - a) * (std::f64::consts::PI * j as f64 / degree as f64).cos()
        };
        solver.interpolate_inplace(x, buffer).map_err(|e| (x, e))?;
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        let weight = if j == 0 || j == degree {
            0.5 * sign
        } else {
            sign
        };
        *node = (x, weight, buffer.batch_as_slice(0)[species]);
    }
    for &t in times {
        let (mut num, mut den) = (0.0, 0.0);
        let mut exact = None;
        for &(x, w, f) in nodes.iter() {
            if t == x {
                exact = Some(f);
                break;
            }
            let c = w / (t - x);
            num += c * f;
            den += c;
        }
        observe.sample(t, exact.unwrap_or(num / den));
    }
    Ok(())
}

/// Highest order of diffsol's BDF (and of the other methods' dense output).
const MAX_BDF_ORDER: usize = 5;

fn expand_kept(keep: &[usize], n: usize, v: &[f64]) -> Vec<f64> {
    let mut full = vec![0.0; n];
    for (k, &i) in keep.iter().enumerate() {
        full[i] = v[k];
    }
    full
}

/// First step after an event, by the starting-step algorithm of Hairer, Nørsett & Wanner
/// (Solving ODEs I, II.4, as diffsol uses for t0) for order 1: the step at which the change of
/// the derivative over the step is 1% of the weighted norm.
pub(crate) fn restart_step(
    sys: &OdeSystem,
    rates: &[f64],
    y: &[f64],
    f0: &[f64],
    atol: &[f64],
    rtol: f64,
) -> f64 {
    let n = y.len();
    let norm = |v: &dyn Fn(usize) -> f64| -> f64 {
        ((0..n)
            .map(|i| {
                let x = v(i) / (atol[i] + rtol * y[i].abs());
                x * x
            })
            .sum::<f64>()
            / n as f64)
            .sqrt()
    };
    let d0 = norm(&|i| y[i]);
    let d1 = norm(&|i| f0[i]);
    let h0 = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    let y1: Vec<f64> = (0..n).map(|i| y[i] + h0 * f0[i]).collect();
    let mut f1 = vec![0.0; n];
    sys.rhs(&y1, rates, &mut f1);
    let d2 = norm(&|i| f1[i] - f0[i]) / h0;
    let h1 = if d1.max(d2) < 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / d1.max(d2)).sqrt()
    };
    (100.0 * h0).min(h1)
}

#[allow(clippy::too_many_arguments)]
fn drive<'a, 'p, Eqn, S>(
    mut solver: S,
    sys: &OdeSystem,
    (atol, rtol): (&[f64], f64),
    rates: &RefCell<Vec<f64>>,
    t0: f64,
    t_end: f64,
    inputs: &[StateInput],
    output_times: &[f64],
    observe: &mut dyn Observer<'p>,
    polynomial_output: bool,
    fail: &dyn Fn(f64, &[f64], String) -> SolveError,
) -> Result<SegmentEnd, SolveError>
where
    Eqn: diffsol::OdeEquations<T = f64, V = diffsol::NalgebraVec<f64>> + 'a,
    S: OdeSolverMethod<'a, Eqn>,
{
    let n = sys.n;
    let inputs: Vec<&StateInput> = inputs
        .iter()
        .filter(|i| i.time_h() >= t0 - 1e-12 && i.time_h() < t_end && !same_time(i.time_h(), t_end))
        .collect();
    let mut next_out = output_times.partition_point(|&t| t < t0 && !same_time(t, t0));
    let probe = observe.probe();
    let probe_times: &[f64] = probe.map_or(&[], |p| p.times);
    let mut next_probe = probe_times.partition_point(|&t| t < t0 && !same_time(t, t0));
    let mut next_in = 0usize;
    let mut t = t0;
    let mut interpolated = solver.state().y.clone();
    loop {
        // Observations at the current time come before the events at that time.
        let y_now = solver.state().y.clone_as_vec();
        while next_out < output_times.len()
            && (output_times[next_out] <= t || same_time(output_times[next_out], t))
        {
            observe.observe(output_times[next_out], &y_now);
            next_out += 1;
        }
        while next_probe < probe_times.len()
            && (probe_times[next_probe] <= t || same_time(probe_times[next_probe], t))
        {
            let species = probe.map_or(0, |p| p.species);
            observe.sample(probe_times[next_probe], y_now[species]);
            next_probe += 1;
        }
        if t >= t_end || same_time(t, t_end) {
            return Ok(SegmentEnd {
                state: y_now,
                rates: rates.borrow().clone(),
            });
        }
        let mut jumped = false;
        while next_in < inputs.len()
            && (inputs[next_in].time_h() <= t || same_time(inputs[next_in].time_h(), t))
        {
            match *inputs[next_in] {
                StateInput::Bolus {
                    species,
                    amount_nmol,
                    ..
                } => {
                    let st = solver.state_mut();
                    st.y[species] += amount_nmol / sys.volume[species];
                }
                StateInput::RateStep {
                    species,
                    delta_nmol_per_h,
                    ..
                } => {
                    let mut r = rates.borrow_mut();
                    r[species] += delta_nmol_per_h;
                    // Switching an infusion off must leave exactly zero, not rounding noise.
                    if r[species].abs() < 1e-12 * delta_nmol_per_h.abs() {
                        r[species] = 0.0;
                    }
                }
            }
            jumped = true;
            next_in += 1;
        }
        if jumped {
            let y = solver.state().y.clone_as_vec();
            let mut dy = vec![0.0; n];
            sys.rhs(&y, &rates.borrow(), &mut dy);
            let h = restart_step(sys, &rates.borrow(), &y, &dy, atol, rtol);
            {
                let st = solver.state_mut();
                for (i, v) in dy.iter().enumerate() {
                    st.dy[i] = *v;
                }
                // diffsol would restart at order 1 with the step the solver had before the
                // event (up to ~1 h at order 5) and cut it by repeated error-test failures.
                *st.h = h;
            }
            let state = solver.state_clone();
            solver.set_state(state);
        }
        let t_next = if next_in < inputs.len() {
            inputs[next_in].time_h().min(t_end)
        } else {
            t_end
        };
        solver
            .set_stop_time(t_next)
            .map_err(|e| fail(t, &solver.state().y.clone_as_vec(), e.to_string()))?;
        loop {
            let reason = solver.step().map_err(|e| {
                let st = solver.state();
                fail(st.t, &st.y.clone_as_vec(), e.to_string())
            })?;
            let tc = solver.state().t;
            while next_out < output_times.len()
                && output_times[next_out] <= tc
                && output_times[next_out] < t_next
                && !same_time(output_times[next_out], t_next)
            {
                let ot = output_times[next_out];
                solver
                    .interpolate_inplace(ot, &mut interpolated)
                    .map_err(|e| fail(ot, &solver.state().y.clone_as_vec(), e.to_string()))?;
                observe.observe(ot, interpolated.batch_as_slice(0));
                next_out += 1;
            }
            if let Some(p) = probe {
                let first = next_probe;
                while next_probe < probe_times.len()
                    && probe_times[next_probe] <= tc
                    && probe_times[next_probe] < t_next
                    && !same_time(probe_times[next_probe], t_next)
                {
                    next_probe += 1;
                }
                if next_probe > first {
                    sample_step(
                        &solver,
                        polynomial_output.then(|| solver.order()),
                        p.species,
                        &probe_times[first..next_probe],
                        &mut interpolated,
                        observe,
                    )
                    .map_err(|(t, e)| fail(t, &solver.state().y.clone_as_vec(), e.to_string()))?;
                }
            }
            if let OdeSolverStopReason::TstopReached = reason {
                break;
            }
        }
        t = t_next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dosing::regimen::{Administration, DoseAmount};
    use crate::solve::trajectory::Recorder;

    fn caps_subject(model: &Model) -> Subject<'_> {
        Subject::new(
            model,
            &Patient::adult("caps"),
            &[],
            SolverOptions::default(),
        )
        .unwrap()
    }

    /// 100 mg anakinra SC daily, `doses` doses.
    fn daily_anakinra(doses: u32) -> Regimen {
        Regimen::repeated(
            "r",
            "anakinra",
            DoseAmount::Mg(100.0),
            Administration::Subcutaneous,
            24.0,
            doses,
        )
    }

    /// The probe samples of `species` at `grid` from one simulation to `horizon_h`.
    fn probe_samples(
        s: &Subject,
        r: &Regimen,
        horizon_h: f64,
        species: usize,
        grid: &[f64],
    ) -> Vec<(f64, f64)> {
        let mut rec = Recorder::new(
            &[],
            Some(Probe {
                species,
                times: grid,
            }),
        );
        s.simulate_observing(r, horizon_h, &[], &mut rec).unwrap();
        rec.finish().1
    }

    /// Probe samples come from each BDF step's polynomial through Chebyshev points: they must
    /// equal whole-state interpolation at the same times, before a dose, across the doses of
    /// the grid and at its ends.
    #[test]
    fn probe_samples_equal_whole_state_interpolation() {
        let model = crate::il1_model();
        let s = caps_subject(&model);
        let r = daily_anakinra(3);
        let species = model.drug("anakinra").unwrap().concentration_species;
        // 0.01 h over days 2 and 3: two dose times inside, thousands of points per day.
        let grid: Vec<f64> = (0..=4800).map(|k| 24.0 + 0.01 * k as f64).collect();
        let samples = probe_samples(&s, &r, 72.0, species, &grid);
        let (whole, _) = s.simulate(&r, 72.0, &grid).unwrap();
        assert_eq!(samples.len(), grid.len());
        let peak = whole.states.iter().map(|y| y[species]).fold(0.0, f64::max);
        let worst = samples
            .iter()
            .zip(&whole.states)
            .map(|(&(_, v), y)| (v - y[species]).abs() / peak)
            .fold(0.0, f64::max);
        assert!(worst < 1e-12, "largest difference {worst:e} of the peak");
        // At a dose time the sample is the trough, before the dose.
        let at_48 = samples.iter().find(|(t, _)| same_time(*t, 48.0)).unwrap().1;
        let before = samples
            .iter()
            .find(|(t, _)| same_time(*t, 47.99))
            .unwrap()
            .1;
        let after = samples
            .iter()
            .find(|(t, _)| same_time(*t, 48.01))
            .unwrap()
            .1;
        assert!(at_48 < before && after > 0.0, "{before} {at_48} {after}");
    }

    /// A probe on a state the regimen cannot reach reads its starting value at every time.
    #[test]
    fn probe_on_an_unreached_state_reads_its_starting_value() {
        let model = crate::il1_model();
        let s = caps_subject(&model);
        let species = model.drug("canakinumab").unwrap().concentration_species;
        let grid: Vec<f64> = (0..=100).map(|k| 0.48 * k as f64).collect();
        let samples = probe_samples(&s, &daily_anakinra(2), 48.0, species, &grid);
        assert_eq!(samples.len(), grid.len());
        assert!(samples.iter().all(|&(_, v)| v == s.baseline[species]));
    }
}
