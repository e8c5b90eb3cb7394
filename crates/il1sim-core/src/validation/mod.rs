//! Validation: published figures as data (`validation/targets.toml`: value or range,
//! tolerance with its basis, source) and the experiments that produce the model's number
//! for each. The `validate` command and the test suite run the same list.
//!
//! Validation (layer 8, the top): the targets file and running its targets (`targets`), the
//! experiments that compute the model's number for each (`experiments`), grouped where they
//! are many lines (`closed_form`, `acr`, `in_vitro`, `dose_response` for the NOMID population
//! on 1, 2 and 4 mg/kg/day, `withdrawal` for stopping and a missed dose), and the patients,
//! regimens and read-outs they share (`protocols`). It may import every other layer.

pub mod acr;
pub mod closed_form;
pub mod dose_response;
pub mod experiments;
pub mod in_vitro;
pub mod protocols;
pub mod targets;
pub mod withdrawal;
