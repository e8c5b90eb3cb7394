//! Reproduces the PD calibrations recorded in models/il1.toml (docs/model.md explains them):
//!   cargo run --release -p il1sim-core --example calibrate
//! It prints the values; copying them into the model file is a deliberate, reviewed step.
use il1sim_core::dosing::{Administration, DoseAmount, Regimen};
use il1sim_core::model::Model;
use il1sim_core::patient::{Patient, Sex};
use il1sim_core::solve::{SolverOptions, Subject};

fn crp(model: &Model, p: &Patient, ov: &[(String, f64)], day: Option<u32>) -> f64 {
    let s = Subject::new(model, p, ov, SolverOptions::TIGHT).expect("subject");
    let i = model.observable_id("crp").unwrap();
    match day {
        None => s.observe(&s.baseline)[i],
        Some(d) => {
            let r = Regimen::repeated(
                "r",
                "anakinra",
                DoseAmount::MgPerKg {
                    mg_per_kg: 4.0,
                    max_mg: None,
                },
                Administration::Subcutaneous,
                24.0,
                d,
            );
            let t = d as f64 * 24.0;
            let (traj, _) = s.simulate(&r, t, &[t]).expect("simulate");
            s.observe(&traj.states[0])[i]
        }
    }
}

/// Bisection for an increasing function.
fn solve(mut lo: f64, mut hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..60 {
        let m = 0.5 * (lo + hi);
        if f(m) < 0.0 {
            lo = m
        } else {
            hi = m
        }
    }
    0.5 * (lo + hi)
}

fn main() {
    let model = il1sim_core::il1_model();
    let get = |n: &str| model.parameters[model.parameter_id(n).unwrap()].value;
    let healthy = Patient {
        weight_kg: 70.0,
        age_y: 50.0,
        sex: Sex::Male,
        crcl_ml_min: 100.0,
        disease: "healthy".into(),
    };
    let s = Subject::new(&model, &healthy, &[], SolverOptions::TIGHT).unwrap();
    let s_h = s.baseline_signals[0];
    let (il6_ref, k_el) = (get("il6_reference"), get("k_il6_elimination"));
    let k6 = |b6: f64| il6_ref * k_el / (b6 + s_h);
    let nomid = Patient {
        weight_kg: 20.0,
        age_y: 6.0,
        sex: Sex::Female,
        crcl_ml_min: 100.0,
        disease: "nomid".into(),
    };
    let b6 = solve(1e-4, 1.0, |b| {
        52.9 - crp(
            &model,
            &nomid,
            &[
                ("il6_basal_drive".into(), b),
                ("k_il6_production".into(), k6(b)),
            ],
            None,
        )
    });
    let crp_healthy_nm = 0.8 / get("MW_crp") * 1e3;
    println!("healthy IL-1 signal S_h = {s_h:.6}");
    println!("il6_basal_drive = {b6:.6}");
    println!("k_il6_production = {:.7} nM/h", k6(b6));
    println!(
        "k_crp_production = {:.6} nM/h",
        crp_healthy_nm * get("k_crp_elimination")
    );
    let base = vec![
        ("il6_basal_drive".to_string(), b6),
        ("k_il6_production".to_string(), k6(b6)),
    ];
    let ra = Patient {
        disease: "ra".into(),
        ..healthy.clone()
    };
    let b6_for = |pb: f64| {
        solve(b6, 5.0, |b| {
            let mut ov = base.clone();
            ov[0].1 = b;
            ov.push(("P_il1b_basal".into(), pb));
            crp(&model, &ra, &ov, None) - 8.44
        })
    };
    let pb_h = get("P_il1b_basal");
    let pb = solve(pb_h, pb_h * 20.0, |pb| {
        let b = b6_for(pb);
        let ov = vec![
            ("il6_basal_drive".into(), b),
            ("k_il6_production".into(), k6(b6)),
            ("P_il1b_basal".into(), pb),
        ];
        let fall = 1.0 - crp(&model, &ra, &ov, Some(7)) / crp(&model, &ra, &ov, None);
        fall - 0.345
    });
    println!(
        "ra: P_il1b_basal = {:.6} pmol/d ({:.4} x healthy), il6_basal_drive = {:.6}",
        pb * 24e3,
        pb / pb_h,
        b6_for(pb)
    );
    // Still's disease: untreated CRP 66 mg/L in sJIA (ANAJIS anakinra arm mean, child 25 kg).
    // AOSD (86 mg/L in the index case) is above what IL-1 alone can drive in this model: the
    // ceiling printed below (gain 20).
    let sjia = Patient {
        weight_kg: 25.0,
        age_y: 8.0,
        sex: Sex::Female,
        crcl_ml_min: 110.0,
        disease: "healthy".into(),
    };
    let aosd = Patient {
        weight_kg: 70.0,
        age_y: 35.0,
        sex: Sex::Female,
        crcl_ml_min: 100.0,
        disease: "healthy".into(),
    };
    println!(
        "sjia: il1_autoinduction_gain = {:.5}",
        gain_for_crp(&model, &sjia, 66.0)
    );
    println!(
        "ceiling: CRP {:.1} mg/L at gain 20 (adult)",
        crp(
            &model,
            &aosd,
            &[("il1_autoinduction_gain".into(), 20.0)],
            None
        )
    );
}

/// Autoinduction gain that gives an untreated CRP of `target` mg/L in `patient` (healthy
/// physiology otherwise): the Still's disease overlays.
fn gain_for_crp(model: &Model, patient: &Patient, target: f64) -> f64 {
    solve(0.0, 20.0, |g| {
        crp(
            model,
            patient,
            &[("il1_autoinduction_gain".into(), g)],
            None,
        ) - target
    })
}
