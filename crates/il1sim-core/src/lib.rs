//! il1sim-core: a mechanistic model of the interleukin-1 system and its blockade, as a
//! library without I/O. Text goes in (model, scenario and target files as strings),
//! numbers come out; the front ends read and write files.
//!
//! The modules are layers, bottom first: the shared [`error`] and [`time`]; the [`model`];
//! [`dosing`]; solving ([`solve`]); one subject's outcomes ([`metrics`]); [`population`]s;
//! clinical [`response`] and trials, and [`sensitivity`] analysis; [`exchange`] formats (scenario, population and trial
//! files, SBML); [`validation`]; [`clinical`] tools (rules, check, safety over time, plan;
//! dose-response, dose finding, missed doses). A module imports only from its own and lower layers, without
//! circles (`tests/layering.rs` checks it; ARCHITECTURE.md has the table).
//!
//! Data flow: [`model::definition::Model`] (checked model file) +
//! [`model::patient::Patient`] → [`model::definition::ParameterValues`] →
//! [`model::system::OdeSystem`]; [`dosing::regimen::Regimen`] →
//! [`dosing::schedule::DoseEvent`]s → [`dosing::inputs::StateInput`]s;
//! [`solve::subject::Subject`] integrates with diffsol (or [`solve::fast`] repeats the
//! periodic orbit) and returns a [`solve::trajectory::Trajectory`]; [`metrics`] summarises it;
//! [`validation`] compares with published figures.

pub mod clinical;
pub mod dosing;
pub mod error;
pub mod estimation;
pub mod exchange;
pub mod metrics;
pub mod model;
pub mod population;
pub mod response;
pub mod sensitivity;
pub mod solve;
pub mod time;
pub mod validation;

/// The bundled mechanistic model, compiled into the library so that every front end and
/// test uses the same file (`models/il1.toml`).
pub const IL1_MODEL_TOML: &str = include_str!("../../../models/il1.toml");

/// Load the bundled model.
pub fn il1_model() -> model::definition::Model {
    model::definition::Model::from_toml(IL1_MODEL_TOML, "models/il1.toml")
        .expect("the bundled model file is checked by the test suite")
}
