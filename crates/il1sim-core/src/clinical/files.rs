//! The `[dose_response]` and `[dose_find]` tables of scenario files, checked with the rest of
//! the file (`[scenario]`, `[patient]` or `[population]`, `[[regimens]]`, read by
//! `exchange`) into a [`DoseResponse`] or a [`DoseFind`]; every error names the file, the line
//! of the key, the value and what is allowed.

use super::dose_find::{DoseFind, LabelGrid, LABEL_MAX_MG_PER_KG_PER_DAY};
use super::dose_response::{DoseResponse, DoseUnit};
use super::evaluation::Cohort;
use super::targets::{check_within, parse_target, Target};
use crate::dosing::regimen::{MAX_DOSE_MG, MAX_DOSE_MG_PER_KG};
use crate::exchange::population_file::parse_population;
use crate::exchange::scenario::parse_file;
use crate::exchange::spans::{line_of, ScenarioError};
use crate::model::definition::Model;
use crate::response::acr::ResponseModel;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// The tables of this module; the others are read by `exchange::scenario`.
#[derive(Debug, Deserialize)]
struct ClinicalTables {
    dose_response: Option<Spanned<DoseResponseTable>>,
    dose_find: Option<Spanned<DoseFindTable>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DoseResponseTable {
    doses: Spanned<Vec<Spanned<f64>>>,
    dose_unit: Spanned<String>,
    targets: Spanned<Vec<Spanned<String>>>,
    acr_driver: Option<Spanned<String>>,
    placebo_amplitude: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DoseFindTable {
    targets: Spanned<Vec<Spanned<String>>>,
    drug: Option<Spanned<String>>,
    min_mg_per_kg_per_day: Option<Spanned<f64>>,
    step_mg_per_kg: Option<Spanned<f64>>,
    max_mg_per_kg_per_day: Option<Spanned<f64>>,
    twice_daily: Option<bool>,
    loading_dose: Option<bool>,
    loading_factor: Option<Spanned<f64>>,
    acr_driver: Option<Spanned<String>>,
    placebo_amplitude: Option<Spanned<f64>>,
    /// Model parameter overrides for one patient, each in the parameter's declared unit.
    parameters: Option<BTreeMap<String, Spanned<f64>>>,
}

struct Errors<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Errors<'_> {
    fn at(&self, span: &Range<usize>, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            origin: self.origin.into(),
            line: Some(line_of(self.text, span)),
            key: key.into(),
            message: message.into(),
        }
    }
    fn whole(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            origin: self.origin.into(),
            line: None,
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The ACR model reading `driver` (its own driver when None), or an error naming the value.
pub fn response_with_driver(model: &Model, driver: Option<&str>) -> Result<ResponseModel, String> {
    let mut r = ResponseModel::ra_acr();
    if let Some(d) = driver {
        r.driver = d.to_string();
    }
    r.driver_index(model)?;
    Ok(r)
}

/// Parameter overrides given in each parameter's declared unit, converted to canonical
/// units; an unknown or derived name is an error naming it.
pub fn parameter_overrides(
    model: &Model,
    given: &[(String, f64)],
) -> Result<Vec<(String, f64)>, String> {
    given
        .iter()
        .map(|(name, v)| {
            let id = model.parameter_id(name).ok_or_else(|| {
                format!(
                    "'{name}' is not a parameter of model '{}'; `il1sim parameters` lists them \
                     with their units",
                    model.name
                )
            })?;
            let p = &model.parameters[id];
            if p.expr.is_some() {
                return Err(format!(
                    "'{name}' is derived ({}); override the parameters it is computed from \
                     (`il1sim parameters` lists them)",
                    p.expr.as_deref().unwrap_or("")
                ));
            }
            if !(v.is_finite() && *v >= 0.0) {
                return Err(format!(
                    "{v} {} is not allowed; a finite value >= 0 in the parameter's unit",
                    p.unit
                ));
            }
            Ok((name.clone(), v * p.to_canonical))
        })
        .collect()
}

fn tables(text: &str, e: &Errors) -> Result<ClinicalTables, ScenarioError> {
    toml::from_str(text).map_err(|err| ScenarioError {
        origin: e.origin.into(),
        line: err.span().map(|s| line_of(text, &s)),
        key: "syntax".into(),
        message: err.message().trim().to_string(),
    })
}

fn targets(
    list: &Spanned<Vec<Spanned<String>>>,
    key: &str,
    model: &Model,
    response: &ResponseModel,
    duration_h: f64,
    e: &Errors,
) -> Result<Vec<Target>, ScenarioError> {
    if list.get_ref().is_empty() {
        return Err(e.at(&list.span(), key, "[] is not allowed; at least one target"));
    }
    let mut v = Vec::new();
    for (i, t) in list.get_ref().iter().enumerate() {
        let k = format!("{key}[{i}]");
        let target =
            parse_target(t.get_ref(), model, response).map_err(|m| e.at(&t.span(), &k, m))?;
        check_within(std::slice::from_ref(&target), duration_h)
            .map_err(|m| e.at(&t.span(), &k, m))?;
        v.push(target);
    }
    Ok(v)
}

fn response(
    model: &Model,
    driver: &Option<Spanned<String>>,
    amplitude: &Option<Spanned<f64>>,
    table: &str,
    e: &Errors,
) -> Result<(ResponseModel, f64), ScenarioError> {
    let r = match driver {
        Some(d) => response_with_driver(model, Some(d.get_ref()))
            .map_err(|m| e.at(&d.span(), &format!("{table}.acr_driver"), m))?,
        None => response_with_driver(model, None).map_err(|m| e.whole(table, m))?,
    };
    let amp = match amplitude {
        Some(a) => {
            let v = *a.get_ref();
            if !(0.0..1.0).contains(&v) {
                return Err(e.at(
                    &a.span(),
                    &format!("{table}.placebo_amplitude"),
                    format!("{v} is not allowed; 0 <= amplitude < 1"),
                ));
            }
            v
        }
        None => r.placebo_amplitude,
    };
    Ok((r, amp))
}

/// The cohort of a file: its `[patient]` or its `[population]`.
fn cohort(
    text: &str,
    origin: &str,
    model: &Model,
) -> Result<
    (
        Cohort,
        f64,
        Vec<crate::dosing::regimen::Regimen>,
        String,
        String,
    ),
    ScenarioError,
> {
    let f = parse_file(text, origin, model)?;
    let c = if f.population.is_some() {
        Cohort::Population(Box::new(parse_population(text, origin, model)?))
    } else if let Some(p) = f.patient {
        Cohort::Patient {
            patient: p,
            overrides: Vec::new(),
            multipliers: Vec::new(),
        }
    } else {
        return Err(ScenarioError {
            origin: origin.into(),
            line: None,
            key: "patient".into(),
            message: "a [patient] or a [population] table is needed".into(),
        });
    };
    Ok((c, f.duration_h, f.regimens, f.name, f.description))
}

/// Parse a dose-response file: a scenario or population file with a `[dose_response]` table.
pub fn parse_dose_response(
    text: &str,
    origin: &str,
    model: &Model,
) -> Result<DoseResponse, ScenarioError> {
    let e = Errors { text, origin };
    let (cohort, duration_h, templates, name, description) = cohort(text, origin, model)?;
    let t = tables(text, &e)?.dose_response.ok_or_else(|| {
        e.whole(
            "dose_response",
            "a [dose_response] table is needed (doses, dose_unit, targets)",
        )
    })?;
    let t = t.get_ref();
    let unit = DoseUnit::parse(t.dose_unit.get_ref()).ok_or_else(|| {
        e.at(
            &t.dose_unit.span(),
            "dose_response.dose_unit",
            format!(
                "'{}' is not allowed; allowed: mg, mg/kg",
                t.dose_unit.get_ref()
            ),
        )
    })?;
    let max = match unit {
        DoseUnit::Mg => MAX_DOSE_MG,
        DoseUnit::MgPerKg => MAX_DOSE_MG_PER_KG,
    };
    if t.doses.get_ref().is_empty() {
        return Err(e.at(
            &t.doses.span(),
            "dose_response.doses",
            "[] is not allowed; at least one dose",
        ));
    }
    let mut doses = Vec::new();
    for (i, d) in t.doses.get_ref().iter().enumerate() {
        let v = *d.get_ref();
        let key = format!("dose_response.doses[{i}]");
        if !(v.is_finite() && v > 0.0 && v <= max) {
            return Err(e.at(
                &d.span(),
                &key,
                format!(
                    "{v} {} is not allowed; a dose > 0 and at most {max} {}",
                    unit.label(),
                    unit.label()
                ),
            ));
        }
        if let Some(&prev) = doses.last() {
            if v <= prev {
                return Err(e.at(
                    &d.span(),
                    &key,
                    format!("{v} is not allowed; doses ascending, each once (after {prev})"),
                ));
            }
        }
        doses.push(v);
    }
    let (response, placebo_amplitude) = response(
        model,
        &t.acr_driver,
        &t.placebo_amplitude,
        "dose_response",
        &e,
    )?;
    let targets = targets(
        &t.targets,
        "dose_response.targets",
        model,
        &response,
        duration_h,
        &e,
    )?;
    Ok(DoseResponse {
        name,
        description,
        cohort,
        duration_h,
        templates,
        doses,
        unit,
        targets,
        response,
        placebo_amplitude,
    })
}

/// Parse a dose-finding file: a scenario or population file with a `[dose_find]` table.
pub fn parse_dose_find(text: &str, origin: &str, model: &Model) -> Result<DoseFind, ScenarioError> {
    let e = Errors { text, origin };
    let (mut cohort, duration_h, current, name, description) = cohort(text, origin, model)?;
    let t = tables(text, &e)?.dose_find.ok_or_else(|| {
        e.whole(
            "dose_find",
            "a [dose_find] table is needed (targets, optionally the grid)",
        )
    })?;
    let table_span = t.span();
    let t = t.get_ref();
    let mut grid = LabelGrid::default();
    let positive = |s: &Option<Spanned<f64>>, key: &str, dflt: f64| -> Result<f64, ScenarioError> {
        match s {
            None => Ok(dflt),
            Some(v) => {
                let x = *v.get_ref();
                if x.is_finite() && x > 0.0 {
                    Ok(x)
                } else {
                    Err(e.at(
                        &v.span(),
                        &format!("dose_find.{key}"),
                        format!("{x} is not allowed; a number > 0"),
                    ))
                }
            }
        }
    };
    grid.min_mg_per_kg_per_day = positive(
        &t.min_mg_per_kg_per_day,
        "min_mg_per_kg_per_day",
        grid.min_mg_per_kg_per_day,
    )?;
    grid.step_mg_per_kg = positive(&t.step_mg_per_kg, "step_mg_per_kg", grid.step_mg_per_kg)?;
    grid.max_mg_per_kg_per_day = positive(
        &t.max_mg_per_kg_per_day,
        "max_mg_per_kg_per_day",
        grid.max_mg_per_kg_per_day,
    )?;
    grid.loading_factor = positive(&t.loading_factor, "loading_factor", grid.loading_factor)?;
    if let Some(v) = &t.max_mg_per_kg_per_day {
        if *v.get_ref() > LABEL_MAX_MG_PER_KG_PER_DAY {
            return Err(e.at(
                &v.span(),
                "dose_find.max_mg_per_kg_per_day",
                format!(
                    "{} is not allowed; at most {LABEL_MAX_MG_PER_KG_PER_DAY} mg/kg/day (the label's \
                     maximum, Kineret US PI section 2.2)",
                    v.get_ref()
                ),
            ));
        }
    }
    if grid.min_mg_per_kg_per_day > grid.max_mg_per_kg_per_day {
        let span = t
            .min_mg_per_kg_per_day
            .as_ref()
            .map_or(table_span.clone(), |s| s.span());
        return Err(e.at(
            &span,
            "dose_find.min_mg_per_kg_per_day",
            format!(
                "{} is not allowed; at most max_mg_per_kg_per_day ({})",
                grid.min_mg_per_kg_per_day, grid.max_mg_per_kg_per_day
            ),
        ));
    }
    if grid.step_mg_per_kg < 0.05 {
        let span = t
            .step_mg_per_kg
            .as_ref()
            .map_or(table_span.clone(), |s| s.span());
        return Err(e.at(
            &span,
            "dose_find.step_mg_per_kg",
            format!(
                "{} is not allowed; at least 0.05 mg/kg",
                grid.step_mg_per_kg
            ),
        ));
    }
    if let Some(b) = t.twice_daily {
        grid.twice_daily = b;
    }
    if let Some(b) = t.loading_dose {
        grid.loading_dose = b;
    }
    let drug = match &t.drug {
        Some(d) => {
            if model.drug(d.get_ref()).is_none() {
                let names: Vec<&str> = model.drugs.iter().map(|d| d.name.as_str()).collect();
                return Err(e.at(
                    &d.span(),
                    "dose_find.drug",
                    format!(
                        "'{}' is not allowed; allowed: {}",
                        d.get_ref(),
                        names.join(", ")
                    ),
                ));
            }
            d.get_ref().clone()
        }
        None => current
            .first()
            .map_or("anakinra".to_string(), |r| r.drug.clone()),
    };
    if let Some(params) = &t.parameters {
        let Cohort::Patient { overrides, .. } = &mut cohort else {
            return Err(e.at(
                &table_span,
                "dose_find.parameters",
                "individual parameters are for one patient ([patient]); a population has \
                 [population.variability]",
            ));
        };
        for (name, v) in params {
            let o = parameter_overrides(model, &[(name.clone(), *v.get_ref())])
                .map_err(|m| e.at(&v.span(), &format!("dose_find.parameters.{name}"), m))?;
            overrides.extend(o);
        }
    }
    let (response, placebo_amplitude) =
        response(model, &t.acr_driver, &t.placebo_amplitude, "dose_find", &e)?;
    let targets = targets(
        &t.targets,
        "dose_find.targets",
        model,
        &response,
        duration_h,
        &e,
    )?;
    Ok(DoseFind {
        name,
        description,
        cohort,
        duration_h,
        drug,
        grid,
        current,
        targets,
        response,
        placebo_amplitude,
    })
}
