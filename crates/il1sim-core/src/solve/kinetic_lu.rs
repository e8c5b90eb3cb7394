//! The linear solver diffsol's BDF uses for il1sim's iteration matrices I − hγJ: dense LU
//! with partial pivoting, row-major, whose triangular solves skip the zeros of L and U.
//!
//! Why by hand: the solves that BDF's Newton iterations repeat were the largest single cost
//! of a simulation (22% of the time with diffsol's nalgebra LU, perf, docs/solver.md). A
//! kinetic Jacobian is sparse — each state couples to a few others — and so are its LU
//! factors (20 reachable states for anakinra: 103 of 400 entries non-zero in L and U), so
//! listing the non-zeros once per factorisation makes every solve touch a quarter of the
//! entries. BDF refactorises the same pattern with new values hundreds of times per
//! simulation, so the pivot order, the fill pattern and the elimination schedule are kept
//! from one factorisation to the next while they still give partial pivoting's choice
//! (`PIVOT_THRESHOLD`); otherwise the factorisation pivots afresh.

use diffsol_la::matrix::{Matrix, MatrixCommon};
use diffsol_la::vector::{Vector, VectorCommon};
use diffsol_la::{
    LaError, LinearOp as LaLinearOp, LinearSolver, NalgebraContext, NalgebraMat, NalgebraVec,
};

/// Systems up to this size solve with stack scratch space (larger ones allocate).
const STACK_STATES: usize = 64;

/// Smallest ratio of a kept pivot to the largest entry below it in its column before the
/// factorisation pivots afresh. At 1 the kept order is used only while it is still partial
/// pivoting's choice, so the factors are those partial pivoting gives; only the pivot search,
/// the fill analysis and the listing of the factors' non-zeros are saved (exact method 4%
/// faster, `il1sim bench scenarios/caps-100mg-daily.toml`, 1,000 subjects, 3 runs). The usual
/// threshold 0.1 (Duff, Erisman & Reid 1986, §5.4) was 2% faster still, but its larger element
/// growth made the periodic steady state of canakinumab q8w (Newton at rtol 1e-10) fail to
/// converge: a validation target.
const PIVOT_THRESHOLD: f64 = 1.0;

#[derive(Default)]
pub struct KineticLu {
    /// Where diffsol writes the iteration matrix (column-major).
    matrix: Option<NalgebraMat<f64>>,
    n: usize,
    /// Row-major working copy, factorised in place.
    lu: Vec<f64>,
    /// Row i of the factorised matrix is row `perm[i]` of the original.
    perm: Vec<usize>,
    /// Where L and U may be non-zero for this pivot order, fill-in included (row-major
    /// n × n, permuted rows); empty until the first factorisation.
    structure: Vec<bool>,
    /// Elimination schedule of that structure: for pivot k, the rows below it with an entry
    /// in column k (`below[below_start[k]..below_start[k + 1]]`) and the columns right of it
    /// in row k (`right[...]`).
    below_start: Vec<usize>,
    below: Vec<usize>,
    right_start: Vec<usize>,
    right: Vec<usize>,
    /// L's strict lower part in the pattern, row by row, as (column, value):
    /// `l_entries[l_start[r]..l_start[r + 1]]` (gathered from `lu` after each factorisation,
    /// so the solves the Newton iterations repeat read consecutive memory).
    l_start: Vec<usize>,
    l_entries: Vec<(usize, f64)>,
    /// U's strict upper part the same way, and the inverted diagonal.
    u_start: Vec<usize>,
    u_entries: Vec<(usize, f64)>,
    inv_diag: Vec<f64>,
    /// Input rows, kept so a refused refactorisation can start again (scratch).
    input: Vec<f64>,
    singular: bool,
    /// Factorisations that pivoted afresh (the others reused the pivot order).
    pivotings: usize,
}

impl KineticLu {
    /// Factorise `lu` (the input, row-major): with the kept pivot order and fill pattern
    /// when they still serve, otherwise with partial pivoting and a new pattern.
    fn factorise(&mut self) {
        if !self.structure.is_empty() && self.refactorise() {
            return;
        }
        self.lu.copy_from_slice(&self.input);
        self.pivotings += 1;
        self.factorise_with_pivoting();
        if !self.singular {
            self.analyse();
        }
    }

    /// Partial pivoting on the values: sets `perm` and leaves L and U in `lu`.
    fn factorise_with_pivoting(&mut self) {
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
                self.structure.clear();
                return;
            }
            if p != k {
                for c in 0..n {
                    a.swap(k * n + c, p * n + c);
                }
                self.perm.swap(k, p);
            }
            let inv = 1.0 / a[k * n + k];
            for r in k + 1..n {
                let m = a[r * n + k];
                if m == 0.0 {
                    continue;
                }
                let m = m * inv;
                a[r * n + k] = m;
                for c in k + 1..n {
                    let u = a[k * n + c];
                    if u != 0.0 {
                        a[r * n + c] -= m * u;
                    }
                }
            }
            self.inv_diag[k] = inv;
        }
    }

    /// The fill pattern of the input's non-zeros under `perm` (symbolic elimination), its
    /// elimination schedule and the row lists the solves use.
    fn analyse(&mut self) {
        let n = self.n;
        let s = &mut self.structure;
        s.clear();
        s.resize(n * n, false);
        for (i, &p) in self.perm.iter().enumerate() {
            for c in 0..n {
                s[i * n + c] = self.input[p * n + c] != 0.0 || i == c;
            }
        }
        for k in 0..n {
            for r in k + 1..n {
                if s[r * n + k] {
                    for c in k + 1..n {
                        if s[k * n + c] {
                            s[r * n + c] = true;
                        }
                    }
                }
            }
        }
        let (below, right) = (&mut self.below, &mut self.right);
        below.clear();
        right.clear();
        for k in 0..n {
            self.below_start[k] = below.len();
            below.extend((k + 1..n).filter(|&r| s[r * n + k]));
            self.right_start[k] = right.len();
            right.extend((k + 1..n).filter(|&c| s[k * n + c]));
        }
        self.below_start[n] = below.len();
        self.right_start[n] = right.len();
        self.l_entries.clear();
        self.u_entries.clear();
        for r in 0..n {
            self.l_start[r] = self.l_entries.len();
            self.l_entries
                .extend((0..r).filter(|&c| s[r * n + c]).map(|c| (c, 0.0)));
            self.u_start[r] = self.u_entries.len();
            self.u_entries
                .extend((r + 1..n).filter(|&c| s[r * n + c]).map(|c| (c, 0.0)));
        }
        self.l_start[n] = self.l_entries.len();
        self.u_start[n] = self.u_entries.len();
        self.gather();
    }

    /// Copy the factors' values in the pattern from `lu` into the solve lists.
    fn gather(&mut self) {
        let n = self.n;
        for r in 0..n {
            let row = &self.lu[r * n..(r + 1) * n];
            for e in &mut self.l_entries[self.l_start[r]..self.l_start[r + 1]] {
                e.1 = row[e.0];
            }
            for e in &mut self.u_entries[self.u_start[r]..self.u_start[r + 1]] {
                e.1 = row[e.0];
            }
        }
    }

    /// Numeric factorisation with the kept pivot order over the kept pattern; false (and
    /// nothing usable in `lu`) when the input has a non-zero outside the pattern or a pivot
    /// falls below [`PIVOT_THRESHOLD`] of its column.
    fn refactorise(&mut self) -> bool {
        let n = self.n;
        let a = &mut self.lu;
        for (i, &p) in self.perm.iter().enumerate() {
            let row = &self.input[p * n..(p + 1) * n];
            let pattern = &self.structure[i * n..(i + 1) * n];
            if row.iter().zip(pattern).any(|(&v, &s)| v != 0.0 && !s) {
                return false;
            }
            a[i * n..(i + 1) * n].copy_from_slice(row);
        }
        for k in 0..n {
            let pivot = a[k * n + k];
            let rows = &self.below[self.below_start[k]..self.below_start[k + 1]];
            let largest = rows.iter().map(|&r| a[r * n + k].abs()).fold(0.0, f64::max);
            // Also refuses NaN: every comparison with it is false.
            let kept = pivot.abs() >= PIVOT_THRESHOLD * largest && pivot != 0.0;
            if !kept || !pivot.is_finite() {
                return false;
            }
            let inv = 1.0 / pivot;
            let cols = &self.right[self.right_start[k]..self.right_start[k + 1]];
            for &r in rows {
                let m = a[r * n + k] * inv;
                a[r * n + k] = m;
                if m != 0.0 {
                    for &c in cols {
                        a[r * n + c] -= m * a[k * n + c];
                    }
                }
            }
            self.inv_diag[k] = inv;
        }
        self.singular = false;
        self.gather();
        true
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

impl KineticLu {
    fn with_size(n: usize) -> KineticLu {
        KineticLu {
            n,
            lu: vec![0.0; n * n],
            input: vec![0.0; n * n],
            perm: (0..n).collect(),
            below_start: vec![0; n + 1],
            right_start: vec![0; n + 1],
            l_start: vec![0; n + 1],
            u_start: vec![0; n + 1],
            inv_diag: vec![0.0; n],
            singular: true,
            ..KineticLu::default()
        }
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
                self.input[r * n + c] = dense[(r, c)];
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
        *self = KineticLu::with_size(n);
        self.matrix = Some(NalgebraMat::new_from_sparsity(
            n,
            op.ncols(),
            op.sparsity(),
            *op.context(),
        ));
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

    fn with_rows(lu: &mut KineticLu, rows: &[&[f64]]) {
        lu.input = rows.iter().flat_map(|r| r.iter().copied()).collect();
        lu.factorise();
    }

    fn factorised(rows: &[&[f64]]) -> KineticLu {
        let mut lu = KineticLu::with_size(rows.len());
        with_rows(&mut lu, rows);
        lu
    }

    /// Solve A x = b for the x that makes b, and return the largest error.
    fn solve_error(lu: &KineticLu, rows: &[&[f64]], x_true: &[f64]) -> f64 {
        let mut b: Vec<f64> = rows
            .iter()
            .map(|r| r.iter().zip(x_true).map(|(a, x)| a * x).sum())
            .collect();
        let mut scratch = vec![0.0; rows.len()];
        lu.solve_slice(&mut b, &mut scratch);
        b.iter()
            .zip(x_true)
            .map(|(x, t)| (x - t).abs())
            .fold(0.0, f64::max)
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
        assert!(solve_error(&lu, &rows, &x_true) < 1e-14);
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
    fn new_values_on_the_same_pattern_reuse_the_pivot_order() {
        // Fill-in: eliminating column 0 fills (2, 1) and (2, 3).
        let first: [&[f64]; 4] = [
            &[4.0, 1.0, 0.0, 1.0],
            &[0.0, 3.0, 1.0, 0.0],
            &[2.0, 0.0, 5.0, 0.0],
            &[0.0, 0.0, 1.0, 2.0],
        ];
        let mut lu = factorised(&first);
        assert_eq!(lu.pivotings, 1);
        let second: [&[f64]; 4] = [
            &[5.0, 0.5, 0.0, 2.0],
            &[0.0, 2.0, 1.5, 0.0],
            &[1.0, 0.0, 6.0, 0.0],
            &[0.0, 0.0, 0.5, 3.0],
        ];
        with_rows(&mut lu, &second);
        assert_eq!(lu.pivotings, 1, "the kept order served");
        let x_true = [0.3, -1.0, 2.0, 0.7];
        assert!(solve_error(&lu, &second, &x_true) < 1e-14);
        // The factors are those of a fresh factorisation with the same order.
        let fresh = factorised(&second);
        assert_eq!(fresh.perm, lu.perm);
        for (a, b) in fresh.lu.iter().zip(&lu.lu) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    #[test]
    fn a_small_kept_pivot_or_a_new_non_zero_pivots_afresh() {
        let first: [&[f64]; 3] = [&[4.0, 1.0, 0.0], &[1.0, 3.0, 0.0], &[0.0, 1.0, 2.0]];
        let mut lu = factorised(&first);
        // The (0, 0) pivot becomes small against the entry below it.
        let small: [&[f64]; 3] = [&[0.01, 1.0, 0.0], &[1.0, 3.0, 0.0], &[0.0, 1.0, 2.0]];
        with_rows(&mut lu, &small);
        assert_eq!(lu.pivotings, 2);
        assert!(solve_error(&lu, &small, &[1.0, 2.0, 3.0]) < 1e-13);
        // An entry appears where the pattern had none: the pivot row of column 0 (original
        // row 1) had nothing in column 2.
        assert_eq!(lu.perm[0], 1);
        assert!(!lu.structure[2]);
        let wider: [&[f64]; 3] = [&[0.01, 1.0, 0.0], &[1.0, 3.0, 0.5], &[0.0, 1.0, 2.0]];
        with_rows(&mut lu, &wider);
        assert_eq!(lu.pivotings, 3);
        assert!(solve_error(&lu, &wider, &[1.0, 2.0, 3.0]) < 1e-13);
    }

    #[test]
    fn a_singular_matrix_is_reported() {
        let rows: [&[f64]; 2] = [&[1.0, 2.0], &[2.0, 4.0]];
        assert!(factorised(&rows).singular);
        // Also when it arrives after a factorisation whose order it would reuse.
        let mut lu = factorised(&[&[1.0, 2.0], &[2.0, 5.0]]);
        with_rows(&mut lu, &rows);
        assert!(lu.singular);
    }
}
