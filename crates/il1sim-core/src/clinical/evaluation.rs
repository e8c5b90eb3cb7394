//! The one evaluation of a grid of regimens over a cohort (one patient or a virtual
//! population), shared by dose-response and dose-finding: every subject is built once (its
//! draws, parameters and untreated state) and simulated once per regimen; each target's
//! quantity and whether it is met are read from that simulation, with the exposure (AUC over
//! the horizon). Summaries give the attainment fraction with its 95% Wilson interval and the
//! 5/25/50/75/95th percentiles of each target's quantity.
//!
//! Reproducibility: subject `i` of a population draws its covariates and variability from the
//! population's stream (seed, i) and its ACR response draws (η, U) from a stream of its own,
//! the same for every regimen (common random numbers), so results do not depend on the thread
//! count and a higher dose cannot lose a responder to chance.

use super::targets::{Quantity, Target};
use crate::dosing::regimen::Regimen;
use crate::model::definition::{Model, ParamId};
use crate::model::patient::Patient;
use crate::population::definition::{PopulationScenario, SimulationMethod};
use crate::population::outcome::screened_subject;
use crate::population::sampling::{draw_subject, subject_rng};
use crate::response::acr::{ResponseModel, DRIVER_STEP_H};
use crate::response::trial::{wilson_interval, Z_95};
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use crate::solve::trajectory::Trajectory;
use crate::time::{same_time, union};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Stream label of the ACR response draws of the clinical tools ("CLIN_ACR").
const CLINICAL_RESPONSE_STREAM: u64 = 0x434c_494e_5f41_4352;

/// The percentiles the summaries report.
pub const PERCENTILES: [f64; 5] = [5.0, 25.0, 50.0, 75.0, 95.0];

/// Who the regimens are evaluated on.
#[derive(Debug, Clone)]
pub enum Cohort {
    /// One patient, with model parameter overrides (canonical units) and multiplicative
    /// factors on parameters (an individual fit's exp(η), which may act on derived
    /// parameters such as the clearance).
    Patient {
        patient: Patient,
        overrides: Vec<(String, f64)>,
        multipliers: Vec<(ParamId, f64)>,
    },
    /// A virtual population (its own regimens and targets are not used).
    Population(Box<PopulationScenario>),
}

impl Cohort {
    pub fn size(&self) -> u64 {
        match self {
            Cohort::Patient { .. } => 1,
            Cohort::Population(p) => p.subjects,
        }
    }

    pub fn is_population(&self) -> bool {
        matches!(self, Cohort::Population(_))
    }

    fn method(&self) -> SimulationMethod {
        match self {
            Cohort::Patient { .. } => SimulationMethod::Exact,
            Cohort::Population(p) => p.method,
        }
    }

    /// Subject `id`'s patient, overrides and variability factors.
    #[allow(clippy::type_complexity)]
    pub fn subject(
        &self,
        id: u64,
    ) -> Result<(Patient, Vec<(String, f64)>, Vec<(ParamId, f64)>), String> {
        match self {
            Cohort::Patient {
                patient,
                overrides,
                multipliers,
            } => Ok((patient.clone(), overrides.clone(), multipliers.clone())),
            Cohort::Population(p) => {
                let d = draw_subject(p, id)?;
                Ok((d.patient, Vec::new(), d.multipliers))
            }
        }
    }

    /// Largest creatinine clearance of the cohort (mL/min), from every subject's draw.
    pub fn max_crcl_ml_min(&self) -> f64 {
        (0..self.size())
            .filter_map(|id| self.subject(id).ok())
            .map(|(p, _, _)| p.crcl_ml_min)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    fn seed(&self) -> u64 {
        match self {
            Cohort::Patient { .. } => 0,
            Cohort::Population(p) => p.seed,
        }
    }
}

/// Everything an evaluation needs.
#[derive(Debug, Clone)]
pub struct Evaluation<'a> {
    pub model: &'a Model,
    pub cohort: &'a Cohort,
    /// Simulated duration (h); every target's day lies within it.
    pub duration_h: f64,
    pub regimens: &'a [Regimen],
    pub targets: &'a [Target],
    /// The ACR model (its `driver` names the observable it reads).
    pub response: &'a ResponseModel,
    /// Placebo amplitude of the ACR model (background therapy).
    pub placebo_amplitude: f64,
    pub options: SolverOptions,
}

/// One subject and regimen.
#[derive(Debug, Clone, PartialEq)]
pub struct PointValues {
    /// Per target: the quantity (its unit).
    pub quantities: Vec<f64>,
    /// Per target: 1 when met, 0 when not; for one patient's ACR target without a limit,
    /// the probability of response.
    pub attained: Vec<f64>,
    /// Drug exposure over the whole horizon (ng·h/mL).
    pub auc_ng_h_ml: f64,
}

impl PointValues {
    /// All targets met: the product of the per-target attainments.
    pub fn all(&self) -> f64 {
        self.attained.iter().product()
    }
}

/// One subject over every regimen.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectResult {
    pub id: u64,
    pub points: Vec<Result<PointValues, String>>,
}

/// Time at which a regimen's trough is read: the end of the last dosing interval within the
/// horizon (start + k·interval, k ≥ 1, the largest within it), or the horizon itself.
pub fn trough_time_h(regimen: &Regimen, horizon_h: f64) -> f64 {
    let k = ((horizon_h - regimen.start_h) / regimen.interval_h + 1e-9).floor();
    if k >= 1.0 {
        (regimen.start_h + k * regimen.interval_h).min(horizon_h)
    } else {
        horizon_h
    }
}

/// The state recorded at `t` (within rounding).
fn state_at(traj: &Trajectory, t: f64) -> Option<&Vec<f64>> {
    let i = traj.times_h.partition_point(|&x| x < t - 1e-9);
    traj.states.get(i).filter(|_| same_time(traj.times_h[i], t))
}

impl Evaluation<'_> {
    /// Output times a regimen needs: 0, the horizon, its trough, the targets' days and, with an
    /// ACR target, the driver grid.
    fn output_times(&self, regimen: &Regimen) -> Vec<f64> {
        let mut times = vec![
            0.0,
            self.duration_h,
            trough_time_h(regimen, self.duration_h),
        ];
        let mut acr_end: f64 = 0.0;
        for t in self.targets {
            match t.quantity {
                Quantity::Acr { assessment_h, .. } => acr_end = acr_end.max(assessment_h),
                _ => times.extend(t.time_needed_h()),
            }
        }
        times.sort_by(f64::total_cmp);
        if acr_end > 0.0 {
            let n = (acr_end / DRIVER_STEP_H).ceil() as usize;
            let grid: Vec<f64> = (0..=n)
                .map(|k| (k as f64 * DRIVER_STEP_H).min(acr_end))
                .collect();
            times = union(&times, &grid);
        }
        union(&times, &[])
    }

    fn simulate(&self, subject: &Subject, regimen: &Regimen) -> Result<Trajectory, String> {
        let times = self.output_times(regimen);
        let traj = match self.cohort.method() {
            SimulationMethod::Fast if !regimen.steady_state => {
                crate::solve::fast::simulate(subject, regimen, self.duration_h, &times).map(|r| r.0)
            }
            _ => subject
                .simulate(regimen, self.duration_h, &times)
                .map(|r| r.0),
        };
        traj.map_err(|e| e.to_string())
    }

    fn point(
        &self,
        subject: &Subject,
        regimen: &Regimen,
        draws: (f64, f64),
    ) -> Result<PointValues, String> {
        let traj = self.simulate(subject, regimen)?;
        let missing = |t: f64| format!("internal error: no state recorded at {t} h");
        let obs_at = |t: f64, i: usize| -> Result<f64, String> {
            let y = state_at(&traj, t).ok_or_else(|| missing(t))?;
            Ok(subject.observe(y)[i])
        };
        let mut quantities = Vec::with_capacity(self.targets.len());
        let mut attained = Vec::with_capacity(self.targets.len());
        for t in self.targets {
            let (q, met) = match t.quantity {
                Quantity::Trough { observable } => {
                    let q = obs_at(trough_time_h(regimen, self.duration_h), observable)?;
                    (q, f64::from(u8::from(t.met_by(q))))
                }
                Quantity::OnDay { observable, day } => {
                    let q = obs_at(day as f64 * 24.0, observable)?;
                    (q, f64::from(u8::from(t.met_by(q))))
                }
                Quantity::Acr {
                    level,
                    assessment_h,
                } => {
                    let driver = self.response.driver_index(self.model)?;
                    let (mut times, mut d) = (Vec::new(), Vec::new());
                    for (time, y) in traj.times_h.iter().zip(&traj.states) {
                        if *time <= assessment_h + 1e-9 {
                            times.push(*time);
                            d.push((1.0 - subject.observe(y)[driver]).clamp(0.0, 1.0));
                        }
                    }
                    let a = self.response.latent(&times, &d, self.placebo_amplitude);
                    let (eta, u) = draws;
                    if self.cohort.is_population() {
                        let p = self.response.probabilities(a, eta)[level];
                        let met = match t.limit {
                            Some(_) => t.met_by(p),
                            None => u < p,
                        };
                        (p, f64::from(u8::from(met)))
                    } else {
                        let p = self.response.expected(a)[level];
                        let met = match t.limit {
                            Some(_) => f64::from(u8::from(t.met_by(p))),
                            None => p,
                        };
                        (p, met)
                    }
                }
            };
            quantities.push(q);
            attained.push(met);
        }
        // Exposure: the AUC state of the regimen's drug over the horizon.
        let k = subject
            .model
            .drugs
            .iter()
            .position(|d| d.name == regimen.drug)
            .ok_or_else(|| format!("drug '{}' is not in the model", regimen.drug))?;
        let auc = subject.model.species.len() + k;
        let mw = subject.params.values[subject.model.drugs[k].molar_mass];
        let y0 = state_at(&traj, 0.0).ok_or_else(|| missing(0.0))?;
        let y1 = state_at(&traj, self.duration_h).ok_or_else(|| missing(self.duration_h))?;
        Ok(PointValues {
            quantities,
            attained,
            auc_ng_h_ml: (y1[auc] - y0[auc]) * mw,
        })
    }

    /// Subject `id` over every regimen.
    pub fn subject(&self, id: u64) -> SubjectResult {
        let fail = |m: String| SubjectResult {
            id,
            points: vec![Err(m); self.regimens.len()],
        };
        let subject = match &self.cohort {
            // A population subject passes the population's inclusion criterion, as in
            // `il1sim population`.
            Cohort::Population(p) => match screened_subject(self.model, p, id, self.options) {
                Ok((_, s)) => s,
                Err(e) => return fail(format!("subject {id}: {}", e.1)),
            },
            Cohort::Patient { .. } => {
                let (patient, overrides, multipliers) = match self.cohort.subject(id) {
                    Ok(s) => s,
                    Err(m) => return fail(format!("subject {id}: {m}")),
                };
                match Subject::with_variability(
                    self.model,
                    &patient,
                    &overrides,
                    &multipliers,
                    self.options,
                ) {
                    Ok(s) => s,
                    Err(e) => return fail(format!("subject {id}: {e}")),
                }
            }
        };
        let mut rng = subject_rng(self.cohort.seed() ^ CLINICAL_RESPONSE_STREAM, id);
        let z: f64 = StandardNormal.sample(&mut rng);
        let u: f64 = rng.random::<f64>();
        let draws = (self.response.eta_sd * z, u);
        SubjectResult {
            id,
            points: self
                .regimens
                .iter()
                .map(|r| {
                    self.point(&subject, r, draws)
                        .map_err(|m| format!("subject {id}, regimen '{}': {m}", r.name))
                })
                .collect(),
        }
    }

    /// Every subject (in parallel, in id order; `progress` is called once per subject).
    pub fn run(&self, progress: &(dyn Fn() + Sync)) -> Vec<SubjectResult> {
        (0..self.cohort.size())
            .into_par_iter()
            .map(|id| {
                let r = self.subject(id);
                progress();
                r
            })
            .collect()
    }
}

/// One target (or all of them) at one regimen.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSummary {
    /// Subjects evaluated (failed ones left out).
    pub evaluated: u64,
    /// Sum of the attainments (a count in a population).
    pub attained: f64,
    /// attained / evaluated.
    pub fraction: f64,
    /// 95% Wilson interval of the fraction (a population; None for one patient).
    pub interval: Option<(f64, f64)>,
    /// [`PERCENTILES`] of the quantity (NaN for the "all targets" summary).
    pub percentiles: [f64; 5],
}

/// One regimen over the cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSummary {
    pub regimen: String,
    pub evaluated: u64,
    pub failures: u64,
    /// The first failure's reason, if any.
    pub first_failure: Option<String>,
    pub targets: Vec<TargetSummary>,
    /// All targets met.
    pub all: TargetSummary,
    /// Median AUC over the horizon (ng·h/mL).
    pub auc_median: f64,
}

/// Percentile `p` (0–100) of sorted values, linear between order statistics.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p / 100.0;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn summary(values: &[(f64, f64)], population: bool, with_percentiles: bool) -> TargetSummary {
    let n = values.len() as u64;
    let attained: f64 = values.iter().map(|v| v.1).sum();
    let mut q: Vec<f64> = values
        .iter()
        .map(|v| v.0)
        .filter(|v| v.is_finite())
        .collect();
    q.sort_by(f64::total_cmp);
    let percentiles = PERCENTILES.map(|p| {
        if with_percentiles {
            percentile(&q, p)
        } else {
            f64::NAN
        }
    });
    TargetSummary {
        evaluated: n,
        attained,
        fraction: if n > 0 { attained / n as f64 } else { f64::NAN },
        interval: population.then(|| wilson_interval(attained.round() as u64, n, Z_95)),
        percentiles,
    }
}

/// Summaries per regimen of `results` (from [`Evaluation::run`]).
pub fn summarise(
    regimens: &[Regimen],
    n_targets: usize,
    population: bool,
    results: &[SubjectResult],
) -> Vec<PointSummary> {
    regimens
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            let ok: Vec<&PointValues> = results
                .iter()
                .filter_map(|s| s.points[ri].as_ref().ok())
                .collect();
            let first_failure = results
                .iter()
                .find_map(|s| s.points[ri].as_ref().err().cloned());
            let failures = results.len() as u64 - ok.len() as u64;
            let targets = (0..n_targets)
                .map(|k| {
                    let v: Vec<(f64, f64)> = ok
                        .iter()
                        .map(|p| (p.quantities[k], p.attained[k]))
                        .collect();
                    summary(&v, population, true)
                })
                .collect();
            let all: Vec<(f64, f64)> = ok.iter().map(|p| (f64::NAN, p.all())).collect();
            let mut aucs: Vec<f64> = ok.iter().map(|p| p.auc_ng_h_ml).collect();
            aucs.sort_by(f64::total_cmp);
            PointSummary {
                regimen: r.name.clone(),
                evaluated: ok.len() as u64,
                failures,
                first_failure,
                targets,
                all: summary(&all, population, false),
                auc_median: percentile(&aucs, 50.0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dosing::regimen::{Administration, DoseAmount, Repeat};

    #[test]
    fn trough_is_the_end_of_the_last_interval() {
        let mut r = Regimen::repeated(
            "d",
            "anakinra",
            DoseAmount::Mg(100.0),
            Administration::Subcutaneous,
            24.0,
            28,
        );
        r.repeat = Repeat::UntilDay(28);
        assert_eq!(trough_time_h(&r, 672.0), 672.0);
        r.interval_h = 48.0;
        assert_eq!(trough_time_h(&r, 680.0), 672.0);
        r.start_h = 700.0;
        assert_eq!(trough_time_h(&r, 680.0), 680.0);
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 50.0), 3.0);
        assert_eq!(percentile(&v, 25.0), 2.0);
        assert!((percentile(&v, 5.0) - 1.2).abs() < 1e-12);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
