//! NONMEM-style datasets (ID, TIME, AMT, RATE, CMT, EVID, MDV, II, ADDL, SS, DV, LLOQ/BLQ and
//! covariate columns) read into the model's terms: each subject's patient, its dose records as
//! `dosing::regimen::Regimen`s (so they go through the one dose engine) and its observations
//! by observable. `subjects.rs` holds the in-memory form the estimation layer works on.

pub mod subjects;
