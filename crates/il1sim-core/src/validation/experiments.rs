//! The experiments: each computes one number of the model (a concentration, a ratio, a
//! half-life, a responder percentage, an engine error against a closed form) that a target
//! compares with a published figure.

use super::acr::{acr20_cohen2002_week12, acr_expected_week24, acr_trial_percent, WEEK24_H};
use super::closed_form::{closed_form_error, ClosedForm};
use super::dose_response::{
    median_crp_day90, mws_remission_share, share_not_responding, smallest_responder_rise,
};
use super::in_vitro::molar_excess;
use super::protocols::*;
use super::withdrawal::{days_to_flare, missed_dose};
use crate::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat};
use crate::error::{ModelError, SimError};
use crate::metrics::simulate_and_summarise;
use crate::model::definition::Model;
use crate::model::patient::Patient;
use crate::response::acr::ResponseModel;
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;

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
        | "sepsis_crp_untreated"
        | "nomid_population_median_crp_day90_1mgkg" => "mg/L",
        // shares of a simulated population, and the smallest rise of a share with dose
        "nomid_population_share_not_reaching_crp10_at_2mgkg"
        | "nomid_population_smallest_responder_rise_1_2_4mgkg"
        | "mws_population_remission_share_day90_100mg" => "fraction",
        // days from the last dose to a flare
        "nomid_days_to_flare_after_stop_2mgkg" | "mws_days_to_flare_after_stop_100mg" => "days",
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
        | "sepsis_crp_ratio_72h_iv_2mgkgh"
        | "mws_missed_dose_crp_peak_over_on_schedule"
        | "mws_missed_dose_crp_peak_over_stopped" => "ratio",
        // a plasma concentration in pg/mL
        "healthy_il1ra_plasma" | "ra_joint_il1b_free_untreated" => "pg/mL",
        // serum concentrations in ng/mL
        "nomid_serum_il1ra_trough_day90"
        | "nomid_serum_il1ra_untreated"
        | "nomid_csf_il1ra_trough_day90_1p5mgkg"
        | "nomid_csf_il1ra_untreated"
        | "ra_joint_il1ra_total_untreated" => "ng/mL",
        // half-lives in days
        "canakinumab_terminal_half_life_days" | "rilonacept_terminal_half_life_days" => "days",
        // a production rate
        "mws_il1b_production_ng_per_day" => "ng/day",
        // responder percentages
        "acr20_placebo_week24_cohen2004_expected"
        | "acr20_placebo_week24_bresnihan1998_expected"
        | "acr20_150mg_week24_bresnihan1998_expected"
        | "acr20_cohen2002_week12_1mgkg_expected"
        | "acr20_cohen2002_week12_2mgkg_expected"
        | "acr20_cohen2002_week12_plateau_2_minus_1mgkg"
        | "acr20_cohen2002_week12_rise_0p4_minus_0p04mgkg"
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
    "ra_joint_il1ra_total_untreated",
    "ra_joint_il1b_free_untreated",
    "nomid_crp_untreated",
    "nomid_crp_day90_1mgkg",
    "nomid_crp_day90_2mgkg",
    "nomid_serum_il1ra_trough_day90",
    "nomid_serum_il1ra_untreated",
    "healthy_saa",
    "nomid_saa_untreated",
    "nomid_saa_day90_1mgkg",
    "nomid_population_median_crp_day90_1mgkg",
    "nomid_population_share_not_reaching_crp10_at_2mgkg",
    "nomid_population_smallest_responder_rise_1_2_4mgkg",
    "mws_population_remission_share_day90_100mg",
    "nomid_csf_il1ra_untreated",
    "nomid_csf_il1ra_trough_day90_1p5mgkg",
    "nomid_days_to_flare_after_stop_2mgkg",
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
    "mws_days_to_flare_after_stop_100mg",
    "mws_missed_dose_crp_peak_over_on_schedule",
    "mws_missed_dose_crp_peak_over_stopped",
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
    "acr20_cohen2002_week12_1mgkg_expected",
    "acr20_cohen2002_week12_2mgkg_expected",
    "acr20_cohen2002_week12_plateau_2_minus_1mgkg",
    "acr20_cohen2002_week12_rise_0p4_minus_0p04mgkg",
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
        "nomid_population_median_crp_day90_1mgkg" => median_crp_day90(model, 1.0),
        "mws_population_remission_share_day90_100mg" => mws_remission_share(model),
        "nomid_population_share_not_reaching_crp10_at_2mgkg" => share_not_responding(model, 2.0),
        "nomid_population_smallest_responder_rise_1_2_4mgkg" => smallest_responder_rise(model),
        "nomid_csf_il1ra_untreated" => observable_at(
            model,
            &child("nomid", 20.0, 6.0),
            None,
            0.0,
            "il1ra_total_csf",
        ),
        // 90 daily doses of 1.5 mg/kg (the middle of the NIH 1-2 mg/kg/day), read at 90 x 24 h,
        // 24 h after the last: the trough.
        "nomid_csf_il1ra_trough_day90_1p5mgkg" => observable_at(
            model,
            &child("nomid", 20.0, 6.0),
            Some(&daily_per_kg(1.5, 90)),
            90.0,
            "il1ra_total_csf",
        ),
        "nomid_days_to_flare_after_stop_2mgkg" => days_to_flare(
            model,
            &child("nomid", 20.0, 6.0),
            DoseAmount::MgPerKg {
                mg_per_kg: 2.0,
                max_mg: None,
            },
        ),
        "mws_days_to_flare_after_stop_100mg" => {
            days_to_flare(model, &adult("mws", 100.0), DoseAmount::Mg(100.0))
        }
        "mws_missed_dose_crp_peak_over_on_schedule" => {
            let m = missed_dose(model, &adult("mws", 100.0), DoseAmount::Mg(100.0))?;
            Ok(m.peak_missed / m.peak_on_schedule)
        }
        "mws_missed_dose_crp_peak_over_stopped" => {
            let m = missed_dose(model, &adult("mws", 100.0), DoseAmount::Mg(100.0))?;
            Ok(m.peak_missed / m.stopped_at_peak)
        }
        "ra_joint_il1ra_total_untreated" => {
            observable_at(model, &adult("ra", 100.0), None, 0.0, "il1ra_total_joint")
        }
        "ra_joint_il1b_free_untreated" => {
            observable_at(model, &adult("ra", 100.0), None, 0.0, "il1b_free_joint")
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
        "acr20_cohen2002_week12_1mgkg_expected" => acr20_cohen2002_week12(model, 1.0),
        "acr20_cohen2002_week12_2mgkg_expected" => acr20_cohen2002_week12(model, 2.0),
        "acr20_cohen2002_week12_plateau_2_minus_1mgkg" => {
            Ok(acr20_cohen2002_week12(model, 2.0)? - acr20_cohen2002_week12(model, 1.0)?)
        }
        "acr20_cohen2002_week12_rise_0p4_minus_0p04mgkg" => {
            Ok(acr20_cohen2002_week12(model, 0.4)? - acr20_cohen2002_week12(model, 0.04)?)
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
