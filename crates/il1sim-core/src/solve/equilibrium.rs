//! The untreated equilibrium by Newton's method: f(y) = 0 with the exact Jacobian of the
//! compiled system (no inputs). Needs only the system, so the subject's baseline uses it.

use crate::model::system::OdeSystem;
use nalgebra::{DMatrix, DVector};

/// Newton tolerance on the scaled residual max_i |r_i| / scale_i.
pub const NEWTON_TOL: f64 = 1e-8;
pub const NEWTON_MAX_ITER: usize = 50;

/// Solve f(y) = 0 for the species part of the system (no inputs), starting at `y0`.
/// Frozen (clamped) states keep their values.
pub fn equilibrium(sys: &OdeSystem, y0: &[f64], scale: &[f64]) -> Result<Vec<f64>, String> {
    let n = y0.len();
    // States that cannot become non-zero from `y0` (a drug not given, a site the disease
    // does not have) are held at zero: with no input and no production their rows can be
    // singular.
    let mut start = y0.to_vec();
    start.resize(sys.n, 0.0);
    let reached = sys.reachable(&start, &[]);
    let free: Vec<usize> = (0..n)
        .filter(|&i| !sys.frozen.contains(&i) && reached[i])
        .collect();
    let m = free.len();
    // Round-off negatives from the integrator are zero concentrations.
    let mut y: Vec<f64> = y0.iter().map(|v| v.max(0.0)).collect();
    let mut full = vec![0.0; sys.n];
    let zero = vec![0.0; sys.n];
    let mut f = vec![0.0; sys.n];
    for iter in 0..NEWTON_MAX_ITER {
        full[..n].copy_from_slice(&y);
        sys.rhs(&full, &zero, &mut f);
        let res = free
            .iter()
            .map(|&i| f[i].abs() / scale[i].max(y[i].abs()))
            .fold(0.0, f64::max);
        if res < NEWTON_TOL * 1e-2 {
            return Ok(y);
        }
        let jfull = sys.jacobian(&full);
        let j = DMatrix::from_fn(m, m, |r, c| jfull[(free[r], free[c])]);
        let rhs = DVector::from_iterator(m, free.iter().map(|&i| -f[i]));
        let dx = j
            .lu()
            .solve(&rhs)
            .ok_or_else(|| format!("singular Jacobian at Newton iteration {iter}"))?;
        // Damping keeps concentrations non-negative.
        let mut lambda: f64 = 1.0;
        for (k, &i) in free.iter().enumerate() {
            if y[i] > 0.0 && y[i] + lambda * dx[k] < 0.0 {
                lambda = lambda.min(0.5 * y[i] / -dx[k]);
            }
        }
        for (k, &i) in free.iter().enumerate() {
            y[i] = (y[i] + lambda * dx[k]).max(0.0);
        }
    }
    Err(format!(
        "steady state: Newton did not converge in {NEWTON_MAX_ITER} iterations"
    ))
}
