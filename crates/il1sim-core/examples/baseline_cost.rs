//! Cost of the untreated baseline (`Subject::new`): the drug-free run to 100 days, at the
//! default tolerances and looser, each followed by the Newton polish, and how far the
//! polished state moves from the one the subject uses (solve/subject.rs, `BASELINE_RUN_TOL`).
//!   cargo run --release -p il1sim-core --example baseline_cost
use il1sim_core::model::patient::Patient;
use il1sim_core::solve::equilibrium::equilibrium;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use std::time::Instant;

const REPEATS: usize = 500;
const RUN_H: f64 = 2400.0;

fn main() {
    let model = il1sim_core::il1_model();
    let n_species = model.species.len();
    let scale: Vec<f64> = model.species.iter().map(|s| s.scale).collect();
    for disease in ["caps", "ra"] {
        let p = Patient::adult(disease);
        let s = Subject::new(&model, &p, &[], SolverOptions::default()).unwrap();
        let t0 = Instant::now();
        for _ in 0..REPEATS {
            std::hint::black_box(Subject::new(&model, &p, &[], SolverOptions::default()).unwrap());
        }
        let total = t0.elapsed().as_secs_f64() / REPEATS as f64;
        println!("{disease}: Subject::new {:.1} µs", total * 1e6);
        let mut y0: Vec<f64> = model.species.iter().map(|s| s.initial).collect();
        y0.resize(s.system.n, 0.0);
        let rates = vec![0.0; s.system.n];
        for tol in [1e-6, 1e-4, 1e-3, 1e-2] {
            let o = SolverOptions {
                rtol: tol,
                atol: tol,
                ..SolverOptions::default()
            };
            let t0 = Instant::now();
            let mut polished = vec![];
            for _ in 0..REPEATS {
                let end = s
                    .integrate_with(
                        &o,
                        &y0,
                        &rates,
                        0.0,
                        RUN_H,
                        &[],
                        &[],
                        &mut |_: f64, _: &[f64]| {},
                    )
                    .unwrap();
                polished = equilibrium(&s.system, &end.state[..n_species], &scale).unwrap();
            }
            let cost = t0.elapsed().as_secs_f64() / REPEATS as f64;
            let worst = (0..n_species)
                .filter(|&i| s.baseline[i] != 0.0)
                .map(|i| (polished[i] - s.baseline[i]).abs() / s.baseline[i].abs())
                .fold(0.0, f64::max);
            println!(
                "  run at rtol = atol = {tol:e} + Newton: {:.1} µs, largest relative difference from the subject's baseline {worst:.1e}",
                cost * 1e6
            );
        }
    }
}
