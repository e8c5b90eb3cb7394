//! Cost of one virtual subject of the full mechanistic model: CAPS adult, 100 mg SC daily
//! for 28 days, hourly outputs, default solver settings (BDF, rtol = atol = 1e-6).
//!   cargo bench -p il1sim-core --bench subject
use criterion::{criterion_group, criterion_main, Criterion};
use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};
use il1sim_core::model::patient::{Patient, Sex};
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
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
    let mut g = c.benchmark_group("full model, 28 days, hourly output");
    g.bench_function("subject incl. untreated baseline", |b| {
        b.iter(|| {
            let s = Subject::new(&model, black_box(&p), &[], SolverOptions::default()).unwrap();
            s.simulate(&r, 672.0, &times).unwrap()
        })
    });
    let s = Subject::new(&model, &p, &[], SolverOptions::default()).unwrap();
    g.bench_function("simulate only", |b| {
        b.iter(|| s.simulate(black_box(&r), 672.0, &times).unwrap())
    });
    g.bench_function("simulate only, fast method", |b| {
        b.iter(|| il1sim_core::solve::fast::simulate(&s, black_box(&r), 672.0, &times).unwrap())
    });
    g.finish();

    // One virtual subject of the shipped RA population (covariates, variability, two
    // regimens, bands and figures), as `il1sim population` runs it.
    let text = include_str!("../../../scenarios/ra-renal-population.toml");
    let pop = il1sim_core::exchange::population_file::parse_population(
        text,
        "ra-renal-population.toml",
        &model,
    )
    .unwrap();
    for method in [
        il1sim_core::population::definition::SimulationMethod::Exact,
        il1sim_core::population::definition::SimulationMethod::Fast,
    ] {
        let mut pop = pop.clone();
        pop.method = method;
        let mut id = 0u64;
        c.bench_function(
            &format!(
                "population subject (ra-renal-population, 2 regimens, {} method)",
                method.name()
            ),
            |b| {
                b.iter(|| {
                    id += 1;
                    il1sim_core::population::outcome::simulate_subject(
                        &model,
                        &pop,
                        black_box(id),
                        SolverOptions::default(),
                    )
                })
            },
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
