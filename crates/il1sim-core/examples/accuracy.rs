//! Solver accuracy study (docs/solver.md): the full model, CAPS adult, 100 mg SC daily for
//! 28 days, hourly outputs. Reference: BDF at rtol = atol = 1e-12, cross-checked with
//! ESDIRK34 at 1e-11. Reports the largest relative error over hourly points of the drug
//! concentration, occupancy, signal and CRP, and the time per subject.
//!   cargo run --release -p il1sim-core --example accuracy
use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};
use il1sim_core::model::patient::{Patient, Sex};
use il1sim_core::solve::options::{Method, SolverOptions};
use il1sim_core::solve::subject::Subject;
use std::time::Instant;

fn main() {
    let model = il1sim_core::il1_model();
    let p = Patient {
        weight_kg: 70.0,
        age_y: 30.0,
        sex: Sex::Male,
        crcl_ml_min: 100.0,
        disease: "caps".into(),
    };
    let r = Regimen::repeated(
        "r",
        "anakinra",
        DoseAmount::Mg(100.0),
        Administration::Subcutaneous,
        24.0,
        28,
    );
    let times: Vec<f64> = (0..=672).map(|h| h as f64).collect();
    let names = [
        "anakinra_plasma",
        "receptor_occupancy_antagonist",
        "il1_signal_relative",
        "crp",
    ];
    let idx: Vec<usize> = names
        .iter()
        .map(|n| model.observable_id(n).unwrap())
        .collect();
    let run = |o: SolverOptions| -> (Vec<Vec<f64>>, f64) {
        let s = Subject::new(&model, &p, &[], o).unwrap();
        let reps = 20;
        let start = Instant::now();
        let mut out = vec![];
        for _ in 0..reps {
            let (traj, _) = s.simulate(&r, 672.0, &times).unwrap();
            out = traj
                .states
                .iter()
                .map(|y| {
                    let v = s.observe(y);
                    idx.iter().map(|&i| v[i]).collect()
                })
                .collect();
        }
        (out, start.elapsed().as_secs_f64() * 1e3 / reps as f64)
    };
    let (reference, _) = run(SolverOptions {
        method: Method::Bdf,
        rtol: 1e-12,
        atol: 1e-12,
    });
    let (check, _) = run(SolverOptions {
        method: Method::Esdirk34,
        rtol: 1e-11,
        atol: 1e-11,
    });
    let err = |a: &Vec<Vec<f64>>| -> Vec<f64> {
        (0..names.len())
            .map(|k| {
                let peak = reference.iter().map(|row| row[k].abs()).fold(0.0, f64::max);
                reference
                    .iter()
                    .zip(a)
                    .filter(|(r, _)| r[k].abs() > 1e-4 * peak)
                    .map(|(r, x)| ((x[k] - r[k]) / r[k]).abs())
                    .fold(0.0, f64::max)
            })
            .collect()
    };
    println!(
        "reference BDF 1e-12 vs ESDIRK34 1e-11: {:?}",
        err(&check)
            .iter()
            .map(|e| format!("{e:.1e}"))
            .collect::<Vec<_>>()
    );
    println!("| method | rtol = atol | anakinra | occupancy | signal | CRP | ms/subject |");
    println!("|---|---|---|---|---|---|---|");
    for method in [Method::Bdf, Method::Esdirk34, Method::TrBdf2] {
        for tol in [1e-4, 1e-5, 1e-6, 1e-7, 1e-8] {
            let (x, ms) = run(SolverOptions {
                method,
                rtol: tol,
                atol: tol,
            });
            let e = err(&x);
            println!(
                "| {method:?} | {tol:.0e} | {:.1e} | {:.1e} | {:.1e} | {:.1e} | {ms:.2} |",
                e[0], e[1], e[2], e[3]
            );
        }
    }
}
