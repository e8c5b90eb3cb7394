//! Visual predictive check: the dataset's design (its subjects' covariates, doses and sampling
//! times) simulated `replicates` times with a fit's estimates (new η from Ω̂ and new residuals
//! each time), and per time bin the observed 5th, 50th and 95th percentiles against the 90%
//! bands (5th–95th percentile over replicates) of the same percentiles of the simulations.
//!
//! Binning: per observable, the times of the observed values are sorted and cut into `bins`
//! groups of about equal counts (quantile binning); a cut never separates equal times, so a
//! nominal sampling time stays in one bin. Percentiles interpolate linearly between order
//! statistics (Hyndman–Fan type 7, R's default). Samples below the LLOQ are left out of the
//! observed and the simulated percentiles alike (a simulated value below the LLOQ of its
//! record is dropped), so both describe the quantified data.
//!
//! Replicate r, subject i draws from its own stream (`population::sampling::subject_rng` of
//! (seed + r, i)), so the VPC does not depend on the thread count.

use super::foce::{has_value, PopulationParameters};
use crate::exchange::dataset::predict::predict_subject;
use crate::exchange::dataset::subjects::Dataset;
use crate::model::definition::Model;
use crate::population::sampling::subject_rng;
use crate::solve::options::SolverOptions;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// The percentiles a VPC shows (fractions).
pub const PERCENTILES: [f64; 3] = [0.05, 0.5, 0.95];
/// The band of each simulated percentile: its 5th and 95th percentiles over replicates (a
/// 90% band), and its median.
pub const BAND: [f64; 3] = [0.05, 0.5, 0.95];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpcOptions {
    pub replicates: usize,
    pub bins: usize,
    pub seed: u64,
}

impl Default for VpcOptions {
    fn default() -> Self {
        VpcOptions {
            replicates: 200,
            bins: 8,
            seed: 1,
        }
    }
}

/// One time bin of one observable.
#[derive(Debug, Clone, PartialEq)]
pub struct VpcBin {
    pub first_h: f64,
    pub last_h: f64,
    /// Median time of the bin's observations (where the bin is drawn).
    pub time_h: f64,
    pub observations: usize,
    /// Observed 5th, 50th, 95th percentiles.
    pub observed: [f64; 3],
    /// For each of those percentiles, the simulated band: [5th, 50th, 95th] over replicates.
    pub simulated: [[f64; 3]; 3],
}

#[derive(Debug, Clone, PartialEq)]
pub struct VpcObservable {
    pub observable: usize,
    pub bins: Vec<VpcBin>,
    /// Share of observations outside the simulated 90% interval of their bin's simulated
    /// 5th–95th percentiles (for a summary line; a good model has few).
    pub observed_outside_band: f64,
}

/// Percentile `q` (0–1) of sorted values, linear between order statistics (type 7).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Bin edges of sorted times: indices where each bin starts, about equal counts, never
/// between equal times.
fn bin_starts(sorted_times: &[f64], bins: usize) -> Vec<usize> {
    let n = sorted_times.len();
    let mut starts = vec![0];
    for b in 1..bins {
        let mut k = (b * n) / bins;
        while k < n && k > 0 && sorted_times[k] == sorted_times[k - 1] {
            k += 1;
        }
        if k < n && k > *starts.last().expect("one start") {
            starts.push(k);
        }
    }
    starts
}

/// Simulate the VPC.
pub fn vpc(
    model: &Model,
    dataset: &Dataset,
    typical: &[(String, f64)],
    eta_parameters: &[usize],
    params: &PopulationParameters,
    options: &VpcOptions,
) -> Result<Vec<VpcObservable>, String> {
    if options.replicates < 2 || options.bins < 1 {
        return Err(format!(
            "{} replicates and {} bins are not allowed; at least 2 replicates and 1 bin",
            options.replicates, options.bins
        ));
    }
    // sims[r][i][j]: replicate r, subject i, observation j (None: censored or no value).
    let sims: Vec<Result<Vec<Vec<Option<f64>>>, String>> = (0..options.replicates)
        .into_par_iter()
        .map(|r| {
            dataset
                .subjects
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let mut rng = subject_rng(options.seed.wrapping_add(r as u64), i as u64);
                    let multipliers: Vec<(usize, f64)> = eta_parameters
                        .iter()
                        .zip(&params.omega)
                        .map(|(&id, &w)| {
                            let z: f64 = StandardNormal.sample(&mut rng);
                            (id, (w.sqrt() * z).exp())
                        })
                        .collect();
                    let f =
                        predict_subject(model, s, typical, &multipliers, SolverOptions::DEFAULT)
                            .map_err(|e| e.to_string())?;
                    Ok(s.observations
                        .iter()
                        .zip(f)
                        .map(|(o, f)| {
                            let e1: f64 = StandardNormal.sample(&mut rng);
                            let e2: f64 = StandardNormal.sample(&mut rng);
                            let err = params
                                .residual
                                .iter()
                                .find(|r| r.observable == o.observable)?;
                            let y = f * (1.0 + err.proportional * e1) + err.additive * e2;
                            match o.lloq {
                                Some(l) if y < l => None,
                                _ if o.value.is_none() && !o.below_lloq => None,
                                _ => Some(y),
                            }
                        })
                        .collect())
                })
                .collect()
        })
        .collect();
    let sims: Vec<Vec<Vec<Option<f64>>>> = sims.into_iter().collect::<Result<_, _>>()?;
    let mut observables: Vec<usize> = dataset
        .subjects
        .iter()
        .flat_map(|s| {
            s.observations
                .iter()
                .filter(|o| has_value(o))
                .map(|o| o.observable)
        })
        .collect();
    observables.sort_unstable();
    observables.dedup();
    let mut out = Vec::new();
    for &obs in &observables {
        // (time, subject, observation index)
        let mut records: Vec<(f64, usize, usize)> = Vec::new();
        for (i, s) in dataset.subjects.iter().enumerate() {
            for (j, o) in s.observations.iter().enumerate() {
                if o.observable == obs && has_value(o) {
                    records.push((o.time_h, i, j));
                }
            }
        }
        records.sort_by(|a, b| a.0.total_cmp(&b.0));
        let times: Vec<f64> = records.iter().map(|r| r.0).collect();
        let starts = bin_starts(&times, options.bins);
        let mut bins = Vec::new();
        let mut outside = 0usize;
        for (b, &start) in starts.iter().enumerate() {
            let end = starts.get(b + 1).copied().unwrap_or(records.len());
            let recs = &records[start..end];
            let mut observed: Vec<f64> = recs
                .iter()
                .map(|&(_, i, j)| dataset.subjects[i].observations[j].value.expect("valued"))
                .collect();
            observed.sort_by(f64::total_cmp);
            let mut per_percentile: [Vec<f64>; 3] = [vec![], vec![], vec![]];
            for rep in &sims {
                let mut v: Vec<f64> = recs.iter().filter_map(|&(_, i, j)| rep[i][j]).collect();
                v.sort_by(f64::total_cmp);
                for (k, &q) in PERCENTILES.iter().enumerate() {
                    per_percentile[k].push(percentile(&v, q));
                }
            }
            let mut simulated = [[0.0; 3]; 3];
            for k in 0..3 {
                per_percentile[k].sort_by(f64::total_cmp);
                for (l, &q) in BAND.iter().enumerate() {
                    simulated[k][l] = percentile(&per_percentile[k], q);
                }
            }
            outside += observed
                .iter()
                .filter(|&&y| y < simulated[0][0] || y > simulated[2][2])
                .count();
            let mut t: Vec<f64> = recs.iter().map(|r| r.0).collect();
            t.sort_by(f64::total_cmp);
            bins.push(VpcBin {
                first_h: t[0],
                last_h: t[t.len() - 1],
                time_h: percentile(&t, 0.5),
                observations: recs.len(),
                observed: [
                    percentile(&observed, PERCENTILES[0]),
                    percentile(&observed, PERCENTILES[1]),
                    percentile(&observed, PERCENTILES[2]),
                ],
                simulated,
            });
        }
        out.push(VpcObservable {
            observable: obs,
            bins,
            observed_outside_band: outside as f64 / records.len().max(1) as f64,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_bins() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert!((percentile(&v, 0.05) - 1.2).abs() < 1e-12);
        assert_eq!(percentile(&v, 1.0), 5.0);
        // Equal times stay together: 4 bins of 8 times with a block of four 2 h samples.
        let t = [1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 4.0];
        assert_eq!(bin_starts(&t, 4), vec![0, 2, 6]);
    }
}
