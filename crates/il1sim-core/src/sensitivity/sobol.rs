//! Sobol indices by Saltelli's sampling: two independent sample matrices A and B on the unit
//! hypercube, and for each factor i the matrix A with column i from B; first-order indices by
//! Saltelli et al. 2010 (Comput Phys Commun 181:259, their table 2 (b)), total indices by
//! Jansen 1999 (the same table, (f)). Intervals by bootstrap over the sample rows.
//! Works on any function of [0, 1]^k; the model's wrapper maps the cube to parameter folds.

use crate::population::sampling::subject_rng;
use rand::Rng;
use rayon::prelude::*;

/// First-order and total indices of each factor for one output, with 95% bootstrap
/// (percentile) intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolIndices {
    pub first_order: Vec<f64>,
    pub first_order_ci: Vec<(f64, f64)>,
    pub total: Vec<f64>,
    pub total_ci: Vec<(f64, f64)>,
    /// Variance of the output over the samples of A and B.
    pub variance: f64,
}

/// The sample row `j` of matrix A (`which` 0) or B (`which` 1): uniform on [0, 1)^k from its own
/// stream, so that rows do not depend on the order in which threads draw them.
pub fn sample_row(seed: u64, which: u64, j: u64, k: usize) -> Vec<f64> {
    let mut rng = subject_rng(seed, 2 * j + which);
    (0..k).map(|_| rng.random::<f64>()).collect()
}

/// A function of a point of [0, 1]^k giving m outputs, shared by the Sobol and Morris
/// designs.
pub type CubeFunction<'f, E> = dyn Fn(&[f64]) -> Result<Vec<f64>, E> + Sync + 'f;

/// Model evaluations Saltelli's scheme needs: N (k + 2).
pub fn evaluation_count(n: usize, k: usize) -> usize {
    n * (k + 2)
}

/// Evaluate `f` on A, B and every A_B^(i) (N (k + 2) runs, in parallel) and estimate the
/// indices of each of its outputs. `f` maps a point of [0, 1]^k to m outputs.
pub fn sobol_indices<E: Send>(
    k: usize,
    n: usize,
    seed: u64,
    bootstrap: usize,
    f: &CubeFunction<'_, E>,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<SobolIndices>, E> {
    // Per row j: [f(A_j), f(B_j), f(AB_j^(1)), ..., f(AB_j^(k))], each a vector of outputs.
    let rows: Vec<Result<Vec<Vec<f64>>, E>> = (0..n)
        .into_par_iter()
        .map(|j| {
            let a = sample_row(seed, 0, j as u64, k);
            let b = sample_row(seed, 1, j as u64, k);
            let mut out = Vec::with_capacity(k + 2);
            out.push(f(&a)?);
            out.push(f(&b)?);
            for i in 0..k {
                let mut ab = a.clone();
                ab[i] = b[i];
                out.push(f(&ab)?);
            }
            progress();
            Ok(out)
        })
        .collect();
    let rows: Vec<Vec<Vec<f64>>> = rows.into_iter().collect::<Result<_, _>>()?;
    let m = rows.first().map_or(0, |r| r[0].len());
    Ok((0..m)
        .map(|o| {
            let fa: Vec<f64> = rows.iter().map(|r| r[0][o]).collect();
            let fb: Vec<f64> = rows.iter().map(|r| r[1][o]).collect();
            let fab: Vec<Vec<f64>> = (0..k)
                .map(|i| rows.iter().map(|r| r[2 + i][o]).collect())
                .collect();
            indices_with_intervals(&fa, &fb, &fab, seed, bootstrap)
        })
        .collect())
}

/// Point estimates from the rows `idx` (with repetition for the bootstrap).
fn estimate(fa: &[f64], fb: &[f64], fab: &[Vec<f64>], idx: &[usize]) -> (Vec<f64>, Vec<f64>, f64) {
    let n = idx.len() as f64;
    let mean = idx.iter().map(|&j| fa[j] + fb[j]).sum::<f64>() / (2.0 * n);
    let var = idx
        .iter()
        .map(|&j| (fa[j] - mean).powi(2) + (fb[j] - mean).powi(2))
        .sum::<f64>()
        / (2.0 * n - 1.0);
    let mut s1 = Vec::with_capacity(fab.len());
    let mut st = Vec::with_capacity(fab.len());
    for col in fab {
        let first = idx.iter().map(|&j| fb[j] * (col[j] - fa[j])).sum::<f64>() / n;
        let total = idx.iter().map(|&j| (fa[j] - col[j]).powi(2)).sum::<f64>() / (2.0 * n);
        if var > 0.0 {
            s1.push(first / var);
            st.push(total / var);
        } else {
            s1.push(f64::NAN);
            st.push(f64::NAN);
        }
    }
    (s1, st, var)
}

/// Percentile of sorted values (linear interpolation between order statistics).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn indices_with_intervals(
    fa: &[f64],
    fb: &[f64],
    fab: &[Vec<f64>],
    seed: u64,
    bootstrap: usize,
) -> SobolIndices {
    let n = fa.len();
    let all: Vec<usize> = (0..n).collect();
    let (first_order, total, variance) = estimate(fa, fb, fab, &all);
    let k = fab.len();
    let draws: Vec<(Vec<f64>, Vec<f64>)> = (0..bootstrap)
        .into_par_iter()
        .map(|b| {
            // Streams far from the sampling streams' ids (2j, 2j + 1).
            let mut rng = subject_rng(seed ^ 0xB007_57A9, b as u64);
            let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
            let (s1, st, _) = estimate(fa, fb, fab, &idx);
            (s1, st)
        })
        .collect();
    let interval = |values: Vec<f64>| {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        (percentile(&v, 0.025), percentile(&v, 0.975))
    };
    SobolIndices {
        first_order_ci: (0..k)
            .map(|i| interval(draws.iter().map(|d| d.0[i]).collect()))
            .collect(),
        total_ci: (0..k)
            .map(|i| interval(draws.iter().map(|d| d.1[i]).collect()))
            .collect(),
        first_order,
        total,
        variance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// Ishigami & Homma 1990 with a = 7, b = 0.1 on [−π, π]³; indices from Sobol' & Levitan
    /// 1999 (and Saltelli et al. 2008, Global Sensitivity Analysis, section 4.9):
    /// V = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2, V1 = (1 + bπ⁴/5)²/2, V2 = a²/8,
    /// V13 = b²π⁸ (1/18 − 1/50), V3 = 0.
    fn ishigami_exact() -> ([f64; 3], [f64; 3]) {
        let (a, b) = (7.0, 0.1);
        let pi4 = PI.powi(4);
        let pi8 = PI.powi(8);
        let v = a * a / 8.0 + b * pi4 / 5.0 + b * b * pi8 / 18.0 + 0.5;
        let v1 = (1.0 + b * pi4 / 5.0).powi(2) / 2.0;
        let v2 = a * a / 8.0;
        let v13 = b * b * pi8 * (1.0 / 18.0 - 1.0 / 50.0);
        ([v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v])
    }

    fn ishigami(u: &[f64]) -> Result<Vec<f64>, ()> {
        let x: Vec<f64> = u.iter().map(|v| -PI + 2.0 * PI * v).collect();
        Ok(vec![
            x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin(),
        ])
    }

    #[test]
    fn ishigami_indices_are_recovered_within_their_bootstrap_intervals() {
        let (s1, st) = ishigami_exact();
        // The published values, to the digits given: S = 0.3139, 0.4424, 0; ST = 0.5576,
        // 0.4424, 0.2437.
        assert!((s1[0] - 0.3139).abs() < 1e-4 && (st[2] - 0.2437).abs() < 1e-4);
        let r = &sobol_indices(3, 8192, 7, 300, &ishigami, &|| {}).unwrap()[0];
        // Measured at N = 8192 (seed 7): largest error 0.0086 (ST1), widest 95% interval
        // 0.061 (S1); the limits below are those with some room, not tuned to pass.
        for i in 0..3 {
            let (lo, hi) = r.first_order_ci[i];
            assert!(
                lo <= s1[i] && s1[i] <= hi,
                "S{} {} not in [{lo}, {hi}]",
                i + 1,
                s1[i]
            );
            let (lo, hi) = r.total_ci[i];
            assert!(
                lo <= st[i] && st[i] <= hi,
                "ST{} {} not in [{lo}, {hi}]",
                i + 1,
                st[i]
            );
            // Intervals narrow enough to mean something at this sample size.
            assert!(hi - lo < 0.08, "ST{} interval [{lo}, {hi}]", i + 1);
            let (lo, hi) = r.first_order_ci[i];
            assert!(hi - lo < 0.08, "S{} interval [{lo}, {hi}]", i + 1);
            assert!((r.first_order[i] - s1[i]).abs() < 0.02, "S{}", i + 1);
            assert!((r.total[i] - st[i]).abs() < 0.02, "ST{}", i + 1);
        }
    }

    #[test]
    fn indices_do_not_depend_on_the_thread_count() {
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| sobol_indices(3, 256, 3, 50, &ishigami, &|| {}).unwrap())
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn an_additive_function_has_first_order_equal_to_total() {
        // f = u1 + 2 u2: S1 = 1/5, S2 = 4/5, no interactions.
        let f = |u: &[f64]| -> Result<Vec<f64>, ()> { Ok(vec![u[0] + 2.0 * u[1]]) };
        let r = &sobol_indices(2, 4096, 1, 0, &f, &|| {}).unwrap()[0];
        eprintln!("additive {r:?}");
        assert!((r.first_order[0] - 0.2).abs() < 0.03, "{:?}", r);
        assert!((r.total[1] - 0.8).abs() < 0.03, "{:?}", r);
        assert!((r.total[0] - r.first_order[0]).abs() < 0.03);
    }
}
