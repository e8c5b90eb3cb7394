//! The clinical tools on the bundled model: dose-response attainment rises with dose on a
//! population and does not depend on the thread count; dose finding ranks the label's
//! regimens; a late dose's five options compared with figures.

use il1sim_core::clinical::dose_find::Schedule;
use il1sim_core::clinical::files::{parse_dose_find, parse_dose_response};
use il1sim_core::clinical::missed_dose::{MissedDose, MissedOption, DEFAULT_PEAK_LIMIT_RATIO};
use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat};
use il1sim_core::model::patient::Patient;
use il1sim_core::solve::options::SolverOptions;

const POPULATION: &str = r#"
[scenario]
name = "t"
description = "test"
duration_days = 14

[population]
subjects = 16
seed = 3
disease = "nomid"
method = "fast"

[population.covariates]
age_y = { distribution = "normal", mean = 9.0, sd = 4.5, min = 2.0, max = 17.9 }
weight_kg = { distribution = "lognormal", median = 30.0, cv = 0.45, min = 10.0, max = 90.0 }
crcl_ml_min = { distribution = "normal", mean = 110.0, sd = 15.0, min = 60.0, max = 180.0 }
female_fraction = 0.5

[population.variability]
parameters = ["CL_anakinra"]
omega = [[0.0784]]
source = "test"
"#;

fn dose_response_file(targets: &str) -> String {
    format!(
        "{POPULATION}
[dose_response]
doses = [0.125, 0.25, 0.5, 1, 2]
dose_unit = \"mg/kg\"
targets = [{targets}]

[[regimens]]
name = \"daily\"
route = \"sc\"
dose_mg_per_kg = 1
interval_h = 24
until_day = 14
"
    )
}

#[test]
fn attainment_rises_with_dose_and_ignores_thread_count() {
    let model = il1sim_core::il1_model();
    let text = dose_response_file(
        "\"trough:receptor_occupancy_antagonist>=0.95\", \"trough:anakinra_plasma>=100\"",
    );
    let study = parse_dose_response(&text, "t.toml", &model).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| study.run(&model, SolverOptions::default(), &|| {}))
    };
    let (points, one, results1) = run(1);
    let (_, two, results2) = run(2);
    // Compared as text: the "all targets" summaries hold NaN percentiles.
    assert_eq!(
        format!("{one:?}"),
        format!("{two:?}"),
        "summaries depend on the thread count"
    );
    assert_eq!(results1, results2);
    assert_eq!(points.len(), 5);
    for k in 0..2 {
        let f: Vec<f64> = one.iter().map(|s| s.targets[k].fraction).collect();
        assert!(f.windows(2).all(|w| w[1] >= w[0]), "target {k}: {f:?}");
        assert!(f[4] > f[0], "target {k} does not rise: {f:?}");
        // The quantity's median rises with the dose too.
        let m: Vec<f64> = one.iter().map(|s| s.targets[k].percentiles[2]).collect();
        assert!(m.windows(2).all(|w| w[1] > w[0]), "{m:?}");
    }
    for s in &one {
        assert_eq!(s.evaluated, 16);
        let (lo, hi) = s.targets[0].interval.unwrap();
        assert!(lo <= s.targets[0].fraction && s.targets[0].fraction <= hi);
        assert!(s.all.fraction <= s.targets[0].fraction.min(s.targets[1].fraction));
    }
}

#[test]
fn dose_response_file_errors_name_the_line() {
    let model = il1sim_core::il1_model();
    let text = dose_response_file("\"crp_day_30<10\"");
    let e = parse_dose_response(&text, "t.toml", &model).unwrap_err().to_string();
    assert!(e.starts_with("t.toml:") && e.contains("dose_response.targets[0]") && e.contains("day 30"), "{e}");
    let line = text.lines().position(|l| l.starts_with("targets")).unwrap() + 1;
    assert!(e.starts_with(&format!("t.toml:{line}:")), "{e}");
    let text = dose_response_file("\"crp_day_7<10\"").replace("[0.125, 0.25,", "[0.25, 0.125,");
    let e = parse_dose_response(&text, "t.toml", &model).unwrap_err().to_string();
    assert!(e.contains("dose_response.doses[1]") && e.contains("ascending"), "{e}");
    let text = dose_response_file("\"crp_day_7<10\"").replace("\"mg/kg\"", "\"g\"");
    let e = parse_dose_response(&text, "t.toml", &model).unwrap_err().to_string();
    assert!(e.contains("dose_unit") && e.contains("allowed: mg, mg/kg"), "{e}");
    let text = dose_response_file("\"crp_day_7<10\"").replace("dose_unit", "dose_units");
    let e = parse_dose_response(&text, "t.toml", &model).unwrap_err().to_string();
    assert!(e.contains("dose_units"), "{e}");
}
