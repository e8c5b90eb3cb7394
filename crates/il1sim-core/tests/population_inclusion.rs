//! Inclusion as a trial screens: every subject of a population with
//! `inclusion_crp_untreated_at_least_mg_l` has an untreated CRP at or above it, screen failures
//! are redrawn deterministically, and a bad limit is refused with the key and the value.

use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::population::outcome::simulate_subject;
use il1sim_core::solve::options::SolverOptions;

const NOMID: &str = include_str!("../../../scenarios/nomid-paediatric-population.toml");

#[test]
fn included_subjects_are_inflamed_and_redraws_are_reproducible() {
    let model = il1sim_core::il1_model();
    let pop = parse_population(NOMID, "nomid.toml", &model).unwrap();
    let limit = pop.inclusion.unwrap().crp_untreated_at_least_mg_l;
    assert_eq!(limit, 10.0);
    let k = pop
        .figure_names()
        .iter()
        .position(|n| n == "crp_untreated")
        .unwrap();
    let mut without = pop.clone();
    without.inclusion = None;
    let mut redrawn = 0;
    for id in 0..30 {
        let o = simulate_subject(&model, &pop, id, SolverOptions::default());
        let crp = o.regimens[0].as_ref().unwrap().figures[k];
        assert!(crp >= limit, "subject {id}: untreated CRP {crp}");
        let again = simulate_subject(&model, &pop, id, SolverOptions::default());
        assert_eq!(again.regimens[0].as_ref().unwrap().figures[k], crp);
        let first = simulate_subject(&model, &without, id, SolverOptions::default());
        let crp0 = first.regimens[0].as_ref().unwrap().figures[k];
        if crp0 < limit {
            redrawn += 1;
        } else {
            // A subject that passes its first screen keeps its first draw.
            assert_eq!(crp0, crp, "subject {id}");
        }
    }
    // Without inclusion a share of the draws is in the quiet state: the criterion matters.
    assert!(redrawn > 0);
}

#[test]
fn a_bad_inclusion_limit_is_refused() {
    let model = il1sim_core::il1_model();
    let text = NOMID.replace(
        "inclusion_crp_untreated_at_least_mg_l = 10.0",
        "inclusion_crp_untreated_at_least_mg_l = -1.0",
    );
    let e = parse_population(&text, "nomid.toml", &model)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("inclusion_crp_untreated_at_least_mg_l") && e.contains("-1"),
        "{e}"
    );
}
