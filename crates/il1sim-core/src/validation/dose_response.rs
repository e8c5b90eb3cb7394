//! NOMID dose–response in a population: the shipped paediatric NOMID population
//! (`scenarios/nomid-paediatric-population.toml`: covariates and inter-individual variability
//! on CL_anakinra, P_il1b_basal and il6_basal_drive) on 1, 2 and 4 mg/kg/day SC for 90 days,
//! simulated in-process through the population layer with a fixed seed and subject count. It is
//! run once per model and read by several targets: the median CRP at day 90, the share that
//! does not reach CRP < 10 mg/L at 2 mg/kg/day, and the rise of the responder share with dose.

use crate::dosing::regimen::DoseAmount;
use crate::error::{ModelError, SimError};
use crate::exchange::population_file::parse_population;
use crate::model::definition::Model;
use crate::population::outcome::simulate_subject;
use crate::solve::options::SolverOptions;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A shipped population file evaluated at a few doses of its first regimen: what a
/// population target needs, fixed here (seed and subject count) so that editing the file's
/// seed does not move a validation figure.
pub struct PopulationRun {
    pub toml: &'static str,
    pub origin: &'static str,
    /// Subjects simulated (ids 0 to subjects - 1).
    pub subjects: u64,
    pub seed: u64,
    /// The doses that replace the first regimen's (SC once daily, as in the file).
    pub doses: &'static [DoseAmount],
    /// The day whose CRP the targets read (must be among the file's `crp_days`).
    pub crp_day: u32,
}

/// The doses compared, mg/kg/day (uncapped, SC once daily for 90 days).
pub const NOMID_DOSES_MG_PER_KG: [f64; 3] = [1.0, 2.0, 4.0];
const NOMID_DOSES: [DoseAmount; 3] = [
    DoseAmount::MgPerKg {
        mg_per_kg: NOMID_DOSES_MG_PER_KG[0],
        max_mg: None,
    },
    DoseAmount::MgPerKg {
        mg_per_kg: NOMID_DOSES_MG_PER_KG[1],
        max_mg: None,
    },
    DoseAmount::MgPerKg {
        mg_per_kg: NOMID_DOSES_MG_PER_KG[2],
        max_mg: None,
    },
];

/// The shipped paediatric NOMID population; 200 subjects take a few seconds and give a share
/// to ±3.5 percentage points at most (binomial SD at 50%).
pub const NOMID_POPULATION: PopulationRun = PopulationRun {
    toml: include_str!("../../../../scenarios/nomid-paediatric-population.toml"),
    origin: "scenarios/nomid-paediatric-population.toml",
    subjects: 200,
    seed: 11,
    doses: &NOMID_DOSES,
    crp_day: 90,
};

/// The shipped MWS population on 100 mg/day (Kuemmerle-Deschner 2013's regimen in adults).
pub const MWS_POPULATION: PopulationRun = PopulationRun {
    toml: include_str!("../../../../scenarios/mws-population.toml"),
    origin: "scenarios/mws-population.toml",
    subjects: 200,
    seed: 13,
    doses: &[DoseAmount::Mg(100.0)],
    crp_day: 90,
};

/// The CRP below which a subject counts as a responder on day 90 (mg/L), the NOMID
/// population file's target.
pub const RESPONSE_CRP_MG_L: f64 = 10.0;

/// CRP on the run's day (mg/L), per dose of the run, per subject.
pub type DoseCrp = Vec<Vec<f64>>;

static POPULATION_RUNS: Mutex<BTreeMap<(String, &'static str), Arc<DoseCrp>>> =
    Mutex::new(BTreeMap::new());

fn poisoned() -> SimError {
    ModelError::invalid("validation", "population cache poisoned").into()
}

/// CRP on the run's day of every subject at every dose, computed once per model name and
/// population. A subject whose sampling or solve fails makes the whole experiment fail (no
/// subject is dropped).
pub fn population_crp(model: &Model, run: &PopulationRun) -> Result<Arc<DoseCrp>, SimError> {
    let key = (model.name.clone(), run.origin);
    if let Some(c) = POPULATION_RUNS.lock().map_err(|_| poisoned())?.get(&key) {
        return Ok(c.clone());
    }
    let mut pop = parse_population(run.toml, run.origin, model)
        .map_err(|e| ModelError::invalid(run.origin, e.to_string()))?;
    pop.subjects = run.subjects;
    pop.seed = run.seed;
    let base = pop
        .regimens
        .first()
        .cloned()
        .ok_or_else(|| ModelError::invalid(run.origin, "the population file has no regimen"))?;
    pop.regimens = run
        .doses
        .iter()
        .map(|d| {
            let mut r = base.clone();
            r.dose = *d;
            r.name = format!("{d:?} daily");
            r
        })
        .collect();
    let day = format!("crp_day_{}", run.crp_day);
    let k = pop
        .figure_names()
        .iter()
        .position(|n| *n == day)
        .ok_or_else(|| {
            ModelError::invalid(
                run.origin,
                format!("crp_days must include day {}", run.crp_day),
            )
        })?;
    let outcomes: Vec<_> = (0..pop.subjects)
        .into_par_iter()
        .map(|id| simulate_subject(model, &pop, id, SolverOptions::default()))
        .collect();
    let mut crp: DoseCrp = vec![Vec::with_capacity(outcomes.len()); pop.regimens.len()];
    for o in &outcomes {
        for (ri, r) in o.regimens.iter().enumerate() {
            let r = r
                .as_ref()
                .map_err(|m| ModelError::invalid(run.origin, m.clone()))?;
            crp[ri].push(r.figures[k]);
        }
    }
    let crp = Arc::new(crp);
    POPULATION_RUNS
        .lock()
        .map_err(|_| poisoned())?
        .insert(key, crp.clone());
    Ok(crp)
}

/// CRP on day 90 of every subject of the NOMID population at every dose of
/// [`NOMID_DOSES_MG_PER_KG`].
pub fn nomid_population_crp_day90(model: &Model) -> Result<Arc<DoseCrp>, SimError> {
    population_crp(model, &NOMID_POPULATION)
}

/// The share of the MWS population in remission at day 90 on 100 mg/day: CRP and SAA both
/// normal (Kuemmerle-Deschner 2013's laboratory part of remission), CRP < 5 mg/L and SAA
/// < 10 mg/L. The population layer reports CRP only; SAA and CRP share one IL-6 drive, so at
/// steady state SAA < 10 mg/L is CRP < 10 x (CRP/SAA of the untreated typical MWS adult).
pub(super) fn mws_remission_share(model: &Model) -> Result<f64, SimError> {
    let s = crate::solve::subject::Subject::new(
        model,
        &super::protocols::adult("mws", 100.0),
        &[],
        SolverOptions::default(),
    )?;
    let o = s.observe(&s.baseline);
    let id = |n: &str| {
        model
            .observable_id(n)
            .ok_or_else(|| ModelError::invalid("model", format!("no observable '{n}'")))
    };
    let crp_per_saa = o[id("crp")?] / o[id("saa")?];
    let limit = CRP_NORMAL_MG_L.min(SAA_NORMAL_MG_L * crp_per_saa);
    let crp = population_crp(model, &MWS_POPULATION)?;
    Ok(crp[0].iter().filter(|&&c| c < limit).count() as f64 / crp[0].len().max(1) as f64)
}

/// Upper limits of normal: CRP < 5 mg/L and SAA < 10 mg/L, the laboratory criteria of
/// remission in Kuemmerle-Deschner JB et al. 2013 Arthritis Res Ther 15:R64 (MWS-DAS <= 5 with
/// normal CRP and SAA; the usual laboratory limits, assumption: the study's are not retrieved).
const CRP_NORMAL_MG_L: f64 = 5.0;
const SAA_NORMAL_MG_L: f64 = 10.0;

/// The median (mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// The share of subjects with CRP below [`RESPONSE_CRP_MG_L`].
pub fn responder_share(crp: &[f64]) -> f64 {
    crp.iter().filter(|&&c| c < RESPONSE_CRP_MG_L).count() as f64 / crp.len().max(1) as f64
}

/// The `lo` and `hi` quantiles of the median of `n` values drawn with replacement from
/// `values`, over `draws` resamples: how far the median of a study of `n` patients drawn from
/// the simulated population may fall from the population's (the basis of a tolerance).
pub fn resampled_median_interval(
    values: &[f64],
    n: usize,
    draws: usize,
    seed: u64,
    (lo, hi): (f64, f64),
) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut medians: Vec<f64> = (0..draws)
        .map(|_| {
            let sample: Vec<f64> = (0..n)
                .map(|_| values[rng.random_range(0..values.len())])
                .collect();
            median(&sample)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    let q = |p: f64| medians[((p * (draws - 1) as f64).round() as usize).min(draws - 1)];
    (q(lo), q(hi))
}

/// Index of a dose in [`NOMID_DOSES_MG_PER_KG`].
fn dose_index(mg_per_kg: f64) -> usize {
    NOMID_DOSES_MG_PER_KG
        .iter()
        .position(|&d| d == mg_per_kg)
        .expect("a dose of NOMID_DOSES_MG_PER_KG")
}

/// Median CRP on day 90 at `mg_per_kg` (mg/L).
pub(super) fn median_crp_day90(model: &Model, mg_per_kg: f64) -> Result<f64, SimError> {
    Ok(median(
        &nomid_population_crp_day90(model)?[dose_index(mg_per_kg)],
    ))
}

/// The share not reaching CRP < 10 mg/L by day 90 at `mg_per_kg`: those who need more.
pub(super) fn share_not_responding(model: &Model, mg_per_kg: f64) -> Result<f64, SimError> {
    Ok(1.0 - responder_share(&nomid_population_crp_day90(model)?[dose_index(mg_per_kg)]))
}

/// The smallest rise of the responder share from one dose to the next (1 → 2, 2 → 4
/// mg/kg/day): > 0 when the share rises strictly with dose.
pub(super) fn smallest_responder_rise(model: &Model) -> Result<f64, SimError> {
    let crp = nomid_population_crp_day90(model)?;
    let shares: Vec<f64> = crp.iter().map(|c| responder_share(c)).collect();
    Ok(shares
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_share() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(responder_share(&[1.0, 9.9, 10.0, 20.0]), 0.5);
    }

    #[test]
    fn resampled_median_of_a_constant_is_that_constant() {
        assert_eq!(
            resampled_median_interval(&[2.0; 10], 18, 100, 1, (0.025, 0.975)),
            (2.0, 2.0)
        );
        let v: Vec<f64> = (0..200).map(f64::from).collect();
        let (lo, hi) = resampled_median_interval(&v, 18, 2000, 1, (0.025, 0.975));
        assert!(
            lo < 99.5 && hi > 99.5 && lo > 40.0 && hi < 160.0,
            "{lo} {hi}"
        );
    }
}
