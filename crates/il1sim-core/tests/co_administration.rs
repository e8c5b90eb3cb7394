//! Two drugs in one simulation: the shipped CAPS scenario with anakinra daily, rilonacept
//! weekly and both together shows why an antagonist and a ligand trap interact.

use il1sim_core::exchange::scenario::parse_scenario;
use il1sim_core::metrics::simulate_and_summarise;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;

const SCENARIO: &str = include_str!("../../../scenarios/caps-anakinra-rilonacept.toml");

#[test]
fn a_ligand_trap_takes_anakinra_off_the_receptor_while_signalling_stays_blocked() {
    let model = il1sim_core::il1_model();
    let sc = parse_scenario(SCENARIO, "scenarios/caps-anakinra-rilonacept.toml", &model).unwrap();
    assert_eq!(sc.regimens.len(), 3);
    let s = Subject::new(&model, &sc.patient, &[], SolverOptions::default()).unwrap();
    let figures: Vec<_> = sc
        .regimens
        .iter()
        .map(|r| simulate_and_summarise(&s, r, sc.duration_h, &[]).unwrap().1)
        .collect();
    let occupancy = |i: usize| figures[i].get("occupancy_antagonist_trough").unwrap();
    let signal = |i: usize| figures[i].get("il1_signal_relative_trough").unwrap();
    let (anakinra, trap, both) = (0, 1, 2);
    // The combination's doses are the union of both regimens' doses.
    let inputs = |i: usize| {
        s.regimen_inputs(&sc.regimens[i], sc.duration_h)
            .unwrap()
            .len()
    };
    assert_eq!(inputs(both), inputs(anakinra) + inputs(trap));
    // The trap binds IL-1Ra, and anakinra is IL-1Ra: antagonist occupancy on both falls below
    // that of anakinra alone but stays above the trap's own (endogenous IL-1Ra only).
    assert!(
        occupancy(both) < occupancy(anakinra),
        "{} vs {}",
        occupancy(both),
        occupancy(anakinra)
    );
    assert!(
        occupancy(both) > occupancy(trap),
        "{} vs {}",
        occupancy(both),
        occupancy(trap)
    );
    // Signalling: anakinra 100 mg/day reaches the inflamed site incompletely (access_site), so
    // a CAPS adult keeps part of the signal; the trapped ligands cannot signal, so the trap
    // (alone or with anakinra) suppresses it far more.
    for i in [trap, both] {
        assert!(signal(i) < 1e-3, "regimen {i}: signal {}", signal(i));
        assert!(
            signal(i) < 0.1 * signal(anakinra),
            "regimen {i}: signal {}",
            signal(i)
        );
    }
}
