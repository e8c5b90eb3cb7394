//! Clinical response of rheumatoid arthritis: ACR20/50/70 from a latent improvement variable
//! (the structure of Ait-Oudhia, Lowe & Mager 2012) driven by the mechanistic model's IL-1
//! signal, and virtual trials of it.
//!
//! A latent variable `A` starts at 1 (no improvement) and relaxes with mean time `tau`
//! towards `1 − P(t) − E(t)`: `P` is the placebo (background therapy, regression to the mean)
//! build-up, `E = emax · D` the drug effect, with `D = 1 − S/S₀` the fractional inhibition of
//! the IL-1 signal the simulation produces. A patient's probability of an ACRx response is
//! `logistic(logit(1 − x/100) + logit(1 − A(T)) + η)`; a virtual patient responds at level x
//! when one uniform draw `U < P(ACRx)`, so the levels are nested. Parameters live in
//! `models/ra-acr-response.toml` with units and sources.

use crate::dosing::regimen::HOURS_PER_DAY;
use crate::error::SimError;
use crate::model::definition::Model;
use crate::solve::subject::Subject;
use serde::Deserialize;

/// The bundled RA response model (`models/ra-acr-response.toml`).
pub const RA_ACR_RESPONSE_TOML: &str = include_str!("../../../../models/ra-acr-response.toml");

/// Time step of the driver course fed to the latent variable (h): the IL-1 signal varies
/// within a daily dosing interval, the latent variable over weeks.
pub const DRIVER_STEP_H: f64 = 1.0;

/// Half-width of the η quadrature in standard deviations, and its number of intervals: the
/// normal density beyond 8 sd is below 1e-14.
const QUAD_HALF_WIDTH_SD: f64 = 8.0;
const QUAD_INTERVALS: usize = 1600;
/// Latent values are kept inside (ε, 1 − ε) before the logit.
const LOGIT_EPS: f64 = 1e-12;

// ------------------------------------------------------------------ response model file

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseFile {
    response: ResponseHeader,
    parameters: ResponseParameters,
    levels: Vec<LevelSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseHeader {
    name: String,
    description: String,
    driver: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub value: f64,
    pub unit: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseParameters {
    tau: Param,
    k_placebo: Param,
    eta_sd: Param,
    placebo_amplitude: Param,
    emax: Param,
    calibration_placebo_amplitude: Param,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelSpec {
    name: String,
    improvement_percent: f64,
    source: String,
}

/// One response level (ACR20, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub name: String,
    pub improvement_percent: f64,
    /// logit(1 − x/100).
    pub threshold: f64,
    pub source: String,
}

/// The checked response model.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseModel {
    pub name: String,
    pub description: String,
    /// Observable whose fall from 1 is the driver (a ratio to the untreated value).
    pub driver: String,
    pub tau_h: f64,
    pub k_placebo_per_h: f64,
    pub eta_sd: f64,
    /// Placebo amplitude of the reference trial (Cohen 2004), the default of a trial.
    pub placebo_amplitude: f64,
    pub emax: f64,
    /// Placebo amplitude of the trial the drug effect was calibrated on (Bresnihan 1998).
    pub calibration_placebo_amplitude: f64,
    pub levels: Vec<Level>,
    /// Every parameter by name, as written (for listings).
    pub parameters: Vec<(String, Param)>,
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl ResponseModel {
    /// The bundled RA model.
    pub fn ra_acr() -> ResponseModel {
        ResponseModel::from_toml(RA_ACR_RESPONSE_TOML, "models/ra-acr-response.toml")
            .expect("the bundled response model is checked by the test suite")
    }

    /// Parse and check a response model file.
    pub fn from_toml(text: &str, origin: &str) -> Result<ResponseModel, String> {
        let f: ResponseFile = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        let p = &f.parameters;
        let check = |name: &str, q: &Param, unit: &str, ok: bool, allowed: &str| {
            if q.unit != unit {
                return Err(format!(
                    "{origin}: parameters.{name}: unit '{}' is not allowed; use '{unit}'",
                    q.unit
                ));
            }
            if !(q.value.is_finite() && ok) {
                return Err(format!(
                    "{origin}: parameters.{name}: {} is not allowed; {allowed}",
                    q.value
                ));
            }
            Ok(())
        };
        check("tau", &p.tau, "day", p.tau.value > 0.0, "must be > 0")?;
        check(
            "k_placebo",
            &p.k_placebo,
            "1/day",
            p.k_placebo.value > 0.0,
            "must be > 0",
        )?;
        check(
            "eta_sd",
            &p.eta_sd,
            "1",
            p.eta_sd.value >= 0.0,
            "must be >= 0",
        )?;
        for (name, q) in [
            ("placebo_amplitude", &p.placebo_amplitude),
            ("emax", &p.emax),
            (
                "calibration_placebo_amplitude",
                &p.calibration_placebo_amplitude,
            ),
        ] {
            check(
                name,
                q,
                "1",
                (0.0..1.0).contains(&q.value),
                "must be in [0, 1)",
            )?;
        }
        if f.levels.is_empty() {
            return Err(format!("{origin}: levels: at least one response level"));
        }
        let mut levels: Vec<Level> = Vec::new();
        for (i, l) in f.levels.iter().enumerate() {
            let x = l.improvement_percent;
            if !(x > 0.0 && x < 100.0) {
                return Err(format!(
                    "{origin}: levels[{i}].improvement_percent: {x} is not allowed; 0 < x < 100"
                ));
            }
            if let Some(prev) = levels.last() {
                if x <= prev.improvement_percent {
                    return Err(format!("{origin}: levels[{i}].improvement_percent: {x} must be above the previous level's {} (levels are ordered)", prev.improvement_percent));
                }
            }
            if levels.iter().any(|o| o.name == l.name) {
                return Err(format!(
                    "{origin}: levels[{i}].name: '{}' is used twice",
                    l.name
                ));
            }
            levels.push(Level {
                name: l.name.clone(),
                improvement_percent: x,
                threshold: logit(1.0 - x / 100.0),
                source: l.source.clone(),
            });
        }
        let parameters = vec![
            ("tau".to_string(), p.tau.clone()),
            ("k_placebo".to_string(), p.k_placebo.clone()),
            ("eta_sd".to_string(), p.eta_sd.clone()),
            ("placebo_amplitude".to_string(), p.placebo_amplitude.clone()),
            ("emax".to_string(), p.emax.clone()),
            (
                "calibration_placebo_amplitude".to_string(),
                p.calibration_placebo_amplitude.clone(),
            ),
        ];
        Ok(ResponseModel {
            name: f.response.name,
            description: f.response.description,
            driver: f.response.driver,
            tau_h: p.tau.value * HOURS_PER_DAY,
            k_placebo_per_h: p.k_placebo.value / HOURS_PER_DAY,
            eta_sd: p.eta_sd.value,
            placebo_amplitude: p.placebo_amplitude.value,
            emax: p.emax.value,
            calibration_placebo_amplitude: p.calibration_placebo_amplitude.value,
            levels,
            parameters,
        })
    }

    /// A copy with another drug effect (for calibration).
    pub fn with_emax(&self, emax: f64) -> ResponseModel {
        ResponseModel {
            emax,
            ..self.clone()
        }
    }

    /// Index of the driver observable in `model`, or a clear error.
    pub fn driver_index(&self, model: &Model) -> Result<usize, String> {
        model.observable_id(&self.driver).ok_or_else(|| {
            format!(
                "response model '{}': driver '{}' is not an observable of model '{}'",
                self.name, self.driver, model.name
            )
        })
    }

    /// Latent variable at the last time of `times_h` (sorted, starting at 0), with the driver
    /// `d` (fractional inhibition) at those times, linear in between. Exact for a driver
    /// linear between the points (exponential integrator); the placebo term is evaluated at
    /// the points and treated the same way.
    pub fn latent(&self, times_h: &[f64], d: &[f64], placebo_amplitude: f64) -> f64 {
        assert_eq!(times_h.len(), d.len(), "one driver value per time");
        let target = |t: f64, d: f64| {
            1.0 - placebo_amplitude * (1.0 - (-self.k_placebo_per_h * t).exp()) - self.emax * d
        };
        let mut a = 1.0;
        for k in 1..times_h.len() {
            let h = times_h[k] - times_h[k - 1];
            if h <= 0.0 {
                continue;
            }
            let f0 = target(times_h[k - 1], d[k - 1]);
            let f1 = target(times_h[k], d[k]);
            let e = (-h / self.tau_h).exp();
            let slope = (f1 - f0) / h;
            a = f1 + (a - f0) * e - slope * self.tau_h * (1.0 - e);
        }
        a
    }

    /// Latent variable with no drug after `assessment_h` (a placebo patient).
    pub fn placebo_latent(&self, assessment_h: f64, placebo_amplitude: f64) -> f64 {
        let n = (assessment_h / DRIVER_STEP_H).ceil().max(1.0) as usize;
        let times: Vec<f64> = (0..=n)
            .map(|k| (k as f64 * DRIVER_STEP_H).min(assessment_h))
            .collect();
        self.latent(&times, &vec![0.0; times.len()], placebo_amplitude)
    }

    /// logit(1 − A): the patient's improvement on the logit scale.
    pub fn improvement_logit(a: f64) -> f64 {
        logit((1.0 - a).clamp(LOGIT_EPS, 1.0 - LOGIT_EPS))
    }

    /// A patient's probability of each response level, given latent `a` and random effect `eta`.
    pub fn probabilities(&self, a: f64, eta: f64) -> Vec<f64> {
        let u = Self::improvement_logit(a);
        self.levels
            .iter()
            .map(|l| logistic(l.threshold + u + eta))
            .collect()
    }

    /// Population-mean probability of each level at latent `a` (η integrated out by
    /// trapezoidal quadrature over ±8 sd).
    pub fn expected(&self, a: f64) -> Vec<f64> {
        if self.eta_sd == 0.0 {
            return self.probabilities(a, 0.0);
        }
        let u = Self::improvement_logit(a);
        let h = 2.0 * QUAD_HALF_WIDTH_SD / QUAD_INTERVALS as f64;
        let norm = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
        self.levels
            .iter()
            .map(|l| {
                (0..=QUAD_INTERVALS)
                    .map(|k| {
                        let z = -QUAD_HALF_WIDTH_SD + k as f64 * h;
                        let w = if k == 0 || k == QUAD_INTERVALS {
                            0.5
                        } else {
                            1.0
                        };
                        w * h
                            * norm
                            * (-0.5 * z * z).exp()
                            * logistic(l.threshold + u + self.eta_sd * z)
                    })
                    .sum()
            })
            .collect()
    }

    /// Placebo amplitude that gives `target` (a fraction) as the expected first-level
    /// response after `assessment_h` (bisection; the response rises with the amplitude).
    pub fn calibrate_placebo_amplitude(&self, assessment_h: f64, target: f64) -> f64 {
        bisect(0.0, 0.999, |amp| {
            self.expected(self.placebo_latent(assessment_h, amp))[0] - target
        })
    }

    /// Drug effect `emax` that gives `target` as the expected first-level response for the
    /// driver course (`times_h`, `d`) with placebo amplitude `amp`.
    pub fn calibrate_emax(&self, times_h: &[f64], d: &[f64], amp: f64, target: f64) -> f64 {
        bisect(0.0, 0.999 - amp, |emax| {
            self.with_emax(emax)
                .expected(self.with_emax(emax).latent(times_h, d, amp))[0]
                - target
        })
    }
}

/// Bisection for an increasing function with a root in [lo, hi] (60 halvings: the bracket
/// shrinks below double precision). Also used by the calibration examples.
pub fn bisect(mut lo: f64, mut hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..60 {
        let m = 0.5 * (lo + hi);
        if f(m) < 0.0 {
            lo = m
        } else {
            hi = m
        }
    }
    0.5 * (lo + hi)
}

/// Driver course of one subject and regimen: times (h, from 0 to `horizon_h` every
/// [`DRIVER_STEP_H`]) and D = 1 − driver observable, clamped to [0, 1].
pub fn driver_course(
    subject: &Subject,
    regimen: &crate::dosing::regimen::Regimen,
    horizon_h: f64,
    driver: usize,
) -> Result<(Vec<f64>, Vec<f64>), SimError> {
    let n = (horizon_h / DRIVER_STEP_H).ceil().max(1.0) as usize;
    let times: Vec<f64> = (0..=n)
        .map(|k| (k as f64 * DRIVER_STEP_H).min(horizon_h))
        .collect();
    let (traj, _) = subject.simulate(regimen, horizon_h, &times)?;
    let d: Vec<f64> = traj
        .states
        .iter()
        .map(|y| (1.0 - subject.observe(y)[driver]).clamp(0.0, 1.0))
        .collect();
    Ok((traj.times_h, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_model_parses_with_ordered_thresholds() {
        let r = ResponseModel::ra_acr();
        assert_eq!(r.levels.len(), 3);
        assert!((r.levels[0].threshold - 4f64.ln()).abs() < 1e-12);
        assert!(r.levels[1].threshold.abs() < 1e-12);
        assert!(r.levels[0].threshold > r.levels[1].threshold);
        assert!(r.levels[1].threshold > r.levels[2].threshold);
    }

    #[test]
    fn latent_matches_closed_form_for_constant_drive() {
        // No placebo, constant driver D: A(t) = 1 − E (1 − exp(−t/τ)).
        let r = ResponseModel::ra_acr().with_emax(0.3);
        let t: Vec<f64> = (0..=500).map(|k| k as f64 * 3.0).collect();
        let d = vec![0.8; t.len()];
        let a = r.latent(&t, &d, 0.0);
        let exact = 1.0 - 0.3 * 0.8 * (1.0 - (-1500.0 / r.tau_h).exp());
        assert!((a - exact).abs() < 1e-12, "{a} vs {exact}");
    }

    #[test]
    fn latent_placebo_matches_closed_form() {
        // dA/dt = (1 − P(1 − e^{−kt}) − A)/τ: A = 1 − P[(1 − e^{−t/τ}) − (e^{−kt} − e^{−t/τ})/(1 − kτ)].
        let r = ResponseModel::ra_acr();
        let (p, t) = (0.2, 168.0 * 24.0);
        let (k, tau) = (r.k_placebo_per_h, r.tau_h);
        let exact = 1.0
            - p * ((1.0 - (-t / tau).exp())
                - ((-k * t).exp() - (-t / tau).exp()) / (1.0 - k * tau));
        let a = r.placebo_latent(t, p);
        assert!((a - exact).abs() < 1e-6, "{a} vs {exact}");
    }

    #[test]
    fn expectation_without_variability_is_the_logistic() {
        let mut r = ResponseModel::ra_acr();
        let a = 0.9;
        let with = r.expected(a);
        r.eta_sd = 0.0;
        let without = r.expected(a);
        let direct = r.probabilities(a, 0.0);
        assert_eq!(without, direct);
        // Variability pulls probabilities below 1/2 up (convexity of the logistic there).
        assert!(with[0] > without[0]);
    }

    #[test]
    fn bad_files_give_clear_errors() {
        let bad_unit = RA_ACR_RESPONSE_TOML.replace(
            "tau = { value = 55.9, unit = \"day\"",
            "tau = { value = 55.9, unit = \"h\"",
        );
        let e = ResponseModel::from_toml(&bad_unit, "x.toml").unwrap_err();
        assert!(e.contains("parameters.tau") && e.contains("'day'"), "{e}");
        let bad_order = RA_ACR_RESPONSE_TOML
            .replace("improvement_percent = 70.0", "improvement_percent = 40.0");
        let e = ResponseModel::from_toml(&bad_order, "x.toml").unwrap_err();
        assert!(e.contains("levels[2]") && e.contains("ordered"), "{e}");
    }
}
