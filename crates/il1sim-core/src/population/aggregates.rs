//! Mergeable summaries of many subjects: histograms for percentile bands, target-attainment
//! counts by stratum, their bytes for shard files, and the subject ids of a shard. Integer
//! counts only, so merging shards in any order gives identical bytes.

use super::definition::*;
use super::outcome::SubjectOutcome;
use crate::model::definition::Model;
use crate::model::patient::Patient;

// ------------------------------------------------------------------ aggregates

/// Histogram layout: log-spaced bins over 1e-9..1e9 for concentrations and ratios,
/// linear bins over [0, 1] for fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binning {
    Log,
    Fraction,
}

pub const LOG_LO: f64 = -9.0;
/// Most band times per regimen: 4-hourly bands for 333 days, hourly for 83. Each band time
/// holds one histogram (3,601 or 10,000 counters) per observable and regimen, so the limit
/// keeps a mistyped interval (1e-7 h) an error rather than a multi-gigabyte allocation.
pub const MAX_BAND_TIMES: usize = 2_000;
pub const LOG_BINS_PER_DECADE: usize = 200;
pub const LOG_BINS: usize = 18 * LOG_BINS_PER_DECADE;
pub const FRACTION_BINS: usize = 10_000;

impl Binning {
    pub fn bins(&self) -> usize {
        match self {
            Binning::Log => LOG_BINS + 1,
            Binning::Fraction => FRACTION_BINS,
        }
    }
    /// Bin of a value; log bin 0 holds zero and negatives.
    fn bin(&self, v: f64) -> usize {
        match self {
            Binning::Log => {
                // Below the histogram's range (1e-9 of the unit) counts as zero.
                if v < 10f64.powf(LOG_LO) {
                    0
                } else {
                    let b = ((v.log10() - LOG_LO) * LOG_BINS_PER_DECADE as f64).floor();
                    1 + (b.max(0.0) as usize).min(LOG_BINS - 1)
                }
            }
            Binning::Fraction => {
                ((v.clamp(0.0, 1.0) * FRACTION_BINS as f64).floor() as usize).min(FRACTION_BINS - 1)
            }
        }
    }
    /// Value at position `x` in [0, 1] within bin `b` (linear in the bin's scale).
    fn value(&self, b: usize, x: f64) -> f64 {
        match self {
            Binning::Log => {
                if b == 0 {
                    0.0
                } else {
                    10f64.powf(LOG_LO + ((b - 1) as f64 + x) / LOG_BINS_PER_DECADE as f64)
                }
            }
            Binning::Fraction => (b as f64 + x) / FRACTION_BINS as f64,
        }
    }
}

/// Stratum labels for target attainment.
pub const RENAL_STRATA: [&str; 5] = [
    "CrCl >= 90",
    "CrCl 60-89",
    "CrCl 30-59",
    "CrCl 15-29",
    "CrCl < 15",
];
pub const WEIGHT_STRATA: [&str; 5] = [
    "weight < 20 kg",
    "weight 20-49 kg",
    "weight 50-69 kg",
    "weight 70-89 kg",
    "weight >= 90 kg",
];
pub const AGE_STRATA: [&str; 5] = [
    "age < 2 y",
    "age 2-11 y",
    "age 12-17 y",
    "age 18-64 y",
    "age >= 65 y",
];

fn strata(p: &Patient) -> [usize; 3] {
    let c = p.crcl_ml_min;
    let renal = if c >= 90.0 {
        0
    } else if c >= 60.0 {
        1
    } else if c >= 30.0 {
        2
    } else if c >= 15.0 {
        3
    } else {
        4
    };
    let w = p.weight_kg;
    let weight = if w < 20.0 {
        0
    } else if w < 50.0 {
        1
    } else if w < 70.0 {
        2
    } else if w < 90.0 {
        3
    } else {
        4
    };
    let a = p.age_y;
    let age = if a < 2.0 {
        0
    } else if a < 12.0 {
        1
    } else if a < 18.0 {
        2
    } else if a < 65.0 {
        3
    } else {
        4
    };
    [renal, 5 + weight, 10 + age]
}

/// Groups counted per target: overall, then 5 renal, 5 weight, 5 age strata.
pub const GROUPS: usize = 16;

/// First bytes of an aggregates file; 02 added the count of unsampled subjects.
const AGGREGATES_MAGIC: &[u8; 8] = b"IL1AGG02";

/// Mergeable summaries of many subjects: integer counts only.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    pub regimens: usize,
    pub observables: Vec<Binning>,
    pub times: usize,
    pub targets: usize,
    /// `[regimen][observable][time]` → counts per bin.
    pub histograms: Vec<u32>,
    /// `[regimen][target][group]` → (attained, evaluated).
    pub attainment: Vec<(u64, u64)>,
    /// Subjects simulated and failed, per regimen (failed includes subjects whose
    /// covariates could not be sampled).
    pub simulated: Vec<u64>,
    pub failed: Vec<u64>,
    /// Subjects whose covariates could not be sampled (counted once, not per regimen).
    pub unsampled: u64,
}

impl Aggregates {
    pub fn new(model: &Model, pop: &PopulationScenario) -> Aggregates {
        let observables: Vec<Binning> = pop
            .band_observables
            .iter()
            .map(|&o| {
                if model.observables[o].unit == "fraction" {
                    Binning::Fraction
                } else {
                    Binning::Log
                }
            })
            .collect();
        let bins: usize = observables.iter().map(|b| b.bins()).sum();
        let r = pop.regimens.len();
        Aggregates {
            regimens: r,
            times: pop.band_times_h.len(),
            targets: pop.targets.len(),
            histograms: vec![0; r * bins * pop.band_times_h.len()],
            attainment: vec![(0, 0); r * pop.targets.len() * GROUPS],
            simulated: vec![0; r],
            failed: vec![0; r],
            unsampled: 0,
            observables,
        }
    }

    /// Bytes the aggregates occupy (for the memory estimate).
    pub fn bytes(&self) -> usize {
        self.histograms.len() * 4 + self.attainment.len() * 16
    }

    fn hist_offset(&self, regimen: usize, obs: usize, time: usize) -> usize {
        let per_time: usize = self.observables.iter().map(|b| b.bins()).sum();
        let before: usize = self.observables[..obs].iter().map(|b| b.bins()).sum();
        regimen * per_time * self.times + time * per_time + before
    }

    pub fn add(&mut self, pop: &PopulationScenario, s: &SubjectOutcome) {
        let Some(draw) = &s.draw else {
            self.unsampled += 1;
            for r in 0..self.regimens {
                self.simulated[r] += 1;
                self.failed[r] += 1;
            }
            return;
        };
        let groups = strata(&draw.patient);
        for (r, out) in s.regimens.iter().enumerate() {
            self.simulated[r] += 1;
            let Ok(out) = out else {
                self.failed[r] += 1;
                continue;
            };
            for (k, series) in out.bands.iter().enumerate() {
                for (t, &v) in series.iter().enumerate() {
                    if v.is_finite() {
                        let off = self.hist_offset(r, k, t) + self.observables[k].bin(v);
                        self.histograms[off] += 1;
                    }
                }
            }
            for (ti, (spec, fi)) in pop.targets.iter().enumerate() {
                let v = out.figures[*fi];
                if !v.is_finite() {
                    continue;
                }
                let hit = match (spec.at_least, spec.below) {
                    (Some(x), _) => v >= x,
                    (_, Some(x)) => v < x,
                    _ => false,
                };
                for g in [0, 1 + groups[0], 1 + groups[1], 1 + groups[2]] {
                    let e = &mut self.attainment[(r * self.targets + ti) * GROUPS + g];
                    e.0 += hit as u64;
                    e.1 += 1;
                }
            }
        }
    }

    /// Add another set of aggregates (another shard or chunk) of the same population.
    pub fn merge(&mut self, other: &Aggregates) -> Result<(), String> {
        if self.histograms.len() != other.histograms.len()
            || self.attainment.len() != other.attainment.len()
            || self.regimens != other.regimens
        {
            return Err("aggregates come from different population files (shapes differ)".into());
        }
        for (a, b) in self.histograms.iter_mut().zip(&other.histograms) {
            *a += b;
        }
        for (a, b) in self.attainment.iter_mut().zip(&other.attainment) {
            a.0 += b.0;
            a.1 += b.1;
        }
        for r in 0..self.regimens {
            self.simulated[r] += other.simulated[r];
            self.failed[r] += other.failed[r];
        }
        self.unsampled += other.unsampled;
        Ok(())
    }

    /// Percentiles (fractions in [0, 1]) of one observable at one time, from its histogram.
    pub fn percentiles(&self, regimen: usize, obs: usize, time: usize, ps: &[f64]) -> Vec<f64> {
        let b = self.observables[obs];
        let off = self.hist_offset(regimen, obs, time);
        let counts = &self.histograms[off..off + b.bins()];
        let total: u64 = counts.iter().map(|&c| c as u64).sum();
        if total == 0 {
            return vec![f64::NAN; ps.len()];
        }
        ps.iter()
            .map(|&p| {
                let target = p * total as f64;
                let mut cum = 0.0;
                for (i, &c) in counts.iter().enumerate() {
                    let next = cum + c as f64;
                    if c > 0 && next >= target {
                        let x = if c == 0 {
                            0.0
                        } else {
                            ((target - cum) / c as f64).clamp(0.0, 1.0)
                        };
                        return b.value(i, x);
                    }
                    cum = next;
                }
                b.value(counts.len() - 1, 1.0)
            })
            .collect()
    }

    /// Serialise (little-endian; a short header of dimensions) for shard files.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(64 + self.histograms.len() * 4 + self.attainment.len() * 16);
        out.extend_from_slice(AGGREGATES_MAGIC);
        for v in [
            self.regimens,
            self.observables.len(),
            self.times,
            self.targets,
            self.histograms.len(),
            self.attainment.len(),
        ] {
            out.extend_from_slice(&(v as u64).to_le_bytes());
        }
        for b in &self.observables {
            out.push(match b {
                Binning::Log => 0,
                Binning::Fraction => 1,
            });
        }
        for r in 0..self.regimens {
            out.extend_from_slice(&self.simulated[r].to_le_bytes());
            out.extend_from_slice(&self.failed[r].to_le_bytes());
        }
        out.extend_from_slice(&self.unsampled.to_le_bytes());
        for h in &self.histograms {
            out.extend_from_slice(&h.to_le_bytes());
        }
        for (a, e) in &self.attainment {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&e.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Aggregates, String> {
        let bad = || "not an il1sim aggregates file (truncated or wrong format)".to_string();
        if bytes.len() < 56 || &bytes[..8] != AGGREGATES_MAGIC {
            return Err(bad());
        }
        let mut pos = 8;
        let u64_at = |pos: &mut usize| -> Result<u64, String> {
            let s = bytes.get(*pos..*pos + 8).ok_or_else(bad)?;
            *pos += 8;
            Ok(u64::from_le_bytes(s.try_into().map_err(|_| bad())?))
        };
        let dims: Vec<usize> = (0..6)
            .map(|_| u64_at(&mut pos).map(|v| v as usize))
            .collect::<Result<_, _>>()?;
        let (regimens, n_obs, times, targets, n_hist, n_att) =
            (dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]);
        let observables = bytes
            .get(pos..pos + n_obs)
            .ok_or_else(bad)?
            .iter()
            .map(|b| {
                if *b == 1 {
                    Binning::Fraction
                } else {
                    Binning::Log
                }
            })
            .collect();
        pos += n_obs;
        let mut simulated = vec![];
        let mut failed = vec![];
        for _ in 0..regimens {
            simulated.push(u64_at(&mut pos)?);
            failed.push(u64_at(&mut pos)?);
        }
        let unsampled = u64_at(&mut pos)?;
        let hist_bytes = bytes.get(pos..pos + n_hist * 4).ok_or_else(bad)?;
        let histograms = hist_bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        pos += n_hist * 4;
        let mut attainment = Vec::with_capacity(n_att);
        for _ in 0..n_att {
            let a = u64_at(&mut pos)?;
            let e = u64_at(&mut pos)?;
            attainment.push((a, e));
        }
        if pos != bytes.len() {
            return Err(bad());
        }
        Ok(Aggregates {
            regimens,
            observables,
            times,
            targets,
            histograms,
            attainment,
            simulated,
            failed,
            unsampled,
        })
    }

    /// Label of attainment group `g` (see [`GROUPS`]).
    pub fn group_label(g: usize) -> (&'static str, &'static str) {
        match g {
            0 => ("overall", "all"),
            1..=5 => ("renal function", RENAL_STRATA[g - 1]),
            6..=10 => ("weight", WEIGHT_STRATA[g - 6]),
            _ => ("age", AGE_STRATA[g - 11]),
        }
    }

    pub fn attainment_of(&self, regimen: usize, target: usize, group: usize) -> (u64, u64) {
        self.attainment[(regimen * self.targets + target) * GROUPS + group]
    }
}

/// Subject ids of shard `k` (1-based) of `n`: contiguous blocks, so concatenating shards in
/// order gives the subjects in id order.
pub fn shard_range(subjects: u64, k: u64, n: u64) -> std::ops::Range<u64> {
    // In u128: subjects × k overflows u64 for large shard counts.
    let at = |k: u64| (subjects as u128 * k as u128 / n as u128) as u64;
    at(k - 1)..at(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_percentiles_are_close_to_exact() {
        let b = Binning::Log;
        let mut counts = vec![0u32; b.bins()];
        let values: Vec<f64> = (1..=1000).map(|i| i as f64 * 0.37).collect();
        for &v in &values {
            counts[b.bin(v)] += 1;
        }
        let agg = Aggregates {
            regimens: 1,
            observables: vec![b],
            times: 1,
            targets: 0,
            histograms: counts,
            attainment: vec![],
            simulated: vec![1000],
            failed: vec![0],
            unsampled: 0,
        };
        let p = agg.percentiles(0, 0, 0, &[0.05, 0.5, 0.95]);
        for (got, want) in p.iter().zip([0.05 * 370.0, 0.5 * 370.0, 0.95 * 370.0]) {
            assert!(((got - want) / want).abs() < 0.012, "{got} vs {want}");
        }
        let back = Aggregates::from_bytes(&agg.to_bytes()).unwrap();
        assert_eq!(back, agg);
    }

    #[test]
    fn shards_cover_all_subjects_once() {
        let n = 1003;
        let mut seen = vec![0; n as usize];
        for k in 1..=7 {
            for i in shard_range(n, k, 7) {
                seen[i as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
    }

    #[test]
    fn shard_ranges_do_not_overflow() {
        let r = shard_range(MAX_SUBJECTS, u64::MAX / 2, u64::MAX / 2);
        assert_eq!(r.end, MAX_SUBJECTS);
        assert!(shard_range(3, 1, 4).is_empty());
    }
}
