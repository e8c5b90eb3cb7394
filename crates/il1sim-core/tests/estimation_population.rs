//! Simulation–re-estimation of population estimation (FOCE-I): a study simulated from known
//! population values (examples/designs/ra-pk-study.toml on models/anakinra-pk.toml), fitted
//! from the design's initial values (30% and more away from the truth), must give back every
//! parameter within 3 standard errors of its true value, with a successful covariance step
//! (ignored by default: its cost was not yet measured within CI's budget; run with
//! `cargo test --release --test estimation_population -- --ignored`); and, in CI, the OFV and
//! conditional modes at the start are the same with 1 and 2 threads. The full 100-subject run
//! is benches/estimation/run.sh (docs/estimation-population.md).

use il1sim_core::estimation::fit_spec::parse_fit_spec;
use il1sim_core::estimation::foce::{
    fit_population, FoceOptions, PopulationParameters, PopulationProblem,
};
use il1sim_core::estimation::residuals::table_rows;
use il1sim_core::estimation::study::{parse_study, simulate_study};
use il1sim_core::model::definition::Model;
use il1sim_core::solve::options::SolverOptions;

fn repo_file(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Subjects of the CI study: enough for RSEs of about 10% on θ and 30% on ω, small enough to fit
/// in about a minute on one core.
const SUBJECTS: u64 = 40;

#[test]
fn objective_does_not_depend_on_threads() {
    let model =
        Model::from_toml(&repo_file("models/anakinra-pk.toml"), "anakinra-pk.toml").unwrap();
    let text = repo_file("examples/designs/ra-pk-study.toml");
    let mut design = parse_study(&text, "ra-pk-study.toml", &model).unwrap();
    design.population.subjects = 8;
    let study = simulate_study(&model, &design, SolverOptions::DEFAULT).unwrap();
    let spec = parse_fit_spec(&text, "ra-pk-study.toml", &model).unwrap();
    let problem = PopulationProblem {
        model: &model,
        dataset: &study.dataset,
        spec: &spec,
        options: FoceOptions::default(),
    };
    let start = PopulationParameters::initial(&spec);
    let warm = vec![vec![0.0; spec.eta.len()]; 8];
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let a = one.install(|| problem.modes(&start, &warm)).unwrap();
    let b = two.install(|| problem.modes(&start, &warm)).unwrap();
    assert_eq!(a, b);
    let ofv: f64 = a.iter().map(|m| m.ofv).sum();
    assert!(ofv.is_finite());
    // Each subject's η̂ moved from 0 and its FOCE-I term is finite.
    assert!(a
        .iter()
        .all(|m| m.eta.iter().any(|e| *e != 0.0) && m.ofv.is_finite()));
}

/// One subject's failed inner search does not end the evaluation: inner settings at the
/// integration noise (gradient step and tolerance 1e-6) make line searches fail; each such
/// search restarts from its best point (map.rs), and every subject still gets a finite
/// FOCE-I term. (The first 100-subject fit stopped after 13 min on such a failure.)
#[test]
fn failed_inner_searches_do_not_end_the_evaluation() {
    use il1sim_core::estimation::map::MapOptions;
    let model =
        Model::from_toml(&repo_file("models/anakinra-pk.toml"), "anakinra-pk.toml").unwrap();
    let text = repo_file("examples/designs/ra-pk-study.toml");
    let mut design = parse_study(&text, "ra-pk-study.toml", &model).unwrap();
    design.population.subjects = 8;
    let study = simulate_study(&model, &design, SolverOptions::DEFAULT).unwrap();
    let spec = parse_fit_spec(&text, "ra-pk-study.toml", &model).unwrap();
    let problem = PopulationProblem {
        model: &model,
        dataset: &study.dataset,
        spec: &spec,
        options: FoceOptions {
            map: MapOptions {
                gradient_step: 1e-6,
                gradient_tolerance: 1e-6,
                ..MapOptions::default()
            },
            ..FoceOptions::default()
        },
    };
    let start = PopulationParameters::initial(&spec);
    let warm = vec![vec![0.0; spec.eta.len()]; 8];
    let modes = problem.modes(&start, &warm).unwrap();
    let restarted = modes.iter().filter(|m| m.restarts > 0).count();
    assert!(
        restarted > 0,
        "no inner line search failed at these settings (choose noisier ones)"
    );
    assert!(modes.iter().all(|m| m.ofv.is_finite()));
    println!("{restarted} of 8 inner searches restarted");
}

#[test]
#[ignore = "about a minute or more on a loaded 2-core machine; run with --ignored"]
fn simulated_study_is_recovered_within_its_standard_errors() {
    let model =
        Model::from_toml(&repo_file("models/anakinra-pk.toml"), "anakinra-pk.toml").unwrap();
    let text = repo_file("examples/designs/ra-pk-study.toml");
    let mut design = parse_study(&text, "ra-pk-study.toml", &model).unwrap();
    design.population.subjects = SUBJECTS;
    design.population.seed = 7;
    let study = simulate_study(&model, &design, SolverOptions::DEFAULT).unwrap();
    let spec = parse_fit_spec(&text, "ra-pk-study.toml", &model).unwrap();
    let problem = PopulationProblem {
        model: &model,
        dataset: &study.dataset,
        spec: &spec,
        options: FoceOptions::default(),
    };
    let started = std::time::Instant::now();
    let fit = fit_population(&problem, &PopulationParameters::initial(&spec), &|_, _| {}).unwrap();
    eprintln!(
        "fit: {:.1} s, {} OFV evaluations, {} simulations; OFV {:.3} (start {:.3}); {}",
        started.elapsed().as_secs_f64(),
        fit.evaluations,
        fit.simulations,
        fit.ofv,
        fit.initial_ofv,
        fit.stop_reason
    );
    assert!(fit.converged, "{}", fit.stop_reason);
    assert!(fit.ofv < fit.initial_ofv);
    assert!(
        fit.covariance_failure.is_none(),
        "{:?}",
        fit.covariance_failure
    );
    // The truth: the model's typical values, the design's Ω and residual error.
    let values = model
        .parameter_values(
            "ra",
            &il1sim_core::model::patient::Patient::adult("ra").covariates(),
            &[],
        )
        .unwrap();
    let omega = &design.population.variability.as_ref().unwrap();
    let omega = omega.chol.clone() * omega.chol.transpose();
    let residual = &design.population.residual[0].1;
    let mut truth = Vec::new();
    for t in &spec.theta {
        truth.push(values.values[t.id] / model.parameters[t.id].to_canonical);
    }
    for k in 0..spec.eta.len() {
        truth.push(omega[(k, k)]);
    }
    truth.push(residual.additive);
    truth.push(residual.proportional);
    assert_eq!(truth.len(), fit.rows.len());
    for (row, want) in fit.rows.iter().zip(&truth) {
        let se = row.se.expect("covariance step ran");
        let z = (row.estimate - want) / se;
        eprintln!(
            "{:<6} {:<30} truth {:>10.4} estimate {:>10.4} SE {:>8.4} ({:>5.1}%) z {:>5.2} shrinkage {:?}",
            row.kind, row.name, want, row.estimate, se, row.rse_percent.unwrap(), z, row.shrinkage_percent
        );
        assert!(
            z.abs() < 3.0,
            "{}: estimate {} truth {want} SE {se}",
            row.name,
            row.estimate
        );
    }
    // Shrinkage is a fraction of at most 1, and small for CL with 6 samples per subject.
    assert!(fit.eta_shrinkage[0] < 0.3, "{:?}", fit.eta_shrinkage);
    let rows = table_rows(&problem, &fit).unwrap();
    assert_eq!(rows.len(), SUBJECTS as usize * 6);
    let cw: Vec<f64> = rows.iter().filter_map(|r| r.cwres).collect();
    let mean = cw.iter().sum::<f64>() / cw.len() as f64;
    let sd =
        (cw.iter().map(|c| (c - mean) * (c - mean)).sum::<f64>() / (cw.len() - 1) as f64).sqrt();
    eprintln!("CWRES mean {mean:.3}, SD {sd:.3}");
    // CWRES of a correct model are about N(0, 1): with 240 of them the mean is within 0.2 and
    // the SD within 0.8-1.2.
    assert!(mean.abs() < 0.2 && (0.8..1.2).contains(&sd), "{mean} {sd}");
}
