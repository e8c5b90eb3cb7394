//! Trial files: a population file with a `[trial]` table (assessment day, placebo
//! amplitude, arms), parsed and checked into a [`TrialScenario`].

use super::population_file::parse_population;
use super::scenario::parse_file;
use super::spans::ScenarioError;
use crate::dosing::regimen::HOURS_PER_DAY;
use crate::model::definition::Model;
use crate::response::acr::ResponseModel;
use crate::response::trial::{Arm, TrialScenario};

/// Parse a trial file: a population file with a `[trial]` table.
pub fn parse_trial(
    text: &str,
    origin: &str,
    model: &Model,
    response: &ResponseModel,
) -> Result<TrialScenario, ScenarioError> {
    let population = parse_population(text, origin, model)?;
    let f = parse_file(text, origin, model)?;
    let (t, line) = f.trial.ok_or_else(|| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "trial".into(),
        message: "a [trial] table is needed (assessment_day and [[trial.arms]])".into(),
    })?;
    let e = |key: &str, message: String| ScenarioError {
        origin: origin.into(),
        line: Some(line),
        key: format!("trial.{key}"),
        message,
    };
    response.driver_index(model).map_err(|m| e("response", m))?;
    let duration_days = population.duration_h / HOURS_PER_DAY;
    if !(t.assessment_day > 0.0 && t.assessment_day <= duration_days) {
        return Err(e(
            "assessment_day",
            format!(
                "{} is not allowed; from > 0 to the duration ({duration_days} days)",
                t.assessment_day
            ),
        ));
    }
    let placebo_amplitude = t.placebo_amplitude.unwrap_or(response.placebo_amplitude);
    if !(0.0..1.0).contains(&placebo_amplitude) {
        return Err(e(
            "placebo_amplitude",
            format!("{placebo_amplitude} is not allowed; 0 <= amplitude < 1"),
        ));
    }
    if t.arms.is_empty() {
        return Err(e("arms", "at least one [[trial.arms]]".into()));
    }
    let mut arms = Vec::new();
    let mut first_id = 0;
    for (i, a) in t.arms.iter().enumerate() {
        let key = |k: &str| format!("arms[{i}].{k}");
        if a.subjects == 0 {
            return Err(e(&key("subjects"), "0 is not allowed; at least 1".into()));
        }
        if arms.iter().any(|o: &Arm| o.name == a.name) {
            return Err(e(
                &key("name"),
                format!("'{}' is used twice; arm names must differ", a.name),
            ));
        }
        let regimen = match &a.regimen {
            None => None,
            Some(r) => Some(
                population
                    .regimens
                    .iter()
                    .position(|x| &x.name == r)
                    .ok_or_else(|| {
                        let names: Vec<&str> =
                            population.regimens.iter().map(|x| x.name.as_str()).collect();
                        e(
                            &key("regimen"),
                            format!(
                                "'{r}' is not a regimen of this file; allowed: {} (or no regimen for a placebo arm)",
                                names.join(", ")
                            ),
                        )
                    })?,
            ),
        };
        let mut published = vec![None; response.levels.len()];
        for (name, &v) in &a.published {
            let k = response
                .levels
                .iter()
                .position(|l| &l.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> =
                        response.levels.iter().map(|l| l.name.as_str()).collect();
                    e(
                        &key("published"),
                        format!(
                            "'{name}' is not a response level; allowed: {}",
                            names.join(", ")
                        ),
                    )
                })?;
            if !(0.0..=100.0).contains(&v) {
                return Err(e(
                    &key("published"),
                    format!("{name} = {v} is not allowed; a percentage from 0 to 100"),
                ));
            }
            published[k] = Some(v);
        }
        arms.push(Arm {
            name: a.name.clone(),
            regimen,
            subjects: a.subjects,
            first_id,
            published,
        });
        first_id += a.subjects;
    }
    if population.subjects != first_id {
        return Err(e(
            "arms",
            format!(
                "the arms hold {first_id} subjects in all but population.subjects is {}; make them equal",
                population.subjects
            ),
        ));
    }
    Ok(TrialScenario {
        population,
        response: response.clone(),
        assessment_h: t.assessment_day * HOURS_PER_DAY,
        placebo_amplitude,
        source: t.source,
        arms,
    })
}
