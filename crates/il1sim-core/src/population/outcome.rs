//! One subject of a population: its draws, its simulation (exact or fast) of every regimen,
//! its per-subject figures, band values and measured troughs.

use super::definition::*;
use super::sampling::{draw_subject_screen, SubjectDraw};
use crate::dosing::regimen::Regimen;
use crate::error::SimError;
use crate::metrics::{summarise_batched, summarise_fast, summarise_with_days, RegimenSummary};
use crate::model::definition::Model;
use crate::solve::batch::DEFAULT_LANES;
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;
use crate::solve::trajectory::Trajectory;

// ------------------------------------------------------------------ one subject

/// What one subject contributes for one regimen.
#[derive(Debug, Clone, PartialEq)]
pub struct RegimenOutcome {
    /// Values of [`PopulationScenario::figure_names`].
    pub figures: Vec<f64>,
    /// Simulated measured trough per residual spec on a drug's plasma concentration
    /// (`ResidualSpec::on_trough`), in file order (observable unit).
    pub observed_trough: Vec<f64>,
    /// band observable × band time.
    pub bands: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubjectOutcome {
    pub id: u64,
    /// The subject's covariates and random effects; None when covariate sampling failed
    /// (the reason is in `regimens`), so that no placeholder covariates reach the outputs.
    pub draw: Option<SubjectDraw>,
    /// One per regimen: the outcome or why the subject failed (sampling or solve).
    pub regimens: Vec<Result<RegimenOutcome, String>>,
}

impl SubjectOutcome {
    /// Whether the subject's covariates could not be drawn (as opposed to a failed solve).
    pub fn sampling_failed(&self) -> bool {
        self.draw.is_none()
    }
}

pub fn simulate_subject(
    model: &Model,
    pop: &PopulationScenario,
    id: u64,
    options: SolverOptions,
) -> SubjectOutcome {
    if pop.method == SimulationMethod::Batched {
        return simulate_subjects(model, pop, &[id], options, 1).remove(0);
    }
    let (draw, subject) = match screened_subject(model, pop, id, options) {
        Ok(ds) => ds,
        Err(e) => {
            let (draw, m) = *e;
            return SubjectOutcome {
                id,
                draw,
                regimens: vec![Err(format!("subject {id}: {m}")); pop.regimens.len()],
            };
        }
    };
    let regimens = pop
        .regimens
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            regimen_outcome(&subject, pop, r, ri, &draw)
                .map_err(|e| format!("subject {id}, regimen '{}': {e}", r.name))
        })
        .collect();
    SubjectOutcome {
        id,
        draw: Some(draw),
        regimens,
    }
}

/// Subjects `ids` in one go: with the batched method, `lanes` subjects per batch (each
/// subject's outcome is the same whatever the other ids, their order or `lanes`); with the
/// other methods, one after the other.
pub fn simulate_subjects(
    model: &Model,
    pop: &PopulationScenario,
    ids: &[u64],
    options: SolverOptions,
    lanes: usize,
) -> Vec<SubjectOutcome> {
    if pop.method != SimulationMethod::Batched {
        return ids
            .iter()
            .map(|&id| simulate_subject(model, pop, id, options))
            .collect();
    }
    let mut outcomes: Vec<SubjectOutcome> = Vec::with_capacity(ids.len());
    let mut ready: Vec<(usize, SubjectDraw, Subject)> = Vec::new();
    for &id in ids {
        match screened_subject(model, pop, id, options) {
            Ok((draw, subject)) => {
                ready.push((outcomes.len(), draw, subject));
                outcomes.push(SubjectOutcome {
                    id,
                    draw: None,
                    regimens: Vec::with_capacity(pop.regimens.len()),
                });
            }
            Err(e) => {
                let (draw, m) = *e;
                outcomes.push(SubjectOutcome {
                    id,
                    draw,
                    regimens: vec![Err(format!("subject {id}: {m}")); pop.regimens.len()],
                });
            }
        }
    }
    let subjects: Vec<&Subject> = ready.iter().map(|(_, _, s)| s).collect();
    for (ri, r) in pop.regimens.iter().enumerate() {
        let runs = summarise_batched(
            &subjects,
            r,
            pop.duration_h,
            &pop.band_times_h,
            &pop.crp_days,
            lanes,
        );
        for ((slot, draw, subject), run) in ready.iter().zip(runs) {
            let id = outcomes[*slot].id;
            let outcome = run
                .and_then(|(traj, summary)| outcome_from(subject, pop, ri, draw, &traj, &summary))
                .map_err(|e| format!("subject {id}, regimen '{}': {e}", r.name));
            outcomes[*slot].regimens.push(outcome);
        }
    }
    for (slot, draw, _) in ready {
        outcomes[slot].draw = Some(draw);
    }
    outcomes
}

/// Lanes per batch of the batched method when the caller does not choose.
pub const LANES: usize = DEFAULT_LANES;

/// A subject's draw and its untreated state, redrawn while it fails the population's
/// inclusion criterion: the one implementation of inclusion, used by population runs and the
/// clinical tools alike. Err carries the last draw (if any) and the reason.
#[allow(clippy::type_complexity)]
pub fn screened_subject<'m>(
    model: &'m Model,
    pop: &PopulationScenario,
    id: u64,
    options: SolverOptions,
) -> Result<(SubjectDraw, Subject<'m>), Box<(Option<SubjectDraw>, String)>> {
    let screens = if pop.inclusion.is_some() {
        MAX_SCREENS
    } else {
        1
    };
    for screen in 0..screens {
        let draw = draw_subject_screen(pop, id, screen).map_err(|m| Box::new((None, m)))?;
        let subject = match Subject::with_variability(
            model,
            &draw.patient,
            &[],
            &draw.multipliers,
            options,
        ) {
            Ok(s) => s,
            Err(e) => return Err(Box::new((Some(draw), e.to_string()))),
        };
        match pop.inclusion {
            Some(inc)
                if subject.observe(&subject.baseline)[inc.crp_observable]
                    < inc.crp_untreated_at_least_mg_l => {}
            _ => return Ok((draw, subject)),
        }
    }
    let limit = pop.inclusion.map_or(0.0, |i| i.crp_untreated_at_least_mg_l);
    Err(Box::new((
        None,
        format!(
            "no draw met the inclusion criterion (untreated CRP >= {limit} mg/L) in {MAX_SCREENS} screens"
        ),
    )))
}

fn regimen_outcome(
    subject: &Subject,
    pop: &PopulationScenario,
    r: &Regimen,
    ri: usize,
    draw: &SubjectDraw,
) -> Result<RegimenOutcome, SimError> {
    let (traj, summary) = match pop.method {
        SimulationMethod::Exact => {
            summarise_with_days(subject, r, pop.duration_h, &pop.band_times_h, &pop.crp_days)?
        }
        SimulationMethod::Fast => {
            summarise_fast(subject, r, pop.duration_h, &pop.band_times_h, &pop.crp_days)?
        }
        SimulationMethod::Batched => {
            let runs = summarise_batched(
                &[subject],
                r,
                pop.duration_h,
                &pop.band_times_h,
                &pop.crp_days,
                1,
            );
            runs.into_iter().next().ok_or_else(|| {
                crate::error::InputError::new("subjects", 1, "internal error: no run")
            })??
        }
    };
    outcome_from(subject, pop, ri, draw, &traj, &summary)
}

/// A regimen's outcome from its trajectory and summary, whichever method computed them.
fn outcome_from(
    subject: &Subject,
    pop: &PopulationScenario,
    ri: usize,
    draw: &SubjectDraw,
    traj: &Trajectory,
    summary: &RegimenSummary,
) -> Result<RegimenOutcome, SimError> {
    let figures: Vec<f64> = pop
        .figure_names()
        .iter()
        .map(|n| summary.get(n).unwrap_or(f64::NAN))
        .collect();
    let mut bands = vec![Vec::with_capacity(traj.states.len()); pop.band_observables.len()];
    for y in &traj.states {
        let obs = subject.observe(y);
        for (k, &o) in pop.band_observables.iter().enumerate() {
            bands[k].push(obs[o]);
        }
    }
    // Residual error on the simulated trough (drug plasma concentration): y(1 + b ε1) + a ε2.
    let observed_trough = pop
        .residual
        .iter()
        .enumerate()
        .filter(|(_, (_, spec))| spec.on_trough)
        .map(|(k, (_, spec))| {
            let y = summary.get("trough").unwrap_or(f64::NAN);
            let base = 2 * (ri * pop.residual.len() + k);
            y * (1.0 + spec.proportional * draw.epsilon[base])
                + spec.additive * draw.epsilon[base + 1]
        })
        .collect();
    Ok(RegimenOutcome {
        figures,
        observed_trough,
        bands,
    })
}
