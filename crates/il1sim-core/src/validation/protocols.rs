//! What the experiments share: standard patients (adult, child), regimens (daily doses, the
//! rilonacept and canakinumab labels, the sepsis infusion, single doses), an hourly grid and
//! read-outs (steady-state average, CRP and other observables treated and untreated).

use crate::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat};
use crate::error::{ModelError, SimError};
use crate::metrics::simulate_and_summarise;
use crate::model::definition::Model;
use crate::model::patient::{Patient, Sex};
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;

pub(super) fn adult(disease: &str, crcl: f64) -> Patient {
    Patient {
        weight_kg: 70.0,
        age_y: 50.0,
        sex: Sex::Male,
        crcl_ml_min: crcl,
        disease: disease.into(),
    }
}

pub(super) fn child(disease: &str, weight_kg: f64, age_y: f64) -> Patient {
    Patient {
        weight_kg,
        age_y,
        sex: Sex::Female,
        crcl_ml_min: 100.0,
        disease: disease.into(),
    }
}

pub(super) fn daily(dose: DoseAmount, days: u32) -> Regimen {
    Regimen::repeated(
        "daily",
        "anakinra",
        dose,
        Administration::Subcutaneous,
        24.0,
        days,
    )
}

/// A daily SC regimen of `mg_per_kg` (uncapped) for `days` doses.
pub(super) fn daily_per_kg(mg_per_kg: f64, days: u32) -> Regimen {
    daily(
        DoseAmount::MgPerKg {
            mg_per_kg,
            max_mg: None,
        },
        days,
    )
}

/// Rilonacept label regimen for adults (Arcalyst US PI section 2): 320 mg SC loading dose,
/// then 160 mg weekly, `doses` doses in all (also used by the calibration example).
pub fn rilonacept_label(doses: u32) -> Regimen {
    let mut r = Regimen::repeated(
        "rilonacept",
        "rilonacept",
        DoseAmount::Mg(160.0),
        Administration::Subcutaneous,
        7.0 * 24.0,
        doses,
    );
    r.loading_dose = Some(DoseAmount::Mg(320.0));
    r
}

/// Twelve weeks of the label regimen.
pub(super) fn rilonacept() -> Regimen {
    rilonacept_label(12)
}

/// The sepsis trial regimen (Fisher 1994; Opal 1997): a 100 mg IV bolus, then 2 mg/kg/h as
/// one 72-h infusion (the bolus is a regimen given with the infusion).
pub fn sepsis_infusion() -> Regimen {
    let mut r = Regimen::repeated(
        "100 mg load + 2 mg/kg/h IV x 72 h",
        "anakinra",
        DoseAmount::MgPerKg {
            mg_per_kg: 2.0 * 72.0,
            max_mg: None,
        },
        Administration::IvInfusion { duration_h: 72.0 },
        72.0,
        1,
    );
    r.with.push(Regimen::repeated(
        "100 mg IV load",
        "anakinra",
        DoseAmount::Mg(100.0),
        Administration::IvBolus,
        24.0,
        1,
    ));
    r
}

/// Canakinumab SC every 8 weeks (label CAPS regimen above 40 kg: 150 mg q8w).
pub(super) fn canakinumab(dose_mg: f64, doses: u32) -> Regimen {
    Regimen::repeated(
        "canakinumab",
        "canakinumab",
        DoseAmount::Mg(dose_mg),
        Administration::Subcutaneous,
        56.0 * 24.0,
        doses,
    )
}

pub(super) fn single(dose_mg: f64, administration: Administration) -> Regimen {
    let mut r = Regimen::repeated(
        "single",
        "anakinra",
        DoseAmount::Mg(dose_mg),
        administration,
        24.0,
        1,
    );
    r.repeat = Repeat::Single;
    r
}

pub(super) fn hourly(h: f64) -> Vec<f64> {
    (0..=(h as usize)).map(|t| t as f64).collect()
}

/// Steady-state average concentration (mg/L) of a daily regimen.
pub(super) fn cavg_ss(model: &Model, patient: &Patient, dose: DoseAmount) -> Result<f64, SimError> {
    let s = Subject::new(model, patient, &[], SolverOptions::default())?;
    let mut r = daily(dose, 1);
    r.steady_state = true;
    let (_, summary) = simulate_and_summarise(&s, &r, 24.0, &[])?;
    Ok(summary.get("c_average").unwrap_or(f64::NAN) / 1000.0)
}

pub(super) fn crp_at(
    model: &Model,
    patient: &Patient,
    regimen: Option<&Regimen>,
    day: f64,
) -> Result<f64, SimError> {
    observable_at(model, patient, regimen, day, "crp")
}

/// An observable untreated (no regimen) or at `day` of a regimen.
pub(super) fn observable_at(
    model: &Model,
    patient: &Patient,
    regimen: Option<&Regimen>,
    day: f64,
    name: &str,
) -> Result<f64, SimError> {
    let s = Subject::new(model, patient, &[], SolverOptions::default())?;
    let i = required_observable(model, name)?;
    match regimen {
        None => Ok(s.observe(&s.baseline)[i]),
        Some(r) => {
            let t = day * 24.0;
            let (traj, _) = s.simulate(r, t, &[t])?;
            Ok(s.observe(&traj.states[0])[i])
        }
    }
}

/// An observable at `day` of a regimen and untreated, for the same patient (one baseline solve).
pub(super) fn treated_and_untreated(
    model: &Model,
    patient: &Patient,
    regimen: &Regimen,
    day: f64,
    name: &str,
) -> Result<(f64, f64), SimError> {
    let s = Subject::new(model, patient, &[], SolverOptions::default())?;
    let i = required_observable(model, name)?;
    let t = day * 24.0;
    let (traj, _) = s.simulate(regimen, t, &[t])?;
    Ok((s.observe(&traj.states[0])[i], s.observe(&s.baseline)[i]))
}

/// An observable at `day` of a regimen relative to its untreated value.
pub(super) fn ratio_to_untreated(
    model: &Model,
    patient: &Patient,
    regimen: &Regimen,
    day: f64,
    name: &str,
) -> Result<f64, SimError> {
    let (treated, untreated) = treated_and_untreated(model, patient, regimen, day, name)?;
    Ok(treated / untreated)
}

/// An observable the experiment needs, by name.
pub(super) fn required_observable(model: &Model, name: &str) -> Result<usize, SimError> {
    model
        .observable_id(name)
        .ok_or_else(|| ModelError::invalid("model", format!("no '{name}' observable")).into())
}
