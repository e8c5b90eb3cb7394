//! SBML export: the document's structure (well-formed XML, every species, one event per dose
//! time, an assignment rule per observable column, unique valid ids, numbers that parse) and
//! its content (rate laws and observables evaluated from the exported expressions equal the
//! compiled system's right-hand side and `Subject::observe`). The numerical comparison with
//! libRoadRunner is benches/roadrunner/compare.py.

use il1sim_core::dosing::inputs::StateInput;
use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};
use il1sim_core::exchange::sbml::builder::sbml_model;
use il1sim_core::exchange::sbml::document::SbmlModel;
use il1sim_core::exchange::sbml::ids::is_valid_sid;
use il1sim_core::exchange::sbml::math::escape;
use il1sim_core::exchange::sbml::xml::export_sbml;
use il1sim_core::exchange::scenario::{parse_scenario, Scenario};
use il1sim_core::model::definition::Model;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use std::collections::{HashMap, HashSet};

fn caps(model: &Model) -> Scenario {
    parse_scenario(
        include_str!("../../../scenarios/caps-100mg-daily.toml"),
        "caps-100mg-daily.toml",
        model,
    )
    .unwrap()
}

/// Every value of `attr="..."` in the document.
fn attr_values(xml: &str, attr: &str) -> Vec<String> {
    let pat = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&pat) {
        rest = &rest[i + pat.len()..];
        let end = rest.find('"').unwrap();
        out.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    out
}

/// The text of every `<tag ...>text</tag>` element.
fn element_texts(xml: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        if !rest.starts_with(['>', ' ']) {
            continue;
        }
        let start = rest.find('>').unwrap() + 1;
        let end = rest.find(&close).unwrap();
        out.push(rest[start..end].to_string());
        rest = &rest[end..];
    }
    out
}

/// Tags balance, attributes are quoted, and `&` only starts the five XML entities.
fn assert_well_formed(xml: &str) {
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    let mut stack: Vec<String> = Vec::new();
    let mut rest = &xml[xml.find("?>").unwrap() + 2..];
    while let Some(i) = rest.find('<') {
        let text = &rest[..i];
        assert!(!text.contains('>'), "stray '>' in text: {text}");
        check_entities(text);
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("unclosed tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        check_entities(tag);
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap().to_string();
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert!(rest.trim().is_empty());
}

fn check_entities(text: &str) {
    for (i, _) in text.match_indices('&') {
        let tail = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| tail.starts_with(e)),
            "bare '&' in {text}"
        );
    }
}

#[test]
fn caps_document_has_every_species_event_and_observable() {
    let model = il1sim_core::il1_model();
    let s = caps(&model);
    let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
    let regimen = &s.regimens[0];
    let xml = export_sbml(&subject, regimen, s.duration_h).unwrap();
    assert_well_formed(&xml);
    assert!(xml.contains(
        "<sbml xmlns=\"http://www.sbml.org/sbml/level3/version2/core\" level=\"3\" version=\"2\">"
    ));
    assert!(xml.contains("timeUnits=\"hour\""));
    assert!(xml.contains("substanceUnits=\"nmol\""));

    let species_list =
        &xml[xml.find("<listOfSpecies>").unwrap()..xml.find("</listOfSpecies>").unwrap()];
    for sp in &model.species {
        assert!(
            species_list.contains(&format!("<species id=\"{}\"", sp.name)),
            "species {} missing",
            sp.name
        );
    }

    // One event per dose: 28 daily doses, the first at t = 0.
    let doses = regimen
        .dose_events(s.patient.weight_kg, s.duration_h)
        .unwrap();
    assert_eq!(doses.len(), 28);
    let events = &xml[xml.find("<listOfEvents>").unwrap()..xml.find("</listOfEvents>").unwrap()];
    assert_eq!(events.matches("<event ").count(), doses.len());
    assert_eq!(
        events
            .matches("<trigger initialValue=\"false\" persistent=\"true\">")
            .count(),
        doses.len()
    );
    assert!(events.contains("<csymbol encoding=\"text\" definitionURL=\"http://www.sbml.org/sbml/symbols/time\">time</csymbol><cn sbml:units=\"hour\">0</cn>"));
    // F = 0.95 of 100 mg of a 17.3 kDa protein into the depot (an amount species).
    let amount = 100.0 / 17.3 * 1e3 * 0.95;
    let added: Vec<f64> = element_texts(events, "cn")
        .iter()
        .map(|t| t.parse::<f64>().unwrap())
        .filter(|&x| x > 1000.0)
        .collect();
    assert_eq!(added.len(), 28);
    for a in added {
        assert!((a - amount).abs() < 1e-9 * amount, "{a} vs {amount}");
    }

    // An assignment rule per observable column, named exactly like timecourse.csv.
    let rules = attr_values(&xml, "variable");
    for o in &model.observables {
        let col = o.column();
        assert!(
            xml.contains(&format!("<assignmentRule variable=\"{col}\">")),
            "no rule for {col}"
        );
        assert_eq!(rules.iter().filter(|r| **r == col).count(), 1);
    }
    for col in [
        "crp_mg_per_L",
        "anakinra_plasma_ng_per_mL",
        "receptor_occupancy_antagonist_fraction",
        "il1_signal_relative_ratio",
    ] {
        assert!(xml.contains(&format!("<parameter id=\"{col}\"")), "{col}");
    }
}

#[test]
fn ids_are_unique_and_valid_and_numbers_parse() {
    let model = il1sim_core::il1_model();
    let s = caps(&model);
    let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
    let xml = export_sbml(&subject, &s.regimens[0], s.duration_h).unwrap();
    // Unit definitions have their own namespace; every other id shares one.
    let units_end = xml.find("</listOfUnitDefinitions>").unwrap();
    let ids = attr_values(&xml[units_end..], "id");
    let mut seen = HashSet::new();
    for id in &ids {
        assert!(is_valid_sid(id), "invalid id {id}");
        assert!(seen.insert(id.clone()), "duplicate id {id}");
    }
    assert!(ids.len() > 18 + 60 + 40 + 28, "{} ids", ids.len());
    // Every reference is to something declared.
    let declared: HashSet<String> = ids.iter().cloned().collect();
    for attr in ["species", "variable", "compartment"] {
        for r in attr_values(&xml, attr) {
            assert!(declared.contains(&r), "{attr}=\"{r}\" is not declared");
        }
    }
    for r in element_texts(&xml, "ci") {
        assert!(declared.contains(&r), "<ci>{r}</ci> is not declared");
    }
    let unit_ids: HashSet<String> = attr_values(&xml[..units_end], "id").into_iter().collect();
    for u in attr_values(&xml, "units")
        .into_iter()
        .chain(attr_values(&xml, "sbml:units"))
    {
        assert!(
            u == "dimensionless" || u == "litre" || unit_ids.contains(&u),
            "unit {u} is not defined"
        );
    }
    // Numbers.
    let mut n = 0;
    for attr in [
        "value",
        "size",
        "initialConcentration",
        "initialAmount",
        "multiplier",
        "atol_scale",
    ] {
        for v in attr_values(&xml, attr) {
            let x: f64 = v
                .parse()
                .unwrap_or_else(|_| panic!("{attr}=\"{v}\" is not a number"));
            assert!(x.is_finite(), "{attr}={v}");
            n += 1;
        }
    }
    for v in element_texts(&xml, "cn") {
        let x: f64 = v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("<cn>{v}</cn> is not a number"));
        assert!(x.is_finite());
        n += 1;
    }
    assert!(n > 150, "{n} numbers");
    // Parameter values are this patient's, exactly.
    for (i, p) in model.parameters.iter().enumerate() {
        let pat = format!("<parameter id=\"{}\" name=\"{}\" value=\"", p.name, p.name);
        let at = xml.find(&pat).unwrap_or_else(|| panic!("{}", p.name)) + pat.len();
        let text = &xml[at..at + xml[at..].find('"').unwrap()];
        assert_eq!(
            text.parse::<f64>().unwrap(),
            subject.params.values[i],
            "{}",
            p.name
        );
    }
}

/// Values of every id at state `y` (species, compartments, parameters, rules evaluated).
fn environment(doc: &SbmlModel, y: &[f64], overrides: &[(String, f64)]) -> HashMap<String, f64> {
    let mut env = HashMap::new();
    for c in &doc.compartments {
        env.insert(c.id.clone(), c.size);
    }
    for (s, v) in doc.species.iter().zip(y) {
        env.insert(s.id.clone(), *v);
    }
    for p in &doc.parameters {
        env.insert(p.id.clone(), p.value);
    }
    for (k, v) in overrides {
        env.insert(k.clone(), *v);
    }
    for _ in 0..=doc.rules.len() {
        for r in &doc.rules {
            let x = r.math.eval(&|n| env[n], 0.0);
            env.insert(r.variable.clone(), x);
        }
    }
    env
}

/// dy/dt of the species from the exported kinetic laws (nM/h, or nmol/h for amounts).
/// The SBML right-hand side and, per species, the sum of the absolute rates of the reactions
/// it takes part in (same units): the size of the terms whose rounding the comparison allows.
fn sbml_rhs_and_term_size(doc: &SbmlModel, env: &HashMap<String, f64>) -> (Vec<f64>, Vec<f64>) {
    let index: HashMap<&str, usize> = doc
        .species
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut dy = vec![0.0; doc.species.len()];
    let mut size = vec![0.0; doc.species.len()];
    for r in &doc.reactions {
        let flux = r.law.eval(&|n| env[n], 0.0);
        for s in &r.reactants {
            dy[index[s.as_str()]] -= flux;
            size[index[s.as_str()]] += flux.abs();
        }
        for s in &r.products {
            dy[index[s.as_str()]] += flux;
            size[index[s.as_str()]] += flux.abs();
        }
    }
    for (i, s) in doc.species.iter().enumerate() {
        if !s.amount {
            dy[i] /= env[&s.compartment];
            size[i] /= env[&s.compartment];
        }
    }
    (dy, size)
}

fn assert_close(a: f64, b: f64, scale: f64, what: &str) {
    // An observable of a site the disease does not have is NaN in both (0/0 relative signal).
    if a.is_nan() && b.is_nan() {
        return;
    }
    assert!(
        (a - b).abs() <= 1e-10 * scale.max(a.abs()).max(b.abs()) + 1e-300,
        "{what}: sbml {a:e} vs il1sim {b:e}"
    );
}

#[test]
fn exported_rate_laws_and_observables_match_the_compiled_system() {
    let model = il1sim_core::il1_model();
    let s = caps(&model);
    let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
    let doc = sbml_model(&subject, &s.regimens[0], s.duration_h).unwrap();
    let n = model.species.len();
    // States: untreated, 5 h after the first dose, and a day into the second week.
    let (traj, _) = subject
        .simulate(&s.regimens[0], 200.0, &[0.0, 5.0, 180.0])
        .unwrap();
    for y in &traj.states {
        let env = environment(&doc, &y[..n], &[]);
        let (dy_sbml, term_size) = sbml_rhs_and_term_size(&doc, &env);
        let mut dy = vec![0.0; subject.system.n];
        subject.system.rhs(y, &vec![0.0; subject.system.n], &mut dy);
        for i in 0..n {
            // Compare against the size of the terms the species sees (rounding of large,
            // cancelling fluxes such as production and local catabolism at the site).
            let scale = (model.species[i].scale.max(y[i].abs()) * 1e-3).max(term_size[i]);
            assert_close(dy_sbml[i], dy[i], scale, &model.species[i].name);
        }
        let obs = subject.observe(y);
        for (k, o) in model.observables.iter().enumerate() {
            assert_close(env[&o.column()], obs[k], 0.0, &o.column());
        }
    }
    // Initial values are the untreated steady state.
    for (sp, b) in doc.species.iter().zip(&subject.baseline) {
        assert_eq!(sp.initial, *b, "{}", sp.id);
    }
}

#[test]
fn iv_infusions_are_rate_parameters_switched_by_events() {
    let model = il1sim_core::il1_model();
    let s = caps(&model);
    let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
    // 1-h infusions every 12 h, then back-to-back 12-h infusions (a switch off and on at
    // the same time must leave the rate on).
    let mut r = Regimen::repeated(
        "iv",
        "anakinra",
        DoseAmount::MgPerKg {
            mg_per_kg: 5.0,
            max_mg: None,
        },
        Administration::IvInfusion { duration_h: 1.0 },
        12.0,
        4,
    );
    let doc = sbml_model(&subject, &r, 72.0).unwrap();
    let inputs = subject.regimen_inputs(&r, 72.0).unwrap();
    assert_eq!(inputs.len(), 8);
    assert_eq!(doc.events.len(), 8);
    let rate_id = "anakinra_central_infusion_rate";
    assert!(doc
        .parameters
        .iter()
        .any(|p| p.id == rate_id && !p.constant && p.value == 0.0));
    assert!(doc
        .reactions
        .iter()
        .any(|x| x.products == vec!["anakinra_central".to_string()]
            && x.law.ids() == vec![rate_id.to_string()]));
    let on = match inputs[0] {
        StateInput::RateStep {
            delta_nmol_per_h, ..
        } => delta_nmol_per_h,
        _ => panic!("an infusion starts with a rate step"),
    };
    for (k, e) in doc.events.iter().enumerate() {
        assert_eq!(e.time_h, inputs[k].time_h());
        assert_eq!(e.assignments.len(), 1);
        assert_eq!(e.assignments[0].0, rate_id);
        let v = e.assignments[0].1.eval(&|_| f64::NAN, 0.0);
        assert_eq!(v, if k % 2 == 0 { on } else { 0.0 });
    }
    // The exported rate law with the infusion running equals rhs with the same input.
    let n = model.species.len();
    let y = &subject.baseline;
    let env = environment(&doc, &y[..n], &[(rate_id.to_string(), on)]);
    let (dy_sbml, term_size) = sbml_rhs_and_term_size(&doc, &env);
    let mut input = vec![0.0; subject.system.n];
    input[model.species_id("anakinra_central").unwrap()] = on;
    let mut dy = vec![0.0; subject.system.n];
    subject.system.rhs(y, &input, &mut dy);
    for i in 0..n {
        let scale = (model.species[i].scale.max(y[i].abs()) * 1e-3).max(term_size[i]);
        assert_close(dy_sbml[i], dy[i], scale, &model.species[i].name);
    }

    r.administration = Administration::IvInfusion { duration_h: 12.0 };
    let doc = sbml_model(&subject, &r, 72.0).unwrap();
    // Switches at 0, 12, 24, 36 (off and on at once: stays on) and off at 48.
    let times: Vec<f64> = doc.events.iter().map(|e| e.time_h).collect();
    assert_eq!(times, vec![0.0, 12.0, 24.0, 36.0, 48.0]);
    let values: Vec<f64> = doc
        .events
        .iter()
        .map(|e| e.assignments[0].1.eval(&|_| f64::NAN, 0.0))
        .collect();
    assert_eq!(values[4], 0.0);
    for v in &values[..4] {
        assert!((v - on / 12.0).abs() < 1e-12 * on, "{v}");
    }
}

#[test]
fn doses_at_the_horizon_are_left_out_but_running_infusions_end() {
    let model = il1sim_core::il1_model();
    let s = caps(&model);
    let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
    let sc = Regimen::repeated(
        "sc",
        "anakinra",
        DoseAmount::Mg(100.0),
        Administration::Subcutaneous,
        24.0,
        10,
    );
    // Doses at 0, 24, 48 and 72 h; the engine ignores the one at the horizon (72 h).
    let doc = sbml_model(&subject, &sc, 72.0).unwrap();
    let times: Vec<f64> = doc.events.iter().map(|e| e.time_h).collect();
    assert_eq!(times, vec![0.0, 24.0, 48.0]);
    let mut iv = sc.clone();
    iv.administration = Administration::IvInfusion { duration_h: 6.0 };
    let doc = sbml_model(&subject, &iv, 51.0).unwrap();
    let times: Vec<f64> = doc.events.iter().map(|e| e.time_h).collect();
    assert_eq!(times, vec![0.0, 6.0, 24.0, 30.0, 48.0, 54.0]);
}

#[test]
fn steady_state_regimens_start_from_the_periodic_state() {
    let model = il1sim_core::il1_model();
    let s = caps(&model);
    let subject = Subject::new(&model, &s.patient, &[], SolverOptions::default()).unwrap();
    let mut r = s.regimens[0].clone();
    r.steady_state = true;
    let doc = sbml_model(&subject, &r, 24.0).unwrap();
    let central = doc
        .species
        .iter()
        .find(|x| x.id == "anakinra_central")
        .unwrap();
    assert!(central.initial > 0.1, "trough {} nM", central.initial);
    assert_eq!(doc.events.len(), 1);
}

#[test]
fn text_is_escaped() {
    assert_eq!(
        escape("IL-1β <5> & \"x\" 'y'\u{1}"),
        "IL-1β &lt;5&gt; &amp; &quot;x&quot; &apos;y&apos;"
    );
}
