//! Dose semantics, in one place: regimens (dose, route, interval, count or last day,
//! loading dose, missed, late and extra doses, stopping) expand into [`DoseEvent`]s, and
//! dose events become [`StateInput`]s (depot boluses, IV boluses, infusion rate steps) with
//! bioavailability and lag applied. Everything that integrates uses these two functions.

use crate::error::InputError;
use crate::model::definition::{Drug, Model, ParameterValues, RouteKind};
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
fn day_of(t_h: f64) -> u32 {
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

    /// Scheduled dose times before modifications (missed, late, stop), ascending.
    pub fn scheduled_times(&self, horizon_h: f64) -> Vec<f64> {
        let mut times = Vec::new();
        let mut k = 0u32;
        loop {
            let t = self.start_h + k as f64 * self.interval_h;
            let within = match self.repeat {
                Repeat::Single => k == 0,
                Repeat::Count(n) => k < n,
                Repeat::UntilDay(d) => day_of(t) <= d,
            };
            // A dose at the end of the simulation would act only after it.
            let before_end = before(t, horizon_h);
            // More than MAX_DOSES is an error (`check_schedule`); stop listing there.
            if !within || !before_end || times.len() > MAX_DOSES {
                break;
            }
            times.push(t);
            k += 1;
        }
        times
    }

    /// An infusion of `hours` would still run when the next scheduled dose starts.
    fn outlasts_interval(&self, hours: f64) -> bool {
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

    /// Day of the regimen's last scheduled dose, ignoring the simulation's end (None when
    /// the count is open-ended, which no regimen is).
    fn last_scheduled_day(&self) -> u32 {
        match self.repeat {
            Repeat::Single => day_of(self.start_h),
            Repeat::Count(n) => day_of(self.start_h + (n - 1) as f64 * self.interval_h),
            Repeat::UntilDay(d) => d,
        }
    }

    /// Check the schedule against itself and a simulation of `horizon_h`: every missed or
    /// late day has the dose it names, the stop day leaves a dose and changes something, extra
    /// and delayed doses fall within the simulation, and the count is reasonable. `field`
    /// prefixes names in errors.
    pub fn check_schedule(&self, field: &str, horizon_h: f64) -> Result<(), InputError> {
        if !before(self.start_h, horizon_h) {
            return Err(InputError::new(
                format!("{field}.start"),
                format!("{} h", self.start_h),
                format!("a first dose before the end of the simulation ({horizon_h} h)"),
            ));
        }
        let times = self.scheduled_times(horizon_h);
        if times.len() > MAX_DOSES {
            return Err(InputError::new(
                format!("{field}.interval"),
                format!("{} h", self.interval_h),
                format!(
                    "at most {MAX_DOSES} doses within the simulation (hourly for ten years is \
                     87,600)"
                ),
            ));
        }
        let days: Vec<u32> = times.iter().map(|&t| day_of(t)).collect();
        let doses_on = |d: u32| days.iter().filter(|&&x| x == d).count();
        // The day holding the simulation's last instant (72 h ends day 3).
        let last_day = ((horizon_h / HOURS_PER_DAY).ceil() as u32).max(1);
        for &d in &self.missed_days {
            if doses_on(d) == 0 {
                return Err(InputError::new(
                    format!("{field}.missed_days"),
                    d,
                    format!(
                        "a day on which a dose is scheduled within the simulation (days {}); \
                         day {d} has none",
                        day_list(&days)
                    ),
                ));
            }
        }
        for l in &self.late_doses {
            if self.missed_days.contains(&l.day) {
                return Err(InputError::new(
                    format!("{field}.late_doses"),
                    format!("day {}", l.day),
                    "a day that is not also missed",
                ));
            }
            let scheduled = doses_on(l.day);
            let given = times
                .iter()
                .filter(|&&t| day_of(t) == l.day)
                .nth(l.dose as usize - 1);
            if let Some(&t) = given {
                if !before(t + l.delay_h, horizon_h) {
                    return Err(InputError::new(
                        format!("{field}.late_doses"),
                        format!("day {} dose {} delay {} h", l.day, l.dose, l.delay_h),
                        format!(
                            "a delay that keeps the dose before the end of the simulation \
                             ({horizon_h} h); this one would be given at {} h",
                            t + l.delay_h
                        ),
                    ));
                }
            }
            if (l.dose as usize) > scheduled {
                return Err(InputError::new(
                    format!("{field}.late_doses"),
                    format!("day {} dose {}", l.day, l.dose),
                    format!(
                        "a dose scheduled within the simulation: day {} has {scheduled} (days \
                         with doses: {})",
                        l.day,
                        day_list(&days)
                    ),
                ));
            }
        }
        if let Some(stop) = self.stop_day {
            let first = days.first().copied().unwrap_or(1);
            if stop < first {
                return Err(InputError::new(
                    format!("{field}.stop_day"),
                    stop,
                    format!(
                        "a day on or after the first dose (day {first}); no dose would be given"
                    ),
                ));
            }
            if stop >= self.last_scheduled_day() {
                return Err(InputError::new(
                    format!("{field}.stop_day"),
                    stop,
                    format!(
                        "a day before the regimen's last scheduled dose (day {}); this stop day \
                         changes nothing",
                        self.last_scheduled_day()
                    ),
                ));
            }
        }
        for e in &self.extra_doses {
            if !before(e.time_h, horizon_h) {
                return Err(InputError::new(
                    format!("{field}.extra_doses.time"),
                    format!("{} h", e.time_h),
                    format!(
                        "a time before the end of the simulation ({horizon_h} h, day {last_day})"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Time of the first scheduled dose that `missed_days` leaves out, if any.
    pub fn first_missed_dose_h(&self, horizon_h: f64) -> Option<f64> {
        self.scheduled_times(horizon_h)
            .into_iter()
            .find(|&t| self.missed_days.contains(&day_of(t)))
    }

    /// Expand into dose events up to `horizon_h` for a patient of `weight_kg`.
    ///
    /// Doses at or after the end of the simulation are not listed: they would act only after
    /// it (an output at the end is taken before a dose given then).
    pub fn dose_events(
        &self,
        weight_kg: f64,
        horizon_h: f64,
    ) -> Result<Vec<DoseEvent>, InputError> {
        self.check("regimen")?;
        self.check_schedule("regimen", horizon_h)?;
        let before_end = |t: f64| before(t, horizon_h);
        let scheduled = self.scheduled_times(horizon_h);
        let mut events = Vec::new();
        // Which dose of its day each dose is (1-based), for late_doses; times ascend.
        let (mut previous_day, mut nth) = (0u32, 0u32);
        for (k, &t) in scheduled.iter().enumerate() {
            let day = day_of(t);
            nth = if day == previous_day { nth + 1 } else { 1 };
            previous_day = day;
            if self.missed_days.contains(&day) {
                continue;
            }
            if let Some(stop) = self.stop_day {
                if day > stop {
                    continue;
                }
            }
            let delay = self
                .late_doses
                .iter()
                .filter(|l| l.day == day && l.dose == nth)
                .map(|l| l.delay_h)
                .sum::<f64>();
            if !before_end(t + delay) {
                continue;
            }
            let amount = match (k, &self.loading_dose) {
                (0, Some(l)) => l.mg(weight_kg),
                _ => self.dose.mg(weight_kg),
            };
            events.push(DoseEvent {
                time_h: t + delay,
                amount_mg: amount,
                administration: self.administration.for_amount(amount),
            });
        }
        for e in self.extra_doses.iter().filter(|e| before_end(e.time_h)) {
            let amount = e.dose.mg(weight_kg);
            events.push(DoseEvent {
                time_h: e.time_h,
                amount_mg: amount,
                administration: self.administration.for_amount(amount),
            });
        }
        // Repeated infusions given at a rate: no dose may outlast the interval.
        if let Some(d) = events.iter().find_map(|e| match e.administration {
            Administration::IvInfusion { duration_h } if self.outlasts_interval(duration_h) => {
                Some((e.amount_mg, duration_h))
            }
            _ => None,
        }) {
            return Err(InputError::new(
                "regimen.infusion_rate_mg_per_h",
                format!("{} mg lasting {} h every {} h", d.0, d.1, self.interval_h),
                "an infusion no longer than the dosing interval",
            ));
        }
        events.sort_by(|a, b| a.time_h.total_cmp(&b.time_h));
        Ok(events)
    }
}

/// Days as a short list for messages: "1, 3, 5, …, 27" (at most six shown).
fn day_list(days: &[u32]) -> String {
    let mut unique = days.to_vec();
    unique.dedup();
    match unique.len() {
        0 => "none".into(),
        1..=6 => unique
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        n => format!(
            "{}, {}, {}, …, {}",
            unique[0],
            unique[1],
            unique[2],
            unique[n - 1]
        ),
    }
}

/// One administration of the drug.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoseEvent {
    pub time_h: f64,
    pub amount_mg: f64,
    pub administration: Administration,
}

/// What a dose does to the state: an instantaneous amount into a species, or a step in a
/// zero-order input rate (infusion start and end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StateInput {
    Bolus {
        time_h: f64,
        species: usize,
        amount_nmol: f64,
    },
    RateStep {
        time_h: f64,
        species: usize,
        delta_nmol_per_h: f64,
    },
}

impl StateInput {
    /// The state the input goes into.
    pub fn species(&self) -> usize {
        match *self {
            StateInput::Bolus { species, .. } | StateInput::RateStep { species, .. } => species,
        }
    }

    pub fn time_h(&self) -> f64 {
        match *self {
            StateInput::Bolus { time_h, .. } | StateInput::RateStep { time_h, .. } => time_h,
        }
    }

    /// The same input at another time.
    pub fn at(&self, t_h: f64) -> StateInput {
        match *self {
            StateInput::Bolus {
                species,
                amount_nmol,
                ..
            } => StateInput::Bolus {
                time_h: t_h,
                species,
                amount_nmol,
            },
            StateInput::RateStep {
                species,
                delta_nmol_per_h,
                ..
            } => StateInput::RateStep {
                time_h: t_h,
                species,
                delta_nmol_per_h,
            },
        }
    }
}

/// 1 mg of a protein of M kDa is 1e6/M nmol... precisely: mg / (kDa = mg/µmol) = µmol.
pub fn mg_to_nmol(mg: f64, molar_mass_kda: f64) -> f64 {
    mg / molar_mass_kda * 1e3
}

/// Turn dose events into state inputs for `drug`, applying the route's bioavailability and lag.
pub fn state_inputs(
    model: &Model,
    pv: &ParameterValues,
    drug: &Drug,
    doses: &[DoseEvent],
) -> Result<Vec<StateInput>, InputError> {
    let mw = pv.values[drug.molar_mass];
    let mut inputs = Vec::new();
    for d in doses {
        let route_kind = d.administration.route();
        let route = drug.routes.get(&route_kind).ok_or_else(|| {
            let allowed: Vec<&str> = drug.routes.keys().map(|r| r.label()).collect();
            InputError::new(
                "route",
                route_kind.label(),
                format!(
                    "drug '{}' in model '{}' has routes: {}",
                    drug.name,
                    model.name,
                    allowed.join(", ")
                ),
            )
        })?;
        let f = route.bioavailability.map_or(1.0, |p| pv.values[p]);
        let lag = route.lag.map_or(0.0, |p| pv.values[p]);
        let amount = mg_to_nmol(d.amount_mg, mw) * f;
        let t = d.time_h + lag;
        match d.administration.infusion_hours(d.amount_mg) {
            None => inputs.push(StateInput::Bolus {
                time_h: t,
                species: route.target,
                amount_nmol: amount,
            }),
            Some(duration_h) => {
                let rate = amount / duration_h;
                inputs.push(StateInput::RateStep {
                    time_h: t,
                    species: route.target,
                    delta_nmol_per_h: rate,
                });
                inputs.push(StateInput::RateStep {
                    time_h: t + duration_h,
                    species: route.target,
                    delta_nmol_per_h: -rate,
                });
            }
        }
    }
    inputs.sort_by(|a, b| a.time_h().total_cmp(&b.time_h()));
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily() -> Regimen {
        Regimen::repeated(
            "r",
            "anakinra",
            DoseAmount::Mg(100.0),
            Administration::Subcutaneous,
            24.0,
            28,
        )
    }

    #[test]
    fn missed_and_late_doses_and_stop() {
        let mut r = daily();
        r.missed_days = vec![3];
        r.late_doses = vec![LateDose {
            day: 5,
            delay_h: 6.0,
            dose: 1,
        }];
        r.stop_day = Some(10);
        let ev = r.dose_events(70.0, 1e9).unwrap();
        let times: Vec<f64> = ev.iter().map(|e| e.time_h).collect();
        assert_eq!(
            times,
            vec![0.0, 24.0, 72.0, 102.0, 120.0, 144.0, 168.0, 192.0, 216.0]
        );
    }

    #[test]
    fn until_day_and_every_other_day() {
        let mut r = daily();
        r.interval_h = 48.0;
        r.repeat = Repeat::UntilDay(7);
        let times: Vec<f64> = r
            .dose_events(70.0, 1e9)
            .unwrap()
            .iter()
            .map(|e| e.time_h)
            .collect();
        assert_eq!(times, vec![0.0, 48.0, 96.0, 144.0]);
    }

    #[test]
    fn weight_based_dose_is_capped_and_loading_dose_replaces_first() {
        let mut r = daily();
        r.dose = DoseAmount::MgPerKg {
            mg_per_kg: 2.0,
            max_mg: Some(100.0),
        };
        r.loading_dose = Some(DoseAmount::Mg(200.0));
        let ev = r.dose_events(70.0, 1e9).unwrap();
        assert_eq!(ev[0].amount_mg, 200.0);
        assert_eq!(ev[1].amount_mg, 100.0);
        assert_eq!(
            ev[1].amount_mg,
            DoseAmount::MgPerKg {
                mg_per_kg: 2.0,
                max_mg: Some(100.0)
            }
            .mg(70.0)
        );
        assert_eq!(
            DoseAmount::MgPerKg {
                mg_per_kg: 2.0,
                max_mg: Some(100.0)
            }
            .mg(20.0),
            40.0
        );
    }

    #[test]
    fn bad_values_are_rejected_with_the_field() {
        let mut r = daily();
        r.dose = DoseAmount::Mg(0.0);
        let e = r.check("regimens[0]").unwrap_err();
        assert!(e.field.contains("regimens[0].dose"), "{e}");
        let mut r = daily();
        r.interval_h = -1.0;
        assert!(r.check("x").unwrap_err().to_string().contains("interval"));
    }
}
