//! Residual error of each observable and the likelihood of one observation given its
//! prediction: combined additive and proportional error on the observable's own unit,
//! y = f (1 + b ε₁) + a ε₂, so Var(y) = a² + (b f)² (NONMEM's Y = F + F·EPS(1) + EPS(2), the
//! form `population::outcome` simulates); samples below the LLOQ by Beal's M3 method, the
//! probability of a value below the limit, −2 log Φ((LLOQ − f) / SD).

use crate::exchange::dataset::subjects::Observation;
use crate::population::definition::ResidualSpec;
use statrs::distribution::{ContinuousCDF, Normal};

/// ln(2π), the constant of the normal density's −2 log.
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Smallest −2 log Φ argument's probability kept finite: a BLQ sample whose prediction is
/// tens of SDs above the limit contributes −2 ln(1e-300) ≈ 1,381 instead of infinity, so an
/// optimiser far from the mode still sees a finite, decreasing objective.
const MIN_CENSORED_PROBABILITY: f64 = 1e-300;

#[derive(Debug, Clone, PartialEq)]
pub struct ResidualError {
    /// Index of the observable in `Model::observables`.
    pub observable: usize,
    /// Additive SD (the observable's unit).
    pub additive: f64,
    /// Proportional SD (fraction of the prediction).
    pub proportional: f64,
}

impl ResidualError {
    pub fn from_spec(observable: usize, spec: &ResidualSpec) -> ResidualError {
        ResidualError {
            observable,
            additive: spec.additive,
            proportional: spec.proportional,
        }
    }

    /// Variance of a measurement whose prediction is `f` (squared unit of the observable).
    pub fn variance(&self, f: f64) -> f64 {
        self.additive * self.additive + (self.proportional * f) * (self.proportional * f)
    }

    pub fn sd(&self, f: f64) -> f64 {
        self.variance(f).sqrt()
    }

    /// −2 log likelihood of one observation given its prediction `f`: the normal density for
    /// a value, M3 for a censored sample, 0 for a prediction-only row (MDV = 1). `None` when
    /// a censored sample has no LLOQ (the caller names the record).
    pub fn m2ll(&self, obs: &Observation, f: f64) -> Option<f64> {
        let var = self.variance(f);
        if obs.below_lloq {
            let lloq = obs.lloq?;
            let p = Normal::standard().cdf((lloq - f) / var.sqrt());
            return Some(-2.0 * p.max(MIN_CENSORED_PROBABILITY).ln());
        }
        Some(match obs.value {
            Some(y) => LN_2PI + var.ln() + (y - f) * (y - f) / var,
            None => 0.0,
        })
    }
}

/// The residual errors of a fit, at most one per observable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResidualModel {
    pub errors: Vec<ResidualError>,
}

impl ResidualModel {
    /// From a population file's `[[population.residual]]` entries (observable index, spec).
    pub fn from_specs(specs: &[(usize, ResidualSpec)]) -> ResidualModel {
        ResidualModel {
            errors: specs
                .iter()
                .map(|(i, s)| ResidualError::from_spec(*i, s))
                .collect(),
        }
    }

    pub fn for_observable(&self, observable: usize) -> Option<&ResidualError> {
        self.errors.iter().find(|e| e.observable == observable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(value: Option<f64>, lloq: Option<f64>, below: bool) -> Observation {
        Observation {
            time_h: 1.0,
            observable: 0,
            value,
            lloq,
            below_lloq: below,
            line: 2,
        }
    }

    #[test]
    fn normal_density_and_m3() {
        let e = ResidualError {
            observable: 0,
            additive: 3.0,
            proportional: 0.0,
        };
        // At the prediction: ln 2π + ln 9.
        let v = e.m2ll(&obs(Some(10.0), None, false), 10.0).unwrap();
        assert!((v - (LN_2PI + 9f64.ln())).abs() < 1e-12);
        // One SD away adds 1.
        let w = e.m2ll(&obs(Some(13.0), None, false), 10.0).unwrap();
        assert!((w - v - 1.0).abs() < 1e-12);
        // M3 with the prediction at the limit: −2 ln 0.5.
        let c = e.m2ll(&obs(None, Some(10.0), true), 10.0).unwrap();
        assert!((c - (-2.0 * 0.5f64.ln())).abs() < 1e-12);
        // Censored without a limit cannot be evaluated; MDV rows contribute nothing.
        assert!(e.m2ll(&obs(None, None, true), 10.0).is_none());
        assert_eq!(e.m2ll(&obs(None, None, false), 10.0), Some(0.0));
    }

    #[test]
    fn combined_variance() {
        let e = ResidualError {
            observable: 0,
            additive: 0.1,
            proportional: 0.4,
        };
        assert!((e.variance(10.0) - (0.01 + 16.0)).abs() < 1e-12);
    }
}
