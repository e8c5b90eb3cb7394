//! The checked population: regimens, subjects and seed, simulation method, band times and
//! observables, covariates (distributions or a table), inter-individual variability,
//! residual error and attainment targets, and the per-subject figures.

use crate::dosing::regimen::Regimen;
use crate::model::definition::ParamId;
use nalgebra::DMatrix;

#[derive(Debug, Clone, PartialEq)]
pub struct ResidualSpec {
    /// Observable whose simulated measurement gets the error (its unit applies).
    pub observable: String,
    pub additive: f64,
    pub proportional: f64,
    /// The observable is a drug's plasma concentration in ng/mL, so a population run
    /// simulates a measured trough with this error; other entries (CRP, SAA) are used by
    /// estimation only.
    pub on_trough: bool,
    pub source: String,
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
/// periodic orbit once periodic dosing has reached it ([`crate::solve::fast`]); `Batched` is
/// the fast method for several subjects at once on the lane integrator
/// ([`crate::solve::batch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulationMethod {
    Exact,
    Fast,
    Batched,
}

impl SimulationMethod {
    pub fn parse(text: &str) -> Option<SimulationMethod> {
        match text {
            "exact" => Some(SimulationMethod::Exact),
            "fast" => Some(SimulationMethod::Fast),
            "batched" => Some(SimulationMethod::Batched),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            SimulationMethod::Exact => "exact",
            SimulationMethod::Fast => "fast",
            SimulationMethod::Batched => "batched",
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
    pub(super) fn value(&self, z: f64) -> f64 {
        match self.kind {
            MarginalKind::Normal { mean, sd } => mean + sd * z,
            MarginalKind::LogNormal { median, sigma } => median * (sigma * z).exp(),
        }
    }

    /// The limits in standard-normal units (`value` inverted); a log-normal's min of 0 is
    /// no limit at all.
    pub(crate) fn z_limits(&self) -> (f64, f64) {
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
        /// [`super::sampling::draw_budget`] of the probability that one try falls inside all limits.
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
    pub inclusion: Option<Inclusion>,
}

/// Inclusion as a trial screens patients: a draw whose untreated CRP (observable `crp`, mg/L)
/// is below the limit is a screen failure and the subject is drawn again from its own stream,
/// up to [`MAX_SCREENS`] times. Without it, variability on IL-1 production puts part of a
/// disease population in the quiet state (normal CRP untreated), which no trial enrols.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inclusion {
    pub crp_untreated_at_least_mg_l: f64,
    /// Index of the `crp` observable.
    pub crp_observable: usize,
}

/// Draws per subject before inclusion gives up (and the subject counts as failed).
pub const MAX_SCREENS: u32 = 100;

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
pub(crate) fn figure_names(crp_days: &[u32]) -> Vec<String> {
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
