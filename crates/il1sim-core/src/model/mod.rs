//! The model (layer 1): units and their conversion to canonical units (`units`), the model
//! file as written (`spec`), the checked model (`definition`) read and checked from it
//! (`file`), one subject's parameter values (`parameters`), the compiled right-hand side
//! (`system`, the hot path) and compiling reactions into it (`compile`), and the patient's
//! covariates and their ranges (`patient`). It may import only the shared `error` and `time`
//! modules.

pub mod compile;
pub mod definition;
pub mod file;
pub mod parameters;
pub mod patient;
pub mod spec;
pub mod system;
pub mod units;
