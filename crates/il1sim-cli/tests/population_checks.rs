//! Population runs and merges refuse what they cannot do, before doing any of it: shards of
//! another run or another split, inconsistent or damaged shards (nothing written), bad
//! covariate tables, out-of-range options; and `merge` prints commands that recreate a
//! missing shard exactly.

mod common;
use common::{il1sim, repo, tmp};
use std::path::Path;
use std::process::Output;

fn population(file: &Path, args: &[&str], out: &Path) -> Output {
    il1sim()
        .arg("population")
        .arg(file)
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn merge(dir: &Path) -> Output {
    il1sim().arg("merge").arg(dir).output().unwrap()
}

fn ra() -> std::path::PathBuf {
    repo("scenarios/ra-renal-population.toml")
}

/// Names in `dir` (not `shards`), sorted.
fn outputs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "shards")
        .collect();
    names.sort();
    names
}

/// The shipped RA population with its covariates taken from `patients.csv` beside it, in a
/// fresh directory.
fn table_population(name: &str, csv: &str) -> std::path::PathBuf {
    let dir = tmp(name);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(ra()).unwrap();
    let start = text.find("weight_kg = {").unwrap();
    let end = text.find("[population.variability]").unwrap();
    let pop = format!(
        "{}table = \"patients.csv\"\n\n{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(dir.join("pop.toml"), pop).unwrap();
    std::fs::write(dir.join("patients.csv"), csv).unwrap();
    dir
}

#[test]
fn merge_prints_the_command_that_recreates_a_missing_shard() {
    // The run is started in its own directory with a relative file path and every kind of
    // option; merge runs elsewhere and its commands, run as printed from there, complete it.
    let dir = tmp("recreate");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(ra(), dir.join("pop file.toml")).unwrap();
    let opts = [
        "--subjects",
        "5",
        "--seed",
        "11",
        "--method",
        "fast",
        "--rtol",
        "1e-7",
        "--atol",
        "1e-7",
        "--integrator",
        "bdf",
        "--csv",
        "--timecourses",
    ];
    let o = il1sim()
        .current_dir(&dir)
        .arg("population")
        .arg("pop file.toml")
        .args(opts)
        .args(["--shard", "2/3", "--out", "out"])
        .output()
        .unwrap();
    ok(&o);
    let out = dir.join("out");
    let e = fails(&merge(&out));
    let cmds: Vec<&str> = e
        .lines()
        .filter(|l| l.trim_start().starts_with("il1sim population"))
        .collect();
    assert_eq!(cmds.len(), 2, "{e}");
    for c in &cmds {
        for o in opts {
            assert!(c.contains(o), "{o} missing in {c}");
        }
        assert!(
            c.contains(&format!("'{}'", dir.join("pop file.toml").display())),
            "{c}"
        );
    }
    for c in cmds {
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(c.trim().replacen("il1sim", env!("CARGO_BIN_EXE_il1sim"), 1))
            .output()
            .unwrap();
        ok(&o);
    }
    ok(&merge(&out));
    // The same as one run with the same options.
    let one = dir.join("one");
    ok(&population(&dir.join("pop file.toml"), &opts, &one));
    for f in [
        "subjects.parquet",
        "subjects.csv",
        "timecourses.parquet",
        "bands.csv",
        "targets.csv",
    ] {
        assert!(
            std::fs::read(one.join(f)).unwrap() == std::fs::read(out.join(f)).unwrap(),
            "{f}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn another_split_in_the_folder_is_refused_before_simulating() {
    let out = tmp("split");
    ok(&population(
        &ra(),
        &["--subjects", "4", "--method", "fast", "--shard", "1/2"],
        &out,
    ));
    let e = fails(&population(
        &ra(),
        &["--subjects", "4", "--method", "fast"],
        &out,
    ));
    assert!(e.contains("holds shards of the same run split into 2 shards (shard-1-of-2), but this run is not split"), "{e}");
    assert!(!e.contains("different run"), "{e}");
    // Nothing was simulated or written: the folder still merges once its split is complete.
    assert!(!out.join("shards/shard-1-of-1").exists());
    assert!(!e.contains("subjects in"), "{e}");
    ok(&population(
        &ra(),
        &["--subjects", "4", "--method", "fast", "--shard", "2/2"],
        &out,
    ));
    ok(&merge(&out));
    // A folder that holds two splits anyway (copied together): merge names the split.
    let other = tmp("split-other");
    ok(&population(
        &ra(),
        &["--subjects", "4", "--method", "fast"],
        &other,
    ));
    // Another run: the difference is named.
    let e = fails(&population(
        &ra(),
        &["--subjects", "6", "--method", "fast", "--shard", "1/2"],
        &other,
    ));
    assert!(e.contains("different run: --subjects (6 vs 4)"), "{e}");
    std::fs::rename(
        other.join("shards/shard-1-of-1"),
        out.join("shards/shard-1-of-1"),
    )
    .unwrap();
    let e = fails(&merge(&out));
    assert!(
        e.contains("are shards of the same run split differently (into 1 and 2 shards)"),
        "{e}"
    );
    for d in [out, other] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn merge_checks_every_shard_before_writing_anything() {
    // --timecourses is part of the run: a shard without it cannot join shards with it.
    let out = tmp("tc");
    ok(&population(
        &ra(),
        &["--subjects", "4", "--method", "fast", "--shard", "1/2"],
        &out,
    ));
    let e = fails(&population(
        &ra(),
        &[
            "--subjects",
            "4",
            "--method",
            "fast",
            "--shard",
            "2/2",
            "--timecourses",
        ],
        &out,
    ));
    assert!(
        e.contains("different run: --timecourses (true vs false)"),
        "{e}"
    );
    let other = tmp("tc-other");
    ok(&population(
        &ra(),
        &[
            "--subjects",
            "4",
            "--method",
            "fast",
            "--shard",
            "2/2",
            "--timecourses",
        ],
        &other,
    ));
    std::fs::rename(
        other.join("shards/shard-2-of-2"),
        out.join("shards/shard-2-of-2"),
    )
    .unwrap();
    let e = fails(&merge(&out));
    assert!(
        e.contains("belong to different runs: --timecourses (false vs true)"),
        "{e}"
    );
    assert!(outputs(&out).is_empty(), "{:?}", outputs(&out));
    // A damaged shard (a file lost) is found before any output is written.
    let whole = tmp("tc-whole");
    for k in [1, 2] {
        ok(&population(
            &ra(),
            &[
                "--subjects",
                "4",
                "--method",
                "fast",
                "--timecourses",
                "--shard",
                &format!("{k}/2"),
            ],
            &whole,
        ));
    }
    std::fs::remove_file(whole.join("shards/shard-2-of-2/timecourses.parquet")).unwrap();
    let e = fails(&merge(&whole));
    assert!(e.contains("timecourses.parquet is missing"), "{e}");
    assert!(outputs(&whole).is_empty(), "{:?}", outputs(&whole));
    // A corrupt Parquet file fails the merge midway: nothing is renamed into place.
    std::fs::copy(
        whole.join("shards/shard-1-of-2/timecourses.parquet"),
        whole.join("shards/shard-2-of-2/timecourses.parquet"),
    )
    .unwrap();
    std::fs::write(
        whole.join("shards/shard-2-of-2/subjects.parquet"),
        b"PAR1 not parquet",
    )
    .unwrap();
    fails(&merge(&whole));
    assert!(outputs(&whole).is_empty(), "{:?}", outputs(&whole));
    for d in [out, other, whole] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn covariate_table_rows_are_checked_at_load() {
    let dir = tmp("table-check");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(ra()).unwrap();
    let start = text.find("weight_kg = {").unwrap();
    let end = text.find("[population.variability]").unwrap();
    let pop = format!(
        "{}table = \"patients.csv\"\n\n{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(dir.join("pop.toml"), pop).unwrap();
    std::fs::write(
        dir.join("patients.csv"),
        "weight_kg,age_y,sex,serum_creatinine_mg_dl\n62,48,female,0.8\n-5,67,male,1.9\n",
    )
    .unwrap();
    let out = dir.join("out");
    let e = fails(&population(
        &dir.join("pop.toml"),
        &["--subjects", "2"],
        &out,
    ));
    assert!(
        e.contains(
            "patients.csv:3: column weight_kg = '-5' is not allowed; a number >= 0.5 and <= 400 kg"
        ),
        "{e}"
    );
    assert!(!out.exists());
    // Under the model's 0.5 kg: refused at load (it used to pass, then fail every regimen
    // as a failed solve).
    std::fs::write(
        dir.join("patients.csv"),
        "weight_kg,age_y,sex,serum_creatinine_mg_dl\n62,48,female,0.8\n0.3,0,male,0.3\n",
    )
    .unwrap();
    let e = fails(&population(
        &dir.join("pop.toml"),
        &["--subjects", "2"],
        &out,
    ));
    assert!(
        e.contains("patients.csv:3: column weight_kg = '0.3' is not allowed; a number >= 0.5 and <= 400 kg (what the model accepts)"),
        "{e}"
    );
    assert!(!out.exists());
    // Cockcroft–Gault above 300 mL/min is used as 300, as for sampled covariates.
    std::fs::write(
        dir.join("patients.csv"),
        "weight_kg,age_y,sex,serum_creatinine_mg_dl\n120,20,male,0.3\n",
    )
    .unwrap();
    let o = population(
        &dir.join("pop.toml"),
        &["--subjects", "1", "--method", "fast", "--csv"],
        &out,
    );
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("1 subject(s) had a Cockcroft–Gault clearance above 300 mL/min, used as 300"));
    // bench reads the table too (it used to fail every subject: "no rows").
    let o = il1sim()
        .arg("bench")
        .arg(dir.join("pop.toml"))
        .args(["--subjects", "2", "--method", "fast"])
        .output()
        .unwrap();
    assert!(ok(&o).contains("0 failed solves"), "{}", ok(&o));
    let csv = std::fs::read_to_string(out.join("subjects.csv")).unwrap();
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("0,100 mg daily,120,20,male,0.3,300,"),
        "{csv}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn options_out_of_range_are_refused() {
    let out = tmp("options");
    let e = fails(&population(&ra(), &["--subjects", "200000000"], &out));
    assert!(
        e.contains("--subjects 200000000: allowed: 1 to 100,000,000"),
        "{e}"
    );
    let e = fails(&population(&ra(), &["--threads", "0"], &out));
    assert!(e.contains("--threads 0: allowed: 1 or more"), "{e}");
    let o = il1sim()
        .args(["bench"])
        .arg(ra())
        .args(["--subjects", "200000000"])
        .output()
        .unwrap();
    assert!(fails(&o).contains("allowed: 1 to 100,000,000"));
    assert!(!out.exists());
}

#[test]
fn an_empty_shard_says_so() {
    let out = tmp("empty-shard");
    let o = population(
        &ra(),
        &["--subjects", "3", "--method", "fast", "--shard", "1/4"],
        &out,
    );
    ok(&o);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("shard 1/4: no subjects (3 subjects split into 4 shards leave this one empty)"),
        "{e}"
    );
    assert!(!e.contains("per subject"), "{e}");
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn an_edited_covariate_table_is_another_run() {
    let csv = "weight_kg,age_y,sex,serum_creatinine_mg_dl\n62,48,female,0.8\n80,67,male,1.9\n";
    let dir = table_population("table-identity", csv);
    let (pop, out) = (dir.join("pop.toml"), dir.join("out"));
    let args = |k: &str| {
        ["--subjects", "4", "--method", "fast", "--shard", k]
            .map(String::from)
            .to_vec()
    };
    let run = |k: &str, out: &Path| {
        let a = args(k);
        population(&pop, &a.iter().map(String::as_str).collect::<Vec<_>>(), out)
    };
    ok(&run("1/2", &out));
    // The table is edited between the shards: the second shard is refused ...
    std::fs::write(
        dir.join("patients.csv"),
        csv.replace("62,48,female", "95,48,female"),
    )
    .unwrap();
    let e = fails(&run("2/2", &out));
    assert!(
        e.contains("holds a shard of a different run: covariate table (its contents differ)"),
        "{e}"
    );
    assert!(!out.join("shards/shard-2-of-2").exists());
    // ... and a shard of the edited table brought in from elsewhere is refused by merge.
    let other = dir.join("other");
    ok(&run("2/2", &other));
    std::fs::rename(
        other.join("shards/shard-2-of-2"),
        out.join("shards/shard-2-of-2"),
    )
    .unwrap();
    let e = fails(&merge(&out));
    assert!(
        e.contains("belong to different runs: covariate table (its contents differ)"),
        "{e}"
    );
    assert!(outputs(&out).is_empty(), "{:?}", outputs(&out));
    // With the table as it was, the shard joins and the run merges.
    std::fs::remove_dir_all(out.join("shards/shard-2-of-2")).unwrap();
    std::fs::write(dir.join("patients.csv"), csv).unwrap();
    ok(&run("2/2", &out));
    ok(&merge(&out));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_merge_that_cannot_place_every_output_leaves_the_previous_ones() {
    let out = tmp("commit");
    let args = ["--subjects", "4", "--method", "fast", "--csv"];
    ok(&population(&ra(), &args, &out));
    let names = outputs(&out);
    // targets.png is the output renamed into place last.
    assert!(names.iter().any(|n| n == "targets.png"), "{names:?}");
    let merged: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(out.join(n)).unwrap())
        .collect();
    // Previous outputs, told apart by their content; a directory where the output renamed
    // last must go, so that every other output could have been replaced before it.
    for n in &names {
        std::fs::write(out.join(n), format!("previous {n}")).unwrap();
    }
    std::fs::remove_file(out.join("targets.png")).unwrap();
    std::fs::create_dir(out.join("targets.png")).unwrap();
    let e = fails(&merge(&out));
    assert!(e.contains("targets.png: it is a directory"), "{e}");
    assert_eq!(outputs(&out), names, "no temporary or aside file is left");
    for n in names.iter().filter(|n| *n != "targets.png") {
        assert_eq!(
            std::fs::read_to_string(out.join(n)).unwrap(),
            format!("previous {n}"),
            "{n} was replaced although the merge failed"
        );
    }
    // Once the way is clear, the merge writes the whole set again.
    std::fs::remove_dir(out.join("targets.png")).unwrap();
    ok(&merge(&out));
    assert_eq!(outputs(&out), names);
    for (n, bytes) in names.iter().zip(&merged) {
        assert!(&std::fs::read(out.join(n)).unwrap() == bytes, "{n}");
    }
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_new_run_into_a_folder_removes_what_the_old_one_wrote_and_it_does_not() {
    // Found in the final review: after `rm -r out/shards` a smaller run without --csv left
    // the old subjects.csv (and time courses) beside its own outputs.
    let out = tmp("stale");
    ok(&population(
        &ra(),
        &[
            "--subjects",
            "3",
            "--method",
            "fast",
            "--csv",
            "--timecourses",
        ],
        &out,
    ));
    assert!(out.join("subjects.csv").exists() && out.join("timecourses.parquet").exists());
    std::fs::remove_dir_all(out.join("shards")).unwrap();
    ok(&population(
        &ra(),
        &["--subjects", "2", "--method", "fast"],
        &out,
    ));
    let names = outputs(&out);
    assert!(
        !names
            .iter()
            .any(|n| n == "subjects.csv" || n == "timecourses.parquet"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "subjects.parquet"), "{names:?}");
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn regimen_names_that_share_a_figure_file_are_refused() {
    // Found in the final review: "100 mg daily" and "100 mg, daily" were staged to one
    // figure file and the merge failed after simulating.
    let dir = tmp("stems");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("p.toml");
    let text = std::fs::read_to_string(ra()).unwrap().replace(
        "name = \"100 mg every other day\"",
        "name = \"100 mg, daily\"",
    );
    std::fs::write(&file, text).unwrap();
    let e = fails(&population(&file, &["--subjects", "2"], &dir.join("out")));
    assert!(
        e.contains("give the same figure file bands-100-mg-daily.svg"),
        "{e}"
    );
    assert!(!dir.join("out").exists(), "nothing simulated or written");
    std::fs::remove_dir_all(dir).unwrap();
}
