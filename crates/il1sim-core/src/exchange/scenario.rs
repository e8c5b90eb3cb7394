//! Scenario files: a patient, one or more regimens to compare, duration and output grid.
//! Parsing keeps the byte span of every value so that an out-of-range value is reported
//! with its file, line and key, the value, and what is allowed.

use super::spans::{line_of, ScenarioError};
use super::tables::{PopulationSpecFile, TrialSpecFile};
use crate::dosing::regimen::{
    Administration, DoseAmount, ExtraDose, LateDose, Regimen, Repeat, HOURS_PER_DAY,
};
use crate::error::InputError;
use crate::model::definition::Model;
use crate::model::patient::{Patient, Sex};
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::Range;
use toml::Spanned;

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub duration_h: f64,
    pub output_interval_h: f64,
    pub patient: Patient,
    pub regimens: Vec<Regimen>,
}

impl Scenario {
    /// Output times: every `output_interval_h` from 0 to the end, the end included.
    pub fn output_grid(&self) -> Vec<f64> {
        let n = (self.duration_h / self.output_interval_h).floor() as usize;
        let mut g: Vec<f64> = (0..=n).map(|k| k as f64 * self.output_interval_h).collect();
        if (g[n] - self.duration_h).abs() > 1e-9 {
            g.push(self.duration_h);
        }
        g
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    scenario: ScenarioHeader,
    patient: Option<PatientSpec>,
    population: Option<Spanned<PopulationSpecFile>>,
    trial: Option<Spanned<TrialSpecFile>>,
    /// Read and checked by `clinical::files` (dose-response and dose-finding files); accepted
    /// here so that the rest of such a file is read as any scenario or population file.
    #[allow(dead_code)]
    dose_response: Option<toml::Value>,
    #[allow(dead_code)]
    dose_find: Option<toml::Value>,
    /// A study design's sampling (`[study]`) and a population fit's parameters
    /// (`[estimation]`), read and checked by the `estimation` layer.
    #[allow(dead_code)]
    study: Option<toml::Value>,
    #[allow(dead_code)]
    estimation: Option<toml::Value>,
    regimens: Vec<RegimenSpec>,
    /// A patient file's indication, co-medications and conditions, read by
    /// `clinical::patient_file` (`il1sim check`, `il1sim plan`); a simulation ignores it.
    #[allow(dead_code)]
    clinical: Option<toml::Value>,
}

/// A scenario or population file after checking: a population file has `[population]`
/// instead of `[patient]`.
pub(crate) struct ParsedFile {
    pub name: String,
    pub description: String,
    pub duration_h: f64,
    pub output_interval_h: f64,
    pub patient: Option<Patient>,
    pub population: Option<(PopulationSpecFile, usize)>,
    /// A virtual trial (`[trial]`, only with `[population]`) and its line.
    pub trial: Option<(TrialSpecFile, usize)>,
    pub regimens: Vec<Regimen>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioHeader {
    name: String,
    description: String,
    duration_days: Spanned<f64>,
    #[serde(default)]
    output_interval_h: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatientSpec {
    weight_kg: Spanned<f64>,
    age_y: Spanned<f64>,
    sex: Spanned<String>,
    crcl_ml_min: Spanned<f64>,
    disease: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegimenSpec {
    name: Spanned<String>,
    /// Default anakinra (the README says so).
    drug: Option<Spanned<String>>,
    route: Spanned<String>,
    dose_mg: Option<Spanned<f64>>,
    dose_mg_per_kg: Option<Spanned<f64>>,
    max_dose_mg: Option<Spanned<f64>>,
    interval_h: Option<Spanned<f64>>,
    doses: Option<Spanned<i64>>,
    until_day: Option<Spanned<i64>>,
    start_h: Option<Spanned<f64>>,
    infusion_hours: Option<Spanned<f64>>,
    infusion_rate_mg_per_h: Option<Spanned<f64>>,
    loading_dose_mg: Option<Spanned<f64>>,
    #[serde(default)]
    missed_days: Option<Spanned<Vec<i64>>>,
    #[serde(default)]
    late_doses: Vec<Spanned<LateDoseSpec>>,
    #[serde(default)]
    extra_doses: Vec<Spanned<ExtraDoseSpec>>,
    stop_day: Option<Spanned<i64>>,
    #[serde(default)]
    steady_state: bool,
    /// Regimens given at the same time (another drug, or another route of the same drug such
    /// as an IV load before an infusion), written as `[[regimens.with]]` tables.
    #[serde(default)]
    with: Vec<RegimenSpec>,
}

impl RegimenSpec {
    fn drug(&self) -> &str {
        self.drug.as_ref().map_or("anakinra", |d| d.get_ref())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LateDoseSpec {
    day: i64,
    delay_h: f64,
    /// Which dose of that day (1-based) is late, for regimens with several doses a day.
    #[serde(default = "first_dose")]
    dose: i64,
}

fn first_dose() -> i64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraDoseSpec {
    time_h: f64,
    dose_mg: f64,
}

/// Most output times a scenario may ask for: one-minute outputs for 694 days. Beyond it a
/// mistyped interval (1e-7 h) would try to allocate gigabytes instead of failing.
pub const MAX_OUTPUT_POINTS: usize = 1_000_000;

/// Parse, check against the model, and convert a scenario file's text.
pub fn parse_scenario(text: &str, origin: &str, model: &Model) -> Result<Scenario, ScenarioError> {
    let f = parse_file(text, origin, model)?;
    let patient = f.patient.ok_or_else(|| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "patient".into(),
        message:
            "a [patient] table is needed (a file with [population] is run with `il1sim population`)"
                .into(),
    })?;
    if let Some((_, line)) = f.population {
        return Err(ScenarioError {
            origin: origin.into(),
            line: Some(line),
            key: "population".into(),
            message: "give [patient] or [population], not both".into(),
        });
    }
    Ok(Scenario {
        name: f.name,
        description: f.description,
        duration_h: f.duration_h,
        output_interval_h: f.output_interval_h,
        patient,
        regimens: f.regimens,
    })
}

/// Parse and check a scenario or population file (see [`ParsedFile`]).
pub(crate) fn parse_file(
    text: &str,
    origin: &str,
    model: &Model,
) -> Result<ParsedFile, ScenarioError> {
    let file: ScenarioFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, &s));
        let written = line.and_then(|l| text.lines().nth(l - 1)).unwrap_or("");
        // A single table where a list of tables is expected: `[regimens]` for `[[regimens]]`.
        let header = written
            .trim()
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .filter(|h| !h.starts_with('['));
        let mut message = e.message().trim().to_string();
        if let (Some(h), true) = (header, message.contains("expected a sequence")) {
            message = format!("{message}; write [[{h}]] (a list of tables), not [{h}]");
        }
        // Name the key written on the offending line when there is one (`age_y = "forty"`).
        let key = written
            .split_once('=')
            .map(|(k, _)| k.trim().to_string())
            .filter(|k| !k.is_empty() && !k.starts_with('['))
            .or_else(|| header.map(str::to_string))
            .unwrap_or_else(|| "syntax".into());
        ScenarioError {
            origin: origin.into(),
            line,
            key,
            message,
        }
    })?;
    // Logical field name → span, for errors raised by the core checks.
    let mut spans: HashMap<String, Range<usize>> = HashMap::new();
    let at = |spans: &HashMap<String, Range<usize>>, e: InputError| ScenarioError {
        origin: origin.into(),
        line: spans.get(&e.field).map(|s| line_of(text, s)),
        key: e.field.clone(),
        message: format!("{} is not allowed; {}", e.value, e.allowed),
    };
    let bad = |span: &Range<usize>, key: &str, message: String| ScenarioError {
        origin: origin.into(),
        line: Some(line_of(text, span)),
        key: key.into(),
        message,
    };

    let h = &file.scenario;
    let duration_days = *h.duration_days.get_ref();
    if !(duration_days.is_finite() && duration_days > 0.0 && duration_days <= 3650.0) {
        return Err(bad(
            &h.duration_days.span(),
            "scenario.duration_days",
            format!("{duration_days} is not allowed; must be > 0 and <= 3650 days"),
        ));
    }
    let output_interval_h = match &h.output_interval_h {
        Some(s) => {
            let v = *s.get_ref();
            if !(v.is_finite() && v > 0.0 && v <= duration_days * HOURS_PER_DAY) {
                return Err(bad(
                    &s.span(),
                    "scenario.output_interval_h",
                    format!("{v} h is not allowed; must be > 0 and at most the duration"),
                ));
            }
            let points = duration_days * HOURS_PER_DAY / v;
            if points > MAX_OUTPUT_POINTS as f64 {
                return Err(bad(
                    &s.span(),
                    "scenario.output_interval_h",
                    format!(
                        "{v} h is not allowed; it gives {points:.0} output times, at most \
                         {MAX_OUTPUT_POINTS} are allowed (at least {:.3e} h for this duration)",
                        duration_days * HOURS_PER_DAY / MAX_OUTPUT_POINTS as f64
                    ),
                ));
            }
            v
        }
        None => 1.0,
    };

    if let (Some(t), None) = (&file.trial, &file.population) {
        return Err(bad(
            &t.span(),
            "trial",
            "a [trial] needs a [population] (its patients) instead of [patient]".into(),
        ));
    }
    let patient = match &file.patient {
        None => None,
        Some(p) => {
            for (k, s) in [
                ("patient.weight", p.weight_kg.span()),
                ("patient.age", p.age_y.span()),
                ("patient.crcl", p.crcl_ml_min.span()),
                ("patient.disease", p.disease.span()),
            ] {
                spans.insert(k.into(), s);
            }
            let sex = Sex::parse(p.sex.get_ref()).ok_or_else(|| {
                bad(
                    &p.sex.span(),
                    "patient.sex",
                    format!(
                        "'{}' is not allowed; allowed: female, male",
                        p.sex.get_ref()
                    ),
                )
            })?;
            let patient = Patient {
                weight_kg: *p.weight_kg.get_ref(),
                age_y: *p.age_y.get_ref(),
                sex,
                crcl_ml_min: *p.crcl_ml_min.get_ref(),
                disease: p.disease.get_ref().clone(),
            };
            patient.check(model, "patient").map_err(|e| at(&spans, e))?;
            Some(patient)
        }
    };

    if file.regimens.is_empty() {
        return Err(ScenarioError {
            origin: origin.into(),
            line: None,
            key: "regimens".into(),
            message: "at least one [[regimens]] entry is needed".into(),
        });
    }
    // Top-level regimens (the arms) first, then the regimens given with them.
    let mut specs: Vec<(String, &RegimenSpec, Option<usize>)> = Vec::new();
    for (i, r) in file.regimens.iter().enumerate() {
        specs.push((format!("regimens[{i}]"), r, None));
    }
    for (i, r) in file.regimens.iter().enumerate() {
        for (j, w) in r.with.iter().enumerate() {
            let f = format!("regimens[{i}].with[{j}]");
            if !w.with.is_empty() {
                return Err(ScenarioError {
                    origin: origin.into(),
                    line: Some(line_of(text, &w.name.span())),
                    key: format!("{f}.with"),
                    message: "a regimen given with another cannot have regimens of its own; \
                              list them all under the arm's [[regimens.with]]"
                        .into(),
                });
            }
            if w.steady_state || r.steady_state {
                let owner = if w.steady_state {
                    &f
                } else {
                    &format!("regimens[{i}]")
                };
                return Err(ScenarioError {
                    origin: origin.into(),
                    line: Some(line_of(text, &w.name.span())),
                    key: format!("{owner}.steady_state"),
                    message: "steady_state is not allowed with co-administered regimens (their \
                              intervals can differ, so there is no one dosing period)"
                        .into(),
                });
            }
            specs.push((f, w, Some(i)));
        }
    }
    let mut regimens = Vec::new();
    let mut given_with: Vec<(usize, Regimen)> = Vec::new();
    for (f, r, parent) in specs {
        let key = |k: &str| format!("{f}.{k}");
        // Errors about the regimen as a whole point at its name.
        let regimen_line = Some(line_of(text, &r.name.span()));
        if model.drug(r.drug()).is_none() {
            let names: Vec<&str> = model.drugs.iter().map(|d| d.name.as_str()).collect();
            return Err(ScenarioError {
                origin: origin.into(),
                line: Some(line_of(
                    text,
                    &r.drug.as_ref().map_or(r.name.span(), |d| d.span()),
                )),
                key: key("drug"),
                message: format!(
                    "'{}' is not allowed; allowed: {}",
                    r.drug(),
                    names.join(", ")
                ),
            });
        }
        let dose = match (&r.dose_mg, &r.dose_mg_per_kg) {
            (Some(mg), None) => {
                spans.insert(key("dose"), mg.span());
                DoseAmount::Mg(*mg.get_ref())
            }
            (None, Some(pk)) => {
                spans.insert(key("dose"), pk.span());
                if let Some(m) = &r.max_dose_mg {
                    spans.insert(key("dose maximum"), m.span());
                }
                DoseAmount::MgPerKg {
                    mg_per_kg: *pk.get_ref(),
                    max_mg: r.max_dose_mg.as_ref().map(|m| *m.get_ref()),
                }
            }
            _ => {
                return Err(ScenarioError {
                    origin: origin.into(),
                    line: regimen_line,
                    key: key("dose_mg"),
                    message: "give exactly one of dose_mg and dose_mg_per_kg".into(),
                });
            }
        };
        if let (Some(m), Some(_)) = (&r.max_dose_mg, &r.dose_mg) {
            return Err(bad(
                &m.span(),
                &key("max_dose_mg"),
                "only meaningful with dose_mg_per_kg".into(),
            ));
        }
        // An infusion is given by its duration or by its rate (duration = dose / rate).
        let infusion_hours = match (&r.infusion_hours, &r.infusion_rate_mg_per_h) {
            (Some(_), Some(rate)) => {
                return Err(bad(
                    &rate.span(),
                    &key("infusion_rate_mg_per_h"),
                    "give infusion_hours or infusion_rate_mg_per_h, not both".into(),
                ))
            }
            (Some(d), None) => {
                spans.insert(key("infusion_hours"), d.span());
                Some((
                    Administration::IvInfusion {
                        duration_h: *d.get_ref(),
                    },
                    d.span(),
                ))
            }
            (None, Some(rate)) => {
                let v = *rate.get_ref();
                if !(v.is_finite() && v > 0.0) {
                    return Err(bad(
                        &rate.span(),
                        &key("infusion_rate_mg_per_h"),
                        format!("{v} mg/h is not allowed; an infusion rate must be > 0"),
                    ));
                }
                spans.insert(key("infusion_rate_mg_per_h"), rate.span());
                // Each dose runs for its own amount / rate (a loading dose longer).
                Some((
                    Administration::IvInfusionAtRate { mg_per_h: v },
                    rate.span(),
                ))
            }
            (None, None) => None,
        };
        let administration = match (r.route.get_ref().as_str(), infusion_hours) {
            ("sc", None) => Administration::Subcutaneous,
            ("iv", None) => Administration::IvBolus,
            ("iv", Some((infusion, _))) => infusion,
            ("sc", Some((_, span))) => return Err(bad(&span, &key("infusion_hours"), "infusions need route = \"iv\"".into())),
            (other, _) => return Err(bad(&r.route.span(), &key("route"), format!("'{other}' is not allowed; allowed: sc, iv (with infusion_hours or infusion_rate_mg_per_h for an infusion)"))),
        };
        let interval_h = match &r.interval_h {
            Some(s) => {
                spans.insert(key("interval"), s.span());
                *s.get_ref()
            }
            None => HOURS_PER_DAY,
        };
        let day = |s: &Spanned<i64>, k: &str| -> Result<u32, ScenarioError> {
            let v = *s.get_ref();
            u32::try_from(v).ok().filter(|d| *d >= 1).ok_or_else(|| {
                bad(
                    &s.span(),
                    &key(k),
                    format!("{v} is not allowed; days are whole numbers from 1"),
                )
            })
        };
        let repeat = match (&r.doses, &r.until_day) {
            (Some(n), None) => {
                let v = *n.get_ref();
                Repeat::Count(u32::try_from(v).ok().filter(|n| *n >= 1).ok_or_else(|| {
                    bad(
                        &n.span(),
                        &key("doses"),
                        format!("{v} is not allowed; at least 1 dose"),
                    )
                })?)
            }
            (None, Some(d)) => Repeat::UntilDay(day(d, "until_day")?),
            (None, None) if r.interval_h.is_none() => Repeat::Single,
            (None, None) => {
                return Err(ScenarioError {
                    origin: origin.into(),
                    line: regimen_line,
                    key: key("doses"),
                    message: "a regimen with interval_h needs doses or until_day".into(),
                })
            }
            (Some(_), Some(_)) => {
                return Err(ScenarioError {
                    origin: origin.into(),
                    line: regimen_line,
                    key: key("doses"),
                    message: "give doses or until_day, not both".into(),
                })
            }
        };
        let start_h = match &r.start_h {
            Some(s) => {
                spans.insert(key("start"), s.span());
                *s.get_ref()
            }
            None => 0.0,
        };
        let loading_dose = r.loading_dose_mg.as_ref().map(|l| {
            spans.insert(key("loading_dose"), l.span());
            DoseAmount::Mg(*l.get_ref())
        });
        let missed_days = match &r.missed_days {
            Some(s) => s
                .get_ref()
                .iter()
                .map(|&d| {
                    u32::try_from(d).ok().filter(|d| *d >= 1).ok_or_else(|| {
                        bad(
                            &s.span(),
                            &key("missed_days"),
                            format!("{d} is not allowed; days are whole numbers from 1"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![],
        };
        let late_doses = r
            .late_doses
            .iter()
            .map(|s| {
                spans.insert(key("late_doses"), s.span());
                let l = s.get_ref();
                match (u32::try_from(l.day), u32::try_from(l.dose)) {
                    (Ok(day), Ok(dose)) if day >= 1 && dose >= 1 => Ok(LateDose {
                        day,
                        delay_h: l.delay_h,
                        dose,
                    }),
                    _ => Err(bad(
                        &s.span(),
                        &key("late_doses"),
                        format!(
                            "day {} dose {} is not allowed; days and doses of a day are whole \
                             numbers from 1",
                            l.day, l.dose
                        ),
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let extra_doses: Vec<ExtraDose> = r
            .extra_doses
            .iter()
            .map(|s| {
                spans.insert(key("extra_doses"), s.span());
                spans.insert(key("extra_doses.time"), s.span());
                ExtraDose {
                    time_h: s.get_ref().time_h,
                    dose: DoseAmount::Mg(s.get_ref().dose_mg),
                }
            })
            .collect();
        let stop_day = match &r.stop_day {
            Some(s) => {
                spans.insert(key("stop_day"), s.span());
                Some(day(s, "stop_day")?)
            }
            None => None,
        };
        if let Some(m) = &r.missed_days {
            spans.insert(key("missed_days"), m.span());
        }
        let regimen = Regimen {
            name: r.name.get_ref().clone(),
            drug: r.drug().to_string(),
            dose,
            administration,
            start_h,
            interval_h,
            repeat,
            loading_dose,
            missed_days,
            late_doses,
            extra_doses,
            stop_day,
            steady_state: r.steady_state,
            with: Vec::new(),
        };
        regimen.check(&f).map_err(|e| at(&spans, e))?;
        regimen
            .check_schedule(&f, duration_days * HOURS_PER_DAY)
            .map_err(|e| at(&spans, e))?;
        let route = administration.route();
        if !model
            .drug(r.drug())
            .is_some_and(|d| d.routes.contains_key(&route))
        {
            return Err(bad(
                &r.route.span(),
                &key("route"),
                format!(
                    "drug '{}' has no {} route in this model",
                    r.drug(),
                    route.label()
                ),
            ));
        }
        match parent {
            None => regimens.push(regimen),
            Some(p) => given_with.push((p, regimen)),
        }
    }
    for (p, w) in given_with {
        regimens[p].with.push(w);
    }
    let names: Vec<&String> = regimens.iter().map(|r| &r.name).collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(ScenarioError {
                origin: origin.into(),
                line: Some(line_of(text, &file.regimens[i].name.span())),
                key: format!("regimens[{i}].name"),
                message: format!("'{n}' is used twice; regimen names must differ"),
            });
        }
    }
    Ok(ParsedFile {
        name: h.name.clone(),
        description: h.description.clone(),
        duration_h: duration_days * HOURS_PER_DAY,
        output_interval_h,
        patient,
        population: file.population.map(|p| {
            let line = line_of(text, &p.span());
            (p.into_inner(), line)
        }),
        trial: file.trial.map(|t| {
            let line = line_of(text, &t.span());
            (t.into_inner(), line)
        }),
        regimens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
[scenario]
name = "t"
description = "test"
duration_days = 2

[patient]
weight_kg = 70
age_y = 40
sex = "female"
crcl_ml_min = 100
disease = "ra"

[[regimens]]
name = "daily"
route = "sc"
dose_mg = 100
interval_h = 24
doses = 2
"#;

    #[test]
    fn regimen_level_errors_name_the_line() {
        // Found in review: these carried no line number.
        let m = crate::il1_model();
        let drug = OK.replace("route = \"sc\"", "drug = \"aspirin\"\nroute = \"sc\"");
        let e = parse_scenario(&drug, "d.toml", &m).unwrap_err();
        assert_eq!(
            (e.line, e.key.as_str()),
            (Some(16), "regimens[0].drug"),
            "{e}"
        );
        let twice = format!("{OK}\n[[regimens]]\nname = \"daily\"\nroute = \"sc\"\ndose_mg = 1\n");
        let e = parse_scenario(&twice, "t.toml", &m).unwrap_err();
        assert_eq!(
            (e.line, e.key.as_str()),
            (Some(22), "regimens[1].name"),
            "{e}"
        );
        let both = OK.replace("doses = 2", "doses = 2\nuntil_day = 2");
        let e = parse_scenario(&both, "b.toml", &m).unwrap_err();
        assert_eq!(e.line, Some(15), "{e}");
    }

    #[test]
    fn a_single_table_for_a_list_of_tables_says_so() {
        let m = crate::il1_model();
        let e =
            parse_scenario(&OK.replace("[[regimens]]", "[regimens]"), "s.toml", &m).unwrap_err();
        assert_eq!(e.key, "regimens", "{e}");
        assert!(e.message.contains("write [[regimens]]"), "{e}");
    }

    #[test]
    fn parses_a_valid_scenario() {
        let m = crate::il1_model();
        let s = parse_scenario(OK, "ok.toml", &m).unwrap();
        assert_eq!(s.regimens.len(), 1);
        assert_eq!(s.output_grid().len(), 49);
    }

    #[test]
    fn regimens_given_with_an_arm_join_it_and_are_checked() {
        let m = crate::il1_model();
        let with = format!(
            "{OK}\n[[regimens.with]]\nname = \"trap\"\ndrug = \"rilonacept\"\nroute = \"sc\"\ndose_mg = 160\ndoses = 1\n"
        );
        let s = parse_scenario(&with, "with.toml", &m).unwrap();
        assert_eq!(s.regimens.len(), 1, "an add-on is not an arm of its own");
        assert_eq!(s.regimens[0].with.len(), 1);
        assert_eq!(s.regimens[0].with[0].drug, "rilonacept");
        // Its values are checked like an arm's, and the error names where it is.
        let e = parse_scenario(&with.replace("dose_mg = 160", "dose_mg = -1"), "w.toml", &m)
            .unwrap_err()
            .to_string();
        assert!(e.contains("regimens[0].with[0].dose"), "{e}");
        // No steady state: an arm and its add-ons can have different periods.
        let e = parse_scenario(
            &with.replace("doses = 2", "doses = 2\nsteady_state = true"),
            "w.toml",
            &m,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("steady_state"), "{e}");
        // One level only.
        let nested = format!(
            "{with}\n[[regimens.with.with]]\nname = \"x\"\nroute = \"sc\"\ndose_mg = 1\ndoses = 1\n"
        );
        let e = parse_scenario(&nested, "w.toml", &m)
            .unwrap_err()
            .to_string();
        assert!(e.contains("regimens[0].with[0].with"), "{e}");
    }

    #[test]
    fn out_of_range_values_name_file_line_key_value() {
        let m = crate::il1_model();
        let cases = [
            (
                "dose_mg = 100",
                "dose_mg = 0",
                17,
                "regimens[0].dose",
                "0 mg",
            ),
            (
                "weight_kg = 70",
                "weight_kg = -3",
                8,
                "patient.weight",
                "-3 kg",
            ),
            (
                "crcl_ml_min = 100",
                "crcl_ml_min = -1",
                11,
                "patient.crcl",
                "-1 mL/min",
            ),
            (
                "interval_h = 24",
                "interval_h = 0",
                18,
                "regimens[0].interval",
                "0 h",
            ),
        ];
        for (from, to, line, key, value) in cases {
            let text = OK.replace(from, to);
            let e = parse_scenario(&text, "bad.toml", &m).unwrap_err();
            assert_eq!(e.line, Some(line), "{e}");
            assert_eq!(e.key, key, "{e}");
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("bad.toml:{line}: {key}: {value}")),
                "{msg}"
            );
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_reported_with_line() {
        let m = crate::il1_model();
        let e = parse_scenario(
            &OK.replace("doses = 2", "doses = 2\nfrequency = 3"),
            "u.toml",
            &m,
        )
        .unwrap_err();
        assert_eq!(e.line, Some(20), "{e}");
        assert!(e.message.contains("frequency"), "{e}");
        let e = parse_scenario(&OK.replace("age_y = 40", "age_y = \"forty\""), "w.toml", &m)
            .unwrap_err();
        assert_eq!(e.line, Some(9), "{e}");
        let e = parse_scenario(
            &OK.replace("disease = \"ra\"", "disease = \"gout\""),
            "d.toml",
            &m,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains(
                "allowed: aosd, caps, dira, fcas, healthy, mas, mws, nomid, ra, sepsis, sjia"
            ),
            "{e}"
        );
    }
}
