//! Model-file checks found in review: fractions outside [0, 1], duplicate drug and reaction
//! names, the line of the offending entry, suggestions for unknown names, and derived
//! parameters that evaluate to inf naming the model file.

use il1sim_core::model::definition::Model;
use il1sim_core::model::patient::{Patient, Sex};
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use il1sim_core::validation::closed_form::ONE_COMPARTMENT_TOML;
use il1sim_core::IL1_MODEL_TOML;

fn err(text: &str) -> String {
    Model::from_toml(text, "m.toml").unwrap_err().to_string()
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).expect(needle)]
        .matches('\n')
        .count()
        + 1
}

#[test]
fn fraction_above_one_is_refused_with_its_line() {
    let text = IL1_MODEL_TOML.replace(
        "F_anakinra_sc = { value = 0.95,",
        "F_anakinra_sc = { value = 1.95,",
    );
    let e = err(&text);
    let line = line_of(&text, "F_anakinra_sc = {");
    assert!(
        e.starts_with(&format!(
            "m.toml:{line}: parameters.F_anakinra_sc.value: 1.95"
        )),
        "{e}"
    );
    assert!(e.contains("within 0 and 1"), "{e}");
    // The bound itself is allowed; "ratio" may exceed 1.
    Model::from_toml(
        &IL1_MODEL_TOML.replace(
            "F_anakinra_sc = { value = 0.95,",
            "F_anakinra_sc = { value = 1.0,",
        ),
        "m.toml",
    )
    .unwrap();
    Model::from_toml(
        &ONE_COMPARTMENT_TOML.replace(
            "F = { value = 0.8, unit = \"fraction\"",
            "F = { value = 1.2, unit = \"ratio\"",
        ),
        "m.toml",
    )
    .unwrap();
}

#[test]
fn fraction_above_one_in_a_disease_overlay_is_refused() {
    let text = ONE_COMPARTMENT_TOML.replace(
        "[diseases.none]\ndescription = \"no disease layer in this model\"",
        "[diseases.none]\ndescription = \"no disease layer in this model\"\nparameters.F = { value = 1.5, unit = \"fraction\", source = \"x\" }",
    );
    let e = err(&text);
    let line = line_of(&text, "parameters.F = {");
    assert!(
        e.starts_with(&format!(
            "m.toml:{line}: diseases.none.parameters.F.value: 1.5"
        )),
        "{e}"
    );
}

#[test]
fn duplicate_drug_names_are_refused_naming_both() {
    let drug = &ONE_COMPARTMENT_TOML[ONE_COMPARTMENT_TOML.find("[[drugs]]").unwrap()
        ..ONE_COMPARTMENT_TOML.find("[[observables]]").unwrap()];
    let text = ONE_COMPARTMENT_TOML.replace("[[observables]]", &format!("{drug}[[observables]]"));
    let e = err(&text);
    let second = text.rfind("[[drugs]]").unwrap();
    let line = text[..second].matches('\n').count() + 1;
    assert!(
        e.starts_with(&format!("m.toml:{line}: drugs[1] 'test_drug'.name")),
        "{e}"
    );
    assert!(e.contains("drugs[0] is also named 'test_drug'"), "{e}");
}

#[test]
fn duplicate_reaction_names_are_refused_naming_both() {
    let text = ONE_COMPARTMENT_TOML.replace("name = \"elimination\"", "name = \"absorption\"");
    let e = err(&text);
    assert!(e.contains("reactions[1] 'absorption'.name"), "{e}");
    assert!(e.contains("reactions[0] is also named 'absorption'"), "{e}");
    let line = line_of(
        &text,
        "[[reactions]]\nname = \"absorption\"\nkind = \"clearance\"",
    );
    assert!(e.starts_with(&format!("m.toml:{line}: ")), "{e}");
}

#[test]
fn unknown_names_suggest_the_closest_or_list_the_allowed() {
    // A typo: the closest name.
    let e = err(&ONE_COMPARTMENT_TOML.replace("to = \"conc\"", "to = \"cnoc\""));
    assert!(
        e.contains("unknown species 'cnoc'; did you mean 'conc'?"),
        "{e}"
    );
    // Nothing close among few names: all of them.
    let e = err(&ONE_COMPARTMENT_TOML.replace("to = \"conc\"", "to = \"plasma\""));
    assert!(
        e.contains("unknown species 'plasma'; allowed: conc, depot_amount"),
        "{e}"
    );
    // A parameter typo in the bundled model (over a hundred parameters).
    let e = err(&IL1_MODEL_TOML.replacen("rate = \"ka_anakinra\"", "rate = \"ka_anakinraa\"", 1));
    assert!(
        e.contains("unknown parameter 'ka_anakinraa'; did you mean 'ka_anakinra'?"),
        "{e}"
    );
    // Nothing close among many: the closest few, not a list of a hundred.
    let e = err(&IL1_MODEL_TOML.replacen("rate = \"ka_anakinra\"", "rate = \"zzzz\"", 1));
    assert!(
        e.contains("unknown parameter 'zzzz'; the closest of the"),
        "{e}"
    );
    assert!(e.len() < 400, "{e}");
    let e =
        err(&ONE_COMPARTMENT_TOML.replace("compartment = \"central\"", "compartment = \"centrl\""));
    assert!(e.contains("did you mean 'central'?"), "{e}");
}

#[test]
fn entries_keep_their_line_in_errors() {
    let text = ONE_COMPARTMENT_TOML.replace("to = \"conc\"", "to = \"plasma\"");
    let e = err(&text);
    let line = line_of(&text, "[[reactions]]");
    assert!(
        e.starts_with(&format!("m.toml:{line}: reactions[0] 'absorption'.to")),
        "{e}"
    );
    let text = ONE_COMPARTMENT_TOML.replace("ka = { value = 0.7", "ka = { value = -0.7");
    let e = err(&text);
    let line = line_of(&text, "ka = {");
    assert!(
        e.starts_with(&format!("m.toml:{line}: parameters.ka.value")),
        "{e}"
    );
}

#[test]
fn derived_value_of_inf_names_the_model_file_and_parameter() {
    let text = IL1_MODEL_TOML.replace(
        "V_tissue = { expr = \"Q_tissue / k_tissue_equilibration\"",
        "V_tissue = { expr = \"Q_tissue / (k_tissue_equilibration * 0)\"",
    );
    let m = Model::from_toml(&text, "models/broken.toml").unwrap();
    let p = Patient {
        weight_kg: 20.0,
        age_y: 6.0,
        sex: Sex::Male,
        crcl_ml_min: 110.0,
        disease: "nomid".into(),
    };
    let e = match Subject::new(&m, &p, &[], SolverOptions::default()) {
        Ok(_) => panic!("an inf volume is accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("model file models/broken.toml: derived.V_tissue"),
        "{e}"
    );
    assert!(
        e.contains("evaluates to inf L") && e.contains("weight 20 kg"),
        "{e}"
    );
}

#[test]
fn duplicate_observable_names_are_refused_naming_both() {
    // Found in the second review: a second observable of the same name was accepted (two
    // output columns with one name).
    let observable = &ONE_COMPARTMENT_TOML[ONE_COMPARTMENT_TOML.find("[[observables]]").unwrap()
        ..ONE_COMPARTMENT_TOML.find("[diseases.none]").unwrap()];
    let text =
        ONE_COMPARTMENT_TOML.replace("[diseases.none]", &format!("{observable}[diseases.none]"));
    let e = err(&text);
    assert!(e.contains("observables[1] 'conc'.name"), "{e}");
    assert!(e.contains("observables[0] is also named 'conc'"), "{e}");
}

#[test]
fn sensitivity_ranges_are_checked_with_the_parameter_named() {
    let base = "CL = { value = 5.0, unit = \"L/h\", source = \"test value\"";
    let with = |extra: &str| ONE_COMPARTMENT_TOML.replace(base, &format!("{base}, {extra}"));
    // A good range loads, with its folds and source.
    let m = Model::from_toml(
        &with("range_fold = [0.5, 2.0], range_source = \"assumption: factor 2\""),
        "m.toml",
    )
    .unwrap();
    let r = m.parameters[m.parameter_id("CL").unwrap()]
        .range
        .clone()
        .unwrap();
    assert_eq!((r.low_fold, r.high_fold), (0.5, 2.0));
    for (extra, key, says) in [
        (
            "range_fold = [1.5, 2.0], range_source = \"x\"",
            "parameters.CL.range_fold",
            "0 < low <= 1 <= high",
        ),
        (
            "range_fold = [0.0, 2.0], range_source = \"x\"",
            "parameters.CL.range_fold",
            "0 < low <= 1 <= high",
        ),
        (
            "range_fold = [0.5, 0.9], range_source = \"x\"",
            "parameters.CL.range_fold",
            "0 < low <= 1 <= high",
        ),
        (
            "range_fold = [0.5, 2.0]",
            "parameters.CL.range_source",
            "needs its source",
        ),
        (
            "range_source = \"x\"",
            "parameters.CL.range_source",
            "without a range",
        ),
        (
            "range_fold = [0.5, 2.0], range_source = \"x\", structural = true",
            "parameters.CL.range_fold",
            "structural",
        ),
    ] {
        let e = err(&with(extra));
        assert!(e.contains(key) && e.contains(says), "{extra}: {e}");
    }
}
