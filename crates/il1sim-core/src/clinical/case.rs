//! A patient's clinical case: covariates (the model's [`Patient`]), the indication, the
//! co-medications and yes/no conditions by their rules-file names, the neutrophil count, and
//! the one regimen to check or plan; and the amounts the rules compare (mg and mg/kg on a
//! dosing day).

use crate::dosing::regimen::{Administration, Regimen, HOURS_PER_DAY};
use crate::model::patient::Patient;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct ClinicalCase {
    pub patient: Patient,
    /// The indication's name in the rules file (`nomid`, `ra`).
    pub indication: String,
    /// Co-medications by their rules-file names (`etanercept`, `methotrexate`).
    pub comedications: Vec<String>,
    /// Yes/no conditions as given; a condition not given is absent.
    pub conditions: BTreeMap<String, bool>,
    /// Absolute neutrophil count (10⁹/L), when known.
    pub anc_1e9_per_l: Option<f64>,
    pub regimen: Regimen,
}

impl ClinicalCase {
    /// Whether a yes/no condition was given as yes.
    pub fn has(&self, condition: &str) -> bool {
        self.conditions.get(condition).copied().unwrap_or(false)
    }

    /// The amount of one dose (mg) for this patient (a weight-based dose with its cap).
    pub fn dose_mg(&self) -> f64 {
        self.regimen.dose.mg(self.patient.weight_kg)
    }

    /// Doses on a dosing day: 24 h / interval for intervals shorter than a day (2 for every
    /// 12 h), otherwise 1.
    pub fn doses_per_dosing_day(&self) -> f64 {
        if self.regimen.interval_h < HOURS_PER_DAY {
            HOURS_PER_DAY / self.regimen.interval_h
        } else {
            1.0
        }
    }

    /// The amount given on a dosing day (mg): what the label's "mg/day" limits apply to, also
    /// when the dose is given every other day.
    pub fn day_mg(&self) -> f64 {
        self.dose_mg() * self.doses_per_dosing_day()
    }

    pub fn day_mg_per_kg(&self) -> f64 {
        self.day_mg() / self.patient.weight_kg
    }

    /// `sc` or `iv`.
    pub fn route(&self) -> &'static str {
        match self.regimen.administration {
            Administration::Subcutaneous => "sc",
            _ => "iv",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dosing::regimen::DoseAmount;

    #[test]
    fn a_dosing_day_counts_every_dose_of_the_day() {
        let mut patient = Patient::adult("nomid");
        patient.weight_kg = 20.0;
        let case = |dose, interval| ClinicalCase {
            patient: patient.clone(),
            indication: "nomid".into(),
            comedications: vec![],
            conditions: BTreeMap::new(),
            anc_1e9_per_l: None,
            regimen: Regimen::repeated(
                "r",
                "anakinra",
                dose,
                Administration::Subcutaneous,
                interval,
                10,
            ),
        };
        let c = case(
            DoseAmount::MgPerKg {
                mg_per_kg: 2.0,
                max_mg: None,
            },
            12.0,
        );
        assert_eq!(c.day_mg(), 80.0);
        assert_eq!(c.day_mg_per_kg(), 4.0);
        let c = case(DoseAmount::Mg(40.0), 48.0);
        assert_eq!(c.day_mg(), 40.0);
    }
}
