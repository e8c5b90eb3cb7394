//! A subject's model predictions at its sampling times, through the one dose engine: the
//! regimens (the first, with the others given `with` it) simulated by `Subject::simulate`, every
//! observable read at each time. At a dose time the sample is taken before the dose (the
//! integrator's trough semantics, as NONMEM orders an observation before a dose at the same time).

use crate::dosing::regimen::Regimen;
use crate::error::SimError;
use crate::solve::subject::Subject;
use crate::time::same_time;

/// Hours simulated past the last sample: doses after it change nothing before it, and the
/// integration must end after the last output time.
const HORIZON_PAST_LAST_SAMPLE_H: f64 = 1.0;

/// Every observable of the model at each of `times_h` (any order, repeats allowed): one row per
/// time, in the order given.
pub fn predict_at(
    subject: &Subject,
    regimens: &[Regimen],
    times_h: &[f64],
) -> Result<Vec<Vec<f64>>, SimError> {
    let mut sorted: Vec<f64> = times_h.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup_by(|a, b| same_time(*a, *b));
    let horizon = sorted.last().copied().unwrap_or(0.0) + HORIZON_PAST_LAST_SAMPLE_H;
    let mut rows: Vec<(f64, Vec<f64>)> = Vec::with_capacity(sorted.len());
    let mut record = |t: f64, y: &[f64]| {
        // Segments share their boundary time: keep the first report of a time.
        if rows.last().is_none_or(|(last, _)| !same_time(*last, t)) {
            rows.push((t, subject.observe(y)));
        }
    };
    match regimens.split_first() {
        None => {
            let rates = vec![0.0; subject.system.n];
            subject
                .integrate(
                    &subject.baseline,
                    &rates,
                    0.0,
                    horizon,
                    &[],
                    &sorted,
                    &mut record,
                )
                .map_err(SimError::from)?;
        }
        Some((first, rest)) => {
            let mut combined = first.clone();
            combined.with.extend(rest.iter().cloned());
            subject.simulate_observing(&combined, horizon, &sorted, &mut record)?;
        }
    }
    times_h
        .iter()
        .map(|&t| {
            rows.iter()
                .find(|(s, _)| same_time(*s, t))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| {
                    SimError::Input(crate::error::InputError::new(
                        "sampling time",
                        format!("{t} h"),
                        "the integration reported no state there (a time before 0 h?)",
                    ))
                })
        })
        .collect()
}
