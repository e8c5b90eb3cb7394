//! SBML Level 3 Version 2 core export of one subject (model, disease overlay, patient
//! parameters) and one regimen, runnable as it is by libRoadRunner or COPASI.
//!
//! The export is built in two steps: [`builder::sbml_model`] turns a
//! [`crate::solve::subject::Subject`] and a [`crate::dosing::regimen::Regimen`] into an
//! [`document::SbmlModel`] (ids, numbers and rate laws as [`math::Math`] trees that can also be
//! evaluated, which the tests use to check the rate laws against [`crate::model::system`]), and
//! [`document::SbmlModel::to_xml`] writes the document. [`xml::export_sbml`] does both.
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
//!
//! The files: `math` (MathML expressions), `document` (the document's parts), `units` (unit
//! definitions and the units of values), `ids` (SBML ids), `events` (doses as events and
//! infusions), `builder` (the model of one subject and regimen) and `xml` (the writer).

pub mod builder;
pub mod document;
pub mod events;
pub mod ids;
pub mod math;
pub mod units;
pub mod xml;
