//! The dosing engine against closed forms: a one-compartment model (SC with lag and
//! bioavailability, IV bolus, infusions, co-administered routes) integrated at tight
//! tolerances and compared with the analytic concentration.

use super::protocols::hourly;
use crate::dosing::inputs::StateInput;
use crate::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat};
use crate::error::{ModelError, SimError};
use crate::model::definition::{Model, RouteKind};
use crate::model::patient::{Patient, Sex};
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;

/// The one-compartment model used for closed-form checks of the dosing engine.
pub const ONE_COMPARTMENT_TOML: &str = include_str!("../../../../models/one-compartment.toml");

#[derive(Debug, Clone, Copy)]
pub(super) enum ClosedForm {
    ScSingle,
    Sc28Daily,
    InfusionRepeated,
    BolusMissedExtra,
    CoAdministered,
}

/// Largest relative difference between the engine (tight tolerances) and the closed form,
/// over hourly points where the closed form exceeds 1e-4 of its maximum.
pub(super) fn closed_form_error(case: ClosedForm) -> Result<f64, SimError> {
    let model = Model::from_toml(ONE_COMPARTMENT_TOML, "models/one-compartment.toml")?;
    let patient = Patient {
        weight_kg: 70.0,
        age_y: 40.0,
        sex: Sex::Male,
        crcl_ml_min: 100.0,
        disease: "none".into(),
    };
    let s = Subject::new(&model, &patient, &[], SolverOptions::TIGHT)?;
    let p = |n: &str| {
        model
            .parameter_id(n)
            .map(|i| s.params.values[i])
            .ok_or_else(|| {
                SimError::from(ModelError::invalid(
                    "one-compartment model",
                    format!("no parameter {n}"),
                ))
            })
    };
    let (f, tlag, ka, cl, v) = (p("F")?, p("tlag")?, p("ka")?, p("CL")?, p("V")?);
    let k = cl / v;
    let mg = |amount: f64| amount * 1e3; // MW 1 kDa: 1 mg = 1000 nmol
    let mut r = Regimen::repeated(
        "r",
        "test_drug",
        DoseAmount::Mg(10.0),
        Administration::Subcutaneous,
        24.0,
        1,
    );
    let horizon;
    match case {
        ClosedForm::ScSingle => {
            r.repeat = Repeat::Single;
            horizon = 72.0;
        }
        ClosedForm::Sc28Daily => {
            r.repeat = Repeat::Count(28);
            horizon = 28.0 * 24.0;
        }
        ClosedForm::InfusionRepeated => {
            r.administration = Administration::IvInfusion { duration_h: 2.0 };
            r.interval_h = 12.0;
            r.repeat = Repeat::Count(10);
            horizon = 150.0;
        }
        ClosedForm::BolusMissedExtra => {
            r.administration = Administration::IvBolus;
            r.repeat = Repeat::Count(10);
            r.missed_days = vec![3, 6];
            r.extra_doses = vec![crate::dosing::regimen::ExtraDose {
                time_h: 100.0,
                dose: DoseAmount::Mg(5.0),
            }];
            horizon = 12.0 * 24.0;
        }
        ClosedForm::CoAdministered => {
            // A 72-h infusion with, given with it, an IV bolus load at 0 h and SC doses on
            // days 2-4 (all routes of one drug in one simulation).
            r.administration = Administration::IvInfusion { duration_h: 72.0 };
            r.repeat = Repeat::Single;
            r.with.push(Regimen::repeated(
                "load",
                "test_drug",
                DoseAmount::Mg(8.0),
                Administration::IvBolus,
                24.0,
                1,
            ));
            let mut sc = Regimen::repeated(
                "sc",
                "test_drug",
                DoseAmount::Mg(4.0),
                Administration::Subcutaneous,
                24.0,
                3,
            );
            sc.start_h = 24.0;
            r.with.push(sc);
            horizon = 120.0;
        }
    }
    let inputs = s.regimen_inputs(&r, horizon)?;
    let sc_target = model.drugs[0]
        .routes
        .get(&RouteKind::Subcutaneous)
        .map(|route| route.target);
    let exact = |t: f64| -> f64 {
        inputs
            .iter()
            .map(|i| match *i {
                StateInput::Bolus {
                    time_h,
                    amount_nmol,
                    species,
                } if t > time_h => {
                    let dt = t - time_h;
                    if Some(species) == sc_target {
                        amount_nmol * ka / (v * (ka - k)) * ((-k * dt).exp() - (-ka * dt).exp())
                    } else {
                        amount_nmol / v * (-k * dt).exp()
                    }
                }
                // Observations at a dose time are taken before the dose (trough semantics).
                // A rate step of R from time_h on contributes R/CL (1 - e^{-k dt}).
                StateInput::RateStep {
                    time_h,
                    delta_nmol_per_h,
                    ..
                } if t >= time_h => delta_nmol_per_h / cl * (1.0 - (-k * (t - time_h)).exp()),
                _ => 0.0,
            })
            .sum()
    };
    // Sanity of the inputs themselves: F and lag applied to SC doses.
    if matches!(r.administration, Administration::Subcutaneous) {
        if let Some(StateInput::Bolus {
            time_h,
            amount_nmol,
            ..
        }) = inputs.first()
        {
            debug_assert!(
                (time_h - tlag).abs() < 1e-12 && (amount_nmol - f * mg(10.0)).abs() < 1e-9
            );
        }
    }
    let times = hourly(horizon);
    let (traj, _) = s.simulate(&r, horizon, &times)?;
    let c = model.drugs[0].concentration_species;
    let cmax = times.iter().map(|&t| exact(t)).fold(0.0, f64::max);
    let mut worst: f64 = 0.0;
    for (t, y) in traj.times_h.iter().zip(&traj.states) {
        let e = exact(*t);
        if e > 1e-4 * cmax {
            worst = worst.max(((y[c] - e) / e).abs());
        }
    }
    Ok(worst)
}
