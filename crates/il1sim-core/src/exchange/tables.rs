//! The `[population]` and `[trial]` tables as written (serde types): `scenario.rs` reads
//! them with the rest of a file, `population_file.rs` and `trial_file.rs` check them.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

// ------------------------------------------------------------------ file format

// Every value that a check (in `population_file.rs`) can refuse is `Spanned`, so that the
// error names the line of the offending key (not the line of the `[population]` header).
// Integers that must be positive are read as `i64` and range-checked there: a `u64` field would
// make TOML's own "expected u64" error, which cannot name the key path.

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpecFile {
    pub subjects: Spanned<i64>,
    pub seed: Spanned<i64>,
    pub disease: Spanned<String>,
    /// `exact` when absent.
    pub method: Option<Spanned<String>>,
    /// 4 h when absent, cut to the duration and widened to fit [`crate::population::aggregates::MAX_BAND_TIMES`].
    pub band_interval_h: Option<Spanned<f64>>,
    /// Days 1, 7, 14 and 28 when absent.
    pub crp_days: Option<Vec<Spanned<i64>>>,
    /// [`super::population_file::DEFAULT_BAND_OBSERVABLES`] when absent.
    pub band_observables: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub full_timecourses: bool,
    /// Trial inclusion: a subject whose untreated CRP is below this (mg/L) is a screen failure
    /// and is redrawn (`inclusion_crp_untreated_at_least_mg_l`); none when absent.
    pub inclusion_crp_untreated_at_least_mg_l: Option<Spanned<f64>>,
    pub covariates: Spanned<CovariateSpec>,
    pub variability: Option<Spanned<VariabilitySpec>>,
    #[serde(default)]
    pub residual: Vec<Spanned<ResidualFile>>,
    #[serde(default)]
    pub targets: Vec<Spanned<TargetFile>>,
}

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

/// `[[population.residual]]` as written; checked into a [`crate::population::definition::ResidualSpec`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResidualFile {
    pub observable: Spanned<String>,
    pub additive: Option<Spanned<f64>>,
    pub proportional: Option<Spanned<f64>>,
    pub source: String,
}

/// `[[population.targets]]` as written; checked into a [`crate::population::definition::TargetSpec`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    pub name: Spanned<String>,
    pub figure: Spanned<String>,
    pub at_least: Option<Spanned<f64>>,
    pub below: Option<Spanned<f64>>,
}

// ------------------------------------------------------------------ trial

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
