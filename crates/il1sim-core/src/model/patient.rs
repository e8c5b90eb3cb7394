//! A patient: the covariates the model's derived parameters use, and a disease overlay.

use super::definition::{Covariates, Model};
use crate::error::InputError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
}

impl Sex {
    pub fn parse(text: &str) -> Option<Sex> {
        match text.to_ascii_lowercase().as_str() {
            "f" | "female" => Some(Sex::Female),
            "m" | "male" => Some(Sex::Male),
            _ => None,
        }
    }
    pub fn label(&self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    pub weight_kg: f64,
    pub age_y: f64,
    pub sex: Sex,
    /// Creatinine clearance (Cockcroft–Gault in adults; for children the
    /// body-surface-normalised eGFR, mL/min/1.73 m²).
    pub crcl_ml_min: f64,
    pub disease: String,
}

/// Allowed ranges (inclusive), with the reason in the error text ([`RANGE_REASONS`]).
pub const WEIGHT_RANGE_KG: (f64, f64) = (0.5, 400.0);
pub const AGE_RANGE_Y: (f64, f64) = (0.0, 120.0);
pub const CRCL_RANGE_ML_MIN: (f64, f64) = (0.0, 300.0);

/// Why each range is what it is, shown with the range when a value falls outside it.
const RANGE_REASONS: [&str; 3] = [
    // Weight: from the smallest extremely preterm neonates (about 0.5 kg) to beyond the
    // heaviest patients in clinical series; smaller values are typing errors (grams for kg).
    "from an extremely preterm neonate to the heaviest patients",
    // Age: a newborn (0) to the oldest documented human lifespans.
    "from birth to the oldest documented ages",
    // CrCl: anuria (0) to glomerular hyperfiltration, which stays well below 300 mL/min.
    "from anuria to the highest hyperfiltration",
];
impl Patient {
    pub fn adult(disease: &str) -> Patient {
        Patient {
            weight_kg: 70.0,
            age_y: 50.0,
            sex: Sex::Male,
            crcl_ml_min: 100.0,
            disease: disease.into(),
        }
    }

    pub fn covariates(&self) -> Covariates {
        Covariates {
            weight_kg: self.weight_kg,
            age_y: self.age_y,
            crcl_ml_min: self.crcl_ml_min,
            female: self.sex == Sex::Female,
        }
    }

    /// Check every covariate against its allowed range (the declared constants above, ends
    /// included) and the disease against the model.
    pub fn check(&self, model: &Model, field: &str) -> Result<(), InputError> {
        let range = |name: &str, v: f64, (lo, hi): (f64, f64), unit: &str, why: &str| {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(InputError::new(
                    format!("{field}.{name}"),
                    format!("{v} {unit}"),
                    format!("allowed: {lo} to {hi} {unit} ({why})"),
                ))
            }
        };
        range(
            "weight",
            self.weight_kg,
            WEIGHT_RANGE_KG,
            "kg",
            RANGE_REASONS[0],
        )?;
        range("age", self.age_y, AGE_RANGE_Y, "years", RANGE_REASONS[1])?;
        range(
            "crcl",
            self.crcl_ml_min,
            CRCL_RANGE_ML_MIN,
            "mL/min",
            RANGE_REASONS[2],
        )?;
        if !model.diseases.contains_key(&self.disease) {
            return Err(InputError::new(
                format!("{field}.disease"),
                &self.disease,
                format!("allowed: {}", model.disease_names().join(", ")),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patient(weight_kg: f64, age_y: f64, crcl_ml_min: f64) -> Patient {
        Patient {
            weight_kg,
            age_y,
            sex: Sex::Female,
            crcl_ml_min,
            disease: "healthy".into(),
        }
    }

    /// The declared ranges are the ones applied, ends included; the message names the field,
    /// the value and the range.
    #[test]
    fn declared_ranges_are_applied() {
        let m = crate::il1_model();
        let (w, a, c) = (WEIGHT_RANGE_KG, AGE_RANGE_Y, CRCL_RANGE_ML_MIN);
        for ok in [
            patient(w.0, a.0, c.0),
            patient(w.1, a.1, c.1),
            patient(70.0, 50.0, 100.0),
        ] {
            ok.check(&m, "patient").unwrap();
        }
        let cases = [
            (
                patient(0.01, 50.0, 100.0),
                "patient.weight = 0.01 kg: allowed: 0.5 to 400 kg",
            ),
            (patient(0.49, 50.0, 100.0), "patient.weight = 0.49 kg"),
            (patient(401.0, 50.0, 100.0), "patient.weight = 401 kg"),
            (
                patient(70.0, -1.0, 100.0),
                "patient.age = -1 years: allowed: 0 to 120 years",
            ),
            (patient(70.0, 121.0, 100.0), "patient.age = 121 years"),
            (
                patient(70.0, 50.0, -5.0),
                "patient.crcl = -5 mL/min: allowed: 0 to 300 mL/min",
            ),
            (patient(70.0, 50.0, 301.0), "patient.crcl = 301 mL/min"),
            (patient(f64::NAN, 50.0, 100.0), "patient.weight = NaN kg"),
        ];
        for (p, needle) in cases {
            let e = p.check(&m, "patient").unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
