//! Fixes found in review, as a user meets them: quick-form values that reach our checks
//! (exponents, negative numbers, huge grids and schedules), outputs written as one set,
//! injections per month from the doses given, targets-file and model-file errors.

mod common;
use common::{il1sim, repo, tmp};
use std::process::Output;

fn simulate(args: &[&str], out: &std::path::Path) -> Output {
    il1sim()
        .arg("simulate")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn quick_form_values_get_our_messages() {
    let out = tmp("review-quick");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--dose", "100mg", "--output-interval", "0.0000001h"],
            "--output-interval '0.0000001h' gives 6720000000 output times within --days 28; allowed: at most 1000000",
        ),
        (
            &["--dose", "100mg", "--every", "0.000001h"],
            "--every '0.000001h' gives 672000001 doses within --days 28; allowed: at most 100000 doses",
        ),
        // Exponent notation is a number, not the unit "e-3h".
        (
            &["--dose", "100mg", "--every", "1e-3h"],
            "--every '1e-3h' gives 672000 doses",
        ),
        // Negative values reach our check instead of clap's "unexpected argument".
        (&["--dose", "100mg", "--every", "-24h"], "--every '-24h': must be > 0"),
        (&["--dose", "-100mg"], "--dose '-100mg': a dose must be > 0"),
        (
            &["--dose", "100mg", "--stop-day", "-3"],
            "'-3' is not a day; allowed: a whole number >= 1",
        ),
        (&["--dose", "100mg", "--missed-dose", "40"], "--missed-dose = 40"),
        (&["--dose", "100mg", "--stop-day", "50"], "--stop-day = 50"),
        (
            &["--dose", "100mg", "--iv", "--infusion-hours", "48", "--every", "24h"],
            "--infusion-hours = 48 h every 24 h",
        ),
        (
            &["--dose", "100mg", "--weight", "0.01"],
            "--weight = 0.01 kg: allowed: 0.5 to 400 kg",
        ),
    ];
    for (args, needle) in cases {
        let o = simulate(args, &out);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("unexpected argument"), "{args:?}");
    }
    assert!(!out.exists(), "no output directory on input errors");
    // Exponent notation in a valid run.
    let o = simulate(
        &[
            "--dose",
            "1e2mg",
            "--every",
            "1.2e1h",
            "--days",
            "1",
            "--no-plot",
        ],
        &out,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn outputs_are_written_as_one_set() {
    let out = tmp("review-set");
    let run = |extra: &[&str]| {
        let mut args = vec!["--dose", "100mg"];
        args.extend_from_slice(extra);
        simulate(&args, &out)
    };
    let o = run(&["--days", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // summary.json cannot be written: timecourse.csv keeps the previous run's content.
    std::fs::write(out.join("timecourse.csv"), "previous run").unwrap();
    std::fs::remove_file(out.join("summary.json")).unwrap();
    std::fs::create_dir(out.join("summary.json")).unwrap();
    let o = run(&["--days", "3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("summary.json: it is a directory"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("timecourse.csv")).unwrap(),
        "previous run"
    );
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        n.contains(".tmp-") || n.contains(".old-")
    }));
    std::fs::remove_dir(out.join("summary.json")).unwrap();
    // --no-plot removes the figures of the earlier run, and nothing else.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    assert!(out.join("timecourse.svg").exists() && out.join("timecourse.png").exists());
    let o = run(&["--days", "2", "--no-plot"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("timecourse.svg"));
    assert!(!out.join("timecourse.svg").exists() && !out.join("timecourse.png").exists());
    assert!(out.join("summary.json").is_file() && out.join("notes.txt").exists());
    assert_ne!(
        std::fs::read_to_string(out.join("timecourse.csv")).unwrap(),
        "previous run"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn injections_per_month_of_an_infusion_regimen_is_not_a_daily_rate() {
    let out = tmp("review-sepsis");
    let o = il1sim()
        .arg("compare")
        .arg(repo("scenarios/sepsis-iv-2mgkgh.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with("injections per month"))
        .unwrap();
    assert!(!row.contains("30.4"), "{row}");
    assert!(row.ends_with("— (1 injection),— (1 injection)"), "{row}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn targets_file_mistakes_are_input_errors() {
    let targets = tmp("review-targets.toml");
    let bundled = std::fs::read_to_string(repo("validation/targets.toml")).unwrap();
    let first = bundled
        .find("check = { at_most = { value = 1e-6 } }")
        .unwrap();
    for (text, needle) in [
        (
            format!(
                "{}check = {{ range = {{ low = 5, high = 1 }} }}{}",
                &bundled[..first],
                &bundled[first + "check = { at_most = { value = 1e-6 } }".len()..]
            ),
            "low must be <= high",
        ),
        (
            bundled.replacen("unit = \"relative\"", "unit = \"ng/mL\"", 1),
            "'ng/mL' is not allowed; experiment 'closed_form_sc_single' gives a value in 'relative'",
        ),
        (
            bundled.replacen("tolerance_basis", "tolerance_basiss", 1),
            "targets file is not valid TOML or has an unknown field",
        ),
    ] {
        std::fs::write(&targets, text).unwrap();
        let o = il1sim()
            .args(["validate", "--targets"])
            .arg(&targets)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
        assert!(!stderr(&o).contains("model file"), "{}", stderr(&o));
    }
    std::fs::remove_file(&targets).unwrap();
}

#[test]
fn derived_inf_names_the_model_file() {
    let model = tmp("review-model.toml");
    let text = std::fs::read_to_string(repo("models/il1.toml"))
        .unwrap()
        .replace(
            "V_tissue = { expr = \"Q_tissue / k_tissue_equilibration\"",
            "V_tissue = { expr = \"Q_tissue / (k_tissue_equilibration * 0)\"",
        );
    std::fs::write(&model, text).unwrap();
    let out = tmp("review-model-out");
    let o = il1sim()
        .arg("simulate")
        .arg(repo("scenarios/nomid-child-2mgkg.toml"))
        .arg("--model")
        .arg(&model)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("model file {}: derived.V_tissue", model.display())),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(&model).unwrap();
}
