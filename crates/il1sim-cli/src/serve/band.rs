//! The percentile band of `/api/band`: the page's regimen given to subjects of the shipped
//! population file of the disease (their own covariates and variability, as
//! `il1sim population` draws them), percentiles from the population layer's aggregates, so
//! that the band is bands.csv of `il1sim population FILE --subjects N` for that regimen.

use super::request::{
    Checked, SimulateRequest, DEFAULT_BAND_SUBJECTS, MAX_BAND_DAYS, MAX_BAND_SUBJECTS,
};
use crate::population::outputs::PERCENTILES;
use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::model::definition::{Model, ObservableKind};
use il1sim_core::population::aggregates::Aggregates;
use il1sim_core::population::definition::{band_times, PopulationScenario, SimulationMethod};
use il1sim_core::population::outcome::simulate_subject;
use il1sim_core::solve::options::SolverOptions;
use rayon::prelude::*;
use serde::Serialize;

/// The shipped population file of each disease that has one (disease, file, text).
pub const POPULATIONS: [(&str, &str, &str); 4] = [
    (
        "ra",
        "scenarios/ra-renal-population.toml",
        include_str!("../../../../scenarios/ra-renal-population.toml"),
    ),
    (
        "caps",
        "scenarios/caps-paediatric-population.toml",
        include_str!("../../../../scenarios/caps-paediatric-population.toml"),
    ),
    (
        "mws",
        "scenarios/mws-population.toml",
        include_str!("../../../../scenarios/mws-population.toml"),
    ),
    (
        "nomid",
        "scenarios/nomid-paediatric-population.toml",
        include_str!("../../../../scenarios/nomid-paediatric-population.toml"),
    ),
];

/// Most band times. Each holds a histogram per observable (3,601 or 10,000 counters of 4
/// bytes), so 200 times of 7 observables is about 20 MB while a band is computed; the band
/// grid is the population file's, coarsened by whole multiples until it fits.
pub const MAX_BAND_TIMES: usize = 201;

/// Observables a band covers besides the drug's concentration: those the page plots.
pub const BAND_OBSERVABLES: [&str; 6] = [
    "receptor_occupancy_antagonist",
    "il1_signal_relative",
    "il6_plasma",
    "crp",
    "il1_signal_joint_relative",
    "il1_signal_cns_relative",
];

#[derive(Debug, Serialize)]
pub struct BandSeries {
    pub name: String,
    pub unit: String,
    /// One row per percentile of [`Band::percentiles`], one value per band time.
    pub values: Vec<Vec<f64>>,
}

#[derive(Debug, Serialize)]
pub struct Band {
    pub population: String,
    pub file: &'static str,
    pub description: String,
    pub subjects: u64,
    pub seed: u64,
    pub method: &'static str,
    /// Subjects whose draw or solve failed (left out of the percentiles).
    pub failed: u64,
    pub percentiles: [f64; 5],
    pub times_h: Vec<f64>,
    pub observables: Vec<BandSeries>,
}

/// The observable that is a drug's plasma concentration (its concentration species alone).
pub fn drug_observable(model: &Model, drug: &str) -> Option<usize> {
    let species = model.drug(drug)?.concentration_species;
    model.observables.iter().position(|o| {
        matches!(&o.kind, ObservableKind::Concentration { species: s, plus, .. }
            if *s == species && plus.is_empty())
    })
}

/// The population file of a disease, checked.
pub fn population_of(
    model: &Model,
    disease: &str,
) -> Result<(PopulationScenario, &'static str), String> {
    let (_, file, text) = POPULATIONS
        .iter()
        .find(|(d, _, _)| *d == disease)
        .ok_or_else(|| {
            let names: Vec<&str> = POPULATIONS.iter().map(|p| p.0).collect();
            format!(
                "disease '{disease}' has no shipped population file; a band is available for: {}",
                names.join(", ")
            )
        })?;
    let pop = parse_population(text, file, model).map_err(|e| e.to_string())?;
    Ok((pop, file))
}

/// Check a band request: the regimen as the quick form reads it, the band limits, and the
/// population of its disease with that regimen, duration and band grid.
pub fn band_population(
    model: &Model,
    request: &SimulateRequest,
) -> Result<(PopulationScenario, &'static str), String> {
    let Checked { scenario, method } = request.check(model, MAX_BAND_DAYS)?;
    let subjects = request.subjects.unwrap_or(DEFAULT_BAND_SUBJECTS);
    if subjects == 0 || subjects > MAX_BAND_SUBJECTS {
        return Err(format!(
            "subjects {subjects}: allowed: 1 to {MAX_BAND_SUBJECTS} in the explorer (larger \
             populations: il1sim population)"
        ));
    }
    let (mut pop, file) = population_of(model, &scenario.patient.disease)?;
    let regimen = scenario.regimens[0].clone();
    let drug_obs = drug_observable(model, &regimen.drug)
        .ok_or_else(|| format!("drug '{}' has no concentration observable", regimen.drug))?;
    let step = match pop.band_times_h.as_slice() {
        [a, b, ..] => b - a,
        _ => scenario.output_interval_h,
    };
    let mut k = 1.0;
    while band_times(scenario.duration_h, step * k).len() > MAX_BAND_TIMES {
        k += 1.0;
    }
    pop.band_times_h = band_times(scenario.duration_h, step * k);
    pop.band_observables = std::iter::once(Some(drug_obs))
        .chain(BAND_OBSERVABLES.iter().map(|n| model.observable_id(n)))
        .flatten()
        .collect();
    pop.duration_h = scenario.duration_h;
    pop.regimens = vec![regimen];
    pop.subjects = subjects;
    if let Some(seed) = request.seed {
        pop.seed = seed;
    }
    // The fast method unless the request names one: a band is 200 subjects, and the fast
    // method meets the exact one within the solver's tolerances for periodic dosing
    // (docs/solver.md, "Fast method") at a third of the cost (README, "Speed").
    pop.method = if request.method.is_some() {
        method
    } else {
        SimulationMethod::Fast
    };
    // Targets and report days are the file's questions about its own regimens and horizon;
    // the band needs neither.
    pop.targets.clear();
    pop.crp_days.clear();
    pop.full_timecourses = false;
    Ok((pop, file))
}

/// Simulate the band's subjects (in parallel; subject i draws from its own stream, so the
/// result does not depend on the thread count) and read the percentiles.
pub fn band(model: &Model, pop: &PopulationScenario, file: &'static str) -> Band {
    let outcomes: Vec<_> = (0..pop.subjects)
        .into_par_iter()
        .map(|id| simulate_subject(model, pop, id, SolverOptions::DEFAULT))
        .collect();
    let mut agg = Aggregates::new(model, pop);
    for o in &outcomes {
        agg.add(pop, o);
    }
    let failed = outcomes
        .iter()
        .filter(|o| o.regimens.iter().any(|r| r.is_err()))
        .count() as u64;
    let observables = pop
        .band_observables
        .iter()
        .enumerate()
        .map(|(k, &o)| {
            let mut values = vec![Vec::with_capacity(pop.band_times_h.len()); PERCENTILES.len()];
            for t in 0..pop.band_times_h.len() {
                for (row, v) in values
                    .iter_mut()
                    .zip(agg.percentiles(0, k, t, &PERCENTILES))
                {
                    row.push(v);
                }
            }
            BandSeries {
                name: model.observables[o].name.clone(),
                unit: model.observables[o].unit.clone(),
                values,
            }
        })
        // A site the disease lacks is NaN for every subject: no band.
        .filter(|s| s.values.iter().flatten().any(|v| v.is_finite()))
        .collect();
    Band {
        population: pop.name.clone(),
        file,
        description: pop.description.clone(),
        subjects: pop.subjects,
        seed: pop.seed,
        method: pop.method.name(),
        failed,
        percentiles: PERCENTILES,
        times_h: pop.band_times_h.clone(),
        observables,
    }
}
