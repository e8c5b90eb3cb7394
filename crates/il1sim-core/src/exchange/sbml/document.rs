//! The parts of an SBML document: compartments, species, parameters, rules, reactions,
//! events, unit definitions, and the model that holds them; only finite numbers go in.

use super::math::Math;
use crate::error::ModelError;

// ------------------------------------------------------------------------------- document

#[derive(Debug, Clone, PartialEq)]
pub struct SbmlCompartment {
    pub id: String,
    pub name: String,
    /// Litres.
    pub size: f64,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SbmlSpecies {
    pub id: String,
    pub name: String,
    pub compartment: String,
    /// Initial concentration (nM), or initial amount (nmol) when `amount` is true.
    pub initial: f64,
    /// Amount species (`hasOnlySubstanceUnits="true"`): the SC depot.
    pub amount: bool,
    /// il1sim's scale of the state for absolute tolerances (nM or nmol): il1sim's solver
    /// uses `atol × scale` per state.
    pub atol_scale: f64,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SbmlParameter {
    pub id: String,
    pub name: String,
    /// Value, or the initial value for a non-constant parameter (rules recompute it).
    pub value: f64,
    pub units: Option<String>,
    pub constant: bool,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SbmlRule {
    pub variable: String,
    pub math: Math,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SbmlReaction {
    pub id: String,
    pub name: String,
    pub reversible: bool,
    pub reactants: Vec<String>,
    pub products: Vec<String>,
    pub modifiers: Vec<String>,
    /// Kinetic law, nmol/h.
    pub law: Math,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SbmlEvent {
    pub id: String,
    pub name: String,
    /// Fires when `time >= time_h`.
    pub time_h: f64,
    /// (variable, new value).
    pub assignments: Vec<(String, Math)>,
    pub notes: Vec<String>,
}

/// A unit definition: (kind, exponent, scale, multiplier) per unit.
#[derive(Debug, Clone, PartialEq)]
pub struct SbmlUnitDefinition {
    pub id: &'static str,
    pub units: Vec<(&'static str, i32, i32, f64)>,
}

/// The content of the document, before it is written as XML.
#[derive(Debug, Clone, PartialEq)]
pub struct SbmlModel {
    pub id: String,
    pub name: String,
    pub notes: Vec<String>,
    pub unit_definitions: Vec<SbmlUnitDefinition>,
    pub compartments: Vec<SbmlCompartment>,
    pub species: Vec<SbmlSpecies>,
    pub parameters: Vec<SbmlParameter>,
    pub rules: Vec<SbmlRule>,
    pub reactions: Vec<SbmlReaction>,
    pub events: Vec<SbmlEvent>,
    /// Observable columns (`timecourse.csv` names), each an assigned parameter.
    pub observable_columns: Vec<String>,
}

pub(super) fn finite(value: f64, what: &str) -> Result<f64, ModelError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ModelError::invalid(
            "export-sbml",
            format!("{what} is {value}; only finite numbers can be exported"),
        ))
    }
}
