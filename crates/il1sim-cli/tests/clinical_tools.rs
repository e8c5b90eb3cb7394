//! dose-response, dose-find and missed-dose as a user runs them: outputs written, tables with
//! units, errors that name the file, line and value.

mod common;
use common::{il1sim, repo, tmp};

fn run(args: &[&str], out: Option<&std::path::Path>) -> std::process::Output {
    let mut c = il1sim();
    c.args(args);
    if let Some(o) = out {
        c.arg("--out").arg(o);
    }
    c.output().unwrap()
}

#[test]
fn dose_response_quick_form_writes_csv_and_curves() {
    let out = tmp("dr-quick");
    let o = run(
        &[
            "dose-response",
            "--disease",
            "nomid",
            "--drug",
            "anakinra",
            "--doses",
            "0.25,1,4mg/kg",
            "--every",
            "24h",
            "--population",
            "caps-paediatric",
            "--target",
            "trough:receptor_occupancy_antagonist>=0.95",
            "--days",
            "7",
            "--subjects",
            "8",
            "--method",
            "fast",
            "--threads",
            "1",
        ],
        Some(&out),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("0.250 mg/kg") && stdout.contains("fraction"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out.join("dose_response.csv")).unwrap();
    assert!(csv.starts_with("regimen,dose,dose_unit,target,quantity,quantity_unit,n,failures,attained,attainment,ci_low,ci_high,p5,p25,median,p75,p95"), "{csv}");
    assert_eq!(csv.lines().count(), 4);
    assert!(out.join("dose_response.svg").exists() && out.join("dose_response.png").exists());
    // Same seed, other thread count: the same bytes.
    let out2 = tmp("dr-quick-2");
    let o = run(
        &[
            "dose-response",
            "--disease",
            "nomid",
            "--doses",
            "0.25,1,4mg/kg",
            "--population",
            "caps-paediatric",
            "--target",
            "trough:receptor_occupancy_antagonist>=0.95",
            "--days",
            "7",
            "--subjects",
            "8",
            "--method",
            "fast",
            "--threads",
            "2",
        ],
        Some(&out2),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        csv,
        std::fs::read_to_string(out2.join("dose_response.csv")).unwrap()
    );
}

#[test]
fn dose_response_errors_say_what_is_allowed() {
    let out = tmp("dr-err");
    let o = run(
        &[
            "dose-response",
            "--doses",
            "1,2",
            "--population",
            "caps-paediatric",
            "--target",
            "crp_day_7<10",
        ],
        Some(&out),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--doses '1,2': a unit is needed"), "{e}");
    let o = run(
        &[
            "dose-response",
            "--doses",
            "1mg/kg",
            "--population",
            "caps-paediatric",
            "--target",
            "trough:nothing<1",
        ],
        Some(&out),
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("'nothing' is not an observable") && e.contains("allowed:"),
        "{e}"
    );
    std::fs::create_dir_all(&out).unwrap();
    let bad = out.join("bad.toml");
    let text = std::fs::read_to_string(repo("scenarios/nomid-dose-response.toml"))
        .unwrap()
        .replace(
            "targets = [\"crp_day_90<10\"]",
            "targets = [\"crp_day_91<10\"]",
        );
    std::fs::write(&bad, &text).unwrap();
    let o = il1sim()
        .arg("dose-response")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    let line = text.lines().position(|l| l.contains("crp_day_91")).unwrap() + 1;
    assert!(
        e.contains(&format!("bad.toml:{line}: dose_response.targets[0]")) && e.contains("day 91"),
        "{e}"
    );
}

#[test]
fn dose_find_ranks_and_writes_table_csv_chart() {
    let out = tmp("df");
    let f = repo("scenarios/nomid-dose-find.toml");
    let o = il1sim()
        .arg("dose-find")
        .arg(&f)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("rank") && stdout.contains("ng·h/mL") && stdout.contains("/week"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out.join("dose_find.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 1 + 47, "{csv}");
    assert!(rows[1].starts_with("1,"));
    // No regimen above the label's 8 mg/kg/day.
    for r in &rows[1..] {
        let fields: Vec<&str> = r.split(',').collect();
        if let Ok(d) = fields[3].parse::<f64>() {
            assert!(d <= 8.0, "{r}");
        }
    }
    assert!(out.join("dose_find.svg").exists() && out.join("dose_find.png").exists());
    // An unknown individual parameter names itself and `il1sim parameters`.
    let bad = out.join("bad.toml");
    let text = std::fs::read_to_string(&f).unwrap();
    let line = "P_il1b_basal = 0.6524";
    assert!(text.contains(line), "the shipped file sets P_il1b_basal");
    let text = text.replace(line, "CL_anakinra_kid = 7.5");
    std::fs::write(&bad, &text).unwrap();
    let o = il1sim()
        .arg("dose-find")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("dose_find.parameters.CL_anakinra_kid") && e.contains("il1sim parameters"),
        "{e}"
    );
}

#[test]
fn missed_dose_prints_json_and_refuses_a_dose_later_than_the_next() {
    let out = tmp("md");
    let o = run(
        &[
            "missed-dose",
            "--disease",
            "caps",
            "--dose",
            "100mg",
            "--missed-day",
            "10",
            "--hours-late",
            "14",
            "--json",
        ],
        Some(&out),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["options"].as_array().unwrap().len(), 5);
    assert!(v["reason"].as_str().unwrap().contains(" h"));
    for f in [
        "missed_dose.json",
        "missed_dose.csv",
        "missed_dose.svg",
        "missed_dose.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let o = run(
        &[
            "missed-dose",
            "--disease",
            "caps",
            "--dose",
            "100mg",
            "--hours-late",
            "14",
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.starts_with("The label's advice comes first"),
        "{stdout}"
    );
    assert!(
        stdout.contains("model's choice:") && stdout.contains("mg/L") && stdout.contains("ng·h/mL"),
        "{stdout}"
    );
    let o = run(
        &[
            "missed-dose",
            "--disease",
            "caps",
            "--dose",
            "100mg",
            "--hours-late",
            "30",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("less than the dosing interval (24 h)"));
}
