//! Local sensitivities: normalised coefficients d ln y / d ln p of every figure to every
//! parameter, by central differences in ln p, extrapolated (Richardson) from two steps whose
//! difference is reported as the coefficient's error estimate.

use super::problem::{FigureValues, SensitivityProblem};
use crate::error::SimError;
use crate::model::definition::ParamId;
use rayon::prelude::*;

/// Step in ln p: factors exp(±h) and exp(±2h). Central differences err by O(h²) ≈ 1e-6
/// relative, while the solver's noise (rtol 1e-10 for these runs, [`LOCAL_SOLVER_RTOL`])
/// divided by the step stays below 1e-7.
pub const LOCAL_LOG_STEP: f64 = 1e-3;

/// Relative tolerance of the integrations of a local analysis (the library's TIGHT settings),
/// so that differences of runs a step 1e-3 apart are not solver noise.
pub const LOCAL_SOLVER_RTOL: f64 = 1e-10;

/// One parameter's coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterSensitivity {
    pub parameter: ParamId,
    /// d ln y / d ln p for each figure (Richardson-extrapolated central difference); NaN
    /// where the figure is zero at the nominal point.
    pub coefficients: Vec<f64>,
    /// |S(h) − S(2h)|, the error estimate of each coefficient.
    pub step_difference: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LocalAnalysis {
    pub nominal: FigureValues,
    pub parameters: Vec<ParameterSensitivity>,
    pub log_step: f64,
}

impl LocalAnalysis {
    /// Parameters ranked by |coefficient| for figure `f`, largest first (NaN last), ties in
    /// model order.
    pub fn ranking(&self, f: usize) -> Vec<&ParameterSensitivity> {
        let mut v: Vec<&ParameterSensitivity> = self.parameters.iter().collect();
        let key = |p: &ParameterSensitivity| {
            let c = p.coefficients[f].abs();
            if c.is_nan() {
                -1.0
            } else {
                c
            }
        };
        v.sort_by(|a, b| key(b).total_cmp(&key(a)));
        v
    }
}

/// Local sensitivities of `problem`'s figures to `parameters` (each run on rayon's pool; the
/// result does not depend on its size).
pub fn local_sensitivities(
    problem: &SensitivityProblem,
    parameters: &[ParamId],
    progress: &(dyn Fn() + Sync),
) -> Result<LocalAnalysis, SimError> {
    let h = LOCAL_LOG_STEP;
    let nominal = problem.figures(&[])?;
    let rows: Vec<Result<ParameterSensitivity, SimError>> = parameters
        .par_iter()
        .map(|&id| {
            let at = |s: f64| -> Result<Vec<f64>, SimError> {
                let f = problem.figures(&[(id, s.exp())])?;
                if f.names != nominal.names {
                    // A site signal appearing or vanishing with a factor would misalign rows.
                    return Err(crate::error::ModelError::invalid(
                        format!("parameter {}", problem.model.parameters[id].name),
                        "the set of figures changed with the parameter".to_string(),
                    )
                    .into());
                }
                Ok(f.values)
            };
            let (p1, m1, p2, m2) = (at(h)?, at(-h)?, at(2.0 * h)?, at(-2.0 * h)?);
            let mut coefficients = Vec::with_capacity(p1.len());
            let mut step_difference = Vec::with_capacity(p1.len());
            for k in 0..p1.len() {
                let y0 = nominal.values[k];
                let s1 = (p1[k] - m1[k]) / (2.0 * h * y0);
                let s2 = (p2[k] - m2[k]) / (4.0 * h * y0);
                if y0 == 0.0 || !y0.is_finite() {
                    coefficients.push(f64::NAN);
                    step_difference.push(f64::NAN);
                } else {
                    coefficients.push((4.0 * s1 - s2) / 3.0);
                    step_difference.push((s1 - s2).abs());
                }
            }
            progress();
            Ok(ParameterSensitivity {
                parameter: id,
                coefficients,
                step_difference,
            })
        })
        .collect();
    Ok(LocalAnalysis {
        nominal,
        parameters: rows.into_iter().collect::<Result<_, _>>()?,
        log_step: h,
    })
}
