//! Virtual populations: covariates sampled from declared distributions (with correlations,
//! through a Gaussian copula) or taken from a table, log-normal inter-individual variability
//! with a checked variance–covariance matrix, residual error, per-subject figures, and
//! mergeable aggregates (percentile bands from fixed histograms, target-attainment counts).
//!
//! Reproducibility: subject `i` draws everything from its own ChaCha8 stream seeded from
//! (run seed, i), so results do not depend on thread count or sharding; aggregates are
//! integer counts, so merging shards in any order gives identical bytes.

use crate::dosing::regimen::{Regimen, HOURS_PER_DAY};
use crate::error::SimError;
use crate::metrics::{summarise_fast, summarise_with_days};
use crate::model::definition::{Model, ObservableKind, ParamId};
use crate::model::patient::{Patient, Sex};
use crate::scenario::{line_of, parse_file, ScenarioError};
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

// ------------------------------------------------------------------ file format

// Every value that a check below can refuse is `Spanned`, so that the error names the line of
// the offending key (not the line of the `[population]` header). Integers that must be
// positive are read as `i64` and range-checked here: a `u64` field would make TOML's own
// "expected u64" error, which cannot name the key path.

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpecFile {
    pub subjects: Spanned<i64>,
    pub seed: Spanned<i64>,
    pub disease: Spanned<String>,
    /// `exact` when absent.
    pub method: Option<Spanned<String>>,
    /// 4 h when absent, cut to the duration and widened to fit [`MAX_BAND_TIMES`].
    pub band_interval_h: Option<Spanned<f64>>,
    /// Days 1, 7, 14 and 28 when absent.
    pub crp_days: Option<Vec<Spanned<i64>>>,
    /// [`DEFAULT_BAND_OBSERVABLES`] when absent.
    pub band_observables: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub full_timecourses: bool,
    pub covariates: Spanned<CovariateSpec>,
    pub variability: Option<Spanned<VariabilitySpec>>,
    #[serde(default)]
    pub residual: Vec<Spanned<ResidualFile>>,
    #[serde(default)]
    pub targets: Vec<Spanned<TargetFile>>,
}

const DEFAULT_BAND_INTERVAL_H: f64 = 4.0;
const DEFAULT_CRP_DAYS: [u32; 4] = [1, 7, 14, 28];
pub const DEFAULT_BAND_OBSERVABLES: [&str; 5] = [
    "anakinra_plasma",
    "receptor_occupancy_antagonist",
    "il1_signal_relative",
    "il6_plasma",
    "crp",
];

/// Covariates: distributions (continuous ones may be correlated) or a table of real
/// patients (`table`, a CSV the front end reads).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CovariateSpec {
    pub table: Option<Spanned<String>>,
    pub weight_kg: Option<Spanned<Marginal>>,
    pub age_y: Option<Spanned<Marginal>>,
    pub serum_creatinine_mg_dl: Option<Spanned<Marginal>>,
    pub crcl_ml_min: Option<Spanned<Marginal>>,
    /// Required with distributions (no default: the share of women changes clearance and the
    /// strata, so it must be a stated choice); not allowed with a table, whose rows give sex.
    pub female_fraction: Option<Spanned<f64>>,
    pub correlations: Option<Spanned<Vec<Spanned<Correlation>>>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Marginal {
    /// `normal` (mean, sd) or `lognormal` (median, cv).
    pub distribution: Spanned<String>,
    pub mean: Option<Spanned<f64>>,
    pub sd: Option<Spanned<f64>>,
    pub median: Option<Spanned<f64>>,
    pub cv: Option<Spanned<f64>>,
    pub min: Spanned<f64>,
    pub max: Spanned<f64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    pub a: String,
    pub b: String,
    pub rho: Spanned<f64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VariabilitySpec {
    pub parameters: Spanned<Vec<Spanned<String>>>,
    /// Variance–covariance matrix of η (log scale), rows in the order of `parameters`.
    pub omega: Spanned<Vec<Spanned<Vec<f64>>>>,
    pub source: String,
}

/// `[[population.residual]]` as written; checked into a [`ResidualSpec`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResidualFile {
    pub observable: Spanned<String>,
    pub additive: Option<Spanned<f64>>,
    pub proportional: Option<Spanned<f64>>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResidualSpec {
    /// Observable whose simulated measurement gets the error (its unit applies).
    pub observable: String,
    pub additive: f64,
    pub proportional: f64,
    pub source: String,
}

/// `[[population.targets]]` as written; checked into a [`TargetSpec`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    pub name: Spanned<String>,
    pub figure: Spanned<String>,
    pub at_least: Option<Spanned<f64>>,
    pub below: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    pub name: String,
    /// A per-subject figure (see [`FIGURES`] and `crp_day_<d>`).
    pub figure: String,
    pub at_least: Option<f64>,
    pub below: Option<f64>,
}

// ------------------------------------------------------------------ checked population

/// How a regimen is simulated: `Exact` integrates the whole horizon; `Fast` repeats the
/// periodic orbit once periodic dosing has reached it ([`crate::solve::fast`]).
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

    /// The limits in standard-normal units (`value` inverted); a log-normal's min of 0 is
    /// no limit at all.
    fn z_limits(&self) -> (f64, f64) {
        match self.kind {
            MarginalKind::Normal { mean, sd } => ((self.min - mean) / sd, (self.max - mean) / sd),
            MarginalKind::LogNormal { median, sigma } => {
                let z = |x: f64| (x / median).ln() / sigma;
                let lo = if self.min > 0.0 {
                    z(self.min)
                } else {
                    f64::NEG_INFINITY
                };
                (lo, z(self.max))
            }
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

/// Most subjects a population file or `--subjects` may ask for: keeps a run within reach of
/// a cluster and the u32 histogram counts of the aggregates far from overflow.
pub const MAX_SUBJECTS: u64 = 100_000_000;

/// Smallest probability a covariate's `[min, max]` (or all limits together) may hold under the
/// declared distribution; below it a file is refused, since nearly every try would be redrawn.
pub const MIN_TRUNCATED_MASS: f64 = 1e-6;

/// Cockcroft–Gault clearances above this are used as this value, whether the covariates are
/// sampled or read from a table. There is no published upper limit behind the figure: it is
/// the top of the clearance range the model accepts ([`crate::model::patient::CRCL_RANGE_ML_MIN`],
/// also the limit for `[patient]`). Cockcroft–Gault exceeds it only for young, heavy patients
/// with low creatinine (0.12% of ra-renal-population's subjects); the bundled model's renal
/// factor is saturated there (at 300 mL/min within 0.76% of its value at any higher clearance),
/// so the cap changes clearance by less than 0.8%. docs/populations.md says the same.
pub const CRCL_CAP_ML_MIN: f64 = crate::model::patient::CRCL_RANGE_ML_MIN.1;

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
        /// Tries before a subject's draw is given up as a covariate-sampling failure:
        /// [`draw_budget`] of the probability that one try falls inside all limits.
        max_draws: u64,
        /// That probability (exact without correlations, a GHK estimate with them).
        acceptance: f64,
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

/// The entry that makes a symmetric matrix fail to be positive definite, for the error
/// message: `(k, k)` when the failing leading block's last diagonal entry is not positive;
/// otherwise `(k, j)`, j < k, the first entry of row k such that rows and columns `0..=j` and
/// `k` together are not positive definite (a correlation beyond ±1 when taken alone, or one
/// that the entries before it make impossible). None when the matrix is positive definite.
pub fn first_failing_entry(m: &DMatrix<f64>) -> Option<(usize, usize)> {
    let k = cholesky_checked(m).err()?;
    // A NaN diagonal is no more positive than a negative one.
    if m[(k, k)].partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Some((k, k));
    }
    for j in 0..k {
        let idx: Vec<usize> = (0..=j).chain([k]).collect();
        let sub = DMatrix::from_fn(idx.len(), idx.len(), |r, c| m[(idx[r], idx[c])]);
        if cholesky_checked(&sub).is_err() {
            return Some((k, j));
        }
    }
    // j = k − 1 is the whole failing leading block, so the loop has returned unless rounding
    // made the block pass on its own; the diagonal is then the best single culprit.
    Some((k, k))
}

/// What the model accepts for continuous covariate `k` (an index into [`CONTINUOUS`]): for
/// weight, age and clearance the declared ranges `Patient::check` applies
/// ([`crate::model::patient::WEIGHT_RANGE_KG`], [`crate::model::patient::AGE_RANGE_Y`],
/// [`crate::model::patient::CRCL_RANGE_ML_MIN`], ends included), the one source of truth for both a
/// sampled covariate's `[min, max]` and a table's values, so that no drawn or listed subject
/// is one the model refuses. Serum creatinine is not a patient covariate: any value > 0 (its
/// Cockcroft–Gault clearance is capped at [`CRCL_CAP_ML_MIN`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct AcceptedRange {
    lo: f64,
    hi: f64,
    /// Whether `lo` itself is excluded (a creatinine of 0 is not a value).
    lo_open: bool,
    unit: &'static str,
}

impl AcceptedRange {
    fn of(k: usize) -> AcceptedRange {
        use crate::model::patient::{AGE_RANGE_Y, CRCL_RANGE_ML_MIN, WEIGHT_RANGE_KG};
        let closed = |(lo, hi): (f64, f64), unit| AcceptedRange {
            lo,
            hi,
            lo_open: false,
            unit,
        };
        match k {
            0 => closed(WEIGHT_RANGE_KG, "kg"),
            1 => closed(AGE_RANGE_Y, "years"),
            2 => AcceptedRange {
                lo: 0.0,
                hi: f64::INFINITY,
                lo_open: true,
                unit: "mg/dL",
            },
            _ => closed(CRCL_RANGE_ML_MIN, "mL/min"),
        }
    }

    /// Whether a value (of a table row) is accepted.
    fn contains(&self, x: f64) -> bool {
        x.is_finite() && (x > self.lo || (!self.lo_open && x == self.lo)) && x <= self.hi
    }

    /// Whether a truncation limit is accepted: as a value, except that a limit may sit on an
    /// open lower end (a log-normal's min of 0 is no limit at all).
    fn contains_limit(&self, x: f64) -> bool {
        x.is_finite() && x >= self.lo && x <= self.hi
    }

    /// The rule in words: "a number >= 0.5 and <= 400 kg".
    fn describe(&self, open_lo: bool) -> String {
        let low = if open_lo {
            format!("> {}", self.lo)
        } else {
            format!(">= {}", self.lo)
        };
        let high = if self.hi.is_finite() {
            format!(" and <= {}", self.hi)
        } else {
            String::new()
        };
        format!("a number {low}{high} {}", self.unit)
    }
}

/// The distribution in words, for messages.
fn describe(kind: &MarginalKind) -> String {
    match kind {
        MarginalKind::Normal { mean, sd } => format!("normal (mean {mean}, sd {sd})"),
        MarginalKind::LogNormal { median, sigma } => format!(
            "lognormal (median {median}, cv {})",
            fmt_sig((sigma * sigma).exp_m1().sqrt())
        ),
    }
}

/// Three significant digits, for probabilities and derived figures in messages.
fn fmt_sig(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
        format!("{x:.2e}")
    } else {
        format!("{}", (x * 1e3).round() / 1e3)
    }
}

/// Steps of a band grid: ⌊duration / interval⌋, except that a quotient within 1e-9 (relative)
/// below an integer counts as that integer, so that an interval meant to divide the duration
/// (672 / 0.336) has its last point at the end whichever way the division rounds.
fn band_steps(duration_h: f64, interval_h: f64) -> f64 {
    let q = duration_h / interval_h;
    let r = q.round();
    if r >= q && r - q <= 1e-9 * r.max(1.0) {
        r
    } else {
        q.floor()
    }
}

/// How many band times [`band_times`] gives, without building them (a float: a mistyped
/// interval of 1e-300 h gives more than any integer holds).
pub fn band_time_count(duration_h: f64, interval_h: f64) -> f64 {
    band_steps(duration_h, interval_h) + 1.0
}

/// The band times of `interval_h` over `duration_h`: 0, interval, 2 × interval, … up to the
/// duration, i.e. [`band_time_count`] = ⌊duration / interval⌋ + 1 times. The end is one of them
/// when it is on the grid (then exactly the duration); otherwise the last time is the last
/// grid point before it.
pub fn band_times(duration_h: f64, interval_h: f64) -> Vec<f64> {
    let n = band_steps(duration_h, interval_h) as usize;
    (0..=n)
        .map(|k| {
            let t = k as f64 * interval_h;
            // The last point of a grid that divides the duration is the end itself (not a
            // rounding error either side of it).
            if (t - duration_h).abs() <= 1e-9 * duration_h {
                duration_h
            } else {
                t
            }
        })
        .collect()
}

/// The interval of the grid of [`MAX_BAND_TIMES`] band times from 0 to the end of
/// `duration_h` (duration / 1,999): the default interval is widened to it when 4 h would give
/// more band times.
fn widest_band_grid_interval(duration_h: f64) -> f64 {
    let mut v = duration_h / (MAX_BAND_TIMES - 1) as f64;
    while band_time_count(duration_h, v) > MAX_BAND_TIMES as f64 {
        v = v.next_up();
    }
    v
}

/// `x` rounded up to 4 significant digits, as text: a lower limit in a message, which must
/// itself be allowed.
fn round_up_sig(x: f64) -> String {
    if !(x.is_finite() && x > 0.0) {
        return format!("{x}");
    }
    let e = x.log10().floor() as i32 - 3;
    let up = (x / 10f64.powi(e)).ceil() * 10f64.powi(e);
    format!("{up:.*}", (-e).max(0) as usize)
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
    let (p, _) = f.population.ok_or_else(|| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "population".into(),
        message: "a [population] table is needed".into(),
    })?;
    // An error at the line of `span`, keyed `population.<key>`.
    let at = |span: &Range<usize>, key: &str, msg: String| {
        perr(
            origin,
            line_of(text, span),
            &format!("population.{key}"),
            msg,
        )
    };
    let subjects = *p.subjects.get_ref();
    if subjects < 1 || subjects as u64 > MAX_SUBJECTS {
        return Err(at(
            &p.subjects.span(),
            "subjects",
            format!("{subjects} is not allowed; 1 to 100,000,000"),
        ));
    }
    let seed = *p.seed.get_ref();
    if seed < 0 {
        return Err(at(
            &p.seed.span(),
            "seed",
            format!("{seed} is not allowed; 0 or more"),
        ));
    }
    let disease = p.disease.get_ref();
    if !model.diseases.contains_key(disease) {
        return Err(at(
            &p.disease.span(),
            "disease",
            format!(
                "'{disease}' is not allowed; allowed: {}",
                model.disease_names().join(", ")
            ),
        ));
    }
    let method = match &p.method {
        None => SimulationMethod::Exact,
        Some(m) => SimulationMethod::parse(m.get_ref()).ok_or_else(|| {
            at(
                &m.span(),
                "method",
                format!("'{}' is not allowed; allowed: exact, fast", m.get_ref()),
            )
        })?,
    };
    let band_interval_h = match &p.band_interval_h {
        // The default, cut to fit the duration, and widened when it would give more than
        // MAX_BAND_TIMES band times (a long file) to the grid of MAX_BAND_TIMES times that
        // runs from 0 to the end.
        None => DEFAULT_BAND_INTERVAL_H
            .min(f.duration_h)
            .max(widest_band_grid_interval(f.duration_h)),
        Some(b) => {
            let v = *b.get_ref();
            if !(v.is_finite() && v > 0.0 && v <= f.duration_h) {
                return Err(at(
                    &b.span(),
                    "band_interval_h",
                    format!(
                        "{v} h is not allowed; > 0 and at most the duration ({} h), so that the bands have a point after time 0",
                        f.duration_h
                    ),
                ));
            }
            let count = band_time_count(f.duration_h, v);
            if count > MAX_BAND_TIMES as f64 {
                return Err(at(
                    &b.span(),
                    "band_interval_h",
                    format!(
                        "{v} h is not allowed; it gives {count:.0} band times (0 to {} h), at most \
                         {MAX_BAND_TIMES} (at least {} h for this duration, which gives \
                         {MAX_BAND_TIMES} band times from 0 to the end): each band time holds a \
                         histogram of {} to {FRACTION_BINS} bins per observable and regimen",
                        f.duration_h,
                        round_up_sig(widest_band_grid_interval(f.duration_h)),
                        LOG_BINS + 1
                    ),
                ));
            }
            v
        }
    };
    let band_times_h = band_times(f.duration_h, band_interval_h);
    debug_assert!(band_times_h.len() <= MAX_BAND_TIMES);
    let mut band_observables = Vec::new();
    match &p.band_observables {
        None => {
            for name in DEFAULT_BAND_OBSERVABLES {
                let i = model.observable_id(name).ok_or_else(|| {
                    ScenarioError {
                        origin: origin.into(),
                        line: None,
                        key: "population.band_observables".into(),
                        message: format!("not given, and the default '{name}' is not an observable of model '{}'; list the observables to band", model.name),
                    }
                })?;
                band_observables.push(i);
            }
        }
        Some(list) => {
            if list.get_ref().is_empty() {
                return Err(at(
                    &list.span(),
                    "band_observables",
                    "[] is not allowed; at least one observable".into(),
                ));
            }
            for name in list.get_ref() {
                let i = model.observable_id(name.get_ref()).ok_or_else(|| {
                    let all: Vec<&str> =
                        model.observables.iter().map(|o| o.name.as_str()).collect();
                    at(
                        &name.span(),
                        "band_observables",
                        format!(
                            "'{}' is not an observable; allowed: {}",
                            name.get_ref(),
                            all.join(", ")
                        ),
                    )
                })?;
                if band_observables.contains(&i) {
                    return Err(at(
                        &name.span(),
                        "band_observables",
                        format!("'{}' is listed twice; list each once", name.get_ref()),
                    ));
                }
                band_observables.push(i);
            }
        }
    }
    let mut crp_days: Vec<u32> = Vec::new();
    match &p.crp_days {
        None => crp_days.extend(
            DEFAULT_CRP_DAYS
                .iter()
                .filter(|&&d| d as f64 * HOURS_PER_DAY <= f.duration_h),
        ),
        Some(days) => {
            for d in days {
                let v = *d.get_ref();
                if v < 1 || v as f64 * HOURS_PER_DAY > f.duration_h {
                    return Err(at(
                        &d.span(),
                        "crp_days",
                        format!(
                            "day {v} is not allowed; days from 1 to the duration ({} days)",
                            f.duration_h / HOURS_PER_DAY
                        ),
                    ));
                }
                if crp_days.contains(&(v as u32)) {
                    return Err(at(
                        &d.span(),
                        "crp_days",
                        format!("day {v} is listed twice; list each day once (each gives a column crp_day_{v})"),
                    ));
                }
                crp_days.push(v as u32);
            }
        }
    }
    let covariates = check_covariates(p.covariates.get_ref(), &p.covariates.span(), text, &at)?;
    let variability = match &p.variability {
        None => None,
        Some(v) => Some(check_variability(v.get_ref(), model, &at)?),
    };
    let mut residual = Vec::new();
    for r in &p.residual {
        let r = r.get_ref();
        let i = model.observable_id(r.observable.get_ref()).ok_or_else(|| {
            at(
                &r.observable.span(),
                "residual.observable",
                format!("'{}' is not an observable", r.observable.get_ref()),
            )
        })?;
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
            return Err(at(
                &r.observable.span(),
                "residual.observable",
                format!("'{}' is not allowed; residual error applies to the trough of a drug's plasma concentration observable in ng/mL (here: anakinra_plasma)", r.observable.get_ref()),
            ));
        }
        let mut parts = [0.0; 2];
        for (slot, (name, given)) in parts
            .iter_mut()
            .zip([("additive", &r.additive), ("proportional", &r.proportional)])
        {
            if let Some(g) = given {
                let v = *g.get_ref();
                if !(v.is_finite() && v >= 0.0) {
                    return Err(at(
                        &g.span(),
                        &format!("residual.{name}"),
                        format!("{v} is not allowed; a finite number >= 0"),
                    ));
                }
                *slot = v;
            }
        }
        if parts[0] + parts[1] == 0.0 {
            return Err(at(
                &r.observable.span(),
                "residual",
                "additive and proportional are both 0 (or absent); give at least one > 0".into(),
            ));
        }
        residual.push((
            i,
            ResidualSpec {
                observable: r.observable.get_ref().clone(),
                additive: parts[0],
                proportional: parts[1],
                source: r.source.clone(),
            },
        ));
    }
    let mut targets: Vec<(TargetSpec, usize)> = Vec::new();
    let names = figure_names(&crp_days);
    for t in &p.targets {
        let t = t.get_ref();
        let i = names
            .iter()
            .position(|n| n == t.figure.get_ref())
            .ok_or_else(|| {
                at(
                    &t.figure.span(),
                    "targets.figure",
                    format!(
                        "'{}' is not a per-subject figure; allowed: {}",
                        t.figure.get_ref(),
                        names.join(", ")
                    ),
                )
            })?;
        if targets.iter().any(|(x, _)| &x.name == t.name.get_ref()) {
            return Err(at(
                &t.name.span(),
                "targets.name",
                format!(
                    "'{}' is used twice; target names must differ",
                    t.name.get_ref()
                ),
            ));
        }
        let threshold = match (&t.at_least, &t.below) {
            (Some(x), None) | (None, Some(x)) => x,
            _ => {
                return Err(at(
                    &t.name.span(),
                    "targets",
                    format!(
                        "target '{}': give exactly one of at_least and below",
                        t.name.get_ref()
                    ),
                ))
            }
        };
        let key = if t.at_least.is_some() {
            "at_least"
        } else {
            "below"
        };
        if !threshold.get_ref().is_finite() {
            return Err(at(
                &threshold.span(),
                &format!("targets.{key}"),
                format!(
                    "{} is not allowed (target '{}'); a finite number",
                    threshold.get_ref(),
                    t.name.get_ref()
                ),
            ));
        }
        targets.push((
            TargetSpec {
                name: t.name.get_ref().clone(),
                figure: t.figure.get_ref().clone(),
                at_least: t.at_least.as_ref().map(|x| *x.get_ref()),
                below: t.below.as_ref().map(|x| *x.get_ref()),
            },
            i,
        ));
    }
    Ok(PopulationScenario {
        name: f.name,
        description: f.description,
        duration_h: f.duration_h,
        regimens: f.regimens,
        subjects: subjects as u64,
        seed: seed as u64,
        disease: disease.clone(),
        method,
        band_times_h,
        band_observables,
        crp_days,
        full_timecourses: p.full_timecourses,
        covariates,
        covariate_table: p
            .covariates
            .get_ref()
            .table
            .as_ref()
            .map(|t| t.get_ref().clone()),
        variability,
        residual,
        targets,
    })
}

type ErrAt<'a> = dyn Fn(&Range<usize>, &str, String) -> ScenarioError + 'a;

/// Check `[population.covariates]` (`span`: its table) into [`Covariates`].
fn check_covariates(
    c: &CovariateSpec,
    span: &Range<usize>,
    text: &str,
    at: &ErrAt,
) -> Result<Covariates, ScenarioError> {
    let given: [Option<&Spanned<Marginal>>; 4] = [
        c.weight_kg.as_ref(),
        c.age_y.as_ref(),
        c.serum_creatinine_mg_dl.as_ref(),
        c.crcl_ml_min.as_ref(),
    ];
    if let Some(t) = &c.table {
        if let Some(k) = given.iter().position(|g| g.is_some()) {
            return Err(at(
                &t.span(),
                "covariates",
                format!(
                    "give a table or distributions, not both (table and {})",
                    CONTINUOUS[k]
                ),
            ));
        }
        if let Some(ff) = &c.female_fraction {
            return Err(at(
                &ff.span(),
                "covariates.female_fraction",
                "not allowed with a table: its sex column gives each patient's sex".into(),
            ));
        }
        if let Some(cor) = &c.correlations {
            return Err(at(
                &cor.span(),
                "covariates.correlations",
                "not allowed with a table: the rows are real patients, taken as they are".into(),
            ));
        }
        return Ok(Covariates::Table(vec![]));
    }
    for (k, name) in [(0, "weight_kg"), (1, "age_y")] {
        if given[k].is_none() {
            return Err(at(
                span,
                &format!("covariates.{name}"),
                "missing; weight and age distributions are required (or a table)".into(),
            ));
        }
    }
    if given[2].is_some() == given[3].is_some() {
        return Err(at(
            span,
            "covariates",
            "give exactly one of serum_creatinine_mg_dl (Cockcroft–Gault) and crcl_ml_min".into(),
        ));
    }
    let female_fraction = match &c.female_fraction {
        None => {
            return Err(at(
                span,
                "covariates.female_fraction",
                "missing; give the fraction of women, 0 to 1 (e.g. 0.5)".into(),
            ))
        }
        Some(ff) => {
            let v = *ff.get_ref();
            if !(0.0..=1.0).contains(&v) {
                return Err(at(
                    &ff.span(),
                    "covariates.female_fraction",
                    format!("{v} is not allowed; 0 to 1"),
                ));
            }
            v
        }
    };
    let mut marginals = Vec::new();
    let mut bounds = Vec::new();
    for (k, m) in given.iter().enumerate() {
        let Some(m) = m else { continue };
        let m = m.get_ref();
        let key = format!("covariates.{}", CONTINUOUS[k]);
        let val = |x: &Option<Spanned<f64>>| x.as_ref().map(|x| *x.get_ref());
        let kind = match (
            m.distribution.get_ref().as_str(),
            val(&m.mean),
            val(&m.sd),
            val(&m.median),
            val(&m.cv),
        ) {
            ("normal", Some(mean), Some(sd), None, None)
                if mean.is_finite() && sd.is_finite() && sd > 0.0 =>
            {
                MarginalKind::Normal { mean, sd }
            }
            ("lognormal", None, None, Some(median), Some(cv))
                if median.is_finite() && median > 0.0 && cv.is_finite() && cv > 0.0 =>
            {
                MarginalKind::LogNormal {
                    median,
                    sigma: (1.0 + cv * cv).ln().sqrt(),
                }
            }
            _ => return Err(at(&m.distribution.span(), &key, format!("'{}' with these fields is not allowed; allowed: distribution = \"normal\" with finite mean and sd > 0, or \"lognormal\" with median > 0 and cv > 0 (finite)", m.distribution.get_ref()))),
        };
        let accepted = AcceptedRange::of(k);
        let (min, max) = (*m.min.get_ref(), *m.max.get_ref());
        for (name, v, s) in [("min", min, m.min.span()), ("max", max, m.max.span())] {
            if !accepted.contains_limit(v) {
                return Err(at(
                    &s,
                    &format!("{key}.{name}"),
                    format!(
                        "{v} is not allowed; {} (what the model accepts)",
                        accepted.describe(false)
                    ),
                ));
            }
        }
        if min >= max {
            return Err(at(
                &m.min.span(),
                &key,
                format!("min {min} and max {max} are not allowed; min < max"),
            ));
        }
        let cm = CheckedMarginal { kind, min, max };
        let (za, zb) = cm.z_limits();
        let mass = normal_mass(za, zb);
        if mass < MIN_TRUNCATED_MASS {
            return Err(at(
                &m.min.span(),
                &key,
                format!(
                    "min {min} and max {max} hold {} of the {} distribution, below the threshold of {MIN_TRUNCATED_MASS:e}: almost every draw would fall outside; move the limits or the distribution",
                    fmt_sig(mass),
                    describe(&kind)
                ),
            ));
        }
        bounds.push((za, zb));
        marginals.push((k, cm));
    }
    let dim = marginals.len();
    let mut r = DMatrix::<f64>::identity(dim, dim);
    // Where each correlation was given, to name the one that fails.
    let mut given_at: BTreeMap<(usize, usize), Range<usize>> = BTreeMap::new();
    let pos = |name: &str| marginals.iter().position(|(k, _)| CONTINUOUS[*k] == name);
    for cor in c.correlations.iter().flat_map(|c| c.get_ref()) {
        let (s, cor) = (cor.span(), cor.get_ref());
        let (Some(i), Some(j)) = (pos(&cor.a), pos(&cor.b)) else {
            return Err(at(
                &s,
                "covariates.correlations",
                format!(
                    "'{}' with '{}': both must be sampled continuous covariates (here: {})",
                    cor.a,
                    cor.b,
                    marginals
                        .iter()
                        .map(|(k, _)| CONTINUOUS[*k])
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let rho = *cor.rho.get_ref();
        if i == j || !(rho > -1.0 && rho < 1.0) {
            return Err(at(&s, "covariates.correlations", format!("rho {rho} between '{}' and '{}' is not allowed; -1 < rho < 1 between different covariates", cor.a, cor.b)));
        }
        let pair = (i.max(j), i.min(j));
        if let Some(first) = given_at.get(&pair) {
            return Err(at(
                &s,
                "covariates.correlations",
                format!(
                    "'{}' and '{}' are correlated twice (also on line {}, rho {}); give each pair once",
                    cor.a,
                    cor.b,
                    line_of(text, first),
                    r[(i, j)]
                ),
            ));
        }
        given_at.insert(pair, s);
        r[(i, j)] = rho;
        r[(j, i)] = rho;
    }
    let chol = match cholesky_checked(&r) {
        Ok(l) => l,
        Err(_) => {
            let (k, j) = first_failing_entry(&r).unwrap_or((0, 0));
            let names: Vec<&str> = (0..=j)
                .chain([k])
                .map(|i| CONTINUOUS[marginals[i].0])
                .collect();
            let s = given_at
                .get(&(k, j))
                .cloned()
                .unwrap_or_else(|| span.clone());
            return Err(at(
                &s,
                "covariates.correlations",
                format!(
                    "the correlation matrix is not positive definite: rho {} between '{}' and '{}' is incompatible with the correlations before it (those of {} together are impossible); weaken one of them",
                    r[(k, j)],
                    CONTINUOUS[marginals[k].0],
                    CONTINUOUS[marginals[j].0],
                    names.join(", ")
                ),
            ));
        }
    };
    let acceptance = box_probability(&chol, &bounds);
    if acceptance < MIN_TRUNCATED_MASS {
        let s = c.correlations.as_ref().map_or(span.clone(), |c| c.span());
        return Err(at(
            &s,
            "covariates.correlations",
            format!(
                "with these correlations the limits of {} together hold {} of the distribution (estimated), below the threshold of {MIN_TRUNCATED_MASS:e}: almost every draw would fall outside; widen the limits or weaken the correlations",
                marginals
                    .iter()
                    .map(|(k, _)| CONTINUOUS[*k])
                    .collect::<Vec<_>>()
                    .join(", "),
                fmt_sig(acceptance)
            ),
        ));
    }
    Ok(Covariates::Sampled {
        marginals,
        chol,
        female_fraction,
        max_draws: draw_budget(acceptance),
        acceptance,
    })
}

/// Check `[population.variability]` (`span`: its table).
fn check_variability(
    v: &VariabilitySpec,
    model: &Model,
    at: &ErrAt,
) -> Result<Variability, ScenarioError> {
    let names: Vec<&str> = v
        .parameters
        .get_ref()
        .iter()
        .map(|p| p.get_ref().as_str())
        .collect();
    let n = names.len();
    let mut parameters = Vec::new();
    for p in v.parameters.get_ref() {
        let name = p.get_ref();
        let id = model.parameter_id(name).ok_or_else(|| {
            at(
                &p.span(),
                "variability.parameters",
                format!("'{name}' is not a parameter of model '{}'", model.name),
            )
        })?;
        if parameters.iter().any(|(x, _)| x == name) {
            return Err(at(
                &p.span(),
                "variability.parameters",
                format!("'{name}' is listed twice; list each parameter once"),
            ));
        }
        parameters.push((name.clone(), id));
    }
    let rows = v.omega.get_ref();
    if rows.len() != n || rows.iter().any(|r| r.get_ref().len() != n) {
        return Err(at(
            &v.omega.span(),
            "variability.omega",
            format!("must be a {n} x {n} matrix (one row and column per parameter)"),
        ));
    }
    let row_span = |i: usize| rows[i].span();
    for (i, row) in rows.iter().enumerate() {
        for (j, x) in row.get_ref().iter().enumerate() {
            if !x.is_finite() {
                return Err(at(
                    &row_span(i),
                    "variability.omega",
                    format!(
                        "row {}, column {}: {x} is not allowed; a finite number",
                        i + 1,
                        j + 1
                    ),
                ));
            }
        }
    }
    let m = DMatrix::from_fn(n, n, |i, j| rows[i].get_ref()[j]);
    for i in 0..n {
        for j in 0..i {
            if (m[(i, j)] - m[(j, i)]).abs() > 1e-12 * (1.0 + m[(i, j)].abs()) {
                return Err(at(
                    &row_span(i),
                    "variability.omega",
                    format!(
                        "not symmetric: row {}, column {} = {} but row {}, column {} = {} ({} / {})",
                        i + 1,
                        j + 1,
                        m[(i, j)],
                        j + 1,
                        i + 1,
                        m[(j, i)],
                        names[i],
                        names[j]
                    ),
                ));
            }
        }
    }
    let chol = match cholesky_checked(&m) {
        Ok(l) => l,
        Err(_) => {
            let (k, j) = first_failing_entry(&m).unwrap_or((0, 0));
            let message = if k == j {
                format!("not positive definite: row {0}, column {0} = {1} is the variance of '{2}', which must be > 0 (leave a parameter without variability out of `parameters`)", k + 1, m[(k, k)], names[k])
            } else {
                let c = m[(k, j)] / (m[(k, k)] * m[(j, j)]).sqrt();
                if c.abs() >= 1.0 {
                    format!("not positive definite: row {}, column {} = {} (covariance of '{}' and '{}') makes their correlation {}; it must be within (-1, 1), i.e. |covariance| < sqrt({} x {}) = {}", k + 1, j + 1, m[(k, j)], names[k], names[j], fmt_sig(c), m[(k, k)], m[(j, j)], fmt_sig((m[(k, k)] * m[(j, j)]).sqrt()))
                } else {
                    let block: Vec<&str> = (0..=j).chain([k]).map(|i| names[i]).collect();
                    format!("not positive definite: row {}, column {} = {} (covariance of '{}' and '{}', correlation {}) is incompatible with the covariances before it: those of {} together are impossible; reduce one of them", k + 1, j + 1, m[(k, j)], names[k], names[j], fmt_sig(c), block.join(", "))
                }
            };
            return Err(at(&row_span(k), "variability.omega", message));
        }
    };
    Ok(Variability { parameters, chol })
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

/// The clearance a subject with this serum creatinine gets, sampled or from a table alike:
/// Cockcroft–Gault capped at [`CRCL_CAP_ML_MIN`] (see there for why).
pub fn crcl_from_creatinine(age_y: f64, weight_kg: f64, scr_mg_dl: f64, female: bool) -> f64 {
    cockcroft_gault(age_y, weight_kg, scr_mg_dl, female).min(CRCL_CAP_ML_MIN)
}

// Standard normal tail and quantile (statrs), for the truncation checks at parse time.

/// Upper tail of the standard normal, 1 − Φ(x), as erfc(x/√2)/2: accurate in both tails,
/// where 1 − Φ(x) would round to 0 or 1.
fn normal_sf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(x / std::f64::consts::SQRT_2)
}

/// Probability that a standard normal lies in [a, b], from the nearer tail (a plain
/// Φ(b) − Φ(a) would lose every digit far out in the upper tail).
fn normal_mass(a: f64, b: f64) -> f64 {
    let m = if a >= 0.0 {
        normal_sf(a) - normal_sf(b)
    } else if b <= 0.0 {
        normal_sf(-b) - normal_sf(-a)
    } else {
        1.0 - normal_sf(b) - normal_sf(-a)
    };
    m.max(0.0)
}

/// Φ⁻¹(p), with Φ⁻¹(0) = −∞ and Φ⁻¹(1) = +∞.
fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::ContinuousCDF;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    statrs::distribution::Normal::standard().inverse_cdf(p)
}

/// A standard normal truncated to [a, b], from a uniform u in [0, 1), by inverting the
/// nearer tail.
fn truncated_normal(a: f64, b: f64, u: f64) -> f64 {
    let w = if a >= 0.0 {
        let q = normal_sf(a) - u * (normal_sf(a) - normal_sf(b));
        -normal_quantile(q)
    } else {
        // Φ(x) = normal_sf(−x).
        let (pa, pb) = (normal_sf(-a), normal_sf(-b));
        normal_quantile(pa + u * (pb - pa))
    };
    w.clamp(a, b)
}

/// Draws of the GHK estimate: its relative error is about 1/sqrt(4096) = 1.6% or less,
/// plenty for a threshold and a draw budget.
const GHK_DRAWS: usize = 4096;

/// Probability that z = L w (w independent standard normals, L lower triangular) falls
/// inside `bounds` in every coordinate: the product of the masses when L is diagonal, else
/// the GHK simulator (Geweke, Hajivassiliou, Keane) on a fixed stream, so that a file always
/// gets the same figure.
fn box_probability(chol: &DMatrix<f64>, bounds: &[(f64, f64)]) -> f64 {
    let dim = bounds.len();
    if (0..dim).all(|i| (0..i).all(|j| chol[(i, j)] == 0.0)) {
        return bounds.iter().map(|&(a, b)| normal_mass(a, b)).product();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x0067_686b);
    let mut w = vec![0.0; dim];
    let mut total = 0.0;
    for _ in 0..GHK_DRAWS {
        let mut weight = 1.0;
        for i in 0..dim {
            let shift: f64 = (0..i).map(|j| chol[(i, j)] * w[j]).sum();
            let d = chol[(i, i)];
            let (a, b) = ((bounds[i].0 - shift) / d, (bounds[i].1 - shift) / d);
            weight *= normal_mass(a, b);
            if weight == 0.0 {
                break;
            }
            w[i] = truncated_normal(a, b, rng.random::<f64>());
        }
        total += weight;
    }
    total / GHK_DRAWS as f64
}

/// Tries allowed for one subject's covariates when one try succeeds with probability
/// `acceptance`: 50 / acceptance, so that a subject fails with probability about e^-50 (or
/// e^-25 if the estimate is twice too high), and never fewer than 1,000 (the budget of
/// earlier versions, so their draws are unchanged).
fn draw_budget(acceptance: f64) -> u64 {
    let want = (50.0 / acceptance.max(MIN_TRUNCATED_MASS)).ceil();
    (want as u64).max(1000)
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

/// A subject's covariates and random effects. Err is a covariate-sampling failure (no try
/// inside the limits within the budget), which the checks at parse time make all but
/// impossible.
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
            max_draws,
            acceptance,
        } => {
            let female = rng.random::<f64>() < *female_fraction;
            let dim = marginals.len();
            let mut values = [f64::NAN; 4];
            let mut ok = false;
            for _ in 0..*max_draws {
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
                let names: Vec<&str> = marginals.iter().map(|(k, _)| CONTINUOUS[*k]).collect();
                return Err(format!(
                    "covariate sampling failed: no draw of {} inside their [min, max] limits in {max_draws} tries (the limits hold about {} of the distribution)",
                    names.join(", "),
                    fmt_sig(*acceptance)
                ));
            }
            let (weight, age) = (values[0], values[1]);
            let (crcl, scr) = if values[2].is_finite() {
                (
                    crcl_from_creatinine(age, weight, values[2], female),
                    Some(values[2]),
                )
            } else {
                (values[3], None)
            };
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
    pub id: u64,
    /// The subject's covariates and random effects; None when covariate sampling failed
    /// (the reason is in `regimens`), so that no placeholder covariates reach the outputs.
    pub draw: Option<SubjectDraw>,
    /// One per regimen: the outcome or why the subject failed (sampling or solve).
    pub regimens: Vec<Result<RegimenOutcome, String>>,
}

impl SubjectOutcome {
    /// Whether the subject's covariates could not be drawn (as opposed to a failed solve).
    pub fn sampling_failed(&self) -> bool {
        self.draw.is_none()
    }
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
            return SubjectOutcome {
                id,
                draw: None,
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
                    id,
                    draw: Some(draw),
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
    SubjectOutcome {
        id,
        draw: Some(draw),
        regimens,
    }
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
            summarise_fast(subject, r, pop.duration_h, &pop.band_times_h, &pop.crp_days)?
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
/// Most band times per regimen: 4-hourly bands for 333 days, hourly for 83. Each band time
/// holds one histogram (3,601 or 10,000 counters) per observable and regimen, so the limit
/// keeps a mistyped interval (1e-7 h) an error rather than a multi-gigabyte allocation.
pub const MAX_BAND_TIMES: usize = 2_000;
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

/// First bytes of an aggregates file; 02 added the count of unsampled subjects.
const AGGREGATES_MAGIC: &[u8; 8] = b"IL1AGG02";

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
    /// Subjects simulated and failed, per regimen (failed includes subjects whose
    /// covariates could not be sampled).
    pub simulated: Vec<u64>,
    pub failed: Vec<u64>,
    /// Subjects whose covariates could not be sampled (counted once, not per regimen).
    pub unsampled: u64,
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
            unsampled: 0,
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
        let Some(draw) = &s.draw else {
            self.unsampled += 1;
            for r in 0..self.regimens {
                self.simulated[r] += 1;
                self.failed[r] += 1;
            }
            return;
        };
        let groups = strata(&draw.patient);
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
        self.unsampled += other.unsampled;
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
        out.extend_from_slice(AGGREGATES_MAGIC);
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
        out.extend_from_slice(&self.unsampled.to_le_bytes());
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
        if bytes.len() < 56 || &bytes[..8] != AGGREGATES_MAGIC {
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
        let unsampled = u64_at(&mut pos)?;
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
            unsampled,
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
    // In u128: subjects × k overflows u64 for large shard counts.
    let at = |k: u64| (subjects as u128 * k as u128 / n as u128) as u64;
    at(k - 1)..at(k)
}

/// Rows of a covariate table from CSV records, each with its line in the file, for front
/// ends that read CSV files. Every value is checked here, at load, against what the model
/// accepts (the declared ranges `Patient::check` applies, through the same [`AcceptedRange`]
/// as sampled limits), so a bad row is an error naming its file, line and column rather than
/// a failed subject later. Cockcroft–Gault clearances from `serum_creatinine_mg_dl` are capped
/// as for sampled covariates ([`crcl_from_creatinine`]); a `crcl_ml_min` given outright must
/// be within the accepted range.
pub fn covariate_rows_from_records(
    records: &[(u64, BTreeMap<String, String>)],
    origin: &str,
) -> Result<Vec<CovariateRow>, String> {
    let mut rows = Vec::new();
    for (line, r) in records {
        let line = *line;
        let text = |k: &str| -> Result<&String, String> {
            r.get(k).ok_or_else(|| format!("{origin}:{line}: column '{k}' is missing; columns needed: weight_kg, age_y, sex, and crcl_ml_min or serum_creatinine_mg_dl"))
        };
        // Column `k` (an index into CONTINUOUS) as a number the model accepts.
        let num = |k: usize| -> Result<f64, String> {
            let name = CONTINUOUS[k];
            let v = text(name)?;
            let accepted = AcceptedRange::of(k);
            match v.trim().parse::<f64>() {
                Ok(x) if accepted.contains(x) => Ok(x),
                _ => Err(format!(
                    "{origin}:{line}: column {name} = '{v}' is not allowed; {} (what the model accepts)",
                    accepted.describe(accepted.lo_open)
                )),
            }
        };
        let weight_kg = num(0)?;
        let age_y = num(1)?;
        let sex = text("sex")?;
        let female = match Sex::parse(sex.trim()) {
            Some(Sex::Female) => true,
            Some(Sex::Male) => false,
            None => {
                return Err(format!(
                    "{origin}:{line}: column sex = '{sex}' is not allowed; allowed: female, male (or f, m)"
                ))
            }
        };
        let (crcl_ml_min, scr) = match (r.get("crcl_ml_min"), r.get("serum_creatinine_mg_dl")) {
            (Some(_), _) => (num(3)?, None),
            (None, Some(_)) => {
                let s = num(2)?;
                (crcl_from_creatinine(age_y, weight_kg, s, female), Some(s))
            }
            (None, None) => {
                return Err(format!(
                    "{origin}:{line}: give a column crcl_ml_min or serum_creatinine_mg_dl"
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
            unsampled: 0,
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

    // ---------------------------------------------------------------- file checks

    const RA: &str = include_str!("../../../scenarios/ra-renal-population.toml");

    fn parse(text: &str) -> Result<PopulationScenario, String> {
        parse_population(text, "t.toml", &crate::il1_model()).map_err(|e| e.to_string())
    }

    /// The shipped RA population with `from` replaced by `to` (which must occur).
    fn edited(from: &str, to: &str) -> String {
        assert!(RA.contains(from), "{from}");
        RA.replacen(from, to, 1)
    }

    fn err(from: &str, to: &str) -> String {
        parse(&edited(from, to)).unwrap_err()
    }

    /// Line (1-based) of the first line of `text` that contains `needle`.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn errors_cite_the_line_of_the_key_and_its_full_path() {
        let text = edited("subjects = 1000", "subjects = -5");
        let e = parse(&text).unwrap_err();
        let want = format!(
            "t.toml:{}: population.subjects: -5 is not allowed",
            line_of(&text, "subjects = -5")
        );
        assert!(e.starts_with(&want), "{e}");
        assert_ne!(
            line_of(&text, "subjects = -5"),
            line_of(&text, "[population]")
        );
        let text = edited(
            "crp_days = [1, 7, 14, 28]",
            "crp_days = [1, 7, 14, 28]\nmethod2 = 1",
        );
        assert!(parse(&text).unwrap_err().contains("method2"));
        let text = edited("disease = \"ra\"", "disease = \"gout\"");
        let e = parse(&text).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "t.toml:{}: population.disease",
                line_of(&text, "gout")
            )),
            "{e}"
        );
    }

    #[test]
    fn omega_errors_name_the_entry_that_fails() {
        let omega = "omega = [[0.0784, 0.0, 0.0], [0.0, 0.0396, 0.0], [0.0, 0.0, 0.0704]]";
        // Each pair is fine alone (correlations 0.89, 0.53, -0.57) but not the three together.
        let text = edited(
            omega,
            "omega = [[0.0784, 0.05, 0.04],\n  [0.05, 0.0396, -0.03],\n  [0.04, -0.03, 0.0704]]",
        );
        let e = parse(&text).unwrap_err();
        assert!(e.starts_with(&format!("t.toml:{}: population.variability.omega: not positive definite: row 3, column 2 = -0.03 (covariance of 'ka_anakinra' and 'V_central'", line_of(&text, "[0.04, -0.03"))), "{e}");
        assert!(e.contains("CL_anakinra, V_central, ka_anakinra"), "{e}");
        // A covariance beyond the product of the standard deviations: its correlation.
        let e = err(
            omega,
            "omega = [[0.0784, 0.0, 0.0], [0.0, 0.0396, 0.09], [0.0, 0.09, 0.0704]]",
        );
        assert!(e.contains("row 3, column 2 = 0.09 (covariance of 'ka_anakinra' and 'V_central') makes their correlation 1.705"), "{e}");
        let e = err(
            omega,
            "omega = [[0.0784, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0704]]",
        );
        assert!(
            e.contains("row 2, column 2 = 0 is the variance of 'V_central'"),
            "{e}"
        );
        let e = err(
            omega,
            "omega = [[0.0784, 0.0, 0.0], [0.0, 0.0396, 0.0], [0.0, 0.0, inf]]",
        );
        assert!(e.contains("row 3, column 3: inf is not allowed"), "{e}");
    }

    #[test]
    fn failing_entry_of_a_matrix() {
        let m = DMatrix::from_row_slice(2, 2, &[0.09, 0.1, 0.1, 0.04]);
        assert_eq!(first_failing_entry(&m), Some((1, 0)));
        let m = DMatrix::from_row_slice(2, 2, &[0.09, 0.0, 0.0, -0.04]);
        assert_eq!(first_failing_entry(&m), Some((1, 1)));
        let m = DMatrix::from_row_slice(3, 3, &[1.0, 0.9, 0.9, 0.9, 1.0, -0.9, 0.9, -0.9, 1.0]);
        assert_eq!(first_failing_entry(&m), Some((2, 1)));
        assert_eq!(first_failing_entry(&DMatrix::identity(3, 3)), None);
    }

    #[test]
    fn bad_values_that_used_to_pass_are_refused() {
        let cases = [
            ("female_fraction = 0.77", "", "population.covariates.female_fraction: missing"),
            (
                "correlations = [{ a = \"age_y\", b = \"serum_creatinine_mg_dl\", rho = 0.3 }]",
                "correlations = [{ a = \"age_y\", b = \"serum_creatinine_mg_dl\", rho = 0.3 }, { a = \"serum_creatinine_mg_dl\", b = \"age_y\", rho = 0.5 }]",
                "correlated twice",
            ),
            ("at_least = 0.95", "at_least = nan", "population.targets.at_least: NaN is not allowed"),
            ("below = 10.0", "below = -inf", "population.targets.below: -inf is not allowed"),
            ("crp_days = [1, 7, 14, 28]", "crp_days = [1, 7, 7, 28]", "day 7 is listed twice"),
            ("band_interval_h = 4.0", "band_interval_h = 700.0", "at most the duration (672 h)"),
            ("band_interval_h = 4.0", "band_interval_h = 1e-7", "at most 2000"),
            ("max = 160.0", "max = inf", "population.covariates.weight_kg.max: inf is not allowed"),
            ("min = 18.0, max = 90.0", "min = 18.0, max = 150.0", "<= 120 years"),
            ("seed = 20261126", "seed = -1", "population.seed: -1 is not allowed"),
            ("subjects = 1000", "subjects = 100000001", "1 to 100,000,000"),
            ("additive = 72.0", "additive = inf", "population.residual.additive: inf"),
            (
                "parameters = [\"CL_anakinra\", \"V_central\", \"ka_anakinra\"]",
                "parameters = [\"CL_anakinra\", \"CL_anakinra\", \"ka_anakinra\"]",
                "'CL_anakinra' is listed twice",
            ),
        ];
        for (from, to, want) in cases {
            let e = err(from, to);
            assert!(e.contains(want), "{to}: {e}");
        }
    }

    #[test]
    fn truncation_with_negligible_mass_is_refused_at_parse_time() {
        // Weights of 300-400 kg under a log-normal with median 72 kg, CV 20%: 2.9e-13.
        let e = err("min = 35.0, max = 160.0", "min = 300.0, max = 400.0");
        assert!(
            e.contains("population.covariates.weight_kg: min 300 and max 400 hold 2.88e-13"),
            "{e}"
        );
        assert!(e.contains("below the threshold of 1e-6"), "{e}");
        // Each range possible alone, but not together with a strong correlation.
        let text = edited("rho = 0.3", "rho = 0.9")
            .replacen("min = 18.0, max = 90.0", "min = 80.0, max = 90.0", 1)
            .replacen("min = 0.4, max = 10.0", "min = 0.4, max = 0.5", 1);
        let e = parse(&text).unwrap_err();
        assert!(
            e.contains("population.covariates.correlations: with these correlations the limits"),
            "{e}"
        );
        assert!(e.contains("below the threshold of 1e-6"), "{e}");
    }

    #[test]
    fn unlikely_but_possible_truncations_are_sampled() {
        // Ages 100-120 under normal(55, 13) hold 2.7e-4: 1,000 tries failed for 3 subjects in
        // 4; the budget now follows the probability.
        let pop = parse(&edited(
            "min = 18.0, max = 90.0",
            "min = 100.0, max = 120.0",
        ))
        .unwrap();
        let Covariates::Sampled {
            acceptance,
            max_draws,
            ..
        } = pop.covariates
        else {
            panic!()
        };
        assert!((acceptance - 2.69e-4).abs() < 0.05e-4, "{acceptance}");
        assert!(max_draws as f64 >= 50.0 / acceptance);
        for id in 0..40 {
            let d = draw_subject(&pop, id).unwrap();
            assert!(
                (100.0..=120.0).contains(&d.patient.age_y),
                "{}",
                d.patient.age_y
            );
        }
        // Draws that succeeded within 1,000 tries are those of before: the shipped file's
        // budget is 1,000 and its subjects unchanged.
        let pop = parse(RA).unwrap();
        let Covariates::Sampled { max_draws, .. } = pop.covariates else {
            panic!()
        };
        assert_eq!(max_draws, 1000);
    }

    #[test]
    fn a_failed_covariate_draw_is_reported_as_such() {
        let mut pop = parse(&edited(
            "min = 18.0, max = 90.0",
            "min = 100.0, max = 120.0",
        ))
        .unwrap();
        if let Covariates::Sampled { max_draws, .. } = &mut pop.covariates {
            *max_draws = 1;
        }
        let model = crate::il1_model();
        let id = (0..100)
            .find(|&id| draw_subject(&pop, id).is_err())
            .expect("one try in 100 subjects fails");
        let o = simulate_subject(&model, &pop, id, SolverOptions::default());
        assert!(o.sampling_failed() && o.draw.is_none());
        for r in &o.regimens {
            let m = r.as_ref().unwrap_err();
            assert!(
                m.starts_with(&format!("subject {id}: covariate sampling failed")),
                "{m}"
            );
        }
        let mut agg = Aggregates::new(&model, &pop);
        agg.add(&pop, &o);
        assert_eq!((agg.unsampled, agg.failed.clone()), (1, vec![1, 1]));
        assert_eq!(Aggregates::from_bytes(&agg.to_bytes()).unwrap(), agg);
    }

    #[test]
    fn table_rows_are_checked_at_load() {
        let rec = |line: u64, cells: &[(&str, &str)]| {
            (
                line,
                cells
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        let good = rec(
            2,
            &[
                ("weight_kg", "62"),
                ("age_y", "48"),
                ("sex", "female"),
                ("serum_creatinine_mg_dl", "0.8"),
            ],
        );
        let cases = [
            (
                ("weight_kg", "-5"),
                "p.csv:3: column weight_kg = '-5' is not allowed; a number >= 0.5 and <= 400 kg (what the model accepts)",
            ),
            (
                // Under Patient::check's 0.5 kg: refused at load, not a failed solve later.
                ("weight_kg", "0.3"),
                "p.csv:3: column weight_kg = '0.3' is not allowed; a number >= 0.5 and <= 400 kg",
            ),
            (
                ("age_y", "130"),
                "p.csv:3: column age_y = '130' is not allowed; a number >= 0 and <= 120 years",
            ),
            (
                ("serum_creatinine_mg_dl", "0"),
                "p.csv:3: column serum_creatinine_mg_dl = '0' is not allowed; a number > 0 mg/dL",
            ),
            (("sex", "x"), "p.csv:3: column sex = 'x' is not allowed"),
            (
                ("weight_kg", "NaN"),
                "p.csv:3: column weight_kg = 'NaN' is not allowed",
            ),
        ];
        for ((k, v), want) in cases {
            let mut bad = good.clone();
            bad.0 = 3;
            bad.1.insert(k.into(), v.into());
            let e = covariate_rows_from_records(&[good.clone(), bad], "p.csv").unwrap_err();
            assert!(e.starts_with(want), "{e}");
        }
        let crcl = rec(
            4,
            &[
                ("weight_kg", "62"),
                ("age_y", "48"),
                ("sex", "male"),
                ("crcl_ml_min", "350"),
            ],
        );
        let e = covariate_rows_from_records(&[crcl], "p.csv").unwrap_err();
        assert!(e.starts_with("p.csv:4: column crcl_ml_min = '350' is not allowed; a number >= 0 and <= 300 mL/min"), "{e}");
    }

    /// The limits of sampled covariates and the values of table rows are the ranges that
    /// `Patient::check` declares: what one accepts the other does, ends included.
    #[test]
    fn covariate_limits_are_the_patient_ranges() {
        use crate::model::patient::{AGE_RANGE_Y, CRCL_RANGE_ML_MIN, WEIGHT_RANGE_KG};
        for (k, range) in [
            (0, WEIGHT_RANGE_KG),
            (1, AGE_RANGE_Y),
            (3, CRCL_RANGE_ML_MIN),
        ] {
            let a = AcceptedRange::of(k);
            assert_eq!((a.lo, a.hi, a.lo_open), (range.0, range.1, false), "{k}");
        }
        // A sampled weight's min under 0.5 kg is refused at parse time (it used to give
        // subjects that failed at run time).
        let text = edited("min = 35.0, max = 160.0", "min = 0.1, max = 160.0");
        let e = parse(&text).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "t.toml:{}: population.covariates.weight_kg.min: 0.1 is not allowed; a number >= 0.5 and <= 400 kg (what the model accepts)",
                line_of(&text, "min = 0.1")
            )),
            "{e}"
        );
        let e = err("min = 35.0, max = 160.0", "min = 0.0, max = 160.0");
        assert!(e.contains("weight_kg.min: 0 is not allowed"), "{e}");
        assert!(err("min = 35.0, max = 160.0", "min = 35.0, max = 400.5")
            .contains("weight_kg.max: 400.5 is not allowed"));
        parse(&edited("min = 35.0, max = 160.0", "min = 0.5, max = 400.0")).unwrap();
        // Table rows at the ends of every range are accepted and make patients the model
        // accepts; just outside, they are refused at load.
        let row = |w: &str, a: &str, c: &str| {
            (
                2,
                [
                    ("weight_kg", w),
                    ("age_y", a),
                    ("sex", "f"),
                    ("crcl_ml_min", c),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            )
        };
        let rows =
            covariate_rows_from_records(&[row("0.5", "0", "0"), row("400", "120", "300")], "p.csv")
                .unwrap();
        let model = crate::il1_model();
        let mut pop = parse(RA).unwrap();
        pop.covariates = Covariates::Table(rows);
        for id in 0..2 {
            draw_subject(&pop, id)
                .unwrap()
                .patient
                .check(&model, "subject")
                .unwrap();
        }
        for (w, a, c, col) in [
            ("0.49", "50", "100", "weight_kg"),
            ("400.1", "50", "100", "weight_kg"),
            ("70", "-0.1", "100", "age_y"),
            ("70", "120.5", "100", "age_y"),
            ("70", "50", "-1", "crcl_ml_min"),
            ("70", "50", "300.5", "crcl_ml_min"),
        ] {
            let e = covariate_rows_from_records(&[row(w, a, c)], "p.csv").unwrap_err();
            assert!(e.starts_with(&format!("p.csv:2: column {col} = ")), "{e}");
        }
    }

    #[test]
    fn band_times_are_counted_as_generated_and_capped() {
        // The count is the length of the grid, whatever the interval.
        for (d, i) in [
            (672.0, 4.0),
            (672.0, 5.0),
            (672.0, 0.336),
            (672.0, 672.0 / 1999.0),
            (30.0, 4.0),
            (8760.0, 8760.0 / 1999.0),
            (0.1 * 3.0, 0.1),
        ] {
            let t = band_times(d, i);
            assert_eq!(band_time_count(d, i), t.len() as f64, "{d} / {i}");
            assert!(
                t.windows(2).all(|w| w[0] < w[1]) && t[t.len() - 1] <= d,
                "{t:?}"
            );
        }
        // 0.1 × 3 is 0.30000000000000004 h: the grid of 0.1 h still ends at the end.
        assert_eq!(band_times(0.1 * 3.0, 0.1).len(), 4);
        // Exactly duration / 2000 gives 2,001 band times (0 and the end): refused.
        let e = err("band_interval_h = 4.0", "band_interval_h = 0.336");
        assert!(
            e.contains("0.336 h is not allowed; it gives 2001 band times (0 to 672 h), at most 2000 (at least 0.3362 h for this duration"),
            "{e}"
        );
        // The limit the message gives is allowed.
        let pop = parse(&edited("band_interval_h = 4.0", "band_interval_h = 0.3362")).unwrap();
        assert_eq!(pop.band_times_h.len(), 1999);
        let pop = parse(&edited(
            "band_interval_h = 4.0",
            &format!("band_interval_h = {:?}", 672.0 / 1999.0),
        ))
        .unwrap();
        assert_eq!(pop.band_times_h.len(), 2000);
        assert_eq!(pop.band_times_h[1999], 672.0);
        // The default of 4 h is kept where it fits (28 days: 169 times) ...
        let pop = parse(&edited("band_interval_h = 4.0\n", "")).unwrap();
        assert_eq!(pop.band_times_h.len(), 169);
        assert_eq!((pop.band_times_h[1], pop.band_times_h[168]), (4.0, 672.0));
        // ... and widened where it would not (365 days: 2,191 times at 4 h) to the grid of
        // 2,000 times from 0 to the end; 4 h given outright stays an error.
        let year = edited("duration_days = 28", "duration_days = 365");
        let pop = parse(&year.replacen("band_interval_h = 4.0\n", "", 1)).unwrap();
        assert_eq!(pop.band_times_h.len(), MAX_BAND_TIMES);
        assert_eq!(pop.band_times_h[1], 8760.0 / 1999.0);
        assert_eq!(pop.band_times_h[1999], 8760.0);
        let e = parse(&year).unwrap_err();
        assert!(
            e.contains("4 h is not allowed; it gives 2191 band times (0 to 8760 h), at most 2000 (at least 4.383 h"),
            "{e}"
        );
        // The widest default fits any duration a scenario allows (up to 3,650 days).
        for days in [1.0, 28.0, 333.0, 334.0, 365.0, 3650.0] {
            let d: f64 = days * 24.0;
            let i = DEFAULT_BAND_INTERVAL_H
                .min(d)
                .max(widest_band_grid_interval(d));
            assert!(band_times(d, i).len() <= MAX_BAND_TIMES, "{days}");
        }
    }

    #[test]
    fn cockcroft_gault_is_capped_alike_in_tables_and_draws() {
        // 20-year-old, 120 kg man with SCr 0.3: Cockcroft–Gault 667 mL/min.
        let row = (
            2,
            [
                ("weight_kg", "120"),
                ("age_y", "20"),
                ("sex", "male"),
                ("serum_creatinine_mg_dl", "0.3"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        );
        let rows = covariate_rows_from_records(&[row], "p.csv").unwrap();
        assert_eq!(rows[0].crcl_ml_min, CRCL_CAP_ML_MIN);
        assert_eq!(
            crcl_from_creatinine(20.0, 120.0, 0.3, false),
            CRCL_CAP_ML_MIN
        );
        // The sampled path: subject 213 of the shipped file is above the cap.
        let pop = parse(RA).unwrap();
        let d = draw_subject(&pop, 213).unwrap();
        let cg = cockcroft_gault(
            d.patient.age_y,
            d.patient.weight_kg,
            d.serum_creatinine_mg_dl.unwrap(),
            d.patient.sex == Sex::Female,
        );
        assert!(
            cg > CRCL_CAP_ML_MIN && d.patient.crcl_ml_min == CRCL_CAP_ML_MIN,
            "{cg}"
        );
    }

    #[test]
    fn a_table_takes_no_distribution_settings() {
        let start = RA.find("weight_kg = {").unwrap();
        let end = RA.find("[population.variability]").unwrap();
        let table = format!("{}table = \"p.csv\"\n\n{}", &RA[..start], &RA[end..]);
        assert!(parse(&table).is_ok());
        let with_ff = table.replacen(
            "table = \"p.csv\"",
            "table = \"p.csv\"\nfemale_fraction = 0.5",
            1,
        );
        assert!(parse(&with_ff)
            .unwrap_err()
            .contains("female_fraction: not allowed with a table"));
    }

    #[test]
    fn normal_tail_and_quantile_are_accurate() {
        // Reference values: 0.5 erfc(x / sqrt 2) of Python's math module.
        for (x, sf) in [
            (-1.0, 0.841_344_746_068_542_9),
            (1.96, 0.024_997_895_148_220_435),
            (45.0 / 13.0, 2.685_486_846_444_473_3e-4),
            (5.0, 2.866_515_718_791_946e-7),
            (8.0, 6.220_960_574_271_819e-16),
        ] {
            assert!(
                (normal_sf(x) / sf - 1.0).abs() < 2e-7,
                "{x}: {} vs {sf}",
                normal_sf(x)
            );
        }
        for p in [1e-12, 1e-6, 0.01, 0.3, 0.5, 0.9, 0.999] {
            let x = normal_quantile(p);
            assert!((normal_sf(-x) / p - 1.0).abs() < 1e-6, "{p}");
        }
    }

    #[test]
    fn ghk_estimate_agrees_with_counting() {
        // Two covariates correlated 0.6, each truncated to its upper 30%, the other way round
        // for the second: P about 2%.
        let r = DMatrix::from_row_slice(2, 2, &[1.0, 0.6, 0.6, 1.0]);
        let l = cholesky_checked(&r).unwrap();
        let bounds = [(0.5244, f64::INFINITY), (f64::NEG_INFINITY, -0.5244)];
        let ghk = box_probability(&l, &bounds);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 400_000;
        let mut hits = 0;
        for _ in 0..n {
            let w: [f64; 2] = [
                StandardNormal.sample(&mut rng),
                StandardNormal.sample(&mut rng),
            ];
            let z = [w[0], l[(1, 0)] * w[0] + l[(1, 1)] * w[1]];
            hits += (z[0] >= bounds[0].0 && z[1] <= bounds[1].1) as u32;
        }
        let counted = hits as f64 / n as f64;
        assert!((ghk / counted - 1.0).abs() < 0.05, "{ghk} vs {counted}");
    }

    #[test]
    fn shard_ranges_do_not_overflow() {
        let r = shard_range(MAX_SUBJECTS, u64::MAX / 2, u64::MAX / 2);
        assert_eq!(r.end, MAX_SUBJECTS);
        assert!(shard_range(3, 1, 4).is_empty());
    }
}
