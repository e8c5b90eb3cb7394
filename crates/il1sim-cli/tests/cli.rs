//! The binary as a user runs it: the README's example, the quick form, validate, and errors.

mod common;
use common::{il1sim, repo, tmp};

#[test]
fn readme_example_writes_csv_json_and_svg() {
    let out = tmp("ra");
    let o = il1sim()
        .args(["simulate"])
        .arg(repo("scenarios/ra-100mg-daily.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "Cmax",
        "Tmax",
        "trough",
        "AUC",
        "average concentration",
        "occupancy",
        "IL-1 signal",
        "CRP day 1",
        "CRP day 7",
        "CRP day 14",
        "CRP at end",
    ] {
        assert!(stdout.contains(needle), "summary lacks {needle}:\n{stdout}");
    }
    let csv = std::fs::read_to_string(out.join("timecourse.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("time_h,anakinra_plasma_ng_per_mL,il1b_free_plasma_pg_per_mL"),
        "{header}"
    );
    for col in [
        "receptor_occupancy_antagonist_fraction",
        "il1_signal_relative_ratio",
        "il6_plasma_pg_per_mL",
        "crp_mg_per_L",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert_eq!(csv.lines().count(), 1 + 28 * 24 + 1);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let figures = json["regimens"][0]["figures"].as_array().unwrap();
    let cavg = figures.iter().find(|f| f["name"] == "c_average").unwrap();
    assert_eq!(cavg["unit"], "ng/mL");
    assert!(cavg["value"].as_f64().unwrap() > 300.0);
    let svg = std::fs::read_to_string(out.join("timecourse.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("time (days)"));
    let png = std::fs::read(out.join("timecourse.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn quick_form_with_what_if_options() {
    let out = tmp("quick");
    let o = il1sim()
        .args([
            "simulate",
            "--drug",
            "anakinra",
            "--dose",
            "100mg",
            "--route",
            "sc",
            "--every",
            "24h",
            "--days",
            "14",
            "--weight",
            "70",
            "--crcl",
            "100",
            "--disease",
            "ra",
            "--missed-dose",
            "5",
            "--loading-dose",
            "200mg",
            "--no-plot",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.join("timecourse.csv").exists()
            && !out.join("timecourse.svg").exists()
            && !out.join("timecourse.png").exists()
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let out = tmp("bad");
    let cases: &[(&[&str], &str)] = &[
        (&["--dose", "100"], "a unit is needed"),
        (&["--dose", "100mg", "--weight", "-70"], "--weight = -70 kg"),
        (&["--dose", "100mg", "--every", "0h"], "must be > 0"),
        (
            &["--dose", "100mg", "--disease", "gout"],
            "allowed: aosd, caps, dira, fcas, healthy, mas, mws, nomid, ra, sepsis, sjia",
        ),
        (&["--dose", "100mg", "--route", "im"], "allowed: sc, iv"),
    ];
    for (args, needle) in cases {
        let o = il1sim()
            .arg("simulate")
            .args(*args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let scenario = tmp("bad-scenario.toml");
    let text = std::fs::read_to_string(repo("scenarios/ra-100mg-daily.toml"))
        .unwrap()
        .replace("dose_mg = 100", "dose_mg = -100");
    std::fs::write(&scenario, text).unwrap();
    let o = il1sim()
        .arg("simulate")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains(":19: regimens[0].dose: -100 mg is not allowed; a dose must be > 0"),
        "{err}"
    );
    assert!(!out.exists(), "no output directory on input errors");
    std::fs::remove_file(&scenario).unwrap();
}

#[test]
fn validate_passes_and_writes_csv() {
    let csv = tmp("validation.csv");
    let o = il1sim()
        .args(["validate", "--csv"])
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert!(stdout.contains("0 failed"), "{stdout}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text
        .lines()
        .next()
        .unwrap()
        .starts_with("id,group,role,quantity,published"));
    std::fs::remove_file(&csv).unwrap();
}

#[test]
fn validate_exits_1_when_a_target_fails() {
    let targets = tmp("targets.toml");
    let text = std::fs::read_to_string(repo("validation/targets.toml"))
        .unwrap()
        .replace(
            "value = 0.8, tolerance = 0.02",
            "value = 8.0, tolerance = 0.02",
        );
    std::fs::write(&targets, text).unwrap();
    let o = il1sim()
        .args(["validate", "--role", "calibration", "--targets"])
        .arg(&targets)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("FAIL"));
    std::fs::remove_file(&targets).unwrap();
}

/// One healthy-CRP target (published 0.8 mg/L) with its check value and a known_failure mark.
fn marked_target(value: &str) -> String {
    format!(
        "[[targets]]\nid = \"healthy-crp\"\ngroup = \"healthy\"\nrole = \"calibration\"\n\
         quantity = \"untreated CRP, healthy adult\"\nexperiment = \"healthy_crp\"\n\
         unit = \"mg/L\"\ncheck = {{ relative = {{ value = {value}, tolerance = 0.02 }} }}\n\
         source = \"s\"\ntolerance_basis = \"b\"\nknown_failure = \"a stated reason\"\n"
    )
}

#[test]
fn validate_counts_known_failures_and_fails_when_one_passes() {
    let targets = tmp("targets-known.toml");
    // Still failing: shown as known, counted apart, exit 0.
    std::fs::write(&targets, marked_target("8.0")).unwrap();
    let o = il1sim()
        .args(["validate", "--targets"])
        .arg(&targets)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(" known "), "{stdout}");
    assert!(
        stdout.contains("0 passed (0 of them predictions), 0 failed, 1 known failure"),
        "{stdout}"
    );
    assert!(stdout.contains("a stated reason"), "{stdout}");
    // Now passing: the mark is stale, shown as FIXED, exit 1 with what to do.
    std::fs::write(&targets, marked_target("0.8")).unwrap();
    let o = il1sim()
        .args(["validate", "--targets"])
        .arg(&targets)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FIXED"), "{stdout}");
    assert!(stdout.contains("remove its known_failure line"), "{stdout}");
    std::fs::remove_file(&targets).unwrap();
}

#[test]
fn compare_writes_html_and_csv_for_caps_and_dira() {
    for (scenario, drugs) in [
        ("scenarios/caps-compare.toml", "anakinra,canakinumab"),
        ("scenarios/dira-compare.toml", "anakinra,canakinumab"),
    ] {
        let out = tmp(&format!("compare-{}", scenario.len()));
        let o = il1sim()
            .arg("compare")
            .arg(repo(scenario))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
        assert!(csv.contains(&format!("drug,,{drugs}")), "{csv}");
        for row in [
            "injections per month on treatment",
            "IL-1RI occupancy by antagonist at trough",
            "total IL-1β in plasma",
            "free IL-1α in plasma",
            "time to remission",
            "time to flare",
            "time to flare after the first missed dose",
        ] {
            assert!(csv.contains(row), "{row} missing:\n{csv}");
        }
        if scenario.contains("caps") {
            // The fourth CAPS arm misses two doses: its row reports the outcome, not "no missed dose".
            let row = csv
                .lines()
                .find(|l| l.contains("first missed dose"))
                .unwrap();
            assert!(
                row.ends_with("mg/L)")
                    || row.split(',').next_back().unwrap().parse::<f64>().is_ok(),
                "{row}"
            );
        }
        let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
        assert!(
            html.starts_with("<!DOCTYPE html>")
                && html.contains("<svg")
                && html.contains("</table>")
        );
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn trial_prints_arms_and_writes_csv_and_figures() {
    let out = tmp("trial");
    let file = tmp("trial.toml");
    let text = std::fs::read_to_string(repo("scenarios/ra-acr-trial.toml"))
        .unwrap()
        .replace("subjects = 501", "subjects = 8")
        .replace("subjects = 251", "subjects = 4")
        .replace("subjects = 250", "subjects = 4")
        .replace("duration_days = 168", "duration_days = 14")
        .replace("assessment_day = 168", "assessment_day = 14")
        .replace("until_day = 168", "until_day = 14")
        .replace("crp_days = [1, 7, 28, 84, 168]", "crp_days = [1, 7]");
    std::fs::write(&file, text).unwrap();
    let o = il1sim()
        .arg("trial")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("anakinra 100 mg/day + MTX"), "{stdout}");
    assert!(stdout.contains("95% CI"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("acr.csv")).unwrap();
    assert!(
        csv.starts_with("arm,level,n,responders,percent,ci_low_percent"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 2 * 3);
    let subjects = std::fs::read_to_string(out.join("subjects.csv")).unwrap();
    assert_eq!(subjects.lines().count(), 1 + 8);
    for f in ["acr.svg", "acr.png"] {
        assert!(std::fs::metadata(out.join(f)).unwrap().len() > 1000, "{f}");
    }
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_file(&file).unwrap();
}

/// Every command's `--help` states each default once: clap adds `[default: …]` for an
/// argument with a default value, so a doc comment that says it too prints it twice.
#[test]
fn help_states_each_default_once() {
    let top = il1sim().arg("--help").output().unwrap();
    assert!(top.status.success());
    let listing = String::from_utf8_lossy(&top.stdout);
    let commands: Vec<String> = listing
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(
        commands.len() >= 20,
        "commands read from --help: {commands:?}"
    );
    for c in &commands {
        let o = il1sim().args([c.as_str(), "--help"]).output().unwrap();
        assert!(o.status.success(), "{c} --help failed");
        let help = String::from_utf8_lossy(&o.stdout);
        for line in help.lines() {
            assert!(
                line.matches("[default:").count() <= 1,
                "`il1sim {c} --help` states a default twice: {line}"
            );
        }
    }
}
