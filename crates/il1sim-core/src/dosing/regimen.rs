//! Regimens as given: dose amounts, routes, intervals, how long a regimen runs, loading,
//! missed, late and extra doses, stopping, regimens given with another; the limits on them
//! and the checks of each value. Days are 1-based calendar days (`day_of`).

use crate::error::InputError;
use crate::model::definition::RouteKind;
use crate::time::{before, same_time};

/// Hours in a day; days in scenarios and on the command line are 1-based calendar days,
/// day d covering [24(d-1), 24d) h.
pub const HOURS_PER_DAY: f64 = 24.0;

/// Most doses one regimen may give within a simulation: hourly dosing for ten years is
/// 87,600. The limit keeps a mistyped interval (1e-6 h) an error instead of an attempt to
/// hold hundreds of millions of dose events in memory.
pub const MAX_DOSES: usize = 100_000;

/// Largest single dose accepted (mg): the largest IL-1-blocker doses given are grams
/// (anakinra 2 mg/kg/h for 72 h in the sepsis trials, about 10 g, Fisher 1994 JAMA 271:1836);
/// a hundred grams is ten times that, so anything above is a typing mistake, not a regimen.
pub const MAX_DOSE_MG: f64 = 100_000.0;
/// Largest weight-based dose accepted (mg/kg): MAX_DOSE_MG for a 100-kg patient.
pub const MAX_DOSE_MG_PER_KG: f64 = 1_000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DoseAmount {
    Mg(f64),
    /// Weight-based dose, optionally capped (for example 2 mg/kg, at most 100 mg).
    MgPerKg {
        mg_per_kg: f64,
        max_mg: Option<f64>,
    },
}

impl DoseAmount {
    pub fn mg(&self, weight_kg: f64) -> f64 {
        match *self {
            DoseAmount::Mg(mg) => mg,
            DoseAmount::MgPerKg { mg_per_kg, max_mg } => {
                let mg = mg_per_kg * weight_kg;
                max_mg.map_or(mg, |m| mg.min(m))
            }
        }
    }

    pub fn label(&self) -> String {
        match *self {
            DoseAmount::Mg(mg) => format!("{mg} mg"),
            DoseAmount::MgPerKg {
                mg_per_kg,
                max_mg: Some(m),
            } => format!("{mg_per_kg} mg/kg (max {m} mg)"),
            DoseAmount::MgPerKg {
                mg_per_kg,
                max_mg: None,
            } => format!("{mg_per_kg} mg/kg"),
        }
    }

    fn check(&self, field: &str) -> Result<(), InputError> {
        let (v, what) = match *self {
            DoseAmount::Mg(mg) => (mg, "mg"),
            DoseAmount::MgPerKg { mg_per_kg, .. } => (mg_per_kg, "mg/kg"),
        };
        let max = match self {
            DoseAmount::Mg(_) => MAX_DOSE_MG,
            DoseAmount::MgPerKg { .. } => MAX_DOSE_MG_PER_KG,
        };
        if !(v.is_finite() && v > 0.0 && v <= max) {
            return Err(InputError::new(
                field,
                format!("{v} {what}"),
                format!("a dose must be > 0 and at most {max} {what}"),
            ));
        }
        if let DoseAmount::MgPerKg {
            max_mg: Some(m), ..
        } = *self
        {
            if !(m.is_finite() && m > 0.0) {
                return Err(InputError::new(
                    format!("{field} maximum"),
                    format!("{m} mg"),
                    "a maximum dose must be > 0",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Administration {
    Subcutaneous,
    IvBolus,
    IvInfusion {
        duration_h: f64,
    },
    /// An infusion given at a set rate: each dose lasts its own amount / rate (a loading dose
    /// twice the maintenance dose runs twice as long).
    IvInfusionAtRate {
        mg_per_h: f64,
    },
}

impl Administration {
    pub fn route(&self) -> RouteKind {
        match self {
            Administration::Subcutaneous => RouteKind::Subcutaneous,
            _ => RouteKind::Intravenous,
        }
    }
    pub fn label(&self) -> String {
        match self {
            Administration::Subcutaneous => "SC".into(),
            Administration::IvBolus => "IV bolus".into(),
            Administration::IvInfusion { duration_h } => format!("IV infusion over {duration_h} h"),
            Administration::IvInfusionAtRate { mg_per_h } => {
                format!("IV infusion at {mg_per_h} mg/h")
            }
        }
    }

    /// How long one dose of `amount_mg` runs when this is an infusion (h).
    pub fn infusion_hours(&self, amount_mg: f64) -> Option<f64> {
        match *self {
            Administration::IvInfusion { duration_h } => Some(duration_h),
            Administration::IvInfusionAtRate { mg_per_h } => Some(amount_mg / mg_per_h),
            Administration::Subcutaneous | Administration::IvBolus => None,
        }
    }

    /// How one dose of `amount_mg` is given: an infusion at a set rate becomes an infusion
    /// of that dose's own duration.
    pub fn for_amount(&self, amount_mg: f64) -> Administration {
        match *self {
            Administration::IvInfusionAtRate { mg_per_h } => Administration::IvInfusion {
                duration_h: amount_mg / mg_per_h,
            },
            a => a,
        }
    }
}

/// A dose given later than scheduled: the `dose`-th dose (1-based) scheduled on `day`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LateDose {
    pub day: u32,
    pub delay_h: f64,
    pub dose: u32,
}

/// An unscheduled dose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExtraDose {
    pub time_h: f64,
    pub dose: DoseAmount,
}

/// How long a repeated regimen runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Repeat {
    Single,
    Count(u32),
    /// Doses on every interval up to and including this 1-based day.
    UntilDay(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Regimen {
    pub name: String,
    pub drug: String,
    pub dose: DoseAmount,
    pub administration: Administration,
    pub start_h: f64,
    pub interval_h: f64,
    pub repeat: Repeat,
    /// Replaces the amount of the first dose.
    pub loading_dose: Option<DoseAmount>,
    pub missed_days: Vec<u32>,
    pub late_doses: Vec<LateDose>,
    pub extra_doses: Vec<ExtraDose>,
    /// Last day on which a dose is given (inclusive).
    pub stop_day: Option<u32>,
    /// Start from the periodic steady state of the regimen instead of the untreated state.
    pub steady_state: bool,
    /// Regimens given at the same time, each with its own drug, route and schedule: a second
    /// drug (to see, for example, a ligand trap take anakinra out of play) or a second route of
    /// the same drug (an IV load before an infusion). Their doses join this regimen's; figures
    /// such as Cmax and trough stay those of this regimen's drug.
    pub with: Vec<Regimen>,
}

/// The 1-based day a time falls on (day 1 is [0, 24) h): the unit of missed and stop days.
/// A time within rounding of midnight belongs to the day that starts there (0.7 h × 720 is
/// 503.99999999999994 h, the start of day 22).
pub(super) fn day_of(t_h: f64) -> u32 {
    let day = (t_h / HOURS_PER_DAY).floor();
    let next = (day + 1.0) * HOURS_PER_DAY;
    if same_time(t_h, next) {
        day as u32 + 2
    } else {
        day as u32 + 1
    }
}

impl Regimen {
    /// A regimen of `dose` every `interval_h` for `count` doses, starting at 0 h.
    pub fn repeated(
        name: &str,
        drug: &str,
        dose: DoseAmount,
        administration: Administration,
        interval_h: f64,
        count: u32,
    ) -> Regimen {
        Regimen {
            name: name.into(),
            drug: drug.into(),
            dose,
            administration,
            start_h: 0.0,
            interval_h,
            repeat: Repeat::Count(count),
            loading_dose: None,
            missed_days: vec![],
            late_doses: vec![],
            extra_doses: vec![],
            stop_day: None,
            steady_state: false,
            with: Vec::new(),
        }
    }

    /// Check values against what is allowed; `field` prefixes names in errors.
    pub fn check(&self, field: &str) -> Result<(), InputError> {
        self.dose.check(&format!("{field}.dose"))?;
        if let Some(l) = &self.loading_dose {
            l.check(&format!("{field}.loading_dose"))?;
        }
        if !(self.interval_h.is_finite() && self.interval_h > 0.0) {
            return Err(InputError::new(
                format!("{field}.interval"),
                format!("{} h", self.interval_h),
                "the dosing interval must be > 0",
            ));
        }
        if !(self.start_h.is_finite() && self.start_h >= 0.0) {
            return Err(InputError::new(
                format!("{field}.start"),
                format!("{} h", self.start_h),
                "the start time must be >= 0",
            ));
        }
        match self.administration {
            Administration::IvInfusion { duration_h } => {
                if !(duration_h.is_finite() && duration_h > 0.0) {
                    return Err(InputError::new(
                        format!("{field}.infusion_hours"),
                        duration_h,
                        "an infusion must last > 0 h",
                    ));
                }
                if self.outlasts_interval(duration_h) {
                    return Err(InputError::new(
                        format!("{field}.infusion_hours"),
                        format!("{duration_h} h every {} h", self.interval_h),
                        "an infusion no longer than the dosing interval (for a continuous \
                         infusion, infusion_hours = interval_h)",
                    ));
                }
            }
            Administration::IvInfusionAtRate { mg_per_h } => {
                if !(mg_per_h.is_finite() && mg_per_h > 0.0) {
                    return Err(InputError::new(
                        format!("{field}.infusion_rate_mg_per_h"),
                        format!("{mg_per_h} mg/h"),
                        "an infusion rate must be > 0 mg/h",
                    ));
                }
                // Doses in mg are known here; weight-based ones when a patient is given
                // (`dose_events`).
                let in_mg = std::iter::once(&self.dose)
                    .chain(&self.loading_dose)
                    .chain(self.extra_doses.iter().map(|e| &e.dose));
                for dose in in_mg {
                    if let DoseAmount::Mg(mg) = *dose {
                        let hours = mg / mg_per_h;
                        if self.outlasts_interval(hours) {
                            return Err(InputError::new(
                                format!("{field}.infusion_rate_mg_per_h"),
                                format!(
                                    "{mg_per_h} mg/h ({mg} mg lasts {hours} h, every {} h)",
                                    self.interval_h
                                ),
                                "a rate at which every dose ends within the dosing interval",
                            ));
                        }
                    }
                }
            }
            Administration::Subcutaneous | Administration::IvBolus => {}
        }
        match self.repeat {
            Repeat::Count(0) => {
                return Err(InputError::new(
                    format!("{field}.doses"),
                    0,
                    "at least 1 dose",
                ))
            }
            Repeat::UntilDay(0) => {
                return Err(InputError::new(
                    format!("{field}.until_day"),
                    0,
                    "days are numbered from 1",
                ))
            }
            _ => {}
        }
        if self.steady_state && !before(self.start_h, self.interval_h) {
            return Err(InputError::new(
                format!("{field}.start"),
                format!("{} h with steady_state", self.start_h),
                format!(
                    "a start before the end of the first interval ({} h): from steady state the \
                     previous dose was one interval before the first, and doses before start_h \
                     are not given",
                    self.interval_h
                ),
            ));
        }
        for &d in &self.missed_days {
            if d == 0 {
                return Err(InputError::new(
                    format!("{field}.missed_days"),
                    d,
                    "days are numbered from 1",
                ));
            }
        }
        if self.stop_day == Some(0) {
            return Err(InputError::new(
                format!("{field}.stop_day"),
                0,
                "days are numbered from 1",
            ));
        }
        for (k, l) in self.late_doses.iter().enumerate() {
            if self.late_doses[..k]
                .iter()
                .any(|m| m.day == l.day && m.dose == l.dose)
            {
                return Err(InputError::new(
                    format!("{field}.late_doses"),
                    format!("day {} dose {} listed twice", l.day, l.dose),
                    "one entry per late dose (give its whole delay)",
                ));
            }
            if l.day == 0 || l.dose == 0 || !(l.delay_h.is_finite() && l.delay_h > 0.0) {
                return Err(InputError::new(
                    format!("{field}.late_doses"),
                    format!("day {} dose {} delay {} h", l.day, l.dose, l.delay_h),
                    "day >= 1, dose >= 1 and delay > 0 h",
                ));
            }
            if self.repeats() && l.delay_h >= self.interval_h {
                return Err(InputError::new(
                    format!("{field}.late_doses"),
                    format!("day {} delay {} h", l.day, l.delay_h),
                    format!(
                        "a delay shorter than the dosing interval ({} h); a dose given later \
                         than the next one is a missed dose plus an extra dose",
                        self.interval_h
                    ),
                ));
            }
        }
        for e in &self.extra_doses {
            e.dose.check(&format!("{field}.extra_doses"))?;
            if !(e.time_h.is_finite() && e.time_h >= 0.0) {
                return Err(InputError::new(
                    format!("{field}.extra_doses.time"),
                    e.time_h,
                    "a time >= 0 h",
                ));
            }
        }
        Ok(())
    }

    /// An infusion of `hours` would still run when the next scheduled dose starts.
    pub(super) fn outlasts_interval(&self, hours: f64) -> bool {
        self.repeats() && hours > self.interval_h && !same_time(hours, self.interval_h)
    }

    /// More than one dose is scheduled (an interval then separates doses).
    fn repeats(&self) -> bool {
        match self.repeat {
            Repeat::Single => false,
            Repeat::Count(n) => n > 1,
            Repeat::UntilDay(d) => day_of(self.start_h + self.interval_h) <= d,
        }
    }
}
