//! What the mechanism diagram draws: at every output time, how IL-1RI at the inflamed site is
//! shared between its states (free, anakinra, IL-1Ra, IL-1β or IL-1α alone or with IL-1RAcP),
//! and how IL-1β, IL-1α, IL-1Ra and anakinra there are shared between free and drug-bound
//! forms (canakinumab, the rilonacept trap). Each is a fraction of a pool of one compartment
//! (the species of a pool share it, so amounts or concentrations give the same fraction).
//!
//! The diagram is of the bundled model's molecules, so this file names its species; a model
//! file without them (`--model`) gets no diagram, not a wrong one.

use il1sim_core::model::definition::Model;
use serde::Serialize;

/// One part of a pool: its key for the page, its label, the species it adds up.
struct Part {
    key: &'static str,
    label: &'static str,
    species: &'static [&'static str],
}

/// A pool whose parts add up to 1.
struct Pool {
    key: &'static str,
    label: &'static str,
    parts: &'static [Part],
}

const POOLS: [Pool; 5] = [
    Pool {
        key: "receptor",
        label: "IL-1RI at the inflamed site",
        parts: &[
            Part {
                key: "free",
                label: "free IL-1RI",
                species: &["il1r1"],
            },
            Part {
                key: "anakinra",
                label: "IL-1RI·anakinra",
                species: &["il1r1_anakinra"],
            },
            Part {
                key: "il1ra",
                label: "IL-1RI·IL-1Ra (endogenous)",
                species: &["il1r1_il1ra"],
            },
            Part {
                key: "il1b",
                label: "IL-1β·IL-1RI",
                species: &["il1r1_il1b"],
            },
            Part {
                key: "il1b_acp",
                label: "IL-1β·IL-1RI·IL-1RAcP (signalling)",
                species: &["il1r1_il1b_acp"],
            },
            Part {
                key: "il1a",
                label: "IL-1α·IL-1RI",
                species: &["il1r1_il1a"],
            },
            Part {
                key: "il1a_acp",
                label: "IL-1α·IL-1RI·IL-1RAcP (signalling)",
                species: &["il1r1_il1a_acp"],
            },
        ],
    },
    Pool {
        key: "il1b",
        label: "IL-1β at the inflamed site",
        parts: &[
            Part {
                key: "free",
                label: "free IL-1β",
                species: &["il1b_tissue"],
            },
            Part {
                key: "antibody",
                label: "IL-1β·canakinumab",
                species: &["canakinumab_il1b_tissue"],
            },
            Part {
                key: "trap",
                label: "IL-1β·rilonacept",
                species: &["rilonacept_il1b_tissue"],
            },
        ],
    },
    Pool {
        key: "il1a",
        label: "IL-1α at the inflamed site",
        parts: &[
            Part {
                key: "free",
                label: "free IL-1α",
                species: &["il1a_tissue"],
            },
            Part {
                key: "trap",
                label: "IL-1α·rilonacept",
                species: &["rilonacept_il1a_tissue"],
            },
        ],
    },
    Pool {
        key: "il1ra",
        label: "endogenous IL-1Ra at the inflamed site",
        parts: &[
            Part {
                key: "free",
                label: "free IL-1Ra",
                species: &["il1ra_tissue"],
            },
            Part {
                key: "trap",
                label: "IL-1Ra·rilonacept",
                species: &["rilonacept_il1ra_tissue"],
            },
        ],
    },
    Pool {
        key: "anakinra",
        label: "anakinra at the inflamed site",
        parts: &[
            Part {
                key: "free",
                label: "free anakinra",
                species: &["anakinra_tissue"],
            },
            Part {
                key: "trap",
                label: "anakinra·rilonacept",
                species: &["rilonacept_anakinra_tissue"],
            },
        ],
    },
];

#[derive(Debug, Serialize, PartialEq)]
pub struct PartSeries {
    pub key: &'static str,
    pub label: &'static str,
    /// Fraction of the pool at each output time (0 where the pool is empty).
    pub values: Vec<f64>,
    /// The same fraction in the patient's untreated state.
    pub untreated: f64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct PoolSeries {
    pub key: &'static str,
    pub label: &'static str,
    pub parts: Vec<PartSeries>,
}

/// The pools at every state of `states` (full state vectors, species first), with the
/// untreated fractions from `baseline`; None when the model lacks one of the species.
pub fn mechanism(model: &Model, states: &[Vec<f64>], baseline: &[f64]) -> Option<Vec<PoolSeries>> {
    let mut out = Vec::new();
    for pool in &POOLS {
        let ids: Vec<Vec<usize>> = pool
            .parts
            .iter()
            .map(|p| p.species.iter().map(|s| model.species_id(s)).collect())
            .collect::<Option<_>>()?;
        let fractions = |y: &[f64]| -> Vec<f64> {
            let amounts: Vec<f64> = ids
                .iter()
                .map(|part| part.iter().map(|&i| y[i].max(0.0)).sum())
                .collect();
            let total: f64 = amounts.iter().sum();
            amounts
                .iter()
                .map(|a| if total > 0.0 { a / total } else { 0.0 })
                .collect()
        };
        let untreated = fractions(baseline);
        let mut values = vec![Vec::with_capacity(states.len()); pool.parts.len()];
        for y in states {
            for (v, f) in values.iter_mut().zip(fractions(y)) {
                v.push(f);
            }
        }
        out.push(PoolSeries {
            key: pool.key,
            label: pool.label,
            parts: pool
                .parts
                .iter()
                .zip(values)
                .zip(untreated)
                .map(|((p, values), untreated)| PartSeries {
                    key: p.key,
                    label: p.label,
                    values,
                    untreated,
                })
                .collect(),
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use il1sim_core::model::patient::{Patient, Sex};
    use il1sim_core::solve::options::SolverOptions;
    use il1sim_core::solve::subject::Subject;

    /// The bundled model has every species the diagram draws; fractions add up to 1, and
    /// untreated the receptor is free or held by IL-1Ra, with no drug anywhere.
    #[test]
    fn pools_add_up_and_start_drug_free() {
        let m = il1sim_core::il1_model();
        let patient = Patient {
            weight_kg: 70.0,
            age_y: 50.0,
            sex: Sex::Female,
            crcl_ml_min: 100.0,
            disease: "ra".into(),
        };
        let s = Subject::new(&m, &patient, &[], SolverOptions::DEFAULT).unwrap();
        let pools = mechanism(&m, std::slice::from_ref(&s.baseline), &s.baseline).unwrap();
        assert_eq!(pools.len(), POOLS.len());
        for p in &pools {
            let sum: f64 = p.parts.iter().map(|x| x.values[0]).sum();
            // Untreated, the drug's own pool is empty: all its fractions are 0.
            let expected = if p.key == "anakinra" { 0.0 } else { 1.0 };
            assert!((sum - expected).abs() < 1e-12, "{}: {sum}", p.key);
            for x in &p.parts {
                assert_eq!(x.values[0], x.untreated);
            }
        }
        let part = |pool: &str, part: &str| {
            pools
                .iter()
                .find(|p| p.key == pool)
                .unwrap()
                .parts
                .iter()
                .find(|x| x.key == part)
                .unwrap()
                .untreated
        };
        assert_eq!(part("receptor", "anakinra"), 0.0);
        assert_eq!(part("il1b", "antibody"), 0.0);
        assert_eq!(part("il1b", "trap"), 0.0);
        // Untreated the receptor is free or held by IL-1Ra; agonists hold a fraction of a
        // percent, which carries the whole signal.
        assert!(part("receptor", "free") + part("receptor", "il1ra") > 0.95);
        assert!(part("receptor", "il1b_acp") > 0.0);
    }
}
