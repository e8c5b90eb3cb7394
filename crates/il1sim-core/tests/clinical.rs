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
    let text =
        dose_response_file("\"trough:il1_signal_relative<0.2\", \"trough:anakinra_plasma>=100\"");
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
        // The quantity's median follows the dose: the signal falls, the concentration rises.
        let m: Vec<f64> = one.iter().map(|s| s.targets[k].percentiles[2]).collect();
        assert!(
            m.windows(2)
                .all(|w| if k == 0 { w[1] < w[0] } else { w[1] > w[0] }),
            "{m:?}"
        );
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
    let e = parse_dose_response(&text, "t.toml", &model)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml:") && e.contains("dose_response.targets[0]") && e.contains("day 30"),
        "{e}"
    );
    let line = text.lines().position(|l| l.starts_with("targets")).unwrap() + 1;
    assert!(e.starts_with(&format!("t.toml:{line}:")), "{e}");
    let text = dose_response_file("\"crp_day_7<10\"").replace("[0.125, 0.25,", "[0.25, 0.125,");
    let e = parse_dose_response(&text, "t.toml", &model)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("dose_response.doses[1]") && e.contains("ascending"),
        "{e}"
    );
    let text = dose_response_file("\"crp_day_7<10\"").replace("\"mg/kg\"", "\"g\"");
    let e = parse_dose_response(&text, "t.toml", &model)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("dose_unit") && e.contains("allowed: mg, mg/kg"),
        "{e}"
    );
    let text = dose_response_file("\"crp_day_7<10\"").replace("dose_unit", "dose_units");
    let e = parse_dose_response(&text, "t.toml", &model)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dose_units"), "{e}");
}

fn dose_find_file(crcl: f64, extra: &str) -> String {
    format!(
        r#"
[scenario]
name = "df"
description = "test"
duration_days = 7

[patient]
weight_kg = 20
age_y = 6
sex = "male"
crcl_ml_min = {crcl}
disease = "nomid"

[dose_find]
targets = ["trough:il1_signal_relative<0.057", "crp_day_7<10"]
max_mg_per_kg_per_day = 3
loading_dose = false
{extra}

[[regimens]]
name = "current"
route = "sc"
dose_mg_per_kg = 2
interval_h = 24
until_day = 7
"#
    )
}

#[test]
fn dose_find_ranks_label_regimens_for_one_patient() {
    let model = il1sim_core::il1_model();
    let study = parse_dose_find(&dose_find_file(110.0, ""), "df.toml", &model).unwrap();
    let cands = study.candidates();
    // 1, 1.5, 2, 2.5, 3 mg/kg/day, once or twice daily; no every-other-day at CrCl 110.
    assert_eq!(cands.len(), 10);
    assert!(cands.iter().all(|c| c.schedule != Schedule::EveryOtherDay));
    let (ranked, _) = study.run(&model, SolverOptions::default(), &|| {});
    assert_eq!(ranked.len(), 11);
    // Met targets first; among them exposure rises down the list (5% classes).
    let met: Vec<_> = ranked
        .iter()
        .take_while(|r| r.summary.all.fraction == 1.0)
        .collect();
    assert!(!met.is_empty() && met.len() < ranked.len(), "{}", met.len());
    for w in met.windows(2) {
        assert!(w[1].summary.auc_median >= w[0].summary.auc_median / 1.05);
    }
    assert!(ranked[met.len()..]
        .iter()
        .all(|r| r.summary.all.fraction == 0.0));
    // Every other day appears below 30 mL/min.
    let renal = parse_dose_find(&dose_find_file(20.0, ""), "df.toml", &model).unwrap();
    assert!(renal
        .candidates()
        .iter()
        .any(|c| c.schedule == Schedule::EveryOtherDay));
}

#[test]
fn dose_find_takes_individual_parameters_in_their_unit() {
    let model = il1sim_core::il1_model();
    let text = dose_find_file(110.0, "[dose_find.parameters]\nCL_anakinra_paed = 11.856");
    let study = parse_dose_find(&text, "df.toml", &model).unwrap();
    match &study.cohort {
        il1sim_core::clinical::evaluation::Cohort::Patient { overrides, .. } => {
            assert_eq!(overrides.len(), 1);
            assert_eq!(overrides[0].0, "CL_anakinra_paed");
            assert!((overrides[0].1 - 11.856).abs() < 1e-9, "L/h is canonical");
        }
        _ => panic!("one patient"),
    }
    // A faster clearance lowers exposure.
    let base = parse_dose_find(&dose_find_file(110.0, ""), "df.toml", &model).unwrap();
    let auc = |s: &il1sim_core::clinical::dose_find::DoseFind| {
        let (r, _) = s.run(&model, SolverOptions::default(), &|| {});
        r.iter()
            .find(|r| r.candidate.is_none())
            .unwrap()
            .summary
            .auc_median
    };
    assert!(auc(&study) < 0.7 * auc(&base));
    let text = dose_find_file(110.0, "[dose_find.parameters]\nCL_nonsense = 1.0");
    let e = parse_dose_find(&text, "df.toml", &model)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("df.toml:")
            && e.contains("dose_find.parameters.CL_nonsense")
            && e.contains("il1sim parameters"),
        "{e}"
    );
    let text = dose_find_file(110.0, "")
        .replace("max_mg_per_kg_per_day = 3", "max_mg_per_kg_per_day = 10");
    let e = parse_dose_find(&text, "df.toml", &model)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most 8 mg/kg/day"), "{e}");
}

#[test]
fn a_dose_14_h_late_compares_five_options_with_figures() {
    let model = il1sim_core::il1_model();
    let mut regimen = Regimen::repeated(
        "100 mg daily",
        "anakinra",
        DoseAmount::Mg(100.0),
        Administration::Subcutaneous,
        24.0,
        1,
    );
    regimen.repeat = Repeat::UntilDay(30);
    let q = MissedDose {
        patient: Patient::adult("caps"),
        regimen,
        day: 10,
        hours_late: 14.0,
        window_days: 3.0,
        signal: "il1_signal_relative".into(),
        crp: "crp".into(),
        signal_threshold: None,
        peak_limit_ratio: DEFAULT_PEAK_LIMIT_RATIO,
    };
    let r = q.run(&model, SolverOptions::default()).unwrap();
    assert_eq!(r.options.len(), 5);
    let get = |o: MissedOption| r.options.iter().find(|x| x.option == o).unwrap();
    let (now, skip, shift, double, split) = (
        get(MissedOption::TakeNow),
        get(MissedOption::Skip),
        get(MissedOption::TakeNowAndShift),
        get(MissedOption::DoubleNext),
        get(MissedOption::Split),
    );
    // The reference never exceeds its own peak; every late option does.
    assert_eq!(r.reference.hours_signal_above_threshold, 0.0);
    for o in &r.options {
        assert!(o.hours_signal_above_threshold > 0.0, "{}", o.name);
        assert!(o.peak_signal > r.reference.peak_signal, "{}", o.name);
    }
    // Skipping loses a third of the exposure of three days and leaves the signal highest.
    assert!(skip.auc_ng_h_ml < 0.75 * r.reference.auc_ng_h_ml);
    assert!(skip.hours_signal_above_threshold > now.hours_signal_above_threshold);
    assert!(skip.peak_signal > 2.0 * now.peak_signal);
    assert!(skip.max_crp_mg_l > 2.0 * now.max_crp_mg_l);
    // Doubling keeps the exposure but not the peak concentration; splitting is in between.
    assert!((double.auc_ng_h_ml / r.reference.auc_ng_h_ml - 1.0).abs() < 0.01);
    assert!(double.peak_concentration_ng_ml > split.peak_concentration_ng_ml);
    assert!(split.peak_concentration_ng_ml > now.peak_concentration_ng_ml);
    assert!(now.peak_concentration_ng_ml > r.reference.peak_concentration_ng_ml);
    // Shifting gives one dose fewer within the window.
    assert!(shift.auc_ng_h_ml < now.auc_ng_h_ml);
    assert_eq!(shift.doses.len(), 3);
    assert_eq!(now.doses.len(), 3);
    // The figures differ between any two options.
    for (i, a) in r.options.iter().enumerate() {
        for b in &r.options[i + 1..] {
            assert!(
                a.doses != b.doses && a.auc_ng_h_ml != b.auc_ng_h_ml,
                "{} and {}",
                a.name,
                b.name
            );
        }
    }
    assert!(!matches!(
        r.recommended,
        MissedOption::Skip | MissedOption::DoubleNext
    ));
    assert!(r.reason.contains("h"), "{}", r.reason);
    // A dose later than the next one is refused with what is allowed.
    let late = MissedDose {
        hours_late: 30.0,
        ..q.clone()
    };
    let e = late.run(&model, SolverOptions::default()).unwrap_err();
    assert!(
        e.contains("--hours-late 30") && e.contains("less than the dosing interval"),
        "{e}"
    );
}

#[test]
fn shipped_dose_response_and_dose_find_files_parse() {
    let model = il1sim_core::il1_model();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let (mut dr, mut df) = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let origin = path.display().to_string();
        if text.contains("\n[dose_response]") {
            parse_dose_response(&text, &origin, &model).unwrap_or_else(|e| panic!("{e}"));
            dr += 1;
        }
        if text.contains("\n[dose_find]") {
            parse_dose_find(&text, &origin, &model).unwrap_or_else(|e| panic!("{e}"));
            df += 1;
        }
    }
    assert_eq!((dr, df), (3, 2));
}

#[test]
fn a_late_dose_of_a_long_interval_is_compared_up_to_the_next_dose() {
    // Canakinumab every 8 weeks, 3 days late, a 14-day window: the window is widened to the
    // next dose and a day, so doubling and splitting act within it.
    let model = il1sim_core::il1_model();
    let regimen = Regimen::repeated(
        "canakinumab 150 mg every 8 weeks",
        "canakinumab",
        DoseAmount::Mg(150.0),
        Administration::Subcutaneous,
        8.0 * 7.0 * 24.0,
        1,
    );
    let q = MissedDose {
        patient: Patient::adult("caps"),
        regimen,
        day: 57,
        hours_late: 72.0,
        window_days: 14.0,
        signal: "il1_signal_relative".into(),
        crp: "crp".into(),
        signal_threshold: None,
        peak_limit_ratio: DEFAULT_PEAK_LIMIT_RATIO,
    };
    let r = q.run(&model, SolverOptions::default()).unwrap();
    assert_eq!(r.window_h, 8.0 * 7.0 * 24.0 + 24.0);
    let double = r
        .options
        .iter()
        .find(|o| o.option == MissedOption::DoubleNext)
        .unwrap();
    assert_eq!(double.doses, [(1344.0, 150.0), (1344.0, 150.0)]);
}
