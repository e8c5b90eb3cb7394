//! Safety over time (`rules/kineret-safety.toml`): for each adverse event, cumulative
//! incidence curves for anakinra and placebo, chosen by co-medication class, and from them the
//! expected share of patients with a new event in each week of therapy (and, for events with a
//! known duration, with an ongoing one).

use super::case::ClinicalCase;
use super::rules::{RuleSet, SourceStatus};
use crate::exchange::spans::{line_of, ScenarioError};
use serde::Deserialize;
use toml::Spanned;

/// The bundled safety file (`rules/kineret-safety.toml`).
pub const KINERET_SAFETY_TOML: &str = include_str!("../../../../rules/kineret-safety.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Curve {
    pub comedication_class: Option<String>,
    /// (week, cumulative % of patients) points, weeks ascending from 0.
    pub anakinra: Vec<[f64; 2]>,
    pub placebo: Vec<[f64; 2]>,
    pub source: String,
    pub status: SourceStatus,
    pub assumption: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub key: String,
    pub name: String,
    /// A short name for table headers (`ISR`).
    pub short: String,
    pub duration_days: Option<[f64; 2]>,
    pub curves: Vec<Curve>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SafetyData {
    pub events: Vec<Event>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SafetyFile {
    events: Vec<Spanned<Event>>,
}

/// Cumulative incidence (%) at `week` on a piecewise-linear curve; None after its last point.
pub fn cumulative(points: &[[f64; 2]], week: f64) -> Option<f64> {
    let last = points.last()?;
    if week > last[0] + 1e-9 {
        return None;
    }
    if week <= points[0][0] {
        return Some(points[0][1]);
    }
    points.windows(2).find_map(|w| {
        let ([t0, f0], [t1, f1]) = (w[0], w[1]);
        (week >= t0 && week <= t1).then(|| f0 + (f1 - f0) * (week - t0) / (t1 - t0))
    })
}

/// One event's figures for one week of therapy.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekFigure {
    /// Expected % of patients with a new (first) event in the week, on anakinra and placebo.
    pub new_pct: Option<f64>,
    pub new_placebo_pct: Option<f64>,
    /// Expected % with an ongoing event during the week (events with a duration only).
    pub ongoing_pct: Option<f64>,
}

/// The events' weekly figures for a case: `weeks[w - 1][e]` for week w and event e.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetyTable {
    pub events: Vec<(Event, Curve)>,
    pub weeks: Vec<Vec<WeekFigure>>,
}

impl SafetyData {
    pub fn kineret() -> SafetyData {
        SafetyData::parse(
            KINERET_SAFETY_TOML,
            "rules/kineret-safety.toml (bundled)",
            &RuleSet::kineret(),
        )
        .expect("the bundled safety file is checked by the test suite")
    }

    /// Parse and check a safety file: curves start at week 0, weeks ascend, cumulative
    /// incidences lie within 0-100% and never fall, classes are the rules file's.
    pub fn parse(text: &str, origin: &str, rules: &RuleSet) -> Result<SafetyData, ScenarioError> {
        let file: SafetyFile = toml::from_str(text).map_err(|e| ScenarioError {
            origin: origin.into(),
            line: e.span().map(|s| line_of(text, &s)),
            key: "syntax".into(),
            message: e.message().trim().to_string(),
        })?;
        let classes: Vec<&str> = rules.medicines.iter().map(|m| m.class.as_str()).collect();
        for (i, s) in file.events.iter().enumerate() {
            let e = s.get_ref();
            let bad = |key: String, message: String| ScenarioError {
                origin: origin.into(),
                line: Some(line_of(text, &s.span())),
                key,
                message,
            };
            if !e.curves.iter().any(|c| c.comedication_class.is_none()) {
                return Err(bad(
                    format!("events[{i}] ({}).curves", e.key),
                    "one curve must have no comedication_class (the default)".into(),
                ));
            }
            for (j, c) in e.curves.iter().enumerate() {
                if let Some(class) = &c.comedication_class {
                    if !classes.contains(&class.as_str()) {
                        return Err(bad(
                            format!("events[{i}] ({}).curves[{j}].comedication_class", e.key),
                            format!("'{class}' is not a class of the rules file"),
                        ));
                    }
                }
                for (arm, pts) in [("anakinra", &c.anakinra), ("placebo", &c.placebo)] {
                    let key = format!("events[{i}] ({}).curves[{j}].{arm}", e.key);
                    if pts.first().is_none_or(|p| p[0] != 0.0) {
                        return Err(bad(key, "a curve starts at week 0".into()));
                    }
                    for w in pts.windows(2) {
                        if w[1][0].partial_cmp(&w[0][0]) != Some(std::cmp::Ordering::Greater)
                            || w[1][1] < w[0][1]
                        {
                            return Err(bad(key, format!("[{}, {}] after [{}, {}]: weeks must ascend and the cumulative incidence must not fall", w[1][0], w[1][1], w[0][0], w[0][1])));
                        }
                    }
                    if pts.iter().any(|p| !(0.0..=100.0).contains(&p[1])) {
                        return Err(bad(key, "a cumulative incidence is 0 to 100%".into()));
                    }
                }
            }
        }
        Ok(SafetyData {
            events: file.events.into_iter().map(Spanned::into_inner).collect(),
        })
    }

    /// The weekly table for `weeks` weeks of therapy of `case`.
    pub fn table(&self, case: &ClinicalCase, rules: &RuleSet, weeks: u32) -> SafetyTable {
        let classes: Vec<String> = case
            .comedications
            .iter()
            .filter_map(|m| rules.medicine(m).ok().map(|m| m.class.clone()))
            .collect();
        let events: Vec<(Event, Curve)> = self
            .events
            .iter()
            .map(|e| {
                let curve = e
                    .curves
                    .iter()
                    .find(|c| {
                        c.comedication_class
                            .as_ref()
                            .is_some_and(|k| classes.contains(k))
                    })
                    .or_else(|| e.curves.iter().find(|c| c.comedication_class.is_none()))
                    .expect("checked at parse: a default curve")
                    .clone();
                (e.clone(), curve)
            })
            .collect();
        let weeks = (1..=weeks)
            .map(|w| {
                let w = w as f64;
                events
                    .iter()
                    .map(|(e, c)| {
                        let new = |pts: &[[f64; 2]]| {
                            Some(cumulative(pts, w)? - cumulative(pts, w - 1.0)?)
                        };
                        let ongoing = e.duration_days.and_then(|[a, b]| {
                            let lasts_weeks = (a + b) / 2.0 / 7.0;
                            let now = cumulative(&c.anakinra, w)?;
                            let gone = cumulative(&c.anakinra, (w - 1.0 - lasts_weeks).max(0.0))?;
                            Some(now - gone)
                        });
                        WeekFigure {
                            new_pct: new(&c.anakinra),
                            new_placebo_pct: new(&c.placebo),
                            ongoing_pct: ongoing,
                        }
                    })
                    .collect()
            })
            .collect();
        SafetyTable { events, weeks }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::patient_file::parse_patient_file;

    fn case(comedication: &str) -> ClinicalCase {
        let text = format!(
            "[scenario]\nname = \"t\"\ndescription = \"t\"\nduration_days = 28\n[patient]\nweight_kg = 82\nage_y = 54\nsex = \"female\"\ncrcl_ml_min = 95\ndisease = \"ra\"\n[clinical]\nindication = \"ra\"\ncomedications = [\"{comedication}\"]\n[[regimens]]\nname = \"r\"\nroute = \"sc\"\ndose_mg = 100\ninterval_h = 24\nuntil_day = 28\n"
        );
        parse_patient_file(&text, "t.toml", &crate::il1_model(), &RuleSet::kineret()).unwrap()
    }

    #[test]
    fn weekly_new_events_add_up_to_the_cumulative_incidence() {
        let rules = RuleSet::kineret();
        let t = SafetyData::kineret().table(&case("methotrexate"), &rules, 24);
        let isr = t.events.iter().position(|(e, _)| e.key == "isr").unwrap();
        let total: f64 = t.weeks.iter().map(|w| w[isr].new_pct.unwrap()).sum();
        assert!((total - 71.0).abs() < 1e-9, "{total}");
        let placebo: f64 = t
            .weeks
            .iter()
            .map(|w| w[isr].new_placebo_pct.unwrap())
            .sum();
        assert!((placebo - 28.0).abs() < 1e-9);
        // Most reactions come in the first 4 weeks.
        let first4: f64 = t.weeks[..4].iter().map(|w| w[isr].new_pct.unwrap()).sum();
        assert!(first4 > 60.0);
        // Serious infections: 2% over 26 weeks, evenly.
        let si = t
            .events
            .iter()
            .position(|(e, _)| e.key == "serious_infection")
            .unwrap();
        assert!((t.weeks[0][si].new_pct.unwrap() - 2.0 / 26.0).abs() < 1e-12);
    }

    #[test]
    fn a_tnf_blocker_selects_its_curve_and_no_data_is_none() {
        let rules = RuleSet::kineret();
        let t = SafetyData::kineret().table(&case("etanercept"), &rules, 30);
        let si = t
            .events
            .iter()
            .position(|(e, _)| e.key == "serious_infection")
            .unwrap();
        assert!(t.events[si].1.source.contains("Genovese"));
        assert!((t.weeks[0][si].new_pct.unwrap() - 7.4 / 26.0).abs() < 1e-12);
        assert_eq!(t.weeks[29][si].new_pct, None, "no data after week 26");
    }

    #[test]
    fn a_falling_curve_is_an_error_with_its_line() {
        let text = KINERET_SAFETY_TOML.replace("[26, 12.0]", "[26, -1.0]");
        let e = SafetyData::parse(&text, "s.toml", &RuleSet::kineret()).unwrap_err();
        assert!(
            e.line.is_some() && e.to_string().contains("must not fall"),
            "{e}"
        );
    }
}
