//! Clinical tools (layer 9): regimens evaluated against clinical targets for one patient or a
//! virtual population. `targets` (what a target is: the trough of a named observable, an
//! observable by a day, an ACR response, parsed from text such as `crp_day_90<10`),
//! `evaluation` (the one implementation of a grid of regimens × a cohort: every subject
//! simulated once per regimen, per-target quantities and attainment, summaries with Wilson
//! intervals and percentiles), `dose_response` (a dose grid from regimen templates),
//! `dose_find` (the regimens the label allows, ranked), `missed_dose` (what to do about a late
//! dose, from the periodic steady state, through the dosing layer's missed, late and extra
//! doses) and `files` (the `[dose_response]` and `[dose_find]` tables of scenario files). It
//! may import every layer below it (0–8).

pub mod dose_find;
pub mod dose_response;
pub mod evaluation;
pub mod files;
pub mod missed_dose;
pub mod targets;
