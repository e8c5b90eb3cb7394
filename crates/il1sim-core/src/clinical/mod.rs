//! Clinical tools (layer 9): the prescriber's questions. No I/O: text goes in, values and text
//! come out; it may import every layer below it (0 to 8).
//!
//! The label: a rules file as data (`rules`: the indications with their label regimens,
//! co-medications by class, yes/no conditions, and rules that each cite the label section or
//! paper they come from), a patient's clinical case (`case`) and the patient file that holds it
//! (`patient_file`), the evaluation of the rules into a verdict and the label regimen to
//! suggest (`check`), expected adverse events week by week (`safety`), and the injection
//! calendar with site rotation and monitoring visits (`calendar`).
//!
//! The model: regimens evaluated against clinical targets for one patient or a virtual
//! population. `targets` (the trough of a named observable, an observable by a day, an ACR
//! response, parsed from text such as `crp_day_90<10`), `evaluation` (the one implementation of
//! a grid of regimens × a cohort: every subject simulated once per regimen, per-target
//! quantities and attainment, summaries with Wilson intervals and percentiles),
//! `dose_response` (a dose grid from regimen templates), `dose_find` (the regimens the label
//! allows, ranked), `missed_dose` (what to do about a late dose, from the periodic steady state,
//! through the dosing layer's missed, late and extra doses) and `files` (the `[dose_response]`
//! and `[dose_find]` tables of scenario files).

pub mod calendar;
pub mod case;
pub mod check;
pub mod dose_find;
pub mod dose_response;
pub mod evaluation;
pub mod files;
pub mod missed_dose;
pub mod patient_file;
pub mod rules;
pub mod safety;
pub mod targets;
