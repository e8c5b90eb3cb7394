//! Simulating a study design into a [`Dataset`]: the subjects of a population file (covariates
//! drawn as the population layer draws them, ETAs from its Ω, its inclusion criterion), each on
//! one of its regimens (subject i on regimen i mod n), sampled at the design's times, with the
//! population's residual error and an optional LLOQ. Subject i draws its covariates and ETAs
//! from the population's stream for i and its residuals and sampling times from a second
//! stream of its own, so a study is the same whatever the thread count.
//!
//! The design is a population file with a `[study]` table:
//!
//! ```toml
//! [study]
//! observables = ["anakinra_plasma"]
//! sampling_times_h = [1, 2, 4, 8, 12, 24, 96, 168]   # from the first dose
//! samples_per_subject = 4                            # optional: a random subset per subject
//! lloq = { anakinra_plasma = 40.0 }                  # optional, in the observable's unit
//! ```

use crate::exchange::dataset::predict::SubjectDesign;
use crate::exchange::dataset::subjects::{DataSubject, Dataset, Observation, Occasion};
use crate::exchange::population_file::parse_population;
use crate::exchange::spans::{line_of, ScenarioError};
use crate::model::definition::Model;
use crate::population::definition::PopulationScenario;
use crate::population::outcome::screened_subject;
use crate::population::sampling::subject_rng;
use crate::solve::options::SolverOptions;
use rand::seq::index::sample;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// Most samples one subject may have in a design (a mistyped list would otherwise make a
/// dataset of millions of rows).
pub const MAX_SAMPLES_PER_SUBJECT: usize = 10_000;

/// Mixed into the run seed for the stream of residuals and sampling times, so that it differs
/// from the stream the population layer draws covariates and ETAs from ("RESIDUAL" in ASCII).
const RESIDUAL_STREAM: u64 = 0x5245_5349_4455_414c;

/// A checked study design.
#[derive(Debug, Clone)]
pub struct StudyDesign {
    pub population: PopulationScenario,
    /// Sampled observables (indices into `Model::observables`); each has a residual spec.
    pub observables: Vec<usize>,
    /// Candidate sampling times (h from the first dose), sorted, distinct.
    pub sampling_times_h: Vec<f64>,
    /// Times drawn per subject from `sampling_times_h` (all of them when None).
    pub samples_per_subject: Option<usize>,
    /// LLOQ per sampled observable, in its unit.
    pub lloq: Vec<Option<f64>>,
}

#[derive(Debug, Deserialize)]
struct DesignFile {
    study: Option<Spanned<StudySpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudySpec {
    observables: Spanned<Vec<String>>,
    sampling_times_h: Spanned<Vec<f64>>,
    samples_per_subject: Option<Spanned<i64>>,
    #[serde(default)]
    lloq: BTreeMap<String, Spanned<f64>>,
}

/// Parse a study design: a population file (parsed and checked by
/// [`parse_population`]) with a `[study]` table.
pub fn parse_study(text: &str, origin: &str, model: &Model) -> Result<StudyDesign, ScenarioError> {
    let population = parse_population(text, origin, model)?;
    let file: DesignFile = toml::from_str(text).map_err(|e| ScenarioError {
        origin: origin.into(),
        line: e.span().map(|s| line_of(text, &s)),
        key: "study".into(),
        message: e.message().to_string(),
    })?;
    let study = file.study.ok_or_else(|| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "study".into(),
        message: "a study design needs a [study] table (observables, sampling_times_h)".into(),
    })?;
    let err = |span: std::ops::Range<usize>, key: &str, message: String| ScenarioError {
        origin: origin.into(),
        line: Some(line_of(text, &span)),
        key: format!("study.{key}"),
        message,
    };
    let spec = study.into_inner();
    let mut observables = Vec::new();
    for name in spec.observables.get_ref() {
        let id = model.observable_id(name).ok_or_else(|| {
            let names: Vec<&str> = model.observables.iter().map(|o| o.name.as_str()).collect();
            err(
                spec.observables.span(),
                "observables",
                format!("'{name}' is not allowed; allowed: {}", names.join(", ")),
            )
        })?;
        if !population.residual.iter().any(|(o, _)| *o == id) {
            return Err(err(
                spec.observables.span(),
                "observables",
                format!("'{name}' has no [[population.residual]] entry; a sampled observable needs its residual error"),
            ));
        }
        if observables.contains(&id) {
            return Err(err(
                spec.observables.span(),
                "observables",
                format!("'{name}' is listed twice"),
            ));
        }
        observables.push(id);
    }
    if observables.is_empty() {
        return Err(err(
            spec.observables.span(),
            "observables",
            "no observable given; list at least one".into(),
        ));
    }
    let times = spec.sampling_times_h.get_ref().clone();
    let t_span = spec.sampling_times_h.span();
    if times.is_empty() || times.len() > MAX_SAMPLES_PER_SUBJECT {
        return Err(err(
            t_span,
            "sampling_times_h",
            format!(
                "{} times are not allowed; 1 to {MAX_SAMPLES_PER_SUBJECT}",
                times.len()
            ),
        ));
    }
    for (k, &t) in times.iter().enumerate() {
        if !(t.is_finite() && t >= 0.0 && t <= population.duration_h) {
            return Err(err(
                t_span.clone(),
                "sampling_times_h",
                format!(
                    "time {t} h is not allowed; 0 to the study's duration, {} h",
                    population.duration_h
                ),
            ));
        }
        if k > 0 && t <= times[k - 1] {
            return Err(err(
                t_span.clone(),
                "sampling_times_h",
                format!("time {t} h after {} h: times must increase", times[k - 1]),
            ));
        }
    }
    let samples_per_subject = match spec.samples_per_subject {
        None => None,
        Some(s) => {
            let n = *s.get_ref();
            if n < 1 || n as usize > times.len() {
                return Err(err(
                    s.span(),
                    "samples_per_subject",
                    format!(
                        "{n} is not allowed; 1 to the number of sampling times, {}",
                        times.len()
                    ),
                ));
            }
            Some(n as usize)
        }
    };
    let mut lloq = vec![None; observables.len()];
    for (name, v) in &spec.lloq {
        let k = model
            .observable_id(name)
            .and_then(|id| observables.iter().position(|&o| o == id))
            .ok_or_else(|| {
                err(
                    v.span(),
                    &format!("lloq.{name}"),
                    "not a sampled observable; allowed: the names in study.observables".into(),
                )
            })?;
        let x = *v.get_ref();
        if !(x.is_finite() && x > 0.0) {
            return Err(err(
                v.span(),
                &format!("lloq.{name}"),
                format!("{x} is not allowed; a number > 0 in the observable's unit"),
            ));
        }
        lloq[k] = Some(x);
    }
    Ok(StudyDesign {
        population,
        observables,
        sampling_times_h: times,
        samples_per_subject,
        lloq,
    })
}

/// A simulated study: the dataset, and the truth behind it.
#[derive(Debug, Clone)]
pub struct SimulatedStudy {
    pub dataset: Dataset,
    /// Each subject's ETAs (ln of its variability multipliers), in the order of the
    /// population's variability parameters.
    pub etas: Vec<Vec<f64>>,
}

/// Simulate every subject of the design (in parallel; each from its own streams).
pub fn simulate_study(
    model: &Model,
    design: &StudyDesign,
    options: SolverOptions,
) -> Result<SimulatedStudy, String> {
    let n = design.population.subjects;
    let subjects: Vec<Result<(DataSubject, Vec<f64>), String>> = (0..n)
        .into_par_iter()
        .map(|i| simulate_one(model, design, i, options))
        .collect();
    let mut dataset = Dataset::default();
    let mut etas = Vec::with_capacity(n as usize);
    for s in subjects {
        let (subject, eta) = s?;
        dataset.subjects.push(subject);
        etas.push(eta);
    }
    Ok(SimulatedStudy { dataset, etas })
}

fn simulate_one(
    model: &Model,
    design: &StudyDesign,
    i: u64,
    options: SolverOptions,
) -> Result<(DataSubject, Vec<f64>), String> {
    let pop = &design.population;
    let (draw, subject) = screened_subject(model, pop, i, options)
        .map_err(|e| format!("subject {}: {}", i + 1, e.1))?;
    let regimen = &pop.regimens[(i % pop.regimens.len() as u64) as usize];
    let mut rng = subject_rng(pop.seed ^ RESIDUAL_STREAM, i);
    let times: Vec<f64> = match design.samples_per_subject {
        None => design.sampling_times_h.clone(),
        Some(k) => {
            let mut idx = sample(&mut rng, design.sampling_times_h.len(), k).into_vec();
            idx.sort_unstable();
            idx.iter().map(|&j| design.sampling_times_h[j]).collect()
        }
    };
    let mut observations = Vec::with_capacity(times.len() * design.observables.len());
    for &t in &times {
        for (k, &o) in design.observables.iter().enumerate() {
            observations.push(Observation {
                time_h: t,
                observable: o,
                value: None,
                lloq: design.lloq[k],
                below_lloq: false,
                line: 0,
            });
        }
    }
    let mut data = DataSubject {
        id: format!("{}", i + 1),
        patient: draw.patient.clone(),
        regimens: vec![regimen.clone()],
        occasions: vec![Occasion {
            start_h: 0.0,
            regimens: 0..1,
            observations: 0..observations.len(),
            line: 0,
        }],
        observations,
        first_line: 0,
    };
    // The dataset layer's prediction: what a fit of this dataset will compute.
    let predictions = SubjectDesign::new(&data)
        .predict(&subject)
        .map_err(|e| format!("subject {}: {e}", i + 1))?;
    for (obs, f) in data.observations.iter_mut().zip(predictions) {
        let spec = &pop
            .residual
            .iter()
            .find(|(r, _)| *r == obs.observable)
            .expect("parse_study checks every sampled observable has a residual spec")
            .1;
        let (e1, e2): (f64, f64) = (
            StandardNormal.sample(&mut rng),
            StandardNormal.sample(&mut rng),
        );
        // The population layer's error model: y = f (1 + b ε1) + a ε2.
        let y = f * (1.0 + spec.proportional * e1) + spec.additive * e2;
        let below = obs.lloq.is_some_and(|l| y < l);
        obs.value = if below { None } else { Some(y) };
        obs.below_lloq = below;
    }
    let etas = draw.multipliers.iter().map(|(_, m)| m.ln()).collect();
    Ok((data, etas))
}
