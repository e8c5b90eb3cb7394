//! `simulate --data` and `data-records` as a user runs them on the shipped datasets.

mod common;
use common::{il1sim, repo, tmp};

#[test]
fn simulate_data_writes_the_table_and_the_figure() {
    let out = tmp("data");
    let o = il1sim()
        .args(["simulate", "--data"])
        .arg(repo("examples/data/ra-tdm.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("table.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "ID,TIME,CMT,DV,MDV,PRED,IPRED,RES,IRES,WRES,CWRES,IWRES"
    );
    // One row per observation of the file (16), the BLQ sample without DV.
    assert_eq!(lines.clone().count(), 16);
    assert!(csv.contains("102,119.5,anakinra_plasma,,1,"), "{csv}");
    for f in ["table.parquet", "predictions.svg", "predictions.png"] {
        assert!(out.join(f).exists(), "{f}");
    }
}

#[test]
fn simulate_data_refuses_dose_flags_and_names_a_bad_record() {
    let o = il1sim()
        .args(["simulate", "--data"])
        .arg(repo("examples/data/ra-tdm.csv"))
        .args(["--dose", "100mg", "--out"])
        .arg(tmp("data-flags"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--dose cannot be combined with --data"));
    let bad = tmp("data-bad").join("bad.csv");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(
        &bad,
        "ID,TIME,AMT,CMT,EVID,DV\n1,0,100,anakinra_sc,1,.\n1,5,.,crpp,0,3\n",
    )
    .unwrap();
    let o = il1sim()
        .args(["simulate", "--data"])
        .arg(&bad)
        .arg("--out")
        .arg(tmp("data-bad-out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("bad.csv:3: column CMT = 'crpp'"), "{err}");
}

#[test]
fn data_records_expands_additional_doses_and_lists_cmt_numbers() {
    let o = il1sim()
        .args(["data-records", "--json"])
        .arg(repo("examples/data/every-case.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let s2 = &v["subjects"][1];
    assert_eq!(s2["doses"].as_array().unwrap().len(), 7);
    // ID 9: a reset at 72 h ends the daily doses of its first record.
    let s9 = &v["subjects"][8];
    let times: Vec<f64> = s9["doses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["time_h"].as_f64().unwrap())
        .collect();
    assert_eq!(times, vec![0.0, 24.0, 48.0, 72.0]);
    let o = il1sim().args(["data-records", "--cmt"]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("1  anakinra_sc") && text.contains("101  anakinra_plasma"),
        "{text}"
    );
}
