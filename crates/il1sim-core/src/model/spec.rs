//! The model file as written by people: serde structures mirroring `models/*.toml`.
//! Nothing here is interpreted; [`super::definition::Model::from_spec`] checks and compiles it.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub model: ModelMeta,
    #[serde(default)]
    pub compartments: Vec<CompartmentSpec>,
    #[serde(default)]
    pub species: Vec<SpeciesSpec>,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterSpec>,
    #[serde(default)]
    pub derived: BTreeMap<String, DerivedSpec>,
    #[serde(default)]
    pub signals: Vec<SignalSpec>,
    #[serde(default)]
    pub reactions: Vec<ReactionSpec>,
    #[serde(default)]
    pub drugs: Vec<DrugSpec>,
    #[serde(default)]
    pub observables: Vec<ObservableSpec>,
    #[serde(default)]
    pub diseases: BTreeMap<String, DiseaseSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMeta {
    pub name: String,
    pub description: String,
    /// Disease overlay used when a patient names none.
    pub default_disease: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompartmentSpec {
    pub name: String,
    pub description: String,
    /// Parameter (or derived parameter) holding the volume; absent for amount
    /// compartments such as an SC depot, whose species are amounts.
    pub volume: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeciesSpec {
    pub name: String,
    pub compartment: String,
    pub description: String,
    /// Typical magnitude in canonical units (nM, or nmol in amount compartments); sets
    /// the absolute tolerance for species that are zero at baseline.
    pub scale: f64,
    /// Constant species are parameters in disguise (not integrated).
    #[serde(default)]
    pub initial: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    pub value: f64,
    pub unit: String,
    pub source: String,
    #[serde(default)]
    pub description: String,
    /// Plausible range as fold changes of the subject's value, [low, high] with
    /// 0 < low <= 1 <= high, for global sensitivity analysis; needs `range_source`. Folds,
    /// not absolute values, so that a range applies to the disease overlay's value and to a
    /// derived value scaled by weight or renal function alike.
    #[serde(default)]
    pub range_fold: Option<[f64; 2]>,
    /// Where the range comes from (a paper, the spread of a population, or an assumption).
    #[serde(default)]
    pub range_source: String,
    /// A switch or a number of the model's structure (0/1), not a physical quantity:
    /// sensitivity analysis leaves it out.
    #[serde(default)]
    pub structural: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedSpec {
    /// Arithmetic over parameters and covariates (`weight_kg`, `age_y`, `crcl_ml_min`,
    /// `female`, `child`), evaluated once per subject; the result is in `unit`.
    pub expr: String,
    pub unit: String,
    pub source: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalSpec {
    pub name: String,
    /// Only `operational` (Black & Leff): S = (τρ)^n / (1 + (τρ)^n), ρ = Σ species / R_total.
    pub kind: String,
    pub species: Vec<String>,
    pub receptor_total: String,
    pub efficacy: String,
    pub slope: String,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactionSpec {
    pub name: String,
    pub kind: String,
    pub description: String,
    pub species: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub a: Option<String>,
    pub b: Option<String>,
    pub complex: Option<String>,
    pub rate: Option<String>,
    pub clearance: Option<String>,
    pub kon: Option<String>,
    pub koff: Option<String>,
    pub forward: Option<String>,
    pub reverse: Option<String>,
    pub signal: Option<String>,
    pub basal: Option<String>,
    pub gain: Option<String>,
    pub driver: Option<String>,
    pub reference: Option<String>,
    pub exponent: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrugSpec {
    pub name: String,
    pub molar_mass: String,
    /// Species whose concentration is the drug's plasma concentration (PK metrics).
    pub concentration_species: String,
    /// Species that carries the administered drug in each route.
    pub routes: BTreeMap<String, RouteSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub target: String,
    pub bioavailability: Option<String>,
    pub lag: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservableSpec {
    pub name: String,
    pub unit: String,
    /// `concentration`, `fraction`, `signal` or `signal_relative`.
    pub kind: String,
    pub description: String,
    pub species: Option<String>,
    /// Species added to `species` for a total (e.g. drug-bound complexes), same compartment.
    pub plus: Option<Vec<String>>,
    pub molar_mass: Option<String>,
    pub numerator: Option<Vec<String>>,
    pub denominator: Option<Vec<String>>,
    pub signal: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiseaseSpec {
    pub description: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterSpec>,
}
