//! Clinical response of rheumatoid arthritis: ACR20/50/70 from a latent improvement variable
//! (the structure of Ait-Oudhia, Lowe & Mager 2012) driven by the mechanistic model's IL-1
//! signal, and virtual trials of it.
//!
//! A latent variable `A` starts at 1 (no improvement) and relaxes with mean time `tau`
//! towards `1 − P(t) − E(t)`: `P` is the placebo (background therapy, regression to the mean)
//! build-up, `E = emax · D` the drug effect, with `D = 1 − S/S₀` the fractional inhibition of
//! the IL-1 signal the simulation produces. A patient's probability of an ACRx response is
//! `logistic(logit(1 − x/100) + logit(1 − A(T)) + η)`; a virtual patient responds at level x
//! when one uniform draw `U < P(ACRx)`, so the levels are nested. Parameters live in
//! `models/ra-acr-response.toml` with units and sources.

use crate::dosing::regimen::HOURS_PER_DAY;
use crate::error::SimError;
use crate::model::definition::Model;
use crate::population::{draw_subject, subject_rng, PopulationScenario, SubjectDraw};
use crate::scenario::ScenarioError;
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The bundled RA response model (`models/ra-acr-response.toml`).
pub const RA_ACR_RESPONSE_TOML: &str = include_str!("../../../models/ra-acr-response.toml");

/// Two-sided 95% normal quantile, for Wilson score intervals.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Time step of the driver course fed to the latent variable (h): the IL-1 signal varies
/// within a daily dosing interval, the latent variable over weeks.
pub const DRIVER_STEP_H: f64 = 1.0;

/// Half-width of the η quadrature in standard deviations, and its number of intervals: the
/// normal density beyond 8 sd is below 1e-14.
const QUAD_HALF_WIDTH_SD: f64 = 8.0;
const QUAD_INTERVALS: usize = 1600;

/// Random stream label of the response draws (η, U), so they never share a stream with the
/// covariate and variability draws of the same subject.
const RESPONSE_STREAM: u64 = 0x4143_525f_5245_5350; // "ACR_RESP"

/// Latent values are kept inside (ε, 1 − ε) before the logit.
const LOGIT_EPS: f64 = 1e-12;

// ------------------------------------------------------------------ response model file

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseFile {
    response: ResponseHeader,
    parameters: ResponseParameters,
    levels: Vec<LevelSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseHeader {
    name: String,
    description: String,
    driver: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub value: f64,
    pub unit: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseParameters {
    tau: Param,
    k_placebo: Param,
    eta_sd: Param,
    placebo_amplitude: Param,
    emax: Param,
    calibration_placebo_amplitude: Param,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelSpec {
    name: String,
    improvement_percent: f64,
    source: String,
}

/// One response level (ACR20, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub name: String,
    pub improvement_percent: f64,
    /// logit(1 − x/100).
    pub threshold: f64,
    pub source: String,
}

/// The checked response model.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseModel {
    pub name: String,
    pub description: String,
    /// Observable whose fall from 1 is the driver (a ratio to the untreated value).
    pub driver: String,
    pub tau_h: f64,
    pub k_placebo_per_h: f64,
    pub eta_sd: f64,
    /// Placebo amplitude of the reference trial (Cohen 2004), the default of a trial.
    pub placebo_amplitude: f64,
    pub emax: f64,
    /// Placebo amplitude of the trial the drug effect was calibrated on (Bresnihan 1998).
    pub calibration_placebo_amplitude: f64,
    pub levels: Vec<Level>,
    /// Every parameter by name, as written (for listings).
    pub parameters: Vec<(String, Param)>,
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl ResponseModel {
    /// The bundled RA model.
    pub fn ra_acr() -> ResponseModel {
        ResponseModel::from_toml(RA_ACR_RESPONSE_TOML, "models/ra-acr-response.toml")
            .expect("the bundled response model is checked by the test suite")
    }

    /// Parse and check a response model file.
    pub fn from_toml(text: &str, origin: &str) -> Result<ResponseModel, String> {
        let f: ResponseFile = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        let p = &f.parameters;
        let check = |name: &str, q: &Param, unit: &str, ok: bool, allowed: &str| {
            if q.unit != unit {
                return Err(format!(
                    "{origin}: parameters.{name}: unit '{}' is not allowed; use '{unit}'",
                    q.unit
                ));
            }
            if !(q.value.is_finite() && ok) {
                return Err(format!(
                    "{origin}: parameters.{name}: {} is not allowed; {allowed}",
                    q.value
                ));
            }
            Ok(())
        };
        check("tau", &p.tau, "day", p.tau.value > 0.0, "must be > 0")?;
        check(
            "k_placebo",
            &p.k_placebo,
            "1/day",
            p.k_placebo.value > 0.0,
            "must be > 0",
        )?;
        check(
            "eta_sd",
            &p.eta_sd,
            "1",
            p.eta_sd.value >= 0.0,
            "must be >= 0",
        )?;
        for (name, q) in [
            ("placebo_amplitude", &p.placebo_amplitude),
            ("emax", &p.emax),
            (
                "calibration_placebo_amplitude",
                &p.calibration_placebo_amplitude,
            ),
        ] {
            check(
                name,
                q,
                "1",
                (0.0..1.0).contains(&q.value),
                "must be in [0, 1)",
            )?;
        }
        if f.levels.is_empty() {
            return Err(format!("{origin}: levels: at least one response level"));
        }
        let mut levels: Vec<Level> = Vec::new();
        for (i, l) in f.levels.iter().enumerate() {
            let x = l.improvement_percent;
            if !(x > 0.0 && x < 100.0) {
                return Err(format!(
                    "{origin}: levels[{i}].improvement_percent: {x} is not allowed; 0 < x < 100"
                ));
            }
            if let Some(prev) = levels.last() {
                if x <= prev.improvement_percent {
                    return Err(format!("{origin}: levels[{i}].improvement_percent: {x} must be above the previous level's {} (levels are ordered)", prev.improvement_percent));
                }
            }
            if levels.iter().any(|o| o.name == l.name) {
                return Err(format!(
                    "{origin}: levels[{i}].name: '{}' is used twice",
                    l.name
                ));
            }
            levels.push(Level {
                name: l.name.clone(),
                improvement_percent: x,
                threshold: logit(1.0 - x / 100.0),
                source: l.source.clone(),
            });
        }
        let parameters = vec![
            ("tau".to_string(), p.tau.clone()),
            ("k_placebo".to_string(), p.k_placebo.clone()),
            ("eta_sd".to_string(), p.eta_sd.clone()),
            ("placebo_amplitude".to_string(), p.placebo_amplitude.clone()),
            ("emax".to_string(), p.emax.clone()),
            (
                "calibration_placebo_amplitude".to_string(),
                p.calibration_placebo_amplitude.clone(),
            ),
        ];
        Ok(ResponseModel {
            name: f.response.name,
            description: f.response.description,
            driver: f.response.driver,
            tau_h: p.tau.value * HOURS_PER_DAY,
            k_placebo_per_h: p.k_placebo.value / HOURS_PER_DAY,
            eta_sd: p.eta_sd.value,
            placebo_amplitude: p.placebo_amplitude.value,
            emax: p.emax.value,
            calibration_placebo_amplitude: p.calibration_placebo_amplitude.value,
            levels,
            parameters,
        })
    }

    /// A copy with another drug effect (for calibration).
    pub fn with_emax(&self, emax: f64) -> ResponseModel {
        ResponseModel {
            emax,
            ..self.clone()
        }
    }

    /// Index of the driver observable in `model`, or a clear error.
    pub fn driver_index(&self, model: &Model) -> Result<usize, String> {
        model.observable_id(&self.driver).ok_or_else(|| {
            format!(
                "response model '{}': driver '{}' is not an observable of model '{}'",
                self.name, self.driver, model.name
            )
        })
    }

    /// Latent variable at the last time of `times_h` (sorted, starting at 0), with the driver
    /// `d` (fractional inhibition) at those times, linear in between. Exact for a driver
    /// linear between the points (exponential integrator); the placebo term is evaluated at
    /// the points and treated the same way.
    pub fn latent(&self, times_h: &[f64], d: &[f64], placebo_amplitude: f64) -> f64 {
        assert_eq!(times_h.len(), d.len(), "one driver value per time");
        let target = |t: f64, d: f64| {
            1.0 - placebo_amplitude * (1.0 - (-self.k_placebo_per_h * t).exp()) - self.emax * d
        };
        let mut a = 1.0;
        for k in 1..times_h.len() {
            let h = times_h[k] - times_h[k - 1];
            if h <= 0.0 {
                continue;
            }
            let f0 = target(times_h[k - 1], d[k - 1]);
            let f1 = target(times_h[k], d[k]);
            let e = (-h / self.tau_h).exp();
            let slope = (f1 - f0) / h;
            a = f1 + (a - f0) * e - slope * self.tau_h * (1.0 - e);
        }
        a
    }

    /// Latent variable with no drug after `assessment_h` (a placebo patient).
    pub fn placebo_latent(&self, assessment_h: f64, placebo_amplitude: f64) -> f64 {
        let n = (assessment_h / DRIVER_STEP_H).ceil().max(1.0) as usize;
        let times: Vec<f64> = (0..=n)
            .map(|k| (k as f64 * DRIVER_STEP_H).min(assessment_h))
            .collect();
        self.latent(&times, &vec![0.0; times.len()], placebo_amplitude)
    }

    /// logit(1 − A): the patient's improvement on the logit scale.
    pub fn improvement_logit(a: f64) -> f64 {
        logit((1.0 - a).clamp(LOGIT_EPS, 1.0 - LOGIT_EPS))
    }

    /// A patient's probability of each response level, given latent `a` and random effect `eta`.
    pub fn probabilities(&self, a: f64, eta: f64) -> Vec<f64> {
        let u = Self::improvement_logit(a);
        self.levels
            .iter()
            .map(|l| logistic(l.threshold + u + eta))
            .collect()
    }

    /// Population-mean probability of each level at latent `a` (η integrated out by
    /// trapezoidal quadrature over ±8 sd).
    pub fn expected(&self, a: f64) -> Vec<f64> {
        if self.eta_sd == 0.0 {
            return self.probabilities(a, 0.0);
        }
        let u = Self::improvement_logit(a);
        let h = 2.0 * QUAD_HALF_WIDTH_SD / QUAD_INTERVALS as f64;
        let norm = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
        self.levels
            .iter()
            .map(|l| {
                (0..=QUAD_INTERVALS)
                    .map(|k| {
                        let z = -QUAD_HALF_WIDTH_SD + k as f64 * h;
                        let w = if k == 0 || k == QUAD_INTERVALS {
                            0.5
                        } else {
                            1.0
                        };
                        w * h
                            * norm
                            * (-0.5 * z * z).exp()
                            * logistic(l.threshold + u + self.eta_sd * z)
                    })
                    .sum()
            })
            .collect()
    }

    /// Placebo amplitude that gives `target` (a fraction) as the expected first-level
    /// response after `assessment_h` (bisection; the response rises with the amplitude).
    pub fn calibrate_placebo_amplitude(&self, assessment_h: f64, target: f64) -> f64 {
        bisect(0.0, 0.999, |amp| {
            self.expected(self.placebo_latent(assessment_h, amp))[0] - target
        })
    }

    /// Drug effect `emax` that gives `target` as the expected first-level response for the
    /// driver course (`times_h`, `d`) with placebo amplitude `amp`.
    pub fn calibrate_emax(&self, times_h: &[f64], d: &[f64], amp: f64, target: f64) -> f64 {
        bisect(0.0, 0.999 - amp, |emax| {
            self.with_emax(emax)
                .expected(self.with_emax(emax).latent(times_h, d, amp))[0]
                - target
        })
    }
}

/// Bisection for an increasing function with a root in [lo, hi] (60 halvings: the bracket
/// shrinks below double precision). Also used by the calibration examples.
pub fn bisect(mut lo: f64, mut hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..60 {
        let m = 0.5 * (lo + hi);
        if f(m) < 0.0 {
            lo = m
        } else {
            hi = m
        }
    }
    0.5 * (lo + hi)
}

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

/// Driver course of one subject and regimen: times (h, from 0 to `horizon_h` every
/// [`DRIVER_STEP_H`]) and D = 1 − driver observable, clamped to [0, 1].
pub fn driver_course(
    subject: &Subject,
    regimen: &crate::dosing::regimen::Regimen,
    horizon_h: f64,
    driver: usize,
) -> Result<(Vec<f64>, Vec<f64>), SimError> {
    let n = (horizon_h / DRIVER_STEP_H).ceil().max(1.0) as usize;
    let times: Vec<f64> = (0..=n)
        .map(|k| (k as f64 * DRIVER_STEP_H).min(horizon_h))
        .collect();
    let (traj, _) = subject.simulate(regimen, horizon_h, &times)?;
    let d: Vec<f64> = traj
        .states
        .iter()
        .map(|y| (1.0 - subject.observe(y)[driver]).clamp(0.0, 1.0))
        .collect();
    Ok((traj.times_h, d))
}

// ------------------------------------------------------------------ trial file

/// The `[trial]` table of a population file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrialSpecFile {
    /// Day of the response assessment (e.g. 168 for week 24).
    pub assessment_day: f64,
    /// Placebo amplitude of this trial; default: the response model's (Cohen 2004).
    pub placebo_amplitude: Option<f64>,
    /// Where the published figures come from.
    #[serde(default)]
    pub source: String,
    pub arms: Vec<ArmSpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArmSpec {
    pub name: String,
    /// Name of a regimen of the file; none for a placebo arm.
    pub regimen: Option<String>,
    pub subjects: u64,
    /// Published responder percentages by level name, for comparison.
    #[serde(default)]
    pub published: BTreeMap<String, f64>,
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

/// Parse a trial file: a population file with a `[trial]` table.
pub fn parse_trial(
    text: &str,
    origin: &str,
    model: &Model,
    response: &ResponseModel,
) -> Result<TrialScenario, ScenarioError> {
    let population = crate::population::parse_population(text, origin, model)?;
    let f = crate::scenario::parse_file(text, origin, model)?;
    let (t, line) = f.trial.ok_or_else(|| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "trial".into(),
        message: "a [trial] table is needed (assessment_day and [[trial.arms]])".into(),
    })?;
    let e = |key: &str, message: String| ScenarioError {
        origin: origin.into(),
        line: Some(line),
        key: format!("trial.{key}"),
        message,
    };
    response.driver_index(model).map_err(|m| e("response", m))?;
    let duration_days = population.duration_h / HOURS_PER_DAY;
    if !(t.assessment_day > 0.0 && t.assessment_day <= duration_days) {
        return Err(e(
            "assessment_day",
            format!(
                "{} is not allowed; from > 0 to the duration ({duration_days} days)",
                t.assessment_day
            ),
        ));
    }
    let placebo_amplitude = t.placebo_amplitude.unwrap_or(response.placebo_amplitude);
    if !(0.0..1.0).contains(&placebo_amplitude) {
        return Err(e(
            "placebo_amplitude",
            format!("{placebo_amplitude} is not allowed; 0 <= amplitude < 1"),
        ));
    }
    if t.arms.is_empty() {
        return Err(e("arms", "at least one [[trial.arms]]".into()));
    }
    let mut arms = Vec::new();
    let mut first_id = 0;
    for (i, a) in t.arms.iter().enumerate() {
        let key = |k: &str| format!("arms[{i}].{k}");
        if a.subjects == 0 {
            return Err(e(&key("subjects"), "0 is not allowed; at least 1".into()));
        }
        if arms.iter().any(|o: &Arm| o.name == a.name) {
            return Err(e(
                &key("name"),
                format!("'{}' is used twice; arm names must differ", a.name),
            ));
        }
        let regimen = match &a.regimen {
            None => None,
            Some(r) => Some(
                population
                    .regimens
                    .iter()
                    .position(|x| &x.name == r)
                    .ok_or_else(|| {
                        let names: Vec<&str> =
                            population.regimens.iter().map(|x| x.name.as_str()).collect();
                        e(
                            &key("regimen"),
                            format!(
                                "'{r}' is not a regimen of this file; allowed: {} (or no regimen for a placebo arm)",
                                names.join(", ")
                            ),
                        )
                    })?,
            ),
        };
        let mut published = vec![None; response.levels.len()];
        for (name, &v) in &a.published {
            let k = response
                .levels
                .iter()
                .position(|l| &l.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> =
                        response.levels.iter().map(|l| l.name.as_str()).collect();
                    e(
                        &key("published"),
                        format!(
                            "'{name}' is not a response level; allowed: {}",
                            names.join(", ")
                        ),
                    )
                })?;
            if !(0.0..=100.0).contains(&v) {
                return Err(e(
                    &key("published"),
                    format!("{name} = {v} is not allowed; a percentage from 0 to 100"),
                ));
            }
            published[k] = Some(v);
        }
        arms.push(Arm {
            name: a.name.clone(),
            regimen,
            subjects: a.subjects,
            first_id,
            published,
        });
        first_id += a.subjects;
    }
    if population.subjects != first_id {
        return Err(e(
            "arms",
            format!(
                "the arms hold {first_id} subjects in all but population.subjects is {}; make them equal",
                population.subjects
            ),
        ));
    }
    Ok(TrialScenario {
        population,
        response: response.clone(),
        assessment_h: t.assessment_day * HOURS_PER_DAY,
        placebo_amplitude,
        source: t.source,
        arms,
    })
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
    fn bundled_model_parses_with_ordered_thresholds() {
        let r = ResponseModel::ra_acr();
        assert_eq!(r.levels.len(), 3);
        assert!((r.levels[0].threshold - 4f64.ln()).abs() < 1e-12);
        assert!(r.levels[1].threshold.abs() < 1e-12);
        assert!(r.levels[0].threshold > r.levels[1].threshold);
        assert!(r.levels[1].threshold > r.levels[2].threshold);
    }

    #[test]
    fn latent_matches_closed_form_for_constant_drive() {
        // No placebo, constant driver D: A(t) = 1 − E (1 − exp(−t/τ)).
        let r = ResponseModel::ra_acr().with_emax(0.3);
        let t: Vec<f64> = (0..=500).map(|k| k as f64 * 3.0).collect();
        let d = vec![0.8; t.len()];
        let a = r.latent(&t, &d, 0.0);
        let exact = 1.0 - 0.3 * 0.8 * (1.0 - (-1500.0 / r.tau_h).exp());
        assert!((a - exact).abs() < 1e-12, "{a} vs {exact}");
    }

    #[test]
    fn latent_placebo_matches_closed_form() {
        // dA/dt = (1 − P(1 − e^{−kt}) − A)/τ: A = 1 − P[(1 − e^{−t/τ}) − (e^{−kt} − e^{−t/τ})/(1 − kτ)].
        let r = ResponseModel::ra_acr();
        let (p, t) = (0.2, 168.0 * 24.0);
        let (k, tau) = (r.k_placebo_per_h, r.tau_h);
        let exact = 1.0
            - p * ((1.0 - (-t / tau).exp())
                - ((-k * t).exp() - (-t / tau).exp()) / (1.0 - k * tau));
        let a = r.placebo_latent(t, p);
        assert!((a - exact).abs() < 1e-6, "{a} vs {exact}");
    }

    #[test]
    fn expectation_without_variability_is_the_logistic() {
        let mut r = ResponseModel::ra_acr();
        let a = 0.9;
        let with = r.expected(a);
        r.eta_sd = 0.0;
        let without = r.expected(a);
        let direct = r.probabilities(a, 0.0);
        assert_eq!(without, direct);
        // Variability pulls probabilities below 1/2 up (convexity of the logistic there).
        assert!(with[0] > without[0]);
    }

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

    #[test]
    fn bad_files_give_clear_errors() {
        let bad_unit = RA_ACR_RESPONSE_TOML.replace(
            "tau = { value = 55.9, unit = \"day\"",
            "tau = { value = 55.9, unit = \"h\"",
        );
        let e = ResponseModel::from_toml(&bad_unit, "x.toml").unwrap_err();
        assert!(e.contains("parameters.tau") && e.contains("'day'"), "{e}");
        let bad_order = RA_ACR_RESPONSE_TOML
            .replace("improvement_percent = 70.0", "improvement_percent = 40.0");
        let e = ResponseModel::from_toml(&bad_order, "x.toml").unwrap_err();
        assert!(e.contains("levels[2]") && e.contains("ordered"), "{e}");
    }
}
