//! SBML Level 3 export of one subject (model, disease overlay, patient parameters) and one
//! regimen, runnable as it is by COPASI or libRoadRunner.

use crate::dosing::Regimen;
use crate::error::{ModelError, SimError};
use crate::solve::Subject;

/// The SBML document text for `subject` under `regimen` over `horizon_h` hours.
pub fn export_sbml(subject: &Subject, regimen: &Regimen, horizon_h: f64) -> Result<String, SimError> {
    let _ = (subject, regimen, horizon_h);
    Err(ModelError::invalid("export-sbml", "not implemented yet").into())
}
