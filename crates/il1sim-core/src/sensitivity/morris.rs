//! Morris screening (Morris 1991 Technometrics 33:161) with the absolute mean μ* of
//! Campolongo, Cariboni & Saltelli 2007 (Environ Model Softw 22:1509): r trajectories on a
//! grid of p = 4 levels of [0, 1]^k, each changing one factor at a time by Δ = p / (2 (p − 1))
//! = 2/3 in random order and direction. Elementary effects are in units of the output per
//! whole range of the factor; μ* ranks factors, σ shows non-linearity or interaction.

use super::sobol::CubeFunction;
use crate::population::sampling::subject_rng;
use rand::seq::SliceRandom;
use rand::Rng;
use rayon::prelude::*;

/// Grid levels (p) and the step in the unit cube, Δ = p / (2 (p − 1)).
pub const LEVELS: usize = 4;
pub const DELTA: f64 = LEVELS as f64 / (2.0 * (LEVELS as f64 - 1.0));

/// Screening measures of each factor for one output.
#[derive(Debug, Clone, PartialEq)]
pub struct MorrisMeasures {
    /// Mean absolute elementary effect.
    pub mu_star: Vec<f64>,
    /// Mean elementary effect (signed).
    pub mu: Vec<f64>,
    /// Standard deviation of the elementary effects.
    pub sigma: Vec<f64>,
}

/// One trajectory: k + 1 points, and which factor changes between point i and i + 1 with
/// the signed step.
pub fn trajectory(seed: u64, t: u64, k: usize) -> (Vec<Vec<f64>>, Vec<(usize, f64)>) {
    let mut rng = subject_rng(seed, t);
    // Start on the levels from which a step of Δ stays in the cube in the chosen direction.
    let lower = LEVELS / 2; // levels 0 .. LEVELS/2 − 1 can go up by Δ = (LEVELS/2) / (LEVELS − 1)
    let mut x: Vec<f64> = (0..k)
        .map(|_| rng.random_range(0..lower) as f64 / (LEVELS - 1) as f64)
        .collect();
    let up: Vec<bool> = (0..k).map(|_| rng.random::<bool>()).collect();
    for i in 0..k {
        if !up[i] {
            x[i] += DELTA; // start at the upper end and step down
        }
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.shuffle(&mut rng);
    let mut points = vec![x.clone()];
    let mut steps = Vec::with_capacity(k);
    for &i in &order {
        let step = if up[i] { DELTA } else { -DELTA };
        x[i] += step;
        points.push(x.clone());
        steps.push((i, step));
    }
    (points, steps)
}

/// Evaluations Morris needs: r (k + 1).
pub fn evaluation_count(r: usize, k: usize) -> usize {
    r * (k + 1)
}

/// Screen the k factors of `f` (a function of [0, 1]^k with m outputs) with `r` trajectories.
pub fn morris_screening<E: Send>(
    k: usize,
    r: usize,
    seed: u64,
    f: &CubeFunction<'_, E>,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<MorrisMeasures>, E> {
    // Per trajectory, per factor: the elementary effects of every output.
    let effects: Vec<Result<Vec<Vec<f64>>, E>> = (0..r)
        .into_par_iter()
        .map(|t| {
            let (points, steps) = trajectory(seed, t as u64, k);
            let values: Vec<Vec<f64>> = points.iter().map(|p| f(p)).collect::<Result<_, _>>()?;
            let mut ee = vec![Vec::new(); k];
            for (s, &(i, step)) in steps.iter().enumerate() {
                ee[i] = values[s + 1]
                    .iter()
                    .zip(&values[s])
                    .map(|(b, a)| (b - a) / step)
                    .collect();
            }
            progress();
            Ok(ee)
        })
        .collect();
    let effects: Vec<Vec<Vec<f64>>> = effects.into_iter().collect::<Result<_, _>>()?;
    let m = effects
        .first()
        .and_then(|e| e.first())
        .map_or(0, |v| v.len());
    let n = r as f64;
    Ok((0..m)
        .map(|o| {
            let mut out = MorrisMeasures {
                mu_star: vec![],
                mu: vec![],
                sigma: vec![],
            };
            for i in 0..k {
                let e: Vec<f64> = effects.iter().map(|t| t[i][o]).collect();
                let mu = e.iter().sum::<f64>() / n;
                out.mu.push(mu);
                out.mu_star.push(e.iter().map(|v| v.abs()).sum::<f64>() / n);
                let var = if r > 1 {
                    e.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - 1.0)
                } else {
                    0.0
                };
                out.sigma.push(var.sqrt());
            }
            out
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trajectories_stay_on_the_grid_and_change_one_factor_at_a_time() {
        for t in 0..50 {
            let (points, steps) = trajectory(9, t, 5);
            assert_eq!(points.len(), 6);
            for p in &points {
                for v in p {
                    let level = v * (LEVELS - 1) as f64;
                    assert!(
                        (level - level.round()).abs() < 1e-12 && (-1e-12..=1.0 + 1e-12).contains(v)
                    );
                }
            }
            let mut seen = [false; 5];
            for (s, &(i, step)) in steps.iter().enumerate() {
                seen[i] = true;
                for (j, (after, before)) in points[s + 1].iter().zip(&points[s]).enumerate() {
                    let d = after - before;
                    assert!(if j == i {
                        (d - step).abs() < 1e-12
                    } else {
                        d == 0.0
                    });
                }
            }
            assert!(seen.iter().all(|s| *s));
        }
    }

    #[test]
    fn linear_function_effects_are_its_slopes() {
        // f = 3 u1 − u2 + 0 u3: every elementary effect is the slope, σ = 0.
        let f = |u: &[f64]| -> Result<Vec<f64>, ()> { Ok(vec![3.0 * u[0] - u[1]]) };
        let m = &morris_screening(3, 20, 4, &f, &|| {}).unwrap()[0];
        for (i, slope) in [3.0, -1.0, 0.0].iter().enumerate() {
            assert!((m.mu[i] - slope).abs() < 1e-12);
            assert!((m.mu_star[i] - slope.abs()).abs() < 1e-12);
            assert!(m.sigma[i] < 1e-12);
        }
    }

    #[test]
    fn interaction_shows_as_spread() {
        // f = u1 u2: effects of u1 are u2 (0 to 1), so σ > 0; u3 has no effect.
        let f = |u: &[f64]| -> Result<Vec<f64>, ()> { Ok(vec![u[0] * u[1]]) };
        let m = &morris_screening(3, 40, 5, &f, &|| {}).unwrap()[0];
        assert!(m.sigma[0] > 0.1 && m.sigma[1] > 0.1);
        assert_eq!(m.mu_star[2], 0.0);
    }
}
