//! SBML Level 3 Version 2 core export of one subject (model, disease overlay, patient
//! parameters) and one regimen, runnable as it is by libRoadRunner or COPASI.
//!
//! The export is built in two steps: [`sbml_model`] turns a [`Subject`] and a [`Regimen`]
//! into an [`SbmlModel`] (ids, numbers and rate laws as [`Math`] trees that can also be
//! evaluated, which the tests use to check the rate laws against [`crate::model::system`]), and
//! [`SbmlModel::to_xml`] writes the document. [`export_sbml`] does both.
//!
//! Conventions of the document:
//!
//! * Units: time hour, substance nmol, volume litre (all declared as unit definitions);
//!   every number is in il1sim's canonical units (h, L, nmol, nM). Parameters carry the
//!   numbers of this patient (disease overlay applied, derived parameters evaluated); the
//!   expressions they came from are in their notes.
//! * Species in compartments with a volume are concentrations (nM). Species in a
//!   compartment without a volume (the SC depot) are amounts (nmol,
//!   `hasOnlySubstanceUnits="true"`) in a compartment of size 1 L.
//! * Kinetic laws are in amount per time (nmol/h): the concentration rates of the compiled
//!   system times the compartment volume, term by term as in [`crate::model::definition::Model::system`].
//! * Each operational-model signal is a parameter with an assignment rule, S = x/(1+x),
//!   x = (τ·ρ)^n for ρ > 0 (else 0), ρ = Σ complexes / R_total, with two helper parameters
//!   `<signal>_occupancy` (ρ) and `<signal>_stimulus` (x).
//! * Observables are parameters with assignment rules, named exactly like the columns of
//!   `timecourse.csv` (`crp_mg_per_L`, ...).
//! * Doses are events, one per distinct dose time, with trigger `time >= t_dose`
//!   (`initialValue="false"`, `persistent="true"`, `useValuesFromTriggerTime="true"`).
//!   A dose at t = 0 is an event too: by the SBML semantics a trigger that is true at the
//!   start with `initialValue="false"` fires at t = 0, and libRoadRunner and COPASI do so
//!   (checked by `benches/roadrunner/compare.py`), so no initial-condition trick is needed. Boluses into the same species at the same time are
//!   summed into one assignment; infusions set an input-rate parameter (nmol/h) feeding an
//!   extra reaction, to its new absolute value, so simultaneous switches cannot overwrite
//!   each other.
//! * il1sim reports the state at a dose time before the dose (trough); SBML simulators
//!   usually report it after the event fired. Compare left limits at dose times.
//! * Doses (and infusion starts) at or after the horizon are left out, as the engine
//!   ignores them; the end of an infusion that started before the horizon is kept.

use crate::dosing::inputs::StateInput;
use crate::dosing::regimen::Regimen;
use crate::error::{ModelError, SimError};
use crate::model::definition::{Model, ObservableKind, ParamId, Reaction};
use crate::model::units::Dimension;
use crate::solve::subject::Subject;
use crate::time::same_time;
use std::collections::HashSet;
use std::fmt::Write as _;

pub const SBML_NAMESPACE: &str = "http://www.sbml.org/sbml/level3/version2/core";
const MATHML_NAMESPACE: &str = "http://www.w3.org/1998/Math/MathML";
const XHTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";
/// Namespace of il1sim's own annotations (the solver's absolute-tolerance scale per species).
pub const ANNOTATION_NAMESPACE: &str = "urn:il1sim:sbml-annotation:1";
const TIME_URL: &str = "http://www.sbml.org/sbml/symbols/time";

/// The SBML document text for `subject` under `regimen` over `horizon_h` hours.
pub fn export_sbml(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
) -> Result<String, SimError> {
    Ok(sbml_model(subject, regimen, horizon_h)?.to_xml())
}

// ------------------------------------------------------------------------------- math

/// A MathML expression (the subset the export writes). Comparisons evaluate to 1 or 0.
#[derive(Debug, Clone, PartialEq)]
pub enum Math {
    Num(f64),
    /// A number with units (an SBML unit id), written as `<cn sbml:units="...">`.
    Quantity(f64, String),
    /// A reference to a compartment, species or parameter id.
    Id(String),
    /// Simulation time (h).
    Time,
    Plus(Vec<Math>),
    Times(Vec<Math>),
    Minus(Box<Math>, Box<Math>),
    Divide(Box<Math>, Box<Math>),
    Power(Box<Math>, Box<Math>),
    Gt(Box<Math>, Box<Math>),
    Geq(Box<Math>, Box<Math>),
    /// `value` if `condition`, else `otherwise`.
    Piecewise {
        value: Box<Math>,
        condition: Box<Math>,
        otherwise: Box<Math>,
    },
}

fn quantity(value: f64, units: &str) -> Math {
    Math::Quantity(value, units.to_string())
}

fn id(name: &str) -> Math {
    Math::Id(name.to_string())
}

fn times(terms: Vec<Math>) -> Math {
    Math::Times(terms)
}

fn minus(a: Math, b: Math) -> Math {
    Math::Minus(Box::new(a), Box::new(b))
}

fn divide(a: Math, b: Math) -> Math {
    Math::Divide(Box::new(a), Box::new(b))
}

fn power(a: Math, b: Math) -> Math {
    Math::Power(Box::new(a), Box::new(b))
}

impl Math {
    /// Evaluate with `lookup` giving the value of each id and `time` the simulation time.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> f64, time: f64) -> f64 {
        let b = |v: bool| if v { 1.0 } else { 0.0 };
        match self {
            Math::Num(x) | Math::Quantity(x, _) => *x,
            Math::Id(name) => lookup(name),
            Math::Time => time,
            Math::Plus(v) => v.iter().map(|m| m.eval(lookup, time)).sum(),
            Math::Times(v) => v.iter().map(|m| m.eval(lookup, time)).product(),
            Math::Minus(a, c) => a.eval(lookup, time) - c.eval(lookup, time),
            Math::Divide(a, c) => a.eval(lookup, time) / c.eval(lookup, time),
            Math::Power(a, c) => a.eval(lookup, time).powf(c.eval(lookup, time)),
            Math::Gt(a, c) => b(a.eval(lookup, time) > c.eval(lookup, time)),
            Math::Geq(a, c) => b(a.eval(lookup, time) >= c.eval(lookup, time)),
            Math::Piecewise {
                value,
                condition,
                otherwise,
            } => {
                if condition.eval(lookup, time) != 0.0 {
                    value.eval(lookup, time)
                } else {
                    otherwise.eval(lookup, time)
                }
            }
        }
    }

    /// Every id the expression refers to.
    pub fn ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_ids(&mut out);
        out
    }

    fn collect_ids(&self, out: &mut Vec<String>) {
        match self {
            Math::Num(_) | Math::Quantity(..) | Math::Time => {}
            Math::Id(name) => out.push(name.clone()),
            Math::Plus(v) | Math::Times(v) => v.iter().for_each(|m| m.collect_ids(out)),
            Math::Minus(a, b)
            | Math::Divide(a, b)
            | Math::Power(a, b)
            | Math::Gt(a, b)
            | Math::Geq(a, b) => {
                a.collect_ids(out);
                b.collect_ids(out);
            }
            Math::Piecewise {
                value,
                condition,
                otherwise,
            } => {
                value.collect_ids(out);
                condition.collect_ids(out);
                otherwise.collect_ids(out);
            }
        }
    }

    /// Infix text (SBML L3 formula style), for notes.
    pub fn infix(&self) -> String {
        self.infix_prec(0)
    }

    /// Precedence: 0 comparison, 1 sum, 2 product, 3 power, 4 atom.
    fn infix_prec(&self, outer: u8) -> String {
        let wrap = |s: String, own: u8| {
            if own < outer {
                format!("({s})")
            } else {
                s
            }
        };
        match self {
            Math::Num(x) => fmt_num(*x),
            Math::Quantity(x, units) => format!("{} {units}", fmt_num(*x)),
            Math::Id(name) => name.clone(),
            Math::Time => "time".into(),
            Math::Plus(v) => wrap(
                v.iter()
                    .map(|m| m.infix_prec(1))
                    .collect::<Vec<_>>()
                    .join(" + "),
                1,
            ),
            Math::Times(v) => wrap(
                v.iter()
                    .map(|m| m.infix_prec(2))
                    .collect::<Vec<_>>()
                    .join(" * "),
                2,
            ),
            Math::Minus(a, b) => wrap(format!("{} - {}", a.infix_prec(1), b.infix_prec(2)), 1),
            Math::Divide(a, b) => wrap(format!("{} / {}", a.infix_prec(2), b.infix_prec(3)), 2),
            Math::Power(a, b) => wrap(format!("{}^{}", a.infix_prec(4), b.infix_prec(4)), 3),
            Math::Gt(a, b) => wrap(format!("{} > {}", a.infix_prec(1), b.infix_prec(1)), 0),
            Math::Geq(a, b) => wrap(format!("{} >= {}", a.infix_prec(1), b.infix_prec(1)), 0),
            Math::Piecewise {
                value,
                condition,
                otherwise,
            } => format!(
                "piecewise({}, {}, {})",
                value.infix(),
                condition.infix(),
                otherwise.infix()
            ),
        }
    }

    fn write_mathml(&self, out: &mut String) {
        let apply = |out: &mut String, op: &str, args: &[&Math]| {
            let _ = write!(out, "<apply><{op}/>");
            for a in args {
                a.write_mathml(out);
            }
            out.push_str("</apply>");
        };
        match self {
            Math::Num(x) => {
                let _ = write!(out, "<cn>{}</cn>", fmt_num(*x));
            }
            Math::Quantity(x, units) => {
                let _ = write!(
                    out,
                    "<cn sbml:units=\"{}\">{}</cn>",
                    escape(units),
                    fmt_num(*x)
                );
            }
            Math::Id(name) => {
                let _ = write!(out, "<ci>{}</ci>", escape(name));
            }
            Math::Time => {
                let _ = write!(
                    out,
                    "<csymbol encoding=\"text\" definitionURL=\"{TIME_URL}\">time</csymbol>"
                );
            }
            Math::Plus(v) => apply(out, "plus", &v.iter().collect::<Vec<_>>()),
            Math::Times(v) => apply(out, "times", &v.iter().collect::<Vec<_>>()),
            Math::Minus(a, b) => apply(out, "minus", &[a, b]),
            Math::Divide(a, b) => apply(out, "divide", &[a, b]),
            Math::Power(a, b) => apply(out, "power", &[a, b]),
            Math::Gt(a, b) => apply(out, "gt", &[a, b]),
            Math::Geq(a, b) => apply(out, "geq", &[a, b]),
            Math::Piecewise {
                value,
                condition,
                otherwise,
            } => {
                out.push_str("<piecewise><piece>");
                value.write_mathml(out);
                condition.write_mathml(out);
                out.push_str("</piece><otherwise>");
                otherwise.write_mathml(out);
                out.push_str("</otherwise></piecewise>");
            }
        }
    }

    /// `<math>` element with this expression.
    pub fn to_mathml(&self) -> String {
        let mut body = String::new();
        self.write_mathml(&mut body);
        let mut s = if body.contains("sbml:units") {
            format!("<math xmlns=\"{MATHML_NAMESPACE}\" xmlns:sbml=\"{SBML_NAMESPACE}\">")
        } else {
            format!("<math xmlns=\"{MATHML_NAMESPACE}\">")
        };
        s.push_str(&body);
        s.push_str("</math>");
        s
    }
}

/// Shortest text that parses back to exactly `x` (plain decimals in a readable range,
/// scientific notation outside it).
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-4..1e15).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

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

fn unit_definitions() -> Vec<SbmlUnitDefinition> {
    const H: f64 = 3600.0;
    let d = |id, units| SbmlUnitDefinition { id, units };
    vec![
        d("hour", vec![("second", 1, 0, H)]),
        // Declared so that no tool has to guess; nothing in the model has an area.
        d("square_metre", vec![("metre", 2, 0, 1.0)]),
        d("per_hour", vec![("second", -1, 0, H)]),
        d("nmol", vec![("mole", 1, -9, 1.0)]),
        d("nM", vec![("mole", 1, -9, 1.0), ("litre", -1, 0, 1.0)]),
        d("pM", vec![("mole", 1, -12, 1.0), ("litre", -1, 0, 1.0)]),
        d(
            "litre_per_hour",
            vec![("litre", 1, 0, 1.0), ("second", -1, 0, H)],
        ),
        d(
            "nmol_per_hour",
            vec![("mole", 1, -9, 1.0), ("second", -1, 0, H)],
        ),
        d(
            "nM_per_hour",
            vec![
                ("mole", 1, -9, 1.0),
                ("litre", -1, 0, 1.0),
                ("second", -1, 0, H),
            ],
        ),
        d(
            "per_nM_per_hour",
            vec![
                ("mole", -1, -9, 1.0),
                ("litre", 1, 0, 1.0),
                ("second", -1, 0, H),
            ],
        ),
        // 1 kDa = 1 kg/mol.
        d("kDa", vec![("kilogram", 1, 0, 1.0), ("mole", -1, 0, 1.0)]),
        d(
            "ng_per_mL",
            vec![("gram", 1, -9, 1.0), ("litre", -1, -3, 1.0)],
        ),
        d(
            "pg_per_mL",
            vec![("gram", 1, -12, 1.0), ("litre", -1, -3, 1.0)],
        ),
        d(
            "ug_per_L",
            vec![("gram", 1, -6, 1.0), ("litre", -1, 0, 1.0)],
        ),
        d(
            "mg_per_L",
            vec![("gram", 1, -3, 1.0), ("litre", -1, 0, 1.0)],
        ),
        d(
            "ug_per_mL",
            vec![("gram", 1, -6, 1.0), ("litre", -1, -3, 1.0)],
        ),
        d(
            "mg_per_dL",
            vec![("gram", 1, -3, 1.0), ("litre", -1, -1, 1.0)],
        ),
        // Factors from nM to the observable units (mass units per nM are g/mol multiples).
        d("pM_per_nM", vec![("dimensionless", 1, -3, 1.0)]),
        d(
            "ng_per_mL_per_nM",
            vec![("gram", 1, 3, 1.0), ("mole", -1, 0, 1.0)],
        ),
        d(
            "pg_per_mL_per_nM",
            vec![("gram", 1, 0, 1.0), ("mole", -1, 0, 1.0)],
        ),
        d(
            "mg_per_L_per_nM",
            vec![("gram", 1, 6, 1.0), ("mole", -1, 0, 1.0)],
        ),
        d(
            "mg_per_dL_per_nM",
            vec![("gram", 1, 7, 1.0), ("mole", -1, 0, 1.0)],
        ),
    ]
}

/// SBML unit id of a model parameter, from its dimension (molar masses are in kDa).
fn parameter_units(unit: &str, dim: Dimension) -> Option<&'static str> {
    if unit == "kDa" {
        return Some("kDa");
    }
    Some(match dim {
        Dimension::NONE => "dimensionless",
        Dimension::TIME => "hour",
        Dimension::RATE => "per_hour",
        Dimension::VOLUME => "litre",
        Dimension::AMOUNT => "nmol",
        Dimension::CONCENTRATION => "nM",
        Dimension::CLEARANCE => "litre_per_hour",
        Dimension::AMOUNT_RATE => "nmol_per_hour",
        Dimension::CONCENTRATION_RATE => "nM_per_hour",
        Dimension::SECOND_ORDER_RATE => "per_nM_per_hour",
        _ => return None,
    })
}

/// SBML unit id of an observable's output unit.
fn observable_units(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "nM" => "nM",
        "pM" => "pM",
        "ng/mL" | "ug/L" | "µg/L" => "ng_per_mL",
        "pg/mL" => "pg_per_mL",
        "mg/L" | "ug/mL" | "µg/mL" => "mg_per_L",
        "mg/dL" => "mg_per_dL",
        "1" | "" | "fraction" | "ratio" => "dimensionless",
        _ => return None,
    })
}

/// SBML unit id of the factor from nM to an observable's output unit.
fn factor_units(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "nM" => "dimensionless",
        "pM" => "pM_per_nM",
        "ng/mL" | "ug/L" | "µg/L" => "ng_per_mL_per_nM",
        "pg/mL" => "pg_per_mL_per_nM",
        "mg/L" | "ug/mL" | "µg/mL" => "mg_per_L_per_nM",
        "mg/dL" => "mg_per_dL_per_nM",
        _ => return None,
    })
}

// ------------------------------------------------------------------------------- ids

/// Names that MathML readers or infix parsers treat specially; never used as ids.
const RESERVED: &[&str] = &[
    "time",
    "avogadro",
    "pi",
    "exponentiale",
    "true",
    "false",
    "notanumber",
    "infinity",
    "inf",
    "nan",
    "delay",
    "rateOf",
    "e",
];

/// Whether `s` is a valid SBML SId: a letter or underscore, then letters, digits, underscores.
pub fn is_valid_sid(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Allocates unique, valid SBML ids (one namespace for compartments, species, parameters,
/// reactions and events).
#[derive(Debug, Default)]
struct Ids {
    used: HashSet<String>,
}

impl Ids {
    fn sanitize(name: &str) -> String {
        let mut s: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            s.insert(0, '_');
        }
        if RESERVED.contains(&s.as_str()) {
            s.push('_');
        }
        s
    }

    /// A valid id as close to `name` as possible, not used before.
    fn claim(&mut self, name: &str) -> String {
        let base = Self::sanitize(name);
        let mut candidate = base.clone();
        let mut k = 2;
        while self.used.contains(&candidate) {
            candidate = format!("{base}_{k}");
            k += 1;
        }
        self.used.insert(candidate.clone());
        candidate
    }

    /// Exactly `name`, or an error if it is not a valid id or already taken.
    fn claim_exact(&mut self, name: &str, what: &str) -> Result<String, ModelError> {
        if !is_valid_sid(name) || RESERVED.contains(&name) {
            return Err(ModelError::invalid(
                "export-sbml",
                format!("{what} '{name}' is not a valid SBML id (letters, digits and underscores, not starting with a digit)"),
            ));
        }
        if !self.used.insert(name.to_string()) {
            return Err(ModelError::invalid(
                "export-sbml",
                format!("{what} '{name}' is used twice"),
            ));
        }
        Ok(name.to_string())
    }
}

// ------------------------------------------------------------------------------- builder

fn finite(value: f64, what: &str) -> Result<f64, ModelError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ModelError::invalid(
            "export-sbml",
            format!("{what} is {value}; only finite numbers can be exported"),
        ))
    }
}

/// The doses of `regimen` that the engine applies within `horizon_h`: inputs at or after
/// the horizon are dropped, except the end of an infusion that started before it.
fn inputs_within_horizon(inputs: &[StateInput], horizon_h: f64) -> Vec<StateInput> {
    let before = |t: f64| t < horizon_h && !same_time(t, horizon_h);
    // Open infusions (species, rate) started before the horizon.
    let mut open: Vec<(usize, f64)> = Vec::new();
    let mut kept = Vec::new();
    for input in inputs {
        match *input {
            StateInput::Bolus { time_h, .. } => {
                if before(time_h) {
                    kept.push(*input);
                }
            }
            StateInput::RateStep {
                time_h,
                species,
                delta_nmol_per_h,
            } => {
                if delta_nmol_per_h >= 0.0 {
                    if before(time_h) {
                        open.push((species, delta_nmol_per_h));
                        kept.push(*input);
                    }
                } else if let Some(k) = open
                    .iter()
                    .position(|&(s, r)| s == species && r == -delta_nmol_per_h)
                {
                    open.remove(k);
                    kept.push(*input);
                }
            }
        }
    }
    kept
}

/// The model-file spelling of a reaction kind.
fn reaction_kind(r: &Reaction) -> &'static str {
    match r {
        Reaction::ZeroOrder { .. } => "zero_order",
        Reaction::FirstOrder { .. } => "first_order",
        Reaction::Clearance { .. } => "clearance",
        Reaction::Transfer { .. } => "transfer",
        Reaction::Exchange { .. } => "exchange",
        Reaction::Binding { .. } => "binding",
        Reaction::Conversion { .. } => "conversion",
        Reaction::SignalProduction { .. } => "signal_production",
        Reaction::DrivenProduction { .. } => "driven_production",
    }
}

/// Build the SBML content for `subject` under `regimen` over `horizon_h` hours.
pub fn sbml_model(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
) -> Result<SbmlModel, SimError> {
    let model: &Model = subject.model;
    let v = &subject.params.values;
    let n_species = model.species.len();
    if !(horizon_h.is_finite() && horizon_h > 0.0) {
        return Err(ModelError::invalid(
            "export-sbml",
            format!("horizon {horizon_h} h: must be > 0 and finite"),
        )
        .into());
    }
    let inputs = subject.regimen_inputs(regimen, horizon_h)?;
    let inputs = inputs_within_horizon(&inputs, horizon_h);
    let (initial, initial_note) = if regimen.steady_state {
        let ss = crate::solve::periodic::periodic(subject, regimen)?;
        let start = crate::solve::periodic::state_at_start(subject, regimen, &ss)?;
        if start.rates.iter().any(|r| *r != 0.0) || !start.pending.is_empty() {
            return Err(ModelError::invalid(
                "export-sbml",
                format!(
                    "regimen '{}' starts from its steady state with start_h {} h, when the \
                     previous dose is still being infused or absorbed past a lag at 0 h; the \
                     export cannot carry that dose (use a start_h that is a multiple of the \
                     interval, or steady_state = false)",
                    regimen.name, regimen.start_h
                ),
            )
            .into());
        }
        (
            start.state[..n_species].to_vec(),
            format!(
                "Initial values: the periodic steady state of regimen '{}' (Newton, {} iterations), at the time since the previous dose of its schedule extended backwards, as il1sim starts a steady_state regimen.",
                regimen.name, ss.iterations
            ),
        )
    } else {
        (
            subject.baseline[..n_species].to_vec(),
            "Initial values: the untreated steady state of this patient (il1sim's baseline)."
                .to_string(),
        )
    };

    let mut ids = Ids::default();
    // Observable columns first: they must keep their exact names.
    let mut observable_ids = Vec::new();
    for o in &model.observables {
        observable_ids.push(ids.claim_exact(&o.column(), "observable column")?);
    }
    let compartment_ids: Vec<String> = model
        .compartments
        .iter()
        .map(|c| ids.claim(&c.name))
        .collect();
    let species_ids: Vec<String> = model.species.iter().map(|s| ids.claim(&s.name)).collect();
    let parameter_ids: Vec<String> = model
        .parameters
        .iter()
        .map(|p| ids.claim(&p.name))
        .collect();
    struct SignalIds {
        value: String,
        occupancy: String,
        stimulus: String,
        untreated: String,
    }
    let signal_ids: Vec<SignalIds> = model
        .signals
        .iter()
        .map(|s| SignalIds {
            value: ids.claim(&s.name),
            occupancy: ids.claim(&format!("{}_occupancy", s.name)),
            stimulus: ids.claim(&format!("{}_stimulus", s.name)),
            untreated: ids.claim(&format!("{}_untreated", s.name)),
        })
        .collect();
    let reaction_ids: Vec<String> = model.reaction_names.iter().map(|r| ids.claim(r)).collect();

    let is_amount = |s: usize| {
        model.compartments[model.species[s].compartment]
            .volume
            .is_none()
    };
    let comp_of = |s: usize| id(&compartment_ids[model.species[s].compartment]);
    let sp = |s: usize| id(&species_ids[s]);
    let par = |p: ParamId| id(&parameter_ids[p]);
    // Concentration (nM) and amount (nmol) of a species as expressions.
    let conc = |s: usize| {
        if is_amount(s) {
            divide(sp(s), comp_of(s))
        } else {
            sp(s)
        }
    };
    let amount = |s: usize| {
        if is_amount(s) {
            sp(s)
        } else {
            times(vec![sp(s), comp_of(s)])
        }
    };
    // A production parameter as an amount rate (nmol/h) into species s
    // (production_per_volume in model/compile.rs, times the volume).
    let production = |rate: ParamId, s: usize| {
        if model.parameters[rate].dimension == Dimension::AMOUNT_RATE {
            par(rate)
        } else {
            times(vec![par(rate), comp_of(s)])
        }
    };

    // Compartments.
    let mut compartments = Vec::new();
    for (i, c) in model.compartments.iter().enumerate() {
        let (size, note) = match c.volume {
            Some(p) => (
                finite(v[p], &format!("volume of compartment '{}'", c.name))?,
                format!(
                    "Volume = {} for this patient.",
                    model.parameters[p].name
                ),
            ),
            None => (
                1.0,
                "No volume in il1sim (its species are amounts): exported with size 1 L, species in nmol (hasOnlySubstanceUnits).".to_string(),
            ),
        };
        compartments.push(SbmlCompartment {
            id: compartment_ids[i].clone(),
            name: c.name.clone(),
            size,
            notes: vec![c.description.clone(), note],
        });
    }

    // Species.
    let mut species = Vec::new();
    for (i, s) in model.species.iter().enumerate() {
        let amount_species = is_amount(i);
        species.push(SbmlSpecies {
            id: species_ids[i].clone(),
            name: s.name.clone(),
            compartment: compartment_ids[s.compartment].clone(),
            initial: finite(
                initial[i],
                &format!("initial value of species '{}'", s.name),
            )?,
            amount: amount_species,
            atol_scale: s.scale.max(subject.baseline[i].abs()),
            notes: vec![
                s.description.clone(),
                if amount_species {
                    "Amount (nmol).".to_string()
                } else {
                    "Concentration (nM).".to_string()
                },
            ],
        });
    }

    // Parameters with this patient's numbers.
    let mut parameters = Vec::new();
    for (i, p) in model.parameters.iter().enumerate() {
        let mut notes = Vec::new();
        if !p.description.is_empty() {
            notes.push(p.description.clone());
        }
        match &p.expr {
            Some(expr) => notes.push(format!(
                "Derived; evaluated for this patient from: {expr} (in the declared units of its inputs; model-file unit {}).",
                p.unit
            )),
            None => notes.push(format!(
                "Value in canonical units (h, L, nmol, nM); the model file states it in {}.",
                p.unit
            )),
        }
        notes.push(format!("Source: {}", p.source));
        parameters.push(SbmlParameter {
            id: parameter_ids[i].clone(),
            name: p.name.clone(),
            value: finite(v[i], &format!("parameter '{}'", p.name))?,
            units: parameter_units(&p.unit, p.dimension).map(str::to_string),
            constant: true,
            notes,
        });
    }

    // Signals: operational model as assignment rules.
    let mut rules = Vec::new();
    for (k, s) in model.signals.iter().enumerate() {
        let sid = &signal_ids[k];
        let members: Vec<Math> = s.species.iter().map(|&m| conc(m)).collect();
        let sum = if members.len() == 1 {
            members[0].clone()
        } else {
            Math::Plus(members)
        };
        let rho = divide(sum, par(s.receptor_total));
        let stimulus = Math::Piecewise {
            value: Box::new(power(
                times(vec![par(s.efficacy), id(&sid.occupancy)]),
                par(s.slope),
            )),
            condition: Box::new(Math::Gt(
                Box::new(id(&sid.occupancy)),
                Box::new(quantity(0.0, "dimensionless")),
            )),
            otherwise: Box::new(quantity(0.0, "dimensionless")),
        };
        let value = divide(
            id(&sid.stimulus),
            Math::Plus(vec![quantity(1.0, "dimensionless"), id(&sid.stimulus)]),
        );
        let untreated = finite(
            subject.baseline_signals[k],
            &format!("untreated value of signal '{}'", s.name),
        )?;
        let member_names: Vec<&str> = s
            .species
            .iter()
            .map(|&m| model.species[m].name.as_str())
            .collect();
        parameters.push(SbmlParameter {
            id: sid.occupancy.clone(),
            name: format!("{} occupancy ρ", s.name),
            value: 0.0,
            units: Some("dimensionless".into()),
            constant: false,
            notes: vec![format!(
                "Operational model (Black & Leff 1983): ρ = ({}) / {}.",
                member_names.join(" + "),
                model.parameters[s.receptor_total].name
            )],
        });
        parameters.push(SbmlParameter {
            id: sid.stimulus.clone(),
            name: format!("{} stimulus x", s.name),
            value: 0.0,
            units: Some("dimensionless".into()),
            constant: false,
            notes: vec![format!(
                "x = ({} · ρ)^{} for ρ > 0, else 0.",
                model.parameters[s.efficacy].name, model.parameters[s.slope].name
            )],
        });
        parameters.push(SbmlParameter {
            id: sid.value.clone(),
            name: s.name.clone(),
            value: untreated,
            units: Some("dimensionless".into()),
            constant: false,
            notes: vec![s.description.clone(), "S = x / (1 + x).".into()],
        });
        parameters.push(SbmlParameter {
            id: sid.untreated.clone(),
            name: format!("{} untreated", s.name),
            value: untreated,
            units: Some("dimensionless".into()),
            constant: true,
            notes: vec![
                "Value of the signal in the untreated steady state of this patient (reference of the relative signal).".into(),
            ],
        });
        rules.push(SbmlRule {
            variable: sid.occupancy.clone(),
            math: rho,
        });
        rules.push(SbmlRule {
            variable: sid.stimulus.clone(),
            math: stimulus,
        });
        rules.push(SbmlRule {
            variable: sid.value.clone(),
            math: value,
        });
    }

    // Reactions, in amount per hour.
    let mut reactions = Vec::new();
    for (k, r) in model.reactions.iter().enumerate() {
        let (reactants, products, modifiers, law, reversible): (
            Vec<usize>,
            Vec<usize>,
            Vec<usize>,
            Math,
            bool,
        ) = match *r {
            Reaction::ZeroOrder { species, rate } => (
                vec![],
                vec![species],
                vec![],
                production(rate, species),
                false,
            ),
            Reaction::FirstOrder { species, rate } => (
                vec![species],
                vec![],
                vec![],
                times(vec![par(rate), amount(species)]),
                false,
            ),
            Reaction::Clearance { species, clearance } => (
                vec![species],
                vec![],
                vec![],
                times(vec![par(clearance), conc(species)]),
                false,
            ),
            Reaction::Transfer { from, to, rate } => (
                vec![from],
                vec![to],
                vec![],
                times(vec![par(rate), amount(from)]),
                false,
            ),
            Reaction::Exchange { a, b, clearance } => (
                vec![a],
                vec![b],
                vec![],
                times(vec![par(clearance), minus(conc(a), conc(b))]),
                true,
            ),
            Reaction::Binding {
                a,
                b,
                complex,
                kon,
                koff,
            } => (
                vec![a, b],
                vec![complex],
                vec![],
                times(vec![
                    minus(
                        times(vec![par(kon), conc(a), conc(b)]),
                        times(vec![par(koff), conc(complex)]),
                    ),
                    comp_of(complex),
                ]),
                true,
            ),
            Reaction::Conversion {
                from,
                to,
                forward,
                reverse,
            } => (
                vec![from],
                vec![to],
                vec![],
                times(vec![
                    minus(
                        times(vec![par(forward), conc(from)]),
                        times(vec![par(reverse), conc(to)]),
                    ),
                    comp_of(to),
                ]),
                true,
            ),
            Reaction::SignalProduction {
                species,
                rate,
                basal,
                gain,
                signal,
            } => (
                vec![],
                vec![species],
                model.signals[signal].species.clone(),
                times(vec![
                    production(rate, species),
                    Math::Plus(vec![
                        par(basal),
                        times(vec![par(gain), id(&signal_ids[signal].value)]),
                    ]),
                ]),
                false,
            ),
            Reaction::DrivenProduction {
                species,
                rate,
                driver,
                reference,
                exponent,
            } => (
                vec![],
                vec![species],
                vec![driver],
                times(vec![
                    production(rate, species),
                    Math::Piecewise {
                        value: Box::new(power(divide(conc(driver), par(reference)), par(exponent))),
                        condition: Box::new(Math::Gt(
                            Box::new(conc(driver)),
                            Box::new(quantity(0.0, "nM")),
                        )),
                        otherwise: Box::new(quantity(0.0, "dimensionless")),
                    },
                ]),
                false,
            ),
        };
        let kind = reaction_kind(r);
        reactions.push(SbmlReaction {
            id: reaction_ids[k].clone(),
            name: model.reaction_names[k].clone(),
            reversible,
            reactants: reactants.iter().map(|&s| species_ids[s].clone()).collect(),
            products: products.iter().map(|&s| species_ids[s].clone()).collect(),
            modifiers: modifiers.iter().map(|&s| species_ids[s].clone()).collect(),
            notes: vec![format!(
                "il1sim reaction kind {kind}; rate (nmol/h) = {}",
                law.infix()
            )],
            law,
        });
    }

    // Infusions: an input-rate parameter and a reaction per target species.
    let mut infusion_rate_ids: Vec<Option<String>> = vec![None; n_species];
    for input in &inputs {
        if let StateInput::RateStep { species: s, .. } = *input {
            if infusion_rate_ids[s].is_none() {
                let rate_id = ids.claim(&format!("{}_infusion_rate", model.species[s].name));
                let reaction_id = ids.claim(&format!("{}_infusion", model.species[s].name));
                parameters.push(SbmlParameter {
                    id: rate_id.clone(),
                    name: format!("infusion rate into {}", model.species[s].name),
                    value: 0.0,
                    units: Some("nmol_per_hour".into()),
                    constant: false,
                    notes: vec![
                        "Zero-order input (nmol/h) of the IV infusions, set by the dose events."
                            .into(),
                    ],
                });
                reactions.push(SbmlReaction {
                    id: reaction_id,
                    name: format!("IV infusion into {}", model.species[s].name),
                    reversible: false,
                    reactants: vec![],
                    products: vec![species_ids[s].clone()],
                    modifiers: vec![],
                    law: id(&rate_id),
                    notes: vec![format!("rate (nmol/h) = {rate_id}")],
                });
                infusion_rate_ids[s] = Some(rate_id);
            }
        }
    }

    // Events: one per distinct dose time.
    let mut events = Vec::new();
    let mut rates = vec![0.0; n_species];
    let mut i = 0;
    while i < inputs.len() {
        let t = inputs[i].time_h();
        let mut j = i;
        let mut boluses: Vec<(usize, f64)> = Vec::new();
        let mut switched: Vec<usize> = Vec::new();
        while j < inputs.len() && same_time(inputs[j].time_h(), t) {
            match inputs[j] {
                StateInput::Bolus {
                    species: s,
                    amount_nmol,
                    ..
                } => match boluses.iter_mut().find(|(b, _)| *b == s) {
                    Some(b) => b.1 += amount_nmol,
                    None => boluses.push((s, amount_nmol)),
                },
                StateInput::RateStep {
                    species: s,
                    delta_nmol_per_h,
                    ..
                } => {
                    // As the integrator does: switching off leaves exactly zero.
                    rates[s] += delta_nmol_per_h;
                    if rates[s].abs() < 1e-12 * delta_nmol_per_h.abs() {
                        rates[s] = 0.0;
                    }
                    if !switched.contains(&s) {
                        switched.push(s);
                    }
                }
            }
            j += 1;
        }
        let mut assignments = Vec::new();
        let mut notes = Vec::new();
        for &(s, a) in &boluses {
            let a = finite(a, "dose amount")?;
            let add = if is_amount(s) {
                quantity(a, "nmol")
            } else {
                divide(quantity(a, "nmol"), comp_of(s))
            };
            assignments.push((species_ids[s].clone(), Math::Plus(vec![sp(s), add])));
            notes.push(format!(
                "Adds {} nmol to {} (bioavailability and lag applied).",
                fmt_num(a),
                model.species[s].name
            ));
        }
        for &s in &switched {
            let rate_id = infusion_rate_ids[s]
                .clone()
                .expect("an infusion parameter exists for every rate step");
            let r = finite(rates[s], "infusion rate")?;
            assignments.push((rate_id.clone(), quantity(r, "nmol_per_hour")));
            notes.push(format!(
                "Infusion into {} now runs at {} nmol/h.",
                model.species[s].name,
                fmt_num(r)
            ));
        }
        let k = events.len() + 1;
        events.push(SbmlEvent {
            id: ids.claim(&format!("dose_{k}")),
            name: format!("dose at {} h", fmt_num(t)),
            time_h: finite(t, "dose time")?,
            assignments,
            notes,
        });
        i = j;
    }

    // Observables.
    let mut observable_columns = Vec::new();
    for (k, o) in model.observables.iter().enumerate() {
        let (math, how) = match &o.kind {
            ObservableKind::Concentration {
                species: s,
                plus,
                molar_mass,
            } => {
                let mw = molar_mass.map(|m| v[m]);
                let factor = crate::model::units::concentration_output_factor(&o.unit, mw)
                    .ok_or_else(|| {
                        ModelError::invalid(
                            "export-sbml",
                            format!("observable '{}': unit '{}' has no factor", o.name, o.unit),
                        )
                    })?;
                let note = format!(
                    "{} (nM) × {} ({} per nM{})",
                    model.species[*s].name,
                    fmt_num(factor),
                    o.unit,
                    molar_mass
                        .map(|m| format!(
                            ", molar mass {} = {} kDa",
                            model.parameters[m].name,
                            fmt_num(v[m])
                        ))
                        .unwrap_or_default()
                );
                let factor = match factor_units(&o.unit) {
                    Some(u) => quantity(factor, u),
                    None => Math::Num(factor),
                };
                let amount = if plus.is_empty() {
                    conc(*s)
                } else {
                    Math::Plus(
                        std::iter::once(*s)
                            .chain(plus.iter().copied())
                            .map(conc)
                            .collect(),
                    )
                };
                let note = if plus.is_empty() {
                    note
                } else {
                    format!(
                        "{note}, plus {}",
                        plus.iter()
                            .map(|&k| model.species[k].name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                (times(vec![factor, amount]), note)
            }
            ObservableKind::Fraction {
                numerator,
                denominator,
            } => {
                let sum = |list: &[usize]| {
                    if list.len() == 1 {
                        conc(list[0])
                    } else {
                        Math::Plus(list.iter().map(|&s| conc(s)).collect())
                    }
                };
                (
                    divide(sum(numerator), sum(denominator)),
                    "sum of numerator species / sum of denominator species".to_string(),
                )
            }
            ObservableKind::Signal { signal } => (
                id(&signal_ids[*signal].value),
                "the signal (0-1)".to_string(),
            ),
            ObservableKind::SignalRelative { signal } => (
                divide(
                    id(&signal_ids[*signal].value),
                    id(&signal_ids[*signal].untreated),
                ),
                "the signal / its untreated value in this patient".to_string(),
            ),
        };
        parameters.push(SbmlParameter {
            id: observable_ids[k].clone(),
            // Named like the column too: COPASI shows names.
            name: observable_ids[k].clone(),
            value: 0.0,
            units: observable_units(&o.unit).map(str::to_string),
            constant: false,
            notes: vec![
                o.description.clone(),
                format!(
                    "Column {} of il1sim's timecourse.csv: {how}.",
                    observable_ids[k]
                ),
            ],
        });
        rules.push(SbmlRule {
            variable: observable_ids[k].clone(),
            math,
        });
        observable_columns.push(observable_ids[k].clone());
    }

    // Initial values of assigned parameters (informative only; rules recompute them).
    {
        let mut values: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
        for (s, x) in species_ids.iter().zip(&initial) {
            values.insert(s.clone(), *x);
        }
        for c in &compartments {
            values.insert(c.id.clone(), c.size);
        }
        for p in &parameters {
            values.insert(p.id.clone(), p.value);
        }
        // Rules may refer to each other: evaluate in order until nothing changes.
        for _ in 0..=rules.len() {
            for r in &rules {
                let x = r
                    .math
                    .eval(&|n| values.get(n).copied().unwrap_or(f64::NAN), 0.0);
                values.insert(r.variable.clone(), x);
            }
        }
        for p in parameters.iter_mut().filter(|p| !p.constant) {
            if rules.iter().any(|r| r.variable == p.id) {
                let x = values[&p.id];
                p.value = if x.is_finite() { x } else { 0.0 };
            }
        }
    }

    let pt = &subject.patient;
    let doses = regimen
        .dose_events(pt.weight_kg, horizon_h)
        .map(|d| d.len())
        .unwrap_or(0);
    // Regimens given with this one (another drug or route): their doses are events too.
    let given_with: String = regimen
        .with
        .iter()
        .map(|w| {
            let n = w
                .dose_events(pt.weight_kg, horizon_h)
                .map(|d| d.len())
                .unwrap_or(0);
            format!(
                " Given with it, '{}': {} {} of {}, {n} dose(s).",
                w.name,
                w.dose.label(),
                w.administration.label(),
                w.drug
            )
        })
        .collect();
    let notes = vec![
        format!(
            "il1sim {} export of model '{}' ({}).",
            env!("CARGO_PKG_VERSION"),
            model.name,
            model.description
        ),
        format!(
            "Patient: {} kg, {} years, {}, CrCl {} mL/min, disease '{}'. Parameter values are this patient's (disease overlay applied, derived parameters evaluated), in canonical units: time h, volume L, amount nmol, concentration nM.",
            pt.weight_kg, pt.age_y, pt.sex.label(), pt.crcl_ml_min, pt.disease
        ),
        format!(
            "Regimen '{}': {} {} of {}, every {} h from {} h; {} dose(s) within the horizon of {} h.{given_with} Written as {} event(s).",
            regimen.name,
            regimen.dose.label(),
            regimen.administration.label(),
            regimen.drug,
            fmt_num(regimen.interval_h),
            fmt_num(regimen.start_h),
            doses,
            fmt_num(horizon_h),
            events.len()
        ),
        initial_note,
        "Doses are events with trigger time >= t_dose (initialValue false, persistent, values from the trigger time). A dose at t = 0 fires at t = 0 (a trigger true at the start with initialValue false fires then). Bioavailability and absorption lag are applied as in il1sim's dosing engine.".into(),
        "il1sim's timecourse.csv reports the state at a dose time before the dose (trough); SBML simulators report it after the event. Compare left limits at dose times.".into(),
        "Observables are parameters with assignment rules named like the timecourse.csv columns. Simulate over [0, horizon]; doses at or after the horizon are not included.".into(),
        "Each parameter's notes give its source; docs/model.md in the il1sim repository explains the calibrations.".into(),
    ];

    Ok(SbmlModel {
        id: Ids::sanitize(&model.name),
        name: format!("{} — {}", model.name, regimen.name),
        notes,
        unit_definitions: unit_definitions(),
        compartments,
        species,
        parameters,
        rules,
        reactions,
        events,
        observable_columns,
    })
}

// ------------------------------------------------------------------------------- XML

/// Escape text for XML element content and attribute values; drops control characters
/// that XML 1.0 does not allow.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            '\t' | '\n' | '\r' => s.push(c),
            c if (c as u32) < 0x20 => {}
            c => s.push(c),
        }
    }
    s
}

/// Escape element content (quotes may stay as they are).
fn escape_text(text: &str) -> String {
    escape(text).replace("&quot;", "\"").replace("&apos;", "'")
}

struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn attrs(attrs: &[(&str, String)]) -> String {
        attrs
            .iter()
            .map(|(k, v)| format!(" {k}=\"{}\"", escape(v)))
            .collect()
    }

    fn open(&mut self, tag: &str, attrs: &[(&str, String)]) {
        self.indent();
        let _ = writeln!(self.out, "<{tag}{}>", Self::attrs(attrs));
        self.depth += 1;
    }

    fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{tag}>");
    }

    fn empty(&mut self, tag: &str, attrs: &[(&str, String)]) {
        self.indent();
        let _ = writeln!(self.out, "<{tag}{}/>", Self::attrs(attrs));
    }

    fn line(&mut self, text: &str) {
        self.indent();
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn notes(&mut self, paragraphs: &[String]) {
        let paragraphs: Vec<&String> = paragraphs.iter().filter(|p| !p.trim().is_empty()).collect();
        if paragraphs.is_empty() {
            return;
        }
        self.open("notes", &[]);
        self.open("body", &[("xmlns", XHTML_NAMESPACE.into())]);
        for p in paragraphs {
            self.line(&format!("<p>{}</p>", escape_text(p)));
        }
        self.close("body");
        self.close("notes");
    }

    fn math(&mut self, m: &Math) {
        self.line(&m.to_mathml());
    }
}

fn bool_text(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

impl SbmlModel {
    /// The SBML Level 3 Version 2 core document.
    pub fn to_xml(&self) -> String {
        let mut x = Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            depth: 0,
        };
        x.open(
            "sbml",
            &[
                ("xmlns", SBML_NAMESPACE.into()),
                ("level", "3".into()),
                ("version", "2".into()),
            ],
        );
        x.open(
            "model",
            &[
                ("id", self.id.clone()),
                ("name", self.name.clone()),
                ("substanceUnits", "nmol".into()),
                ("timeUnits", "hour".into()),
                ("volumeUnits", "litre".into()),
                ("areaUnits", "square_metre".into()),
                ("lengthUnits", "metre".into()),
                ("extentUnits", "nmol".into()),
            ],
        );
        x.notes(&self.notes);

        x.open("listOfUnitDefinitions", &[]);
        for u in &self.unit_definitions {
            x.open("unitDefinition", &[("id", u.id.into())]);
            x.open("listOfUnits", &[]);
            for &(kind, exponent, scale, multiplier) in &u.units {
                x.empty(
                    "unit",
                    &[
                        ("kind", kind.into()),
                        ("exponent", exponent.to_string()),
                        ("scale", scale.to_string()),
                        ("multiplier", fmt_num(multiplier)),
                    ],
                );
            }
            x.close("listOfUnits");
            x.close("unitDefinition");
        }
        x.close("listOfUnitDefinitions");

        x.open("listOfCompartments", &[]);
        for c in &self.compartments {
            x.open(
                "compartment",
                &[
                    ("id", c.id.clone()),
                    ("name", c.name.clone()),
                    ("spatialDimensions", "3".into()),
                    ("size", fmt_num(c.size)),
                    ("units", "litre".into()),
                    ("constant", "true".into()),
                ],
            );
            x.notes(&c.notes);
            x.close("compartment");
        }
        x.close("listOfCompartments");

        x.open("listOfSpecies", &[]);
        for s in &self.species {
            let initial = if s.amount {
                "initialAmount"
            } else {
                "initialConcentration"
            };
            x.open(
                "species",
                &[
                    ("id", s.id.clone()),
                    ("name", s.name.clone()),
                    ("compartment", s.compartment.clone()),
                    (initial, fmt_num(s.initial)),
                    ("substanceUnits", "nmol".into()),
                    ("hasOnlySubstanceUnits", bool_text(s.amount)),
                    ("boundaryCondition", "false".into()),
                    ("constant", "false".into()),
                ],
            );
            x.notes(&s.notes);
            x.open("annotation", &[]);
            x.empty(
                "il1sim:state",
                &[
                    ("xmlns:il1sim", ANNOTATION_NAMESPACE.into()),
                    ("atol_scale", fmt_num(s.atol_scale)),
                ],
            );
            x.close("annotation");
            x.close("species");
        }
        x.close("listOfSpecies");

        x.open("listOfParameters", &[]);
        for p in &self.parameters {
            let mut attrs = vec![
                ("id", p.id.clone()),
                ("name", p.name.clone()),
                ("value", fmt_num(p.value)),
            ];
            if let Some(u) = &p.units {
                attrs.push(("units", u.clone()));
            }
            attrs.push(("constant", bool_text(p.constant)));
            x.open("parameter", &attrs);
            x.notes(&p.notes);
            x.close("parameter");
        }
        x.close("listOfParameters");

        x.open("listOfRules", &[]);
        for r in &self.rules {
            x.open("assignmentRule", &[("variable", r.variable.clone())]);
            x.math(&r.math);
            x.close("assignmentRule");
        }
        x.close("listOfRules");

        x.open("listOfReactions", &[]);
        for r in &self.reactions {
            x.open(
                "reaction",
                &[
                    ("id", r.id.clone()),
                    ("name", r.name.clone()),
                    ("reversible", bool_text(r.reversible)),
                ],
            );
            x.notes(&r.notes);
            for (list, refs) in [
                ("listOfReactants", &r.reactants),
                ("listOfProducts", &r.products),
            ] {
                if refs.is_empty() {
                    continue;
                }
                x.open(list, &[]);
                for s in refs {
                    x.empty(
                        "speciesReference",
                        &[
                            ("species", s.clone()),
                            ("stoichiometry", "1".into()),
                            ("constant", "true".into()),
                        ],
                    );
                }
                x.close(list);
            }
            if !r.modifiers.is_empty() {
                x.open("listOfModifiers", &[]);
                for s in &r.modifiers {
                    x.empty("modifierSpeciesReference", &[("species", s.clone())]);
                }
                x.close("listOfModifiers");
            }
            x.open("kineticLaw", &[]);
            x.math(&r.law);
            x.close("kineticLaw");
            x.close("reaction");
        }
        x.close("listOfReactions");

        if !self.events.is_empty() {
            x.open("listOfEvents", &[]);
            for e in &self.events {
                x.open(
                    "event",
                    &[
                        ("id", e.id.clone()),
                        ("name", e.name.clone()),
                        ("useValuesFromTriggerTime", "true".into()),
                    ],
                );
                x.notes(&e.notes);
                x.open(
                    "trigger",
                    &[
                        ("initialValue", "false".into()),
                        ("persistent", "true".into()),
                    ],
                );
                x.math(&Math::Geq(
                    Box::new(Math::Time),
                    Box::new(quantity(e.time_h, "hour")),
                ));
                x.close("trigger");
                x.open("listOfEventAssignments", &[]);
                for (variable, m) in &e.assignments {
                    x.open("eventAssignment", &[("variable", variable.clone())]);
                    x.math(m);
                    x.close("eventAssignment");
                }
                x.close("listOfEventAssignments");
                x.close("event");
            }
            x.close("listOfEvents");
        }

        x.close("model");
        x.close("sbml");
        x.out
    }
}
