//! The output table of a population fit (NONMEM's $TABLE): per observation PRED (η = 0),
//! IPRED (η̂), RES, IRES, IWRES, WRES and CWRES, with the subject's η̂.
//!
//! * WRES (first-order, as NONMEM's): the residuals at η = 0 decorrelated by the Cholesky factor
//!   of their first-order covariance G₀ Ω G₀ᵀ + V(PRED).
//! * CWRES (Hooker AC, Staatz CE, Karlsson MO 2007 Pharm Res 24:2187): the FOCE linearisation
//!   around η̂, expectation f(η̂) − G η̂ and covariance G Ω Gᵀ + V(IPRED) (interaction: the
//!   residual variance at η̂), decorrelated by its Cholesky factor.
//!
//! Censored (BLQ) and prediction-only rows get PRED and IPRED but no residuals, and are left
//! out of the decorrelation.

use super::foce::{has_value, PopulationFit, PopulationProblem, JACOBIAN_STEP};
use super::objective::{IndividualProblem, ESTIMATION_SOLVER};
use super::residual::ResidualModel;
use crate::exchange::dataset::subjects::TableRow;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

/// Residuals y − E decorrelated by the Cholesky factor of `cov` (L⁻¹ (y − E)); None when the
/// covariance is not positive definite.
fn decorrelated(residual: &DVector<f64>, cov: DMatrix<f64>) -> Option<DVector<f64>> {
    let c = cov.cholesky()?;
    c.l().solve_lower_triangular(residual)
}

/// The table rows of every subject, in subject then observation order.
pub fn table_rows(
    problem: &PopulationProblem,
    fit: &PopulationFit,
) -> Result<Vec<TableRow>, String> {
    let p = &fit.parameters;
    let typical = problem.typical(p);
    let prior = problem.prior(p);
    let residual = ResidualModel {
        errors: p.residual.clone(),
    };
    let per_subject: Vec<Result<Vec<TableRow>, String>> = problem
        .dataset
        .subjects
        .par_iter()
        .zip(fit.modes.par_iter())
        .map(|(s, mode)| {
            let ip = IndividualProblem::new(
                problem.model,
                s,
                typical.clone(),
                &prior,
                &residual,
                ESTIMATION_SOLVER,
            )
            .map_err(|e| e.to_string())?;
            let n = prior.len();
            let zero = vec![0.0; n];
            let pred = ip.predict(&zero).map_err(|e| e.to_string())?;
            let m = pred.len();
            let mut g0 = DMatrix::zeros(m, n);
            let mut e = zero.clone();
            for k in 0..n {
                e[k] = JACOBIAN_STEP;
                let up = ip.predict(&e).map_err(|e| e.to_string())?;
                e[k] = 0.0;
                for j in 0..m {
                    g0[(j, k)] = (up[j] - pred[j]) / JACOBIAN_STEP;
                }
            }
            let errors = ip.errors();
            let valued: Vec<usize> = (0..m).filter(|&j| has_value(&s.observations[j])).collect();
            let y = DVector::from_iterator(
                valued.len(),
                valued
                    .iter()
                    .map(|&j| s.observations[j].value.expect("valued")),
            );
            let omega = &prior.omega;
            // WRES: first order at η = 0.
            let g0v = DMatrix::from_fn(valued.len(), n, |r, c| g0[(valued[r], c)]);
            let mut cov0 = &g0v * omega * g0v.transpose();
            for (r, &j) in valued.iter().enumerate() {
                cov0[(r, r)] += errors[j].variance(pred[j]);
            }
            let e0 = DVector::from_iterator(valued.len(), valued.iter().map(|&j| pred[j]));
            let wres = decorrelated(&(&y - e0), cov0);
            // CWRES: linearised at η̂.
            let gv = DMatrix::from_fn(valued.len(), n, |r, c| mode.jacobian[(valued[r], c)]);
            let eta = DVector::from_column_slice(&mode.eta);
            let ghat = &gv * &eta;
            let mut cov = &gv * omega * gv.transpose();
            for (r, &j) in valued.iter().enumerate() {
                cov[(r, r)] += errors[j].variance(mode.ipred[j]);
            }
            let e1 = DVector::from_iterator(
                valued.len(),
                valued
                    .iter()
                    .enumerate()
                    .map(|(r, &j)| mode.ipred[j] - ghat[r]),
            );
            let cwres = decorrelated(&(&y - e1), cov);
            Ok((0..m)
                .map(|j| {
                    let o = &s.observations[j];
                    let r = valued.iter().position(|&v| v == j);
                    let dv = if has_value(o) { o.value } else { None };
                    TableRow {
                        id: s.id.clone(),
                        time_h: o.time_h,
                        observable: problem.model.observables[o.observable].name.clone(),
                        dv,
                        mdv: dv.is_none(),
                        pred: pred[j],
                        ipred: mode.ipred[j],
                        res: dv.map(|y| y - pred[j]),
                        ires: dv.map(|y| y - mode.ipred[j]),
                        wres: r.and_then(|r| wres.as_ref().map(|w| w[r])),
                        cwres: r.and_then(|r| cwres.as_ref().map(|w| w[r])),
                        iwres: dv.map(|y| (y - mode.ipred[j]) / errors[j].sd(mode.ipred[j])),
                        etas: mode.eta.clone(),
                    }
                })
                .collect())
        })
        .collect();
    let mut rows = Vec::new();
    for r in per_subject {
        rows.extend(r?);
    }
    Ok(rows)
}
