//! Dose semantics, in one place: regimens (dose, route, interval, count or last day,
//! loading dose, missed, late and extra doses, stopping) expand into [`DoseEvent`]s, and
//! dose events become [`StateInput`]s (depot boluses, IV boluses, infusion rate steps) with
//! bioavailability and lag applied. Everything that integrates uses these two functions.

use crate::error::InputError;
use crate::model::{Drug, Model, ParameterValues, RouteKind};

/// Hours in a day; days in scenarios and on the command line are 1-based calendar days,
/// day d covering [24(d-1), 24d) h.
pub const HOURS_PER_DAY: f64 = 24.0;

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
        if !(v.is_finite() && v > 0.0) {
            return Err(InputError::new(
                field,
                format!("{v} {what}"),
                "a dose must be > 0",
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
    IvInfusion { duration_h: f64 },
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
        }
    }
}

/// A dose given later than scheduled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LateDose {
    pub day: u32,
    pub delay_h: f64,
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
fn day_of(t_h: f64) -> u32 {
    (t_h / HOURS_PER_DAY).floor() as u32 + 1
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
        if let Administration::IvInfusion { duration_h } = self.administration {
            if !(duration_h.is_finite() && duration_h > 0.0) {
                return Err(InputError::new(
                    format!("{field}.infusion_hours"),
                    duration_h,
                    "an infusion must last > 0 h",
                ));
            }
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
        for l in &self.late_doses {
            if l.day == 0 || !(l.delay_h.is_finite() && l.delay_h > 0.0) {
                return Err(InputError::new(
                    format!("{field}.late_doses"),
                    format!("day {} delay {} h", l.day, l.delay_h),
                    "day >= 1 and delay > 0 h",
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
                Repeat::UntilDay(d) => t < d as f64 * HOURS_PER_DAY,
            };
            if !within || t > horizon_h {
                break;
            }
            times.push(t);
            k += 1;
        }
        times
    }

    /// Time of the first scheduled dose that `missed_days` leaves out, if any.
    pub fn first_missed_dose_h(&self, horizon_h: f64) -> Option<f64> {
        self.scheduled_times(horizon_h)
            .into_iter()
            .find(|&t| self.missed_days.contains(&day_of(t)))
    }

    /// Expand into dose events up to `horizon_h` for a patient of `weight_kg`.
    pub fn dose_events(
        &self,
        weight_kg: f64,
        horizon_h: f64,
    ) -> Result<Vec<DoseEvent>, InputError> {
        self.check("regimen")?;
        let mut events = Vec::new();
        for (k, t) in self.scheduled_times(horizon_h).into_iter().enumerate() {
            let day = day_of(t);
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
                .filter(|l| l.day == day)
                .map(|l| l.delay_h)
                .sum::<f64>();
            let amount = match (k, &self.loading_dose) {
                (0, Some(l)) => l.mg(weight_kg),
                _ => self.dose.mg(weight_kg),
            };
            events.push(DoseEvent {
                time_h: t + delay,
                amount_mg: amount,
                administration: self.administration,
            });
        }
        for e in &self.extra_doses {
            if e.time_h <= horizon_h {
                events.push(DoseEvent {
                    time_h: e.time_h,
                    amount_mg: e.dose.mg(weight_kg),
                    administration: self.administration,
                });
            }
        }
        events.sort_by(|a, b| a.time_h.total_cmp(&b.time_h));
        Ok(events)
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
        match d.administration {
            Administration::Subcutaneous | Administration::IvBolus => {
                inputs.push(StateInput::Bolus {
                    time_h: t,
                    species: route.target,
                    amount_nmol: amount,
                })
            }
            Administration::IvInfusion { duration_h } => {
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
