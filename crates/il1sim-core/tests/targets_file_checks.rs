//! Targets-file checks found in review: duplicate ids, empty sources, unusable checks (low >
//! high, NaN) and units that do not match the experiment are input errors naming the file,
//! line, target and field; syntax errors are labelled as the targets file's.

use il1sim_core::validation::experiments::{experiment_unit, EXPERIMENTS};
use il1sim_core::validation::targets::{load_targets, TARGETS_TOML};

/// A targets file with one valid target; `edit` changes its text.
fn one(edit: &[(&str, &str)]) -> String {
    let mut t = "# header\n\n[[targets]]\nid = \"a\"\ngroup = \"g\"\nrole = \"engine\"\nquantity = \"q\"\nexperiment = \"closed_form_sc_single\"\nunit = \"relative\"\ncheck = { at_most = { value = 1e-6 } }\nsource = \"s\"\ntolerance_basis = \"b\"\n".to_string();
    for (from, to) in edit {
        assert!(t.contains(from), "{from}");
        t = t.replace(from, to);
    }
    t
}

fn err(text: &str) -> String {
    load_targets(text, "t.toml").unwrap_err().to_string()
}

#[test]
fn a_valid_target_loads() {
    assert_eq!(load_targets(&one(&[]), "t.toml").unwrap().len(), 1);
}

#[test]
fn every_experiment_has_a_unit_and_the_bundled_file_matches() {
    for e in EXPERIMENTS {
        assert!(experiment_unit(e).is_some(), "{e} has no unit");
    }
    load_targets(TARGETS_TOML, "validation/targets.toml").unwrap();
}

#[test]
fn duplicate_ids_are_refused_with_the_line_of_the_second() {
    let first = one(&[]);
    let target = &first[first.find("[[targets]]").unwrap()..];
    let text = format!("{first}\n{target}");
    let e = err(&text);
    let line = text[..text.rfind("[[targets]]").unwrap()]
        .matches('\n')
        .count()
        + 1;
    assert!(
        e.starts_with(&format!(
            "t.toml:{line}: target 'a'.id: 'a' is used twice (also targets[0])"
        )),
        "{e}"
    );
}

#[test]
fn empty_text_fields_are_refused() {
    let e = err(&one(&[("source = \"s\"", "source = \"  \"")]));
    assert!(
        e.starts_with("t.toml:3: target 'a'.source") && e.contains("non-empty source"),
        "{e}"
    );
    let e = err(&one(&[(
        "tolerance_basis = \"b\"",
        "tolerance_basis = \"\"",
    )]));
    assert!(e.contains("target 'a'.tolerance_basis"), "{e}");
}

#[test]
fn unusable_checks_are_input_errors() {
    let range = |c: &str| one(&[("{ at_most = { value = 1e-6 } }", c)]);
    let e = err(&range("{ range = { low = 5, high = 1 } }"));
    assert!(
        e.contains("target 'a'.check: range low = 5, high = 1 is not allowed; low must be <= high"),
        "{e}"
    );
    let e = err(&range("{ range = { low = nan, high = 1 } }"));
    assert!(e.contains("range.low = NaN is not allowed"), "{e}");
    let e = err(&range("{ at_least = { value = inf } }"));
    assert!(e.contains("at_least.value = inf"), "{e}");
    let e = err(&range("{ relative = { value = 2, tolerance = 0 } }"));
    assert!(e.contains("relative.tolerance = 0"), "{e}");
    let e = err(&range("{ relative = { value = 0, tolerance = 0.1 } }"));
    assert!(e.contains("relative.value = 0"), "{e}");
}

#[test]
fn unit_must_be_the_experiments() {
    let e = err(&one(&[("unit = \"relative\"", "unit = \"ng/mL\"")]));
    assert!(
        e.contains(
            "target 'a'.unit: 'ng/mL' is not allowed; experiment 'closed_form_sc_single' gives a value in 'relative'"
        ),
        "{e}"
    );
}

#[test]
fn syntax_errors_are_labelled_as_the_targets_file() {
    let e = err(&one(&[("tolerance_basis", "tolerance_basiss")]));
    assert!(
        e.starts_with("t.toml:12: targets file is not valid TOML or has an unknown field"),
        "{e}"
    );
    assert!(!e.contains("model file"), "{e}");
}
