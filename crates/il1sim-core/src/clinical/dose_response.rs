//! Dose-response over a virtual population (or one patient): each regimen template given at
//! every dose of a grid, evaluated against the targets by [`super::evaluation`].

use super::evaluation::{summarise, Cohort, Evaluation, PointSummary, SubjectResult};
use super::targets::Target;
use crate::dosing::regimen::{DoseAmount, Regimen};
use crate::model::definition::Model;
use crate::response::acr::ResponseModel;
use crate::solve::options::SolverOptions;

/// The unit of the doses of a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoseUnit {
    Mg,
    MgPerKg,
}

impl DoseUnit {
    pub fn parse(text: &str) -> Option<DoseUnit> {
        match text {
            "mg" => Some(DoseUnit::Mg),
            "mg/kg" => Some(DoseUnit::MgPerKg),
            _ => None,
        }
    }
    pub fn label(&self) -> &'static str {
        match self {
            DoseUnit::Mg => "mg",
            DoseUnit::MgPerKg => "mg/kg",
        }
    }
}

/// A checked dose-response study.
#[derive(Debug, Clone)]
pub struct DoseResponse {
    pub name: String,
    pub description: String,
    pub cohort: Cohort,
    pub duration_h: f64,
    /// Regimen templates: each is given at every dose (its dose replaced).
    pub templates: Vec<Regimen>,
    /// Ascending, distinct, > 0.
    pub doses: Vec<f64>,
    pub unit: DoseUnit,
    pub targets: Vec<Target>,
    pub response: ResponseModel,
    pub placebo_amplitude: f64,
}

/// One template at one dose.
#[derive(Debug, Clone, PartialEq)]
pub struct DosePoint {
    pub template: usize,
    pub dose: f64,
    pub regimen: Regimen,
}

/// Template `t` at `dose` (a weight-based template keeps its cap in mg; a loading dose is
/// scaled with the dose).
pub fn at_dose(template: &Regimen, dose: f64, unit: DoseUnit) -> Regimen {
    let mut r = template.clone();
    let cap = match template.dose {
        DoseAmount::MgPerKg { max_mg, .. } => max_mg,
        DoseAmount::Mg(_) => None,
    };
    let old = template.dose.mg(1.0);
    r.dose = match unit {
        DoseUnit::Mg => DoseAmount::Mg(dose),
        DoseUnit::MgPerKg => DoseAmount::MgPerKg {
            mg_per_kg: dose,
            max_mg: cap,
        },
    };
    if let Some(l) = template.loading_dose {
        let ratio = l.mg(1.0) / old;
        r.loading_dose = Some(match unit {
            DoseUnit::Mg => DoseAmount::Mg(dose * ratio),
            DoseUnit::MgPerKg => DoseAmount::MgPerKg {
                mg_per_kg: dose * ratio,
                max_mg: cap,
            },
        });
    }
    r.name = format!("{}: {} {}", template.name, dose, unit.label());
    r
}

impl DoseResponse {
    /// Every template at every dose, template by template.
    pub fn points(&self) -> Vec<DosePoint> {
        let mut v = Vec::new();
        for (t, template) in self.templates.iter().enumerate() {
            for &d in &self.doses {
                v.push(DosePoint {
                    template: t,
                    dose: d,
                    regimen: at_dose(template, d, self.unit),
                });
            }
        }
        v
    }

    /// Evaluate every point over the cohort; `progress` is called once per subject.
    pub fn run(
        &self,
        model: &Model,
        options: SolverOptions,
        progress: &(dyn Fn() + Sync),
    ) -> (Vec<DosePoint>, Vec<PointSummary>, Vec<SubjectResult>) {
        let points = self.points();
        let regimens: Vec<Regimen> = points.iter().map(|p| p.regimen.clone()).collect();
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
        (points, summaries, results)
    }
}
