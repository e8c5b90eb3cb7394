//! Population runs are bit-identical whatever the thread count and however the run is
//! sharded: 1 thread vs 2 threads, and 4 shards merged vs one run, byte-compared (and the
//! same for the fast method).

mod common;
use common::{il1sim, repo, tmp};

fn run(args: &[&str], out: &std::path::Path) {
    let o = il1sim()
        .arg("population")
        .arg(repo("scenarios/ra-renal-population.toml"))
        .args(["--subjects", "24", "--csv"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

const OUTPUTS: [&str; 5] = [
    "subjects.csv",
    "subjects.parquet",
    "bands.csv",
    "targets.csv",
    "targets.svg",
];

fn same_outputs(a: &std::path::Path, b: &std::path::Path) {
    for f in OUTPUTS {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn results_do_not_depend_on_threads_or_shards() {
    let one = tmp("one");
    run(&["--threads", "1"], &one);
    let two = tmp("two");
    run(&["--threads", "2"], &two);
    same_outputs(&one, &two);

    let sharded = tmp("sharded");
    for k in [3, 1, 4, 2] {
        run(&["--shard", &format!("{k}/4"), "--threads", "2"], &sharded);
    }
    let o = il1sim().arg("merge").arg(&sharded).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_outputs(&one, &sharded);
    for d in [one, two, sharded] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn fast_results_do_not_depend_on_threads_or_shards() {
    let one = tmp("fast-one");
    run(&["--method", "fast", "--threads", "1"], &one);
    let sharded = tmp("fast-sharded");
    for k in [2, 1, 3] {
        run(
            &[
                "--method",
                "fast",
                "--shard",
                &format!("{k}/3"),
                "--threads",
                "2",
            ],
            &sharded,
        );
    }
    let o = il1sim().arg("merge").arg(&sharded).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_outputs(&one, &sharded);
    for d in [one, sharded] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn batched_results_do_not_depend_on_threads_or_shards() {
    // 24 subjects in batches of 4 on 1 thread, and in shards of 8 on 2 threads (other
    // lane-mates, other batches): the same bytes.
    let one = tmp("batched-one");
    run(&["--method", "batched", "--threads", "1"], &one);
    let sharded = tmp("batched-sharded");
    for k in [2, 1, 3] {
        run(
            &[
                "--method",
                "batched",
                "--shard",
                &format!("{k}/3"),
                "--threads",
                "2",
            ],
            &sharded,
        );
    }
    let o = il1sim().arg("merge").arg(&sharded).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_outputs(&one, &sharded);
    for d in [one, sharded] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn merge_names_the_missing_shards() {
    let out = tmp("missing");
    run(&["--shard", "2/3"], &out);
    let o = il1sim().arg("merge").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("missing shard(s) 1, 3 of 3") && err.contains("--shard 1/3"),
        "{err}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn omega_that_is_not_positive_definite_is_named() {
    // The shipped file's variability cut to its three PK parameters, then made not positive
    // definite (a correlation of V and ka above 1).
    let text = std::fs::read_to_string(repo("scenarios/ra-renal-population.toml"))
        .unwrap()
        .replace(
            r#"parameters = ["CL_anakinra", "V_central", "ka_anakinra", "P_il1b_basal", "il6_basal_drive"]"#,
            r#"parameters = ["CL_anakinra", "V_central", "ka_anakinra"]"#,
        )
        .replace(
            r#"[[0.0784, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0396, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0704, 0.0, 0.0], [0.0, 0.0, 0.0, 0.2312, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0961]]"#,
            r#"[[0.0784, 0.0, 0.0], [0.0, 0.0396, 0.09], [0.0, 0.09, 0.0704]]"#,
        );
    let file = tmp("bad-omega.toml");
    std::fs::write(&file, text).unwrap();
    let out = tmp("bad-omega-out");
    let o = il1sim()
        .arg("population")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not positive definite") && err.contains("ka_anakinra"),
        "{err}"
    );
    std::fs::remove_file(file).unwrap();
}

#[test]
fn covariates_from_a_csv_table() {
    let dir = tmp("table");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("patients.csv"), "weight_kg,age_y,sex,serum_creatinine_mg_dl\n62,48,female,0.8\n91,67,male,1.9\n55,72,female,3.1\n").unwrap();
    let text = std::fs::read_to_string(repo("scenarios/ra-renal-population.toml")).unwrap();
    let start = text.find("weight_kg = {").unwrap();
    let end = text.find("[population.variability]").unwrap();
    let text = format!(
        "{}table = \"patients.csv\"\n\n{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(dir.join("pop.toml"), text).unwrap();
    let out = dir.join("out");
    let o = il1sim()
        .arg("population")
        .arg(dir.join("pop.toml"))
        .args(["--subjects", "6", "--csv", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("subjects.csv")).unwrap();
    // Subject i takes row i mod 3; CrCl by Cockcroft–Gault: (140-48)*62/(72*0.8)*0.85 = 84.17 mL/min.
    let first = csv.lines().nth(1).unwrap();
    assert!(
        first.starts_with("0,100 mg daily,62,48,female,0.8,84.17"),
        "{first}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn fast_method_agrees_with_the_exact_method() {
    // The same 4 subjects by both methods: every per-subject figure within 1e-3 relative
    // (the library test checks bands and more subjects; this one checks the CLI path).
    let read = |method: &str| -> Vec<Vec<String>> {
        let out = tmp(&format!("method-{method}"));
        let o = il1sim()
            .arg("population")
            .arg(repo("scenarios/ra-renal-population.toml"))
            .args(["--subjects", "4", "--csv", "--method", method, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let csv = std::fs::read_to_string(out.join("subjects.csv")).unwrap();
        std::fs::remove_dir_all(&out).unwrap();
        csv.lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let exact = read("exact");
    for method in ["fast", "batched"] {
        agrees(&exact, &read(method), method);
    }
}

/// Every per-subject column of `fast` within 1e-3 relative of `exact`.
fn agrees(exact: &[Vec<String>], fast: &[Vec<String>], method: &str) {
    assert_eq!(exact.len(), fast.len());
    assert_eq!(exact[0], fast[0], "same columns");
    let header = &exact[0];
    let mut compared = 0;
    for (e, f) in exact.iter().zip(fast).skip(1) {
        for (k, name) in header.iter().enumerate() {
            let (Ok(a), Ok(b)) = (e[k].parse::<f64>(), f[k].parse::<f64>()) else {
                assert_eq!(e[k], f[k], "column {name}");
                continue;
            };
            // Figures that are zero-ish (observed trough noise aside) compare absolutely.
            let scale = a.abs().max(1e-9);
            assert!(
                (a - b).abs() <= 1e-3 * scale,
                "column {name}: exact {a}, {method} {b}"
            );
            compared += 1;
        }
    }
    assert!(compared > 50, "{compared}");
}
