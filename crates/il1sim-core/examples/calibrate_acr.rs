//! Reproduces the calibration of the RA clinical response model (models/ra-acr-response.toml;
//! docs/model.md, "RA clinical response"):
//!   cargo run --release -p il1sim-core --example calibrate_acr
//! It prints the values; copying them into the response file is a deliberate, reviewed step.
//! It also prints the typical-patient expectations of the alternative calibration on the
//! Cohen 2002 dose-ranging trial, which docs/model.md discusses.
use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};
use il1sim_core::model::patient::Patient;
use il1sim_core::response::acr::{driver_course, ResponseModel};
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;

const WEEK_H: f64 = 7.0 * 24.0;

fn main() {
    let model = il1sim_core::il1_model();
    let r = ResponseModel::ra_acr();
    let di = r.driver_index(&model).unwrap();
    let s = Subject::new(&model, &Patient::adult("ra"), &[], SolverOptions::TIGHT).unwrap();
    let course = |dose: DoseAmount, weeks: f64| {
        let reg = Regimen::repeated(
            "daily",
            "anakinra",
            dose,
            Administration::Subcutaneous,
            24.0,
            (weeks * 7.0) as u32,
        );
        driver_course(&s, &reg, weeks * WEEK_H, di).unwrap()
    };
    let pct = |v: Vec<f64>| {
        v.iter()
            .map(|p| format!("{:.1}", 100.0 * p))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let w24 = 24.0 * WEEK_H;
    // Reference trial placebo (Cohen 2004, MTX background): ACR20 22% at week 24.
    let amp_c04 = r.calibrate_placebo_amplitude(w24, 0.22);
    println!("placebo_amplitude (Cohen 2004, 22% at week 24) = {amp_c04:.6}");
    println!(
        "  placebo ACR20/50/70 expected: {} %",
        pct(r.expected(r.placebo_latent(w24, amp_c04)))
    );
    // Drug effect: Bresnihan 1998, 150 mg/day, ACR20 43% vs placebo 27% at week 24.
    let amp_b98 = r.calibrate_placebo_amplitude(w24, 0.27);
    println!("calibration_placebo_amplitude (Bresnihan 1998, 27% at week 24) = {amp_b98:.6}");
    let (t150, d150) = course(DoseAmount::Mg(150.0), 24.0);
    let emax = r.calibrate_emax(&t150, &d150, amp_b98, 0.43);
    println!("emax (Bresnihan 1998 150 mg/day, 43% at week 24) = {emax:.6}");
    let rc = r.with_emax(emax);
    let (t100, d100) = course(DoseAmount::Mg(100.0), 24.0);
    println!(
        "prediction, typical patient, Cohen 2004 anakinra 100 mg/day week 24: {} % (published 38 / 17 / 6)",
        pct(rc.expected(rc.latent(&t100, &d100, amp_c04)))
    );
    // The alternative: Cohen 2002 1.0 mg/kg arm, ACR20 46% vs placebo 19% at week 12.
    let w12 = 12.0 * WEEK_H;
    let amp_c02 = r.calibrate_placebo_amplitude(w12, 0.19);
    let one = DoseAmount::MgPerKg {
        mg_per_kg: 1.0,
        max_mg: None,
    };
    let (t1, d1) = course(one, 12.0);
    let emax_c02 = r.calibrate_emax(&t1, &d1, amp_c02, 0.46);
    let ra = r.with_emax(emax_c02);
    println!("alternative: placebo amplitude Cohen 2002 (19% at week 12) = {amp_c02:.6}, emax from 1.0 mg/kg (46%) = {emax_c02:.6}");
    println!(
        "  it would predict Cohen 2004 anakinra week 24: {} %",
        pct(ra.expected(ra.latent(&t100, &d100, amp_c04)))
    );
    let two = DoseAmount::MgPerKg {
        mg_per_kg: 2.0,
        max_mg: None,
    };
    let (t2, d2) = course(two, 12.0);
    let by_dose: Vec<String> = [0.04, 0.1, 0.4, 1.0, 2.0]
        .iter()
        .map(|&mg_per_kg| {
            let (t, d) = course(
                DoseAmount::MgPerKg {
                    mg_per_kg,
                    max_mg: None,
                },
                12.0,
            );
            let mean_d = d.iter().sum::<f64>() / d.len() as f64;
            format!(
                "{mg_per_kg} mg/kg {:.1}% (mean joint inhibition {mean_d:.3})",
                100.0 * rc.expected(rc.latent(&t, &d, amp_c02))[0]
            )
        })
        .collect();
    println!(
        "Cohen 2002 week 12, typical patient, ACR20: {}",
        by_dose.join(", ")
    );
    for mg in [30.0, 75.0, 150.0] {
        let (t, d) = course(DoseAmount::Mg(mg), 24.0);
        println!(
            "Bresnihan 1998 week 24, typical patient, {mg} mg/day: ACR20 {:.1}%",
            100.0 * rc.expected(rc.latent(&t, &d, amp_b98))[0]
        );
    }
    // Maximum-likelihood emax over every retrieved drug arm (binomial, typical patient),
    // each trial with its own placebo amplitude: Bresnihan 1998 150 mg/day 43% (n 118 =
    // 472/4, assumption: equal arms), Cohen 2004 100 mg/day 38% (n 250), Cohen 2002 1.0
    // and 2.0 mg/kg/day 46% and 38% at week 12 (n 70 = 419/6, assumption: equal arms).
    let mgkg = |mg_per_kg: f64| DoseAmount::MgPerKg {
        mg_per_kg,
        max_mg: None,
    };
    #[allow(clippy::type_complexity)]
    let arms: Vec<(Vec<f64>, Vec<f64>, f64, f64, f64)> = vec![
        {
            let (t, d) = course(DoseAmount::Mg(150.0), 24.0);
            (t, d, amp_b98, 0.43, 118.0)
        },
        {
            let (t, d) = course(DoseAmount::Mg(100.0), 24.0);
            (t, d, amp_c04, 0.38, 250.0)
        },
        {
            let (t, d) = course(mgkg(1.0), 12.0);
            (t, d, amp_c02, 0.46, 70.0)
        },
        {
            let (t, d) = course(mgkg(2.0), 12.0);
            (t, d, amp_c02, 0.38, 70.0)
        },
    ];
    let nll = |emax: f64| -> f64 {
        let m = r.with_emax(emax);
        arms.iter()
            .map(|(t, d, amp, obs, n)| {
                let p = m.expected(m.latent(t, d, *amp))[0];
                -(n * obs * p.ln() + n * (1.0 - obs) * (1.0 - p).ln())
            })
            .sum()
    };
    let (mut best, mut best_nll) = (0.0, f64::INFINITY);
    for k in 0..=4000 {
        let e = 0.04 + k as f64 * 0.00003;
        let v = nll(e);
        if v < best_nll {
            (best, best_nll) = (e, v);
        }
    }
    println!("maximum-likelihood emax over the four retrieved drug arms = {best:.6} (-logL {best_nll:.3})");
    let ml = r.with_emax(best);
    for (label, (t, d, amp, obs, _)) in [
        "Bresnihan 150 mg",
        "Cohen 2004 100 mg",
        "Cohen 2002 1.0 mg/kg",
        "Cohen 2002 2.0 mg/kg",
    ]
    .iter()
    .zip(&arms)
    {
        println!(
            "  {label}: model {:.1}% vs published {:.0}%",
            100.0 * ml.expected(ml.latent(t, d, *amp))[0],
            100.0 * obs
        );
    }
    println!(
        "with the Bresnihan calibration, Cohen 2002 week 12: 1.0 mg/kg {} %, 2.0 mg/kg {} % (published ACR20 46 and 38)",
        pct(rc.expected(rc.latent(&t1, &d1, amp_c02))),
        pct(rc.expected(rc.latent(&t2, &d2, amp_c02)))
    );
}
