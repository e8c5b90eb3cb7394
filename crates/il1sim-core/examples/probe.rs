use il1sim_core::dosing::regimen::*;
use il1sim_core::model::patient::*;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
fn main() {
    let model = il1sim_core::il1_model();
    for (dis, wt, age) in [
        ("healthy", 70.0, 40.0),
        ("ra", 70.0, 50.0),
        ("nomid", 20.0, 6.0),
        ("dira", 6.0, 0.5),
    ] {
        let p = Patient {
            weight_kg: wt,
            age_y: age,
            sex: Sex::Male,
            crcl_ml_min: 100.0,
            disease: dis.into(),
        };
        let t = std::time::Instant::now();
        let s = Subject::new(&model, &p, &[], SolverOptions::default()).unwrap();
        let obs = s.observe(&s.baseline);
        let names: Vec<_> = model.observables.iter().map(|o| o.column()).collect();
        println!(
            "{dis}: baseline {:?} in {:?}",
            names
                .iter()
                .zip(obs.iter())
                .map(|(n, v)| format!("{n}={v:.4}"))
                .collect::<Vec<_>>(),
            t.elapsed()
        );
        let reg = Regimen::repeated(
            "r",
            "anakinra",
            DoseAmount::MgPerKg {
                mg_per_kg: if wt < 50.0 { 2.0 } else { 100.0 / 70.0 },
                max_mg: Some(100.0),
            },
            Administration::Subcutaneous,
            24.0,
            91,
        );
        let times: Vec<f64> = (0..=91 * 24).map(|h| h as f64).collect();
        let t = std::time::Instant::now();
        let (traj, _) = s.simulate(&reg, 91.0 * 24.0, &times).unwrap();
        let el = t.elapsed();
        for d in [1usize, 7, 14, 28, 90] {
            let o = s.observe(&traj.states[d * 24]);
            println!(
                "  day {d}: conc {:.1} ng/mL occ {:.4} sig {:.4} crp {:.3}",
                o[0], o[5], o[7], o[9]
            );
        }
        println!("  sim 91 days {:?}", el);
    }
}
