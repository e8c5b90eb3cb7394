//! A patient: the covariates the model's derived parameters use, and a disease overlay.

use crate::error::InputError;
use crate::model::{Covariates, Model};

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

/// Allowed ranges (inclusive), with the reason in the error text.
pub const WEIGHT_RANGE_KG: (f64, f64) = (0.5, 400.0);
pub const AGE_RANGE_Y: (f64, f64) = (0.0, 120.0);
pub const CRCL_RANGE_ML_MIN: (f64, f64) = (0.0, 300.0);

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

    /// Check every covariate against its allowed range and the disease against the model.
    pub fn check(&self, model: &Model, field: &str) -> Result<(), InputError> {
        let range = |name: &str, v: f64, (lo, hi): (f64, f64), unit: &str, strict_low: bool| {
            let ok = v.is_finite() && if strict_low { v > lo } else { v >= lo } && v <= hi;
            if ok {
                Ok(())
            } else {
                let low = if strict_low {
                    format!("> {lo}")
                } else {
                    format!(">= {lo}")
                };
                Err(InputError::new(
                    format!("{field}.{name}"),
                    format!("{v} {unit}"),
                    format!("allowed: {low} and <= {hi} {unit}"),
                ))
            }
        };
        range(
            "weight",
            self.weight_kg,
            (0.0, WEIGHT_RANGE_KG.1),
            "kg",
            true,
        )?;
        range("age", self.age_y, AGE_RANGE_Y, "years", false)?;
        range("crcl", self.crcl_ml_min, CRCL_RANGE_ML_MIN, "mL/min", false)?;
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
