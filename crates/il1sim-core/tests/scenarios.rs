//! Every shipped scenario parses and simulates.

use il1sim_core::exchange::scenario::parse_scenario;
use il1sim_core::metrics::simulate_and_summarise;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;

#[test]
fn shipped_scenarios_run() {
    let model = il1sim_core::il1_model();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("\n[population]") {
            let p = il1sim_core::exchange::population_file::parse_population(
                &text,
                &path.display().to_string(),
                &model,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert!(p.subjects > 0);
            continue;
        }
        let s = parse_scenario(&text, &path.display().to_string(), &model)
            .unwrap_or_else(|e| panic!("{e}"));
        let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
        for r in &s.regimens {
            let (traj, summary) =
                simulate_and_summarise(&subject, r, s.duration_h, &s.output_grid())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(traj.times_h.len(), s.output_grid().len());
            assert!(summary.get("cmax").unwrap() > 0.0);
        }
        n += 1;
    }
    assert!(
        n >= 6,
        "expected the six scenarios of the foundation issue, found {n}"
    );
}

#[test]
fn stopping_therapy_in_nomid_brings_crp_back() {
    let model = il1sim_core::il1_model();
    let text = include_str!("../../../scenarios/nomid-stop-therapy.toml");
    let s = parse_scenario(text, "nomid-stop-therapy.toml", &model).unwrap();
    let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
    let (_, stopped) = simulate_and_summarise(&subject, &s.regimens[0], s.duration_h, &[]).unwrap();
    let (_, continued) =
        simulate_and_summarise(&subject, &s.regimens[1], s.duration_h, &[]).unwrap();
    assert!(stopped.get("crp_end").unwrap() > 10.0 * continued.get("crp_end").unwrap());
}
