//! `il1sim serve`: the browser explorer. One page (HTML, CSS, JS compiled into the binary;
//! nothing is fetched from elsewhere, so it works offline) and a JSON API on loopback.
//!
//! Every simulation goes through the quick form of `simulate` ([`crate::quick::scenario`])
//! and [`crate::simulate::run_scenario`], bands through the population layer
//! (`population::outcome::simulate_subject` and `population::aggregates::Aggregates`) with the
//! shipped population file of the disease, the validation table through
//! `validation::targets::run_target`: the page shows what the commands compute.
//!
//! The files: `server` (the command, its options, the router), `state` (what handlers share:
//! the model and the bounded job slots),
//! `request` (the request body, its limits and its translation into the quick form), `api`
//! (the handlers and the JSON error type), `mechanism` (receptor and ligand fractions for
//! the mechanism diagram), `band` (the population percentile band), `validation_table` (the
//! validation targets, run once in the background) and `assets` (the embedded page).

pub mod api;
pub mod assets;
pub mod band;
pub mod mechanism;
pub mod request;
pub mod server;
pub mod state;
pub mod validation_table;
