//! Stopping and missing doses: how fast CRP returns after the last dose of 8 weeks of
//! treatment (the flare after withdrawal), and what one missed dose at steady state does to
//! CRP compared with staying on schedule and with stopping.

use super::protocols::{daily, required_observable};
use crate::dosing::regimen::{DoseAmount, HOURS_PER_DAY};
use crate::error::{ModelError, SimError};
use crate::model::definition::Model;
use crate::model::patient::Patient;
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;

/// The CRP a flare is read at (mg/L): back above it counts as the flare.
pub const FLARE_CRP_MG_L: f64 = 10.0;
/// Doses before stopping: 8 weeks of daily doses.
pub const DOSES_BEFORE_STOP: u32 = 56;
/// How long after the last dose the search for the crossing runs (days): beyond the 14 days
/// of the target, so a late flare is reported with its day rather than as an error.
const SEARCH_DAYS: f64 = 28.0;
/// Output step of the searches (h).
const STEP_H: f64 = 0.25;

fn grid(from_h: f64, to_h: f64) -> Vec<f64> {
    let n = ((to_h - from_h) / STEP_H).round() as usize;
    (0..=n).map(|k| from_h + k as f64 * STEP_H).collect()
}

/// Days from the last of [`DOSES_BEFORE_STOP`] daily doses of `dose` until CRP is back above
/// [`FLARE_CRP_MG_L`] (linear interpolation between outputs 15 min apart). An error when CRP
/// was not below that level at the last dose (then there is no flare to time) or stays below
/// it for [`SEARCH_DAYS`].
pub(super) fn days_to_flare(
    model: &Model,
    patient: &Patient,
    dose: DoseAmount,
) -> Result<f64, SimError> {
    let s = Subject::new(model, patient, &[], SolverOptions::default())?;
    let i = required_observable(model, "crp")?;
    let last = f64::from(DOSES_BEFORE_STOP - 1) * HOURS_PER_DAY;
    let times = grid(last, last + SEARCH_DAYS * HOURS_PER_DAY);
    let end = *times.last().expect("grid is not empty");
    let (traj, _) = s.simulate(&daily(dose, DOSES_BEFORE_STOP), end, &times)?;
    let crp: Vec<f64> = traj.states.iter().map(|y| s.observe(y)[i]).collect();
    if crp[0] >= FLARE_CRP_MG_L {
        return Err(ModelError::invalid(
            "flare after stopping",
            format!(
                "CRP is {:.3} mg/L at the last dose, not below {FLARE_CRP_MG_L} mg/L: no flare to time",
                crp[0]
            ),
        )
        .into());
    }
    let k = crp
        .iter()
        .position(|&c| c > FLARE_CRP_MG_L)
        .ok_or_else(|| {
            ModelError::invalid(
                "flare after stopping",
                format!(
                    "CRP stays below {FLARE_CRP_MG_L} mg/L for {SEARCH_DAYS} days after the \
                     last dose (at most {:.3} mg/L)",
                    crp.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                ),
            )
        })?;
    let (t0, t1) = (traj.times_h[k - 1], traj.times_h[k]);
    let (c0, c1) = (crp[k - 1], crp[k]);
    let t = t0 + (FLARE_CRP_MG_L - c0) / (c1 - c0) * (t1 - t0);
    Ok((t - last) / HOURS_PER_DAY)
}

/// The daily dose that is missed (1-based day): the dose due at 48 h.
const MISSED_DAY: u32 = 3;
/// How long after the missed dose's time the CRP peak is looked for (h).
const WINDOW_H: f64 = 72.0;

/// CRP over the 3 days from the time of a missed dose, three ways, for a patient on `dose`
/// daily at steady state: the peak with the dose missed, the peak on schedule, and CRP at the
/// time of the first with all doses stopped from the missed one on.
pub(super) struct MissedDose {
    pub peak_missed: f64,
    pub peak_on_schedule: f64,
    pub stopped_at_peak: f64,
}

pub(super) fn missed_dose(
    model: &Model,
    patient: &Patient,
    dose: DoseAmount,
) -> Result<MissedDose, SimError> {
    let s = Subject::new(model, patient, &[], SolverOptions::default())?;
    let i = required_observable(model, "crp")?;
    let mut on_schedule = daily(dose, 10);
    on_schedule.steady_state = true;
    let mut missed = on_schedule.clone();
    missed.missed_days = vec![MISSED_DAY];
    let mut stopped = on_schedule.clone();
    stopped.stop_day = Some(MISSED_DAY - 1);
    let from = f64::from(MISSED_DAY - 1) * HOURS_PER_DAY;
    let times = grid(from, from + WINDOW_H);
    let end = *times.last().expect("grid is not empty");
    let course = |r| -> Result<Vec<f64>, SimError> {
        let (traj, _) = s.simulate(r, end, &times)?;
        Ok(traj.states.iter().map(|y| s.observe(y)[i]).collect())
    };
    let (m, o, st) = (course(&missed)?, course(&on_schedule)?, course(&stopped)?);
    let argmax = |v: &[f64]| {
        (0..v.len())
            .max_by(|&a, &b| v[a].total_cmp(&v[b]))
            .expect("grid is not empty")
    };
    let k = argmax(&m);
    Ok(MissedDose {
        peak_missed: m[k],
        peak_on_schedule: o[argmax(&o)],
        stopped_at_peak: st[k],
    })
}
