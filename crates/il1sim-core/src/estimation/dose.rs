//! The dose for this patient: the label's regimens (`clinical::dose_find`, 1–8 mg/kg/day in
//! 0.5 mg/kg steps, once or twice daily, Kineret US PI section 2.2) evaluated on the patient
//! with the individual parameters of the fit (typical values × exp(η̂), as multipliers, so
//! that a derived parameter such as the clearance carries its η) and ranked against the
//! targets by `clinical::dose_find::rank`: attainment, then exposure, then injections.
//! The patient's parameters are the conditional mode (MAP); attainment is therefore 0 or 1 for
//! each regimen, and the margin to each target is reported with it.

use super::objective::IndividualProblem;
use crate::clinical::dose_find::{DoseFind, LabelGrid};
use crate::clinical::evaluation::Cohort;
use crate::clinical::targets::Target;
use crate::dosing::regimen::HOURS_PER_DAY;
use crate::response::acr::ResponseModel;

/// Horizon when no target names a day (trough targets only): 28 days, the horizon of the
/// shipped dose-finding study (scenarios/nomid-dose-find.toml), long enough for CRP (t½ 19 h,
/// Vigushin 1993) and the IL-1 feedback to settle.
pub const DEFAULT_DOSE_HORIZON_DAYS: f64 = 28.0;

/// The dose-finding study for the fitted patient at η = `eta`.
pub fn individual_dose_find(
    problem: &IndividualProblem,
    eta: &[f64],
    targets: Vec<Target>,
    grid: LabelGrid,
    drug: &str,
) -> DoseFind {
    let duration_h = targets
        .iter()
        .filter_map(|t| t.time_needed_h())
        .fold(DEFAULT_DOSE_HORIZON_DAYS * HOURS_PER_DAY, f64::max);
    let response = ResponseModel::ra_acr();
    let placebo_amplitude = response.placebo_amplitude;
    DoseFind {
        name: format!("dataset ID {}", problem.subject.id),
        description: "the label's regimens on the patient's individual parameters (MAP)".into(),
        cohort: Cohort::Patient {
            patient: problem.subject.patient.clone(),
            overrides: problem.typical.clone(),
            multipliers: problem.prior.multipliers(eta),
        },
        duration_h,
        drug: drug.to_string(),
        grid,
        current: Vec::new(),
        targets,
        response,
        placebo_amplitude,
    }
}
