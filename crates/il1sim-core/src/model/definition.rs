//! The checked model: compartments, species, parameters (base and derived), signals,
//! reactions, drugs, observables and disease overlays, with indices instead of names, and
//! the lookups by name. `file.rs` builds it from a model file; `parameters.rs` and
//! `compile.rs` give one subject's numbers and system.

use super::units::Dimension;
use exmex::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Index of a parameter (base or derived) in [`ParameterValues::values`].
pub type ParamId = usize;

/// Patient covariates available to derived-parameter expressions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Covariates {
    pub weight_kg: f64,
    pub age_y: f64,
    pub crcl_ml_min: f64,
    pub female: bool,
}

impl Covariates {
    /// Age below which the paediatric parameter set applies (18 years: Urien 2013 studied
    /// 8 months to 21 years; adult data come from Yang 2003 in adults).
    pub const ADULT_AGE_Y: f64 = 18.0;

    pub(super) fn named(&self) -> [(&'static str, f64); 5] {
        [
            ("weight_kg", self.weight_kg),
            ("age_y", self.age_y),
            ("crcl_ml_min", self.crcl_ml_min),
            ("female", if self.female { 1.0 } else { 0.0 }),
            (
                "child",
                if self.age_y < Self::ADULT_AGE_Y {
                    1.0
                } else {
                    0.0
                },
            ),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct Compartment {
    pub name: String,
    pub description: String,
    pub volume: Option<ParamId>,
}

#[derive(Debug, Clone)]
pub struct Species {
    pub name: String,
    pub compartment: usize,
    pub description: String,
    pub scale: f64,
    pub initial: f64,
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    /// Value in canonical units (h, L, nmol, nM).
    pub value: f64,
    pub unit: String,
    pub to_canonical: f64,
    pub dimension: Dimension,
    pub source: String,
    pub description: String,
    /// `None` for base parameters; the expression for derived ones.
    pub expr: Option<String>,
    /// Plausible range (fold changes of the subject's value) and its source, for global
    /// sensitivity analysis.
    pub range: Option<ParameterRange>,
    /// A switch or structural number, left out of sensitivity analysis.
    pub structural: bool,
}

/// A parameter's plausible range as fold changes of the subject's value (low <= 1 <= high),
/// with where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterRange {
    pub low_fold: f64,
    pub high_fold: f64,
    pub source: String,
}

#[derive(Debug, Clone)]
pub(super) struct Derived {
    pub(super) id: ParamId,
    pub(super) expr: FlatEx<f64>,
    /// For each variable of `expr` (alphabetical, as exmex wants): where its value comes from.
    pub(super) inputs: Vec<DerivedInput>,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum DerivedInput {
    Parameter(ParamId),
    Covariate(usize),
}

#[derive(Debug, Clone)]
pub struct Signal {
    pub name: String,
    pub species: Vec<usize>,
    pub receptor_total: ParamId,
    pub efficacy: ParamId,
    pub slope: ParamId,
    pub description: String,
}

/// A reaction of the model file, resolved to species and parameter indices (public so that
/// exporters such as SBML can write the original rate laws).
#[derive(Debug, Clone, PartialEq)]
pub enum Reaction {
    ZeroOrder {
        species: usize,
        rate: ParamId,
    },
    FirstOrder {
        species: usize,
        rate: ParamId,
    },
    Clearance {
        species: usize,
        clearance: ParamId,
    },
    Transfer {
        from: usize,
        to: usize,
        rate: ParamId,
    },
    Exchange {
        a: usize,
        b: usize,
        clearance: ParamId,
    },
    Binding {
        a: usize,
        b: usize,
        complex: usize,
        kon: ParamId,
        koff: ParamId,
    },
    Conversion {
        from: usize,
        to: usize,
        forward: ParamId,
        reverse: ParamId,
    },
    SignalProduction {
        species: usize,
        rate: ParamId,
        basal: ParamId,
        gain: ParamId,
        signal: usize,
    },
    DrivenProduction {
        species: usize,
        rate: ParamId,
        driver: usize,
        reference: ParamId,
        exponent: ParamId,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteKind {
    Subcutaneous,
    Intravenous,
}

impl RouteKind {
    pub fn parse(text: &str) -> Option<RouteKind> {
        match text {
            "sc" => Some(RouteKind::Subcutaneous),
            "iv" => Some(RouteKind::Intravenous),
            _ => None,
        }
    }
    pub fn label(&self) -> &'static str {
        match self {
            RouteKind::Subcutaneous => "sc",
            RouteKind::Intravenous => "iv",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Route {
    pub target: usize,
    pub bioavailability: Option<ParamId>,
    pub lag: Option<ParamId>,
}

#[derive(Debug, Clone)]
pub struct Drug {
    pub name: String,
    pub molar_mass: ParamId,
    pub concentration_species: usize,
    pub routes: BTreeMap<RouteKind, Route>,
}

#[derive(Debug, Clone)]
pub enum ObservableKind {
    /// Concentration of one species (plus, for totals, other species of the same compartment),
    /// converted from nM to the observable's unit (which may need the molar mass).
    Concentration {
        species: usize,
        plus: Vec<usize>,
        molar_mass: Option<ParamId>,
    },
    Fraction {
        numerator: Vec<usize>,
        denominator: Vec<usize>,
    },
    Signal {
        signal: usize,
    },
    /// The signal divided by its value in the same patient without drug.
    SignalRelative {
        signal: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Observable {
    pub name: String,
    pub unit: String,
    pub description: String,
    pub kind: ObservableKind,
}

impl Observable {
    /// Column name in `timecourse.csv`: `<observable>_<unit>`.
    pub fn column(&self) -> String {
        format!("{}_{}", self.name, super::units::unit_slug(&self.unit))
    }
}

#[derive(Debug, Clone)]
pub struct Disease {
    pub name: String,
    pub description: String,
    /// (parameter, canonical value, source)
    pub overrides: Vec<(ParamId, f64, String)>,
}

/// A checked model: structure with parameter indices. Numbers for one subject come from
/// [`Model::parameter_values`] and [`Model::system`].
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    /// Where the model came from (its file name), so that errors found later, per subject,
    /// name the file to fix.
    pub origin: String,
    pub description: String,
    pub default_disease: String,
    pub compartments: Vec<Compartment>,
    pub species: Vec<Species>,
    pub parameters: Vec<Parameter>,
    pub signals: Vec<Signal>,
    pub drugs: Vec<Drug>,
    pub observables: Vec<Observable>,
    pub diseases: BTreeMap<String, Disease>,
    pub(super) derived: Vec<Derived>,
    /// Reactions in file order, with their names.
    pub reactions: Vec<Reaction>,
    pub reaction_names: Vec<String>,
    pub(super) param_index: HashMap<String, ParamId>,
    pub(super) species_index: HashMap<String, usize>,
}

/// Parameter values (canonical units) for one subject, indexed by [`ParamId`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterValues {
    pub values: Vec<f64>,
    pub disease: String,
}

pub(super) const COVARIATE_NAMES: [&str; 5] =
    ["weight_kg", "age_y", "crcl_ml_min", "female", "child"];

impl Model {
    pub fn parameter_id(&self, name: &str) -> Option<ParamId> {
        self.param_index.get(name).copied()
    }

    pub fn observable_id(&self, name: &str) -> Option<usize> {
        self.observables.iter().position(|o| o.name == name)
    }

    pub fn species_id(&self, name: &str) -> Option<usize> {
        self.species_index.get(name).copied()
    }

    pub fn drug(&self, name: &str) -> Option<&Drug> {
        self.drugs.iter().find(|d| d.name == name)
    }

    pub fn disease_names(&self) -> Vec<String> {
        self.diseases.keys().cloned().collect()
    }
}

pub(super) fn check_value(v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!("{v} is not allowed; values must be finite and >= 0 (negative rates, volumes or concentrations have no meaning)"))
    }
}

/// A value in unit `fraction` must lie in [0, 1] (a bioavailability of 1.95 is a typing
/// error); dimensionless numbers that may exceed 1 are written with unit `1` or `ratio`.
pub(super) fn check_fraction(unit: &str, v: f64) -> Result<(), String> {
    if unit == "fraction" && !(0.0..=1.0).contains(&v) {
        Err(format!(
            "{v} is not allowed; a value in unit 'fraction' must be within 0 and 1 (write unit \
             \"ratio\" or \"1\" for a number that may exceed 1)"
        ))
    } else {
        Ok(())
    }
}
