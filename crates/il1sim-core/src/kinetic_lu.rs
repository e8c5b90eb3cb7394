//! The linear solver diffsol's BDF uses for il1sim's iteration matrices I − hγJ: dense LU
//! with partial pivoting, row-major, whose triangular solves skip the zeros of L and U.
//!
//! Why by hand: the solves that BDF's Newton iterations repeat were the largest single cost
//! of a simulation (22% of the time with diffsol's nalgebra LU, perf, docs/solver.md). A
//! kinetic Jacobian is sparse — each state couples to a few others — and so are its LU
//! factors (20 reachable states for anakinra: 103 of 400 entries non-zero in L and U), so
//! listing the non-zeros once per factorisation makes every solve touch a quarter of the
//! entries. The elimination itself also skips zero multipliers and zero pivot-row entries.

use diffsol_la::matrix::{Matrix, MatrixCommon};
use diffsol_la::vector::{Vector, VectorCommon};
use diffsol_la::{
    LaError, LinearOp as LaLinearOp, LinearSolver, NalgebraContext, NalgebraMat, NalgebraVec,
};

/// Systems up to this size solve with stack scratch space (larger ones allocate).
const STACK_STATES: usize = 64;

#[derive(Default)]
pub struct KineticLu {
    /// Where diffsol writes the iteration matrix (column-major).
    matrix: Option<NalgebraMat<f64>>,
    n: usize,
    /// Row-major working copy, factorised in place.
    lu: Vec<f64>,
    /// Row i of the factorised matrix is row `perm[i]` of the original.
    perm: Vec<usize>,
    /// Non-zeros of L below the diagonal, row by row: `l_start[r]..l_start[r + 1]`.
    l_start: Vec<usize>,
    l_entries: Vec<(usize, f64)>,
    /// Non-zeros of U above the diagonal, row by row, and the inverted diagonal.
    u_start: Vec<usize>,
    u_entries: Vec<(usize, f64)>,
    inv_diag: Vec<f64>,
    /// Column indices of the pivot row's non-zeros right of the diagonal (scratch).
    pivot_cols: Vec<usize>,
    singular: bool,
}

impl KineticLu {
    fn factorise(&mut self) {
        let n = self.n;
        let a = &mut self.lu;
        for (i, p) in self.perm.iter_mut().enumerate() {
            *p = i;
        }
        self.singular = false;
        for k in 0..n {
            let (mut p, mut best) = (k, a[k * n + k].abs());
            for r in k + 1..n {
                let v = a[r * n + k].abs();
                if v > best {
                    (p, best) = (r, v);
                }
            }
            if best == 0.0 || !best.is_finite() {
                self.singular = true;
                return;
            }
            if p != k {
                for c in 0..n {
                    a.swap(k * n + c, p * n + c);
                }
                self.perm.swap(k, p);
            }
            self.pivot_cols.clear();
            self.pivot_cols
                .extend((k + 1..n).filter(|&c| a[k * n + c] != 0.0));
            let inv = 1.0 / a[k * n + k];
            for r in k + 1..n {
                let m = a[r * n + k];
                if m == 0.0 {
                    continue;
                }
                let m = m * inv;
                a[r * n + k] = m;
                for &c in &self.pivot_cols {
                    a[r * n + c] -= m * a[k * n + c];
                }
            }
        }
        self.l_entries.clear();
        self.u_entries.clear();
        for r in 0..n {
            self.l_start[r] = self.l_entries.len();
            self.l_entries.extend(
                (0..r)
                    .filter(|&c| a[r * n + c] != 0.0)
                    .map(|c| (c, a[r * n + c])),
            );
            self.u_start[r] = self.u_entries.len();
            self.u_entries.extend(
                (r + 1..n)
                    .filter(|&c| a[r * n + c] != 0.0)
                    .map(|c| (c, a[r * n + c])),
            );
            self.inv_diag[r] = 1.0 / a[r * n + r];
        }
        self.l_start[n] = self.l_entries.len();
        self.u_start[n] = self.u_entries.len();
    }

    /// Solve in place on a slice of length n, with `x` as scratch of the same length.
    fn solve_slice(&self, b: &mut [f64], x: &mut [f64]) {
        let n = self.n;
        for i in 0..n {
            x[i] = b[self.perm[i]];
        }
        for r in 0..n {
            let mut s = x[r];
            for &(c, l) in &self.l_entries[self.l_start[r]..self.l_start[r + 1]] {
                s -= l * x[c];
            }
            x[r] = s;
        }
        for r in (0..n).rev() {
            let mut s = x[r];
            for &(c, u) in &self.u_entries[self.u_start[r]..self.u_start[r + 1]] {
                s -= u * x[c];
            }
            x[r] = s * self.inv_diag[r];
        }
        b.copy_from_slice(&x[..n]);
    }

    /// Aᵀx = b through the full factors (rarely used: adjoint problems).
    fn solve_transpose_slice(&self, b: &mut [f64]) {
        let n = self.n;
        let a = &self.lu;
        // (PA)ᵀ = Uᵀ Lᵀ and Aᵀ = Uᵀ Lᵀ P: solve Uᵀ z = b, Lᵀ w = z, x = Pᵀ w.
        let mut z = b.to_vec();
        for r in 0..n {
            let mut s = z[r];
            for c in 0..r {
                s -= a[c * n + r] * z[c];
            }
            z[r] = s / a[r * n + r];
        }
        for r in (0..n).rev() {
            let mut s = z[r];
            for c in r + 1..n {
                s -= a[c * n + r] * z[c];
            }
            z[r] = s;
        }
        for i in 0..n {
            b[self.perm[i]] = z[i];
        }
    }

    fn check(&self, b: &NalgebraVec<f64>) -> Result<(), LaError> {
        if self.matrix.is_none() {
            return Err(LaError::Other("LU not initialised".into()));
        }
        if self.singular {
            return Err(LaError::Other("singular iteration matrix".into()));
        }
        if b.inner().len() != self.n {
            return Err(LaError::Other(format!(
                "vector of {} entries for a {} x {} matrix (batches are not supported)",
                b.inner().len(),
                self.n,
                self.n
            )));
        }
        Ok(())
    }
}

impl LinearSolver<NalgebraMat<f64>> for KineticLu {
    fn set_linearisation<
        C: LaLinearOp<T = f64, V = NalgebraVec<f64>, M = NalgebraMat<f64>, C = NalgebraContext>,
    >(
        &mut self,
        op: &C,
    ) {
        let m = self.matrix.as_mut().expect("set_sparsity comes first");
        op.matrix_inplace(m);
        let n = self.n;
        let dense = m.inner();
        for r in 0..n {
            for c in 0..n {
                self.lu[r * n + c] = dense[(r, c)];
            }
        }
        self.factorise();
    }

    fn set_sparsity<
        C: LaLinearOp<T = f64, V = NalgebraVec<f64>, M = NalgebraMat<f64>, C = NalgebraContext>,
    >(
        &mut self,
        op: &C,
    ) {
        let n = op.nrows();
        self.matrix = Some(NalgebraMat::new_from_sparsity(
            n,
            op.ncols(),
            op.sparsity(),
            *op.context(),
        ));
        self.n = n;
        self.lu = vec![0.0; n * n];
        self.perm = (0..n).collect();
        self.l_start = vec![0; n + 1];
        self.u_start = vec![0; n + 1];
        self.inv_diag = vec![0.0; n];
        self.singular = true;
    }

    fn solve_in_place(&self, b: &mut NalgebraVec<f64>) -> Result<(), LaError> {
        self.check(b)?;
        let slice = b.inner_mut().as_mut_slice();
        if self.n <= STACK_STATES {
            let mut x = [0.0; STACK_STATES];
            self.solve_slice(slice, &mut x);
        } else {
            let mut x = vec![0.0; self.n];
            self.solve_slice(slice, &mut x);
        }
        Ok(())
    }

    fn solve_transpose_in_place(&self, b: &mut NalgebraVec<f64>) -> Result<(), LaError> {
        self.check(b)?;
        self.solve_transpose_slice(b.inner_mut().as_mut_slice());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factorised(rows: &[&[f64]]) -> KineticLu {
        let n = rows.len();
        let mut lu = KineticLu {
            n,
            lu: rows.iter().flat_map(|r| r.iter().copied()).collect(),
            perm: (0..n).collect(),
            l_start: vec![0; n + 1],
            u_start: vec![0; n + 1],
            inv_diag: vec![0.0; n],
            ..KineticLu::default()
        };
        lu.factorise();
        lu
    }

    #[test]
    fn solves_a_sparse_system_that_needs_pivoting() {
        // Zero leading pivot (row exchange needed), zeros elsewhere skipped.
        let rows: [&[f64]; 4] = [
            &[0.0, 2.0, 0.0, 1.0],
            &[3.0, 0.0, 0.0, 0.0],
            &[0.0, 1.0, 4.0, 0.0],
            &[1.0, 0.0, 0.0, 5.0],
        ];
        let lu = factorised(&rows);
        assert!(!lu.singular);
        let x_true = [1.0, -2.0, 0.5, 3.0];
        let mut b: Vec<f64> = rows
            .iter()
            .map(|r| r.iter().zip(&x_true).map(|(a, x)| a * x).sum())
            .collect();
        let mut scratch = [0.0; 4];
        lu.solve_slice(&mut b, &mut scratch);
        for (x, t) in b.iter().zip(&x_true) {
            assert!((x - t).abs() < 1e-14, "{b:?}");
        }
        // Transposed: Aᵀx = c.
        let mut c: Vec<f64> = (0..4)
            .map(|j| (0..4).map(|i| rows[i][j] * x_true[i]).sum())
            .collect();
        lu.solve_transpose_slice(&mut c);
        for (x, t) in c.iter().zip(&x_true) {
            assert!((x - t).abs() < 1e-14, "{c:?}");
        }
    }

    #[test]
    fn a_singular_matrix_is_reported() {
        let rows: [&[f64]; 2] = [&[1.0, 2.0], &[2.0, 4.0]];
        assert!(factorised(&rows).singular);
    }
}
