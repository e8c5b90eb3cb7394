//! One subject's parameter values: base values, the disease overlay, explicit overrides and
//! inter-individual variability, then the derived expressions (exmex, over parameters and
//! covariates) in dependency order.

use super::definition::*;
use crate::error::ModelError;
use exmex::prelude::*;

impl Model {
    /// Resolve every parameter for one subject: base values, the disease overlay, explicit
    /// overrides (canonical units, by name), then derived expressions in dependency order.
    pub fn parameter_values(
        &self,
        disease: &str,
        covariates: &Covariates,
        overrides: &[(String, f64)],
    ) -> Result<ParameterValues, ModelError> {
        self.parameter_values_with_variability(disease, covariates, overrides, &[])
    }

    /// As [`Model::parameter_values`], with multiplicative factors (inter-individual
    /// variability, exp(η)) on named parameters: a base parameter is scaled before derived
    /// expressions use it, a derived parameter right after it is evaluated.
    pub fn parameter_values_with_variability(
        &self,
        disease: &str,
        covariates: &Covariates,
        overrides: &[(String, f64)],
        multipliers: &[(ParamId, f64)],
    ) -> Result<ParameterValues, ModelError> {
        let overlay = self.diseases.get(disease).ok_or_else(|| {
            ModelError::invalid(
                "disease",
                format!(
                    "'{disease}' is not a disease of model '{}'; allowed: {}",
                    self.name,
                    self.disease_names().join(", ")
                ),
            )
        })?;
        let mut values: Vec<f64> = self.parameters.iter().map(|p| p.value).collect();
        for (id, v, _) in &overlay.overrides {
            values[*id] = *v;
        }
        for (name, v) in overrides {
            let id = self.parameter_id(name).ok_or_else(|| {
                ModelError::invalid("parameter override", format!("unknown parameter '{name}'"))
            })?;
            if self.parameters[id].expr.is_some() {
                return Err(ModelError::invalid(
                    "parameter override",
                    format!("'{name}' is derived; override its inputs"),
                ));
            }
            check_value(*v)
                .map_err(|m| ModelError::invalid(format!("parameter override {name}"), m))?;
            values[id] = *v;
        }
        for &(id, f) in multipliers {
            if self.parameters[id].expr.is_none() {
                values[id] *= f;
            }
        }
        let cov = covariates.named();
        for d in &self.derived {
            // Expressions are written in the declared units of their inputs.
            let args: Vec<f64> = d
                .inputs
                .iter()
                .map(|inp| match inp {
                    DerivedInput::Parameter(p) => values[*p] / self.parameters[*p].to_canonical,
                    DerivedInput::Covariate(c) => cov[*c].1,
                })
                .collect();
            let p = &self.parameters[d.id];
            // The expression is in the model file, so errors name the file and the parameter
            // (the caller adds the scenario or subject).
            let place = || format!("model file {}: derived.{}", self.origin, p.name);
            let v = d
                .expr
                .eval(&args)
                .map_err(|e| ModelError::invalid(place(), format!("cannot evaluate: {e}")))?;
            let patient = || {
                format!(
                    "weight {} kg, age {} y, CrCl {} mL/min",
                    covariates.weight_kg, covariates.age_y, covariates.crcl_ml_min
                )
            };
            if !v.is_finite() || v < 0.0 {
                return Err(ModelError::invalid(
                    place(),
                    format!(
                        "'{}' evaluates to {v} {} for {}; must be finite and >= 0",
                        p.expr.as_deref().unwrap_or(""),
                        p.unit,
                        patient()
                    ),
                ));
            }
            check_fraction(&p.unit, v)
                .map_err(|m| ModelError::invalid(place(), format!("{m} (for {})", patient())))?;
            values[d.id] = v * p.to_canonical;
            for &(id, f) in multipliers {
                if id == d.id {
                    values[d.id] *= f;
                }
            }
        }
        Ok(ParameterValues {
            values,
            disease: disease.to_string(),
        })
    }
}
