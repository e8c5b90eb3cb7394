//! The SBML model of one subject and regimen: initial values (untreated or periodic steady
//! state), compartments, species, this patient's parameters, signals as assignment rules,
//! reactions as amount rates, doses (`events.rs`), observables and the document's notes.

use super::document::*;
use super::events::{dose_events, inputs_within_horizon};
use super::ids::Ids;
use super::math::{divide, fmt_num, id, minus, power, quantity, times, Math};
use super::units::{factor_units, observable_units, parameter_units, unit_definitions};
use crate::dosing::regimen::Regimen;
use crate::error::{ModelError, SimError};
use crate::model::definition::{Model, ObservableKind, ParamId, Reaction};
use crate::model::units::Dimension;
use crate::solve::subject::Subject;

/// The model-file spelling of a reaction kind.
fn reaction_kind(r: &Reaction) -> &'static str {
    match r {
        Reaction::ZeroOrder { .. } => "zero_order",
        Reaction::FirstOrder { .. } => "first_order",
        Reaction::Clearance { .. } => "clearance",
        Reaction::Transfer { .. } => "transfer",
        Reaction::Exchange { .. } => "exchange",
        Reaction::Binding { .. } => "binding",
        Reaction::Conversion { .. } => "conversion",
        Reaction::SignalProduction { .. } => "signal_production",
        Reaction::DrivenProduction { .. } => "driven_production",
    }
}

/// Build the SBML content for `subject` under `regimen` over `horizon_h` hours.
pub fn sbml_model(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
) -> Result<SbmlModel, SimError> {
    let model: &Model = subject.model;
    let v = &subject.params.values;
    let n_species = model.species.len();
    if !(horizon_h.is_finite() && horizon_h > 0.0) {
        return Err(ModelError::invalid(
            "export-sbml",
            format!("horizon {horizon_h} h: must be > 0 and finite"),
        )
        .into());
    }
    let inputs = subject.regimen_inputs(regimen, horizon_h)?;
    let inputs = inputs_within_horizon(&inputs, horizon_h);
    let (initial, initial_note) = if regimen.steady_state {
        let ss = crate::solve::periodic::periodic(subject, regimen)?;
        let start = crate::solve::periodic::state_at_start(subject, regimen, &ss)?;
        if start.rates.iter().any(|r| *r != 0.0) || !start.pending.is_empty() {
            return Err(ModelError::invalid(
                "export-sbml",
                format!(
                    "regimen '{}' starts from its steady state with start_h {} h, when the \
                     previous dose is still being infused or absorbed past a lag at 0 h; the \
                     export cannot carry that dose (use a start_h that is a multiple of the \
                     interval, or steady_state = false)",
                    regimen.name, regimen.start_h
                ),
            )
            .into());
        }
        (
            start.state[..n_species].to_vec(),
            format!(
                "Initial values: the periodic steady state of regimen '{}' (Newton, {} iterations), at the time since the previous dose of its schedule extended backwards, as il1sim starts a steady_state regimen.",
                regimen.name, ss.iterations
            ),
        )
    } else {
        (
            subject.baseline[..n_species].to_vec(),
            "Initial values: the untreated steady state of this patient (il1sim's baseline)."
                .to_string(),
        )
    };

    let mut ids = Ids::default();
    // Observable columns first: they must keep their exact names.
    let mut observable_ids = Vec::new();
    for o in &model.observables {
        observable_ids.push(ids.claim_exact(&o.column(), "observable column")?);
    }
    let compartment_ids: Vec<String> = model
        .compartments
        .iter()
        .map(|c| ids.claim(&c.name))
        .collect();
    let species_ids: Vec<String> = model.species.iter().map(|s| ids.claim(&s.name)).collect();
    let parameter_ids: Vec<String> = model
        .parameters
        .iter()
        .map(|p| ids.claim(&p.name))
        .collect();
    struct SignalIds {
        value: String,
        occupancy: String,
        stimulus: String,
        untreated: String,
    }
    let signal_ids: Vec<SignalIds> = model
        .signals
        .iter()
        .map(|s| SignalIds {
            value: ids.claim(&s.name),
            occupancy: ids.claim(&format!("{}_occupancy", s.name)),
            stimulus: ids.claim(&format!("{}_stimulus", s.name)),
            untreated: ids.claim(&format!("{}_untreated", s.name)),
        })
        .collect();
    let reaction_ids: Vec<String> = model.reaction_names.iter().map(|r| ids.claim(r)).collect();

    let is_amount = |s: usize| {
        model.compartments[model.species[s].compartment]
            .volume
            .is_none()
    };
    let comp_of = |s: usize| id(&compartment_ids[model.species[s].compartment]);
    let sp = |s: usize| id(&species_ids[s]);
    let par = |p: ParamId| id(&parameter_ids[p]);
    // Concentration (nM) and amount (nmol) of a species as expressions.
    let conc = |s: usize| {
        if is_amount(s) {
            divide(sp(s), comp_of(s))
        } else {
            sp(s)
        }
    };
    let amount = |s: usize| {
        if is_amount(s) {
            sp(s)
        } else {
            times(vec![sp(s), comp_of(s)])
        }
    };
    // A production parameter as an amount rate (nmol/h) into species s
    // (production_per_volume in model/compile.rs, times the volume).
    let production = |rate: ParamId, s: usize| {
        if model.parameters[rate].dimension == Dimension::AMOUNT_RATE {
            par(rate)
        } else {
            times(vec![par(rate), comp_of(s)])
        }
    };

    // Compartments.
    let mut compartments = Vec::new();
    for (i, c) in model.compartments.iter().enumerate() {
        let (size, note) = match c.volume {
            Some(p) => (
                finite(v[p], &format!("volume of compartment '{}'", c.name))?,
                format!(
                    "Volume = {} for this patient.",
                    model.parameters[p].name
                ),
            ),
            None => (
                1.0,
                "No volume in il1sim (its species are amounts): exported with size 1 L, species in nmol (hasOnlySubstanceUnits).".to_string(),
            ),
        };
        compartments.push(SbmlCompartment {
            id: compartment_ids[i].clone(),
            name: c.name.clone(),
            size,
            notes: vec![c.description.clone(), note],
        });
    }

    // Species.
    let mut species = Vec::new();
    for (i, s) in model.species.iter().enumerate() {
        let amount_species = is_amount(i);
        species.push(SbmlSpecies {
            id: species_ids[i].clone(),
            name: s.name.clone(),
            compartment: compartment_ids[s.compartment].clone(),
            initial: finite(
                initial[i],
                &format!("initial value of species '{}'", s.name),
            )?,
            amount: amount_species,
            atol_scale: s.scale.max(subject.baseline[i].abs()),
            notes: vec![
                s.description.clone(),
                if amount_species {
                    "Amount (nmol).".to_string()
                } else {
                    "Concentration (nM).".to_string()
                },
            ],
        });
    }

    // Parameters with this patient's numbers.
    let mut parameters = Vec::new();
    for (i, p) in model.parameters.iter().enumerate() {
        let mut notes = Vec::new();
        if !p.description.is_empty() {
            notes.push(p.description.clone());
        }
        match &p.expr {
            Some(expr) => notes.push(format!(
                "Derived; evaluated for this patient from: {expr} (in the declared units of its inputs; model-file unit {}).",
                p.unit
            )),
            None => notes.push(format!(
                "Value in canonical units (h, L, nmol, nM); the model file states it in {}.",
                p.unit
            )),
        }
        notes.push(format!("Source: {}", p.source));
        parameters.push(SbmlParameter {
            id: parameter_ids[i].clone(),
            name: p.name.clone(),
            value: finite(v[i], &format!("parameter '{}'", p.name))?,
            units: parameter_units(&p.unit, p.dimension).map(str::to_string),
            constant: true,
            notes,
        });
    }

    // Signals: operational model as assignment rules.
    let mut rules = Vec::new();
    for (k, s) in model.signals.iter().enumerate() {
        let sid = &signal_ids[k];
        let members: Vec<Math> = s.species.iter().map(|&m| conc(m)).collect();
        let sum = if members.len() == 1 {
            members[0].clone()
        } else {
            Math::Plus(members)
        };
        let rho = divide(sum, par(s.receptor_total));
        let stimulus = Math::Piecewise {
            value: Box::new(power(
                times(vec![par(s.efficacy), id(&sid.occupancy)]),
                par(s.slope),
            )),
            condition: Box::new(Math::Gt(
                Box::new(id(&sid.occupancy)),
                Box::new(quantity(0.0, "dimensionless")),
            )),
            otherwise: Box::new(quantity(0.0, "dimensionless")),
        };
        let value = divide(
            id(&sid.stimulus),
            Math::Plus(vec![quantity(1.0, "dimensionless"), id(&sid.stimulus)]),
        );
        let untreated = finite(
            subject.baseline_signals[k],
            &format!("untreated value of signal '{}'", s.name),
        )?;
        let member_names: Vec<&str> = s
            .species
            .iter()
            .map(|&m| model.species[m].name.as_str())
            .collect();
        parameters.push(SbmlParameter {
            id: sid.occupancy.clone(),
            name: format!("{} occupancy ρ", s.name),
            value: 0.0,
            units: Some("dimensionless".into()),
            constant: false,
            notes: vec![format!(
                "Operational model (Black & Leff 1983): ρ = ({}) / {}.",
                member_names.join(" + "),
                model.parameters[s.receptor_total].name
            )],
        });
        parameters.push(SbmlParameter {
            id: sid.stimulus.clone(),
            name: format!("{} stimulus x", s.name),
            value: 0.0,
            units: Some("dimensionless".into()),
            constant: false,
            notes: vec![format!(
                "x = ({} · ρ)^{} for ρ > 0, else 0.",
                model.parameters[s.efficacy].name, model.parameters[s.slope].name
            )],
        });
        parameters.push(SbmlParameter {
            id: sid.value.clone(),
            name: s.name.clone(),
            value: untreated,
            units: Some("dimensionless".into()),
            constant: false,
            notes: vec![s.description.clone(), "S = x / (1 + x).".into()],
        });
        parameters.push(SbmlParameter {
            id: sid.untreated.clone(),
            name: format!("{} untreated", s.name),
            value: untreated,
            units: Some("dimensionless".into()),
            constant: true,
            notes: vec![
                "Value of the signal in the untreated steady state of this patient (reference of the relative signal).".into(),
            ],
        });
        rules.push(SbmlRule {
            variable: sid.occupancy.clone(),
            math: rho,
        });
        rules.push(SbmlRule {
            variable: sid.stimulus.clone(),
            math: stimulus,
        });
        rules.push(SbmlRule {
            variable: sid.value.clone(),
            math: value,
        });
    }

    // Reactions, in amount per hour.
    let mut reactions = Vec::new();
    for (k, r) in model.reactions.iter().enumerate() {
        let (reactants, products, modifiers, law, reversible): (
            Vec<usize>,
            Vec<usize>,
            Vec<usize>,
            Math,
            bool,
        ) = match *r {
            Reaction::ZeroOrder { species, rate } => (
                vec![],
                vec![species],
                vec![],
                production(rate, species),
                false,
            ),
            Reaction::FirstOrder { species, rate } => (
                vec![species],
                vec![],
                vec![],
                times(vec![par(rate), amount(species)]),
                false,
            ),
            Reaction::Clearance { species, clearance } => (
                vec![species],
                vec![],
                vec![],
                times(vec![par(clearance), conc(species)]),
                false,
            ),
            Reaction::Transfer { from, to, rate } => (
                vec![from],
                vec![to],
                vec![],
                times(vec![par(rate), amount(from)]),
                false,
            ),
            Reaction::Exchange { a, b, clearance } => (
                vec![a],
                vec![b],
                vec![],
                times(vec![par(clearance), minus(conc(a), conc(b))]),
                true,
            ),
            Reaction::Binding {
                a,
                b,
                complex,
                kon,
                koff,
            } => (
                vec![a, b],
                vec![complex],
                vec![],
                times(vec![
                    minus(
                        times(vec![par(kon), conc(a), conc(b)]),
                        times(vec![par(koff), conc(complex)]),
                    ),
                    comp_of(complex),
                ]),
                true,
            ),
            Reaction::Conversion {
                from,
                to,
                forward,
                reverse,
            } => (
                vec![from],
                vec![to],
                vec![],
                times(vec![
                    minus(
                        times(vec![par(forward), conc(from)]),
                        times(vec![par(reverse), conc(to)]),
                    ),
                    comp_of(to),
                ]),
                true,
            ),
            Reaction::SignalProduction {
                species,
                rate,
                basal,
                gain,
                signal,
            } => (
                vec![],
                vec![species],
                model.signals[signal].species.clone(),
                times(vec![
                    production(rate, species),
                    Math::Plus(vec![
                        par(basal),
                        times(vec![par(gain), id(&signal_ids[signal].value)]),
                    ]),
                ]),
                false,
            ),
            Reaction::DrivenProduction {
                species,
                rate,
                driver,
                reference,
                exponent,
            } => (
                vec![],
                vec![species],
                vec![driver],
                times(vec![
                    production(rate, species),
                    Math::Piecewise {
                        value: Box::new(power(divide(conc(driver), par(reference)), par(exponent))),
                        condition: Box::new(Math::Gt(
                            Box::new(conc(driver)),
                            Box::new(quantity(0.0, "nM")),
                        )),
                        otherwise: Box::new(quantity(0.0, "dimensionless")),
                    },
                ]),
                false,
            ),
        };
        let kind = reaction_kind(r);
        reactions.push(SbmlReaction {
            id: reaction_ids[k].clone(),
            name: model.reaction_names[k].clone(),
            reversible,
            reactants: reactants.iter().map(|&s| species_ids[s].clone()).collect(),
            products: products.iter().map(|&s| species_ids[s].clone()).collect(),
            modifiers: modifiers.iter().map(|&s| species_ids[s].clone()).collect(),
            notes: vec![format!(
                "il1sim reaction kind {kind}; rate (nmol/h) = {}",
                law.infix()
            )],
            law,
        });
    }

    let events = dose_events(
        model,
        &inputs,
        &mut ids,
        &species_ids,
        &is_amount,
        &comp_of,
        &mut parameters,
        &mut reactions,
    )?;

    // Observables.
    let mut observable_columns = Vec::new();
    for (k, o) in model.observables.iter().enumerate() {
        let (math, how) = match &o.kind {
            ObservableKind::Concentration {
                species: s,
                plus,
                molar_mass,
            } => {
                let mw = molar_mass.map(|m| v[m]);
                let factor = crate::model::units::concentration_output_factor(&o.unit, mw)
                    .ok_or_else(|| {
                        ModelError::invalid(
                            "export-sbml",
                            format!("observable '{}': unit '{}' has no factor", o.name, o.unit),
                        )
                    })?;
                let note = format!(
                    "{} (nM) × {} ({} per nM{})",
                    model.species[*s].name,
                    fmt_num(factor),
                    o.unit,
                    molar_mass
                        .map(|m| format!(
                            ", molar mass {} = {} kDa",
                            model.parameters[m].name,
                            fmt_num(v[m])
                        ))
                        .unwrap_or_default()
                );
                let factor = match factor_units(&o.unit) {
                    Some(u) => quantity(factor, u),
                    None => Math::Num(factor),
                };
                let amount = if plus.is_empty() {
                    conc(*s)
                } else {
                    Math::Plus(
                        std::iter::once(*s)
                            .chain(plus.iter().copied())
                            .map(conc)
                            .collect(),
                    )
                };
                let note = if plus.is_empty() {
                    note
                } else {
                    format!(
                        "{note}, plus {}",
                        plus.iter()
                            .map(|&k| model.species[k].name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                (times(vec![factor, amount]), note)
            }
            ObservableKind::Fraction {
                numerator,
                denominator,
            } => {
                let sum = |list: &[usize]| {
                    if list.len() == 1 {
                        conc(list[0])
                    } else {
                        Math::Plus(list.iter().map(|&s| conc(s)).collect())
                    }
                };
                (
                    divide(sum(numerator), sum(denominator)),
                    "sum of numerator species / sum of denominator species".to_string(),
                )
            }
            ObservableKind::Signal { signal } => (
                id(&signal_ids[*signal].value),
                "the signal (0-1)".to_string(),
            ),
            ObservableKind::SignalRelative { signal } => (
                divide(
                    id(&signal_ids[*signal].value),
                    id(&signal_ids[*signal].untreated),
                ),
                "the signal / its untreated value in this patient".to_string(),
            ),
        };
        parameters.push(SbmlParameter {
            id: observable_ids[k].clone(),
            // Named like the column too: COPASI shows names.
            name: observable_ids[k].clone(),
            value: 0.0,
            units: observable_units(&o.unit).map(str::to_string),
            constant: false,
            notes: vec![
                o.description.clone(),
                format!(
                    "Column {} of il1sim's timecourse.csv: {how}.",
                    observable_ids[k]
                ),
            ],
        });
        rules.push(SbmlRule {
            variable: observable_ids[k].clone(),
            math,
        });
        observable_columns.push(observable_ids[k].clone());
    }

    // Initial values of assigned parameters (informative only; rules recompute them).
    {
        let mut values: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
        for (s, x) in species_ids.iter().zip(&initial) {
            values.insert(s.clone(), *x);
        }
        for c in &compartments {
            values.insert(c.id.clone(), c.size);
        }
        for p in &parameters {
            values.insert(p.id.clone(), p.value);
        }
        // Rules may refer to each other: evaluate in order until nothing changes.
        for _ in 0..=rules.len() {
            for r in &rules {
                let x = r
                    .math
                    .eval(&|n| values.get(n).copied().unwrap_or(f64::NAN), 0.0);
                values.insert(r.variable.clone(), x);
            }
        }
        for p in parameters.iter_mut().filter(|p| !p.constant) {
            if rules.iter().any(|r| r.variable == p.id) {
                let x = values[&p.id];
                p.value = if x.is_finite() { x } else { 0.0 };
            }
        }
    }

    let pt = &subject.patient;
    let doses = regimen
        .dose_events(pt.weight_kg, horizon_h)
        .map(|d| d.len())
        .unwrap_or(0);
    // Regimens given with this one (another drug or route): their doses are events too.
    let given_with: String = regimen
        .with
        .iter()
        .map(|w| {
            let n = w
                .dose_events(pt.weight_kg, horizon_h)
                .map(|d| d.len())
                .unwrap_or(0);
            format!(
                " Given with it, '{}': {} {} of {}, {n} dose(s).",
                w.name,
                w.dose.label(),
                w.administration.label(),
                w.drug
            )
        })
        .collect();
    let notes = vec![
        format!(
            "il1sim {} export of model '{}' ({}).",
            env!("CARGO_PKG_VERSION"),
            model.name,
            model.description
        ),
        format!(
            "Patient: {} kg, {} years, {}, CrCl {} mL/min, disease '{}'. Parameter values are this patient's (disease overlay applied, derived parameters evaluated), in canonical units: time h, volume L, amount nmol, concentration nM.",
            pt.weight_kg, pt.age_y, pt.sex.label(), pt.crcl_ml_min, pt.disease
        ),
        format!(
            "Regimen '{}': {} {} of {}, every {} h from {} h; {} dose(s) within the horizon of {} h.{given_with} Written as {} event(s).",
            regimen.name,
            regimen.dose.label(),
            regimen.administration.label(),
            regimen.drug,
            fmt_num(regimen.interval_h),
            fmt_num(regimen.start_h),
            doses,
            fmt_num(horizon_h),
            events.len()
        ),
        initial_note,
        "Doses are events with trigger time >= t_dose (initialValue false, persistent, values from the trigger time). A dose at t = 0 fires at t = 0 (a trigger true at the start with initialValue false fires then). Bioavailability and absorption lag are applied as in il1sim's dosing engine.".into(),
        "il1sim's timecourse.csv reports the state at a dose time before the dose (trough); SBML simulators report it after the event. Compare left limits at dose times.".into(),
        "Observables are parameters with assignment rules named like the timecourse.csv columns. Simulate over [0, horizon]; doses at or after the horizon are not included.".into(),
        "Each parameter's notes give its source; docs/model.md in the il1sim repository explains the calibrations.".into(),
    ];

    Ok(SbmlModel {
        id: Ids::sanitize(&model.name),
        name: format!("{} — {}", model.name, regimen.name),
        notes,
        unit_definitions: unit_definitions(),
        compartments,
        species,
        parameters,
        rules,
        reactions,
        events,
        observable_columns,
    })
}
