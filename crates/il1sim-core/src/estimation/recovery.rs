//! Recovery of known parameters: patients drawn from a population (covariates and η from its
//! variability, the prior the fit uses), measured on a sparse design with the residual error
//! model, then fitted; per parameter, how often the truth lies in the 90% interval. Each
//! patient draws from its own ChaCha8 stream seeded from (seed, patient), so the result does
//! not depend on the thread count.

use super::fit::{fit_individual, IndividualFit};
use super::map::MapOptions;
use super::objective::IndividualProblem;
use super::prior::Prior;
use super::residual::ResidualModel;
use crate::dosing::regimen::Regimen;
use crate::exchange::dataset::predict::predict_subject;
use crate::exchange::dataset::subjects::{DataSubject, Observation, Occasion};
use crate::model::definition::Model;
use crate::population::definition::PopulationScenario;
use crate::population::sampling::{draw_subject, subject_rng};
use crate::solve::options::SolverOptions;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Stream label of the measurement errors of a recovery run ("RECOVERY").
const RECOVERY_STREAM: u64 = 0x5245_434f_5645_5259;

/// One planned sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Index of the observable in `Model::observables`.
    pub observable: usize,
    pub time_h: f64,
    /// Lower limit of quantification (observable unit); a simulated value below it is
    /// reported BLQ.
    pub lloq: Option<f64>,
}

/// A sampling design: the regimen every patient gets and the samples taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub regimen: Regimen,
    pub samples: Vec<Sample>,
}

/// One simulated patient: its data and the η it was simulated with.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedPatient {
    pub subject: DataSubject,
    pub true_eta: Vec<f64>,
}

/// A recovery run: who is simulated (the population's covariates and variability, which is
/// also the fit's prior), how they are measured, and the seed.
#[derive(Debug, Clone)]
pub struct Recovery<'a> {
    pub model: &'a Model,
    pub population: &'a PopulationScenario,
    pub prior: &'a Prior,
    pub residual: &'a ResidualModel,
    pub design: &'a Design,
    pub seed: u64,
    pub options: SolverOptions,
}

impl Recovery<'_> {
    /// Patient `id`: covariates and η from the population's stream (seed, id) as
    /// `il1sim population` draws them, measurements y = f (1 + b ε₁) + a ε₂ from a stream of
    /// their own, values below the LLOQ reported BLQ.
    pub fn simulate_patient(&self, id: u64) -> Result<SimulatedPatient, String> {
        let (model, prior, design) = (self.model, self.prior, self.design);
        let mut with_seed = self.population.clone();
        with_seed.seed = self.seed;
        let draw = draw_subject(&with_seed, id)?;
        let true_eta: Vec<f64> = prior
            .parameters
            .iter()
            .map(|(_, pid)| {
                draw.multipliers
                    .iter()
                    .find(|(m, _)| m == pid)
                    .map_or(0.0, |(_, f)| f.ln())
            })
            .collect();
        let mut sorted = design.samples.clone();
        sorted.sort_by(|a, b| a.time_h.total_cmp(&b.time_h));
        let mut subject = DataSubject {
            id: format!("{}", id + 1),
            patient: draw.patient.clone(),
            regimens: vec![design.regimen.clone()],
            observations: sorted
                .iter()
                .enumerate()
                .map(|(k, s)| Observation {
                    time_h: s.time_h,
                    observable: s.observable,
                    value: None,
                    lloq: s.lloq,
                    below_lloq: false,
                    line: k + 2,
                })
                .collect(),
            first_line: 2,
            occasions: vec![Occasion {
                start_h: 0.0,
                regimens: 0..1,
                observations: 0..design.samples.len(),
                line: 2,
            }],
        };
        let f = predict_subject(
            model,
            &subject,
            &[],
            &prior.multipliers(&true_eta),
            self.options,
        )
        .map_err(|e| format!("subject {}: {e}", subject.id))?;
        let mut rng = subject_rng(self.seed ^ RECOVERY_STREAM, id);
        for (o, f) in subject.observations.iter_mut().zip(f) {
            let e = self.residual.for_observable(o.observable).ok_or_else(|| {
                format!(
                    "observable {} has no residual error",
                    model.observables[o.observable].name
                )
            })?;
            let e1: f64 = StandardNormal.sample(&mut rng);
            let e2: f64 = StandardNormal.sample(&mut rng);
            let y = f * (1.0 + e.proportional * e1) + e.additive * e2;
            match o.lloq {
                Some(l) if y < l => o.below_lloq = true,
                _ => o.value = Some(y),
            }
        }
        Ok(SimulatedPatient { subject, true_eta })
    }

    /// Simulate and fit patient `id` from a cold start.
    pub fn patient(&self, id: u64, map_options: &MapOptions) -> RecoveryResult {
        match self.simulate_patient(id) {
            Err(m) => RecoveryResult {
                id,
                true_eta: vec![],
                fit: Err(format!("simulating patient {}: {m}", id + 1)),
            },
            Ok(p) => {
                let fit = IndividualProblem::new(
                    self.model,
                    &p.subject,
                    vec![],
                    self.prior,
                    self.residual,
                    self.options,
                )
                .and_then(|prob| fit_individual(&prob, &vec![0.0; self.prior.len()], map_options))
                .map_err(|e| e.to_string());
                RecoveryResult {
                    id,
                    true_eta: p.true_eta,
                    fit,
                }
            }
        }
    }

    /// Patients `0..n` (in parallel, in id order); `progress` is called once per patient.
    pub fn run(
        &self,
        n: u64,
        map_options: &MapOptions,
        progress: &(dyn Fn() + Sync),
    ) -> Vec<RecoveryResult> {
        (0..n)
            .into_par_iter()
            .map(|id| {
                let r = self.patient(id, map_options);
                progress();
                r
            })
            .collect()
    }
}

/// One patient's outcome.
#[derive(Debug, Clone)]
pub struct RecoveryResult {
    pub id: u64,
    pub true_eta: Vec<f64>,
    pub fit: Result<IndividualFit, String>,
}

impl RecoveryResult {
    /// Per parameter, whether the truth is inside the fit's 90% interval.
    pub fn covered(&self) -> Option<Vec<bool>> {
        let fit = self.fit.as_ref().ok()?;
        Some(
            fit.laplace
                .interval_90()
                .iter()
                .zip(&self.true_eta)
                .map(|((lo, hi), t)| lo <= t && t <= hi)
                .collect(),
        )
    }
}

/// Coverage of one parameter: covered count of fitted patients.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub parameter: String,
    pub covered: u64,
    pub fitted: u64,
}

/// Per parameter, how many fitted patients had the truth in their 90% interval.
pub fn coverage(prior: &Prior, results: &[RecoveryResult]) -> Vec<Coverage> {
    prior
        .parameters
        .iter()
        .enumerate()
        .map(|(k, (name, _))| {
            let flags: Vec<bool> = results
                .iter()
                .filter_map(|r| r.covered().map(|c| c[k]))
                .collect();
            Coverage {
                parameter: name.clone(),
                covered: flags.iter().filter(|c| **c).count() as u64,
                fitted: flags.len() as u64,
            }
        })
        .collect()
}
