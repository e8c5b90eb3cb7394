//! Virtual trials: arms of a population, each patient's simulated IL-1 signal, response draws
//! from the ACR model, responder counts and their Wilson intervals.

use super::acr::{driver_course, ResponseModel};
use crate::model::definition::Model;
use crate::population::definition::PopulationScenario;
use crate::population::sampling::{draw_subject, subject_rng, SubjectDraw};
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Two-sided 95% normal quantile, for Wilson score intervals.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Random stream label of the response draws (η, U), so they never share a stream with the
/// covariate and variability draws of the same subject.
const RESPONSE_STREAM: u64 = 0x4143_525f_5245_5350; // "ACR_RESP"

/// Wilson score interval of k successes in n trials (fractions).
pub fn wilson_interval(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    wilson_interval_p(k as f64 / n as f64, n, z)
}

/// Wilson score interval of an observed proportion `p` in `n` trials (fractions); used for
/// published percentages, whose counts are not always given.
pub fn wilson_interval_p(p: f64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n_f)) / (1.0 + z2 / n_f);
    let half = z / (1.0 + z2 / n_f) * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    pub name: String,
    pub regimen: Option<usize>,
    pub subjects: u64,
    /// Subject ids first_id .. first_id + subjects.
    pub first_id: u64,
    /// Published percentage per response level (in the model's level order).
    pub published: Vec<Option<f64>>,
}

/// A checked trial: a population (covariates, variability) and arms.
#[derive(Debug, Clone)]
pub struct TrialScenario {
    pub population: PopulationScenario,
    pub response: ResponseModel,
    pub assessment_h: f64,
    pub placebo_amplitude: f64,
    pub source: String,
    pub arms: Vec<Arm>,
}

// ------------------------------------------------------------------ running a trial

/// One virtual patient of a trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialSubject {
    pub arm: usize,
    pub id: u64,
    /// Covariates and variability draws (None when the draw failed).
    pub draw: Option<SubjectDraw>,
    /// Time-averaged driver D over the assessment period (0 on placebo).
    pub mean_driver: f64,
    /// Latent variable at the assessment.
    pub latent: f64,
    pub eta: f64,
    pub uniform: f64,
    /// Probability of each level for this patient.
    pub probabilities: Vec<f64>,
    /// Responder at each level.
    pub responder: Vec<bool>,
    /// Why the simulation failed (the patient then counts as a non-responder).
    pub failure: Option<String>,
}

/// Counts of one arm.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmResult {
    pub name: String,
    pub n: u64,
    pub failures: u64,
    pub responders: Vec<u64>,
    /// Mean of the patients' probabilities per level (the arm's expected fraction).
    pub expected: Vec<f64>,
}

impl ArmResult {
    /// Responder percentage at level `k`.
    pub fn percent(&self, k: usize) -> f64 {
        100.0 * self.responders[k] as f64 / self.n as f64
    }
    /// 95% Wilson interval of the responder percentage at level `k`.
    pub fn ci_percent(&self, k: usize) -> (f64, f64) {
        let (lo, hi) = wilson_interval(self.responders[k], self.n, Z_95);
        (100.0 * lo, 100.0 * hi)
    }
}

/// Simulate one patient of a trial.
pub fn simulate_trial_subject(
    model: &Model,
    trial: &TrialScenario,
    arm: usize,
    id: u64,
    options: SolverOptions,
) -> TrialSubject {
    let r = &trial.response;
    let mut rng = subject_rng(trial.population.seed ^ RESPONSE_STREAM, id);
    let z: f64 = StandardNormal.sample(&mut rng);
    let eta = r.eta_sd * z;
    let uniform: f64 = rng.random::<f64>();
    let draw = draw_subject(&trial.population, id);
    let mut failure = draw.as_ref().err().cloned();
    let (mean_driver, latent) = match (trial.arms[arm].regimen, &draw) {
        (Some(ri), Ok(dr)) => {
            let course = r
                .driver_index(model)
                .map_err(|m| m.to_string())
                .and_then(|di| {
                    let s = Subject::with_variability(
                        model,
                        &dr.patient,
                        &[],
                        &dr.multipliers,
                        options,
                    )
                    .map_err(|e| e.to_string())?;
                    driver_course(&s, &trial.population.regimens[ri], trial.assessment_h, di)
                        .map_err(|e| e.to_string())
                });
            match course {
                Ok((t, d)) => {
                    let mean = time_average(&t, &d);
                    (mean, r.latent(&t, &d, trial.placebo_amplitude))
                }
                Err(m) => {
                    failure = Some(format!("subject {id}: {m}"));
                    (f64::NAN, f64::NAN)
                }
            }
        }
        (Some(_), Err(_)) => (f64::NAN, f64::NAN),
        (None, _) => (
            0.0,
            r.placebo_latent(trial.assessment_h, trial.placebo_amplitude),
        ),
    };
    let (probabilities, responder) = if latent.is_finite() {
        let p = r.probabilities(latent, eta);
        let resp = p.iter().map(|&p| uniform < p).collect();
        (p, resp)
    } else {
        (vec![0.0; r.levels.len()], vec![false; r.levels.len()])
    };
    TrialSubject {
        arm,
        id,
        draw: draw.ok(),
        mean_driver,
        latent,
        eta,
        uniform,
        probabilities,
        responder,
        failure,
    }
}

/// Trapezoidal time average.
fn time_average(t: &[f64], y: &[f64]) -> f64 {
    let span = t.last().copied().unwrap_or(0.0) - t.first().copied().unwrap_or(0.0);
    if span <= 0.0 {
        return y.first().copied().unwrap_or(f64::NAN);
    }
    (1..t.len())
        .map(|k| 0.5 * (y[k] + y[k - 1]) * (t[k] - t[k - 1]))
        .sum::<f64>()
        / span
}

/// Run every patient of every arm (in parallel; each patient's draws depend only on the
/// seed and its id, so the result does not depend on the thread count).
pub fn run_trial(
    model: &Model,
    trial: &TrialScenario,
    options: SolverOptions,
) -> (Vec<TrialSubject>, Vec<ArmResult>) {
    let jobs: Vec<(usize, u64)> = trial
        .arms
        .iter()
        .enumerate()
        .flat_map(|(k, a)| (a.first_id..a.first_id + a.subjects).map(move |id| (k, id)))
        .collect();
    let subjects: Vec<TrialSubject> = jobs
        .par_iter()
        .map(|&(k, id)| simulate_trial_subject(model, trial, k, id, options))
        .collect();
    let arms = summarise_arms(trial, &subjects);
    (subjects, arms)
}

/// Responder counts per arm and level.
pub fn summarise_arms(trial: &TrialScenario, subjects: &[TrialSubject]) -> Vec<ArmResult> {
    let nl = trial.response.levels.len();
    trial
        .arms
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let mine: Vec<&TrialSubject> = subjects.iter().filter(|s| s.arm == k).collect();
            let n = mine.len() as u64;
            ArmResult {
                name: a.name.clone(),
                n,
                failures: mine.iter().filter(|s| s.failure.is_some()).count() as u64,
                responders: (0..nl)
                    .map(|l| mine.iter().filter(|s| s.responder[l]).count() as u64)
                    .collect(),
                expected: (0..nl)
                    .map(|l| mine.iter().map(|s| s.probabilities[l]).sum::<f64>() / n.max(1) as f64)
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_known_values() {
        // 55 of 251 (21.9%): Wilson 95% interval 17.2%–27.5%.
        let (lo, hi) = wilson_interval(55, 251, Z_95);
        assert!(
            (lo - 0.1723).abs() < 5e-4 && (hi - 0.2747).abs() < 5e-4,
            "{lo} {hi}"
        );
        assert_eq!(wilson_interval(0, 10, Z_95).0, 0.0);
    }
}
