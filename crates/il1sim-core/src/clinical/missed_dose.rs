//! A late dose: the options a patient has (take it now, skip it, take it now and shift the
//! schedule, double the next dose, split it between now and the next dose), each written as
//! the regimen's missed, late and extra doses (`dosing::regimen`, the one implementation of
//! dose semantics) and simulated from the regimen's periodic steady state, then compared on
//! the local signal, CRP and drug exposure over the days after the scheduled dose.
//!
//! The regimen is at its periodic steady state when the dose is late, so the day of the late
//! dose only names it: the simulation starts one dosing interval (at least a day) before it.

use crate::dosing::regimen::{DoseAmount, ExtraDose, LateDose, Regimen, Repeat, HOURS_PER_DAY};
use crate::error::SimError;
use crate::model::definition::Model;
use crate::model::patient::Patient;
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use crate::time::same_time;
use serde::Serialize;

/// What the patient can do about a late dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissedOption {
    /// The reference: every dose on time.
    OnSchedule,
    /// Take the late dose now; the next doses at their usual times.
    TakeNow,
    /// Leave the late dose out; the next doses at their usual times.
    Skip,
    /// Take the late dose now and move every later dose by the same delay.
    TakeNowAndShift,
    /// Leave the late dose out and take two doses at the next usual time.
    DoubleNext,
    /// Take half the dose now and the other half with the next usual dose.
    Split,
}

/// The five options a patient has, in the order they are shown.
pub const OPTIONS: [MissedOption; 5] = [
    MissedOption::TakeNow,
    MissedOption::Skip,
    MissedOption::TakeNowAndShift,
    MissedOption::DoubleNext,
    MissedOption::Split,
];

impl MissedOption {
    pub fn name(&self) -> &'static str {
        match self {
            MissedOption::OnSchedule => "on schedule (reference)",
            MissedOption::TakeNow => "take it now",
            MissedOption::Skip => "skip it",
            MissedOption::TakeNowAndShift => "take it now, shift the schedule",
            MissedOption::DoubleNext => "double the next dose",
            MissedOption::Split => "half now, half with the next dose",
        }
    }

    /// The regimen of this option: `base` (from steady state) with the dose scheduled at
    /// `t_dose_h` (the first of its `day`) given `late_h` late.
    fn regimen(
        &self,
        base: &Regimen,
        day: u32,
        t_dose_h: f64,
        late_h: f64,
        horizon_h: f64,
    ) -> Regimen {
        let mut r = base.clone();
        r.name = self.name().into();
        let tau = base.interval_h;
        let dose = base.dose;
        let half = match dose {
            DoseAmount::Mg(m) => DoseAmount::Mg(m / 2.0),
            DoseAmount::MgPerKg { mg_per_kg, max_mg } => DoseAmount::MgPerKg {
                mg_per_kg: mg_per_kg / 2.0,
                max_mg: max_mg.map(|m| m / 2.0),
            },
        };
        let extra = |time_h: f64, dose: DoseAmount| ExtraDose { time_h, dose };
        let within = |t: f64| t < horizon_h && !same_time(t, horizon_h);
        match self {
            MissedOption::OnSchedule => {}
            MissedOption::TakeNow => r.late_doses.push(LateDose {
                day,
                delay_h: late_h,
                dose: 1,
            }),
            MissedOption::Skip => r.missed_days.push(day),
            MissedOption::TakeNowAndShift => {
                r.stop_day = Some(day - 1);
                let mut t = t_dose_h + late_h;
                while within(t) {
                    r.extra_doses.push(extra(t, dose));
                    t += tau;
                }
            }
            MissedOption::DoubleNext => {
                r.missed_days.push(day);
                if within(t_dose_h + tau) {
                    r.extra_doses.push(extra(t_dose_h + tau, dose));
                }
            }
            MissedOption::Split => {
                r.missed_days.push(day);
                r.extra_doses.push(extra(t_dose_h + late_h, half));
                if within(t_dose_h + tau) {
                    r.extra_doses.push(extra(t_dose_h + tau, half));
                }
            }
        }
        r
    }
}

/// The question: a regimen at steady state, one dose late.
#[derive(Debug, Clone)]
pub struct MissedDose {
    pub patient: Patient,
    /// The regimen (its schedule and dose; it is run from its periodic steady state).
    pub regimen: Regimen,
    /// The day the dose was due (only names it; see the module doc).
    pub day: u32,
    /// How late it is now (h), > 0 and shorter than the interval.
    pub hours_late: f64,
    /// Days compared after the scheduled dose (widened to the next dose and a day after it).
    pub window_days: f64,
    /// Observables compared, by model name.
    pub signal: String,
    pub crp: String,
    /// Signal threshold (the observable's unit); None: the highest signal the on-schedule
    /// regimen reaches in the window.
    pub signal_threshold: Option<f64>,
    /// Peak concentration above this multiple of the on-schedule peak counts against an
    /// option (an assumption, no published limit).
    pub peak_limit_ratio: f64,
}

/// Default for [`MissedDose::peak_limit_ratio`]: an assumption, not a published safety
/// limit. Taking a daily dose 14 h late gives about 1.4 times the usual peak, doubling the next
/// dose about 1.9 times; anakinra's label allows up to 8 mg/kg/day in NOMID, far above either.
pub const DEFAULT_PEAK_LIMIT_RATIO: f64 = 1.5;
/// Time step of the comparison grid (h).
pub const GRID_STEP_H: f64 = 0.1;

/// How one option does over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionOutcome {
    pub option: MissedOption,
    pub name: String,
    /// Doses given in the window: (hours after the scheduled time, mg).
    pub doses: Vec<(f64, f64)>,
    pub peak_signal: f64,
    pub hours_signal_above_threshold: f64,
    pub max_crp_mg_l: f64,
    pub crp_end_mg_l: f64,
    pub auc_ng_h_ml: f64,
    pub peak_concentration_ng_ml: f64,
    pub trough_concentration_ng_ml: f64,
    /// (hours after the scheduled time, signal, CRP, concentration) on the whole simulation.
    #[serde(skip)]
    pub course: Vec<(f64, f64, f64, f64)>,
}

/// The comparison and the model's recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissedDoseReport {
    pub day: u32,
    pub hours_late: f64,
    pub window_h: f64,
    pub signal: String,
    pub signal_unit: String,
    pub crp: String,
    pub signal_threshold: f64,
    pub threshold_is_on_schedule_peak: bool,
    pub peak_limit_ng_ml: f64,
    /// The on-schedule reference, then the five options.
    pub reference: OptionOutcome,
    pub options: Vec<OptionOutcome>,
    pub recommended: MissedOption,
    pub reason: String,
}

fn observable(model: &Model, name: &str, flag: &str) -> Result<usize, String> {
    model.observable_id(name).ok_or_else(|| {
        let names: Vec<&str> = model.observables.iter().map(|o| o.name.as_str()).collect();
        format!(
            "{flag} '{name}': not an observable of model '{}'; allowed: {}",
            model.name,
            names.join(", ")
        )
    })
}

impl MissedDose {
    /// Time of the late dose in the simulation and its day there: the first scheduled dose
    /// at or after 24 h (one day of steady state before it).
    fn internal_dose(&self) -> (f64, u32) {
        let tau = self.regimen.interval_h;
        let k = (HOURS_PER_DAY / tau - 1e-9).ceil().max(1.0);
        let t = k * tau;
        (t, (t / HOURS_PER_DAY + 1e-9).floor() as u32 + 1)
    }

    /// Simulate the reference and the five options.
    pub fn run(&self, model: &Model, options: SolverOptions) -> Result<MissedDoseReport, String> {
        let tau = self.regimen.interval_h;
        if !(self.hours_late > 0.0 && self.hours_late < tau) {
            return Err(format!(
                "--hours-late {}: allowed: more than 0 h and less than the dosing interval ({tau} h); \
                 a dose later than the next one is a missed dose (skip it)",
                self.hours_late
            ));
        }
        if !(self.window_days.is_finite() && self.window_days > 0.0 && self.window_days <= 28.0) {
            return Err(format!(
                "--window-days {}: allowed: more than 0 and at most 28 days",
                self.window_days
            ));
        }
        let i_signal = observable(model, &self.signal, "--signal")?;
        let i_crp = observable(model, &self.crp, "--crp")?;
        let drug_k = model
            .drugs
            .iter()
            .position(|d| d.name == self.regimen.drug)
            .ok_or_else(|| format!("drug '{}' is not in the model", self.regimen.drug))?;
        let subject =
            Subject::new(model, &self.patient, &[], options).map_err(|e| e.to_string())?;
        let (t_dose, day) = self.internal_dose();
        // The window covers the next scheduled dose and a day after it, so that doubling or
        // splitting (which act at the next dose) are seen whatever the interval.
        let window_h = (self.window_days * HOURS_PER_DAY).max(tau + HOURS_PER_DAY);
        let horizon = t_dose + window_h;
        let mut base = self.regimen.clone();
        base.steady_state = true;
        base.start_h = 0.0;
        base.repeat = Repeat::UntilDay((horizon / HOURS_PER_DAY).ceil() as u32 + 1);
        base.missed_days.clear();
        base.late_doses.clear();
        base.extra_doses.clear();
        base.stop_day = None;
        let n = (horizon / GRID_STEP_H).round() as usize;
        let times: Vec<f64> = (0..=n)
            .map(|k| (k as f64 * GRID_STEP_H).min(horizon))
            .collect();
        let conc = model.drugs[drug_k].concentration_species;
        let auc_state = model.species.len() + drug_k;
        let mw = subject.params.values[model.drugs[drug_k].molar_mass];
        let simulate = |o: MissedOption| -> Result<OptionOutcome, String> {
            let r = o.regimen(&base, day, t_dose, self.hours_late, horizon);
            let doses = r
                .dose_events(self.patient.weight_kg, horizon)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|d| d.time_h >= t_dose - 1e-9)
                .map(|d| (d.time_h - t_dose, d.amount_mg))
                .collect();
            let (traj, _) = subject
                .simulate(&r, horizon, &times)
                .map_err(|e: SimError| e.to_string())?;
            let mut course = Vec::with_capacity(traj.times_h.len());
            let (mut peak_s, mut max_crp, mut peak_c) =
                (f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
            let (mut auc0, mut auc1, mut crp_end, mut c_end) = (0.0, 0.0, f64::NAN, f64::NAN);
            for (t, y) in traj.times_h.iter().zip(&traj.states) {
                let obs = subject.observe(y);
                let (s, crp, c) = (obs[i_signal], obs[i_crp], y[conc] * mw);
                course.push((t - t_dose, s, crp, c));
                if *t >= t_dose - 1e-9 {
                    if same_time(*t, t_dose) {
                        auc0 = y[auc_state];
                    }
                    peak_s = peak_s.max(s);
                    max_crp = max_crp.max(crp);
                    peak_c = peak_c.max(c);
                    auc1 = y[auc_state];
                    crp_end = crp;
                    c_end = c;
                }
            }
            // Time above the threshold is counted afterwards from the course (the threshold
            // may come from the reference).
            Ok(OptionOutcome {
                option: o,
                name: o.name().into(),
                doses,
                peak_signal: peak_s,
                hours_signal_above_threshold: 0.0,
                max_crp_mg_l: max_crp,
                crp_end_mg_l: crp_end,
                auc_ng_h_ml: (auc1 - auc0) * mw,
                peak_concentration_ng_ml: peak_c,
                trough_concentration_ng_ml: c_end,
                course,
            })
        };
        let mut reference = simulate(MissedOption::OnSchedule)?;
        let mut outcomes: Vec<OptionOutcome> = OPTIONS
            .iter()
            .map(|&o| simulate(o))
            .collect::<Result<_, _>>()?;
        let threshold = self.signal_threshold.unwrap_or(reference.peak_signal);
        let hours_above = |o: &OptionOutcome| {
            o.course
                .iter()
                .filter(|p| p.0 > 1e-9 && p.1 > threshold + 1e-12 * threshold.abs())
                .count() as f64
                * GRID_STEP_H
        };
        reference.hours_signal_above_threshold = hours_above(&reference);
        for o in &mut outcomes {
            o.hours_signal_above_threshold = hours_above(o);
        }
        let peak_limit = self.peak_limit_ratio * reference.peak_concentration_ng_ml;
        let (recommended, reason) = recommend(&outcomes, peak_limit, threshold, &self.signal);
        Ok(MissedDoseReport {
            day: self.day,
            hours_late: self.hours_late,
            window_h,
            signal: self.signal.clone(),
            signal_unit: model.observables[i_signal].unit.clone(),
            crp: self.crp.clone(),
            signal_threshold: threshold,
            threshold_is_on_schedule_peak: self.signal_threshold.is_none(),
            peak_limit_ng_ml: peak_limit,
            reference,
            options: outcomes,
            recommended,
            reason,
        })
    }
}

/// The model's choice: among the options whose peak concentration stays within `peak_limit`
/// (all of them if none does), the least time with the signal above the threshold, then the
/// lowest peak signal, then the lowest exposure.
pub fn recommend(
    outcomes: &[OptionOutcome],
    peak_limit: f64,
    threshold: f64,
    signal: &str,
) -> (MissedOption, String) {
    let within: Vec<&OptionOutcome> = outcomes
        .iter()
        .filter(|o| o.peak_concentration_ng_ml <= peak_limit)
        .collect();
    let pool: Vec<&OptionOutcome> = if within.is_empty() {
        outcomes.iter().collect()
    } else {
        within
    };
    let best = pool
        .iter()
        .copied()
        .min_by(|a, b| {
            a.hours_signal_above_threshold
                .total_cmp(&b.hours_signal_above_threshold)
                .then(a.peak_signal.total_cmp(&b.peak_signal))
                .then(a.auc_ng_h_ml.total_cmp(&b.auc_ng_h_ml))
        })
        .expect("five options");
    let excluded: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.peak_concentration_ng_ml > peak_limit)
        .map(|o| o.name.as_str())
        .collect();
    let skip = outcomes.iter().find(|o| o.option == MissedOption::Skip);
    let mut reason = format!(
        "the least time with {signal} above {} ({:.1} h",
        fmt3(threshold),
        best.hours_signal_above_threshold
    );
    if let Some(s) = skip.filter(|s| s.option != best.option) {
        reason.push_str(&format!(
            " against {:.1} h when the dose is skipped",
            s.hours_signal_above_threshold
        ));
    }
    reason.push_str(&format!(
        "), peak {signal} {}, without a peak concentration above {} ng/mL",
        fmt3(best.peak_signal),
        fmt3(peak_limit)
    ));
    if !excluded.is_empty() {
        reason.push_str(&format!(
            " (exceeded by: {}; set aside)",
            excluded.join(", ")
        ));
    }
    (best.option, reason)
}

/// Three significant digits.
fn fmt3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    if x.abs() < 1e-3 || x.abs() >= 1e6 {
        return format!("{x:.2e}");
    }
    let d = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.d$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dosing::regimen::Administration;

    #[test]
    fn five_distinct_options_from_one_dose_engine() {
        let mut base = Regimen::repeated(
            "100 mg daily",
            "anakinra",
            DoseAmount::Mg(100.0),
            Administration::Subcutaneous,
            24.0,
            1,
        );
        base.repeat = Repeat::UntilDay(6);
        base.steady_state = true;
        let horizon = 24.0 + 72.0;
        let mut schedules = Vec::new();
        for o in OPTIONS {
            let r = o.regimen(&base, 2, 24.0, 14.0, horizon);
            let ev = r.dose_events(70.0, horizon).unwrap();
            let s: Vec<(f64, f64)> = ev.iter().map(|e| (e.time_h, e.amount_mg)).collect();
            schedules.push((o, s));
        }
        let get = |o: MissedOption| schedules.iter().find(|s| s.0 == o).unwrap().1.clone();
        assert_eq!(
            get(MissedOption::TakeNow),
            [(0.0, 100.0), (38.0, 100.0), (48.0, 100.0), (72.0, 100.0)]
        );
        assert_eq!(
            get(MissedOption::Skip),
            [(0.0, 100.0), (48.0, 100.0), (72.0, 100.0)]
        );
        assert_eq!(
            get(MissedOption::TakeNowAndShift),
            [(0.0, 100.0), (38.0, 100.0), (62.0, 100.0), (86.0, 100.0)]
        );
        assert_eq!(
            get(MissedOption::DoubleNext),
            [(0.0, 100.0), (48.0, 100.0), (48.0, 100.0), (72.0, 100.0)]
        );
        assert_eq!(
            get(MissedOption::Split),
            [
                (0.0, 100.0),
                (38.0, 50.0),
                (48.0, 100.0),
                (48.0, 50.0),
                (72.0, 100.0)
            ]
        );
        for (i, a) in schedules.iter().enumerate() {
            for b in &schedules[i + 1..] {
                assert_ne!(a.1, b.1, "{:?} and {:?} give the same doses", a.0, b.0);
            }
        }
    }
}
