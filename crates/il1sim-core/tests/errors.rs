//! Bad input gets a clear error naming the place, the value and what is allowed; solver
//! failures name the time and state.

use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};
use il1sim_core::model::definition::Model;
use il1sim_core::model::patient::{Patient, Sex};
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use il1sim_core::validation::closed_form::ONE_COMPARTMENT_TOML;

fn err(text: &str) -> String {
    Model::from_toml(text, "m.toml").unwrap_err().to_string()
}

#[test]
fn model_file_mistakes_are_named() {
    let base = ONE_COMPARTMENT_TOML;
    let e = err(&base.replace("to = \"conc\"", "to = \"plasma\""));
    assert!(
        e.contains("reactions[0] 'absorption'.to") && e.contains("unknown species 'plasma'"),
        "{e}"
    );
    let e = err(&base.replace(
        "CL = { value = 5.0, unit = \"L/h\"",
        "CL = { value = 5.0, unit = \"1/h\"",
    ));
    assert!(
        e.contains("clearance") && e.contains("'1/h'") && e.contains("allowed here: volume/time"),
        "{e}"
    );
    let e = err(&base.replace("ka = { value = 0.7", "ka = { value = -0.7"));
    assert!(
        e.contains("parameters.ka.value") && e.contains("-0.7"),
        "{e}"
    );
    let e = err(&base.replace("unit = \"L/h\"", "unit = \"furlongs\""));
    assert!(e.contains("unknown unit 'furlongs'"), "{e}");
    let e = err(&base.replace("[[reactions]]\nname = \"elimination\"", "[[species]]\nname = \"orphan\"\ncompartment = \"central\"\nscale = 1.0\ndescription = \"x\"\n\n[[reactions]]\nname = \"elimination\""));
    assert!(e.contains("dangling species"), "{e}");
    let e = err(&base.replace(
        "ka = { value = 0.7, unit = \"1/h\", source = \"test value\" }",
        "ka = { value = 0.7, unit = \"1/h\", source = \" \" }",
    ));
    assert!(e.contains("needs a source"), "{e}");
    let e = err(&base.replace("kind = \"clearance\"", "kind = \"teleport\""));
    assert!(e.contains("'teleport' is not a reaction kind"), "{e}");
}

#[test]
fn bundled_model_loads() {
    let m = il1sim_core::il1_model();
    assert!(m.species.len() >= 18);
    for d in ["healthy", "ra", "caps", "nomid", "dira"] {
        assert!(m.diseases.contains_key(d), "{d}");
    }
}

#[test]
fn patient_out_of_range_is_refused() {
    let m = il1sim_core::il1_model();
    let p = Patient {
        weight_kg: 0.0,
        age_y: 40.0,
        sex: Sex::Male,
        crcl_ml_min: 100.0,
        disease: "ra".into(),
    };
    let e = Subject::new(&m, &p, &[], SolverOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("patient.weight = 0 kg") && e.contains("allowed: 0.5 to 400 kg"),
        "{e}"
    );
}

/// A model whose solution blows up in finite time (dy/dt = y^2): the solver must fail with
/// an error that names the time and the state, not panic.
#[test]
fn solver_failure_names_time_and_state() {
    let text = ONE_COMPARTMENT_TOML.replace(
        "[[drugs]]",
        "[[reactions]]\nname = \"runaway\"\nkind = \"driven_production\"\nspecies = \"conc\"\nrate = \"R\"\ndriver = \"conc\"\nreference = \"REF\"\nexponent = \"TWO\"\ndescription = \"blow-up\"\n\n[[drugs]]",
    )
    .replace("[parameters]", "[parameters]\nR = { value = 1.0, unit = \"nM/h\", source = \"test\" }\nREF = { value = 1.0, unit = \"nM\", source = \"test\" }\nTWO = { value = 2.0, unit = \"1\", source = \"test\" }");
    let m = Model::from_toml(&text, "runaway.toml").unwrap();
    let p = Patient {
        weight_kg: 70.0,
        age_y: 40.0,
        sex: Sex::Male,
        crcl_ml_min: 100.0,
        disease: "none".into(),
    };
    let e = match Subject::new(&m, &p, &[], SolverOptions::default()) {
        Err(e) => e.to_string(),
        Ok(s) => {
            let r = Regimen::repeated(
                "big",
                "test_drug",
                DoseAmount::Mg(100.0),
                Administration::IvBolus,
                24.0,
                1,
            );
            s.simulate(&r, 100.0, &[100.0]).unwrap_err().to_string()
        }
    };
    assert!(
        e.contains("solver failed") && e.contains(" at t = ") && e.contains("conc="),
        "{e}"
    );
}
