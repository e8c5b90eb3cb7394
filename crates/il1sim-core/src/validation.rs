//! Validation: published figures as data (`validation/targets.toml`: value or range,
//! tolerance with its basis, source) and the experiments that produce the model's number
//! for each. The `validate` command and the test suite run the same list.

use crate::dosing::inputs::StateInput;
use crate::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat};
use crate::error::{ModelError, SimError};
use crate::exchange::trial_file::parse_trial;
use crate::metrics::simulate_and_summarise;
use crate::model::definition::{Model, RouteKind};
use crate::model::patient::{Patient, Sex};
use crate::response::acr::{driver_course, ResponseModel};
use crate::response::trial::run_trial;
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The bundled targets file.
pub const TARGETS_TOML: &str = include_str!("../../../validation/targets.toml");
/// The one-compartment model used for closed-form checks of the dosing engine.
pub const ONE_COMPARTMENT_TOML: &str = include_str!("../../../models/one-compartment.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    targets: Vec<Target>,
}

/// What a target claims and where it comes from.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub id: String,
    pub group: String,
    /// `engine` (closed forms), `calibration` (a figure a parameter was fitted to) or
    /// `prediction` (a figure the model was not tuned to).
    pub role: String,
    pub quantity: String,
    pub experiment: String,
    pub unit: String,
    pub check: Check,
    pub source: String,
    /// Why the tolerance is what it is (published spread, label range, precision).
    pub tolerance_basis: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Check {
    Range { low: f64, high: f64 },
    Relative { value: f64, tolerance: f64 },
    AtMost { value: f64 },
    AtLeast { value: f64 },
}

impl Check {
    pub fn passes(&self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        match *self {
            Check::Range { low, high } => x >= low && x <= high,
            Check::Relative { value, tolerance } => ((x - value) / value).abs() <= tolerance,
            Check::AtMost { value } => x <= value,
            Check::AtLeast { value } => x >= value,
        }
    }

    /// Whether the check can be evaluated at all: finite numbers, a range with low <= high,
    /// a relative check around a non-zero value with a tolerance > 0. A check that cannot
    /// pass is a mistake in the targets file, reported as such instead of as a FAIL.
    pub fn validate(&self) -> Result<(), String> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!(
                    "{name} = {v} is not allowed; it must be a finite number"
                ))
            }
        };
        match *self {
            Check::Range { low, high } => {
                finite("range.low", low)?;
                finite("range.high", high)?;
                if low > high {
                    return Err(format!(
                        "range low = {low}, high = {high} is not allowed; low must be <= high"
                    ));
                }
            }
            Check::Relative { value, tolerance } => {
                finite("relative.value", value)?;
                finite("relative.tolerance", tolerance)?;
                if value == 0.0 {
                    return Err(
                        "relative.value = 0 is not allowed; a relative tolerance needs \
                                a non-zero value (use range or at_most)"
                            .into(),
                    );
                }
                if tolerance <= 0.0 {
                    return Err(format!(
                        "relative.tolerance = {tolerance} is not allowed; it must be > 0"
                    ));
                }
            }
            Check::AtMost { value } => finite("at_most.value", value)?,
            Check::AtLeast { value } => finite("at_least.value", value)?,
        }
        Ok(())
    }

    /// The published figure with its tolerance, as shown to users.
    pub fn describe(&self) -> String {
        match *self {
            Check::Range { low, high } => format!("{} to {}", fmt_num(low), fmt_num(high)),
            Check::Relative { value, tolerance } => {
                format!("{} ± {}%", fmt_num(value), fmt_num(tolerance * 100.0))
            }
            Check::AtMost { value } => format!("≤ {}", fmt_num(value)),
            Check::AtLeast { value } => format!("≥ {}", fmt_num(value)),
        }
    }
}

/// Compact number formatting for tables.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e4 || x.abs() < 1e-3 {
        format!("{x:.2e}")
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// The unit of the number an experiment returns: a target's `unit` must be this one (a
/// closed-form check returns a relative error, so "ng/mL" there is a mistake in the file).
pub fn experiment_unit(id: &str) -> Option<&'static str> {
    Some(match id {
        // largest relative difference from a closed form
        "closed_form_sc_single"
        | "closed_form_sc_28_daily"
        | "closed_form_iv_infusion_repeated"
        | "closed_form_iv_bolus_missed_extra"
        | "closed_form_co_administered" => "relative",
        // a part of a whole (bioavailability, fall of CRP)
        "f_sc_70mg" | "ra_crp_fall_week1_4mgkg" => "fraction",
        // times in hours
        "tmax_sc_100mg" | "thalf_sc_terminal" | "crp_half_life_blocked" => "h",
        // concentrations and their differences in mg/L
        "cavg_ss_100mg_mg_per_l"
        | "cavg_child_10kg"
        | "cavg_child_21kg"
        | "cavg_child_50kg"
        | "healthy_crp"
        | "ra_crp_untreated"
        | "nomid_crp_untreated"
        | "nomid_crp_day90_1mgkg"
        | "nomid_crp_day90_2mgkg"
        | "healthy_saa"
        | "nomid_saa_untreated"
        | "nomid_saa_day90_1mgkg"
        | "canakinumab_caps_crp_day8"
        | "rilonacept_caps_crp_day7"
        | "sjia_crp_untreated"
        | "sjia_crp_day28_2mgkg"
        | "dira_crp_untreated"
        | "dira_crp_day28_1mgkg"
        | "dira_crp_day28_2mgkg"
        | "fcas_crp_fall_week6_rilonacept"
        | "fcas_saa_fall_week6_rilonacept"
        | "mws_crp_day14_100mg"
        | "mws_saa_day14_100mg"
        | "aosd_crp_untreated"
        | "aosd_crp_day7_100mg"
        | "aosd_crp_day28_100mg"
        | "aosd_crp_4d_after_stop"
        | "mas_crp_untreated"
        | "sepsis_crp_untreated" => "mg/L",
        // ratios of two model values
        "accumulation_after_day2_100mg_daily"
        | "auc_ratio_crcl_65"
        | "auc_ratio_crcl_40"
        | "auc_ratio_crcl_20"
        | "auc_ratio_crcl_5"
        | "mg_per_kg_for_target_10kg_over_50kg"
        | "molar_excess_in_vitro"
        | "canakinumab_accumulation_q8w"
        | "canakinumab_total_il1b_ratio_day28"
        | "canakinumab_free_il1b_ratio_day28"
        | "rilonacept_free_il1ra_site_ratio_day14"
        | "mas_crp_ratio_day7_iv_5mgkg_bid"
        | "sepsis_crp_ratio_72h_iv_2mgkgh" => "ratio",
        // a plasma concentration in pg/mL
        "healthy_il1ra_plasma" => "pg/mL",
        // serum concentrations in ng/mL
        "nomid_serum_il1ra_trough_day90" | "nomid_serum_il1ra_untreated" => "ng/mL",
        // half-lives in days
        "canakinumab_terminal_half_life_days" | "rilonacept_terminal_half_life_days" => "days",
        // a production rate
        "mws_il1b_production_ng_per_day" => "ng/day",
        // responder percentages
        "acr20_placebo_week24_cohen2004_expected"
        | "acr20_placebo_week24_bresnihan1998_expected"
        | "acr20_150mg_week24_bresnihan1998_expected"
        | "acr_cohen2004_100mg_expected_acr20"
        | "acr_cohen2004_100mg_expected_acr50"
        | "acr_cohen2004_100mg_expected_acr70"
        | "acr_trial_cohen2004_placebo_acr20"
        | "acr_trial_cohen2004_placebo_acr50"
        | "acr_trial_cohen2004_placebo_acr70"
        | "acr_trial_cohen2004_anakinra_acr20"
        | "acr_trial_cohen2004_anakinra_acr50"
        | "acr_trial_cohen2004_anakinra_acr70" => "%",
        _ => return None,
    })
}

/// The targets of a targets file with their spans, read only to put a line on an error.
#[derive(Deserialize)]
struct TargetSpans {
    #[serde(default)]
    targets: Vec<toml::Spanned<toml::Value>>,
}

/// Parse and check a targets file: every target names a known experiment with that
/// experiment's unit, a usable check (finite bounds, low <= high, a tolerance > 0), a unique
/// id and non-empty text fields. Errors name the file, the line of the target, the field,
/// the value and what is allowed; a bad target is an input error, never a FAIL.
pub fn load_targets(text: &str, origin: &str) -> Result<Vec<Target>, ModelError> {
    let line_of = |start: usize| text[..start.min(text.len())].matches('\n').count() + 1;
    let f: TargetsFile = toml::from_str(text).map_err(|e| {
        let place = match e.span() {
            Some(span) => format!("{origin}:{}", line_of(span.start)),
            None => origin.to_string(),
        };
        ModelError::invalid(
            place,
            format!(
                "targets file is not valid TOML or has an unknown field: {}",
                e.message().trim()
            ),
        )
    })?;
    // The line of target i, when it can be found.
    let place = |i: usize, id: &str, field: &str| {
        let line = toml::from_str::<TargetSpans>(text)
            .ok()
            .and_then(|s| s.targets.get(i).map(|t| line_of(t.span().start)));
        let at = line.map_or(origin.to_string(), |l| format!("{origin}:{l}"));
        format!("{at}: target '{id}'.{field}")
    };
    for (i, t) in f.targets.iter().enumerate() {
        let bad = |field: &str, message: String| {
            Err(ModelError::invalid(place(i, &t.id, field), message))
        };
        for (field, value) in [
            ("id", &t.id),
            ("group", &t.group),
            ("quantity", &t.quantity),
            ("source", &t.source),
            ("tolerance_basis", &t.tolerance_basis),
        ] {
            if value.trim().is_empty() {
                return bad(
                    field,
                    format!("'{value}' is not allowed; every target needs a non-empty {field}"),
                );
            }
        }
        if let Some(j) = f.targets[..i].iter().position(|o| o.id == t.id) {
            return bad(
                "id",
                format!(
                    "'{}' is used twice (also targets[{j}]); target ids must differ",
                    t.id
                ),
            );
        }
        if !["engine", "calibration", "prediction"].contains(&t.role.as_str()) {
            return bad(
                "role",
                format!(
                    "'{}' is not allowed; allowed: engine, calibration, prediction",
                    t.role
                ),
            );
        }
        let Some(unit) = experiment_unit(&t.experiment) else {
            return bad(
                "experiment",
                format!(
                    "'{}' is not an experiment; allowed: {}",
                    t.experiment,
                    EXPERIMENTS.join(", ")
                ),
            );
        };
        if t.unit != unit {
            return bad(
                "unit",
                format!(
                    "'{}' is not allowed; experiment '{}' gives a value in '{unit}'",
                    t.unit, t.experiment
                ),
            );
        }
        if let Err(message) = t.check.validate() {
            return bad("check", message);
        }
    }
    Ok(f.targets)
}

/// The result of one target.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub target: Target,
    pub model_value: Result<f64, String>,
    pub passed: bool,
}

pub fn run_target(model: &Model, target: &Target) -> Outcome {
    let model_value = run_experiment(model, &target.experiment).map_err(|e| e.to_string());
    let passed = model_value
        .as_ref()
        .map(|v| target.check.passes(*v))
        .unwrap_or(false);
    Outcome {
        target: target.clone(),
        model_value,
        passed,
    }
}

/// Every experiment a target may name.
pub const EXPERIMENTS: &[&str] = &[
    "closed_form_sc_single",
    "closed_form_sc_28_daily",
    "closed_form_iv_infusion_repeated",
    "closed_form_iv_bolus_missed_extra",
    "closed_form_co_administered",
    "f_sc_70mg",
    "tmax_sc_100mg",
    "thalf_sc_terminal",
    "cavg_ss_100mg_mg_per_l",
    "accumulation_after_day2_100mg_daily",
    "auc_ratio_crcl_65",
    "auc_ratio_crcl_40",
    "auc_ratio_crcl_20",
    "auc_ratio_crcl_5",
    "cavg_child_10kg",
    "cavg_child_21kg",
    "cavg_child_50kg",
    "mg_per_kg_for_target_10kg_over_50kg",
    "molar_excess_in_vitro",
    "crp_half_life_blocked",
    "healthy_crp",
    "healthy_il1ra_plasma",
    "ra_crp_untreated",
    "ra_crp_fall_week1_4mgkg",
    "nomid_crp_untreated",
    "nomid_crp_day90_1mgkg",
    "nomid_crp_day90_2mgkg",
    "nomid_serum_il1ra_trough_day90",
    "nomid_serum_il1ra_untreated",
    "healthy_saa",
    "nomid_saa_untreated",
    "nomid_saa_day90_1mgkg",
    "canakinumab_terminal_half_life_days",
    "canakinumab_accumulation_q8w",
    "canakinumab_total_il1b_ratio_day28",
    "canakinumab_free_il1b_ratio_day28",
    "canakinumab_caps_crp_day8",
    "rilonacept_terminal_half_life_days",
    "rilonacept_caps_crp_day7",
    "rilonacept_free_il1ra_site_ratio_day14",
    "sjia_crp_untreated",
    "sjia_crp_day28_2mgkg",
    "dira_crp_untreated",
    "dira_crp_day28_1mgkg",
    "dira_crp_day28_2mgkg",
    "fcas_crp_fall_week6_rilonacept",
    "fcas_saa_fall_week6_rilonacept",
    "mws_il1b_production_ng_per_day",
    "mws_crp_day14_100mg",
    "mws_saa_day14_100mg",
    "aosd_crp_untreated",
    "aosd_crp_day7_100mg",
    "aosd_crp_day28_100mg",
    "aosd_crp_4d_after_stop",
    "mas_crp_untreated",
    "mas_crp_ratio_day7_iv_5mgkg_bid",
    "sepsis_crp_untreated",
    "sepsis_crp_ratio_72h_iv_2mgkgh",
    "acr20_placebo_week24_cohen2004_expected",
    "acr20_placebo_week24_bresnihan1998_expected",
    "acr20_150mg_week24_bresnihan1998_expected",
    "acr_cohen2004_100mg_expected_acr20",
    "acr_cohen2004_100mg_expected_acr50",
    "acr_cohen2004_100mg_expected_acr70",
    "acr_trial_cohen2004_placebo_acr20",
    "acr_trial_cohen2004_placebo_acr50",
    "acr_trial_cohen2004_placebo_acr70",
    "acr_trial_cohen2004_anakinra_acr20",
    "acr_trial_cohen2004_anakinra_acr50",
    "acr_trial_cohen2004_anakinra_acr70",
];

/// The shipped virtual replicate of Cohen 2004, run by the `acr_trial_*` experiments.
pub const RA_ACR_TRIAL_TOML: &str = include_str!("../../../scenarios/ra-acr-trial.toml");

fn adult(disease: &str, crcl: f64) -> Patient {
    Patient {
        weight_kg: 70.0,
        age_y: 50.0,
        sex: Sex::Male,
        crcl_ml_min: crcl,
        disease: disease.into(),
    }
}

fn child(disease: &str, weight_kg: f64, age_y: f64) -> Patient {
    Patient {
        weight_kg,
        age_y,
        sex: Sex::Female,
        crcl_ml_min: 100.0,
        disease: disease.into(),
    }
}

fn daily(dose: DoseAmount, days: u32) -> Regimen {
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
fn daily_per_kg(mg_per_kg: f64, days: u32) -> Regimen {
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
fn rilonacept() -> Regimen {
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
fn canakinumab(dose_mg: f64, doses: u32) -> Regimen {
    Regimen::repeated(
        "canakinumab",
        "canakinumab",
        DoseAmount::Mg(dose_mg),
        Administration::Subcutaneous,
        56.0 * 24.0,
        doses,
    )
}

fn single(dose_mg: f64, administration: Administration) -> Regimen {
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

fn hourly(h: f64) -> Vec<f64> {
    (0..=(h as usize)).map(|t| t as f64).collect()
}

/// Steady-state average concentration (mg/L) of a daily regimen.
fn cavg_ss(model: &Model, patient: &Patient, dose: DoseAmount) -> Result<f64, SimError> {
    let s = Subject::new(model, patient, &[], SolverOptions::default())?;
    let mut r = daily(dose, 1);
    r.steady_state = true;
    let (_, summary) = simulate_and_summarise(&s, &r, 24.0, &[])?;
    Ok(summary.get("c_average").unwrap_or(f64::NAN) / 1000.0)
}

fn crp_at(
    model: &Model,
    patient: &Patient,
    regimen: Option<&Regimen>,
    day: f64,
) -> Result<f64, SimError> {
    observable_at(model, patient, regimen, day, "crp")
}

/// An observable untreated (no regimen) or at `day` of a regimen.
fn observable_at(
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
fn treated_and_untreated(
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
fn ratio_to_untreated(
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
fn required_observable(model: &Model, name: &str) -> Result<usize, SimError> {
    model
        .observable_id(name)
        .ok_or_else(|| ModelError::invalid("model", format!("no '{name}' observable")).into())
}

/// Run one experiment on the model (the closed-form ones use the bundled one-compartment model).
pub fn run_experiment(model: &Model, id: &str) -> Result<f64, SimError> {
    match id {
        "closed_form_sc_single" => closed_form_error(ClosedForm::ScSingle),
        "closed_form_sc_28_daily" => closed_form_error(ClosedForm::Sc28Daily),
        "closed_form_iv_infusion_repeated" => closed_form_error(ClosedForm::InfusionRepeated),
        "closed_form_iv_bolus_missed_extra" => closed_form_error(ClosedForm::BolusMissedExtra),
        "closed_form_co_administered" => closed_form_error(ClosedForm::CoAdministered),
        "f_sc_70mg" => {
            // AUC(0-96 h) after 70 mg SC over the same after 70 mg IV (healthy, as in the label).
            let s = Subject::new(
                model,
                &adult("healthy", 100.0),
                &[],
                SolverOptions::default(),
            )?;
            let auc = |a: Administration| -> Result<f64, SimError> {
                let (_, sum) = simulate_and_summarise(&s, &single(70.0, a), 96.0, &[])?;
                Ok(sum.get("auc_tau").unwrap_or(f64::NAN))
            };
            Ok(auc(Administration::Subcutaneous)? / auc(Administration::IvBolus)?)
        }
        "tmax_sc_100mg" => {
            let s = Subject::new(model, &adult("ra", 100.0), &[], SolverOptions::default())?;
            let (_, sum) = simulate_and_summarise(
                &s,
                &single(100.0, Administration::Subcutaneous),
                48.0,
                &[],
            )?;
            Ok(sum.get("tmax").unwrap_or(f64::NAN))
        }
        // Log-linear regression of the concentration 24-48 h after a single 100 mg SC dose.
        "thalf_sc_terminal" => terminal_half_life(
            model,
            &adult("ra", 100.0),
            &single(100.0, Administration::Subcutaneous),
            (24..=48).map(f64::from).collect(),
            1.0,
        ),
        "cavg_ss_100mg_mg_per_l" => cavg_ss(model, &adult("ra", 100.0), DoseAmount::Mg(100.0)),
        "accumulation_after_day2_100mg_daily" => {
            // AUC over a dosing interval at the periodic steady state over that of the second dose.
            let s = Subject::new(model, &adult("ra", 100.0), &[], SolverOptions::default())?;
            let (_, second) =
                simulate_and_summarise(&s, &daily(DoseAmount::Mg(100.0), 2), 48.0, &[])?;
            let mut ss = daily(DoseAmount::Mg(100.0), 1);
            ss.steady_state = true;
            let (_, at_ss) = simulate_and_summarise(&s, &ss, 24.0, &[])?;
            Ok(
                at_ss.get("auc_tau").unwrap_or(f64::NAN)
                    / second.get("auc_tau").unwrap_or(f64::NAN),
            )
        }
        "auc_ratio_crcl_65" | "auc_ratio_crcl_40" | "auc_ratio_crcl_20" | "auc_ratio_crcl_5" => {
            let crcl: f64 = id
                .trim_start_matches("auc_ratio_crcl_")
                .parse()
                .map_err(|_| ModelError::invalid("experiment", id))?;
            let normal = cavg_ss(model, &adult("ra", 100.0), DoseAmount::Mg(100.0))?;
            Ok(cavg_ss(model, &adult("ra", crcl), DoseAmount::Mg(100.0))? / normal)
        }
        "cavg_child_10kg" => cavg_ss(
            model,
            &child("caps", 10.0, 1.5),
            DoseAmount::MgPerKg {
                mg_per_kg: 2.0,
                max_mg: Some(100.0),
            },
        ),
        "cavg_child_21kg" => cavg_ss(
            model,
            &child("caps", 21.0, 6.0),
            DoseAmount::MgPerKg {
                mg_per_kg: 2.0,
                max_mg: Some(100.0),
            },
        ),
        "cavg_child_50kg" => cavg_ss(
            model,
            &child("caps", 50.0, 14.0),
            DoseAmount::MgPerKg {
                mg_per_kg: 2.0,
                max_mg: Some(100.0),
            },
        ),
        "mg_per_kg_for_target_10kg_over_50kg" => {
            // Linear PK: the mg/kg reaching 0.4 mg/L is 0.4 / (Cavg per mg/kg).
            let per = |w: f64, a: f64| {
                cavg_ss(
                    model,
                    &child("caps", w, a),
                    DoseAmount::MgPerKg {
                        mg_per_kg: 1.0,
                        max_mg: None,
                    },
                )
            };
            Ok((0.4 / per(10.0, 1.5)?) / (0.4 / per(50.0, 14.0)?))
        }
        "molar_excess_in_vitro" => molar_excess(model),
        "crp_half_life_blocked" => {
            // NOMID child; IV infusion of 2 mg/kg/h blocks IL-1 signalling completely; fit the
            // decay of CRP above its fully-blocked floor between 24 and 72 h.
            let s = Subject::new(
                model,
                &child("nomid", 20.0, 6.0),
                &[],
                SolverOptions::default(),
            )?;
            let mut r = single(
                2.0 * 20.0 * 240.0,
                Administration::IvInfusion { duration_h: 240.0 },
            );
            r.name = "block".into();
            let mut times: Vec<f64> = (24..=72).step_by(4).map(|t| t as f64).collect();
            times.push(240.0);
            let (traj, _) = s.simulate(&r, 240.0, &times)?;
            let i = required_observable(model, "crp")?;
            let floor = s.observe(traj.states.last().expect("240 h requested"))[i];
            let pts: Vec<(f64, f64)> = traj
                .times_h
                .iter()
                .zip(&traj.states)
                .filter(|(t, _)| **t <= 72.0)
                .map(|(t, y)| (*t, (s.observe(y)[i] - floor).ln()))
                .collect();
            Ok(std::f64::consts::LN_2 / -slope(&pts))
        }
        "healthy_crp" => crp_at(model, &adult("healthy", 100.0), None, 0.0),
        "healthy_il1ra_plasma" => observable_at(
            model,
            &adult("healthy", 100.0),
            None,
            0.0,
            "il1ra_endogenous_plasma",
        ),
        "ra_crp_untreated" => crp_at(model, &adult("ra", 100.0), None, 0.0),
        "ra_crp_fall_week1_4mgkg" => {
            let p = adult("ra", 100.0);
            Ok(1.0 - ratio_to_untreated(model, &p, &daily_per_kg(4.0, 7), 7.0, "crp")?)
        }
        "nomid_crp_untreated" => crp_at(model, &child("nomid", 20.0, 6.0), None, 0.0),
        "nomid_crp_day90_1mgkg" => crp_at(
            model,
            &child("nomid", 20.0, 6.0),
            Some(&daily_per_kg(1.0, 90)),
            90.0,
        ),
        "nomid_crp_day90_2mgkg" => crp_at(
            model,
            &child("nomid", 20.0, 6.0),
            Some(&daily_per_kg(2.0, 90)),
            90.0,
        ),
        "nomid_serum_il1ra_trough_day90" => {
            let s = Subject::new(
                model,
                &child("nomid", 20.0, 6.0),
                &[],
                SolverOptions::default(),
            )?;
            let r = daily_per_kg(1.5, 90);
            let (traj, _) = s.simulate(&r, 90.0 * 24.0, &[90.0 * 24.0])?;
            let y = &traj.states[0];
            let (a, e) = (
                model.species_id("anakinra_central"),
                model.species_id("il1ra_central"),
            );
            let (a, e) = (
                a.ok_or_else(|| ModelError::invalid("model", "no anakinra_central"))?,
                e.ok_or_else(|| ModelError::invalid("model", "no il1ra_central"))?,
            );
            let mw = s.params.values[model.drugs[0].molar_mass];
            Ok((y[a] + y[e]) * mw)
        }
        "nomid_serum_il1ra_untreated" => {
            let s = Subject::new(
                model,
                &child("nomid", 20.0, 6.0),
                &[],
                SolverOptions::default(),
            )?;
            let e = model
                .species_id("il1ra_central")
                .ok_or_else(|| ModelError::invalid("model", "no il1ra_central"))?;
            Ok(s.baseline[e] * s.params.values[model.drugs[0].molar_mass])
        }
        "healthy_saa" => observable_at(model, &adult("healthy", 100.0), None, 0.0, "saa"),
        "nomid_saa_untreated" => observable_at(model, &child("nomid", 20.0, 6.0), None, 0.0, "saa"),
        "nomid_saa_day90_1mgkg" => observable_at(
            model,
            &child("nomid", 20.0, 6.0),
            Some(&daily_per_kg(1.0, 90)),
            90.0,
            "saa",
        ),
        // Single 150 mg SC in a 70-kg CAPS adult; log-linear fit of days 60-150.
        "canakinumab_terminal_half_life_days" => terminal_half_life(
            model,
            &adult("caps", 100.0),
            &canakinumab(150.0, 1),
            (60..=150).step_by(5).map(|d| f64::from(d) * 24.0).collect(),
            24.0,
        ),
        "canakinumab_accumulation_q8w" => {
            let s = Subject::new(model, &adult("caps", 100.0), &[], SolverOptions::default())?;
            let tau = 56.0 * 24.0;
            let (_, first) = simulate_and_summarise(&s, &canakinumab(150.0, 1), tau, &[])?;
            let mut ss = canakinumab(150.0, 1);
            ss.steady_state = true;
            let (_, at_ss) = simulate_and_summarise(&s, &ss, tau, &[])?;
            Ok(at_ss.get("auc_tau").unwrap_or(f64::NAN) / first.get("auc_tau").unwrap_or(f64::NAN))
        }
        "canakinumab_total_il1b_ratio_day28" => {
            let p = adult("caps", 100.0);
            let r = canakinumab(150.0, 1);
            ratio_to_untreated(model, &p, &r, 28.0, "il1b_total_plasma")
        }
        "canakinumab_free_il1b_ratio_day28" => {
            let p = adult("caps", 100.0);
            let r = canakinumab(150.0, 1);
            ratio_to_untreated(model, &p, &r, 28.0, "il1b_free_plasma")
        }
        "canakinumab_caps_crp_day8" => crp_at(
            model,
            &adult("caps", 100.0),
            Some(&canakinumab(150.0, 1)),
            8.0,
        ),
        "rilonacept_terminal_half_life_days" => {
            // Single 320 mg SC in a 70-kg CAPS adult; log-linear fit of days 21-56.
            let mut r = rilonacept();
            r.repeat = Repeat::Single;
            r.dose = DoseAmount::Mg(320.0);
            r.loading_dose = None;
            terminal_half_life(
                model,
                &adult("caps", 100.0),
                &r,
                (21..=56).step_by(5).map(|d| f64::from(d) * 24.0).collect(),
                24.0,
            )
        }
        "rilonacept_caps_crp_day7" => {
            crp_at(model, &adult("caps", 100.0), Some(&rilonacept()), 7.0)
        }
        "rilonacept_free_il1ra_site_ratio_day14" => {
            let p = adult("caps", 100.0);
            ratio_to_untreated(model, &p, &rilonacept(), 14.0, "il1ra_free_tissue")
        }
        "sjia_crp_untreated" => crp_at(model, &child("sjia", 25.0, 8.0), None, 0.0),
        "sjia_crp_day28_2mgkg" => crp_at(
            model,
            &child("sjia", 25.0, 8.0),
            Some(&daily_per_kg(2.0, 28)),
            28.0,
        ),
        "dira_crp_untreated" => crp_at(model, &child("dira", 6.0, 0.5), None, 0.0),
        "dira_crp_day28_1mgkg" => crp_at(
            model,
            &child("dira", 6.0, 0.5),
            Some(&daily_per_kg(1.0, 28)),
            28.0,
        ),
        "dira_crp_day28_2mgkg" => crp_at(
            model,
            &child("dira", 6.0, 0.5),
            Some(&daily_per_kg(2.0, 28)),
            28.0,
        ),
        "fcas_crp_fall_week6_rilonacept" | "fcas_saa_fall_week6_rilonacept" => {
            // Pivotal CAPS trial, part A: 320 mg then 160 mg weekly for 6 weeks (adults).
            let name = if id.starts_with("fcas_crp") {
                "crp"
            } else {
                "saa"
            };
            let p = adult("fcas", 100.0);
            let r = rilonacept_label(6);
            let (treated, untreated) = treated_and_untreated(model, &p, &r, 42.0, name)?;
            Ok(untreated - treated)
        }
        "mws_il1b_production_ng_per_day" => {
            // P_il1b_basal (1 + gain S) at the untreated steady state.
            let s = Subject::new(model, &adult("mws", 100.0), &[], SolverOptions::default())?;
            let v = |n: &str| {
                model
                    .parameter_id(n)
                    .map(|i| s.params.values[i])
                    .ok_or_else(|| {
                        SimError::from(ModelError::invalid("model", format!("no parameter {n}")))
                    })
            };
            let signal = s.baseline_signals.first().copied().unwrap_or(f64::NAN);
            // nmol/h x kDa = mg/h x 1e-3... in ng/day: x 1e3 (ng per nmol-kDa) x 24 h.
            Ok(v("P_il1b_basal")?
                * (1.0 + v("il1_autoinduction_gain")? * signal)
                * v("MW_il1b")?
                * 1e3
                * 24.0)
        }
        "mws_crp_day14_100mg" | "mws_saa_day14_100mg" => {
            let name = if id.starts_with("mws_crp") {
                "crp"
            } else {
                "saa"
            };
            observable_at(
                model,
                &adult("mws", 100.0),
                Some(&daily(DoseAmount::Mg(100.0), 14)),
                14.0,
                name,
            )
        }
        "aosd_crp_untreated" => crp_at(model, &adult("aosd", 100.0), None, 0.0),
        "aosd_crp_day7_100mg" => crp_at(
            model,
            &adult("aosd", 100.0),
            Some(&daily(DoseAmount::Mg(100.0), 7)),
            7.0,
        ),
        "aosd_crp_day28_100mg" => crp_at(
            model,
            &adult("aosd", 100.0),
            Some(&daily(DoseAmount::Mg(100.0), 28)),
            28.0,
        ),
        // 28 daily doses (the last at 27 x 24 h); CRP at 32 days, 5 days after the last dose.
        "aosd_crp_4d_after_stop" => crp_at(
            model,
            &adult("aosd", 100.0),
            Some(&daily(DoseAmount::Mg(100.0), 28)),
            32.0,
        ),
        "mas_crp_untreated" => crp_at(model, &adult("mas", 100.0), None, 0.0),
        "mas_crp_ratio_day7_iv_5mgkg_bid" => {
            let p = adult("mas", 100.0);
            let r = Regimen::repeated(
                "5 mg/kg IV twice daily",
                "anakinra",
                DoseAmount::MgPerKg {
                    mg_per_kg: 5.0,
                    max_mg: None,
                },
                Administration::IvInfusion { duration_h: 1.0 },
                12.0,
                14,
            );
            ratio_to_untreated(model, &p, &r, 7.0, "crp")
        }
        "sepsis_crp_untreated" => crp_at(model, &adult("sepsis", 100.0), None, 0.0),
        "sepsis_crp_ratio_72h_iv_2mgkgh" => {
            let p = adult("sepsis", 100.0);
            ratio_to_untreated(model, &p, &sepsis_infusion(), 3.0, "crp")
        }
        "acr20_placebo_week24_cohen2004_expected" => {
            let r = ResponseModel::ra_acr();
            Ok(100.0 * r.expected(r.placebo_latent(WEEK24_H, r.placebo_amplitude))[0])
        }
        "acr20_placebo_week24_bresnihan1998_expected" => {
            let r = ResponseModel::ra_acr();
            Ok(100.0 * r.expected(r.placebo_latent(WEEK24_H, r.calibration_placebo_amplitude))[0])
        }
        "acr20_150mg_week24_bresnihan1998_expected" => {
            let r = ResponseModel::ra_acr();
            acr_expected_week24(model, 150.0, r.calibration_placebo_amplitude, 0)
        }
        "acr_cohen2004_100mg_expected_acr20"
        | "acr_cohen2004_100mg_expected_acr50"
        | "acr_cohen2004_100mg_expected_acr70" => {
            let level = ["acr20", "acr50", "acr70"]
                .iter()
                .position(|l| id.ends_with(l))
                .expect("matched above");
            let amplitude = ResponseModel::ra_acr().placebo_amplitude;
            acr_expected_week24(model, 100.0, amplitude, level)
        }
        "acr_trial_cohen2004_placebo_acr20" => acr_trial_percent(model, 0, 0),
        "acr_trial_cohen2004_placebo_acr50" => acr_trial_percent(model, 0, 1),
        "acr_trial_cohen2004_placebo_acr70" => acr_trial_percent(model, 0, 2),
        "acr_trial_cohen2004_anakinra_acr20" => acr_trial_percent(model, 1, 0),
        "acr_trial_cohen2004_anakinra_acr50" => acr_trial_percent(model, 1, 1),
        "acr_trial_cohen2004_anakinra_acr70" => acr_trial_percent(model, 1, 2),
        other => Err(ModelError::invalid(
            "experiment",
            format!(
                "'{other}' is not an experiment; allowed: {}",
                EXPERIMENTS.join(", ")
            ),
        )
        .into()),
    }
}

/// Terminal half-life of the regimen's drug (in units of `unit_h` hours): log-linear
/// regression of its plasma concentration at `times_h`.
/// Week 24 in hours (the assessment of Cohen 2004 and Bresnihan 1998).
const WEEK24_H: f64 = 168.0 * 24.0;

/// Expected responder percentage at response level `level` (0/1/2: ACR20/50/70) of a typical
/// 70-kg RA patient on `dose_mg` SC daily at week 24, with the trial's placebo amplitude: the
/// population expectation over the response model's random effect, so it does not depend on a
/// trial's random draw.
fn acr_expected_week24(
    model: &Model,
    dose_mg: f64,
    placebo_amplitude: f64,
    level: usize,
) -> Result<f64, SimError> {
    let r = ResponseModel::ra_acr();
    let di = r
        .driver_index(model)
        .map_err(|m| ModelError::invalid("response model", m))?;
    let s = Subject::new(model, &adult("ra", 100.0), &[], SolverOptions::default())?;
    let (t, d) = driver_course(&s, &daily(DoseAmount::Mg(dose_mg), 168), WEEK24_H, di)?;
    Ok(100.0 * r.expected(r.latent(&t, &d, placebo_amplitude))[level])
}

/// Responder percentages of the shipped Cohen 2004 replicate, per arm and level, computed
/// once per model name (six targets read the same trial).
type TrialPercents = Vec<Vec<f64>>;
static ACR_TRIALS: Mutex<BTreeMap<String, TrialPercents>> = Mutex::new(BTreeMap::new());

fn acr_trial_percent(model: &Model, arm: usize, level: usize) -> Result<f64, SimError> {
    let cached = ACR_TRIALS
        .lock()
        .map_err(|_| ModelError::invalid("validation", "trial cache poisoned"))?
        .get(&model.name)
        .cloned();
    let percents = match cached {
        Some(p) => p,
        None => {
            let trial = parse_trial(
                RA_ACR_TRIAL_TOML,
                "scenarios/ra-acr-trial.toml",
                model,
                &ResponseModel::ra_acr(),
            )
            .map_err(|e| ModelError::invalid("scenarios/ra-acr-trial.toml", e.to_string()))?;
            let (subjects, arms) = run_trial(model, &trial, SolverOptions::default());
            if let Some(f) = subjects.iter().find_map(|s| s.failure.clone()) {
                return Err(ModelError::invalid("virtual trial", f).into());
            }
            let p: TrialPercents = arms
                .iter()
                .map(|a| (0..a.responders.len()).map(|k| a.percent(k)).collect())
                .collect();
            ACR_TRIALS
                .lock()
                .map_err(|_| ModelError::invalid("validation", "trial cache poisoned"))?
                .insert(model.name.clone(), p.clone());
            p
        }
    };
    Ok(percents[arm][level])
}

fn terminal_half_life(
    model: &Model,
    patient: &Patient,
    regimen: &Regimen,
    times_h: Vec<f64>,
    unit_h: f64,
) -> Result<f64, SimError> {
    let s = Subject::new(model, patient, &[], SolverOptions::default())?;
    let end = times_h.last().copied().unwrap_or(0.0);
    let (traj, _) = s.simulate(regimen, end, &times_h)?;
    let c = model
        .drug(&regimen.drug)
        .ok_or_else(|| ModelError::invalid("model", format!("no drug '{}'", regimen.drug)))?
        .concentration_species;
    let pts: Vec<(f64, f64)> = traj
        .times_h
        .iter()
        .zip(&traj.states)
        .map(|(t, y)| (t / unit_h, y[c].ln()))
        .collect();
    Ok(std::f64::consts::LN_2 / -slope(&pts))
}

/// Least-squares slope of y on t.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (st, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (t, y)| (a + t, b + y));
    let (mt, my) = (st / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(a, b), (t, y)| {
        (a + (t - mt) * (y - my), b + (t - mt) * (t - mt))
    });
    num / den
}

#[derive(Debug, Clone, Copy)]
enum ClosedForm {
    ScSingle,
    Sc28Daily,
    InfusionRepeated,
    BolusMissedExtra,
    CoAdministered,
}

/// Largest relative difference between the engine (tight tolerances) and the closed form,
/// over hourly points where the closed form exceeds 1e-4 of its maximum.
fn closed_form_error(case: ClosedForm) -> Result<f64, SimError> {
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

/// Hours of culture before reading the in-vitro signal.
const IN_VITRO_CULTURE_H: f64 = 100.0;
/// IL-1β concentration treated as saturating (over 300 x KD).
const IN_VITRO_SATURATING_NM: f64 = 50.0;

/// In vitro: free IL-1β clamped (no PK, no production), IL-1RI turnover and binding as in the
/// model. Find the IL-1β concentration giving half the maximal signal (EC50), then the IL-1Ra
/// concentration halving the signal at that IL-1β; return IL-1Ra / IL-1β.
fn molar_excess(model: &Model) -> Result<f64, SimError> {
    let s = Subject::new(
        model,
        &adult("healthy", 100.0),
        &[],
        SolverOptions::default(),
    )?;
    let id = |n: &str| {
        model.species_id(n).ok_or_else(|| {
            SimError::from(ModelError::invalid(
                "model",
                format!("the in-vitro experiment needs species '{n}'"),
            ))
        })
    };
    let (il1b, il1ra, il1a, drug) = (
        id("il1b_tissue")?,
        id("il1ra_tissue")?,
        id("il1a_tissue")?,
        id("anakinra_tissue")?,
    );
    let clamp = [il1b, il1ra, il1a, drug];
    let mut well = s.clone();
    well.system = s.system.clamped(&clamp);
    let n_species = model.species.len();
    let signal_at = |a: f64, b: f64| -> Result<f64, SimError> {
        let mut y = s.baseline.clone();
        y[il1b] = a;
        y[il1ra] = b;
        y[il1a] = 0.0;
        y[drug] = 0.0;
        // Culture until receptor turnover settles (20 receptor half-lives), then polish.
        let rates = vec![0.0; well.system.n];
        let end = well.integrate(
            &y,
            &rates,
            0.0,
            IN_VITRO_CULTURE_H,
            &[],
            &[],
            &mut |_: f64, _: &[f64]| {},
        )?;
        let scale = well.atol(&SolverOptions {
            atol: 1.0,
            ..SolverOptions::DEFAULT
        });
        let eq =
            crate::solve::equilibrium::equilibrium(&well.system, &end.state[..n_species], &scale)
                .map_err(|m| crate::error::SolveError {
                context: " (in-vitro experiment)".into(),
                time_h: IN_VITRO_CULTURE_H,
                message: m,
                state: well.describe(&end.state),
            })?;
        let mut full = eq;
        full.resize(well.system.n, 0.0);
        Ok(well.system.signal_value(0, &full))
    };
    let bisect =
        |lo: f64, hi: f64, f: &dyn Fn(f64) -> Result<f64, SimError>| -> Result<f64, SimError> {
            // f increasing in log space between lo and hi; find the root.
            let (mut l, mut h) = (lo.ln(), hi.ln());
            for _ in 0..100 {
                let m = 0.5 * (l + h);
                if f(m.exp())? < 0.0 {
                    l = m;
                } else {
                    h = m;
                }
            }
            Ok((0.5 * (l + h)).exp())
        };
    let s_max = signal_at(IN_VITRO_SATURATING_NM, 0.0)?;
    let ec50 = bisect(1e-9, IN_VITRO_SATURATING_NM, &|a| {
        Ok(signal_at(a, 0.0)? - 0.5 * s_max)
    })?;
    let s_ec50 = signal_at(ec50, 0.0)?;
    let ic50 = bisect(1e-9, 1e4, &|b| Ok(0.5 * s_ec50 - signal_at(ec50, b)?))?;
    Ok(ic50 / ec50)
}
