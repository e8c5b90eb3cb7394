//! The prior of one subject's parameters: the population's inter-individual variability,
//! parameter = typical × exp(η) with η ~ N(0, Ω) (the form `population::sampling` draws and
//! `Model::parameter_values_with_variability` applies). The optimiser works on whitened
//! coordinates z with η = L z (Ω = L Lᵀ), in which the prior is the unit sphere.

use crate::model::definition::ParamId;
use crate::population::definition::Variability;
use nalgebra::{DMatrix, DVector};

/// ln(2π).
const LN_2PI: f64 = 1.837_877_066_409_345_5;

#[derive(Debug, Clone)]
pub struct Prior {
    /// The parameters with variability (name, id), in the order of η.
    pub parameters: Vec<(String, ParamId)>,
    /// Ω (log-scale variances and covariances).
    pub omega: DMatrix<f64>,
    /// Lower Cholesky factor of Ω.
    pub chol: DMatrix<f64>,
    /// ln det Ω.
    pub log_det: f64,
}

impl Prior {
    /// From a checked population's `[population.variability]` (its Cholesky factor).
    pub fn from_variability(v: &Variability) -> Prior {
        Prior::from_cholesky(v.parameters.clone(), v.chol.clone())
    }

    /// From a lower Cholesky factor (positive diagonal), as the population layer checks it.
    pub fn from_cholesky(parameters: Vec<(String, ParamId)>, chol: DMatrix<f64>) -> Prior {
        let omega = &chol * chol.transpose();
        let log_det = 2.0 * chol.diagonal().iter().map(|d| d.ln()).sum::<f64>();
        Prior {
            parameters,
            omega,
            chol,
            log_det,
        }
    }

    /// From Ω itself; `None` when it is not positive definite.
    pub fn from_omega(parameters: Vec<(String, ParamId)>, omega: DMatrix<f64>) -> Option<Prior> {
        let chol = omega.clone().cholesky()?.l();
        Some(Prior::from_cholesky(parameters, chol))
    }

    pub fn len(&self) -> usize {
        self.parameters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty()
    }

    /// η of whitened coordinates z (η = L z).
    pub fn eta_of(&self, z: &[f64]) -> Vec<f64> {
        (&self.chol * DVector::from_column_slice(z))
            .iter()
            .copied()
            .collect()
    }

    /// z of η (L z = η).
    pub fn z_of(&self, eta: &[f64]) -> Vec<f64> {
        self.chol
            .solve_lower_triangular(&DVector::from_column_slice(eta))
            .expect("Cholesky factors have a positive diagonal")
            .iter()
            .copied()
            .collect()
    }

    /// −2 log prior density of η: ηᵀ Ω⁻¹ η + ln det Ω + n ln 2π.
    pub fn m2lp(&self, eta: &[f64]) -> f64 {
        let z = self.z_of(eta);
        z.iter().map(|v| v * v).sum::<f64>() + self.log_det + self.len() as f64 * LN_2PI
    }

    /// The multiplicative factors exp(η) on the parameters, as `Subject::with_variability`
    /// takes them.
    pub fn multipliers(&self, eta: &[f64]) -> Vec<(ParamId, f64)> {
        self.parameters
            .iter()
            .zip(eta)
            .map(|((_, id), e)| (*id, e.exp()))
            .collect()
    }

    /// Standard deviation of each η (√Ω_ii).
    pub fn sd(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.omega[(i, i)].sqrt()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitening_and_density() {
        let omega = DMatrix::from_row_slice(2, 2, &[0.09, 0.03, 0.03, 0.25]);
        let p = Prior::from_omega(vec![("a".into(), 0), ("b".into(), 1)], omega.clone()).unwrap();
        let eta = [0.2, -0.4];
        let z = p.z_of(&eta);
        let back = p.eta_of(&z);
        assert!((back[0] - eta[0]).abs() < 1e-14 && (back[1] - eta[1]).abs() < 1e-14);
        let e = DVector::from_column_slice(&eta);
        let quad = (e.transpose() * omega.clone().try_inverse().unwrap() * &e)[(0, 0)];
        let want = quad + omega.determinant().ln() + 2.0 * LN_2PI;
        assert!((p.m2lp(&eta) - want).abs() < 1e-12);
    }
}
