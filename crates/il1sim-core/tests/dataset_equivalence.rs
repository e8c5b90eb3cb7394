//! Every EVID/SS/ADDL/RATE case of examples/data/every-case.csv gives the concentrations of
//! the equivalent regimen written by hand and simulated through the ordinary path
//! (`Subject::simulate`, occasion by occasion from the untreated state or the regimen's
//! periodic steady state), to 1e-9 relative. The largest difference per case is printed
//! (`cargo test --test dataset_equivalence -- --nocapture`).

use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat};
use il1sim_core::exchange::dataset::predict::SubjectDesign;
use il1sim_core::exchange::dataset::read::{read_dataset, DatasetOptions};
use il1sim_core::model::patient::Patient;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;

const DATA: &str = include_str!("../../../examples/data/every-case.csv");
const TOLERANCE: f64 = 1e-9;

fn dose(mg: f64, administration: Administration, start_h: f64) -> Regimen {
    let mut r = Regimen::repeated("r", "anakinra", DoseAmount::Mg(mg), administration, 24.0, 1);
    r.repeat = Repeat::Single;
    r.start_h = start_h;
    r
}

fn every(mut r: Regimen, interval_h: f64, count: u32) -> Regimen {
    r.interval_h = interval_h;
    r.repeat = Repeat::Count(count);
    r
}

fn steady(mut r: Regimen, interval_h: f64) -> Regimen {
    r.interval_h = interval_h;
    r.steady_state = true;
    r
}

fn with(mut r: Regimen, others: Vec<Regimen>) -> Regimen {
    r.with = others;
    r
}

/// One occasion as a scenario would give it: its start on the dataset clock, the regimen
/// (None: untreated) and the observations (observable, time on the dataset clock).
struct Expected {
    start_h: f64,
    regimen: Option<Regimen>,
    observations: Vec<(&'static str, f64)>,
}

fn occasion(
    start_h: f64,
    regimen: Option<Regimen>,
    observations: Vec<(&'static str, f64)>,
) -> Expected {
    Expected {
        start_h,
        regimen,
        observations,
    }
}

fn pk(times: &[f64]) -> Vec<(&'static str, f64)> {
    times.iter().map(|&t| ("anakinra_plasma", t)).collect()
}

fn plus(mut a: Vec<(&'static str, f64)>, b: Vec<(&'static str, f64)>) -> Vec<(&'static str, f64)> {
    a.extend(b);
    a
}

use Administration::{IvBolus, IvInfusion, IvInfusionAtRate, Subcutaneous as Sc};

fn cases() -> Vec<(&'static str, Vec<Expected>)> {
    vec![
        (
            "1 single SC dose",
            vec![occasion(
                0.0,
                Some(dose(100.0, Sc, 0.0)),
                plus(pk(&[2.0, 6.0, 24.0]), vec![("crp", 24.0)]),
            )],
        ),
        (
            "2 ADDL daily x7",
            vec![occasion(
                0.0,
                Some(every(dose(100.0, Sc, 0.0), 24.0, 7)),
                plus(pk(&[23.5, 144.0, 147.0]), vec![("crp", 168.0)]),
            )],
        ),
        (
            "3 IV bolus by CMT number",
            vec![occasion(
                0.0,
                Some(dose(100.0, IvBolus, 0.0)),
                pk(&[0.5, 4.0, 12.0]),
            )],
        ),
        (
            "4 infusion at RATE",
            vec![occasion(
                0.0,
                Some(dose(200.0, IvInfusionAtRate { mg_per_h: 100.0 }, 0.0)),
                pk(&[1.0, 2.0, 8.0]),
            )],
        ),
        (
            "5 RATE -2 with DUR, ADDL",
            vec![occasion(
                0.0,
                Some(every(
                    dose(200.0, IvInfusion { duration_h: 4.0 }, 0.0),
                    12.0,
                    4,
                )),
                pk(&[2.0, 4.0, 40.0]),
            )],
        ),
        (
            "6 SS 1 with ADDL",
            vec![occasion(
                0.0,
                Some(steady(every(dose(100.0, Sc, 0.0), 24.0, 4), 24.0)),
                plus(pk(&[0.0, 3.0, 90.0]), vec![("crp", 90.0)]),
            )],
        ),
        (
            "7 SS 2 as first dose",
            vec![occasion(
                10.0,
                Some(steady(dose(100.0, Sc, 0.0), 24.0)),
                pk(&[13.0, 30.0]),
            )],
        ),
        (
            "8 EVID 3 reset",
            vec![
                occasion(0.0, Some(dose(100.0, Sc, 0.0)), pk(&[5.0])),
                occasion(48.0, Some(dose(200.0, Sc, 12.0)), pk(&[50.0, 65.0])),
            ],
        ),
        (
            "9 EVID 4 reset and dose",
            vec![
                occasion(0.0, Some(every(dose(100.0, Sc, 0.0), 24.0, 6)), pk(&[30.0])),
                occasion(
                    72.0,
                    Some(dose(100.0, IvBolus, 0.0)),
                    plus(pk(&[73.0]), vec![("crp", 80.0)]),
                ),
            ],
        ),
        (
            "10 MDV 1, EVID 2, BLQ",
            vec![occasion(
                0.0,
                Some(dose(100.0, Sc, 0.0)),
                pk(&[4.0, 8.0, 96.0]),
            )],
        ),
        (
            "11 IV load with SC daily",
            vec![occasion(
                0.0,
                Some(with(
                    dose(100.0, IvBolus, 0.0),
                    vec![every(dose(100.0, Sc, 0.0), 24.0, 3)],
                )),
                pk(&[1.0, 50.0]),
            )],
        ),
        (
            "13 SS infusion at RATE",
            vec![occasion(
                0.0,
                Some(steady(
                    dose(300.0, IvInfusionAtRate { mg_per_h: 150.0 }, 0.0),
                    12.0,
                )),
                pk(&[1.0, 6.0, 20.0]),
            )],
        ),
    ]
}

fn relative(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

#[test]
fn every_case_gives_the_concentrations_of_its_regimen() {
    let model = il1sim_core::il1_model();
    let options = DatasetOptions {
        defaults: Patient::adult("ra"),
    };
    let data = read_dataset(DATA, "every-case.csv", &model, &options).unwrap();
    let mut worst_all: f64 = 0.0;
    let mut checked = 0;
    for (name, expected) in cases() {
        let id = name.split(' ').next().unwrap();
        let s = data.subjects.iter().find(|s| s.id == id).unwrap();
        let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
        let got = SubjectDesign::new(s).predict(&subject).unwrap();
        let mut want = Vec::new();
        assert_eq!(s.occasions.len(), expected.len(), "{name}: occasions");
        for e in &expected {
            let times: Vec<f64> = {
                let mut t: Vec<f64> = e.observations.iter().map(|o| o.1 - e.start_h).collect();
                t.dedup();
                t
            };
            let horizon = times.last().copied().unwrap();
            let traj = match &e.regimen {
                Some(r) => subject.simulate(r, horizon, &times).unwrap().0,
                None => unreachable!(),
            };
            for &(obs, t) in &e.observations {
                let i = times.iter().position(|&x| x == t - e.start_h).unwrap();
                let k = model.observable_id(obs).unwrap();
                want.push(subject.observe(&traj.states[i])[k]);
            }
        }
        assert_eq!(got.len(), want.len(), "{name}: observations");
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| relative(*g, *w))
            .fold(0.0, f64::max);
        println!(
            "case {name}: {} observations, max relative difference {worst:.1e}",
            got.len()
        );
        assert!(worst <= TOLERANCE, "{name}: {got:?} vs {want:?}");
        // Zero only where no drug has been given (after a reset, before the next dose).
        assert!(
            want.iter().all(|w| w.is_finite() && *w >= 0.0),
            "{name}: {want:?}"
        );
        worst_all = worst_all.max(worst);
        checked += 1;
    }
    println!("{checked} cases, max relative difference {worst_all:.1e}");
}

/// Case 12: a steady-state SC dose with an IV dose 12 h later (no scenario can say this, as
/// a scenario's steady state refuses co-administered regimens): the steady state of the SC
/// dose alone, integrated to 12 h, then the IV dose added through its own inputs.
#[test]
fn a_steady_state_dose_followed_by_another_record() {
    let model = il1sim_core::il1_model();
    let options = DatasetOptions {
        defaults: Patient::adult("ra"),
    };
    let data = read_dataset(DATA, "every-case.csv", &model, &options).unwrap();
    let s = data.subjects.iter().find(|s| s.id == "12").unwrap();
    let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
    let got = SubjectDesign::new(s).predict(&subject).unwrap();
    let sc = steady(dose(100.0, Sc, 0.0), 24.0);
    let (before, _) = subject.simulate(&sc, 12.0, &[12.0]).unwrap();
    let iv = dose(100.0, IvBolus, 0.0);
    let inputs = subject.regimen_inputs(&iv, 18.0).unwrap();
    let mut states = Vec::new();
    subject
        .integrate(
            &before.states[0],
            &vec![0.0; subject.system.n],
            0.0,
            18.0,
            &inputs,
            &[1.0, 18.0],
            &mut |_t: f64, y: &[f64]| states.push(y.to_vec()),
        )
        .unwrap();
    let k = model.observable_id("anakinra_plasma").unwrap();
    let worst = got
        .iter()
        .zip(&states)
        .map(|(g, y)| relative(*g, subject.observe(y)[k]))
        .fold(0.0, f64::max);
    println!("case 12 SS 1 then an IV dose: max relative difference {worst:.1e}");
    assert!(worst <= TOLERANCE, "{got:?}");
}
