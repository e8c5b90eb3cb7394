//! `il1sim sensitivity` as a user runs it, on the one-compartment model (fast, closed forms):
//! local coefficients against their formula, Morris and Sobol tables written, charts, and
//! errors that name the flag and what is allowed.

mod common;
use common::{il1sim, repo, tmp};

const SCENARIO: &str = r#"
[scenario]
name = "one-compartment-bolus"
description = "100 mg IV bolus, 12 h"
duration_days = 0.5

[patient]
weight_kg = 70
age_y = 50
sex = "male"
crcl_ml_min = 100
disease = "none"

[[regimens]]
name = "bolus"
drug = "test_drug"
route = "iv"
dose_mg = 100
interval_h = 12
doses = 1
"#;

fn setup(name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let dir = tmp(name);
    std::fs::create_dir_all(&dir).unwrap();
    let model = std::fs::read_to_string(repo("models/one-compartment.toml")).unwrap();
    let base = "CL = { value = 5.0, unit = \"L/h\", source = \"test value\"";
    let ranged = model
        .replace(base, &format!("{base}, range_fold = [0.5, 2.0], range_source = \"test range\""))
        .replace(
            "V = { value = 20.0, unit = \"L\", source = \"test value\"",
            "V = { value = 20.0, unit = \"L\", source = \"test value\", range_fold = [0.8, 1.25], range_source = \"test range\"",
        );
    let model_path = dir.join("model.toml");
    std::fs::write(&model_path, ranged).unwrap();
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    (dir, model_path, scenario)
}

#[test]
fn sensitivity_writes_local_morris_and_sobol_tables_and_charts() {
    let (dir, model, scenario) = setup("sens");
    let out = dir.join("out");
    let o = il1sim()
        .args(["sensitivity"])
        .arg(&scenario)
        .arg("--model")
        .arg(&model)
        .arg("--out")
        .arg(&out)
        .args([
            "--samples",
            "64",
            "--trajectories",
            "4",
            "--bootstrap",
            "20",
            "--threads",
            "2",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in [
        "local.csv",
        "morris.csv",
        "sobol.csv",
        "tornado.svg",
        "tornado.png",
        "sobol.svg",
        "sobol.png",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // d ln trough / d ln CL = −kT = −3 (k = CL/V = 0.25 /h, T = 12 h).
    let local = std::fs::read_to_string(out.join("local.csv")).unwrap();
    let row = local
        .lines()
        .find(|l| l.starts_with("trough,") && l.contains(",CL,"))
        .unwrap();
    let coefficient: f64 = row.split(',').nth(7).unwrap().parse().unwrap();
    assert!((coefficient + 3.0).abs() < 1e-6, "{row}");
    // Only the ranged parameters enter the global tables: CL and V.
    let sobol = std::fs::read_to_string(out.join("sobol.csv")).unwrap();
    assert_eq!(
        sobol.lines().filter(|l| l.starts_with("auc_tau,")).count(),
        2,
        "{sobol}"
    );
    // AUC after a bolus over 12 h depends on CL far more than on V.
    let st = |p: &str| -> f64 {
        let l = sobol
            .lines()
            .find(|l| l.starts_with(&format!("auc_tau,{p},")))
            .unwrap();
        l.split(',').nth(9).unwrap().parse().unwrap()
    };
    assert!(st("CL") > 5.0 * st("V"), "{sobol}");

    // Same seed, another thread count: the same tables.
    let out1 = dir.join("out1");
    let o = il1sim()
        .args(["sensitivity"])
        .arg(&scenario)
        .arg("--model")
        .arg(&model)
        .arg("--out")
        .arg(&out1)
        .args([
            "--samples",
            "64",
            "--trajectories",
            "4",
            "--bootstrap",
            "20",
            "--threads",
            "1",
            "--no-plot",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    for f in ["local.csv", "morris.csv", "sobol.csv"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(out1.join(f)).unwrap(),
            "{f} differs between 1 and 2 threads"
        );
    }
    assert!(!out1.join("tornado.svg").exists());
}

#[test]
fn sensitivity_errors_name_the_flag_and_the_allowed_values() {
    let (dir, model, scenario) = setup("sens-err");
    for (args, says) in [
        (
            vec!["--global", "sobolev"],
            "--global 'sobolev': allowed: none, morris, sobol, all",
        ),
        (
            vec!["--samples", "3"],
            "--samples 3: allowed: 16 to 1000000",
        ),
        (
            vec!["--regimen", "daily"],
            "--regimen 'daily': not a regimen of",
        ),
        (vec!["--threads", "0"], "--threads 0: allowed: 1 or more"),
    ] {
        let o = il1sim()
            .args(["sensitivity"])
            .arg(&scenario)
            .arg("--model")
            .arg(&model)
            .arg("--out")
            .arg(dir.join("o"))
            .args(&args)
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(e.contains(says), "{args:?}: {e}");
    }
}
