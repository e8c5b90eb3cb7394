//! Clinical tools (layer 9): the prescriber's questions. A rules file as data (`rules`: the
//! indications with their label regimens, co-medications by class, yes/no conditions, and
//! rules that each cite the label section or paper they come from), a patient's clinical case
//! (`case`: covariates, indication, co-medications, conditions, one regimen) and the patient
//! file that holds it (`patient_file`), the evaluation of the rules into a verdict and the label
//! regimen to suggest (`check`), expected adverse events week by week (`safety`), and the
//! injection calendar with site rotation and monitoring visits (`calendar`). Text goes in,
//! values and text come out: no I/O. It may import every layer below it (0 to 8).

pub mod calendar;
pub mod case;
pub mod check;
pub mod patient_file;
pub mod rules;
pub mod safety;
