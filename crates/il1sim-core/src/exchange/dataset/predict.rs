//! A dataset subject simulated at its observation times through the one engine: each
//! occasion's regimens joined into one regimen (the first, the others given `with` it), run
//! from the untreated state or, for a steady-state dose, from its periodic steady state, with
//! the exact method, and each observation's observable read at its time.
//!
//! Estimation calls this for many parameter values: [`SubjectDesign`] holds everything that
//! does not depend on them (occasions, joined regimens, output times) and is built once per
//! subject; [`SubjectDesign::predict`] runs it for a `Subject` built with the parameter
//! values of the moment (`Subject::with_variability`: overrides and exp(η) multipliers).

use super::subjects::DataSubject;
use crate::dosing::regimen::Regimen;
use crate::error::{SimError, SolveError};
use crate::model::definition::{Model, ParamId};
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use crate::time::{before, same_time, union};

/// Shortest simulated stretch of an occasion (h): an occasion whose only observations are at
/// its start (a trough before its first dose) is still integrated over a moment, so that its
/// doses at 0 h are listed and a steady-state start is computed; the outputs at 0 h are taken
/// before those doses, whatever this length.
const MIN_OCCASION_H: f64 = 1e-3;

/// One occasion, ready to run.
#[derive(Debug, Clone)]
struct OccasionPlan {
    start_h: f64,
    /// The occasion's regimens that start before its last observation, joined; with the
    /// first regimen alone (its steady state when it asks for one).
    regimen: Option<(Regimen, Regimen)>,
    horizon_h: f64,
    /// Distinct output times from the occasion's start (h).
    times: Vec<f64>,
    /// Per observation of the occasion: (index in `DataSubject::observations`, index in
    /// `times`, observable).
    slots: Vec<(usize, usize, usize)>,
}

/// The parameter-free part of a subject's simulation.
#[derive(Debug, Clone)]
pub struct SubjectDesign {
    occasions: Vec<OccasionPlan>,
    observations: usize,
    id: String,
}

impl SubjectDesign {
    pub fn new(data: &DataSubject) -> SubjectDesign {
        let mut occasions = Vec::new();
        for occasion in &data.occasions {
            let observations = &data.observations[occasion.observations.clone()];
            if observations.is_empty() {
                continue;
            }
            let relative: Vec<f64> = observations
                .iter()
                .map(|o| (o.time_h - occasion.start_h).max(0.0))
                .collect();
            let times = union(&relative, &[]);
            let last = times.last().copied().unwrap_or(0.0);
            let horizon_h = last.max(MIN_OCCASION_H);
            let slots = observations
                .iter()
                .zip(&relative)
                .enumerate()
                .map(|(k, (o, &t))| {
                    let i = times.iter().position(|&x| same_time(x, t)).unwrap_or(0);
                    (occasion.observations.start + k, i, o.observable)
                })
                .collect();
            // Doses at or after the last observation cannot change a prediction.
            let mut given = data.regimens[occasion.regimens.clone()]
                .iter()
                .filter(|r| before(r.start_h, horizon_h))
                .cloned();
            let regimen = given.next().map(|first| {
                let alone = first.clone();
                let mut joined = first;
                joined.with.extend(given);
                (joined, alone)
            });
            occasions.push(OccasionPlan {
                start_h: occasion.start_h,
                regimen,
                horizon_h,
                times,
                slots,
            });
        }
        SubjectDesign {
            occasions,
            observations: data.observations.len(),
            id: data.id.clone(),
        }
    }

    /// The prediction of every observation of the subject (in `DataSubject::observations`
    /// order, in each observable's unit) for `subject`, built for this data subject's patient.
    pub fn predict(&self, subject: &Subject) -> Result<Vec<f64>, SimError> {
        let model = subject.model;
        let mut out = vec![f64::NAN; self.observations];
        for plan in &self.occasions {
            let mut states: Vec<Option<Vec<f64>>> = vec![None; plan.times.len()];
            let mut record = |t: f64, y: &[f64]| {
                if let Some(i) = plan.times.iter().position(|&x| same_time(x, t)) {
                    states[i] = Some(y.to_vec());
                }
            };
            let context = |e: SimError| match e {
                SimError::Solve(s) => SimError::Solve(s.with_context(format!(
                    "dataset ID {}, occasion from {} h",
                    self.id, plan.start_h
                ))),
                other => other,
            };
            match &plan.regimen {
                Some((joined, alone)) => {
                    subject
                        .simulate_observing_from(
                            joined,
                            alone,
                            plan.horizon_h,
                            &plan.times,
                            &mut record,
                        )
                        .map_err(context)?;
                }
                None => {
                    let rates = vec![0.0; subject.system.n];
                    subject
                        .integrate(
                            &subject.baseline,
                            &rates,
                            0.0,
                            plan.horizon_h,
                            &[],
                            &plan.times,
                            &mut record,
                        )
                        .map_err(|e| context(e.into()))?;
                }
            }
            for &(k, i, observable) in &plan.slots {
                let y = states[i].as_ref().ok_or_else(|| SolveError {
                    context: format!(" (dataset ID {})", self.id),
                    time_h: plan.start_h + plan.times[i],
                    message: "no state was recorded at this observation time".into(),
                    state: String::new(),
                })?;
                out[k] = model.observe(
                    &model.observables[observable],
                    y,
                    &subject.system,
                    &subject.params,
                    &subject.baseline_signals,
                );
            }
        }
        Ok(out)
    }
}

/// Build the subject (its patient, `overrides` by name in canonical units, `multipliers` on
/// parameters) and predict every observation: the one-off form of [`SubjectDesign`].
pub fn predict_subject(
    model: &Model,
    data: &DataSubject,
    overrides: &[(String, f64)],
    multipliers: &[(ParamId, f64)],
    options: SolverOptions,
) -> Result<Vec<f64>, SimError> {
    let subject = Subject::with_variability(model, &data.patient, overrides, multipliers, options)?;
    SubjectDesign::new(data).predict(&subject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dosing::regimen::{Administration, DoseAmount};
    use crate::exchange::dataset::read::{read_dataset, DatasetOptions};
    use crate::model::patient::Patient;

    #[test]
    fn a_dataset_predicts_what_its_regimen_simulates() {
        let model = crate::il1_model();
        let text = "ID,TIME,AMT,CMT,EVID,II,ADDL,DV\n\
                    1,0,100,anakinra_sc,1,24,6,.\n\
                    1,0,.,crp,0,.,.,20\n\
                    1,3,.,anakinra_plasma,0,.,.,400\n\
                    1,3,.,crp,0,.,.,15\n\
                    1,150,.,anakinra_plasma,0,.,.,300\n";
        let options = DatasetOptions {
            defaults: Patient::adult("ra"),
        };
        let data = read_dataset(text, "t.csv", &model, &options).unwrap();
        let s = &data.subjects[0];
        let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
        let got = SubjectDesign::new(s).predict(&subject).unwrap();
        let regimen = Regimen::repeated(
            "r",
            "anakinra",
            DoseAmount::Mg(100.0),
            Administration::Subcutaneous,
            24.0,
            7,
        );
        let (traj, _) = subject
            .simulate(&regimen, 150.0, &[0.0, 3.0, 150.0])
            .unwrap();
        let pk = model.observable_id("anakinra_plasma").unwrap();
        let crp = model.observable_id("crp").unwrap();
        let at = |i: usize, o: usize| subject.observe(&traj.states[i])[o];
        let want = [at(0, crp), at(1, pk), at(1, crp), at(2, pk)];
        for (g, w) in got.iter().zip(want) {
            assert!(((g - w) / w).abs() < 1e-12, "{g} vs {w}");
        }
        assert!(want[1] > 0.0);
    }
}
