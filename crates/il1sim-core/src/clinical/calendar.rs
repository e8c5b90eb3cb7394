//! The injection calendar: dose days and times from the regimen (through the one dose engine,
//! `Regimen::dose_events`), the injection site rotated so that no site comes twice in a row,
//! the neutrophil-count visits the label asks for (before the first dose, monthly for 3
//! months, then quarterly up to a year), and the calendar as iCalendar text (RFC 5545) with
//! floating local times. Dates are proleptic Gregorian civil dates; no time zones.

use super::case::ClinicalCase;
use crate::dosing::regimen::{Regimen, Repeat, HOURS_PER_DAY};
use crate::error::InputError;
use std::fmt;

/// A civil date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

impl Date {
    /// Parse `YYYY-MM-DD` (years 1900-2999).
    pub fn parse(text: &str) -> Result<Date, String> {
        let allowed = "allowed: a date written YYYY-MM-DD, e.g. 2027-01-04";
        let parts: Vec<&str> = text.trim().split('-').collect();
        let bad = || format!("'{text}' is not a date; {allowed}");
        if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
            return Err(bad());
        }
        let year: i32 = parts[0].parse().map_err(|_| bad())?;
        let month: u32 = parts[1].parse().map_err(|_| bad())?;
        let day: u32 = parts[2].parse().map_err(|_| bad())?;
        if !(1900..=2999).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err(format!(
                "'{text}': {year}-{month:02} has {} days; {allowed}",
                days_in_month(year, month)
            ));
        }
        Ok(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(&self) -> i64 {
        let mut days = 0i64;
        let (lo, hi, sign) = if self.year >= 1970 {
            (1970, self.year, 1)
        } else {
            (self.year, 1970, -1)
        };
        for y in lo..hi {
            days += sign * if is_leap(y) { 366 } else { 365 };
        }
        for m in 1..self.month {
            days += days_in_month(self.year, m) as i64;
        }
        days + self.day as i64 - 1
    }

    pub fn from_days_since_epoch(mut days: i64) -> Date {
        let mut year = 1970;
        loop {
            let n = if is_leap(year) { 366 } else { 365 };
            if days < 0 {
                year -= 1;
                days += if is_leap(year) { 366 } else { 365 };
            } else if days >= n {
                days -= n;
                year += 1;
            } else {
                break;
            }
        }
        let mut month = 1;
        while days >= days_in_month(year, month) as i64 {
            days -= days_in_month(year, month) as i64;
            month += 1;
        }
        Date {
            year,
            month,
            day: days as u32 + 1,
        }
    }

    pub fn add_days(&self, n: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + n)
    }

    /// The same day `n` months later, or the month's last day when it is shorter
    /// (31 January + 1 month = 28 or 29 February).
    pub fn add_months(&self, n: u32) -> Date {
        let total = self.year * 12 + (self.month as i32 - 1) + n as i32;
        let (year, month) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        Date {
            year,
            month,
            day: self.day.min(days_in_month(year, month)),
        }
    }

    /// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
    pub fn weekday(&self) -> u32 {
        (self.days_since_epoch() + 3).rem_euclid(7) as u32
    }

    pub fn weekday_name(&self) -> &'static str {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self.weekday() as usize]
    }

    /// `YYYYMMDD`, the iCalendar form.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Injection sites in the order used: the four areas the label names (abdomen, thighs, upper
/// arms, buttocks), alternating sides, so that no area comes twice in a row and each side of
/// an area is used once every 8 injections. Source: Kineret US PI, patient Instructions for
/// Use (rotate sites; areas), as summarised by drug-information sites (secondary); the order
/// is this program's.
pub const SITES: [&str; 8] = [
    "abdomen, left",
    "thigh, right",
    "upper arm, left",
    "buttock, right",
    "abdomen, right",
    "thigh, left",
    "upper arm, right",
    "buttock, left",
];

/// The area of a site (`abdomen, left` → `abdomen`).
pub fn site_area(site: &str) -> &str {
    site.split(',').next().unwrap_or(site)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    /// 1-based.
    pub number: usize,
    pub date: Date,
    /// Minutes after local midnight.
    pub minute_of_day: u32,
    pub dose_mg: f64,
    pub site: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub date: Date,
    pub what: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub start: Date,
    pub weeks: u32,
    pub interval_h: f64,
    pub injections: Vec<Injection>,
    /// Monitoring visits within the plan.
    pub visits: Vec<Visit>,
    /// Monitoring visits the label asks for after the plan's end (within the first year).
    pub later_visits: Vec<Visit>,
}

/// Source of the neutrophil-count schedule.
pub const ANC_SOURCE: &str = "Kineret US PI §5 (neutropenia); EU SmPC §4.4";

/// The neutrophil-count visits from `start`: before the first dose, then 1, 2, 3, 6, 9 and
/// 12 months after it.
pub fn anc_visits(start: Date) -> Vec<Visit> {
    let mut v = vec![Visit {
        date: start,
        what: "neutrophil count (ANC), before the first dose".into(),
        source: ANC_SOURCE.into(),
    }];
    for m in [1u32, 2, 3] {
        v.push(Visit {
            date: start.add_months(m),
            what: format!("neutrophil count (ANC), month {m} (monthly for 3 months)"),
            source: ANC_SOURCE.into(),
        });
    }
    for m in [6u32, 9, 12] {
        v.push(Visit {
            date: start.add_months(m),
            what: format!("neutrophil count (ANC), month {m} (quarterly up to 1 year)"),
            source: ANC_SOURCE.into(),
        });
    }
    v
}

/// Most weeks a plan covers: two years of daily injections.
pub const MAX_PLAN_WEEKS: u32 = 104;

/// The calendar of `weeks` weeks of `regimen` from `start`, the first dose at
/// `first_minute_of_day` local time. The regimen's own length is replaced by the plan's
/// (doses up to its last day); its interval, start offset, missed and late doses are kept.
pub fn plan(
    case: &ClinicalCase,
    regimen: &Regimen,
    start: Date,
    weeks: u32,
    first_minute_of_day: u32,
) -> Result<Plan, InputError> {
    if !(1..=MAX_PLAN_WEEKS).contains(&weeks) {
        return Err(InputError::new(
            "weeks",
            weeks,
            format!("a plan covers 1 to {MAX_PLAN_WEEKS} weeks"),
        ));
    }
    if first_minute_of_day >= 24 * 60 {
        return Err(InputError::new(
            "time",
            first_minute_of_day,
            "a time of day is 00:00 to 23:59",
        ));
    }
    let days = weeks * 7;
    let mut r = regimen.clone();
    r.repeat = Repeat::UntilDay(days);
    r.missed_days.retain(|d| *d <= days);
    r.late_doses.retain(|l| l.day <= days);
    let horizon_h = days as f64 * HOURS_PER_DAY;
    r.extra_doses.retain(|e| e.time_h < horizon_h);
    r.stop_day = r.stop_day.filter(|d| *d < days);
    r.steady_state = false;
    r.with.clear();
    let events = r.dose_events(case.patient.weight_kg, horizon_h)?;
    let injections = events
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let minutes = first_minute_of_day as i64 + (e.time_h * 60.0).round() as i64;
            Injection {
                number: k + 1,
                date: start.add_days(minutes.div_euclid(24 * 60)),
                minute_of_day: minutes.rem_euclid(24 * 60) as u32,
                dose_mg: e.amount_mg,
                site: SITES[k % SITES.len()],
            }
        })
        .collect();
    let end = start.add_days(days as i64);
    let (visits, later_visits) = anc_visits(start).into_iter().partition(|v| v.date < end);
    Ok(Plan {
        start,
        weeks,
        interval_h: regimen.interval_h,
        injections,
        visits,
        later_visits,
    })
}

/// Escape text for an iCalendar TEXT value (RFC 5545 §3.3.11).
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if len + n > 75 {
            out.push_str("\r\n ");
            len = 1;
        }
        out.push(c);
        len += n;
    }
    out.push_str("\r\n");
    out
}

/// The plan as an iCalendar file: one event per injection (floating local time, 10 minutes)
/// and an all-day event per monitoring visit. DTSTAMP is the plan's start date at 00:00 UTC so
/// that the same plan gives the same bytes.
pub fn to_ics(plan: &Plan, drug_label: &str, patient_label: &str) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//il1sim//injection plan//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        format!(
            "X-WR-CALNAME:{}",
            ics_text(&format!("{drug_label}: {patient_label}"))
        ),
    ];
    let stamp = format!("{}T000000Z", plan.start.compact());
    for i in &plan.injections {
        let (h, m) = (i.minute_of_day / 60, i.minute_of_day % 60);
        let end = i.minute_of_day + 10;
        let (end_date, end_min) = if end >= 24 * 60 {
            (i.date.add_days(1), end - 24 * 60)
        } else {
            (i.date, end)
        };
        lines.push("BEGIN:VEVENT".into());
        lines.push(format!(
            "UID:il1sim-{}-injection-{}@il1sim.invalid",
            plan.start.compact(),
            i.number
        ));
        lines.push(format!("DTSTAMP:{stamp}"));
        lines.push(format!("DTSTART:{}T{h:02}{m:02}00", i.date.compact()));
        lines.push(format!(
            "DTEND:{}T{:02}{:02}00",
            end_date.compact(),
            end_min / 60,
            end_min % 60
        ));
        lines.push(format!(
            "SUMMARY:{}",
            ics_text(&format!(
                "{drug_label} {} mg SC — {}",
                fmt_mg(i.dose_mg),
                i.site
            ))
        ));
        lines.push(format!(
            "DESCRIPTION:{}",
            ics_text(&format!(
                "Injection {} of {}. Site: {} (rotate; never the same area twice in a row). Floating local time.",
                i.number,
                plan.injections.len(),
                i.site
            ))
        ));
        lines.push("END:VEVENT".into());
    }
    for (k, v) in plan.visits.iter().enumerate() {
        lines.push("BEGIN:VEVENT".into());
        lines.push(format!(
            "UID:il1sim-{}-visit-{}@il1sim.invalid",
            plan.start.compact(),
            k + 1
        ));
        lines.push(format!("DTSTAMP:{stamp}"));
        lines.push(format!("DTSTART;VALUE=DATE:{}", v.date.compact()));
        lines.push(format!("DTEND;VALUE=DATE:{}", v.date.add_days(1).compact()));
        lines.push(format!(
            "SUMMARY:{}",
            ics_text(&format!("Blood test: {}", v.what))
        ));
        lines.push(format!(
            "DESCRIPTION:{}",
            ics_text(&format!("Source: {}", v.source))
        ));
        lines.push("END:VEVENT".into());
    }
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold(l)).collect()
}

/// A dose in mg without a needless decimal (`40`, `37.5`).
pub fn fmt_mg(mg: f64) -> String {
    let r = (mg * 100.0).round() / 100.0;
    if (r - r.round()).abs() < 1e-9 {
        format!("{}", r.round() as i64)
    } else {
        format!("{r}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dosing::regimen::{Administration, DoseAmount};
    use crate::model::patient::Patient;
    use std::collections::BTreeMap;

    fn case(interval_h: f64) -> ClinicalCase {
        ClinicalCase {
            patient: Patient::adult("ra"),
            indication: "ra".into(),
            comedications: vec![],
            conditions: BTreeMap::new(),
            anc_1e9_per_l: None,
            regimen: Regimen::repeated(
                "r",
                "anakinra",
                DoseAmount::Mg(100.0),
                Administration::Subcutaneous,
                interval_h,
                28,
            ),
        }
    }

    #[test]
    fn dates_round_trip_and_know_their_weekdays() {
        let d = Date::parse("2027-01-04").unwrap();
        assert_eq!(d.weekday_name(), "Mon");
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        for n in [-800i64, -1, 0, 1, 59, 365, 20000, 40000] {
            assert_eq!(Date::from_days_since_epoch(n).days_since_epoch(), n);
        }
        assert_eq!(
            Date::parse("2028-01-31").unwrap().add_months(1).to_string(),
            "2028-02-29"
        );
        assert_eq!(
            Date::parse("2027-11-30").unwrap().add_months(3).to_string(),
            "2028-02-29"
        );
        assert!(Date::parse("2027-02-29")
            .unwrap_err()
            .contains("has 28 days"));
        assert!(Date::parse("4 Jan 2027")
            .unwrap_err()
            .contains("YYYY-MM-DD"));
    }

    #[test]
    fn sites_never_repeat_an_area_twice_in_a_row() {
        let c = case(24.0);
        let p = plan(
            &c,
            &c.regimen,
            Date::parse("2027-01-04").unwrap(),
            12,
            8 * 60,
        )
        .unwrap();
        assert_eq!(p.injections.len(), 84);
        for w in p.injections.windows(2) {
            assert_ne!(site_area(w[0].site), site_area(w[1].site));
        }
        let areas: std::collections::BTreeSet<&str> =
            p.injections.iter().map(|i| site_area(i.site)).collect();
        assert_eq!(areas.len(), 4);
    }

    #[test]
    fn anc_visits_fall_on_the_label_schedule() {
        let c = case(24.0);
        let start = Date::parse("2027-01-04").unwrap();
        let p = plan(&c, &c.regimen, start, 12, 8 * 60).unwrap();
        let dates: Vec<String> = p.visits.iter().map(|v| v.date.to_string()).collect();
        assert_eq!(dates, ["2027-01-04", "2027-02-04", "2027-03-04"]);
        let later: Vec<String> = p.later_visits.iter().map(|v| v.date.to_string()).collect();
        assert_eq!(
            later,
            ["2027-04-04", "2027-07-04", "2027-10-04", "2028-01-04"]
        );
        let p = plan(&c, &c.regimen, start, 53, 8 * 60).unwrap();
        assert_eq!(p.visits.len(), 7);
    }

    #[test]
    fn every_other_day_doses_fall_on_alternate_days_and_times_cross_midnight() {
        let c = case(48.0);
        let start = Date::parse("2027-01-04").unwrap();
        let p = plan(&c, &c.regimen, start, 2, 8 * 60).unwrap();
        let dates: Vec<String> = p.injections.iter().map(|i| i.date.to_string()).collect();
        assert_eq!(
            dates,
            [
                "2027-01-04",
                "2027-01-06",
                "2027-01-08",
                "2027-01-10",
                "2027-01-12",
                "2027-01-14",
                "2027-01-16"
            ]
        );
        let c = case(12.0);
        let p = plan(&c, &c.regimen, start, 1, 20 * 60).unwrap();
        assert_eq!(
            (
                p.injections[1].date.to_string(),
                p.injections[1].minute_of_day
            ),
            ("2027-01-05".into(), 8 * 60)
        );
        assert!(plan(&c, &c.regimen, start, 0, 0).is_err());
        assert!(plan(&c, &c.regimen, start, 1, 24 * 60).is_err());
    }

    #[test]
    fn ics_lines_are_folded_at_75_octets_with_crlf() {
        let c = case(24.0);
        let p = plan(
            &c,
            &c.regimen,
            Date::parse("2027-01-04").unwrap(),
            1,
            8 * 60,
        )
        .unwrap();
        let ics = to_ics(
            &p,
            "Kineret (anakinra)",
            "a patient with a rather long description, name and more, to fold",
        );
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
        for l in ics.split("\r\n") {
            assert!(l.len() <= 75, "{l}");
        }
        assert!(!ics.replace("\r\n", "").contains('\n'));
    }
}
