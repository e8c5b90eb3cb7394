//! Virtual populations: covariates sampled from declared distributions (with correlations,
//! through a Gaussian copula) or taken from a table, log-normal inter-individual variability
//! with a checked variance–covariance matrix, residual error, per-subject figures, and
//! mergeable aggregates (percentile bands from fixed histograms, target-attainment counts).
//!
//! Reproducibility: subject `i` draws everything from its own ChaCha8 stream seeded from
//! (run seed, i), so results do not depend on thread count or sharding; aggregates are
//! integer counts, so merging shards in any order gives identical bytes.

use crate::dosing::{Regimen, HOURS_PER_DAY};
use crate::error::SimError;
use crate::metrics::summarise_with_days;
use crate::model::{Model, ObservableKind, ParamId};
use crate::patient::{Patient, Sex};
use crate::scenario::{parse_file, ScenarioError};
use crate::solve::{SolverOptions, Subject};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Deserialize;
use std::collections::BTreeMap;

// ------------------------------------------------------------------ file format

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpecFile {
    pub subjects: u64,
    pub seed: u64,
    pub disease: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_band_interval")]
    pub band_interval_h: f64,
    #[serde(default = "default_crp_days")]
    pub crp_days: Vec<u32>,
    #[serde(default = "default_band_observables")]
    pub band_observables: Vec<String>,
    #[serde(default)]
    pub full_timecourses: bool,
    pub covariates: CovariateSpec,
    pub variability: Option<VariabilitySpec>,
    #[serde(default)]
    pub residual: Vec<ResidualSpec>,
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
}

fn default_method() -> String {
    "exact".into()
}
fn default_band_interval() -> f64 {
    4.0
}
fn default_crp_days() -> Vec<u32> {
    vec![1, 7, 14, 28]
}
fn default_band_observables() -> Vec<String> {
    [
        "anakinra_plasma",
        "receptor_occupancy_antagonist",
        "il1_signal_relative",
        "il6_plasma",
        "crp",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Covariates: distributions (continuous ones may be correlated) or a table of real
/// patients (`table`, a CSV the front end reads).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CovariateSpec {
    pub table: Option<String>,
    pub weight_kg: Option<Marginal>,
    pub age_y: Option<Marginal>,
    pub serum_creatinine_mg_dl: Option<Marginal>,
    pub crcl_ml_min: Option<Marginal>,
    pub female_fraction: Option<f64>,
    #[serde(default)]
    pub correlations: Vec<Correlation>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Marginal {
    /// `normal` (mean, sd) or `lognormal` (median, cv).
    pub distribution: String,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub median: Option<f64>,
    pub cv: Option<f64>,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    pub a: String,
    pub b: String,
    pub rho: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VariabilitySpec {
    pub parameters: Vec<String>,
    /// Variance–covariance matrix of η (log scale), rows in the order of `parameters`.
    pub omega: Vec<Vec<f64>>,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResidualSpec {
    /// Observable whose simulated measurement gets the error (its unit applies).
    pub observable: String,
    #[serde(default)]
    pub additive: f64,
    #[serde(default)]
    pub proportional: f64,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub name: String,
    /// A per-subject figure (see [`FIGURES`] and `crp_day_<d>`).
    pub figure: String,
    pub at_least: Option<f64>,
    pub below: Option<f64>,
}

// ------------------------------------------------------------------ checked population

/// How a regimen is simulated: `Exact` integrates the whole horizon; `Fast` repeats the
/// periodic orbit once periodic dosing has reached it ([`crate::fast`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulationMethod {
    Exact,
    Fast,
}

impl SimulationMethod {
    pub fn parse(text: &str) -> Option<SimulationMethod> {
        match text {
            "exact" => Some(SimulationMethod::Exact),
            "fast" => Some(SimulationMethod::Fast),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            SimulationMethod::Exact => "exact",
            SimulationMethod::Fast => "fast",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarginalKind {
    Normal { mean: f64, sd: f64 },
    LogNormal { median: f64, sigma: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckedMarginal {
    pub kind: MarginalKind,
    pub min: f64,
    pub max: f64,
}

impl CheckedMarginal {
    fn value(&self, z: f64) -> f64 {
        match self.kind {
            MarginalKind::Normal { mean, sd } => mean + sd * z,
            MarginalKind::LogNormal { median, sigma } => median * (sigma * z).exp(),
        }
    }
}

/// Continuous covariates the sampler knows, in copula order.
pub const CONTINUOUS: [&str; 4] = [
    "weight_kg",
    "age_y",
    "serum_creatinine_mg_dl",
    "crcl_ml_min",
];

/// One row of a covariate table.
#[derive(Debug, Clone, PartialEq)]
pub struct CovariateRow {
    pub weight_kg: f64,
    pub age_y: f64,
    pub female: bool,
    pub crcl_ml_min: f64,
    pub serum_creatinine_mg_dl: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Covariates {
    Sampled {
        /// Marginals of the continuous covariates present (indices into [`CONTINUOUS`]).
        marginals: Vec<(usize, CheckedMarginal)>,
        /// Cholesky factor of their correlation matrix.
        chol: DMatrix<f64>,
        female_fraction: f64,
    },
    /// Rows cycle through the subjects (subject i gets row i mod n).
    Table(Vec<CovariateRow>),
}

#[derive(Debug, Clone)]
pub struct Variability {
    pub parameters: Vec<(String, ParamId)>,
    pub chol: DMatrix<f64>,
}

#[derive(Debug, Clone)]
pub struct PopulationScenario {
    pub name: String,
    pub description: String,
    pub duration_h: f64,
    pub regimens: Vec<Regimen>,
    pub subjects: u64,
    pub seed: u64,
    pub disease: String,
    pub method: SimulationMethod,
    pub band_times_h: Vec<f64>,
    pub band_observables: Vec<usize>,
    pub crp_days: Vec<u32>,
    pub full_timecourses: bool,
    pub covariates: Covariates,
    /// Path of the covariate table named in the file, for the front end to read.
    pub covariate_table: Option<String>,
    pub variability: Option<Variability>,
    pub residual: Vec<(usize, ResidualSpec)>,
    pub targets: Vec<(TargetSpec, usize)>,
}

/// Per-subject figures reported for every regimen, in this order, then `crp_day_<d>`.
pub const FIGURES: [(&str, &str); 9] = [
    ("cmax", "ng/mL"),
    ("tmax", "h"),
    ("trough", "ng/mL"),
    ("auc_tau", "ng·h/mL"),
    ("c_average", "ng/mL"),
    ("occupancy_antagonist_trough", "fraction"),
    ("il1_signal_relative_trough", "ratio"),
    ("crp_untreated", "mg/L"),
    ("crp_end", "mg/L"),
];

/// Names of the per-subject figures: the fixed part, then CRP on each report day.
fn figure_names(crp_days: &[u32]) -> Vec<String> {
    let mut v: Vec<String> = FIGURES.iter().map(|(n, _)| n.to_string()).collect();
    v.extend(crp_days.iter().map(|d| format!("crp_day_{d}")));
    v
}

impl PopulationScenario {
    /// Names of the per-subject figures (fixed part, then CRP days).
    pub fn figure_names(&self) -> Vec<String> {
        figure_names(&self.crp_days)
    }
    pub fn figure_units(&self) -> Vec<String> {
        let mut v: Vec<String> = FIGURES.iter().map(|(_, u)| u.to_string()).collect();
        v.extend(self.crp_days.iter().map(|_| "mg/L".to_string()));
        v
    }
}

fn perr(origin: &str, line: usize, key: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        origin: origin.into(),
        line: Some(line),
        key: key.into(),
        message: message.into(),
    }
}

/// Cholesky factor of a symmetric matrix; on failure, the 0-based leading minor that is not
/// positive.
pub fn cholesky_checked(m: &DMatrix<f64>) -> Result<DMatrix<f64>, usize> {
    let n = m.nrows();
    let mut l = DMatrix::<f64>::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let mut sum = m[(i, j)];
            for k in 0..j {
                sum -= l[(i, k)] * l[(j, k)];
            }
            if i == j {
                if sum <= 0.0 || !sum.is_finite() {
                    return Err(i);
                }
                l[(i, i)] = sum.sqrt();
            } else {
                l[(i, j)] = sum / l[(j, j)];
            }
        }
    }
    Ok(l)
}

/// Parse and check a population file (`[scenario]`, `[population]`, `[[regimens]]`).
pub fn parse_population(
    text: &str,
    origin: &str,
    model: &Model,
) -> Result<PopulationScenario, ScenarioError> {
    let f = parse_file(text, origin, model)?;
    if f.patient.is_some() {
        return Err(ScenarioError {
            origin: origin.into(),
            line: None,
            key: "patient".into(),
            message: "a population file has [population] instead of [patient]".into(),
        });
    }
    let (p, line) = f.population.ok_or_else(|| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "population".into(),
        message: "a [population] table is needed".into(),
    })?;
    let e = |key: &str, msg: String| perr(origin, line, &format!("population.{key}"), msg);
    if p.subjects == 0 || p.subjects > 100_000_000 {
        return Err(e(
            "subjects",
            format!("{} is not allowed; 1 to 100,000,000", p.subjects),
        ));
    }
    if !model.diseases.contains_key(&p.disease) {
        return Err(e(
            "disease",
            format!(
                "'{}' is not allowed; allowed: {}",
                p.disease,
                model.disease_names().join(", ")
            ),
        ));
    }
    let method = SimulationMethod::parse(&p.method).ok_or_else(|| {
        e(
            "method",
            format!("'{}' is not allowed; allowed: exact, fast", p.method),
        )
    })?;
    if !(p.band_interval_h.is_finite() && p.band_interval_h > 0.0) {
        return Err(e(
            "band_interval_h",
            format!("{} h is not allowed; must be > 0", p.band_interval_h),
        ));
    }
    let n = (f.duration_h / p.band_interval_h).floor() as usize;
    let band_times_h: Vec<f64> = (0..=n).map(|k| k as f64 * p.band_interval_h).collect();
    let mut band_observables = Vec::new();
    for name in &p.band_observables {
        let i = model.observable_id(name).ok_or_else(|| {
            let all: Vec<&str> = model.observables.iter().map(|o| o.name.as_str()).collect();
            e(
                "band_observables",
                format!("'{name}' is not an observable; allowed: {}", all.join(", ")),
            )
        })?;
        band_observables.push(i);
    }
    for &d in &p.crp_days {
        if d == 0 || d as f64 * HOURS_PER_DAY > f.duration_h {
            return Err(e(
                "crp_days",
                format!(
                    "day {d} is not allowed; days from 1 to the duration ({} days)",
                    f.duration_h / HOURS_PER_DAY
                ),
            ));
        }
    }
    // Covariates.
    let c = &p.covariates;
    let covariates = if c.table.is_some() {
        if c.weight_kg.is_some()
            || c.age_y.is_some()
            || c.serum_creatinine_mg_dl.is_some()
            || c.crcl_ml_min.is_some()
        {
            return Err(e(
                "covariates",
                "give a table or distributions, not both".into(),
            ));
        }
        Covariates::Table(vec![])
    } else {
        let given: [Option<&Marginal>; 4] = [
            c.weight_kg.as_ref(),
            c.age_y.as_ref(),
            c.serum_creatinine_mg_dl.as_ref(),
            c.crcl_ml_min.as_ref(),
        ];
        for (k, name) in [(0, "weight_kg"), (1, "age_y")] {
            if given[k].is_none() {
                return Err(e(
                    &format!("covariates.{name}"),
                    "missing; weight and age distributions are required".into(),
                ));
            }
        }
        match (given[2], given[3]) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(e(
                    "covariates",
                    "give exactly one of serum_creatinine_mg_dl (Cockcroft–Gault) and crcl_ml_min"
                        .into(),
                ))
            }
            _ => {}
        }
        let mut marginals = Vec::new();
        for (k, m) in given.iter().enumerate() {
            let Some(m) = m else { continue };
            let key = format!("covariates.{}", CONTINUOUS[k]);
            let kind = match (m.distribution.as_str(), m.mean, m.sd, m.median, m.cv) {
                ("normal", Some(mean), Some(sd), None, None) if sd > 0.0 && mean.is_finite() => MarginalKind::Normal { mean, sd },
                ("lognormal", None, None, Some(median), Some(cv)) if median > 0.0 && cv > 0.0 => MarginalKind::LogNormal { median, sigma: (1.0 + cv * cv).ln().sqrt() },
                _ => return Err(e(&key, format!("'{}' with these fields is not allowed; allowed: distribution = \"normal\" with mean and sd > 0, or \"lognormal\" with median > 0 and cv > 0", m.distribution))),
            };
            if m.min >= m.max || m.min < 0.0 || m.min.is_nan() || m.max.is_nan() {
                return Err(e(
                    &key,
                    format!(
                        "min {} and max {} are not allowed; 0 <= min < max",
                        m.min, m.max
                    ),
                ));
            }
            marginals.push((
                k,
                CheckedMarginal {
                    kind,
                    min: m.min,
                    max: m.max,
                },
            ));
        }
        let dim = marginals.len();
        let mut r = DMatrix::<f64>::identity(dim, dim);
        for cor in &c.correlations {
            let pos = |name: &str| marginals.iter().position(|(k, _)| CONTINUOUS[*k] == name);
            let (Some(i), Some(j)) = (pos(&cor.a), pos(&cor.b)) else {
                return Err(e(
                    "covariates.correlations",
                    format!(
                        "'{}' with '{}': both must be sampled continuous covariates ({})",
                        cor.a,
                        cor.b,
                        CONTINUOUS.join(", ")
                    ),
                ));
            };
            if i == j || !(cor.rho > -1.0 && cor.rho < 1.0) {
                return Err(e("covariates.correlations", format!("rho {} between '{}' and '{}' is not allowed; -1 < rho < 1 between different covariates", cor.rho, cor.a, cor.b)));
            }
            r[(i, j)] = cor.rho;
            r[(j, i)] = cor.rho;
        }
        let chol = cholesky_checked(&r).map_err(|k| {
            e(
                "covariates.correlations",
                format!(
                    "the correlation matrix is not positive definite (fails at '{}')",
                    CONTINUOUS[marginals[k].0]
                ),
            )
        })?;
        let female_fraction = c.female_fraction.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&female_fraction) {
            return Err(e(
                "covariates.female_fraction",
                format!("{female_fraction} is not allowed; 0 to 1"),
            ));
        }
        Covariates::Sampled {
            marginals,
            chol,
            female_fraction,
        }
    };
    // Inter-individual variability.
    let variability = match &p.variability {
        None => None,
        Some(v) => {
            let n = v.parameters.len();
            let mut parameters = Vec::new();
            for name in &v.parameters {
                let id = model.parameter_id(name).ok_or_else(|| {
                    e(
                        "variability.parameters",
                        format!("'{name}' is not a parameter of model '{}'", model.name),
                    )
                })?;
                parameters.push((name.clone(), id));
            }
            if v.omega.len() != n || v.omega.iter().any(|r| r.len() != n) {
                return Err(e(
                    "variability.omega",
                    format!("must be a {n} x {n} matrix (one row and column per parameter)"),
                ));
            }
            let m = DMatrix::from_fn(n, n, |i, j| v.omega[i][j]);
            for i in 0..n {
                for j in 0..i {
                    if (m[(i, j)] - m[(j, i)]).abs() > 1e-12 * (1.0 + m[(i, j)].abs()) {
                        return Err(e(
                            "variability.omega",
                            format!(
                                "not symmetric: entry ({}, {}) = {} but ({}, {}) = {} ({} / {})",
                                i + 1,
                                j + 1,
                                m[(i, j)],
                                j + 1,
                                i + 1,
                                m[(j, i)],
                                v.parameters[i],
                                v.parameters[j]
                            ),
                        ));
                    }
                }
            }
            let chol = cholesky_checked(&m).map_err(|k| {
                e("variability.omega", format!("not positive definite: the leading {}x{} block fails at the diagonal entry of '{}' (omega[{}][{}] = {}); variances must be > 0 and correlations within (-1, 1)", k + 1, k + 1, v.parameters[k], k + 1, k + 1, m[(k, k)]))
            })?;
            Some(Variability { parameters, chol })
        }
    };
    let mut residual = Vec::new();
    for r in &p.residual {
        let i = model.observable_id(&r.observable).ok_or_else(|| {
            e(
                "residual.observable",
                format!("'{}' is not an observable", r.observable),
            )
        })?;
        if !(r.additive >= 0.0 && r.proportional >= 0.0) || r.additive + r.proportional == 0.0 {
            return Err(e(
                "residual",
                format!(
                    "additive {} and proportional {}: both >= 0, not both 0",
                    r.additive, r.proportional
                ),
            ));
        }
        // The error is applied to the simulated trough, which is the drug's plasma
        // concentration in ng/mL: the observable must be exactly that.
        let is_drug_conc = match model.observables[i].kind {
            ObservableKind::Concentration { species, .. } => model
                .drugs
                .iter()
                .any(|d| d.concentration_species == species),
            _ => false,
        };
        if !is_drug_conc || model.observables[i].unit != "ng/mL" {
            return Err(e(
                "residual.observable",
                format!("'{}' is not allowed; residual error applies to the trough of a drug's plasma concentration observable in ng/mL (here: anakinra_plasma)", r.observable),
            ));
        }
        residual.push((i, r.clone()));
    }
    let mut targets = Vec::new();
    let names = figure_names(&p.crp_days);
    for t in &p.targets {
        let i = names.iter().position(|n| n == &t.figure).ok_or_else(|| {
            e(
                "targets.figure",
                format!(
                    "'{}' is not a per-subject figure; allowed: {}",
                    t.figure,
                    names.join(", ")
                ),
            )
        })?;
        if t.at_least.is_some() == t.below.is_some() {
            return Err(e(
                "targets",
                format!(
                    "target '{}': give exactly one of at_least and below",
                    t.name
                ),
            ));
        }
        targets.push((t.clone(), i));
    }
    Ok(PopulationScenario {
        name: f.name,
        description: f.description,
        duration_h: f.duration_h,
        regimens: f.regimens,
        subjects: p.subjects,
        seed: p.seed,
        disease: p.disease.clone(),
        method,
        band_times_h,
        band_observables,
        crp_days: p.crp_days.clone(),
        full_timecourses: p.full_timecourses,
        covariates,
        covariate_table: p.covariates.table.clone(),
        variability,
        residual,
        targets,
    })
}

// ------------------------------------------------------------------ sampling

/// SplitMix64 finaliser: decorrelates nearby seeds.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The random stream of one subject: a function of (run seed, subject id) only.
pub fn subject_rng(seed: u64, id: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(splitmix(seed ^ splitmix(id)))
}

/// Cockcroft–Gault creatinine clearance (mL/min): (140 − age) · weight / (72 · SCr), × 0.85
/// in women (Cockcroft DW, Gault MH 1976 Nephron 16:31).
pub fn cockcroft_gault(age_y: f64, weight_kg: f64, scr_mg_dl: f64, female: bool) -> f64 {
    let c = (140.0 - age_y).max(0.0) * weight_kg / (72.0 * scr_mg_dl);
    if female {
        0.85 * c
    } else {
        c
    }
}

/// Draws for one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectDraw {
    pub id: u64,
    pub patient: Patient,
    pub serum_creatinine_mg_dl: Option<f64>,
    /// exp(η) per variability parameter.
    pub multipliers: Vec<(ParamId, f64)>,
    /// Standard normal draws for residual errors (two per residual spec and regimen).
    pub epsilon: Vec<f64>,
}

/// Largest number of redraws for truncated covariates before giving up on a subject.
const MAX_REDRAWS: usize = 1000;

pub fn draw_subject(pop: &PopulationScenario, id: u64) -> Result<SubjectDraw, String> {
    let mut rng = subject_rng(pop.seed, id);
    let (patient, scr) = match &pop.covariates {
        Covariates::Table(rows) => {
            if rows.is_empty() {
                return Err("the covariate table has no rows".into());
            }
            let r = &rows[(id % rows.len() as u64) as usize];
            (
                Patient {
                    weight_kg: r.weight_kg,
                    age_y: r.age_y,
                    sex: if r.female { Sex::Female } else { Sex::Male },
                    crcl_ml_min: r.crcl_ml_min,
                    disease: pop.disease.clone(),
                },
                r.serum_creatinine_mg_dl,
            )
        }
        Covariates::Sampled {
            marginals,
            chol,
            female_fraction,
        } => {
            let female = rng.random::<f64>() < *female_fraction;
            let dim = marginals.len();
            let mut values = [f64::NAN; 4];
            let mut ok = false;
            for _ in 0..MAX_REDRAWS {
                let z: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect();
                let mut inside = true;
                for (i, (k, m)) in marginals.iter().enumerate() {
                    let zi: f64 = (0..=i).map(|j| chol[(i, j)] * z[j]).sum();
                    let v = m.value(zi);
                    inside &= v >= m.min && v <= m.max;
                    values[*k] = v;
                }
                if inside {
                    ok = true;
                    break;
                }
            }
            if !ok {
                return Err(format!(
                    "no covariate draw inside the limits after {MAX_REDRAWS} tries"
                ));
            }
            let (weight, age) = (values[0], values[1]);
            let (crcl, scr) = if values[2].is_finite() {
                (
                    cockcroft_gault(age, weight, values[2], female),
                    Some(values[2]),
                )
            } else {
                (values[3], None)
            };
            let crcl = crcl.min(crate::patient::CRCL_RANGE_ML_MIN.1);
            (
                Patient {
                    weight_kg: weight,
                    age_y: age,
                    sex: if female { Sex::Female } else { Sex::Male },
                    crcl_ml_min: crcl,
                    disease: pop.disease.clone(),
                },
                scr,
            )
        }
    };
    let multipliers = match &pop.variability {
        None => vec![],
        Some(v) => {
            let n = v.parameters.len();
            let z: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
            (0..n)
                .map(|i| {
                    (
                        v.parameters[i].1,
                        ((0..=i).map(|j| v.chol[(i, j)] * z[j]).sum::<f64>()).exp(),
                    )
                })
                .collect()
        }
    };
    let epsilon = (0..2 * pop.residual.len() * pop.regimens.len())
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    Ok(SubjectDraw {
        id,
        patient,
        serum_creatinine_mg_dl: scr,
        multipliers,
        epsilon,
    })
}

// ------------------------------------------------------------------ one subject

/// What one subject contributes for one regimen.
#[derive(Debug, Clone, PartialEq)]
pub struct RegimenOutcome {
    /// Values of [`PopulationScenario::figure_names`].
    pub figures: Vec<f64>,
    /// Simulated measured trough per residual spec (observable unit).
    pub observed_trough: Vec<f64>,
    /// band observable × band time.
    pub bands: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubjectOutcome {
    pub draw: SubjectDraw,
    /// One per regimen: the outcome or why the solve failed.
    pub regimens: Vec<Result<RegimenOutcome, String>>,
}

pub fn simulate_subject(
    model: &Model,
    pop: &PopulationScenario,
    id: u64,
    options: SolverOptions,
) -> SubjectOutcome {
    let draw = match draw_subject(pop, id) {
        Ok(d) => d,
        Err(m) => {
            let draw = SubjectDraw {
                id,
                patient: Patient::adult(&pop.disease),
                serum_creatinine_mg_dl: None,
                multipliers: vec![],
                epsilon: vec![],
            };
            return SubjectOutcome {
                draw,
                regimens: vec![Err(format!("subject {id}: {m}")); pop.regimens.len()],
            };
        }
    };
    let subject =
        match Subject::with_variability(model, &draw.patient, &[], &draw.multipliers, options) {
            Ok(s) => s,
            Err(e) => {
                let m = format!("subject {id}: {e}");
                return SubjectOutcome {
                    draw,
                    regimens: vec![Err(m); pop.regimens.len()],
                };
            }
        };
    let regimens = pop
        .regimens
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            regimen_outcome(&subject, pop, r, ri, &draw)
                .map_err(|e| format!("subject {id}, regimen '{}': {e}", r.name))
        })
        .collect();
    SubjectOutcome { draw, regimens }
}

fn regimen_outcome(
    subject: &Subject,
    pop: &PopulationScenario,
    r: &Regimen,
    ri: usize,
    draw: &SubjectDraw,
) -> Result<RegimenOutcome, SimError> {
    let (traj, summary) = match pop.method {
        SimulationMethod::Exact => {
            summarise_with_days(subject, r, pop.duration_h, &pop.band_times_h, &pop.crp_days)?
        }
        SimulationMethod::Fast => {
            crate::fast::summarise(subject, r, pop.duration_h, &pop.band_times_h, &pop.crp_days)?
        }
    };
    let figures: Vec<f64> = pop
        .figure_names()
        .iter()
        .map(|n| summary.get(n).unwrap_or(f64::NAN))
        .collect();
    let mut bands = vec![Vec::with_capacity(traj.states.len()); pop.band_observables.len()];
    for y in &traj.states {
        let obs = subject.observe(y);
        for (k, &o) in pop.band_observables.iter().enumerate() {
            bands[k].push(obs[o]);
        }
    }
    // Residual error on the simulated trough (drug plasma concentration): y(1 + b ε1) + a ε2.
    let observed_trough = pop
        .residual
        .iter()
        .enumerate()
        .map(|(k, (_, spec))| {
            let y = summary.get("trough").unwrap_or(f64::NAN);
            let base = 2 * (ri * pop.residual.len() + k);
            y * (1.0 + spec.proportional * draw.epsilon[base])
                + spec.additive * draw.epsilon[base + 1]
        })
        .collect();
    Ok(RegimenOutcome {
        figures,
        observed_trough,
        bands,
    })
}

// ------------------------------------------------------------------ aggregates

/// Histogram layout: log-spaced bins over 1e-9..1e9 for concentrations and ratios,
/// linear bins over [0, 1] for fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binning {
    Log,
    Fraction,
}

pub const LOG_LO: f64 = -9.0;
pub const LOG_BINS_PER_DECADE: usize = 200;
pub const LOG_BINS: usize = 18 * LOG_BINS_PER_DECADE;
pub const FRACTION_BINS: usize = 10_000;

impl Binning {
    pub fn bins(&self) -> usize {
        match self {
            Binning::Log => LOG_BINS + 1,
            Binning::Fraction => FRACTION_BINS,
        }
    }
    /// Bin of a value; log bin 0 holds zero and negatives.
    fn bin(&self, v: f64) -> usize {
        match self {
            Binning::Log => {
                // Below the histogram's range (1e-9 of the unit) counts as zero.
                if v < 10f64.powf(LOG_LO) {
                    0
                } else {
                    let b = ((v.log10() - LOG_LO) * LOG_BINS_PER_DECADE as f64).floor();
                    1 + (b.max(0.0) as usize).min(LOG_BINS - 1)
                }
            }
            Binning::Fraction => {
                ((v.clamp(0.0, 1.0) * FRACTION_BINS as f64).floor() as usize).min(FRACTION_BINS - 1)
            }
        }
    }
    /// Value at position `x` in [0, 1] within bin `b` (linear in the bin's scale).
    fn value(&self, b: usize, x: f64) -> f64 {
        match self {
            Binning::Log => {
                if b == 0 {
                    0.0
                } else {
                    10f64.powf(LOG_LO + ((b - 1) as f64 + x) / LOG_BINS_PER_DECADE as f64)
                }
            }
            Binning::Fraction => (b as f64 + x) / FRACTION_BINS as f64,
        }
    }
}

/// Stratum labels for target attainment.
pub const RENAL_STRATA: [&str; 5] = [
    "CrCl >= 90",
    "CrCl 60-89",
    "CrCl 30-59",
    "CrCl 15-29",
    "CrCl < 15",
];
pub const WEIGHT_STRATA: [&str; 5] = [
    "weight < 20 kg",
    "weight 20-49 kg",
    "weight 50-69 kg",
    "weight 70-89 kg",
    "weight >= 90 kg",
];
pub const AGE_STRATA: [&str; 5] = [
    "age < 2 y",
    "age 2-11 y",
    "age 12-17 y",
    "age 18-64 y",
    "age >= 65 y",
];

fn strata(p: &Patient) -> [usize; 3] {
    let c = p.crcl_ml_min;
    let renal = if c >= 90.0 {
        0
    } else if c >= 60.0 {
        1
    } else if c >= 30.0 {
        2
    } else if c >= 15.0 {
        3
    } else {
        4
    };
    let w = p.weight_kg;
    let weight = if w < 20.0 {
        0
    } else if w < 50.0 {
        1
    } else if w < 70.0 {
        2
    } else if w < 90.0 {
        3
    } else {
        4
    };
    let a = p.age_y;
    let age = if a < 2.0 {
        0
    } else if a < 12.0 {
        1
    } else if a < 18.0 {
        2
    } else if a < 65.0 {
        3
    } else {
        4
    };
    [renal, 5 + weight, 10 + age]
}

/// Groups counted per target: overall, then 5 renal, 5 weight, 5 age strata.
pub const GROUPS: usize = 16;

/// Mergeable summaries of many subjects: integer counts only.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    pub regimens: usize,
    pub observables: Vec<Binning>,
    pub times: usize,
    pub targets: usize,
    /// `[regimen][observable][time]` → counts per bin.
    pub histograms: Vec<u32>,
    /// `[regimen][target][group]` → (attained, evaluated).
    pub attainment: Vec<(u64, u64)>,
    /// Subjects simulated and failed, per regimen.
    pub simulated: Vec<u64>,
    pub failed: Vec<u64>,
}

impl Aggregates {
    pub fn new(model: &Model, pop: &PopulationScenario) -> Aggregates {
        let observables: Vec<Binning> = pop
            .band_observables
            .iter()
            .map(|&o| {
                if model.observables[o].unit == "fraction" {
                    Binning::Fraction
                } else {
                    Binning::Log
                }
            })
            .collect();
        let bins: usize = observables.iter().map(|b| b.bins()).sum();
        let r = pop.regimens.len();
        Aggregates {
            regimens: r,
            times: pop.band_times_h.len(),
            targets: pop.targets.len(),
            histograms: vec![0; r * bins * pop.band_times_h.len()],
            attainment: vec![(0, 0); r * pop.targets.len() * GROUPS],
            simulated: vec![0; r],
            failed: vec![0; r],
            observables,
        }
    }

    /// Bytes the aggregates occupy (for the memory estimate).
    pub fn bytes(&self) -> usize {
        self.histograms.len() * 4 + self.attainment.len() * 16
    }

    fn hist_offset(&self, regimen: usize, obs: usize, time: usize) -> usize {
        let per_time: usize = self.observables.iter().map(|b| b.bins()).sum();
        let before: usize = self.observables[..obs].iter().map(|b| b.bins()).sum();
        regimen * per_time * self.times + time * per_time + before
    }

    pub fn add(&mut self, pop: &PopulationScenario, s: &SubjectOutcome) {
        let groups = strata(&s.draw.patient);
        for (r, out) in s.regimens.iter().enumerate() {
            self.simulated[r] += 1;
            let Ok(out) = out else {
                self.failed[r] += 1;
                continue;
            };
            for (k, series) in out.bands.iter().enumerate() {
                for (t, &v) in series.iter().enumerate() {
                    if v.is_finite() {
                        let off = self.hist_offset(r, k, t) + self.observables[k].bin(v);
                        self.histograms[off] += 1;
                    }
                }
            }
            for (ti, (spec, fi)) in pop.targets.iter().enumerate() {
                let v = out.figures[*fi];
                if !v.is_finite() {
                    continue;
                }
                let hit = match (spec.at_least, spec.below) {
                    (Some(x), _) => v >= x,
                    (_, Some(x)) => v < x,
                    _ => false,
                };
                for g in [0, 1 + groups[0], 1 + groups[1], 1 + groups[2]] {
                    let e = &mut self.attainment[(r * self.targets + ti) * GROUPS + g];
                    e.0 += hit as u64;
                    e.1 += 1;
                }
            }
        }
    }

    /// Add another set of aggregates (another shard or chunk) of the same population.
    pub fn merge(&mut self, other: &Aggregates) -> Result<(), String> {
        if self.histograms.len() != other.histograms.len()
            || self.attainment.len() != other.attainment.len()
            || self.regimens != other.regimens
        {
            return Err("aggregates come from different population files (shapes differ)".into());
        }
        for (a, b) in self.histograms.iter_mut().zip(&other.histograms) {
            *a += b;
        }
        for (a, b) in self.attainment.iter_mut().zip(&other.attainment) {
            a.0 += b.0;
            a.1 += b.1;
        }
        for r in 0..self.regimens {
            self.simulated[r] += other.simulated[r];
            self.failed[r] += other.failed[r];
        }
        Ok(())
    }

    /// Percentiles (fractions in [0, 1]) of one observable at one time, from its histogram.
    pub fn percentiles(&self, regimen: usize, obs: usize, time: usize, ps: &[f64]) -> Vec<f64> {
        let b = self.observables[obs];
        let off = self.hist_offset(regimen, obs, time);
        let counts = &self.histograms[off..off + b.bins()];
        let total: u64 = counts.iter().map(|&c| c as u64).sum();
        if total == 0 {
            return vec![f64::NAN; ps.len()];
        }
        ps.iter()
            .map(|&p| {
                let target = p * total as f64;
                let mut cum = 0.0;
                for (i, &c) in counts.iter().enumerate() {
                    let next = cum + c as f64;
                    if c > 0 && next >= target {
                        let x = if c == 0 {
                            0.0
                        } else {
                            ((target - cum) / c as f64).clamp(0.0, 1.0)
                        };
                        return b.value(i, x);
                    }
                    cum = next;
                }
                b.value(counts.len() - 1, 1.0)
            })
            .collect()
    }

    /// Serialise (little-endian; a short header of dimensions) for shard files.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(64 + self.histograms.len() * 4 + self.attainment.len() * 16);
        out.extend_from_slice(b"IL1AGG01");
        for v in [
            self.regimens,
            self.observables.len(),
            self.times,
            self.targets,
            self.histograms.len(),
            self.attainment.len(),
        ] {
            out.extend_from_slice(&(v as u64).to_le_bytes());
        }
        for b in &self.observables {
            out.push(match b {
                Binning::Log => 0,
                Binning::Fraction => 1,
            });
        }
        for r in 0..self.regimens {
            out.extend_from_slice(&self.simulated[r].to_le_bytes());
            out.extend_from_slice(&self.failed[r].to_le_bytes());
        }
        for h in &self.histograms {
            out.extend_from_slice(&h.to_le_bytes());
        }
        for (a, e) in &self.attainment {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&e.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Aggregates, String> {
        let bad = || "not an il1sim aggregates file (truncated or wrong format)".to_string();
        if bytes.len() < 56 || &bytes[..8] != b"IL1AGG01" {
            return Err(bad());
        }
        let mut pos = 8;
        let u64_at = |pos: &mut usize| -> Result<u64, String> {
            let s = bytes.get(*pos..*pos + 8).ok_or_else(bad)?;
            *pos += 8;
            Ok(u64::from_le_bytes(s.try_into().map_err(|_| bad())?))
        };
        let dims: Vec<usize> = (0..6)
            .map(|_| u64_at(&mut pos).map(|v| v as usize))
            .collect::<Result<_, _>>()?;
        let (regimens, n_obs, times, targets, n_hist, n_att) =
            (dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]);
        let observables = bytes
            .get(pos..pos + n_obs)
            .ok_or_else(bad)?
            .iter()
            .map(|b| {
                if *b == 1 {
                    Binning::Fraction
                } else {
                    Binning::Log
                }
            })
            .collect();
        pos += n_obs;
        let mut simulated = vec![];
        let mut failed = vec![];
        for _ in 0..regimens {
            simulated.push(u64_at(&mut pos)?);
            failed.push(u64_at(&mut pos)?);
        }
        let hist_bytes = bytes.get(pos..pos + n_hist * 4).ok_or_else(bad)?;
        let histograms = hist_bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        pos += n_hist * 4;
        let mut attainment = Vec::with_capacity(n_att);
        for _ in 0..n_att {
            let a = u64_at(&mut pos)?;
            let e = u64_at(&mut pos)?;
            attainment.push((a, e));
        }
        if pos != bytes.len() {
            return Err(bad());
        }
        Ok(Aggregates {
            regimens,
            observables,
            times,
            targets,
            histograms,
            attainment,
            simulated,
            failed,
        })
    }

    /// Label of attainment group `g` (see [`GROUPS`]).
    pub fn group_label(g: usize) -> (&'static str, &'static str) {
        match g {
            0 => ("overall", "all"),
            1..=5 => ("renal function", RENAL_STRATA[g - 1]),
            6..=10 => ("weight", WEIGHT_STRATA[g - 6]),
            _ => ("age", AGE_STRATA[g - 11]),
        }
    }

    pub fn attainment_of(&self, regimen: usize, target: usize, group: usize) -> (u64, u64) {
        self.attainment[(regimen * self.targets + target) * GROUPS + group]
    }
}

/// Subject ids of shard `k` (1-based) of `n`: contiguous blocks, so concatenating shards in
/// order gives the subjects in id order.
pub fn shard_range(subjects: u64, k: u64, n: u64) -> std::ops::Range<u64> {
    let lo = subjects * (k - 1) / n;
    let hi = subjects * k / n;
    lo..hi
}

/// The populations shipped with il1sim must run on the bundled model; this helper keeps the
/// covariate-table semantics in one place for front ends that read CSV files.
pub fn covariate_rows_from_records(
    records: &[BTreeMap<String, String>],
    origin: &str,
) -> Result<Vec<CovariateRow>, String> {
    let mut rows = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let line = i + 2;
        let num = |k: &str| -> Result<f64, String> {
            let v = r.get(k).ok_or_else(|| format!("{origin}:{line}: column '{k}' is missing; columns needed: weight_kg, age_y, sex, and crcl_ml_min or serum_creatinine_mg_dl"))?;
            v.trim()
                .parse::<f64>()
                .map_err(|_| format!("{origin}:{line}: {k} = '{v}' is not a number"))
        };
        let weight_kg = num("weight_kg")?;
        let age_y = num("age_y")?;
        let sex = r
            .get("sex")
            .ok_or_else(|| format!("{origin}:{line}: column 'sex' is missing"))?;
        let female = match Sex::parse(sex.trim()) {
            Some(Sex::Female) => true,
            Some(Sex::Male) => false,
            None => {
                return Err(format!(
                    "{origin}:{line}: sex = '{sex}' is not allowed; allowed: female, male"
                ))
            }
        };
        let (crcl_ml_min, scr) = match (r.get("crcl_ml_min"), r.get("serum_creatinine_mg_dl")) {
            (Some(_), _) => (num("crcl_ml_min")?, None),
            (None, Some(_)) => {
                let s = num("serum_creatinine_mg_dl")?;
                if s <= 0.0 {
                    return Err(format!(
                        "{origin}:{line}: serum_creatinine_mg_dl = {s} is not allowed; must be > 0"
                    ));
                }
                (cockcroft_gault(age_y, weight_kg, s, female), Some(s))
            }
            (None, None) => {
                return Err(format!(
                    "{origin}:{line}: give crcl_ml_min or serum_creatinine_mg_dl"
                ))
            }
        };
        rows.push(CovariateRow {
            weight_kg,
            age_y,
            female,
            crcl_ml_min,
            serum_creatinine_mg_dl: scr,
        });
    }
    if rows.is_empty() {
        return Err(format!("{origin}: the covariate table has no rows"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_names_the_failing_block() {
        let ok = DMatrix::from_row_slice(2, 2, &[0.09, 0.03, 0.03, 0.04]);
        assert!(cholesky_checked(&ok).is_ok());
        let bad = DMatrix::from_row_slice(2, 2, &[0.09, 0.1, 0.1, 0.04]);
        assert_eq!(cholesky_checked(&bad).unwrap_err(), 1);
    }

    #[test]
    fn histogram_percentiles_are_close_to_exact() {
        let b = Binning::Log;
        let mut counts = vec![0u32; b.bins()];
        let values: Vec<f64> = (1..=1000).map(|i| i as f64 * 0.37).collect();
        for &v in &values {
            counts[b.bin(v)] += 1;
        }
        let agg = Aggregates {
            regimens: 1,
            observables: vec![b],
            times: 1,
            targets: 0,
            histograms: counts,
            attainment: vec![],
            simulated: vec![1000],
            failed: vec![0],
        };
        let p = agg.percentiles(0, 0, 0, &[0.05, 0.5, 0.95]);
        for (got, want) in p.iter().zip([0.05 * 370.0, 0.5 * 370.0, 0.95 * 370.0]) {
            assert!(((got - want) / want).abs() < 0.012, "{got} vs {want}");
        }
        let back = Aggregates::from_bytes(&agg.to_bytes()).unwrap();
        assert_eq!(back, agg);
    }

    #[test]
    fn shards_cover_all_subjects_once() {
        let n = 1003;
        let mut seen = vec![0; n as usize];
        for k in 1..=7 {
            for i in shard_range(n, k, 7) {
                seen[i as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
    }

    #[test]
    fn cockcroft_gault_reference() {
        // 60-year-old, 72 kg man with SCr 1.0 mg/dL: (140-60)*72/72 = 80 mL/min.
        assert!((cockcroft_gault(60.0, 72.0, 1.0, false) - 80.0).abs() < 1e-12);
        assert!((cockcroft_gault(60.0, 72.0, 1.0, true) - 68.0).abs() < 1e-12);
    }
}
