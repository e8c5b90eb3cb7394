//! Local sensitivities against closed forms: the one-compartment model after an IV bolus,
//! where every coefficient d ln y / d ln p has a formula.

use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};
use il1sim_core::model::definition::Model;
use il1sim_core::model::patient::Patient;
use il1sim_core::sensitivity::local::{local_sensitivities, LOCAL_SOLVER_RTOL};
use il1sim_core::sensitivity::problem::SensitivityProblem;
use il1sim_core::solve::options::SolverOptions;

const ONE_COMPARTMENT: &str = include_str!("../../../models/one-compartment.toml");

#[test]
fn local_coefficients_match_the_closed_forms_of_an_iv_bolus() {
    let model = Model::from_toml(ONE_COMPARTMENT, "models/one-compartment.toml").unwrap();
    let mut patient = Patient::adult("none");
    patient.disease = "none".into();
    let regimen = Regimen::repeated(
        "bolus",
        "test_drug",
        DoseAmount::Mg(100.0),
        Administration::IvBolus,
        12.0,
        1,
    );
    let t = 12.0;
    let mut options = SolverOptions::TIGHT;
    options.rtol = LOCAL_SOLVER_RTOL;
    let problem = SensitivityProblem {
        model: &model,
        patient,
        overrides: vec![],
        regimen,
        horizon_h: t,
        crp_days: vec![],
        options,
    };
    let params = problem.local_parameters().unwrap();
    let local = local_sensitivities(&problem, &params, &|| {}).unwrap();
    // k = CL / V = 0.25 /h, kT = 3.
    let kt: f64 = 5.0 / 20.0 * t;
    let e = (-kt).exp();
    let auc_cl = -1.0 + kt * e / (1.0 - e);
    let expected: &[(&str, &str, f64)] = &[
        ("cmax", "V", -1.0),
        ("cmax", "CL", 0.0),
        ("cmax", "MW", 0.0),
        ("trough", "CL", -kt),
        ("trough", "V", -1.0 + kt),
        ("auc_tau", "CL", auc_cl),
        ("auc_tau", "V", -1.0 - auc_cl),
        ("c_average", "CL", auc_cl),
        // An IV bolus does not use the SC route's bioavailability, absorption or lag.
        ("auc_tau", "F", 0.0),
        ("auc_tau", "ka", 0.0),
    ];
    let mut worst: f64 = 0.0;
    for &(figure, parameter, want) in expected {
        let f = local
            .nominal
            .names
            .iter()
            .position(|n| n == figure)
            .unwrap();
        let id = model.parameter_id(parameter).unwrap();
        let row = local.parameters.iter().find(|p| p.parameter == id).unwrap();
        let got = row.coefficients[f];
        worst = worst.max((got - want).abs());
        // Measured: the worst difference is 1.4e-8 (central differences at ln-step 1e-3,
        // Richardson-extrapolated, on integrations at rtol 1e-10); 1e-6 leaves room for
        // another platform's rounding, far below any coefficient that matters.
        assert!(
            (got - want).abs() < 1e-6,
            "d ln {figure} / d ln {parameter}: {got}, closed form {want}"
        );
        assert!(
            row.step_difference[f] < 1e-5,
            "{figure}/{parameter} step check"
        );
    }
    eprintln!("worst |coefficient - closed form| = {worst:.2e}");
}
