//! A dataset file read for a command: the text from disk, the patient defaults for columns
//! the file lacks (from --weight, --age, --sex, --crcl, --disease), notes on what was ignored
//! or defaulted, and the dose events of a subject on the dataset's clock (II/ADDL expanded by
//! `Regimen::dose_events`, the engine's own expansion). Shared by `simulate --data`,
//! `data-records` and the fit commands.

use crate::quick::{DEFAULT_AGE_Y, DEFAULT_CRCL_ML_MIN, DEFAULT_WEIGHT_KG};
use il1sim_core::dosing::regimen::{Regimen, Repeat};
use il1sim_core::dosing::schedule::DoseEvent;
use il1sim_core::exchange::dataset::read::{read_dataset, DatasetOptions};
use il1sim_core::exchange::dataset::subjects::{DataSubject, Dataset};
use il1sim_core::model::definition::Model;
use il1sim_core::model::patient::{Patient, Sex};
use std::path::Path;

/// Patient values for columns a dataset does not have.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PatientDefaults {
    /// Weight (kg) of subjects in a dataset without a WT column [default: 70]
    #[arg(long, value_name = "KG", allow_negative_numbers = true)]
    pub weight: Option<f64>,
    /// Age (years) for a dataset without an AGE column [default: 50]
    #[arg(long, value_name = "YEARS", allow_negative_numbers = true)]
    pub age: Option<f64>,
    /// Sex (male or female) for a dataset without a SEX column [default: male]
    #[arg(long, value_name = "SEX")]
    pub sex: Option<String>,
    /// Creatinine clearance (mL/min) for a dataset without CRCL or SCR [default: 100]
    #[arg(long, value_name = "ML_MIN", allow_negative_numbers = true)]
    pub crcl: Option<f64>,
    /// Disease for a dataset without a DISEASE column [default: the model's default]
    #[arg(long, value_name = "DISEASE")]
    pub disease: Option<String>,
}

impl PatientDefaults {
    pub fn patient(&self, model: &Model) -> Result<Patient, String> {
        let sex = match &self.sex {
            None => Sex::Male,
            Some(s) => {
                Sex::parse(s).ok_or_else(|| format!("--sex '{s}': allowed: male, female"))?
            }
        };
        let p = Patient {
            weight_kg: self.weight.unwrap_or(DEFAULT_WEIGHT_KG),
            age_y: self.age.unwrap_or(DEFAULT_AGE_Y),
            sex,
            crcl_ml_min: self.crcl.unwrap_or(DEFAULT_CRCL_ML_MIN),
            disease: self
                .disease
                .clone()
                .unwrap_or_else(|| model.default_disease.clone()),
        };
        p.check(model, "--").map_err(|e| e.to_string())?;
        Ok(p)
    }
}

/// Read a dataset file in the model's terms.
pub fn load(path: &Path, model: &Model, defaults: &PatientDefaults) -> Result<Dataset, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read dataset {}: {e}", path.display()))?;
    let options = DatasetOptions {
        defaults: defaults.patient(model)?,
    };
    read_dataset(&text, &path.display().to_string(), model, &options).map_err(|e| e.to_string())
}

/// What the reader ignored or took from the defaults, one line each (to standard error).
pub fn notes(d: &Dataset) -> Vec<String> {
    let mut n = Vec::new();
    if !d.ignored_columns.is_empty() {
        n.push(format!(
            "note: columns ignored: {}",
            d.ignored_columns.join(", ")
        ));
    }
    for x in &d.defaulted {
        n.push(format!("note: {x}"));
    }
    n
}

/// One dose as given: the regimen (dose record) it comes from, and the event on the dataset's
/// clock.
pub struct GivenDose<'a> {
    pub regimen: &'a Regimen,
    pub event: DoseEvent,
}

/// Every dose of a subject on the dataset's clock: each regimen expanded by the engine up to
/// the next occasion's start (a reset cancels additional doses still to come), the last
/// occasion's up to its regimens' last doses.
pub fn given_doses(s: &DataSubject) -> Result<Vec<GivenDose<'_>>, String> {
    let mut out = Vec::new();
    for (k, occasion) in s.occasions.iter().enumerate() {
        let next = s.occasions.get(k + 1).map(|o| o.start_h - occasion.start_h);
        for r in &s.regimens[occasion.regimens.clone()] {
            let count = match r.repeat {
                Repeat::Count(n) => n as f64,
                _ => 1.0,
            };
            let after_last = r.start_h + count * r.interval_h;
            let horizon = next.unwrap_or(after_last).min(after_last);
            if r.start_h >= horizon {
                continue;
            }
            let events = r
                .dose_events(s.patient.weight_kg, horizon)
                .map_err(|e| format!("ID {}, dose record {}: {e}", s.id, r.name))?;
            out.extend(events.into_iter().map(|mut e| {
                e.time_h += occasion.start_h;
                GivenDose {
                    regimen: r,
                    event: e,
                }
            }));
        }
    }
    Ok(out)
}
