//! Individual estimation: the MAP fit recovers known parameters within its stated
//! uncertainty; objective pieces against hand computations.

use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat};
use il1sim_core::estimation::fit::fit_individual;
use il1sim_core::estimation::map::MapOptions;
use il1sim_core::estimation::objective::IndividualProblem;
use il1sim_core::estimation::objective::ESTIMATION_SOLVER;
use il1sim_core::estimation::prior::Prior;
use il1sim_core::estimation::recovery::{Design, Recovery, Sample};
use il1sim_core::estimation::residual::ResidualModel;
use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::model::definition::Model;
use il1sim_core::population::definition::PopulationScenario;

const TDM_POPULATION: &str = include_str!("../../../scenarios/nomid-tdm-population.toml");

fn setup() -> (Model, PopulationScenario) {
    let model = il1sim_core::il1_model();
    let pop = parse_population(TDM_POPULATION, "nomid-tdm-population.toml", &model).unwrap();
    (model, pop)
}

fn design(model: &Model) -> Design {
    let ana = model.observable_id("anakinra_plasma").unwrap();
    let crp = model.observable_id("crp").unwrap();
    let mut regimen = Regimen::repeated(
        "2 mg/kg daily",
        "anakinra",
        DoseAmount::MgPerKg {
            mg_per_kg: 2.0,
            max_mg: None,
        },
        Administration::Subcutaneous,
        24.0,
        14,
    );
    regimen.repeat = Repeat::UntilDay(14);
    let s = |observable, time_h, lloq| Sample {
        observable,
        time_h,
        lloq,
    };
    Design {
        regimen,
        samples: vec![
            s(crp, 0.0, Some(0.2)),
            s(ana, 147.0, Some(40.0)),
            s(ana, 167.5, Some(40.0)),
            s(crp, 167.5, Some(0.2)),
            s(ana, 316.0, Some(40.0)),
            s(crp, 335.5, Some(0.2)),
        ],
    }
}

/// The prior of fit-individual for NOMID is the NOMID population's variability.
#[test]
fn tdm_prior_is_the_nomid_population_variability() {
    let (model, pop) = setup();
    let text = include_str!("../../../scenarios/nomid-paediatric-population.toml");
    let nomid = parse_population(text, "nomid-paediatric-population.toml", &model).unwrap();
    let (a, b) = (pop.variability.unwrap(), nomid.variability.unwrap());
    assert_eq!(a.parameters, b.parameters);
    assert_eq!(a.chol, b.chol);
    let names: Vec<&str> = pop
        .residual
        .iter()
        .map(|(_, r)| r.observable.as_str())
        .collect();
    assert_eq!(names, ["anakinra_plasma", "crp", "saa"]);
    // Only the drug concentration is a simulated trough in a population run.
    let on_trough: Vec<bool> = pop.residual.iter().map(|(_, r)| r.on_trough).collect();
    assert_eq!(on_trough, [true, false, false]);
}

/// The objective is the sum of the data's −2 log likelihood (computed here by hand from the
/// predictions) and the prior's.
#[test]
fn objective_is_data_plus_prior() {
    let (model, pop) = setup();
    let prior = Prior::from_variability(pop.variability.as_ref().unwrap());
    let residual = ResidualModel::from_specs(&pop.residual);
    let d = design(&model);
    let run = Recovery {
        model: &model,
        population: &pop,
        prior: &prior,
        residual: &residual,
        design: &d,
        seed: 7,
        options: ESTIMATION_SOLVER,
    };
    let p = run.simulate_patient(0).unwrap();
    let problem = IndividualProblem::new(
        &model,
        &p.subject,
        vec![],
        &prior,
        &residual,
        ESTIMATION_SOLVER,
    )
    .unwrap();
    let eta = [0.1, -0.2, 0.05];
    let v = problem.evaluate(&eta).unwrap();
    let mut data = 0.0;
    for (o, f) in p.subject.observations.iter().zip(&v.predictions) {
        let e = residual.for_observable(o.observable).unwrap();
        let var = e.additive.powi(2) + (e.proportional * f).powi(2);
        data += match (o.value, o.below_lloq) {
            (Some(y), false) => (2.0 * std::f64::consts::PI * var).ln() + (y - f).powi(2) / var,
            _ => {
                let z = (o.lloq.unwrap() - f) / var.sqrt();
                let normal = statrs::distribution::Normal::standard();
                -2.0 * statrs::distribution::ContinuousCDF::cdf(&normal, z).ln()
            }
        };
    }
    assert!(
        (v.data - data).abs() < 1e-9 * data.abs(),
        "{} vs {data}",
        v.data
    );
    let omega = &prior.omega;
    let quad: f64 = (0..3).map(|i| eta[i] * eta[i] / omega[(i, i)]).sum();
    let want = quad + omega.determinant().ln() + 3.0 * (2.0 * std::f64::consts::PI).ln();
    assert!((v.prior - want).abs() < 1e-12);
    assert_eq!(problem.evaluations(), 1);
}

/// One simulated patient: the fit converges, and the truth lies within the Laplace
/// posterior's 99% interval (mode ± 2.576 SD) of every η; a single patient's truth is outside
/// a 90% interval one time in ten, which the recovery test counts.
#[test]
fn one_patient_is_recovered() {
    let (model, pop) = setup();
    let prior = Prior::from_variability(pop.variability.as_ref().unwrap());
    let residual = ResidualModel::from_specs(&pop.residual);
    let d = design(&model);
    let run = Recovery {
        model: &model,
        population: &pop,
        prior: &prior,
        residual: &residual,
        design: &d,
        seed: 1,
        options: ESTIMATION_SOLVER,
    };
    let p = run.simulate_patient(0).unwrap();
    let problem = IndividualProblem::new(
        &model,
        &p.subject,
        vec![],
        &prior,
        &residual,
        ESTIMATION_SOLVER,
    )
    .unwrap();
    let fit = fit_individual(&problem, &[0.0; 3], &MapOptions::default()).unwrap();
    assert!(fit.mode.converged, "{}", fit.mode.stop_reason);
    for ((e, sd), t) in fit.mode.eta.iter().zip(fit.laplace.sd()).zip(&p.true_eta) {
        assert!(
            (e - t).abs() < 2.576 * sd,
            "truth {t}, mode {e}, posterior SD {sd}"
        );
    }
    // The mode is a minimum: a step of one posterior SD either way does not lower it.
    for (k, sd) in fit.laplace.sd().iter().enumerate() {
        for s in [-1.0, 1.0] {
            let mut e = fit.mode.eta.clone();
            e[k] += s * sd;
            assert!(problem.objective(&e).unwrap() > fit.mode.objective);
        }
    }
    // CL is the best determined: its posterior SD is well below the prior's 0.28.
    assert!(fit.laplace.sd()[0] < 0.5 * prior.sd()[0]);
    println!("{} simulations per fit", fit.evaluations);
}

/// The example NOMID patient (examples/data/nomid-patient.csv, what `il1sim fit-individual`
/// shows): no trial point of the search fails. Before the first BFGS step was bounded
/// (estimation/map.rs), 35 of its 427 simulations failed at η of 90 to 9·10³ (parameters
/// overflowing, no untreated state), all sent there by the first line searches; the mode
/// (−2 log posterior 62.122) is the same either way.
#[test]
fn the_example_fit_has_no_failed_trial_points() {
    use il1sim_core::exchange::dataset::read::{read_dataset, DatasetOptions};
    use il1sim_core::model::patient::Patient;
    let (model, pop) = setup();
    let prior = Prior::from_variability(pop.variability.as_ref().unwrap());
    let residual = ResidualModel::from_specs(&pop.residual);
    let text = include_str!("../../../examples/data/nomid-patient.csv");
    let options = DatasetOptions {
        defaults: Patient::adult("nomid"),
    };
    let data = read_dataset(text, "nomid-patient.csv", &model, &options).unwrap();
    let problem = IndividualProblem::new(
        &model,
        &data.subjects[0],
        vec![],
        &prior,
        &residual,
        ESTIMATION_SOLVER,
    )
    .unwrap();
    let fit = fit_individual(&problem, &[0.0; 3], &MapOptions::default()).unwrap();
    assert!(fit.mode.converged, "{}", fit.mode.stop_reason);
    assert_eq!(
        fit.mode.failed_evaluations, 0,
        "first failure: {:?}",
        fit.mode.first_failure
    );
    assert!(
        (fit.mode.objective - 62.122).abs() < 1e-3,
        "objective {}",
        fit.mode.objective
    );
}

/// Writes examples/data/nomid-patient.csv to standard output (run with `--ignored
/// --nocapture`): the child of scenarios/nomid-dose-find.toml (20 kg, 6 years) on 2 mg/kg
/// daily with known η (CL_anakinra +0.35, P_il1b_basal +0.6, il6_basal_drive 0), sampled on
/// the recovery design, with the prior file's residual errors drawn from seed 2026.
#[test]
#[ignore]
fn write_nomid_example() {
    use il1sim_core::exchange::dataset::predict::predict_subject;
    use il1sim_core::exchange::dataset::subjects::{DataSubject, Observation, Occasion};
    use il1sim_core::model::patient::{Patient, Sex};
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let (model, pop) = setup();
    let prior = Prior::from_variability(pop.variability.as_ref().unwrap());
    let residual = ResidualModel::from_specs(&pop.residual);
    let d = design(&model);
    let patient = Patient {
        weight_kg: 20.0,
        age_y: 6.0,
        sex: Sex::Male,
        crcl_ml_min: 110.0,
        disease: "nomid".into(),
    };
    let eta = [0.35, 0.6, 0.0];
    let s = DataSubject {
        id: "1".into(),
        patient,
        regimens: vec![d.regimen.clone()],
        observations: d
            .samples
            .iter()
            .map(|s| Observation {
                time_h: s.time_h,
                observable: s.observable,
                value: None,
                lloq: s.lloq,
                below_lloq: false,
                line: 0,
            })
            .collect(),
        first_line: 2,
        occasions: vec![Occasion {
            start_h: 0.0,
            regimens: 0..1,
            observations: 0..d.samples.len(),
            line: 2,
        }],
    };
    let f = predict_subject(&model, &s, &[], &prior.multipliers(&eta), ESTIMATION_SOLVER).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let cov = "20,6,male,110,nomid";
    println!("ID,TIME,AMT,CMT,EVID,II,ADDL,DV,LLOQ,WT,AGE,SEX,CRCL,DISEASE");
    println!("1,0,40,anakinra_sc,1,24,13,.,.,{cov}");
    for (o, f) in s.observations.iter().zip(f) {
        let e = residual.for_observable(o.observable).unwrap();
        let e1: f64 = StandardNormal.sample(&mut rng);
        let e2: f64 = StandardNormal.sample(&mut rng);
        let y = f * (1.0 + e.proportional * e1) + e.additive * e2;
        let name = &model.observables[o.observable].name;
        println!(
            "1,{},.,{name},0,.,.,{:.4},{},{cov}",
            o.time_h,
            y,
            o.lloq.unwrap()
        );
    }
}

/// Acceptance region of a count of `n` Bernoulli(p) trials at two-sided level `alpha`: the
/// smallest `lo` and largest `hi` with P(X < lo) ≤ α/2 and P(X > hi) ≤ α/2.
fn binomial_region(n: u64, p: f64, alpha: f64) -> (u64, u64) {
    use statrs::distribution::{Binomial, DiscreteCDF};
    let b = Binomial::new(p, n).unwrap();
    let lo = (0..=n)
        .find(|&k| k > 0 && b.cdf(k - 1) > alpha / 2.0)
        .unwrap_or(0);
    let lo = if b.cdf(0) > alpha / 2.0 { 0 } else { lo };
    let hi = (0..=n)
        .rev()
        .find(|&k| 1.0 - b.cdf(k) > alpha / 2.0)
        .map_or(n, |k| k + 1);
    (lo, hi.min(n))
}

/// Clopper–Pearson-free 95% interval of a proportion (Wilson), for the report.
fn wilson(k: u64, n: u64) -> (f64, f64) {
    let (k, n, z) = (k as f64, n as f64, 1.959_963_984_540_054);
    let p = k / n;
    let c = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    (c - h, c + h)
}

fn recovery_run(
    n: u64,
    seed: u64,
) -> (
    Vec<il1sim_core::estimation::recovery::Coverage>,
    u64,
    f64,
    f64,
) {
    use il1sim_core::estimation::recovery::coverage;
    let (model, pop) = setup();
    let prior = Prior::from_variability(pop.variability.as_ref().unwrap());
    let residual = ResidualModel::from_specs(&pop.residual);
    let d = design(&model);
    let run = Recovery {
        model: &model,
        population: &pop,
        prior: &prior,
        residual: &residual,
        design: &d,
        seed,
        options: ESTIMATION_SOLVER,
    };
    let started = std::time::Instant::now();
    let results = run.run(n, &MapOptions::default(), &|| {});
    let wall = started.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.fit.is_err()).count() as u64;
    for r in results.iter().filter(|r| r.fit.is_err()) {
        println!(
            "patient {}: {}",
            r.id + 1,
            r.fit
                .as_ref()
                .err()
                .unwrap()
                .chars()
                .take(200)
                .collect::<String>()
        );
    }
    let sims: usize = results
        .iter()
        .filter_map(|r| r.fit.as_ref().ok())
        .map(|f| f.evaluations)
        .sum();
    let fitted = (n - failed).max(1) as f64;
    let cov = coverage(&prior, &results);
    for c in &cov {
        let (lo, hi) = wilson(c.covered, c.fitted);
        println!(
            "{}: {}/{} = {:.1}% in the 90% interval (95% CI {:.1}–{:.1}%)",
            c.parameter,
            c.covered,
            c.fitted,
            100.0 * c.covered as f64 / c.fitted as f64,
            100.0 * lo,
            100.0 * hi
        );
    }
    println!(
        "{n} patients, {failed} failed fits, {:.0} simulations per fit, wall {:.1} s ({:.0} ms per fit of wall time on this machine's threads)",
        sims as f64 / fitted, wall, 1e3 * wall / n as f64
    );
    (cov, failed, sims as f64 / fitted, wall)
}

/// Coverage of the Laplace 90% interval over 40 patients drawn from the prior: each
/// parameter's count must lie in the binomial(40, 0.9) acceptance region at level 0.01/3
/// (Bonferroni over the three parameters), computed above, not chosen; at most 2 fits of 40
/// may fail. The 200-patient run is `recovery_200` (ignored in CI; its figures are in
/// docs/estimation.md). Ignored until its run time on CI is measured (on the shared
/// development machine it did not finish within the session).
#[test]
#[ignore]
fn coverage_of_the_90_percent_interval() {
    let n = 40;
    let (cov, failed, _, _) = recovery_run(n, 2026);
    assert!(failed <= 2, "{failed} of {n} fits failed");
    for c in cov {
        let (lo, hi) = binomial_region(c.fitted, 0.9, 0.01 / 3.0);
        assert!(
            (lo..=hi).contains(&c.covered),
            "{}: {} of {} in the 90% interval; the binomial acceptance region is {lo}–{hi}",
            c.parameter,
            c.covered,
            c.fitted
        );
    }
}

/// The 200-patient recovery (run: cargo test --release -p il1sim-core --test estimation
/// recovery_200 -- --ignored --nocapture).
#[test]
#[ignore]
fn recovery_200() {
    recovery_run(200, 2027);
}

/// A failed line search does not end the fit: with a gradient step (1e-6) and tolerance
/// (1e-6) at the objective's integration noise, BFGS's inverse Hessian turns indefinite near
/// the mode and the Moré–Thuente line search stops with "search direction must be a descent
/// direction" (before the restart this was an error, and in a population fit it ended the
/// fit). The search restarts from its best point and reports the mode the default settings
/// find (−2 log posterior within 1e-3).
#[test]
fn a_failed_line_search_restarts_from_the_best_point() {
    use il1sim_core::estimation::map::conditional_mode;
    let (model, pop) = setup();
    let prior = Prior::from_variability(pop.variability.as_ref().unwrap());
    let residual = ResidualModel::from_specs(&pop.residual);
    let d = design(&model);
    let run = Recovery {
        model: &model,
        population: &pop,
        prior: &prior,
        residual: &residual,
        design: &d,
        seed: 1,
        options: ESTIMATION_SOLVER,
    };
    let p = run.simulate_patient(0).unwrap();
    let problem = IndividualProblem::new(
        &model,
        &p.subject,
        vec![],
        &prior,
        &residual,
        ESTIMATION_SOLVER,
    )
    .unwrap();
    let reference = conditional_mode(&problem, &[0.0; 3], &MapOptions::default()).unwrap();
    let noisy = MapOptions {
        gradient_step: 1e-6,
        gradient_tolerance: 1e-6,
        ..MapOptions::default()
    };
    let m = conditional_mode(&problem, &[0.0; 3], &noisy).unwrap();
    assert!(
        m.restarts >= 1,
        "the line search did not fail at these settings (choose noisier ones): {}",
        m.stop_reason
    );
    assert!(
        (m.objective - reference.objective).abs() < 1e-3,
        "after {} restart(s): {} against {} ({})",
        m.restarts,
        m.objective,
        reference.objective,
        m.stop_reason
    );
}
