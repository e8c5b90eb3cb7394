//! Compiling the reactions with one subject's numbers into the [`OdeSystem`] the solver
//! evaluates, and evaluating observables from a state.

use super::definition::*;
use super::system::{Bilinear, OdeSystem, PowerTerm, SignalDef, SignalTerm};
use super::units::Dimension;

impl Model {
    /// Volume (L) of a species' compartment, or 1 for amount compartments.
    pub fn species_volume(&self, species: usize, values: &ParameterValues) -> f64 {
        match self.compartments[self.species[species].compartment].volume {
            Some(p) => values.values[p],
            None => 1.0,
        }
    }

    /// Compile the reactions with one subject's numbers into the form the solver evaluates.
    pub fn system(&self, pv: &ParameterValues) -> OdeSystem {
        let v = &pv.values;
        let n = self.species.len();
        let mut vol: Vec<f64> = (0..n).map(|s| self.species_volume(s, pv)).collect();
        // One auxiliary state per drug: the integral of its concentration (AUC, nM·h),
        // integrated with the same error control as everything else.
        vol.extend(std::iter::repeat_n(1.0, self.drugs.len()));
        let mut sys = OdeSystem::new(n + self.drugs.len(), vol.clone());
        for (k, d) in self.drugs.iter().enumerate() {
            sys.add_linear(n + k, d.concentration_species, 1.0);
        }
        for r in &self.reactions {
            match *r {
                Reaction::ZeroOrder { species, rate } => {
                    sys.constant[species] += production_per_volume(self, rate, v, vol[species]);
                }
                Reaction::FirstOrder { species, rate } => {
                    sys.add_linear(species, species, -v[rate])
                }
                Reaction::Clearance { species, clearance } => {
                    sys.add_linear(species, species, -v[clearance] / vol[species])
                }
                Reaction::Transfer { from, to, rate } => {
                    sys.add_linear(from, from, -v[rate]);
                    sys.add_linear(to, from, v[rate] * vol[from] / vol[to]);
                }
                Reaction::Exchange { a, b, clearance } => {
                    let q = v[clearance];
                    sys.add_linear(a, a, -q / vol[a]);
                    sys.add_linear(a, b, q / vol[a]);
                    sys.add_linear(b, a, q / vol[b]);
                    sys.add_linear(b, b, -q / vol[b]);
                }
                Reaction::Binding {
                    a,
                    b,
                    complex,
                    kon,
                    koff,
                } => {
                    sys.bilinear.push(Bilinear {
                        a,
                        b,
                        complex,
                        kon: v[kon],
                    });
                    sys.add_linear(complex, complex, -v[koff]);
                    sys.add_linear(a, complex, v[koff]);
                    sys.add_linear(b, complex, v[koff]);
                }
                Reaction::Conversion {
                    from,
                    to,
                    forward,
                    reverse,
                } => {
                    sys.add_linear(from, from, -v[forward]);
                    sys.add_linear(to, from, v[forward]);
                    sys.add_linear(to, to, -v[reverse]);
                    sys.add_linear(from, to, v[reverse]);
                }
                Reaction::SignalProduction {
                    species,
                    rate,
                    basal,
                    gain,
                    signal,
                } => {
                    let k = production_per_volume(self, rate, v, vol[species]);
                    sys.signal_terms.push(SignalTerm {
                        species,
                        k_basal: k * v[basal],
                        k_gain: k * v[gain],
                        signal,
                    });
                }
                Reaction::DrivenProduction {
                    species,
                    rate,
                    driver,
                    reference,
                    exponent,
                } => {
                    sys.power_terms.push(PowerTerm {
                        species,
                        driver,
                        k: production_per_volume(self, rate, v, vol[species]),
                        reference: v[reference],
                        exponent: v[exponent],
                    });
                }
            }
        }
        for s in &self.signals {
            sys.signals.push(SignalDef {
                species: s.species.clone(),
                inv_receptor_total: 1.0 / v[s.receptor_total],
                efficacy: v[s.efficacy],
                slope: v[s.slope],
            });
        }
        sys.finish();
        sys
    }

    /// Evaluate an observable from a state, given the subject's untreated signal levels.
    pub fn observe(
        &self,
        obs: &Observable,
        y: &[f64],
        sys: &OdeSystem,
        pv: &ParameterValues,
        baseline_signals: &[f64],
    ) -> f64 {
        match &obs.kind {
            ObservableKind::Concentration {
                species,
                plus,
                molar_mass,
            } => {
                let mw = molar_mass.map(|m| pv.values[m]);
                let total = y[*species] + plus.iter().map(|&k| y[k]).sum::<f64>();
                super::units::concentration_output_factor(&obs.unit, mw).unwrap_or(f64::NAN) * total
            }
            ObservableKind::Fraction {
                numerator,
                denominator,
            } => {
                let num: f64 = numerator.iter().map(|&i| y[i]).sum();
                let den: f64 = denominator.iter().map(|&i| y[i]).sum();
                if den > 0.0 {
                    num / den
                } else {
                    f64::NAN
                }
            }
            ObservableKind::Signal { signal } => sys.signal_value(*signal, y),
            ObservableKind::SignalRelative { signal } => {
                sys.signal_value(*signal, y) / baseline_signals[*signal]
            }
        }
    }
}

/// A production rate in concentration per hour in the species' compartment.
fn production_per_volume(model: &Model, rate: ParamId, v: &[f64], volume: f64) -> f64 {
    if model.parameters[rate].dimension == Dimension::AMOUNT_RATE {
        v[rate] / volume
    } else {
        v[rate]
    }
}
