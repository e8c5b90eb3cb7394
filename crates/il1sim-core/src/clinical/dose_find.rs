//! Dose finding: the regimens the Kineret label allows for a weight-based indication (NOMID /
//! CAPS), each evaluated over a patient or a population by [`super::evaluation`] and ranked
//! by probability of target attainment, then exposure (median AUC over the horizon, lower
//! first), then injections per week (fewer first).
//!
//! Label rules (Kineret US prescribing information, section 2.2 "Cryopyrin-Associated
//! Periodic Syndromes (CAPS)" and the renal-impairment paragraph of section 2): a starting dose
//! of 1–2 mg/kg daily, adjusted in 0.5 to 1 mg/kg increments up to 8 mg/kg daily; given once
//! daily or split into twice daily administrations; every other day considered when the
//! creatinine clearance is below 30 mL/min. The label gives no loading dose: one here is an
//! assumption (the first dose `loading_factor` times the maintenance dose), offered only when
//! the first day stays within 8 mg/kg.

use super::evaluation::{summarise, Cohort, Evaluation, PointSummary, SubjectResult};
use super::targets::Target;
use crate::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat, HOURS_PER_DAY};
use crate::model::definition::Model;
use crate::response::acr::ResponseModel;
use crate::solve::options::SolverOptions;

/// Largest daily dose the label allows for NOMID (Kineret US PI section 2.2), mg/kg/day.
pub const LABEL_MAX_MG_PER_KG_PER_DAY: f64 = 8.0;
/// Lowest starting dose (Kineret US PI section 2.2: 1–2 mg/kg daily), mg/kg/day.
pub const LABEL_MIN_MG_PER_KG_PER_DAY: f64 = 1.0;
/// Smallest adjustment step (Kineret US PI section 2.2: increments of 0.5 to 1 mg/kg).
pub const LABEL_STEP_MG_PER_KG: f64 = 0.5;
/// Every-other-day dosing is considered below this clearance (Kineret US PI, renal
/// impairment: creatinine clearance < 30 mL/min), mL/min.
pub const RENAL_EOD_CRCL_ML_MIN: f64 = 30.0;
/// Loading-dose factor when none is given: an assumption (the label has no loading dose).
pub const DEFAULT_LOADING_FACTOR: f64 = 2.0;

/// How a daily amount is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Schedule {
    OnceDaily,
    TwiceDaily,
    /// The prescribed (daily) dose every other day (renal impairment).
    EveryOtherDay,
}

impl Schedule {
    pub fn interval_h(&self) -> f64 {
        match self {
            Schedule::OnceDaily => 24.0,
            Schedule::TwiceDaily => 12.0,
            Schedule::EveryOtherDay => 48.0,
        }
    }
    /// mg/kg per administration for a daily amount.
    pub fn per_dose(&self, mg_per_kg_per_day: f64) -> f64 {
        match self {
            Schedule::TwiceDaily => mg_per_kg_per_day / 2.0,
            _ => mg_per_kg_per_day,
        }
    }
    pub fn injections_per_week(&self) -> f64 {
        7.0 * HOURS_PER_DAY / self.interval_h()
    }
    pub fn label(&self) -> &'static str {
        match self {
            Schedule::OnceDaily => "once daily",
            Schedule::TwiceDaily => "split twice daily",
            Schedule::EveryOtherDay => "every other day",
        }
    }
}

/// The grid the label allows, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelGrid {
    pub min_mg_per_kg_per_day: f64,
    pub step_mg_per_kg: f64,
    pub max_mg_per_kg_per_day: f64,
    pub twice_daily: bool,
    pub loading_dose: bool,
    pub loading_factor: f64,
}

impl Default for LabelGrid {
    fn default() -> Self {
        LabelGrid {
            min_mg_per_kg_per_day: LABEL_MIN_MG_PER_KG_PER_DAY,
            step_mg_per_kg: LABEL_STEP_MG_PER_KG,
            max_mg_per_kg_per_day: LABEL_MAX_MG_PER_KG_PER_DAY,
            twice_daily: true,
            loading_dose: true,
            loading_factor: DEFAULT_LOADING_FACTOR,
        }
    }
}

/// One regimen of the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub mg_per_kg_per_day: f64,
    pub schedule: Schedule,
    pub loading: bool,
}

impl Candidate {
    pub fn name(&self, loading_factor: f64) -> String {
        let mut s = format!(
            "{} mg/kg/day {}",
            self.mg_per_kg_per_day,
            self.schedule.label()
        );
        if self.loading {
            s.push_str(&format!(
                ", first dose {} mg/kg",
                loading_factor * self.schedule.per_dose(self.mg_per_kg_per_day)
            ));
        }
        s
    }

    /// Most mg/kg given on one calendar day (the first, with a loading dose).
    pub fn max_daily_mg_per_kg(&self, loading_factor: f64) -> f64 {
        let per = self.schedule.per_dose(self.mg_per_kg_per_day);
        let first = if self.loading {
            loading_factor * per
        } else {
            per
        };
        match self.schedule {
            Schedule::TwiceDaily => first + per,
            _ => first,
        }
    }

    /// The regimen: SC doses of `drug` up to the last day of `duration_h`.
    pub fn regimen(&self, drug: &str, duration_h: f64, loading_factor: f64) -> Regimen {
        let per = self.schedule.per_dose(self.mg_per_kg_per_day);
        let mut r = Regimen::repeated(
            &self.name(loading_factor),
            drug,
            DoseAmount::MgPerKg {
                mg_per_kg: per,
                max_mg: None,
            },
            Administration::Subcutaneous,
            self.schedule.interval_h(),
            1,
        );
        r.repeat = Repeat::UntilDay((duration_h / HOURS_PER_DAY).ceil().max(1.0) as u32);
        if self.loading {
            r.loading_dose = Some(DoseAmount::MgPerKg {
                mg_per_kg: loading_factor * per,
                max_mg: None,
            });
        }
        r
    }
}

/// Every regimen the label allows for a cohort whose largest creatinine clearance is
/// `max_crcl_ml_min`: every-other-day dosing only when it is below 30 mL/min (for a population,
/// when every subject's is).
pub fn candidates(grid: &LabelGrid, max_crcl_ml_min: f64) -> Vec<Candidate> {
    let mut schedules = vec![Schedule::OnceDaily];
    if grid.twice_daily {
        schedules.push(Schedule::TwiceDaily);
    }
    if max_crcl_ml_min < RENAL_EOD_CRCL_ML_MIN {
        schedules.push(Schedule::EveryOtherDay);
    }
    let cap = grid.max_mg_per_kg_per_day.min(LABEL_MAX_MG_PER_KG_PER_DAY);
    let mut doses = Vec::new();
    let mut k = 0u32;
    loop {
        let d = grid.min_mg_per_kg_per_day + k as f64 * grid.step_mg_per_kg;
        if d > cap + 1e-9 {
            break;
        }
        // Written as the nearest multiple of 1e-9 so that 1 + 14 × 0.5 prints as 8.
        doses.push((d * 1e9).round() / 1e9);
        k += 1;
    }
    let mut v = Vec::new();
    for &d in &doses {
        for &s in &schedules {
            for loading in [false, true] {
                if loading && !grid.loading_dose {
                    continue;
                }
                let c = Candidate {
                    mg_per_kg_per_day: d,
                    schedule: s,
                    loading,
                };
                if c.max_daily_mg_per_kg(grid.loading_factor) <= cap + 1e-9 {
                    v.push(c);
                }
            }
        }
    }
    v
}

/// A checked dose-finding study.
#[derive(Debug, Clone)]
pub struct DoseFind {
    pub name: String,
    pub description: String,
    pub cohort: Cohort,
    pub duration_h: f64,
    pub drug: String,
    pub grid: LabelGrid,
    /// Regimens of the file (the current one, say), ranked with the candidates.
    pub current: Vec<Regimen>,
    pub targets: Vec<Target>,
    pub response: ResponseModel,
    pub placebo_amplitude: f64,
}

/// One ranked regimen.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// None for a regimen of the file.
    pub candidate: Option<Candidate>,
    pub regimen: Regimen,
    pub summary: PointSummary,
    pub injections_per_week: f64,
}

/// Exposures whose median AUCs are within this factor of the lowest AUC among regimens of the
/// same attainment fall in one class when ranking, and so on in steps of this factor (a
/// convention of this tool, not a published equivalence margin): 1 mg/kg/day once daily and
/// split twice daily differ by well under 1% and are ranked by injections.
pub const EXPOSURE_CLASS_FACTOR: f64 = 1.05;

/// Rank: attainment (all targets) first, higher first; then exposure, lower first, in classes
/// of a factor [`EXPOSURE_CLASS_FACTOR`] counted from the lowest median AUC of the same
/// attainment; then injections per week, fewer first; then the median AUC itself; failed
/// regimens (nothing evaluated) last.
pub fn rank(v: Vec<Ranked>) -> Vec<Ranked> {
    let key = |r: &Ranked| {
        let f = r.summary.all.fraction;
        if f.is_finite() {
            f
        } else {
            -1.0
        }
    };
    // The lowest AUC of each attainment.
    let lowest = |f: f64| {
        v.iter()
            .filter(|r| key(r) == f)
            .map(|r| r.summary.auc_median)
            .filter(|a| a.is_finite() && *a > 0.0)
            .fold(f64::INFINITY, f64::min)
    };
    let class = |r: &Ranked| {
        let (a, lo) = (r.summary.auc_median, lowest(key(r)));
        if a.is_finite() && a > 0.0 && lo.is_finite() {
            ((a / lo).ln() / EXPOSURE_CLASS_FACTOR.ln() + 1e-12).floor()
        } else {
            f64::INFINITY
        }
    };
    let mut keyed: Vec<(f64, f64, Ranked)> =
        v.iter().map(|r| (key(r), class(r), r.clone())).collect();
    keyed.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.injections_per_week.total_cmp(&b.2.injections_per_week))
            .then(a.2.summary.auc_median.total_cmp(&b.2.summary.auc_median))
    });
    keyed.into_iter().map(|k| k.2).collect()
}

/// Injections per week of a regimen (SC injections and boluses scheduled, its own and those
/// given with it).
pub fn injections_per_week(r: &Regimen) -> f64 {
    let own = match r.repeat {
        Repeat::Single => 0.0,
        _ => 7.0 * HOURS_PER_DAY / r.interval_h,
    };
    own + r.with.iter().map(injections_per_week).sum::<f64>()
}

impl DoseFind {
    /// The candidates for this cohort.
    pub fn candidates(&self) -> Vec<Candidate> {
        candidates(&self.grid, self.cohort.max_crcl_ml_min())
    }

    /// Evaluate the file's regimens and every candidate, and rank them.
    pub fn run(
        &self,
        model: &Model,
        options: SolverOptions,
        progress: &(dyn Fn() + Sync),
    ) -> (Vec<Ranked>, Vec<SubjectResult>) {
        let cands = self.candidates();
        let mut items: Vec<(Option<Candidate>, Regimen)> =
            self.current.iter().map(|r| (None, r.clone())).collect();
        items.extend(cands.iter().map(|c| {
            (
                Some(*c),
                c.regimen(&self.drug, self.duration_h, self.grid.loading_factor),
            )
        }));
        let regimens: Vec<Regimen> = items.iter().map(|i| i.1.clone()).collect();
        let eval = Evaluation {
            model,
            cohort: &self.cohort,
            duration_h: self.duration_h,
            regimens: &regimens,
            targets: &self.targets,
            response: &self.response,
            placebo_amplitude: self.placebo_amplitude,
            options,
        };
        let results = eval.run(progress);
        let summaries = summarise(
            &regimens,
            self.targets.len(),
            self.cohort.is_population(),
            &results,
        );
        let ranked = items
            .into_iter()
            .zip(summaries)
            .map(|((candidate, regimen), summary)| Ranked {
                injections_per_week: candidate
                    .map(|c| c.schedule.injections_per_week())
                    .unwrap_or_else(|| injections_per_week(&regimen)),
                candidate,
                regimen,
                summary,
            })
            .collect();
        (rank(ranked), results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::evaluation::TargetSummary;

    #[test]
    fn grid_respects_the_8_mg_per_kg_cap_and_steps() {
        let g = LabelGrid::default();
        let c = candidates(&g, 100.0);
        assert!(c
            .iter()
            .all(|c| c.max_daily_mg_per_kg(g.loading_factor) <= 8.0 + 1e-12));
        let daily: Vec<f64> = c
            .iter()
            .filter(|c| c.schedule == Schedule::OnceDaily && !c.loading)
            .map(|c| c.mg_per_kg_per_day)
            .collect();
        assert_eq!(daily.first(), Some(&1.0));
        assert_eq!(daily.last(), Some(&8.0));
        assert_eq!(daily.len(), 15);
        // A loading dose of 2 × 8 mg/kg would exceed the cap on day 1: not offered.
        assert!(!c
            .iter()
            .any(|c| c.loading && c.mg_per_kg_per_day == 8.0 && c.schedule == Schedule::OnceDaily));
        // Asking for more than the label is capped at the label.
        let wide = LabelGrid {
            max_mg_per_kg_per_day: 12.0,
            ..g.clone()
        };
        assert!(candidates(&wide, 100.0)
            .iter()
            .all(|c| c.mg_per_kg_per_day <= 8.0));
    }

    #[test]
    fn every_other_day_only_below_30_ml_min() {
        let g = LabelGrid::default();
        let eod = |crcl: f64| {
            candidates(&g, crcl)
                .iter()
                .any(|c| c.schedule == Schedule::EveryOtherDay)
        };
        assert!(!eod(100.0));
        assert!(!eod(30.0));
        assert!(eod(29.9));
        assert!(eod(10.0));
        let r = Candidate {
            mg_per_kg_per_day: 2.0,
            schedule: Schedule::EveryOtherDay,
            loading: false,
        }
        .regimen("anakinra", 28.0 * 24.0, 2.0);
        assert_eq!(r.interval_h, 48.0);
        assert_eq!(r.dose.mg(10.0), 20.0);
    }

    fn ranked(name: &str, fraction: f64, auc: f64, inj: f64) -> Ranked {
        let s = TargetSummary {
            evaluated: 10,
            attained: fraction * 10.0,
            fraction,
            interval: None,
            percentiles: [f64::NAN; 5],
        };
        Ranked {
            candidate: None,
            regimen: Regimen::repeated(
                name,
                "anakinra",
                DoseAmount::Mg(1.0),
                Administration::Subcutaneous,
                24.0,
                1,
            ),
            summary: PointSummary {
                regimen: name.into(),
                evaluated: 10,
                failures: 0,
                first_failure: None,
                targets: vec![],
                all: s,
                auc_median: auc,
            },
            injections_per_week: inj,
        }
    }

    #[test]
    fn ranking_is_attainment_then_exposure_then_injections() {
        let v = rank(vec![
            ranked("low", 0.5, 10.0, 7.0),
            ranked("high, more exposure", 0.9, 200.0, 7.0),
            ranked("high, less exposure", 0.9, 100.0, 14.0),
            ranked("high, less exposure, fewer", 0.9, 100.0, 3.5),
            ranked("high, 1% more exposure, fewest", 0.9, 101.0, 1.0),
            ranked("failed", f64::NAN, f64::NAN, 7.0),
        ]);
        let names: Vec<&str> = v.iter().map(|r| r.regimen.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "high, 1% more exposure, fewest",
                "high, less exposure, fewer",
                "high, less exposure",
                "high, more exposure",
                "low",
                "failed"
            ]
        );
    }
}
