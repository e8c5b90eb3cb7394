//! Fast method against the exact method: largest relative error on occupancy, IL-1 signal
//! and CRP (band times and per-subject figures; values below 1e-4 of the series' peak are
//! measured against that floor) and cost per subject-regimen, for `subjects` subjects of
//! scenarios/ra-renal-population.toml with disease ra and with disease caps.
//!   cargo run --release -p il1sim-core --example fast_accuracy [subjects, default 50]
use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::metrics::{summarise_fast, summarise_with_days};
use il1sim_core::population::sampling::draw_subject;
use il1sim_core::solve::fast;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use std::time::Instant;

const OBS: [&str; 3] = [
    "receptor_occupancy_antagonist",
    "il1_signal_relative",
    "crp",
];
const FIGS: [&str; 4] = [
    "occupancy_antagonist_trough",
    "il1_signal_relative_trough",
    "crp_day_7",
    "crp_day_28",
];

fn err(a: &[f64], b: &[f64]) -> f64 {
    let peak = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1e-4 * peak))
        .fold(0.0, f64::max)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let model = il1sim_core::il1_model();
    let text = std::fs::read_to_string("scenarios/ra-renal-population.toml").unwrap();
    for disease in ["ra", "caps"] {
        let mut pop = parse_population(&text, "ra-renal-population.toml", &model).unwrap();
        pop.disease = disease.into();
        let idx: Vec<usize> = OBS
            .iter()
            .map(|o| model.observable_id(o).unwrap())
            .collect();
        for (ri, r) in pop.regimens.iter().enumerate() {
            let mut worst = [0.0f64; 7];
            let (mut te, mut tf, mut tb) = (0.0, 0.0, 0.0);
            let (mut periods, mut integrated) = (0, 0);
            for id in 0..n {
                let mut d = draw_subject(&pop, id).unwrap();
                d.patient.disease = disease.into();
                let t0 = Instant::now();
                let s = Subject::with_variability(
                    &model,
                    &d.patient,
                    &[],
                    &d.multipliers,
                    SolverOptions::default(),
                )
                .unwrap();
                tb += t0.elapsed().as_secs_f64();
                let t0 = Instant::now();
                let (etraj, esum) =
                    summarise_with_days(&s, r, pop.duration_h, &pop.band_times_h, &pop.crp_days)
                        .unwrap();
                te += t0.elapsed().as_secs_f64();
                let t0 = Instant::now();
                let (ftraj, fsum) =
                    summarise_fast(&s, r, pop.duration_h, &pop.band_times_h, &pop.crp_days)
                        .unwrap();
                tf += t0.elapsed().as_secs_f64();
                // Work counters from a second run (not timed).
                let (_, st) = fast::simulate(&s, r, pop.duration_h, &pop.band_times_h).unwrap();
                periods += st.periods;
                integrated += st.periods_integrated;
                assert_eq!(ftraj.times_h.len(), etraj.times_h.len());
                let series =
                    |tr: &il1sim_core::solve::trajectory::Trajectory, k: usize| -> Vec<f64> {
                        tr.states.iter().map(|y| s.observe(y)[idx[k]]).collect()
                    };
                for (k, w) in worst.iter_mut().take(3).enumerate() {
                    *w = w.max(err(&series(&ftraj, k), &series(&etraj, k)));
                }
                if std::env::var("SHOW").is_ok() {
                    let a = fsum.get("il1_signal_relative_trough").unwrap();
                    let b = esum.get("il1_signal_relative_trough").unwrap();
                    println!(
                        "  id {id} sig_tr err {:.1e} {st:?} crcl {:.0} mult {:?}",
                        (a - b).abs() / b,
                        d.patient.crcl_ml_min,
                        d.multipliers.iter().map(|m| m.1).collect::<Vec<_>>()
                    );
                }
                for (k, f) in FIGS.iter().enumerate() {
                    let (a, b) = (fsum.get(f).unwrap(), esum.get(f).unwrap());
                    let e = series(&etraj, [0, 1, 2, 2][k]);
                    let peak = e.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    worst[3 + k] = worst[3 + k].max((a - b).abs() / b.abs().max(1e-4 * peak));
                }
            }
            println!("{disease} '{}': occ {:.1e} sig {:.1e} crp {:.1e} | occ_tr {:.1e} sig_tr {:.1e} crp7 {:.1e} crp28 {:.1e} | exact {:.0} us fast {:.0} us baseline {:.0} us | periods {:.1}/{:.1}",
                r.name, worst[0], worst[1], worst[2], worst[3], worst[4], worst[5], worst[6],
                1e6 * te / n as f64, 1e6 * tf / n as f64, 1e6 * tb / n as f64,
                integrated as f64 / n as f64, periods as f64 / n as f64);
            let _ = ri;
        }
    }
}
