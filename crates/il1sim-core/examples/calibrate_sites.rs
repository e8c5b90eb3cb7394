//! Reproduces the site-of-action calibrations recorded in models/il1.toml (docs/model.md,
//! "Sites of action"):
//!   cargo run --release -p il1sim-core --example calibrate_sites -- <step>
//! Steps: `healthy` (Q_tissue for the 5% healthy tone at the model's access_site, and the
//! IL-6 production that keeps healthy IL-6), `joint` (RA synovial-fluid IL-1β and IL-1Ra),
//! `cns` (NOMID CSF IL-1Ra and CNS tone), `report` (untreated figures by disease).
//! It prints values; copying them into the model file is a deliberate, reviewed step.
use il1sim_core::model::definition::Model;
use il1sim_core::model::patient::{Patient, Sex};
use il1sim_core::response::acr::bisect;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;

/// Root of a monotonic `f` between `lo` and `hi` (both > 0), bisected on the log scale.
fn solve(lo: f64, hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    let sign = if f(lo) > 0.0 { -1.0 } else { 1.0 };
    bisect(lo.ln(), hi.ln(), |x| sign * f(x.exp())).exp()
}

fn patient(disease: &str, weight_kg: f64, age_y: f64) -> Patient {
    Patient {
        weight_kg,
        age_y,
        sex: Sex::Female,
        crcl_ml_min: 100.0,
        disease: disease.into(),
    }
}

/// Untreated value of an observable.
fn untreated(model: &Model, p: &Patient, ov: &[(String, f64)], name: &str) -> f64 {
    let s = Subject::new(model, p, ov, SolverOptions::TIGHT).expect("subject");
    s.observe(&s.baseline)[model.observable_id(name).expect(name)]
}

fn signal(model: &Model, p: &Patient, ov: &[(String, f64)], k: usize) -> f64 {
    let s = Subject::new(model, p, ov, SolverOptions::TIGHT).expect("subject");
    s.baseline_signals[k]
}

fn main() {
    let model = il1sim_core::il1_model();
    let get = |n: &str| model.parameters[model.parameter_id(n).expect(n)].value;
    let step = std::env::args().nth(1).unwrap_or_else(|| "report".into());
    let healthy = patient("healthy", 70.0, 50.0);
    match step.as_str() {
        "healthy" => {
            // Local IL-1Ra production: 350 x the healthy IL-1β production (molar) survives
            // local catabolism, so the gross production is that divided by access_site.
            let p_ra = 350.0 * get("P_il1b_basal") / get("access_site");
            let q = solve(get("Q_tissue") * 0.05, get("Q_tissue") * 20.0, |q| {
                signal(
                    &model,
                    &healthy,
                    &[("Q_tissue".into(), q), ("P_il1ra_local".into(), p_ra)],
                    0,
                ) - 0.05
            });
            let ov = [("Q_tissue".into(), q), ("P_il1ra_local".into(), p_ra)];
            let s_h = signal(&model, &healthy, &ov, 0);
            let k6 =
                get("il6_reference") * get("k_il6_elimination") / (get("il6_basal_drive") + s_h);
            println!("P_il1ra_local = {:.3} pmol/d", p_ra * 24e3);
            println!("Q_tissue = {:.6} L/h (healthy signal {s_h:.6})", q);
            println!("k_il6_production = {:.7} nM/h", k6);
        }
        "joint" => {
            let ra = patient("ra", 70.0, 55.0);
            // Synovial-fluid IL-1β and IL-1Ra untreated (two equations, two factors):
            // fixed-point iteration, each factor by bisection with the other held.
            let (mut fb, mut fra) = (
                get_overlay(&model, "ra", "joint_il1b_production_factor"),
                get_overlay(&model, "ra", "joint_il1ra_production_factor"),
            );
            for _ in 0..30 {
                fb = solve(1e-3, 1e3, |f| {
                    untreated(
                        &model,
                        &ra,
                        &[
                            ("joint_il1b_production_factor".into(), f),
                            ("joint_il1ra_production_factor".into(), fra),
                        ],
                        "il1b_free_joint",
                    ) - 22.1
                });
                fra = solve(1e-3, 1e4, |f| {
                    untreated(
                        &model,
                        &ra,
                        &[
                            ("joint_il1b_production_factor".into(), fb),
                            ("joint_il1ra_production_factor".into(), f),
                        ],
                        "il1ra_total_joint",
                    ) - 17.1
                });
            }
            let ov = [
                ("joint_il1b_production_factor".into(), fb),
                ("joint_il1ra_production_factor".into(), fra),
            ];
            println!("joint_il1b_production_factor = {fb:.6}");
            println!("joint_il1ra_production_factor = {fra:.6}");
            println!(
                "untreated joint signal = {:.4}",
                signal(&model, &ra, &ov, 1)
            );
        }
        "cns" => {
            let nomid = patient("nomid", 20.0, 6.0);
            let s_sys = signal(&model, &nomid, &[], 0);
            let (mut pra, mut fb, mut ps) = (
                get_overlay(&model, "nomid", "P_il1ra_csf_nomid"),
                get_overlay(&model, "nomid", "csf_il1b_production_factor"),
                get_overlay(&model, "nomid", "PS_csf_nomid"),
            );
            let ov = |pra: f64, fb: f64, ps: f64| -> Vec<(String, f64)> {
                vec![
                    ("P_il1ra_csf_nomid".into(), pra),
                    ("csf_il1b_production_factor".into(), fb),
                    ("PS_csf_nomid".into(), ps),
                ]
            };
            for _ in 0..12 {
                ps = solve(1e-8, 1.0, |p| {
                    csf_il1ra_on_anakinra(&model, &nomid, &ov(pra, fb, p)) - 1.14
                });
                pra = solve(1e-9, 1.0, |p| {
                    untreated(&model, &nomid, &ov(p, fb, ps), "il1ra_total_csf") - 0.21
                });
                fb = solve(1e-6, 1e2, |f| {
                    signal(&model, &nomid, &ov(pra, f, ps), 2) - s_sys
                });
            }
            println!(
                "PS_csf_nomid = {:.6e} L/d (CSF IL-1Ra on anakinra {:.3} ng/mL; CSF/serum AUC after 3 mg/kg IV {:.5}, rhesus 0.0028)",
                ps * 24.0,
                csf_il1ra_on_anakinra(&model, &nomid, &ov(pra, fb, ps)),
                csf_auc_ratio(&model, &nomid, &ov(pra, fb, ps))
            );
            println!("P_il1ra_csf_nomid = {:.6} pmol/d", pra * 24e3);
            println!("csf_il1b_production_factor = {fb:.6}");
            println!("systemic signal {s_sys:.4}");
        }
        "nomid_drive" => {
            // The NOMID IL-1-independent IL-6 drive that gives the typical 20-kg child an
            // untreated CRP of 52.9 mg/L at a given autoinduction gain (the gain itself is
            // set by the population's month-3 median; calibrate_nomid.py).
            let gain: f64 = std::env::args()
                .nth(2)
                .expect("gain")
                .parse()
                .expect("gain");
            let nomid = patient("nomid", 20.0, 6.0);
            let d = solve(0.01, 2.0, |b| {
                untreated(
                    &model,
                    &nomid,
                    &[
                        ("il1_autoinduction_gain".into(), gain),
                        ("il6_basal_drive".into(), b),
                    ],
                    "crp",
                ) - 52.9
            });
            println!("{d:.6}");
        }
        "state" => {
            let d = std::env::args().nth(2).unwrap_or_else(|| "nomid".into());
            let p = patient(&d, 20.0, 6.0);
            let s = Subject::new(&model, &p, &[], SolverOptions::TIGHT).expect("subject");
            for (sp, v) in model.species.iter().zip(&s.baseline) {
                if sp.name.ends_with("csf")
                    || sp.name.ends_with("cns")
                    || sp.name.ends_with("joint")
                {
                    println!("{:28} {v:.4e}", sp.name);
                }
            }
        }
        _ => {
            for (d, w, a) in [
                ("healthy", 70.0, 50.0),
                ("ra", 70.0, 55.0),
                ("nomid", 20.0, 6.0),
                ("mws", 70.0, 35.0),
                ("fcas", 70.0, 35.0),
                ("sjia", 25.0, 8.0),
                ("aosd", 70.0, 35.0),
                ("mas", 70.0, 35.0),
                ("sepsis", 70.0, 60.0),
                ("dira", 6.0, 0.5),
            ] {
                let p = patient(d, w, a);
                let s = Subject::new(&model, &p, &[], SolverOptions::TIGHT).expect("subject");
                let o = s.observe(&s.baseline);
                let v = |n: &str| o[model.observable_id(n).unwrap()];
                println!(
                    "{d:8} CRP {:7.2} mg/L  IL-6 {:6.2} pg/mL  SAA {:7.1}  signals {:?}  IL-1β site {:.1} pg/mL",
                    v("crp"),
                    v("il6_plasma"),
                    v("saa"),
                    s.baseline_signals.iter().map(|x| (x * 1e3).round() / 1e3).collect::<Vec<_>>(),
                    v("il1b_free_tissue")
                );
            }
        }
    }
}

/// CSF IL-1Ra (endogenous + anakinra, ng/mL) at the day-90 trough of 1.5 mg/kg/day SC, the
/// middle of the NIH study's 1-2 mg/kg/day (Fox 2010: 1.14 ng/mL on anakinra in NOMID).
fn csf_il1ra_on_anakinra(model: &Model, p: &Patient, ov: &[(String, f64)]) -> f64 {
    use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};
    let s = Subject::new(model, p, ov, SolverOptions::TIGHT).expect("subject");
    let r = Regimen::repeated(
        "sc",
        "anakinra",
        DoseAmount::MgPerKg {
            mg_per_kg: 1.5,
            max_mg: None,
        },
        Administration::Subcutaneous,
        24.0,
        90,
    );
    let t = 90.0 * 24.0;
    let (traj, _) = s.simulate(&r, t, &[t]).expect("simulate");
    s.observe(&traj.states[0])[model.observable_id("il1ra_total_csf").unwrap()]
}

/// CSF/plasma AUC ratio of anakinra over 96 h after 3 mg/kg IV (the Fox 2010 protocol).
fn csf_auc_ratio(model: &Model, p: &Patient, ov: &[(String, f64)]) -> f64 {
    use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};
    let s = Subject::new(model, p, ov, SolverOptions::TIGHT).expect("subject");
    let r = Regimen::repeated(
        "iv",
        "anakinra",
        DoseAmount::MgPerKg {
            mg_per_kg: 3.0,
            max_mg: None,
        },
        Administration::IvBolus,
        24.0,
        1,
    );
    let times: Vec<f64> = (0..=960).map(|k| k as f64 * 0.1).collect();
    let (traj, _) = s.simulate(&r, 96.0, &times).expect("simulate");
    let (ip, ic) = (
        model.observable_id("anakinra_plasma").unwrap(),
        model.observable_id("anakinra_csf").unwrap(),
    );
    let (mut ap, mut ac) = (0.0, 0.0);
    for y in &traj.states {
        let o = s.observe(y);
        ap += o[ip];
        ac += o[ic];
    }
    ac / ap
}

/// The value a disease overlay gives a parameter (canonical units) for an adult.
fn get_overlay(model: &Model, disease: &str, name: &str) -> f64 {
    let id = model.parameter_id(name).expect(name);
    let p = patient(disease, 70.0, 50.0);
    model
        .parameter_values(disease, &p.covariates(), &[])
        .expect("parameters")
        .values[id]
}
