//! The published figures of validation/targets.toml, checked as tests: the same list the
//! `il1sim validate` command prints. One test per group so failures point at a topic.
//! A target marked `known_failure` must still fail: once it passes, its test fails and
//! says to remove the mark.

use il1sim_core::validation::targets::{load_targets, run_target, TARGETS_TOML};

fn check_group(prefix: &str) {
    let model = il1sim_core::il1_model();
    let targets =
        load_targets(TARGETS_TOML, "validation/targets.toml").expect("targets file parses");
    let mine: Vec<_> = targets
        .iter()
        .filter(|t| t.id.starts_with(prefix))
        .collect();
    assert!(!mine.is_empty(), "no targets with prefix {prefix}");
    let mut failures = Vec::new();
    for t in mine {
        let o = run_target(&model, t);
        if let Some(message) = o.failure_message() {
            failures.push(message);
        }
    }
    assert!(
        failures.is_empty(),
        "failed targets:\n{}",
        failures.join("\n")
    );
}

#[test]
fn engine_matches_closed_forms() {
    check_group("engine-");
}

#[test]
fn adult_label_pk() {
    check_group("pk-");
}

#[test]
fn renal_impairment() {
    check_group("renal-");
}

#[test]
fn children() {
    check_group("paed-");
}

#[test]
fn molar_excess_in_vitro() {
    check_group("molar-");
}

#[test]
fn crp_and_healthy_baseline() {
    check_group("crp-");
    check_group("healthy-");
}

#[test]
fn rheumatoid_arthritis() {
    check_group("ra-");
}

#[test]
fn nomid() {
    check_group("nomid-");
}

#[test]
fn canakinumab() {
    check_group("canakinumab-");
}

#[test]
fn rilonacept() {
    check_group("rilonacept-");
}

#[test]
fn stills_disease() {
    check_group("sjia-");
}

#[test]
fn dira() {
    check_group("dira-");
}

#[test]
fn caps_severities() {
    check_group("fcas-");
    check_group("mws-");
}

#[test]
fn adult_onset_stills_disease() {
    check_group("aosd-");
}

#[test]
fn hyperinflammation() {
    check_group("mas-");
    check_group("sepsis-");
}

#[test]
fn ra_clinical_response() {
    check_group("acr-");
}

#[test]
fn every_target_belongs_to_a_tested_group() {
    let targets = load_targets(TARGETS_TOML, "validation/targets.toml").unwrap();
    let prefixes = [
        "engine-",
        "pk-",
        "renal-",
        "paed-",
        "molar-",
        "crp-",
        "healthy-",
        "ra-",
        "nomid-",
        "canakinumab-",
        "rilonacept-",
        "sjia-",
        "dira-",
        "fcas-",
        "mws-",
        "aosd-",
        "mas-",
        "sepsis-",
        "acr-",
    ];
    for t in targets {
        assert!(
            prefixes.iter().any(|p| t.id.starts_with(p)),
            "target {} is not covered by a test group",
            t.id
        );
    }
}
