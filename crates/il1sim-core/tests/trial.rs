//! Virtual trials: file errors, reproducibility whatever the thread count, nested responses.

use il1sim_core::exchange::trial_file::parse_trial;
use il1sim_core::response::acr::ResponseModel;
use il1sim_core::response::trial::run_trial;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::validation::acr::RA_ACR_TRIAL_TOML;

/// The shipped trial shrunk to 6 + 6 patients and 28 days (fast).
fn small_trial_text() -> String {
    RA_ACR_TRIAL_TOML
        .replace("subjects = 501", "subjects = 12")
        .replace("subjects = 251", "subjects = 6")
        .replace("subjects = 250", "subjects = 6")
        .replace("duration_days = 168", "duration_days = 28")
        .replace("assessment_day = 168", "assessment_day = 28")
        .replace("until_day = 168", "until_day = 28")
        .replace("crp_days = [1, 7, 28, 84, 168]", "crp_days = [1, 7, 28]")
}

fn parse_err(text: &str) -> String {
    let model = il1sim_core::il1_model();
    parse_trial(text, "t.toml", &model, &ResponseModel::ra_acr())
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_trial_files_are_clear_errors() {
    let t = small_trial_text();
    let e = parse_err(&t.replace("regimen = \"100 mg daily\"", "regimen = \"200 mg\""));
    assert!(
        e.contains(
            "trial.arms[1].regimen: '200 mg' is not a regimen of this file; allowed: 100 mg daily"
        ),
        "{e}"
    );
    let e = parse_err(&t.replace("subjects = 12", "subjects = 13"));
    assert!(
        e.contains("the arms hold 12 subjects in all but population.subjects is 13"),
        "{e}"
    );
    let e = parse_err(&t.replace("ACR50 = 17.0", "ACR40 = 17.0"));
    assert!(
        e.contains("'ACR40' is not a response level; allowed: ACR20, ACR50, ACR70"),
        "{e}"
    );
    let e = parse_err(&t.replace("assessment_day = 28", "assessment_day = 30"));
    assert!(e.contains("trial.assessment_day: 30 is not allowed"), "{e}");
    let e = parse_err(&t.replace(
        "assessment_day = 28",
        "assessment_day = 28\nplacebo_amplitude = 1.5",
    ));
    assert!(
        e.contains("trial.placebo_amplitude: 1.5 is not allowed"),
        "{e}"
    );
    // Every error names the file and the line of [trial].
    assert!(e.starts_with("t.toml:"), "{e}");
    let no_trial =
        t[..t.find("[trial]").unwrap()].to_string() + &t[t.find("[[regimens]]").unwrap()..];
    assert!(parse_err(&no_trial).contains("a [trial] table is needed"));
}

#[test]
fn same_result_with_one_or_two_threads_and_nested_levels() {
    let model = il1sim_core::il1_model();
    let trial = parse_trial(
        &small_trial_text(),
        "t.toml",
        &model,
        &ResponseModel::ra_acr(),
    )
    .unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| run_trial(&model, &trial, SolverOptions::default()))
    };
    let (s1, a1) = run(1);
    let (s2, a2) = run(2);
    assert_eq!(s1, s2);
    assert_eq!(a1, a2);
    assert_eq!(a1[0].n, 6);
    assert_eq!(a1[1].n, 6);
    for s in &s1 {
        assert!(s.failure.is_none(), "{:?}", s.failure);
        // ACR70 implies ACR50 implies ACR20.
        assert!(!s.responder[2] || s.responder[1]);
        assert!(!s.responder[1] || s.responder[0]);
        if s.arm == 0 {
            assert_eq!(s.mean_driver, 0.0);
        } else {
            assert!(s.mean_driver > 0.9, "{}", s.mean_driver);
            // The drug lowers the latent variable below the placebo value.
            assert!(s.latent < s1[0].latent);
        }
    }
}
