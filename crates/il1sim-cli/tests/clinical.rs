//! `il1sim check` and `il1sim plan` as a prescriber runs them: verdicts, suggested label
//! regimens, errors, and the calendar read back by a real iCalendar parser.

mod common;
use common::{il1sim, repo, tmp};
use icalendar::{Component, DatePerhapsTime};
use std::process::Output;

fn run(args: &[&str]) -> Output {
    il1sim().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "should fail: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn path(p: &str) -> String {
    repo(p).display().to_string()
}

#[test]
fn nomid_child_file_is_fine_and_starts_at_20_to_40_mg() {
    let s = stdout(&run(&["check", &path("patients/nomid-child.toml")]));
    assert!(s.contains("VERDICT: FINE"), "{s}");
    assert!(s.contains("20–40 mg/day for 20 kg"), "{s}");
    assert!(s.contains("maximum 8 mg/kg/day (160 mg/day)"), "{s}");
    assert!(
        s.contains("supports and does not replace clinical judgement"),
        "{s}"
    );
    assert!(s.contains("ISR new (placebo)"), "{s}");
}

#[test]
fn ra_with_etanercept_and_crcl_24_is_do_not_give_and_suggests_every_other_day() {
    let args = [
        "check",
        "--indication",
        "ra",
        "--weight",
        "82",
        "--crcl",
        "24",
        "--comedication",
        "methotrexate,etanercept",
        "--dose",
        "100mg",
        "--every",
        "24h",
    ];
    let s = stdout(&run(&args));
    assert!(s.contains("VERDICT: DO NOT GIVE"), "{s}");
    assert!(s.contains("Genovese MC et al. 2004 Arthritis Rheum"), "{s}");
    assert!(s.contains("give the dose every other day"), "{s}");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let j: serde_json::Value = serde_json::from_str(&stdout(&run(&json_args))).unwrap();
    assert_eq!(j["verdict"], "do_not_give");
    assert_eq!(j["suggestion"]["interval_h"], 48.0);
    let ids: Vec<&str> = j["fired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"tnf-blocker") && ids.contains(&"renal-severe"),
        "{ids:?}"
    );
    // Brand names are accepted.
    let s = stdout(&run(&[
        "check",
        "--indication",
        "RA",
        "--weight",
        "82",
        "--comedication",
        "Enbrel,MTX",
        "--dose",
        "100mg",
        "--drug",
        "Kineret",
    ]));
    assert!(
        s.contains("co-medications  etanercept, methotrexate"),
        "{s}"
    );
}

#[test]
fn ten_mg_per_kg_a_day_is_above_the_maximum() {
    let s = stdout(&run(&[
        "check",
        "--indication",
        "nomid",
        "--weight",
        "20",
        "--age",
        "6",
        "--dose",
        "10mg/kg",
    ]));
    assert!(s.contains("VERDICT: DO NOT GIVE"), "{s}");
    assert!(s.contains("above the label maximum of 8 mg/kg/day"), "{s}");
}

#[test]
fn unknown_names_are_errors_that_list_the_known_ones() {
    let e = stderr(&run(&[
        "check",
        "--indication",
        "ra",
        "--weight",
        "82",
        "--dose",
        "100mg",
        "--comedication",
        "aspirinn",
    ]));
    assert!(
        e.contains("unknown co-medication 'aspirinn'; known: methotrexate (mtx"),
        "{e}"
    );
    let e = stderr(&run(&[
        "check",
        "--indication",
        "gout",
        "--weight",
        "82",
        "--dose",
        "100mg",
    ]));
    assert!(
        e.contains("unknown indication 'gout'; known: ra, nomid"),
        "{e}"
    );
    let e = stderr(&run(&[
        "check",
        "--indication",
        "ra",
        "--weight",
        "82",
        "--dose",
        "100mg",
        "--drug",
        "canakinumab",
    ]));
    assert!(
        e.contains("the rules are for anakinra (kineret) only"),
        "{e}"
    );
    let e = stderr(&run(&[
        "check",
        "--indication",
        "ra",
        "--weight",
        "82",
        "--dose",
        "100mg",
        "--condition",
        "flu",
    ]));
    assert!(
        e.contains("--condition 'flu': not allowed; allowed: active_infection"),
        "{e}"
    );
    let e = stderr(&run(&[
        "check",
        "--indication",
        "ra",
        "--weight",
        "8200",
        "--dose",
        "100mg",
    ]));
    assert!(e.contains("--weight 8200"), "{e}");
    let e = stderr(&run(&["check", "--indication", "ra"]));
    assert!(e.contains("--weight is needed"), "{e}");
    let e = stderr(&run(&[
        "check",
        &path("patients/ra-adult.toml"),
        "--weight",
        "80",
    ]));
    assert!(e.contains("not both"), "{e}");
}

#[test]
fn a_bad_patient_file_names_file_line_key_and_what_is_allowed() {
    let dir = tmp("bad-patient");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(repo("patients/ra-adult.toml")).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        text.replace("[\"methotrexate\"]", "[\"methotrexate\", \"humiraa\"]"),
    )
    .unwrap();
    let e = stderr(&run(&["check", bad.to_str().unwrap()]));
    let line = text
        .lines()
        .position(|l| l.starts_with("comedications"))
        .unwrap()
        + 1;
    assert!(
        e.contains(&format!(
            "bad.toml:{line}: clinical.comedications[1]: unknown co-medication 'humiraa'"
        )),
        "{e}"
    );
    std::fs::write(
        &bad,
        text.replace("anc_1e9_per_l = 4.1", "anc_1e9_per_l = \"high\""),
    )
    .unwrap();
    let e = stderr(&run(&["check", bad.to_str().unwrap()]));
    let line = text
        .lines()
        .position(|l| l.starts_with("anc_1e9_per_l"))
        .unwrap()
        + 1;
    assert!(
        e.contains(&format!(
            "bad.toml:{line}: clinical.anc_1e9_per_l: invalid type: string \"high\", expected f64"
        )),
        "{e}"
    );
}

/// Summary, start and date of every event of an .ics file, read with the icalendar crate.
fn events(ics: &str) -> Vec<(String, String)> {
    icalendar::parser::read_calendar(&icalendar::parser::unfold(ics))
        .expect("a valid iCalendar file");
    let cal: icalendar::Calendar = ics.parse().expect("a valid iCalendar file");
    cal.events()
        .map(|e| {
            let start = match e.get_start().expect("DTSTART") {
                DatePerhapsTime::DateTime(t) => format!("{t:?}"),
                DatePerhapsTime::Date(d) => d.to_string(),
            };
            (e.get_summary().unwrap_or_default().to_string(), start)
        })
        .collect()
}

#[test]
fn plan_writes_an_ics_a_parser_reads_with_rotated_sites_and_anc_visits() {
    let out = tmp("plan");
    let s = stdout(&run(&[
        "plan",
        &path("patients/ra-adult.toml"),
        "--start",
        "2027-01-04",
        "--weeks",
        "12",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(s.contains("84 from 2027-01-04 (Mon)"), "{s}");
    let ics = std::fs::read_to_string(out.join("plan.ics")).unwrap();
    let ev = events(&ics);
    let injections: Vec<&(String, String)> =
        ev.iter().filter(|(s, _)| s.contains("Kineret")).collect();
    assert_eq!(injections.len(), 84);
    assert!(
        injections[0].1.contains("Floating") && injections[0].1.contains("2027-01-04T08:00:00"),
        "{:?}",
        injections[0]
    );
    let area = |s: &str| {
        ["abdomen", "thigh", "upper arm", "buttock"]
            .into_iter()
            .find(|a| s.contains(a))
            .expect("a site")
    };
    for w in injections.windows(2) {
        assert_ne!(area(&w[0].0), area(&w[1].0), "{w:?}");
    }
    let visits: Vec<&str> = ev
        .iter()
        .filter(|(s, _)| s.contains("ANC"))
        .map(|(_, d)| d.as_str())
        .collect();
    assert_eq!(visits, ["2027-01-04", "2027-02-04", "2027-03-04"]);
    let html = std::fs::read_to_string(out.join("plan.html")).unwrap();
    assert!(html.contains("<table class=\"cal\">") && html.contains("abdomen, left"));
    assert!(html.contains("does not replace clinical judgement"));
}

#[test]
fn plan_in_severe_renal_impairment_doses_every_other_day() {
    let dir = tmp("plan-renal");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(repo("patients/ra-adult.toml")).unwrap();
    let f = dir.join("renal.toml");
    std::fs::write(&f, text.replace("crcl_ml_min = 95", "crcl_ml_min = 25")).unwrap();
    let out = dir.join("out");
    let s = stdout(&run(&[
        "plan",
        f.to_str().unwrap(),
        "--start",
        "2027-01-04",
        "--weeks",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(s.contains("every other day"), "{s}");
    let ev = events(&std::fs::read_to_string(out.join("plan.ics")).unwrap());
    let days: Vec<String> = ev
        .iter()
        .filter(|(s, _)| s.contains("Kineret"))
        .map(|(_, d)| {
            d[..d.find('T').unwrap()]
                .rsplit('(')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        days,
        [
            "2027-01-04",
            "2027-01-06",
            "2027-01-08",
            "2027-01-10",
            "2027-01-12",
            "2027-01-14",
            "2027-01-16"
        ]
    );
    // --as-prescribed keeps daily doses.
    stdout(&run(&[
        "plan",
        f.to_str().unwrap(),
        "--start",
        "2027-01-04",
        "--weeks",
        "2",
        "--as-prescribed",
        "--out",
        out.to_str().unwrap(),
    ]));
    let ev = events(&std::fs::read_to_string(out.join("plan.ics")).unwrap());
    assert_eq!(ev.iter().filter(|(s, _)| s.contains("Kineret")).count(), 14);
}

#[test]
fn plan_refuses_a_do_not_give_regimen_and_bad_dates() {
    let dir = tmp("plan-refuse");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(repo("patients/ra-adult.toml")).unwrap();
    let f = dir.join("tnf.toml");
    std::fs::write(
        &f,
        text.replace("[\"methotrexate\"]", "[\"methotrexate\", \"Enbrel\"]"),
    )
    .unwrap();
    let out = dir.join("out");
    let e = stderr(&run(&[
        "plan",
        f.to_str().unwrap(),
        "--start",
        "2027-01-04",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        e.contains("do not give") && e.contains("TNF blocker"),
        "{e}"
    );
    assert!(!out.join("plan.ics").exists());
    let e = stderr(&run(&[
        "plan",
        &path("patients/ra-adult.toml"),
        "--start",
        "2027-02-30",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(e.contains("has 28 days"), "{e}");
    let e = stderr(&run(&[
        "plan",
        &path("patients/ra-adult.toml"),
        "--start",
        "2027-01-04",
        "--time",
        "25:00",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(e.contains("--time '25:00'"), "{e}");
}

#[test]
fn a_patient_file_is_also_a_scenario_file() {
    let out = tmp("simulate-patient");
    stdout(&run(&[
        "simulate",
        &path("patients/nomid-child.toml"),
        "--no-plot",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(out.join("summary.json").exists());
}
