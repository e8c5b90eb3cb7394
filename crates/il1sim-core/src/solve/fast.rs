//! The fast method for populations (`method = "fast"`): the exact integrator until a
//! periodic dosing pattern has made the whole system periodic, then that period repeated.
//!
//! Why it is exact enough: once the doses repeat every P hours, every state except the
//! *terminal* ones (nothing depends on them, and their own decay is first order: CRP, SAA,
//! the AUC) converges geometrically to a P-periodic orbit, following the drug's accumulation
//! (docs/solver.md, "Fast method", measures this); once that approach is clearly geometric the
//! orbit is extrapolated and one template period integrated from it, or the period just
//! integrated already is the orbit and serves as the template, so 3–5 periods are
//! integrated. The terminal states are linear in themselves under a periodic forcing, so they
//! are continued in closed form:
//! y(T + mP + s) = e^{−k s}·Y_m + w(s), Y_{m+1} = e^{−kP}·Y_m + w(P), with w(s) the response
//! of the template period from zero. Nothing is neglected beyond the periodicity tolerance
//! [`PERIODIC_RTOL`]; a regimen that is never periodic (or does not converge) is integrated
//! to the end, exactly as by the exact method.

use super::options::SolverOptions;
use super::subject::{SegmentEnd, Subject};
use super::trajectory::{Observer, Probe, Recorder, Trajectory};
use crate::dosing::inputs::StateInput;
use crate::dosing::regimen::Regimen;
use crate::error::{InputError, SimError};
use crate::model::system::OdeSystem;
use crate::time::{at_cursor, contains, same_time, union};

/// Largest change of a non-terminal state over one period, relative to its value (plus
/// [`NOISE_ATOL`] times the integrator's absolute tolerance), at which the orbit counts as
/// periodic. The signal is an operational model with slope 3, so its error is at most ~3×
/// this (3e-5), well inside the 1e-3 the fast method promises.
pub const PERIODIC_RTOL: f64 = 1e-5;
/// Integration noise: period-to-period differences below this many absolute tolerances of
/// the integrator are not a trend (BDF at the default tolerances left differences of 1–6
/// absolute tolerances between the periods of a converged orbit, measured while building
/// this; the criterion would otherwise wait for noise to shrink).
pub const NOISE_ATOL: f64 = 10.0;

/// Factor by which the fast method's integrations are tighter than the subject's options:
/// at 1× the difference from the exact method reached 7.4e-4 on the IL-1 signal (two noisy
/// solutions), at 3× it is the exact method's own error (5.7e-4 at most; 10× gave the same
/// for 15% more cost). Measured with examples/fast_accuracy.rs.
pub const TIGHTER: f64 = 3.0;
/// Largest period-to-period ratio of the change for which the orbit is extrapolated (a
/// clearly geometric approach; ratios near 1 mean a slow or noisy approach).
pub const MAX_RATIO: f64 = 0.5;
/// Largest predicted distance between the true trajectory and the extrapolated orbit in
/// the first repeated period, in units of the periodicity tolerance: the same bound as for an
/// orbit that repeats without extrapolation (0.1 integrated 5.2 instead of 4.6 daily periods
/// for the same accuracy; examples/fast_accuracy.rs).
pub const EXTRAPOLATION_MARGIN: f64 = 1.0;

/// Work done by one fast simulation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastStats {
    /// The template started from the extrapolated orbit (the change was still above the
    /// tolerance but shrinking geometrically).
    pub extrapolated: bool,
    /// Dosing periods in the periodic window.
    pub periods: usize,
    /// Periods integrated (until convergence, plus the template); the rest were repeated.
    pub periods_integrated: usize,
    /// The last period integrated was already the orbit and served as the template.
    pub reused_template: bool,
}

/// A stretch of the dosing record in which the inputs repeat every `period_h`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeriodicWindow {
    pub start_h: f64,
    pub period_h: f64,
    pub periods: usize,
}

impl PeriodicWindow {
    pub fn end_h(&self) -> f64 {
        self.start_h + self.period_h * self.periods as f64
    }
}

fn same_amount(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// The shortest period in which `inputs` (sorted by time) repeat, and for how many whole
/// periods before `horizon_h` they do, starting at the first input or, when the first doses
/// differ (a loading dose), at one of the next few input times; `None` when no period repeats
/// for three periods (nothing to gain) or infusion rates would drift from period to period.
pub fn periodic_window(inputs: &[StateInput], horizon_h: f64) -> Option<PeriodicWindow> {
    let mut starts: Vec<usize> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        if i == 0 || !same_time(input.time_h(), inputs[i - 1].time_h()) {
            starts.push(i);
        }
    }
    starts.into_iter().take(MAX_START_CANDIDATES).find_map(|i| {
        let rest = &inputs[i..];
        let first = rest[0].time_h();
        let mut candidates: Vec<f64> = rest
            .iter()
            .map(|x| x.time_h() - first)
            .filter(|&p| p > 0.0 && !same_time(p + first, first))
            .collect();
        candidates.dedup_by(|a, b| same_time(*a, *b));
        candidates
            .into_iter()
            .take(MAX_PERIOD_CANDIDATES)
            .find_map(|period| window_with_period(rest, first, period, horizon_h))
    })
}

/// Input times tried as the start of the periodic stretch (the first, then those after a
/// loading dose or an irregular start).
const MAX_START_CANDIDATES: usize = 4;

/// Input times tried as the period by [`periodic_window`] (a period holds at most this many
/// distinct input times: dosing and infusion switches).
const MAX_PERIOD_CANDIDATES: usize = 16;

fn window_with_period(
    inputs: &[StateInput],
    first: f64,
    period: f64,
    horizon_h: f64,
) -> Option<PeriodicWindow> {
    let in_period = |j: usize| -> &[StateInput] {
        let lo = first + period * j as f64;
        let hi = lo + period;
        let a = inputs.partition_point(|i| i.time_h() < lo && !same_time(i.time_h(), lo));
        let b = inputs.partition_point(|i| i.time_h() < hi && !same_time(i.time_h(), hi));
        &inputs[a..b]
    };
    let template = in_period(0);
    // Infusions must switch off within the period, or the rates would grow period by period.
    let mut net = std::collections::BTreeMap::<usize, (f64, f64)>::new();
    for i in template {
        if let StateInput::RateStep {
            species,
            delta_nmol_per_h,
            ..
        } = *i
        {
            let e = net.entry(species).or_insert((0.0, 0.0));
            e.0 += delta_nmol_per_h;
            e.1 = e.1.max(delta_nmol_per_h.abs());
        }
    }
    if net.values().any(|(sum, big)| sum.abs() > 1e-12 * big) {
        return None;
    }
    let matches = |j: usize| -> bool {
        let other = in_period(j);
        let shift = period * j as f64;
        other.len() == template.len()
            && other.iter().zip(template).all(|(a, b)| {
                same_time(a.time_h(), b.time_h() + shift)
                    && a.species() == b.species()
                    && match (*a, *b) {
                        (
                            StateInput::Bolus { amount_nmol: x, .. },
                            StateInput::Bolus { amount_nmol: y, .. },
                        ) => same_amount(x, y),
                        (
                            StateInput::RateStep {
                                delta_nmol_per_h: x,
                                ..
                            },
                            StateInput::RateStep {
                                delta_nmol_per_h: y,
                                ..
                            },
                        ) => same_amount(x, y),
                        _ => false,
                    }
            })
    };
    let fits = |j: usize| first + period * j as f64 <= horizon_h + 1e-9 * horizon_h.max(1.0);
    let mut periods = 0;
    while fits(periods + 1) && (periods == 0 || matches(periods)) {
        periods += 1;
    }
    (periods >= 3).then_some(PeriodicWindow {
        start_h: first,
        period_h: period,
        periods,
    })
}

/// States that nothing else depends on and whose own dynamics are a first-order decay
/// (rate `k`, 0 for an accumulating AUC), fed by the other states: they may be continued in
/// closed form once their inputs are periodic. Returns `Some(k)` for those states.
pub fn terminal_states(sys: &OdeSystem, input_targets: &[usize]) -> Vec<Option<f64>> {
    let mut terminal = vec![true; sys.n];
    let mut decay = vec![0.0; sys.n];
    for &(r, c, k) in &sys.linear {
        if r == c {
            decay[r] = -k;
        } else if k != 0.0 {
            terminal[c] = false;
        }
    }
    for b in &sys.bilinear {
        terminal[b.a] = false;
        terminal[b.b] = false;
        // The complex's rate of formation depends on a and b, not on the complex: fine.
    }
    for s in &sys.signals {
        for &i in &s.species {
            terminal[i] = false;
        }
    }
    for p in &sys.power_terms {
        terminal[p.driver] = false;
    }
    for &i in sys.frozen.iter().chain(input_targets) {
        terminal[i] = false;
    }
    (0..sys.n)
        .map(|i| (terminal[i] && decay[i] >= 0.0).then_some(decay[i]))
        .collect()
}

/// Simulate `regimen` from the untreated state with the fast method, recording all states
/// at `output_times` (sorted). Regimens that start from a periodic steady state are
/// refused (they are periodic from the start: use the exact method).
pub fn simulate(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
    output_times: &[f64],
) -> Result<(Trajectory, FastStats), SimError> {
    let run = simulate_with_probe(subject, regimen, horizon_h, output_times, None)?;
    Ok((run.trajectory, run.stats))
}

/// What [`simulate_with_probe`] returns.
#[derive(Debug, Clone)]
pub struct FastRun {
    pub trajectory: Trajectory,
    /// The probe's samples as (time h, value), sorted by time.
    pub samples: Vec<(f64, f64)>,
    pub stats: FastStats,
}

/// How the fast method integrates one segment: the subject's own BDF driver
/// ([`Direct`]), or a lane of the batched method (`solve::batch`), which answers once every
/// lane of its batch has asked.
pub trait Segments {
    /// `Subject::integrate_with`'s contract.
    #[allow(clippy::too_many_arguments, async_fn_in_trait)]
    async fn integrate(
        &self,
        subject: &Subject<'_>,
        options: &SolverOptions,
        y0: &[f64],
        rates: &[f64],
        t0: f64,
        t_end: f64,
        inputs: &[StateInput],
        output_times: &[f64],
        observe: &mut dyn Observer<'_>,
    ) -> Result<SegmentEnd, crate::error::SolveError>;
}

/// The subject's own diffsol driver: the fast method as it always was.
pub struct Direct;

impl Segments for Direct {
    async fn integrate(
        &self,
        subject: &Subject<'_>,
        options: &SolverOptions,
        y0: &[f64],
        rates: &[f64],
        t0: f64,
        t_end: f64,
        inputs: &[StateInput],
        output_times: &[f64],
        observe: &mut dyn Observer<'_>,
    ) -> Result<SegmentEnd, crate::error::SolveError> {
        subject.integrate_with(options, y0, rates, t0, t_end, inputs, output_times, observe)
    }
}

/// Run a future that never waits (the fast method with [`Direct`] segments).
fn run_now<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// As [`simulate`], also sampling one species at the `probe` times.
pub fn simulate_with_probe(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
    output_times: &[f64],
    probe: Option<Probe>,
) -> Result<FastRun, SimError> {
    run_now(simulate_with(
        subject,
        regimen,
        horizon_h,
        output_times,
        probe,
        &Direct,
    ))
}

/// The fast method with segments integrated by `segments`.
pub async fn simulate_with<S: Segments>(
    subject: &Subject<'_>,
    regimen: &Regimen,
    horizon_h: f64,
    output_times: &[f64],
    probe: Option<Probe<'_>>,
    segments: &S,
) -> Result<FastRun, SimError> {
    if regimen.steady_state {
        return Err(InputError::new(
            "steady_state",
            "true",
            "the fast method starts from the untreated state; use method = \"exact\"",
        )
        .into());
    }
    let inputs = subject.regimen_inputs(regimen, horizon_h)?;
    let context = |e: crate::error::SolveError| -> SimError {
        e.with_context(format!("regimen '{}' (fast method)", regimen.name))
            .into()
    };
    let n = subject.system.n;
    // Integrate 3× tighter than the exact method: the fast method's error against the exact
    // method is then the exact method's own discretisation error (docs/solver.md).
    let tight = SolverOptions {
        rtol: subject.options.rtol / TIGHTER,
        atol: subject.options.atol / TIGHTER,
        ..subject.options
    };
    // One integration segment with the fast method's tolerances and every input of the regimen.
    macro_rules! segment {
        ($y0:expr, $rates:expr, $t0:expr, $t1:expr, $times:expr, $observe:expr $(,)?) => {
            segments
                .integrate(
                    subject, &tight, $y0, $rates, $t0, $t1, &inputs, $times, $observe,
                )
                .await
                .map_err(context)
        };
    }
    let targets: Vec<usize> = inputs.iter().map(StateInput::species).collect();
    let terminal = terminal_states(&subject.system, &targets);
    // A terminal probe would need the closed-form continuation: record whole states there
    // and read the samples from them at the end.
    let terminal_probe = probe.filter(|p| terminal[p.species].is_some());
    let (full_times, probe) = match terminal_probe {
        Some(p) => (union(output_times, p.times), None),
        None => (output_times.to_vec(), probe),
    };
    let mut rec = Recorder::new(&full_times, probe);
    let mut stats = FastStats::default();

    let window = periodic_window(&inputs, horizon_h);
    let Some(w) = window else {
        segment!(
            &subject.baseline,
            &vec![0.0; n],
            0.0,
            horizon_h,
            &full_times,
            &mut rec,
        )?;
        return Ok(finish(rec, stats, terminal_probe));
    };
    stats.periods = w.periods;
    let atol = subject.atol(&subject.options);

    // Before the window (nothing is given before its first input, so this is the baseline).
    let mut seg = SegmentEnd {
        state: subject.baseline.clone(),
        rates: vec![0.0; n],
    };
    if w.start_h > 0.0 {
        seg = segment!(
            &seg.state,
            &seg.rates,
            0.0,
            w.start_h,
            &full_times,
            &mut rec,
        )?;
    }
    // Periods, one at a time, until the non-terminal states repeat.
    let end_of_window = w.end_h();
    // The template's outputs for a template period starting at `tc` (index `jc`) that fills
    // the window's output times after `fill_from`.
    let plan_for = |jc: usize, fill_from: f64| -> TemplatePlan {
        let tc = w.start_h + w.period_h * jc as f64;
        let periods_left = w.periods - jc;
        let place = |t: f64| place_in(t, tc, w.period_h, periods_left);
        let in_rest = |t: &f64| {
            *t > fill_from
                && !same_time(*t, fill_from)
                && (*t <= end_of_window || same_time(*t, end_of_window))
        };
        let later: Vec<f64> = full_times.iter().copied().filter(in_rest).collect();
        let later_probe: Vec<f64> = probe
            .map(|p| p.times.iter().copied().filter(in_rest).collect())
            .unwrap_or_default();
        let offsets = |ts: &[f64]| -> Vec<f64> {
            let o: Vec<f64> = ts.iter().map(|&t| tc + place(t).1).collect();
            union(&o, &[])
        };
        TemplatePlan {
            jc,
            full_offsets: offsets(&later),
            probe_offsets: offsets(&later_probe),
            later,
            later_probe,
        }
    };
    let probe_species = probe.map(|p| p.species);
    // A period that is already the orbit serves as the template (it was recorded at the
    // template's offsets too); otherwise one more period is integrated from the orbit.
    let mut reused: Option<(TemplatePlan, RecordedTemplate)> = None;
    let mut converged_at: Option<usize> = None;
    let mut previous_change = f64::INFINITY;
    let mut change_before = f64::INFINITY;
    for j in 0..w.periods {
        let t0 = w.start_h + w.period_h * j as f64;
        // Record this period as a template too when the trend says it will be periodic.
        let predicted_ratio = previous_change / change_before;
        let speculate = j >= 2
            && j + 1 < w.periods
            && predicted_ratio < MAX_RATIO
            && previous_change * predicted_ratio / (1.0 - predicted_ratio) <= EXTRAPOLATION_MARGIN;
        let plan = speculate.then(|| plan_for(j, t0 + w.period_h));
        let mut recorded = None;
        let next = match &plan {
            None => segment!(
                &seg.state,
                &seg.rates,
                t0,
                t0 + w.period_h,
                &full_times,
                &mut rec,
            )?,
            Some(plan) => {
                let mut template = plan.recorder(probe_species);
                let times = union(&full_times, &plan.full_offsets);
                let probe_times = probe.map(|p| union(p.times, &plan.probe_offsets));
                let mut both = Both {
                    first: &mut rec,
                    second: &mut template,
                    probe: probe.zip(probe_times.as_deref()).map(|(p, times)| Probe {
                        species: p.species,
                        times,
                    }),
                };
                let next = segment!(
                    &seg.state,
                    &seg.rates,
                    t0,
                    t0 + w.period_h,
                    &times,
                    &mut both,
                )?;
                recorded = Some(RecordedTemplate::new(template, &seg.state, next.clone()));
                next
            }
        };
        stats.periods_integrated += 1;
        let change = (0..n)
            .filter(|&i| terminal[i].is_none())
            .map(|i| {
                let (a, b) = (seg.state[i], next.state[i]);
                (a - b).abs() / (PERIODIC_RTOL * a.abs().max(b.abs()) + NOISE_ATOL * atol[i])
            })
            .fold(0.0, f64::max);
        // Once the change shrinks geometrically (ratio ρ per period: the drug's accumulation,
        // e^{−ka·P} for SC dosing, slaves the rest), the orbit is y* = y_j + (y_j − y_{j−1})
        // ρ/(1−ρ) and the trajectory's distance from it in the next period is ρ²/(1−ρ) times
        // this change: start the template from y* when that is negligible.
        let ratio = change / previous_change;
        let lag = change * ratio * ratio / (1.0 - ratio);
        // The first ratio (period 1 over period 0) mixes in the start from the untreated state
        // and is not the orbit's ratio: extrapolate from the third period on.
        let shrinking = j >= 2 && ratio < MAX_RATIO;
        // The period just integrated is within change/(1−ρ) of the orbit: when that is within
        // the same margin, it is the template (at least one period must follow it).
        if let (Some(plan), Some(recorded)) = (plan, recorded) {
            if shrinking && change / (1.0 - ratio) <= EXTRAPOLATION_MARGIN {
                stats.reused_template = true;
                converged_at = Some(j);
                reused = Some((plan, recorded));
                break;
            }
        }
        // Repeating needs at least one period after the template.
        if shrinking && lag <= EXTRAPOLATION_MARGIN && j + 2 < w.periods {
            let jump = ratio / (1.0 - ratio);
            for i in (0..n).filter(|&i| terminal[i].is_none()) {
                let step = next.state[i] - seg.state[i];
                seg.state[i] = next.state[i] + jump * step;
            }
            for i in (0..n).filter(|&i| terminal[i].is_some()) {
                seg.state[i] = next.state[i];
            }
            seg.rates = next.rates;
            stats.extrapolated = change > 1.0;
            converged_at = Some(j + 1);
            break;
        }
        seg = next;
        change_before = previous_change;
        previous_change = change;
    }
    if let Some(jc) = converged_at {
        let (plan, template) = match reused {
            Some(r) => r,
            None => {
                // One more period, from the orbit: it fills every output time after its start.
                let tc = w.start_h + w.period_h * jc as f64;
                let plan = plan_for(jc, tc);
                let mut template = plan.recorder(probe_species);
                let end = segment!(
                    &seg.state,
                    &seg.rates,
                    tc,
                    tc + w.period_h,
                    &plan.full_offsets,
                    &mut template,
                )?;
                stats.periods_integrated += 1;
                let recorded = RecordedTemplate::new(template, &seg.state, end);
                (plan, recorded)
            }
        };
        let tc = w.start_h + w.period_h * plan.jc as f64;
        let periods_left = w.periods - plan.jc;
        let place = |t: f64| place_in(t, tc, w.period_h, periods_left);
        let (later, later_probe) = (&plan.later, &plan.later_probe);
        let y_tc = &template.start;
        let end = &template.end;
        // Terminal states: w(s) = y_T(s) − e^{−ks} y(T_c); Y_{m+1} = e^{−kP} Y_m + w(P).
        let terminal_idx: Vec<(usize, f64)> = terminal
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.map(|k| (i, k)))
            .collect();
        let mut y_m: Vec<Vec<f64>> = Vec::with_capacity(periods_left + 1);
        y_m.push(terminal_idx.iter().map(|&(i, _)| y_tc[i]).collect());
        for m in 0..periods_left {
            let row = terminal_idx
                .iter()
                .zip(&y_m[m])
                .map(|(&(i, k), &ym)| {
                    let decay = (-k * w.period_h).exp();
                    decay * ym + (end.state[i] - decay * y_tc[i])
                })
                .collect();
            y_m.push(row);
        }
        // Template entry of each later time, found among the times the template recorded (a
        // cursor restarted each period); a time it did not record is an error, not a neighbour.
        let lookup = |recorded: &[f64], ts: &[f64]| -> Result<Vec<(usize, usize, f64)>, SimError> {
            let (mut cursor, mut last_m) = (0usize, usize::MAX);
            ts.iter()
                .map(|&t| {
                    let (m, s) = place(t);
                    if m != last_m {
                        (cursor, last_m) = (0, m);
                    }
                    if at_cursor(recorded, &mut cursor, tc + s) {
                        Ok((cursor, m, s))
                    } else {
                        Err(context(crate::error::SolveError {
                            context: String::new(),
                            time_h: t,
                            message: format!(
                                "internal error: the template period did not record offset \
                                 {s} h (please report it)"
                            ),
                            state: String::new(),
                        }))
                    }
                })
                .collect()
        };
        let state_times: Vec<f64> = template.states.iter().map(|e| e.0).collect();
        let sample_times: Vec<f64> = template.samples.iter().map(|e| e.0).collect();
        for ((pos, m, s), &t) in lookup(&state_times, later)?.into_iter().zip(later) {
            let mut y = template.states[pos].1.clone();
            for (k_idx, &(i, k)) in terminal_idx.iter().enumerate() {
                let decay = (-k * s).exp();
                y[i] = decay * y_m[m][k_idx] + (y[i] - decay * y_tc[i]);
            }
            rec.states.push((t, y));
        }
        for ((pos, _, _), &t) in lookup(&sample_times, later_probe)?
            .into_iter()
            .zip(later_probe)
        {
            rec.samples.push((t, template.samples[pos].1));
        }
        // Continue after the window from the repeated state at its end.
        let mut state = end.state.clone();
        for (k_idx, &(i, _)) in terminal_idx.iter().enumerate() {
            state[i] = y_m[periods_left][k_idx];
        }
        seg = SegmentEnd {
            state,
            rates: end.rates.clone(),
        };
    }
    let resume_h = match converged_at {
        Some(_) => end_of_window,
        None => w.start_h + w.period_h * stats.periods_integrated as f64,
    };
    if resume_h < horizon_h && !same_time(resume_h, horizon_h) {
        segment!(
            &seg.state,
            &seg.rates,
            resume_h,
            horizon_h,
            &full_times,
            &mut rec,
        )?;
    }
    Ok(finish(rec, stats, terminal_probe))
}

/// Period index m (from the template's start `tc`, at most `periods_left`) and offset of a
/// time in the periodic window.
fn place_in(t: f64, tc: f64, period_h: f64, periods_left: usize) -> (usize, f64) {
    let x = (t - tc) / period_h;
    let m = ((x + 1e-9).floor().max(0.0) as usize).min(periods_left);
    (m, (t - tc - period_h * m as f64).max(0.0))
}

/// Which outputs the template period must give: the window's output and probe times it fills
/// (`later`, `later_probe`) and their offsets into the template period (index `jc`).
struct TemplatePlan {
    jc: usize,
    later: Vec<f64>,
    later_probe: Vec<f64>,
    full_offsets: Vec<f64>,
    probe_offsets: Vec<f64>,
}

impl TemplatePlan {
    /// A recorder of the template period's outputs.
    fn recorder(&self, probe_species: Option<usize>) -> Recorder<'_> {
        Recorder::new(
            &self.full_offsets,
            probe_species.map(|species| Probe {
                species,
                times: &self.probe_offsets,
            }),
        )
    }
}

/// A template period as recorded: states at its offsets, probe samples, start and end.
struct RecordedTemplate {
    states: Vec<(f64, Vec<f64>)>,
    samples: Vec<(f64, f64)>,
    start: Vec<f64>,
    end: SegmentEnd,
}

impl RecordedTemplate {
    /// The template recorder's outputs (in time order, one per offset), its start and end.
    fn new(template: Recorder, start: &[f64], end: SegmentEnd) -> Self {
        RecordedTemplate {
            states: template.states,
            samples: template.samples,
            start: start.to_vec(),
            end,
        }
    }
}

/// Records one integration into two recorders (a period that may become the template).
struct Both<'a, 'r, 's> {
    first: &'a mut Recorder<'r>,
    second: &'a mut Recorder<'s>,
    /// The union of both recorders' probe times.
    probe: Option<Probe<'a>>,
}

impl<'a> Observer<'a> for Both<'a, '_, '_> {
    fn observe(&mut self, t: f64, y: &[f64]) {
        self.first.observe(t, y);
        self.second.observe(t, y);
    }
    fn probe(&self) -> Option<Probe<'a>> {
        self.probe
    }
    fn sample(&mut self, t: f64, value: f64) {
        self.first.sample(t, value);
        self.second.sample(t, value);
    }
}

fn finish(rec: Recorder, stats: FastStats, terminal_probe: Option<Probe>) -> FastRun {
    let (trajectory, mut samples) = rec.finish();
    if let Some(p) = terminal_probe {
        samples = trajectory
            .times_h
            .iter()
            .zip(&trajectory.states)
            .filter(|(t, _)| contains(p.times, **t))
            .map(|(t, y)| (*t, y[p.species]))
            .collect();
    }
    FastRun {
        trajectory,
        samples,
        stats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bolus(t: f64, amount: f64) -> StateInput {
        StateInput::Bolus {
            time_h: t,
            species: 0,
            amount_nmol: amount,
        }
    }

    #[test]
    fn daily_doses_make_one_window_up_to_the_horizon() {
        let inputs: Vec<StateInput> = (0..28).map(|d| bolus(24.0 * d as f64, 5.0)).collect();
        let w = periodic_window(&inputs, 672.0).unwrap();
        assert_eq!((w.start_h, w.period_h, w.periods), (0.0, 24.0, 28));
        // A horizon inside the last period keeps only the whole periods.
        assert_eq!(periodic_window(&inputs, 660.0).unwrap().periods, 27);
    }

    #[test]
    fn a_missed_or_changed_dose_ends_the_window() {
        let mut inputs: Vec<StateInput> = (0..28)
            .filter(|&d| d != 10)
            .map(|d| bolus(24.0 * d as f64, 5.0))
            .collect();
        assert_eq!(periodic_window(&inputs, 672.0).unwrap().periods, 10);
        inputs[4] = bolus(96.0, 6.0);
        assert_eq!(periodic_window(&inputs, 672.0).unwrap().periods, 4);
        // Fewer than three periods: nothing to gain.
        assert_eq!(periodic_window(&inputs[..2], 672.0), None);
    }

    #[test]
    fn a_loading_dose_starts_the_window_one_dose_later() {
        let mut inputs: Vec<StateInput> = (0..28).map(|d| bolus(24.0 * d as f64, 5.0)).collect();
        inputs[0] = bolus(0.0, 10.0);
        let w = periodic_window(&inputs, 672.0).unwrap();
        assert_eq!((w.start_h, w.period_h, w.periods), (24.0, 24.0, 27));
    }

    #[test]
    fn an_infusion_left_running_is_not_periodic() {
        let on = |t: f64, d: f64| StateInput::RateStep {
            time_h: t,
            species: 0,
            delta_nmol_per_h: d,
        };
        let cycles: Vec<StateInput> = (0..10)
            .flat_map(|d| [on(24.0 * d as f64, 2.0), on(24.0 * d as f64 + 1.0, -2.0)])
            .collect();
        let w = periodic_window(&cycles, 240.0).unwrap();
        assert_eq!((w.period_h, w.periods), (24.0, 10));
        let running: Vec<StateInput> = (0..10).map(|d| on(24.0 * d as f64, 2.0)).collect();
        assert_eq!(periodic_window(&running, 240.0), None);
    }

    #[test]
    fn terminal_states_are_the_outputs_nothing_depends_on() {
        // 0 → 1 (linear), 1 drives 2 through a power term, 2 decays; 3 accumulates 1 (AUC).
        let mut sys = OdeSystem::new(4, vec![1.0; 4]);
        sys.add_linear(0, 0, -1.0);
        sys.add_linear(1, 0, 1.0);
        sys.add_linear(1, 1, -0.5);
        sys.add_linear(2, 2, -0.1);
        sys.add_linear(3, 1, 1.0);
        sys.power_terms.push(crate::model::system::PowerTerm {
            species: 2,
            driver: 1,
            k: 1.0,
            reference: 1.0,
            exponent: 2.0,
        });
        sys.finish();
        let t = terminal_states(&sys, &[0]);
        assert_eq!(t, vec![None, None, Some(0.1), Some(0.0)]);
    }
}
