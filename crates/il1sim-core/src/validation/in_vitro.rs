//! The in-vitro experiment: IL-1Ra molar excess for half inhibition of IL-1β signalling with
//! free ligands clamped, as in cell culture.

use super::protocols::adult;
use crate::error::{ModelError, SimError};
use crate::model::definition::Model;
use crate::solve::options::SolverOptions;
use crate::solve::subject::Subject;

/// Hours of culture before reading the in-vitro signal.
const IN_VITRO_CULTURE_H: f64 = 100.0;
/// IL-1β concentration treated as saturating (over 300 x KD).
const IN_VITRO_SATURATING_NM: f64 = 50.0;

/// In vitro: free IL-1β clamped (no PK, no production), IL-1RI turnover and binding as in the
/// model. Find the IL-1β concentration giving half the maximal signal (EC50), then the IL-1Ra
/// concentration halving the signal at that IL-1β; return IL-1Ra / IL-1β.
pub(super) fn molar_excess(model: &Model) -> Result<f64, SimError> {
    let s = Subject::new(
        model,
        &adult("healthy", 100.0),
        &[],
        SolverOptions::default(),
    )?;
    let id = |n: &str| {
        model.species_id(n).ok_or_else(|| {
            SimError::from(ModelError::invalid(
                "model",
                format!("the in-vitro experiment needs species '{n}'"),
            ))
        })
    };
    let (il1b, il1ra, il1a, drug) = (
        id("il1b_tissue")?,
        id("il1ra_tissue")?,
        id("il1a_tissue")?,
        id("anakinra_tissue")?,
    );
    let clamp = [il1b, il1ra, il1a, drug];
    let mut well = s.clone();
    well.system = s.system.clamped(&clamp);
    let n_species = model.species.len();
    let signal_at = |a: f64, b: f64| -> Result<f64, SimError> {
        let mut y = s.baseline.clone();
        y[il1b] = a;
        y[il1ra] = b;
        y[il1a] = 0.0;
        y[drug] = 0.0;
        // Culture until receptor turnover settles (20 receptor half-lives), then polish.
        let rates = vec![0.0; well.system.n];
        let end = well.integrate(
            &y,
            &rates,
            0.0,
            IN_VITRO_CULTURE_H,
            &[],
            &[],
            &mut |_: f64, _: &[f64]| {},
        )?;
        let scale = well.atol(&SolverOptions {
            atol: 1.0,
            ..SolverOptions::DEFAULT
        });
        let eq =
            crate::solve::equilibrium::equilibrium(&well.system, &end.state[..n_species], &scale)
                .map_err(|m| crate::error::SolveError {
                context: " (in-vitro experiment)".into(),
                time_h: IN_VITRO_CULTURE_H,
                message: m,
                state: well.describe(&end.state),
            })?;
        let mut full = eq;
        full.resize(well.system.n, 0.0);
        Ok(well.system.signal_value(0, &full))
    };
    let bisect =
        |lo: f64, hi: f64, f: &dyn Fn(f64) -> Result<f64, SimError>| -> Result<f64, SimError> {
            // f increasing in log space between lo and hi; find the root.
            let (mut l, mut h) = (lo.ln(), hi.ln());
            for _ in 0..100 {
                let m = 0.5 * (l + h);
                if f(m.exp())? < 0.0 {
                    l = m;
                } else {
                    h = m;
                }
            }
            Ok((0.5 * (l + h)).exp())
        };
    let s_max = signal_at(IN_VITRO_SATURATING_NM, 0.0)?;
    let ec50 = bisect(1e-9, IN_VITRO_SATURATING_NM, &|a| {
        Ok(signal_at(a, 0.0)? - 0.5 * s_max)
    })?;
    let s_ec50 = signal_at(ec50, 0.0)?;
    let ic50 = bisect(1e-9, 1e4, &|b| Ok(0.5 * s_ec50 - signal_at(ec50, b)?))?;
    Ok(ic50 / ec50)
}
