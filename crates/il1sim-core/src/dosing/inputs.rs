//! Dose events into state inputs: depot boluses, IV boluses and infusion rate steps, with
//! the route's bioavailability and lag applied.

use super::schedule::DoseEvent;
use crate::error::InputError;
use crate::model::definition::{Drug, Model, ParameterValues};

/// What a dose does to the state: an instantaneous amount into a species, or a step in a
/// zero-order input rate (infusion start and end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StateInput {
    Bolus {
        time_h: f64,
        species: usize,
        amount_nmol: f64,
    },
    RateStep {
        time_h: f64,
        species: usize,
        delta_nmol_per_h: f64,
    },
}

impl StateInput {
    /// The state the input goes into.
    pub fn species(&self) -> usize {
        match *self {
            StateInput::Bolus { species, .. } | StateInput::RateStep { species, .. } => species,
        }
    }

    pub fn time_h(&self) -> f64 {
        match *self {
            StateInput::Bolus { time_h, .. } | StateInput::RateStep { time_h, .. } => time_h,
        }
    }

    /// The same input at another time.
    pub fn at(&self, t_h: f64) -> StateInput {
        match *self {
            StateInput::Bolus {
                species,
                amount_nmol,
                ..
            } => StateInput::Bolus {
                time_h: t_h,
                species,
                amount_nmol,
            },
            StateInput::RateStep {
                species,
                delta_nmol_per_h,
                ..
            } => StateInput::RateStep {
                time_h: t_h,
                species,
                delta_nmol_per_h,
            },
        }
    }
}

/// 1 mg of a protein of M kDa is 1e6/M nmol... precisely: mg / (kDa = mg/µmol) = µmol.
pub fn mg_to_nmol(mg: f64, molar_mass_kda: f64) -> f64 {
    mg / molar_mass_kda * 1e3
}

/// Turn dose events into state inputs for `drug`, applying the route's bioavailability and lag.
pub fn state_inputs(
    model: &Model,
    pv: &ParameterValues,
    drug: &Drug,
    doses: &[DoseEvent],
) -> Result<Vec<StateInput>, InputError> {
    let mw = pv.values[drug.molar_mass];
    let mut inputs = Vec::new();
    for d in doses {
        let route_kind = d.administration.route();
        let route = drug.routes.get(&route_kind).ok_or_else(|| {
            let allowed: Vec<&str> = drug.routes.keys().map(|r| r.label()).collect();
            InputError::new(
                "route",
                route_kind.label(),
                format!(
                    "drug '{}' in model '{}' has routes: {}",
                    drug.name,
                    model.name,
                    allowed.join(", ")
                ),
            )
        })?;
        let f = route.bioavailability.map_or(1.0, |p| pv.values[p]);
        let lag = route.lag.map_or(0.0, |p| pv.values[p]);
        let amount = mg_to_nmol(d.amount_mg, mw) * f;
        let t = d.time_h + lag;
        match d.administration.infusion_hours(d.amount_mg) {
            None => inputs.push(StateInput::Bolus {
                time_h: t,
                species: route.target,
                amount_nmol: amount,
            }),
            Some(duration_h) => {
                let rate = amount / duration_h;
                inputs.push(StateInput::RateStep {
                    time_h: t,
                    species: route.target,
                    delta_nmol_per_h: rate,
                });
                inputs.push(StateInput::RateStep {
                    time_h: t + duration_h,
                    species: route.target,
                    delta_nmol_per_h: -rate,
                });
            }
        }
    }
    inputs.sort_by(|a, b| a.time_h().total_cmp(&b.time_h()));
    Ok(inputs)
}
