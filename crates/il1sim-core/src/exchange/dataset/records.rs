//! One record (line) of a dataset: its values parsed, and the checks that need only the
//! record itself (AMT with EVID 0, SS without II, II without ADDL, DV on a dose record, an
//! unknown CMT, a number that is not one). Checks across records (time order, contiguous
//! IDs, covariates that change) are in `subjects_build.rs`.
//!
//! `.` and an empty field are NONMEM's missing value.

use super::columns::{Column, Header};
use super::compartments::{allowed, lookup, Cmt, CmtEntry};
use super::error::DatasetError;
use crate::model::definition::RouteKind;
use crate::model::patient::Sex;

/// Hours in a day, for DATE and clock TIME.
const HOURS_PER_DAY: f64 = 24.0;

/// The event of a record (NONMEM's EVID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evid {
    /// 0: an observation.
    Observation,
    /// 1: a dose.
    Dose,
    /// 2: another event: a prediction time when CMT names an observable, otherwise nothing.
    Other,
    /// 3: reset to the untreated state.
    Reset,
    /// 4: reset, then a dose.
    ResetDose,
}

impl Evid {
    pub fn code(&self) -> u8 {
        match self {
            Evid::Observation => 0,
            Evid::Dose => 1,
            Evid::Other => 2,
            Evid::Reset => 3,
            Evid::ResetDose => 4,
        }
    }
    pub fn is_dose(&self) -> bool {
        matches!(self, Evid::Dose | Evid::ResetDose)
    }
    pub fn is_reset(&self) -> bool {
        matches!(self, Evid::Reset | Evid::ResetDose)
    }
}

/// How a dose is given (from CMT and RATE/DUR).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delivery {
    Subcutaneous,
    IvBolus,
    /// RATE > 0 (mg/h).
    InfusionAtRate(f64),
    /// RATE = −2 with DUR (h).
    InfusionOver(f64),
}

/// A dose record's dose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoseRecord {
    /// Index of the drug in `Model::drugs`.
    pub drug: usize,
    pub amount_mg: f64,
    pub delivery: Delivery,
    /// II (h); 0 when not given.
    pub interval_h: f64,
    pub additional: u32,
    /// SS: 0, 1 or 2.
    pub steady_state: u8,
}

/// Covariates as written on one record (missing values `None`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CovariateValues {
    pub weight_kg: Option<f64>,
    pub age_y: Option<f64>,
    pub sex: Option<Sex>,
    pub crcl_ml_min: Option<f64>,
    pub scr_mg_dl: Option<f64>,
    pub disease: Option<String>,
}

/// One parsed record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub line: usize,
    pub id: String,
    /// TIME (h), or with a DATE column hours since 1970-01-01 00:00 (the subject builder
    /// makes it hours since the subject's first record).
    pub time_h: f64,
    pub evid: Evid,
    pub dose: Option<DoseRecord>,
    /// The observable an observation or prediction time reads.
    pub observable: Option<usize>,
    pub dv: Option<f64>,
    /// MDV = 1 (no DV to fit).
    pub mdv: bool,
    pub lloq: Option<f64>,
    pub blq: bool,
    pub covariates: CovariateValues,
}

/// A record's fields with the header, for lookups that name file, line and column.
pub struct Fields<'a> {
    pub values: &'a [&'a str],
    pub header: &'a Header,
    pub file: &'a str,
    pub line: usize,
}

impl Fields<'_> {
    pub fn error(
        &self,
        column: Column,
        value: impl ToString,
        allowed: impl Into<String>,
    ) -> DatasetError {
        DatasetError::new(
            self.file,
            self.line,
            self.header.label(column),
            value,
            allowed,
        )
    }

    /// The text of a column; `None` when the column is absent or the value missing (`.`, empty).
    pub fn text(&self, column: Column) -> Option<&str> {
        let i = self.header.get(column)?;
        let v = self.values.get(i).map_or("", |v| v.trim());
        (!v.is_empty() && v != ".").then_some(v)
    }

    pub fn number(&self, column: Column) -> Result<Option<f64>, DatasetError> {
        match self.text(column) {
            None => Ok(None),
            Some(t) => match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(self.error(column, t, "a number (or '.' for missing)")),
            },
        }
    }

    /// A number that must be >= 0.
    pub fn non_negative(&self, column: Column, what: &str) -> Result<Option<f64>, DatasetError> {
        let v = self.number(column)?;
        match v {
            Some(x) if x < 0.0 => Err(self.error(column, x, format!("{what} must be >= 0"))),
            _ => Ok(v),
        }
    }

    /// A whole number among `allowed` (0 when missing).
    pub fn code(
        &self,
        column: Column,
        allowed: &[u32],
        meaning: &str,
    ) -> Result<u32, DatasetError> {
        match self.number(column)? {
            None => Ok(0),
            Some(v) if v.fract() == 0.0 && v >= 0.0 && allowed.contains(&(v as u32)) => {
                Ok(v as u32)
            }
            Some(v) => Err(self.error(column, v, meaning)),
        }
    }
}

/// Days since 1970-01-01 of an ISO date (`YYYY-MM-DD`), proleptic Gregorian (Hinnant's
/// days_from_civil, http://howardhinnant.github.io/date_algorithms.html).
fn days_from_civil(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// A clock time `hh:mm` or `hh:mm:ss` in hours.
fn clock_hours(text: &str) -> Option<f64> {
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let n: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (h, m, s) = (n[0], n[1], n.get(2).copied().unwrap_or(0));
    (h < 24 && m < 60 && s < 60).then(|| h as f64 + m as f64 / 60.0 + s as f64 / 3600.0)
}

/// The record's time: TIME in hours, or DATE and a clock TIME.
fn time_of(f: &Fields) -> Result<f64, DatasetError> {
    let text = f
        .text(Column::Time)
        .ok_or_else(|| f.error(Column::Time, ".", "every record needs a TIME"))?;
    if f.header.get(Column::Date).is_none() {
        if text.contains(':') {
            return Err(f.error(
                Column::Time,
                text,
                "hours (a number); a clock time needs a DATE column (YYYY-MM-DD)",
            ));
        }
        return f
            .number(Column::Time)?
            .ok_or_else(|| f.error(Column::Time, text, "a number of hours"));
    }
    let date_text = f
        .text(Column::Date)
        .ok_or_else(|| f.error(Column::Date, ".", "every record needs a DATE (YYYY-MM-DD)"))?;
    let days = days_from_civil(date_text)
        .ok_or_else(|| f.error(Column::Date, date_text, "an ISO date, YYYY-MM-DD"))?;
    let hours = clock_hours(text).ok_or_else(|| {
        f.error(
            Column::Time,
            text,
            "a clock time hh:mm or hh:mm:ss (00:00 to 23:59:59) with DATE",
        )
    })?;
    Ok(days as f64 * HOURS_PER_DAY + hours)
}

fn covariates(f: &Fields) -> Result<CovariateValues, DatasetError> {
    let sex = match f.text(Column::Sex) {
        None => None,
        Some(t) => Some(Sex::parse(t).ok_or_else(|| {
            f.error(
                Column::Sex,
                t,
                "M, F, male or female (numeric codes are not read: datasets use 0/1 and 1/2 \
                 both ways round)",
            )
        })?),
    };
    let positive = |c: Column, what: &str| -> Result<Option<f64>, DatasetError> {
        match f.number(c)? {
            Some(v) if v <= 0.0 => Err(f.error(c, v, format!("{what} must be > 0"))),
            v => Ok(v),
        }
    };
    Ok(CovariateValues {
        weight_kg: positive(Column::Weight, "a weight (kg)")?,
        age_y: f.non_negative(Column::Age, "an age (years)")?,
        sex,
        crcl_ml_min: f.non_negative(Column::Crcl, "a creatinine clearance (mL/min)")?,
        scr_mg_dl: positive(Column::Scr, "a serum creatinine (mg/dL)")?,
        disease: f.text(Column::Disease).map(str::to_string),
    })
}

/// Parse and check one record.
pub fn parse_record(f: &Fields, cmts: &[CmtEntry]) -> Result<Record, DatasetError> {
    let id = f
        .text(Column::Id)
        .ok_or_else(|| f.error(Column::Id, ".", "every record needs an ID"))?
        .to_string();
    let time_h = time_of(f)?;
    let amt = f.number(Column::Amt)?;
    if let Some(a) = amt.filter(|a| *a < 0.0) {
        return Err(f.error(
            Column::Amt,
            a,
            "an amount >= 0 mg (0 or '.' on non-dose records)",
        ));
    }
    let mdv_code = match f.header.get(Column::Mdv) {
        None => None,
        Some(_) => Some(f.code(Column::Mdv, &[0, 1], "MDV is 0 or 1")?),
    };
    let evid = match f.header.get(Column::Evid) {
        Some(_) => match f.code(
            Column::Evid,
            &[0, 1, 2, 3, 4],
            "EVID 0 (observation), 1 (dose), 2 (other), 3 (reset), 4 (reset and dose)",
        )? {
            1 => Evid::Dose,
            2 => Evid::Other,
            3 => Evid::Reset,
            4 => Evid::ResetDose,
            _ => Evid::Observation,
        },
        // Without EVID, as NONMEM: a record with an amount is a dose, one with MDV 1 is
        // another event, the rest observations.
        None if amt.is_some_and(|a| a > 0.0) => Evid::Dose,
        None if mdv_code == Some(1) => Evid::Other,
        None => Evid::Observation,
    };
    let mdv = mdv_code.map_or(evid != Evid::Observation, |m| m == 1);
    if evid != Evid::Observation && !mdv {
        return Err(f.error(
            Column::Mdv,
            0,
            format!(
                "MDV = 1 on a record with EVID {} (only observations, EVID 0, carry a DV)",
                evid.code()
            ),
        ));
    }
    let cmt_text = f.text(Column::Cmt);
    let cmt = match cmt_text {
        None => None,
        Some("0") if !evid.is_dose() => None,
        Some(t) => {
            let entry = lookup(cmts, t).ok_or_else(|| {
                f.error(
                    Column::Cmt,
                    t,
                    format!(
                        "a route for doses ({}) or an observable for observations ({}), by \
                         number or name",
                        allowed(cmts, true),
                        allowed(cmts, false)
                    ),
                )
            })?;
            Some(entry.target)
        }
    };
    let rate = f.number(Column::Rate)?;
    let dur = f.non_negative(Column::Dur, "a duration (h)")?;
    let ii = f
        .non_negative(Column::Ii, "a dosing interval II (h)")?
        .unwrap_or(0.0);
    let addl = match f.number(Column::Addl)? {
        None => 0,
        Some(v) if v.fract() == 0.0 && v >= 0.0 && v <= u32::MAX as f64 => v as u32,
        Some(v) => {
            return Err(f.error(
                Column::Addl,
                v,
                "ADDL is a whole number of additional doses >= 0",
            ))
        }
    };
    let ss = f.code(
        Column::Ss,
        &[0, 1, 2],
        "SS 0 (none), 1 (steady state, reset) or 2 (steady state added to the state)",
    )? as u8;
    let dv = f.number(Column::Dv)?;
    let lloq = f.non_negative(Column::Lloq, "an LLOQ")?;
    let blq = f.code(Column::Blq, &[0, 1], "BLQ is 0 or 1")? == 1;
    let covariates = covariates(f)?;
    let mut record = Record {
        line: f.line,
        id,
        time_h,
        evid,
        dose: None,
        observable: None,
        dv,
        mdv,
        lloq,
        blq,
        covariates,
    };
    let dosing_items = [
        (
            Column::Rate,
            rate.is_some_and(|r| r != 0.0),
            rate.unwrap_or(0.0),
        ),
        (
            Column::Dur,
            dur.is_some_and(|d| d != 0.0),
            dur.unwrap_or(0.0),
        ),
        (Column::Ii, ii != 0.0, ii),
        (Column::Addl, addl != 0, addl as f64),
        (Column::Ss, ss != 0, ss as f64),
    ];
    if !evid.is_dose() {
        if let Some(a) = amt.filter(|a| *a != 0.0) {
            return Err(f.error(
                Column::Amt,
                a,
                format!(
                    "no amount on a record with EVID {} (doses are EVID 1 or 4)",
                    evid.code()
                ),
            ));
        }
        if let Some((c, _, v)) = dosing_items.iter().find(|(_, set, _)| *set) {
            return Err(f.error(
                *c,
                v,
                format!(
                    "0 or '.' on a record with EVID {} ({} belongs to dose records, EVID 1 or 4)",
                    evid.code(),
                    c.name()
                ),
            ));
        }
        match (evid, cmt) {
            (_, Some(Cmt::Route { .. })) => {
                return Err(f.error(
                    Column::Cmt,
                    cmt_text.unwrap_or(""),
                    format!(
                        "an observable on a record with EVID {} ({}); routes are for doses",
                        evid.code(),
                        allowed(cmts, false)
                    ),
                ))
            }
            (Evid::Observation, None) => {
                return Err(f.error(
                    Column::Cmt,
                    cmt_text.unwrap_or("."),
                    format!(
                        "an observation needs the observable it measures: {}",
                        allowed(cmts, false)
                    ),
                ))
            }
            (_, Some(Cmt::Observable(k))) if evid != Evid::Reset => record.observable = Some(k),
            _ => {}
        }
        if evid == Evid::Observation && !mdv && !record.blq && dv.is_none() {
            return Err(f.error(
                Column::Dv,
                ".",
                "a measured value on an observation with MDV 0 (or MDV 1 for a prediction-only \
                 time, BLQ 1 for a sample below the LLOQ)",
            ));
        }
        if !matches!(evid, Evid::Observation) {
            if let Some(v) = dv.filter(|v| *v != 0.0) {
                return Err(f.error(
                    Column::Dv,
                    v,
                    format!("0 or '.' on a record with EVID {}", evid.code()),
                ));
            }
        }
        return Ok(record);
    }
    // A dose.
    let amount_mg = match amt {
        Some(a) if a > 0.0 => a,
        other => {
            return Err(f.error(
                Column::Amt,
                other.map_or(".".into(), |a| a.to_string()),
                "a dose record (EVID 1 or 4) needs an amount > 0 mg",
            ))
        }
    };
    if let Some(v) = dv.filter(|v| *v != 0.0) {
        return Err(f.error(
            Column::Dv,
            v,
            "0 or '.' on a dose record (a sample at the dose time is a record of its own, EVID 0)",
        ));
    }
    let (drug, route) = match cmt {
        Some(Cmt::Route { drug, route }) => (drug, route),
        _ => {
            return Err(f.error(
                Column::Cmt,
                cmt_text.unwrap_or("."),
                format!(
                    "a dose needs the route it is given by: {}",
                    allowed(cmts, true)
                ),
            ))
        }
    };
    let rate_v = rate.unwrap_or(0.0);
    let dur_v = dur.unwrap_or(0.0);
    let delivery = match (route, rate_v) {
        (_, r) if r == -2.0 => {
            if route != RouteKind::Intravenous {
                return Err(f.error(Column::Rate, r, "an infusion (RATE -2) needs an IV route"));
            }
            if dur_v <= 0.0 {
                return Err(f.error(
                    Column::Dur,
                    dur.map_or(".".into(), |d| d.to_string()),
                    "RATE = -2 takes the infusion's duration from DUR, which must be > 0 h",
                ));
            }
            Delivery::InfusionOver(dur_v)
        }
        (_, r) if r == -1.0 => {
            return Err(f.error(
                Column::Rate,
                r,
                "RATE > 0 (mg/h), 0 (bolus) or -2 (duration from DUR); RATE = -1 (rate from a \
                 model parameter) is not supported: the model has no rate parameters",
            ))
        }
        (_, r) if r < 0.0 => {
            return Err(f.error(
                Column::Rate,
                r,
                "RATE > 0 (mg/h), 0 (bolus) or -2 (duration from DUR)",
            ))
        }
        (RouteKind::Subcutaneous, r) if r > 0.0 => {
            return Err(f.error(
                Column::Rate,
                r,
                "0 on a subcutaneous dose (an infusion needs an IV route)",
            ))
        }
        (RouteKind::Intravenous, r) if r > 0.0 => Delivery::InfusionAtRate(r),
        (RouteKind::Subcutaneous, _) => Delivery::Subcutaneous,
        (RouteKind::Intravenous, _) => Delivery::IvBolus,
    };
    if dur_v != 0.0 && rate_v != -2.0 {
        return Err(f.error(
            Column::Dur,
            dur_v,
            "0 or '.' unless RATE = -2 (write RATE = -2 to infuse over DUR)",
        ));
    }
    if ss != 0 && ii == 0.0 {
        return Err(f.error(
            Column::Ss,
            ss,
            "a steady-state dose needs its interval II > 0 (a steady-state constant infusion, \
             II = 0, is not supported: give the infusion's interval)",
        ));
    }
    if addl != 0 && ii == 0.0 {
        return Err(f.error(
            Column::Addl,
            addl,
            "additional doses need their interval II > 0",
        ));
    }
    if ii != 0.0 && addl == 0 && ss == 0 {
        return Err(f.error(
            Column::Ii,
            ii,
            "0 or '.' unless the record has ADDL > 0 or SS (II alone gives no dose)",
        ));
    }
    record.dose = Some(DoseRecord {
        drug,
        amount_mg,
        delivery,
        interval_h: ii,
        additional: addl,
        steady_state: ss,
    });
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_and_clock_times() {
        assert_eq!(days_from_civil("1970-01-01"), Some(0));
        assert_eq!(days_from_civil("2000-03-01"), Some(11017));
        assert_eq!(days_from_civil("2024-02-29"), Some(19782));
        assert_eq!(days_from_civil("2023-02-29"), None);
        assert_eq!(days_from_civil("01/02/2023"), None);
        assert_eq!(clock_hours("08:30"), Some(8.5));
        assert_eq!(clock_hours("23:59:60"), None);
        assert_eq!(clock_hours("8:30"), None);
    }
}
