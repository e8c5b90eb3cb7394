//! The Laplace approximation of one subject's posterior: a normal distribution at the
//! conditional mode with covariance 2 H⁻¹, H the Hessian of the objective (−2 log posterior)
//! there. The Hessian is taken by central finite differences in whitened coordinates (the
//! prior's own curvature there is 2 I, so one step suits every direction): 2n² + 1
//! simulations (19 for three η). Written by hand, as the gradient in `map.rs`: the
//! finite-difference Hessian of a black-box objective is a few lines, and nalgebra's Cholesky
//! both checks that H is positive definite and inverts it.

use super::error::EstimationError;
use super::objective::IndividualProblem;
use nalgebra::DMatrix;

/// Standard normal 95th percentile: a central 90% interval is mean ± 1.6449 SD.
pub const Z_90: f64 = 1.644_853_626_951_472_2;

/// Step of the Hessian's differences in z (prior SDs): 10 times the gradient's, because the
/// second difference divides the objective's integration noise by h² (1e-6 / 1e-4 = 1e-2
/// against curvatures of at least 2).
pub const HESSIAN_STEP: f64 = 1e-2;

#[derive(Debug, Clone, PartialEq)]
pub struct Laplace {
    /// The mode (η).
    pub eta: Vec<f64>,
    /// Posterior covariance of η.
    pub covariance: DMatrix<f64>,
    /// Hessian of the objective in η at the mode.
    pub hessian: DMatrix<f64>,
}

impl Laplace {
    /// Posterior SD of each η.
    pub fn sd(&self) -> Vec<f64> {
        (0..self.eta.len())
            .map(|i| self.covariance[(i, i)].sqrt())
            .collect()
    }

    /// Central 90% interval of each η.
    pub fn interval_90(&self) -> Vec<(f64, f64)> {
        self.eta
            .iter()
            .zip(self.sd())
            .map(|(e, s)| (e - Z_90 * s, e + Z_90 * s))
            .collect()
    }

    /// `n` draws of η from the approximate posterior N(mode, covariance), from a ChaCha8
    /// stream seeded with `seed` (the same draws whatever the thread count): for individual
    /// predictions with intervals.
    pub fn draws(&self, n: usize, seed: u64) -> Vec<Vec<f64>> {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let l = self
            .covariance
            .clone()
            .cholesky()
            .map(|c| c.l())
            .unwrap_or_else(|| DMatrix::zeros(self.eta.len(), self.eta.len()));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let z: Vec<f64> = (0..self.eta.len())
                    .map(|_| StandardNormal.sample(&mut rng))
                    .collect();
                (0..self.eta.len())
                    .map(|i| self.eta[i] + (0..=i).map(|j| l[(i, j)] * z[j]).sum::<f64>())
                    .collect()
            })
            .collect()
    }

    /// Shrinkage of each η's posterior relative to its prior: 1 − SD_post / SD_prior (0 when
    /// the data fix the parameter, 1 when they say nothing about it).
    pub fn shrinkage(&self, prior_sd: &[f64]) -> Vec<f64> {
        self.sd()
            .iter()
            .zip(prior_sd)
            .map(|(s, p)| 1.0 - s / p)
            .collect()
    }
}

/// Hessian of `f` at `x` by central differences with step `h`: diagonal from
/// (f(x+h) − 2f(x) + f(x−h)) / h², off-diagonal from the four corners.
pub fn central_hessian<E>(
    f: &dyn Fn(&[f64]) -> Result<f64, E>,
    x: &[f64],
    f0: f64,
    h: f64,
) -> Result<DMatrix<f64>, E> {
    let n = x.len();
    let mut hm = DMatrix::zeros(n, n);
    let mut p = x.to_vec();
    for i in 0..n {
        p[i] = x[i] + h;
        let up = f(&p)?;
        p[i] = x[i] - h;
        let down = f(&p)?;
        p[i] = x[i];
        hm[(i, i)] = (up - 2.0 * f0 + down) / (h * h);
        for j in 0..i {
            let mut corner = |si: f64, sj: f64| {
                p[i] = x[i] + si * h;
                p[j] = x[j] + sj * h;
                let v = f(&p);
                p[i] = x[i];
                p[j] = x[j];
                v
            };
            let pp = corner(1.0, 1.0)?;
            let pm = corner(1.0, -1.0)?;
            let mp = corner(-1.0, 1.0)?;
            let mm = corner(-1.0, -1.0)?;
            let v = (pp - pm - mp + mm) / (4.0 * h * h);
            hm[(i, j)] = v;
            hm[(j, i)] = v;
        }
    }
    Ok(hm)
}

/// The Laplace approximation at the mode `eta` (objective value `objective` there).
pub fn laplace(
    problem: &IndividualProblem,
    eta: &[f64],
    objective: f64,
) -> Result<Laplace, EstimationError> {
    let prior = problem.prior;
    let z = prior.z_of(eta);
    let f = |p: &[f64]| problem.objective(&prior.eta_of(p));
    let hz = central_hessian(&f, &z, objective, HESSIAN_STEP)?;
    let chol = hz.clone().cholesky().ok_or_else(|| {
        EstimationError::new(
            &problem.subject.id,
            format!(
                "the objective's Hessian at the mode η = {eta:?} is not positive definite \
                 (whitened: {hz}); the mode is a saddle or the search stopped short of it"
            ),
        )
    })?;
    // Posterior covariance in z is 2 Hz⁻¹; η = L z.
    let cov_z = chol.inverse() * 2.0;
    let l = &prior.chol;
    let covariance = l * cov_z * l.transpose();
    let linv = l
        .clone()
        .try_inverse()
        .expect("Cholesky factors have a positive diagonal");
    let hessian = linv.transpose() * hz * linv;
    Ok(Laplace {
        eta: eta.to_vec(),
        covariance,
        hessian,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hessian_of_a_quadratic() {
        // f = x'Ax with A = [[2, 0.5], [0.5, 1]]: H = 2A.
        let f =
            |p: &[f64]| -> Result<f64, ()> { Ok(2.0 * p[0] * p[0] + p[0] * p[1] + p[1] * p[1]) };
        let x = [0.3, -0.2];
        let h = central_hessian(&f, &x, f(&x).unwrap(), 1e-3).unwrap();
        for (got, want) in h.iter().zip([4.0, 1.0, 1.0, 2.0]) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }
}
