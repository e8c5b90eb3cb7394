use il1sim_core::metrics::summary_times;
use il1sim_core::population::{draw_subject, parse_population};
use il1sim_core::solve::{SolverOptions, Subject};
use std::time::Instant;
fn main() {
    let model = il1sim_core::il1_model();
    let text = std::fs::read_to_string("scenarios/ra-renal-population.toml").unwrap();
    let pop = parse_population(&text, "x", &model).unwrap();
    let d = draw_subject(&pop, 1).unwrap();
    let s = Subject::with_variability(
        &model,
        &d.patient,
        &[],
        &d.multipliers,
        SolverOptions::default(),
    )
    .unwrap();
    let r = &pop.regimens[0];
    let (peak, report) = summary_times(&s, r, pop.duration_h, &pop.crp_days).unwrap();
    let mut all = pop.band_times_h.clone();
    all.extend(peak.clone());
    all.extend(report.clone());
    all.sort_by(f64::total_cmp);
    all.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    for (label, times) in [
        ("bands only", pop.band_times_h.clone()),
        ("bands+peak+report", all.clone()),
        ("none", vec![]),
    ] {
        let n = 200;
        let t0 = Instant::now();
        for _ in 0..n {
            let _ = il1sim_core::fast::simulate(&s, r, pop.duration_h, &times).unwrap();
        }
        println!(
            "fast {label}: {} outputs, {:.0} us",
            times.len(),
            1e6 * t0.elapsed().as_secs_f64() / n as f64
        );
    }
    let n = 200;
    let t0 = Instant::now();
    for _ in 0..n {
        let _ =
            il1sim_core::fast::summarise(&s, r, pop.duration_h, &pop.band_times_h, &pop.crp_days)
                .unwrap();
    }
    println!(
        "fast summarise: {:.0} us",
        1e6 * t0.elapsed().as_secs_f64() / n as f64
    );
    let t0 = Instant::now();
    for _ in 0..n {
        let _ = Subject::with_variability(
            &model,
            &d.patient,
            &[],
            &d.multipliers,
            SolverOptions::default(),
        )
        .unwrap();
    }
    println!(
        "subject: {:.0} us",
        1e6 * t0.elapsed().as_secs_f64() / n as f64
    );
}
