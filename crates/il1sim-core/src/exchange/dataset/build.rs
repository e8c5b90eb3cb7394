//! Records into subjects: records grouped by ID (contiguous), times that do not decrease,
//! covariates constant within a subject, the patient (with Cockcroft–Gault from serum
//! creatinine when no CrCl is given), occasions split at resets and steady-state doses, every
//! dose record as a `Regimen` and every observation or prediction time as an `Observation`.

use super::columns::{Column, Header};
use super::error::DatasetError;
use super::records::{Delivery, DoseRecord, Evid, Record};
use super::subjects::{DataSubject, Observation, Occasion};
use crate::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat, HOURS_PER_DAY};
use crate::model::definition::Model;
use crate::model::patient::Patient;
use crate::population::sampling::crcl_from_creatinine;
use crate::time::before;

/// Where records came from, for errors.
pub struct Context<'a> {
    pub file: &'a str,
    pub header: &'a Header,
    pub model: &'a Model,
    /// Values for covariates the file has no column for.
    pub defaults: &'a Patient,
}

impl Context<'_> {
    fn error(
        &self,
        line: usize,
        column: Column,
        value: impl ToString,
        allowed: impl Into<String>,
    ) -> DatasetError {
        DatasetError::new(self.file, line, self.header.label(column), value, allowed)
    }
}

/// Split records into subjects (in file order), refusing an ID that comes back after another.
pub fn group(records: Vec<Record>, cx: &Context) -> Result<Vec<Vec<Record>>, DatasetError> {
    let mut groups: Vec<Vec<Record>> = Vec::new();
    for r in records {
        match groups.last_mut() {
            Some(g) if g[0].id == r.id => g.push(r),
            _ => {
                if let Some(g) = groups.iter().find(|g| g[0].id == r.id) {
                    return Err(cx.error(
                        r.line,
                        Column::Id,
                        &r.id,
                        format!(
                            "the records of one ID together: ID {} already ended at line {} \
                             (sort the file by ID, then TIME)",
                            r.id,
                            g[g.len() - 1].line
                        ),
                    ));
                }
                groups.push(vec![r]);
            }
        }
    }
    Ok(groups)
}

/// One covariate of a subject: the first value given, the same on every record that gives it.
fn constant<T: Clone + PartialEq + std::fmt::Display>(
    records: &[Record],
    cx: &Context,
    column: Column,
    get: impl Fn(&Record) -> Option<T>,
) -> Result<Option<T>, DatasetError> {
    let mut first: Option<(T, usize)> = None;
    for r in records {
        if let Some(v) = get(r) {
            match &first {
                None => first = Some((v, r.line)),
                Some((f, line)) if *f != v => {
                    return Err(cx.error(
                        r.line,
                        column,
                        v,
                        format!(
                            "the same value on every record of ID {} ({f} at line {line}): the \
                             model's covariates are constant within a subject",
                            r.id
                        ),
                    ))
                }
                _ => {}
            }
        }
    }
    Ok(first.map(|(v, _)| v))
}

/// The subject's patient from its records, the defaults filling absent columns.
fn patient(records: &[Record], cx: &Context) -> Result<Patient, DatasetError> {
    let c = |r: &Record| r.covariates.clone();
    let weight = constant(records, cx, Column::Weight, |r| c(r).weight_kg)?;
    let age = constant(records, cx, Column::Age, |r| c(r).age_y)?;
    let sex = constant(records, cx, Column::Sex, |r| c(r).sex.map(|s| s.label()))?;
    let crcl = constant(records, cx, Column::Crcl, |r| c(r).crcl_ml_min)?;
    let scr = constant(records, cx, Column::Scr, |r| c(r).scr_mg_dl)?;
    let disease = constant(records, cx, Column::Disease, |r| c(r).disease)?;
    let first = records[0].line;
    let missing = |column: Column| {
        cx.error(
            first,
            column,
            ".",
            format!(
                "a value on at least one record of ID {} (the column is there, so the \
                 default is not used)",
                records[0].id
            ),
        )
    };
    let has = |column: Column| cx.header.get(column).is_some();
    let d = cx.defaults;
    let pick = |v: Option<f64>, column: Column, default: f64| match v {
        Some(v) => Ok(v),
        None if has(column) => Err(missing(column)),
        None => Ok(default),
    };
    let weight_kg = pick(weight, Column::Weight, d.weight_kg)?;
    let age_y = pick(age, Column::Age, d.age_y)?;
    let sex = match sex {
        Some(s) => crate::model::patient::Sex::parse(s).unwrap_or(d.sex),
        None if has(Column::Sex) => return Err(missing(Column::Sex)),
        None => d.sex,
    };
    let crcl_ml_min = match (crcl, scr) {
        (Some(c), _) => c,
        (None, Some(s)) => crcl_from_creatinine(
            age_y,
            weight_kg,
            s,
            sex == crate::model::patient::Sex::Female,
        ),
        (None, None) if has(Column::Crcl) => return Err(missing(Column::Crcl)),
        (None, None) if has(Column::Scr) => return Err(missing(Column::Scr)),
        (None, None) => d.crcl_ml_min,
    };
    let disease = match disease {
        Some(v) => v,
        None if has(Column::Disease) => return Err(missing(Column::Disease)),
        None => d.disease.clone(),
    };
    let p = Patient {
        weight_kg,
        age_y,
        sex,
        crcl_ml_min,
        disease,
    };
    p.check(cx.model, "patient").map_err(|e| {
        let column = match e.field.rsplit('.').next().unwrap_or("") {
            "weight" => Column::Weight,
            "age" => Column::Age,
            "crcl" if !has(Column::Crcl) && has(Column::Scr) => Column::Scr,
            "crcl" => Column::Crcl,
            _ => Column::Disease,
        };
        cx.error(
            first,
            column,
            e.value,
            format!("{} (ID {})", e.allowed, records[0].id),
        )
    })?;
    Ok(p)
}

/// A dose record as a regimen starting `start_h` after its occasion's start.
fn regimen(
    r: &Record,
    dose: &DoseRecord,
    start_h: f64,
    cx: &Context,
) -> Result<Regimen, DatasetError> {
    let administration = match dose.delivery {
        Delivery::Subcutaneous => Administration::Subcutaneous,
        Delivery::IvBolus => Administration::IvBolus,
        Delivery::InfusionAtRate(mg_per_h) => Administration::IvInfusionAtRate { mg_per_h },
        Delivery::InfusionOver(duration_h) => Administration::IvInfusion { duration_h },
    };
    let mut regimen = Regimen::repeated(
        &format!("{}:{}", cx.file, r.line),
        &cx.model.drugs[dose.drug].name,
        DoseAmount::Mg(dose.amount_mg),
        administration,
        // A single dose has no interval; the regimen's own default (a day) is never used.
        if dose.interval_h > 0.0 {
            dose.interval_h
        } else {
            HOURS_PER_DAY
        },
        dose.additional + 1,
    );
    if dose.additional == 0 {
        regimen.repeat = Repeat::Single;
    }
    regimen.start_h = start_h;
    regimen.steady_state = dose.steady_state != 0;
    regimen.check("record").map_err(|e| {
        let column = if e.field.contains("interval") {
            Column::Ii
        } else if e.field.contains("infusion") {
            if matches!(dose.delivery, Delivery::InfusionOver(_)) {
                Column::Dur
            } else {
                Column::Rate
            }
        } else {
            Column::Amt
        };
        cx.error(r.line, column, e.value, e.allowed)
    })?;
    Ok(regimen)
}

/// One subject from its records (at least one).
pub fn subject(mut records: Vec<Record>, cx: &Context) -> Result<DataSubject, DatasetError> {
    // With DATE, times count from the subject's first record.
    if cx.header.get(Column::Date).is_some() {
        let t0 = records[0].time_h;
        records.iter_mut().for_each(|r| r.time_h -= t0);
    }
    for w in records.windows(2) {
        if before(w[1].time_h, w[0].time_h) {
            return Err(cx.error(
                w[1].line,
                Column::Time,
                w[1].time_h,
                format!(
                    "times that do not decrease within an ID (line {} of ID {} is at {} h); \
                     a reset (EVID 3 or 4) also keeps the clock running",
                    w[0].line, w[0].id, w[0].time_h
                ),
            ));
        }
    }
    let patient = patient(&records, cx)?;
    let mut regimens: Vec<Regimen> = Vec::new();
    let mut observations: Vec<Observation> = Vec::new();
    let mut occasions = vec![Occasion {
        start_h: records[0].time_h,
        regimens: 0..0,
        observations: 0..0,
        line: records[0].line,
    }];
    for r in &records {
        let ss = r.dose.map_or(0, |d| d.steady_state);
        let current = occasions.last().expect("one occasion from the start");
        let doses_before = !current.regimens.is_empty();
        if ss == 2 && doses_before {
            return Err(cx.error(
                r.line,
                Column::Ss,
                2,
                "SS = 2 only as the first dose of an occasion (where it equals SS = 1): SS = 2 \
                 adds a steady state to the state left by earlier doses, which is \
                 superposition and holds only in a linear model; this model is nonlinear \
                 (binding to targets). Give SS = 1, or the earlier doses as records",
            ));
        }
        if r.evid.is_reset() || ss != 0 {
            let empty = current.regimens.is_empty() && current.observations.is_empty();
            if empty {
                let o = occasions.last_mut().expect("one occasion from the start");
                o.start_h = r.time_h;
                o.line = r.line;
            } else {
                occasions.push(Occasion {
                    start_h: r.time_h,
                    regimens: regimens.len()..regimens.len(),
                    observations: observations.len()..observations.len(),
                    line: r.line,
                });
            }
        }
        let start_h = occasions.last().expect("one occasion").start_h;
        if let Some(dose) = &r.dose {
            regimens.push(regimen(r, dose, r.time_h - start_h, cx)?);
        }
        if let Some(observable) = r.observable {
            let below = r.blq || matches!((r.dv, r.lloq), (Some(v), Some(l)) if v < l);
            observations.push(Observation {
                time_h: r.time_h,
                observable,
                value: if r.mdv || below { None } else { r.dv },
                lloq: r.lloq,
                below_lloq: below,
                line: r.line,
            });
        }
        let o = occasions.last_mut().expect("one occasion");
        o.regimens.end = regimens.len();
        o.observations.end = observations.len();
        debug_assert!(r.evid != Evid::Observation || r.observable.is_some());
    }
    Ok(DataSubject {
        id: records[0].id.clone(),
        patient,
        regimens,
        observations,
        first_line: records[0].line,
        occasions,
    })
}
