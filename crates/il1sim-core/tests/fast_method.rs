//! The fast method (periodic dosing repeated once the orbit is periodic) against the exact
//! method: within 1e-3 relative on receptor occupancy, IL-1 signal and CRP, over subjects of
//! both shipped populations and over scenarios whose dosing is only partly periodic.
//! Band values below 1e-4 of their series' peak are compared against that floor (occupancy
//! is 0 before the first dose, where a relative error means nothing).

use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::exchange::scenario::parse_scenario;
use il1sim_core::metrics::{summarise_fast, summarise_with_days};
use il1sim_core::population::definition::PopulationScenario;
use il1sim_core::population::sampling::draw_subject;
use il1sim_core::solve::fast;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use il1sim_core::solve::trajectory::{Probe, Trajectory};

/// The fast method's promise (issue #3): 1e-3 relative of the exact path.
const LIMIT: f64 = 1e-3;
const OBSERVABLES: [&str; 3] = [
    "receptor_occupancy_antagonist",
    "il1_signal_relative",
    "crp",
];
const FIGURES: [&str; 6] = [
    "occupancy_antagonist_trough",
    "il1_signal_relative_trough",
    "crp_day_1",
    "crp_day_7",
    "crp_day_28",
    "auc_tau",
];

fn relative(a: f64, b: f64, floor: f64) -> f64 {
    (a - b).abs() / b.abs().max(floor)
}

/// Largest relative error of the fast method over the observables and figures, and the
/// number of periods it integrated out of those in the window.
fn compare(
    s: &Subject,
    r: &il1sim_core::dosing::regimen::Regimen,
    horizon_h: f64,
    grid: &[f64],
    crp_days: &[u32],
) -> (f64, String) {
    let (etraj, esum) = summarise_with_days(s, r, horizon_h, grid, crp_days).unwrap();
    let (ftraj, fsum) = summarise_fast(s, r, horizon_h, grid, crp_days).unwrap();
    assert_eq!(ftraj.times_h, etraj.times_h);
    let series = |tr: &Trajectory, name: &str| -> Vec<f64> {
        let k = s.model.observable_id(name).unwrap();
        tr.states.iter().map(|y| s.observe(y)[k]).collect()
    };
    let mut worst = (0.0, String::new());
    for name in OBSERVABLES {
        let (f, e) = (series(&ftraj, name), series(&etraj, name));
        let floor = 1e-4 * e.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for ((t, a), b) in etraj.times_h.iter().zip(&f).zip(&e) {
            let err = relative(*a, *b, floor);
            if err > worst.0 {
                worst = (err, format!("{name} at {t} h: fast {a}, exact {b}"));
            }
        }
    }
    for name in FIGURES {
        if let (Some(a), Some(b)) = (fsum.get(name), esum.get(name)) {
            let err = relative(a, b, 1e-12);
            if err > worst.0 {
                worst = (err, format!("{name}: fast {a}, exact {b}"));
            }
        }
    }
    worst
}

/// Subject `id` of a population, as `il1sim population` draws it.
fn population_subject<'m>(
    model: &'m il1sim_core::model::definition::Model,
    pop: &PopulationScenario,
    id: u64,
) -> Subject<'m> {
    let d = draw_subject(pop, id).unwrap();
    Subject::with_variability(
        model,
        &d.patient,
        &[],
        &d.multipliers,
        SolverOptions::default(),
    )
    .unwrap()
}

#[test]
fn fast_method_is_within_1e3_of_exact_over_both_shipped_populations() {
    let model = il1sim_core::il1_model();
    // How the approach to the orbit ended: a period that already was the orbit served as the
    // template (every other day in RA), or a template was integrated from the orbit.
    let (mut reused, mut integrated) = (0, 0);
    for (file, text, subjects) in [
        (
            "ra-renal-population",
            include_str!("../../../scenarios/ra-renal-population.toml"),
            8,
        ),
        (
            "caps-paediatric-population",
            include_str!("../../../scenarios/caps-paediatric-population.toml"),
            8,
        ),
    ] {
        let pop = parse_population(text, file, &model).unwrap();
        for id in 0..subjects {
            let s = population_subject(&model, &pop, id);
            for r in &pop.regimens {
                let (err, at) = compare(&s, r, pop.duration_h, &pop.band_times_h, &pop.crp_days);
                assert!(
                    err <= LIMIT,
                    "{file} subject {id}, '{}': {err:.2e} ({at})",
                    r.name
                );
                let (_, stats) = fast::simulate(&s, r, pop.duration_h, &pop.band_times_h).unwrap();
                if stats.reused_template {
                    reused += 1;
                } else if stats.periods_integrated < stats.periods {
                    integrated += 1;
                }
            }
        }
    }
    assert!(
        reused > 0 && integrated > 0,
        "both endings covered ({reused} reused, {integrated} integrated templates)"
    );
}

#[test]
fn dosing_that_is_only_partly_periodic_is_integrated_where_it_is_not() {
    // Missed doses end the periodic window early (the rest is integrated from the repeated
    // state); co-administration with another period and an infusion are never repeated.
    let model = il1sim_core::il1_model();
    for (file, text) in [
        (
            "caps-compare",
            include_str!("../../../scenarios/caps-compare.toml"),
        ),
        (
            "ra-missed-dose",
            include_str!("../../../scenarios/ra-missed-dose.toml"),
        ),
        (
            "nomid-stop-therapy",
            include_str!("../../../scenarios/nomid-stop-therapy.toml"),
        ),
        (
            "caps-anakinra-rilonacept",
            include_str!("../../../scenarios/caps-anakinra-rilonacept.toml"),
        ),
        (
            "sepsis-iv-2mgkgh",
            include_str!("../../../scenarios/sepsis-iv-2mgkgh.toml"),
        ),
    ] {
        let sc = parse_scenario(text, file, &model).unwrap();
        let s = Subject::new(&model, &sc.patient, &[], SolverOptions::default()).unwrap();
        for r in sc.regimens.iter().filter(|r| !r.steady_state) {
            let (err, at) = compare(&s, r, sc.duration_h, &sc.output_grid(), &[1, 7, 14]);
            assert!(err <= LIMIT, "{file} '{}': {err:.2e} ({at})", r.name);
        }
    }
}

#[test]
fn a_periodic_regimen_is_repeated_and_the_rest_integrated() {
    // Daily dosing for 28 days: only the periods until the orbit repeats, plus the template,
    // are integrated (the count is a property of the model, not a timing).
    let model = il1sim_core::il1_model();
    let text = include_str!("../../../scenarios/ra-renal-population.toml");
    let pop = parse_population(text, "ra-renal-population", &model).unwrap();
    let s = population_subject(&model, &pop, 0);
    let (_, stats) =
        fast::simulate(&s, &pop.regimens[0], pop.duration_h, &pop.band_times_h).unwrap();
    assert_eq!(stats.periods, 28);
    assert!(
        stats.periods_integrated >= 3 && stats.periods_integrated <= 12,
        "{stats:?}"
    );
}

#[test]
fn output_times_are_the_requested_ones_when_a_period_is_reused_as_the_template() {
    // A 0.05-h grid: its points are not exact sums of the template's start and offsets, so a
    // recorder that labelled outputs with the integrator's merged times would return
    // 96.1 for 96.10000000000001 (found in review).
    let model = il1sim_core::il1_model();
    let text = include_str!("../../../scenarios/ra-renal-population.toml");
    let pop = parse_population(text, "ra-renal-population", &model).unwrap();
    let every_other_day = pop.regimens.iter().find(|r| r.interval_h == 48.0).unwrap();
    let grid: Vec<f64> = (0..=13_440).map(|k| 0.05 * k as f64).collect();
    let peak_grid: Vec<f64> = (0..=4_800).map(|k| 624.0 + 0.01 * k as f64).collect();
    let mut reused = 0;
    for id in 0..3 {
        let s = population_subject(&model, &pop, id);
        let probe = Probe {
            species: model.drug("anakinra").unwrap().concentration_species,
            times: &peak_grid,
        };
        let run =
            fast::simulate_with_probe(&s, every_other_day, 672.0, &grid, Some(probe)).unwrap();
        assert_eq!(run.trajectory.times_h, grid);
        let sampled: Vec<f64> = run.samples.iter().map(|e| e.0).collect();
        assert_eq!(sampled, peak_grid);
        reused += run.stats.reused_template as usize;
    }
    assert!(reused > 0, "the reused-template path was taken");
}
