//! NONMEM-style datasets (ID, TIME, AMT, RATE, CMT, EVID, MDV, II, ADDL, SS, DV, LLOQ/BLQ and
//! covariate columns) read into the model's terms: each subject's patient, its dose records as
//! `dosing::regimen::Regimen`s (so they go through the one dose engine) and its observations
//! by observable. `subjects.rs` holds the in-memory form the estimation layer works on;
//! `read.rs` reads a file into it: `columns.rs` (the header), `compartments.rs` (CMT by
//! number or name), `records.rs` (one record and its own checks), `build.rs` (subjects,
//! occasions, regimens), `error.rs`. `predict.rs` simulates a subject at its observation
//! times through the one engine, for `simulate --data` and estimation.

pub mod build;
pub mod columns;
pub mod compartments;
pub mod error;
pub mod predict;
pub mod read;
pub mod records;
pub mod subjects;
