//! A regimen's schedule: the scheduled dose times, the checks that a schedule means what it
//! says (`check_schedule`: a missed day without a dose, a stop day that stops nothing, an
//! extra dose after the end are errors with the field that says so), and the expansion
//! into [`DoseEvent`]s with missed, late and extra doses and stopping applied.

use super::regimen::*;
use crate::error::InputError;
use crate::time::before;

impl Regimen {
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
