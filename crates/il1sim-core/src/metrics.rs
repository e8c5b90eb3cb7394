//! Summary figures of one regimen: exposure over the last dosing interval (Cmax, Tmax,
//! trough, AUC, average concentration), receptor occupancy and IL-1 signal at trough, and
//! CRP on chosen days. Every figure carries its unit.

use crate::dosing::inputs::StateInput;
use crate::dosing::regimen::{Regimen, Repeat, HOURS_PER_DAY};
use crate::error::{InputError, SimError};
use crate::model::definition::Drug;
use crate::solve::batch::{simulate_lanes, LaneJob};
use crate::solve::fast::simulate_with_probe;
use crate::solve::periodic::PeriodicSteadyState;
use crate::solve::subject::Subject;
use crate::solve::trajectory::{Probe, Recorder, Trajectory};
use crate::time::{same_time, union};
use serde::Serialize;

/// Time step of the dense grid on which Cmax and Tmax are read (h).
pub const PEAK_GRID_H: f64 = 0.01;
/// At most this many points on that grid (a daily interval keeps 0.01 h; an 8-week antibody
/// interval gets 0.56 h, still fine against its Tmax of days).
pub const MAX_PEAK_POINTS: usize = 2400;

/// A named number with its unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

impl Figure {
    fn new(name: impl Into<String>, value: f64, unit: &str) -> Figure {
        Figure {
            name: name.into(),
            value,
            unit: unit.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegimenSummary {
    pub regimen: String,
    pub description: String,
    /// Start and end of the dosing interval the exposure figures describe (h).
    pub interval_start_h: f64,
    pub interval_end_h: f64,
    pub figures: Vec<Figure>,
    /// Periodic steady state: Newton iterations and residual, when the regimen used it.
    pub steady_state: Option<SteadyStateReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SteadyStateReport {
    pub newton_iterations: usize,
    pub scaled_residual: f64,
}

impl RegimenSummary {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value)
    }
}

/// Days on which CRP is reported (plus the end of the simulation).
pub const CRP_REPORT_DAYS: [u32; 3] = [1, 7, 14];

/// Index of an observable by name. A model without it (the one-compartment model of the
/// closed-form checks) gets no figure for it: exposure figures need only the drug.
fn observable_index(subject: &Subject, name: &str) -> Option<usize> {
    subject.model.observable_id(name)
}

/// Simulate a regimen, returning the trajectory on `grid` and the summary figures.
/// One integration serves both: the dense peak grid and report days are merged into the
/// output times and split off afterwards.
pub fn simulate_and_summarise(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
    grid: &[f64],
) -> Result<(Trajectory, RegimenSummary), SimError> {
    summarise_with_days(subject, regimen, horizon_h, grid, &CRP_REPORT_DAYS)
}

/// The last dosing interval within the horizon, [w0, w1] in h: exposure figures refer to it.
fn last_interval(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
) -> Result<(f64, f64), SimError> {
    let doses = regimen.dose_events(subject.patient.weight_kg, horizon_h)?;
    let last_dose = doses.last().map(|d| d.time_h).unwrap_or(0.0);
    let interval = match regimen.repeat {
        Repeat::Single if doses.len() <= 1 => horizon_h - last_dose,
        _ => regimen.interval_h,
    };
    Ok((last_dose, (last_dose + interval).min(horizon_h)))
}

/// Boluses straight into the drug's concentration species within the last interval
/// [w0, w1), as (time h, rise nM). Outputs and samples at a dose time are taken before the
/// dose, so an IV bolus's peak is the sample there plus this rise.
fn bolus_rises(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
    (w0, w1): (f64, f64),
) -> Result<Vec<(f64, f64)>, SimError> {
    // Only a bolus (not an infusion) whose route goes straight into the concentration jumps
    // it: an IV bolus here, an SC dose too in a model whose SC route has no depot.
    let drug = regimen_drug(subject, regimen)?;
    let species = drug.concentration_species;
    let jumps = |r: &Regimen| {
        r.drug == regimen.drug
            && r.administration.infusion_hours(1.0).is_none()
            && drug
                .routes
                .get(&r.administration.route())
                .is_some_and(|route| route.target == species)
    };
    if !jumps(regimen) && !regimen.with.iter().any(jumps) {
        return Ok(Vec::new());
    }
    let mut rises: Vec<(f64, f64)> = Vec::new();
    for input in subject.regimen_inputs(regimen, horizon_h)? {
        if let StateInput::Bolus {
            time_h,
            species: s,
            amount_nmol,
        } = input
        {
            let in_window =
                (time_h >= w0 || same_time(time_h, w0)) && time_h < w1 && !same_time(time_h, w1);
            if s == species && in_window {
                let rise = amount_nmol / subject.system.volume[species];
                match rises.last_mut() {
                    Some(last) if same_time(last.0, time_h) => last.1 += rise,
                    _ => rises.push((time_h, rise)),
                }
            }
        }
    }
    Ok(rises)
}

/// Output times a summary needs besides `grid`: the dense grid over the last dosing interval
/// (for Cmax and Tmax, with the times of IV boluses in it) and the CRP report times. Returns
/// (dense peak grid, report times).
pub fn summary_times(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
    crp_days: &[u32],
) -> Result<(Vec<f64>, Vec<f64>), SimError> {
    let (w0, w1) = last_interval(subject, regimen, horizon_h)?;
    let n_fine = (((w1 - w0) / PEAK_GRID_H).round() as usize).min(MAX_PEAK_POINTS);
    let grid_points: Vec<f64> = (0..=n_fine)
        .map(|k| w0 + (w1 - w0) * k as f64 / n_fine.max(1) as f64)
        .collect();
    let bolus_times: Vec<f64> = bolus_rises(subject, regimen, horizon_h, (w0, w1))?
        .iter()
        .map(|r| r.0)
        .collect();
    let peak = union(&grid_points, &bolus_times);
    let report_times: Vec<f64> = crp_days
        .iter()
        .map(|d| *d as f64 * HOURS_PER_DAY)
        .filter(|t| *t <= horizon_h)
        .chain(std::iter::once(horizon_h))
        .collect();
    Ok((peak, report_times))
}

/// As [`simulate_and_summarise`], reporting CRP on `crp_days` (1-based days; day d at 24·d h).
pub fn summarise_with_days(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
    grid: &[f64],
    crp_days: &[u32],
) -> Result<(Trajectory, RegimenSummary), SimError> {
    let plan = SummaryRecording::new(subject, regimen, horizon_h, grid, crp_days)?;
    let mut rec = Recorder::new(&plan.full, Some(plan.probe()));
    let ss = subject.simulate_observing(regimen, horizon_h, &plan.full, &mut rec)?;
    let (all, samples) = rec.finish();
    plan.summarise(&all, &samples, ss)
}

/// As [`summarise_with_days`], with the fast method: the trajectory on `grid`
/// and the summary figures from one fast simulation.
pub fn summarise_fast(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
    grid: &[f64],
    crp_days: &[u32],
) -> Result<(Trajectory, RegimenSummary), SimError> {
    let plan = SummaryRecording::new(subject, regimen, horizon_h, grid, crp_days)?;
    let run = simulate_with_probe(subject, regimen, horizon_h, &plan.full, Some(plan.probe()))?;
    plan.summarise(&run.trajectory, &run.samples, None)
}

/// [`summarise_fast`] for many subjects on one regimen with the batched method
/// (`solve::batch`, `lanes` subjects per batch); results in subject order, each the same
/// whatever the other subjects, their order or the batch width.
pub fn summarise_batched(
    subjects: &[&Subject],
    regimen: &Regimen,
    horizon_h: f64,
    grid: &[f64],
    crp_days: &[u32],
    lanes: usize,
) -> Vec<Result<(Trajectory, RegimenSummary), SimError>> {
    let plans: Vec<Result<SummaryRecording, SimError>> = subjects
        .iter()
        .map(|s| SummaryRecording::new(s, regimen, horizon_h, grid, crp_days))
        .collect();
    let jobs: Vec<LaneJob> = subjects
        .iter()
        .zip(&plans)
        .filter_map(|(s, p)| {
            p.as_ref().ok().map(|plan| LaneJob {
                subject: s,
                regimen,
                horizon_h,
                output_times: &plan.full,
                probe: Some(plan.probe()),
            })
        })
        .collect();
    let mut runs = simulate_lanes(&jobs, lanes).into_iter();
    drop(jobs);
    plans
        .into_iter()
        .map(|p| {
            let plan = p?;
            let run = runs.next().ok_or_else(|| {
                SimError::from(InputError::new(
                    "subjects",
                    "batch",
                    "internal error: a subject of the batch has no run (please report it)",
                ))
            })??;
            plan.summarise(&run.trajectory, &run.samples, None)
        })
        .collect()
}

/// The drug a regimen gives, or an error naming it.
fn regimen_drug<'m>(subject: &Subject<'m>, regimen: &Regimen) -> Result<&'m Drug, SimError> {
    subject
        .model
        .drug(&regimen.drug)
        .ok_or_else(|| InputError::new("drug", &regimen.drug, "not a drug of the model").into())
}

/// What one summary records, whichever method simulates: whole states at `full` (the grid,
/// the report days, the last interval's ends) and the drug concentration alone at `peak`
/// (the dense grid Cmax is read from: 2,401 numbers rather than 2,401 states).
pub(crate) struct SummaryRecording<'a> {
    subject: &'a Subject<'a>,
    regimen: &'a Regimen,
    horizon_h: f64,
    grid: &'a [f64],
    crp_days: &'a [u32],
    pub(crate) full: Vec<f64>,
    pub(crate) peak: Vec<f64>,
    species: usize,
    molar_mass: f64,
}

impl<'a> SummaryRecording<'a> {
    pub(crate) fn new(
        subject: &'a Subject<'a>,
        regimen: &'a Regimen,
        horizon_h: f64,
        grid: &'a [f64],
        crp_days: &'a [u32],
    ) -> Result<Self, SimError> {
        let (peak, report_times) = summary_times(subject, regimen, horizon_h, crp_days)?;
        let drug = regimen_drug(subject, regimen)?;
        let mut full = union(grid, &report_times);
        if let (Some(&a), Some(&b)) = (peak.first(), peak.last()) {
            full = union(&full, &[a, b]);
        }
        Ok(SummaryRecording {
            subject,
            regimen,
            horizon_h,
            grid,
            crp_days,
            full,
            peak,
            species: drug.concentration_species,
            molar_mass: subject.params.values[drug.molar_mass],
        })
    }

    pub(crate) fn probe(&self) -> Probe<'_> {
        Probe {
            species: self.species,
            times: &self.peak,
        }
    }

    /// The summary from the recorded states and concentration samples (nM).
    pub(crate) fn summarise(
        &self,
        all: &Trajectory,
        samples: &[(f64, f64)],
        ss: Option<PeriodicSteadyState>,
    ) -> Result<(Trajectory, RegimenSummary), SimError> {
        let peak_ng_ml: Vec<(f64, f64)> = samples
            .iter()
            .map(|&(t, c)| (t, c * self.molar_mass))
            .collect();
        summarise_with_peak(
            self.subject,
            self.regimen,
            self.horizon_h,
            self.grid,
            self.crp_days,
            all,
            &peak_ng_ml,
            ss,
        )
    }
}

/// The summary figures from a trajectory that holds `grid` and the times of
/// [`summary_times`] (whichever method computed it).
pub fn summarise_trajectory(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
    grid: &[f64],
    crp_days: &[u32],
    all: &Trajectory,
    ss: Option<PeriodicSteadyState>,
) -> Result<(Trajectory, RegimenSummary), SimError> {
    let (w0, w1) = last_interval(subject, regimen, horizon_h)?;
    let drug = regimen_drug(subject, regimen)?;
    let mw = subject.params.values[drug.molar_mass];
    let peak: Vec<(f64, f64)> = all
        .times_h
        .iter()
        .zip(&all.states)
        .filter(|(t, _)| **t >= w0 - 1e-9 && **t <= w1 + 1e-9)
        .map(|(t, y)| (*t, y[drug.concentration_species] * mw))
        .collect();
    summarise_with_peak(subject, regimen, horizon_h, grid, crp_days, all, &peak, ss)
}

/// As [`summarise_trajectory`], with the concentration over the last dosing interval given
/// apart as (time h, ng/mL) samples: a method that knows the concentration more cheaply
/// than whole states (the fast method) need not produce a state per peak-grid point.
#[allow(clippy::too_many_arguments)]
pub fn summarise_with_peak(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
    grid: &[f64],
    crp_days: &[u32],
    all: &Trajectory,
    peak: &[(f64, f64)],
    ss: Option<PeriodicSteadyState>,
) -> Result<(Trajectory, RegimenSummary), SimError> {
    let (w0, w1) = last_interval(subject, regimen, horizon_h)?;
    let at = |t: f64| -> Option<&Vec<f64>> {
        let i = all.times_h.partition_point(|&x| x < t - 1e-9);
        all.states
            .get(i)
            .filter(|_| (all.times_h[i] - t).abs() < 1e-9)
    };
    let drug = regimen_drug(subject, regimen)?;
    let drug_k = subject
        .model
        .drugs
        .iter()
        .position(|d| d.name == regimen.drug)
        .expect("drug exists");
    let auc_state = subject.model.species.len() + drug_k;
    let mw = subject.params.values[drug.molar_mass];
    let conc_ng_ml = |y: &Vec<f64>| y[drug.concentration_species] * mw;
    let i_occ = observable_index(subject, "receptor_occupancy_antagonist");
    let i_sig = observable_index(subject, "il1_signal_relative");
    let i_crp = observable_index(subject, "crp");

    let (mut cmax, mut tmax) = (f64::NEG_INFINITY, 0.0);
    for &(t, c) in peak {
        if c > cmax {
            cmax = c;
            tmax = t - w0;
        }
    }
    // Just after an IV bolus: the sample at its time (before it) plus its rise.
    for (tb, rise) in bolus_rises(subject, regimen, horizon_h, (w0, w1))? {
        if let Some(&(_, before)) = peak.iter().find(|(t, _)| same_time(*t, tb)) {
            if before + rise * mw > cmax {
                cmax = before + rise * mw;
                tmax = tb - w0;
            }
        }
    }
    let missing = |t: f64| -> SimError {
        crate::error::SolveError {
            context: format!(" (summary of regimen '{}')", regimen.name),
            time_h: t,
            message: "internal error: the last dosing interval's end was not recorded (please \
                      report it)"
                .into(),
            state: String::new(),
        }
        .into()
    };
    let y_start = at(w0).ok_or_else(|| missing(w0))?;
    let y_end = at(w1).ok_or_else(|| missing(w1))?;
    let auc_ng_h_ml = (y_end[auc_state] - y_start[auc_state]) * mw;
    let obs_end = subject.observe(y_end);
    let mut figures = vec![
        Figure::new("cmax", cmax, "ng/mL"),
        Figure::new("tmax", tmax, "h after last dose"),
        Figure::new("trough", conc_ng_ml(y_end), "ng/mL"),
        Figure::new("auc_tau", auc_ng_h_ml, "ng·h/mL"),
        Figure::new(
            "c_average",
            if w1 > w0 {
                auc_ng_h_ml / (w1 - w0)
            } else {
                f64::NAN
            },
            "ng/mL",
        ),
    ];
    if let Some(i) = i_occ {
        figures.push(Figure::new(
            "occupancy_antagonist_trough",
            obs_end[i],
            "fraction",
        ));
    }
    if let Some(i) = i_sig {
        figures.push(Figure::new(
            "il1_signal_relative_trough",
            obs_end[i],
            "ratio to untreated",
        ));
    }
    if let Some(i_crp) = i_crp {
        figures.push(Figure::new(
            "crp_untreated",
            subject.observe(&subject.baseline)[i_crp],
            "mg/L",
        ));
        for &d in crp_days {
            let t = d as f64 * HOURS_PER_DAY;
            if let Some(y) = at(t) {
                figures.push(Figure::new(
                    format!("crp_day_{d}"),
                    subject.observe(y)[i_crp],
                    "mg/L",
                ));
            }
        }
        if let Some(y) = at(horizon_h) {
            figures.push(Figure::new("crp_end", subject.observe(y)[i_crp], "mg/L"));
        }
    }

    // Split the requested grid back out.
    let mut traj = Trajectory {
        times_h: Vec::with_capacity(grid.len()),
        states: Vec::with_capacity(grid.len()),
    };
    for &t in grid {
        if let Some(y) = at(t) {
            traj.times_h.push(t);
            traj.states.push(y.clone());
        }
    }
    let summary = RegimenSummary {
        regimen: regimen.name.clone(),
        description: describe(regimen),
        interval_start_h: w0,
        interval_end_h: w1,
        figures,
        steady_state: ss.map(|s: PeriodicSteadyState| SteadyStateReport {
            newton_iterations: s.iterations,
            scaled_residual: s.residual,
        }),
    };
    Ok((traj, summary))
}

/// One line a clinician can read: "100 mg SC every 24 h, 28 doses".
pub fn describe(r: &Regimen) -> String {
    let dose = r.dose.label();
    let repeat = match r.repeat {
        Repeat::Single => "single dose".to_string(),
        Repeat::Count(n) => format!("every {} h, {n} doses", r.interval_h),
        Repeat::UntilDay(d) => format!("every {} h until day {d}", r.interval_h),
    };
    let mut s = format!("{} {dose} {}, {repeat}", r.drug, r.administration.label());
    if let Some(l) = r.loading_dose {
        s.push_str(&format!(", loading dose {}", l.label()));
    }
    if !r.missed_days.is_empty() {
        s.push_str(&format!(", missed day(s) {:?}", r.missed_days));
    }
    if let Some(d) = r.stop_day {
        s.push_str(&format!(", last dose day {d}"));
    }
    if r.steady_state {
        s.push_str(", from steady state");
    }
    for w in &r.with {
        s.push_str(&format!("; with {}", describe(w)));
    }
    s
}
