//! The compiled right-hand side: every reaction of the model file reduced to a few term
//! kinds with numbers already divided by volumes, so `rhs` and `jvp` are tight loops and
//! the Jacobian is exact (each term's derivative is written next to it).

use nalgebra::DMatrix;

/// Most signals a model may declare (checked when the model is read).
pub const MAX_SIGNALS: usize = 8;

/// `kon · a · b` moves material from `a` and `b` into `complex` (all in one compartment).
#[derive(Debug, Clone)]
pub struct Bilinear {
    pub a: usize,
    pub b: usize,
    pub complex: usize,
    pub kon: f64,
}

/// Production `k_basal + k_gain · S(y)` into `species` (concentration per hour).
#[derive(Debug, Clone)]
pub struct SignalTerm {
    pub species: usize,
    pub k_basal: f64,
    pub k_gain: f64,
    pub signal: usize,
}

/// Production `k · (y[driver] / reference)^exponent` into `species`; the driver is not consumed.
#[derive(Debug, Clone)]
pub struct PowerTerm {
    pub species: usize,
    pub driver: usize,
    pub k: f64,
    pub reference: f64,
    pub exponent: f64,
}

impl PowerTerm {
    /// Same driver, reference and exponent: (y[driver]/reference)^exponent is shared.
    fn same_power(&self, other: &PowerTerm) -> bool {
        self.driver == other.driver
            && self.reference == other.reference
            && self.exponent == other.exponent
    }

    /// d(production)/d(driver) at `y` (the Jacobian entry; 0 at a zero driver unless linear).
    fn derivative(&self, y: &[f64]) -> f64 {
        let x = (y[self.driver] / self.reference).max(0.0);
        if self.exponent == 1.0 {
            self.k / self.reference
        } else if x > 0.0 {
            self.k * self.exponent * x.powf(self.exponent - 1.0) / self.reference
        } else {
            0.0
        }
    }
}

/// Operational-model transduction (Black & Leff 1983): S = x/(1+x), x = (τ·ρ)^n,
/// ρ = Σ `y[species]` / R_total. The receptor reserve lives in τ.
#[derive(Debug, Clone)]
pub struct SignalDef {
    pub species: Vec<usize>,
    pub inv_receptor_total: f64,
    pub efficacy: f64,
    pub slope: f64,
}

impl SignalDef {
    /// Signal and dS/dρ·(1/R_total) (derivative with respect to any member species).
    fn value_and_slope(&self, y: &[f64]) -> (f64, f64) {
        let rho: f64 = self.species.iter().map(|&i| y[i]).sum::<f64>() * self.inv_receptor_total;
        let rho = rho.max(0.0);
        let tr = self.efficacy * rho;
        if tr <= 0.0 {
            let d = if self.slope == 1.0 {
                self.efficacy * self.inv_receptor_total
            } else {
                0.0
            };
            return (0.0, d);
        }
        // Integer slopes (the model's is 3) by multiplication: powf was 8% of a simulation.
        let x = if self.slope.fract() == 0.0 && self.slope.abs() <= 16.0 {
            tr.powi(self.slope as i32)
        } else {
            tr.powf(self.slope)
        };
        let s = x / (1.0 + x);
        // dS/dρ = n x / (ρ (1+x)^2)
        let ds_drho = self.slope * x / (rho * (1.0 + x) * (1.0 + x));
        (s, ds_drho * self.inv_receptor_total)
    }
}

#[derive(Debug, Clone)]
pub struct OdeSystem {
    pub n: usize,
    /// Volume of each species' compartment (1 for amounts): converts amount inputs.
    pub volume: Vec<f64>,
    pub constant: Vec<f64>,
    /// (row, column, coefficient), merged so each pair appears once.
    pub linear: Vec<(usize, usize, f64)>,
    pub bilinear: Vec<Bilinear>,
    pub signals: Vec<SignalDef>,
    pub signal_terms: Vec<SignalTerm>,
    pub power_terms: Vec<PowerTerm>,
    /// States held constant (in-vitro clamps); empty for ordinary simulations.
    pub frozen: Vec<usize>,
}

impl OdeSystem {
    pub fn new(n: usize, volume: Vec<f64>) -> Self {
        OdeSystem {
            n,
            volume,
            constant: vec![0.0; n],
            linear: Vec::new(),
            bilinear: Vec::new(),
            signals: Vec::new(),
            signal_terms: Vec::new(),
            power_terms: Vec::new(),
            frozen: Vec::new(),
        }
    }

    /// The same system with some states held at their current value (dy/dt = 0), as when a
    /// ligand concentration is fixed in a culture well.
    pub fn clamped(&self, states: &[usize]) -> OdeSystem {
        let mut s = self.clone();
        s.frozen = states.to_vec();
        s
    }

    pub fn add_linear(&mut self, row: usize, col: usize, coef: f64) {
        self.linear.push((row, col, coef));
    }

    /// States that can become non-zero, starting from `y0` with inputs into `targets`: those
    /// non-zero at the start or fed by an input, and everything they reach through the
    /// Jacobian's structure or zero-order production. The others stay exactly zero (for
    /// example the states of a drug that is not given) and need not be integrated.
    pub fn reachable(&self, y0: &[f64], targets: &[usize]) -> Vec<bool> {
        let mut active: Vec<bool> = (0..self.n)
            .map(|i| y0[i] != 0.0 || targets.contains(&i))
            .collect();
        let mut probe = vec![0.0; self.n];
        let mut dy = vec![0.0; self.n];
        let zero = vec![0.0; self.n];
        loop {
            for i in 0..self.n {
                // Distinct positive values, so no term cancels by accident.
                probe[i] = if active[i] {
                    1.0 + 0.137 * i as f64
                } else {
                    0.0
                };
            }
            self.rhs(&probe, &zero, &mut dy);
            let j = self.jacobian(&probe);
            let mut changed = false;
            for r in 0..self.n {
                if !active[r]
                    && (dy[r] != 0.0 || (0..self.n).any(|c| active[c] && j[(r, c)] != 0.0))
                {
                    active[r] = true;
                    changed = true;
                }
            }
            if !changed {
                return active;
            }
        }
    }

    /// The system on the states `keep` only (ascending), the others being identically zero:
    /// terms that involve a dropped state vanish.
    pub fn restrict(&self, keep: &[usize]) -> OdeSystem {
        let mut map = vec![None; self.n];
        for (new, &old) in keep.iter().enumerate() {
            map[old] = Some(new);
        }
        let mut s = OdeSystem::new(keep.len(), keep.iter().map(|&i| self.volume[i]).collect());
        s.constant = keep.iter().map(|&i| self.constant[i]).collect();
        s.linear = self
            .linear
            .iter()
            .filter_map(|&(r, c, k)| Some((map[r]?, map[c]?, k)))
            .collect();
        s.bilinear = self
            .bilinear
            .iter()
            .filter_map(|b| {
                Some(Bilinear {
                    a: map[b.a]?,
                    b: map[b.b]?,
                    complex: map[b.complex]?,
                    kon: b.kon,
                })
            })
            .collect();
        s.signals = self
            .signals
            .iter()
            .map(|g| SignalDef {
                species: g.species.iter().filter_map(|&i| map[i]).collect(),
                ..g.clone()
            })
            .collect();
        s.signal_terms = self
            .signal_terms
            .iter()
            .filter_map(|t| {
                Some(SignalTerm {
                    species: map[t.species]?,
                    ..t.clone()
                })
            })
            .collect();
        s.power_terms = self
            .power_terms
            .iter()
            .filter_map(|p| {
                Some(PowerTerm {
                    species: map[p.species]?,
                    driver: map[p.driver]?,
                    ..p.clone()
                })
            })
            .collect();
        s.frozen = self.frozen.iter().filter_map(|&i| map[i]).collect();
        s
    }

    /// Merge duplicate linear entries (fewer operations in the hot loop).
    pub fn finish(&mut self) {
        self.linear.sort_by_key(|&(r, c, _)| (r, c));
        let mut merged: Vec<(usize, usize, f64)> = Vec::with_capacity(self.linear.len());
        for &(r, c, k) in &self.linear {
            match merged.last_mut() {
                Some(last) if last.0 == r && last.1 == c => last.2 += k,
                _ => merged.push((r, c, k)),
            }
        }
        self.linear = merged;
    }

    pub fn signal_value(&self, signal: usize, y: &[f64]) -> f64 {
        self.signals[signal].value_and_slope(y).0
    }

    /// dy/dt = f(y) + input, where `input[i]` is a zero-order input in amount/h (infusions).
    pub fn rhs(&self, y: &[f64], input: &[f64], dy: &mut [f64]) {
        for i in 0..self.n {
            dy[i] = self.constant[i] + input[i] / self.volume[i];
        }
        for &(r, c, k) in &self.linear {
            dy[r] += k * y[c];
        }
        for b in &self.bilinear {
            let rate = b.kon * y[b.a] * y[b.b];
            dy[b.a] -= rate;
            dy[b.b] -= rate;
            dy[b.complex] += rate;
        }
        if !self.signal_terms.is_empty() {
            // Each signal once per call (the hot path; models have a handful of signals).
            let mut values = [0.0; MAX_SIGNALS];
            for (i, sig) in self.signals.iter().enumerate() {
                values[i] = sig.value_and_slope(y).0;
            }
            for t in &self.signal_terms {
                dy[t.species] += t.k_basal + t.k_gain * values[t.signal];
            }
        }
        // Terms with the same driver, reference and exponent (CRP and SAA on IL-6) share
        // one power.
        let mut last: Option<(&PowerTerm, f64)> = None;
        for p in &self.power_terms {
            let power = match last {
                Some((q, v)) if q.same_power(p) => v,
                _ => {
                    let v = (y[p.driver] / p.reference).max(0.0).powf(p.exponent);
                    last = Some((p, v));
                    v
                }
            };
            dy[p.species] += p.k * power;
        }
        for &i in &self.frozen {
            dy[i] = 0.0;
        }
    }

    /// Exact Jacobian-vector product J(y)·v.
    pub fn jvp(&self, y: &[f64], v: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for &(r, c, k) in &self.linear {
            out[r] += k * v[c];
        }
        for b in &self.bilinear {
            let d = b.kon * (v[b.a] * y[b.b] + y[b.a] * v[b.b]);
            out[b.a] -= d;
            out[b.b] -= d;
            out[b.complex] += d;
        }
        if !self.signal_terms.is_empty() {
            // dS/dy · v for each signal once: slope × Σ v over the signal's species.
            // The Jacobian is built from unit directions: most miss a signal's species, and
            // then its slope (a power) is not needed.
            let mut dsv = [0.0; MAX_SIGNALS];
            for (i, sig) in self.signals.iter().enumerate() {
                let sum_v = sig.species.iter().map(|&k| v[k]).sum::<f64>();
                if sum_v != 0.0 {
                    dsv[i] = sig.value_and_slope(y).1 * sum_v;
                }
            }
            for t in &self.signal_terms {
                out[t.species] += t.k_gain * dsv[t.signal];
            }
        }
        let mut last: Option<(&PowerTerm, f64)> = None;
        for p in &self.power_terms {
            if v[p.driver] == 0.0 {
                continue;
            }
            let d = match last {
                Some((q, d)) if q.same_power(p) && q.k != 0.0 => d * (p.k / q.k),
                _ => p.derivative(y),
            };
            last = Some((p, d));
            out[p.species] += d * v[p.driver];
        }
        for &i in &self.frozen {
            out[i] = 0.0;
        }
    }

    /// Dense Jacobian written row-major into `out` (n × n), assembled term by term without
    /// allocation (the fast method's hot path).
    pub fn jacobian_into(&self, y: &[f64], out: &mut [f64]) {
        let n = self.n;
        out[..n * n].iter_mut().for_each(|o| *o = 0.0);
        for &(r, c, k) in &self.linear {
            out[r * n + c] += k;
        }
        for b in &self.bilinear {
            let (da, db) = (b.kon * y[b.b], b.kon * y[b.a]);
            for (row, sign) in [(b.a, -1.0), (b.b, -1.0), (b.complex, 1.0)] {
                out[row * n + b.a] += sign * da;
                out[row * n + b.b] += sign * db;
            }
        }
        if !self.signal_terms.is_empty() {
            let mut slopes = [0.0; MAX_SIGNALS];
            for (i, sig) in self.signals.iter().enumerate() {
                slopes[i] = sig.value_and_slope(y).1;
            }
            for t in &self.signal_terms {
                for &k in &self.signals[t.signal].species {
                    out[t.species * n + k] += t.k_gain * slopes[t.signal];
                }
            }
        }
        for p in &self.power_terms {
            let d = p.derivative(y);
            out[p.species * n + p.driver] += d;
        }
        for &i in &self.frozen {
            out[i * n..(i + 1) * n].iter_mut().for_each(|o| *o = 0.0);
        }
    }

    /// Dense Jacobian (for Newton solves of baselines and periodic steady states).
    pub fn jacobian(&self, y: &[f64]) -> DMatrix<f64> {
        let mut j = DMatrix::zeros(self.n, self.n);
        let mut e = vec![0.0; self.n];
        let mut col = vec![0.0; self.n];
        for c in 0..self.n {
            e[c] = 1.0;
            self.jvp(y, &e, &mut col);
            for r in 0..self.n {
                j[(r, c)] = col[r];
            }
            e[c] = 0.0;
        }
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dropping states that stay zero gives the same right-hand side on the kept states.
    #[test]
    fn restriction_to_reachable_states_preserves_the_dynamics() {
        let mut s = OdeSystem::new(4, vec![1.0; 4]);
        s.constant = vec![0.0, 0.2, 0.0, 0.0];
        s.add_linear(0, 0, -1.0);
        s.add_linear(1, 1, -0.5);
        s.bilinear.push(Bilinear {
            a: 0,
            b: 1,
            complex: 2,
            kon: 2.0,
        });
        s.add_linear(3, 3, -0.1); // never fed: stays zero
        s.finish();
        let y0 = [0.0, 0.4, 0.0, 0.0];
        let active = s.reachable(&y0, &[0]);
        assert_eq!(active, vec![true, true, true, false]);
        let keep: Vec<usize> = (0..4).filter(|&i| active[i]).collect();
        let r = s.restrict(&keep);
        let y = [0.3, 0.4, 0.1, 0.0];
        let (mut full, mut red) = ([0.0; 4], [0.0; 3]);
        s.rhs(&y, &[0.0; 4], &mut full);
        r.rhs(&[0.3, 0.4, 0.1], &[0.0; 3], &mut red);
        assert_eq!(&full[..3], &red[..]);
        assert_eq!(s.reachable(&y0, &[]), vec![false, true, false, false]);
    }

    /// A small system touching every term kind, checked against central differences.
    #[test]
    fn jacobian_matches_finite_differences() {
        let mut s = OdeSystem::new(5, vec![1.0, 2.0, 2.0, 2.0, 3.0]);
        s.constant = vec![0.0, 0.3, 0.1, 0.0, 0.0];
        s.add_linear(0, 0, -0.5);
        s.add_linear(1, 0, 0.25);
        s.add_linear(2, 2, -0.1);
        s.bilinear.push(Bilinear {
            a: 1,
            b: 2,
            complex: 3,
            kon: 2.0,
        });
        s.add_linear(3, 3, -0.4);
        s.signals.push(SignalDef {
            species: vec![3],
            inv_receptor_total: 1.0 / 0.7,
            efficacy: 5.0,
            slope: 2.5,
        });
        s.signal_terms.push(SignalTerm {
            species: 4,
            k_basal: 0.1,
            k_gain: 2.0,
            signal: 0,
        });
        s.power_terms.push(PowerTerm {
            species: 0,
            driver: 4,
            k: 0.3,
            reference: 0.9,
            exponent: 1.92,
        });
        s.add_linear(4, 4, -1.0);
        s.finish();
        let y = [0.8, 0.6, 0.4, 0.3, 1.1];
        let j = s.jacobian(&y);
        let mut dense = [0.0; 25];
        s.jacobian_into(&y, &mut dense);
        for r in 0..5 {
            for c in 0..5 {
                assert!((dense[r * 5 + c] - j[(r, c)]).abs() < 1e-14, "J[{r},{c}]");
            }
        }
        let input = [0.0; 5];
        for c in 0..5 {
            let h = 1e-6;
            let (mut yp, mut ym) = (y, y);
            yp[c] += h;
            ym[c] -= h;
            let (mut fp, mut fm) = ([0.0; 5], [0.0; 5]);
            s.rhs(&yp, &input, &mut fp);
            s.rhs(&ym, &input, &mut fm);
            for r in 0..5 {
                let fd = (fp[r] - fm[r]) / (2.0 * h);
                assert!(
                    (fd - j[(r, c)]).abs() < 1e-7 * (1.0 + fd.abs()),
                    "J[{r},{c}] = {} vs {fd}",
                    j[(r, c)]
                );
            }
        }
    }
}
