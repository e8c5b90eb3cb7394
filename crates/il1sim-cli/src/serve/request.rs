//! The body of `/api/simulate`, `/api/csv` and `/api/band`: the quick form of `simulate` as
//! JSON (field names are the command-line options with `_` for `-`), the explorer's limits,
//! and the translation into a [`Scenario`] by [`crate::quick::scenario`], so that the page and
//! `il1sim simulate --dose ...` mean the same regimen.

use crate::quick::{late_dose, scenario, QuickArgs};
use il1sim_core::exchange::scenario::Scenario;
use il1sim_core::model::definition::Model;
use il1sim_core::population::definition::SimulationMethod;
use serde::Deserialize;

/// Largest request body (bytes). A request with every field and a missed and a late dose on
/// each of [`MAX_DAYS`] days is under 12 KiB; anything larger is not a regimen.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest simulation (days). Two years covers every regimen the label describes with room
/// for stopping and restarting; longer runs are for `il1sim simulate` (3650 days), which
/// writes files instead of holding them in a page.
pub const MAX_DAYS: f64 = 730.0;
/// Most output times one simulation returns. At about 22 observables a point is ~450 bytes
/// of JSON: 5,000 points is ~2 MB, about what a page can draw within the 100 ms target.
pub const MAX_POINTS: usize = 5_000;
/// Output times the default grid aims at: 1 h steps up to 83 days, coarser beyond
/// ([`default_output_interval_h`]).
pub const DEFAULT_POINTS: f64 = 2_000.0;
/// Most subjects of a band. At 3–15 ms per subject (README, "Speed") 1,000 subjects take
/// 2–8 s on two cores; larger populations are for `il1sim population`.
pub const MAX_BAND_SUBJECTS: u64 = 1_000;
/// Subjects of a band when the request gives none (the issue's 200-subject band).
pub const DEFAULT_BAND_SUBJECTS: u64 = 200;
/// Longest band (days): a band costs subjects × days, so it gets half the single-patient
/// horizon.
pub const MAX_BAND_DAYS: f64 = 365.0;

/// Output steps the default grid may take (h): whole hours that divide a day, then days.
const DEFAULT_STEPS_H: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0, 48.0];

/// One patient and one regimen, as the quick form takes them. Every field is optional and
/// has the quick form's default (`il1sim simulate --help`), except `dose`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    pub disease: Option<String>,
    pub drug: Option<String>,
    pub dose: Option<String>,
    pub max_dose: Option<String>,
    pub route: Option<String>,
    pub infusion_hours: Option<f64>,
    pub infusion_rate: Option<f64>,
    pub every: Option<String>,
    pub days: Option<f64>,
    pub doses: Option<u32>,
    pub loading_dose: Option<String>,
    #[serde(default)]
    pub missed_dose: Vec<u32>,
    /// `DAY:HOURS`, as `--late-dose`.
    #[serde(default)]
    pub late_dose: Vec<String>,
    pub stop_day: Option<u32>,
    pub weight: Option<f64>,
    pub age: Option<f64>,
    pub sex: Option<String>,
    pub crcl: Option<f64>,
    #[serde(default)]
    pub steady_state: bool,
    pub output_interval: Option<String>,
    /// exact or fast, as `--method`.
    pub method: Option<String>,
    /// Band only: number of subjects (default [`DEFAULT_BAND_SUBJECTS`]).
    pub subjects: Option<u64>,
    /// Band only: random seed (default: the population file's).
    pub seed: Option<u64>,
}

/// What a request asks for, checked.
pub struct Checked {
    pub scenario: Scenario,
    pub method: SimulationMethod,
}

/// The quick-form options and the request fields they are, longest first (so that `--dose`
/// does not rewrite the start of `--doses`): messages of the quick form name the field.
const FIELDS: [(&str, &str); 22] = [
    ("--output-interval", "output_interval"),
    ("--infusion-hours", "infusion_hours"),
    ("--infusion-rate", "infusion_rate"),
    ("--steady-state", "steady_state"),
    ("--loading-dose", "loading_dose"),
    ("--missed-dose", "missed_dose"),
    ("--late-dose", "late_dose"),
    ("--max-dose", "max_dose"),
    ("--stop-day", "stop_day"),
    ("--disease", "disease"),
    ("--weight", "weight"),
    ("--method", "method"),
    ("--every", "every"),
    ("--doses", "doses"),
    ("--route", "route"),
    ("--drug", "drug"),
    ("--dose", "dose"),
    ("--days", "days"),
    ("--crcl", "crcl"),
    ("--age", "age"),
    ("--sex", "sex"),
    ("--iv", "route \"iv\""),
];

/// A quick-form message with the options renamed to request fields.
pub fn fieldify(message: &str) -> String {
    let mut out = message.to_string();
    for (flag, field) in FIELDS {
        out = out.replace(flag, field);
    }
    out
}

/// The default output step for a run of `days`: the first of [`DEFAULT_STEPS_H`] that keeps
/// the grid within [`DEFAULT_POINTS`] times.
pub fn default_output_interval_h(days: f64) -> f64 {
    let hours = days * 24.0;
    DEFAULT_STEPS_H
        .into_iter()
        .find(|step| hours / step <= DEFAULT_POINTS)
        .unwrap_or(DEFAULT_STEPS_H[DEFAULT_STEPS_H.len() - 1])
}

impl SimulateRequest {
    /// Check the explorer's limits, then build the scenario through the quick form.
    pub fn check(&self, model: &Model, max_days: f64) -> Result<Checked, String> {
        let days = self.days.unwrap_or(crate::quick::DEFAULT_DAYS);
        if !(days.is_finite() && days > 0.0 && days <= max_days) {
            return Err(format!(
                "days {days}: allowed: > 0 and <= {max_days} in the explorer (longer runs: \
                 il1sim simulate, up to 3650 days)"
            ));
        }
        // Whole numbers from 1: clap refuses 0 on the command line before the quick form
        // sees it, so the same is checked here with the same words.
        for (field, values) in [
            ("missed_dose", self.missed_dose.clone()),
            ("stop_day", self.stop_day.into_iter().collect()),
            ("doses", self.doses.into_iter().collect()),
        ] {
            if values.contains(&0) {
                return Err(format!(
                    "{field} 0: allowed: a whole number >= 1 (days are counted from 1)"
                ));
            }
        }
        let late = self
            .late_dose
            .iter()
            .map(|t| late_dose(t).map_err(|e| format!("late_dose {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let method = match self.method.as_deref() {
            None => SimulationMethod::Exact,
            Some(m) => SimulationMethod::parse(m)
                .ok_or_else(|| format!("method '{m}': allowed: exact, fast"))?,
        };
        let output_interval = match &self.output_interval {
            Some(o) => o.clone(),
            None => format!("{}h", default_output_interval_h(days)),
        };
        let quick = QuickArgs {
            drug: self.drug.clone(),
            dose: self.dose.clone(),
            max_dose: self.max_dose.clone(),
            route: self.route.clone(),
            iv: false,
            infusion_hours: self.infusion_hours,
            infusion_rate: self.infusion_rate,
            every: self.every.clone(),
            days: Some(days),
            doses: self.doses,
            loading_dose: self.loading_dose.clone(),
            missed_dose: self.missed_dose.clone(),
            late_dose: late,
            stop_day: self.stop_day,
            weight: self.weight,
            age: self.age,
            sex: self.sex.clone(),
            crcl: self.crcl,
            disease: self.disease.clone(),
            steady_state: self.steady_state,
            output_interval: Some(output_interval),
        };
        let scenario = scenario(&quick, model).map_err(|e| fieldify(&e))?;
        let points = scenario.output_grid().len();
        if points > MAX_POINTS {
            return Err(format!(
                "output_interval gives {points} output times over {days} days; allowed: at \
                 most {MAX_POINTS} in the explorer (a step of at least {} h)",
                (days * 24.0 / (MAX_POINTS - 1) as f64 * 1000.0).ceil() / 1000.0
            ));
        }
        Ok(Checked { scenario, method })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> SimulateRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_default_grid_is_hourly_then_coarser() {
        assert_eq!(default_output_interval_h(28.0), 1.0);
        assert_eq!(default_output_interval_h(83.0), 1.0);
        assert_eq!(default_output_interval_h(90.0), 2.0);
        assert_eq!(default_output_interval_h(730.0), 12.0);
    }

    #[test]
    fn messages_name_the_request_fields() {
        let m = il1sim_core::il1_model();
        let e = request(r#"{"dose": "0mg"}"#)
            .check(&m, MAX_DAYS)
            .err()
            .unwrap();
        assert!(e.starts_with("dose '0mg': a dose must be > 0"), "{e}");
        let e = request(r#"{"dose": "100mg", "doses": 40}"#)
            .check(&m, MAX_DAYS)
            .err()
            .unwrap();
        assert!(e.contains("doses 40: only 28 doses"), "{e}");
        let e = request(r#"{"dose": "100mg", "missed_dose": [40]}"#)
            .check(&m, MAX_DAYS)
            .err()
            .unwrap();
        assert!(e.contains("missed_dose = 40"), "{e}");
        assert!(!e.contains("--"), "{e}");
        let e = request(r#"{"dose": "100mg", "late_dose": ["3:30"]}"#)
            .check(&m, MAX_DAYS)
            .err()
            .unwrap();
        assert!(
            e.contains("late_dose") && e.contains("shorter than the dosing interval"),
            "{e}"
        );
        let e = request(r#"{"dose": "100mg", "days": 731}"#)
            .check(&m, MAX_DAYS)
            .err()
            .unwrap();
        assert!(e.contains("days 731: allowed: > 0 and <= 730"), "{e}");
        let e = request(r#"{"dose": "100mg", "output_interval": "1min"}"#)
            .check(&m, MAX_DAYS)
            .err()
            .unwrap();
        assert!(
            e.contains("40321 output times") && e.contains("at most 5000"),
            "{e}"
        );
        let e = request(r#"{"dose": "100mg", "stop_day": 0}"#)
            .check(&m, MAX_DAYS)
            .err()
            .unwrap();
        assert!(e.contains("stop_day 0: allowed"), "{e}");
    }

    #[test]
    fn a_request_is_the_quick_form() {
        let m = il1sim_core::il1_model();
        let c = request(
            r#"{"dose": "2mg/kg", "max_dose": "100mg", "weight": 20, "age": 6,
                "disease": "nomid", "days": 90, "late_dose": ["12:6"], "missed_dose": [20]}"#,
        )
        .check(&m, MAX_DAYS)
        .unwrap();
        let r = &c.scenario.regimens[0];
        assert_eq!(r.missed_days, vec![20]);
        assert_eq!((r.late_doses[0].day, r.late_doses[0].delay_h), (12, 6.0));
        assert_eq!(c.scenario.output_interval_h, 2.0);
        assert_eq!(c.scenario.patient.disease, "nomid");
    }
}
