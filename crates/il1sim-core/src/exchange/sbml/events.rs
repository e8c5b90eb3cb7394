//! Doses in the document: the inputs the engine applies within the horizon, infusions as
//! input-rate parameters feeding extra reactions, and one event per distinct dose time.

use super::document::{finite, SbmlEvent, SbmlParameter, SbmlReaction};
use super::ids::Ids;
use super::math::{divide, fmt_num, id, quantity, Math};
use crate::dosing::inputs::StateInput;
use crate::error::ModelError;
use crate::model::definition::Model;
use crate::time::same_time;

/// The doses of `regimen` that the engine applies within `horizon_h`: inputs at or after
/// the horizon are dropped, except the end of an infusion that started before it.
pub(super) fn inputs_within_horizon(inputs: &[StateInput], horizon_h: f64) -> Vec<StateInput> {
    let before = |t: f64| t < horizon_h && !same_time(t, horizon_h);
    // Open infusions (species, rate) started before the horizon.
    let mut open: Vec<(usize, f64)> = Vec::new();
    let mut kept = Vec::new();
    for input in inputs {
        match *input {
            StateInput::Bolus { time_h, .. } => {
                if before(time_h) {
                    kept.push(*input);
                }
            }
            StateInput::RateStep {
                time_h,
                species,
                delta_nmol_per_h,
            } => {
                if delta_nmol_per_h >= 0.0 {
                    if before(time_h) {
                        open.push((species, delta_nmol_per_h));
                        kept.push(*input);
                    }
                } else if let Some(k) = open
                    .iter()
                    .position(|&(s, r)| s == species && r == -delta_nmol_per_h)
                {
                    open.remove(k);
                    kept.push(*input);
                }
            }
        }
    }
    kept
}

/// Infusions and doses: an input-rate parameter and a reaction per infused species (added to
/// `parameters` and `reactions`), and the events, one per distinct dose time. `is_amount` and
/// `comp_of` tell whether a species is an amount and give its compartment.
#[allow(clippy::too_many_arguments)]
pub(super) fn dose_events(
    model: &Model,
    inputs: &[StateInput],
    ids: &mut Ids,
    species_ids: &[String],
    is_amount: &dyn Fn(usize) -> bool,
    comp_of: &dyn Fn(usize) -> Math,
    parameters: &mut Vec<SbmlParameter>,
    reactions: &mut Vec<SbmlReaction>,
) -> Result<Vec<SbmlEvent>, ModelError> {
    let n_species = model.species.len();
    let sp = |s: usize| id(&species_ids[s]);
    // Infusions: an input-rate parameter and a reaction per target species.
    let mut infusion_rate_ids: Vec<Option<String>> = vec![None; n_species];
    for input in inputs {
        if let StateInput::RateStep { species: s, .. } = *input {
            if infusion_rate_ids[s].is_none() {
                let rate_id = ids.claim(&format!("{}_infusion_rate", model.species[s].name));
                let reaction_id = ids.claim(&format!("{}_infusion", model.species[s].name));
                parameters.push(SbmlParameter {
                    id: rate_id.clone(),
                    name: format!("infusion rate into {}", model.species[s].name),
                    value: 0.0,
                    units: Some("nmol_per_hour".into()),
                    constant: false,
                    notes: vec![
                        "Zero-order input (nmol/h) of the IV infusions, set by the dose events."
                            .into(),
                    ],
                });
                reactions.push(SbmlReaction {
                    id: reaction_id,
                    name: format!("IV infusion into {}", model.species[s].name),
                    reversible: false,
                    reactants: vec![],
                    products: vec![species_ids[s].clone()],
                    modifiers: vec![],
                    law: id(&rate_id),
                    notes: vec![format!("rate (nmol/h) = {rate_id}")],
                });
                infusion_rate_ids[s] = Some(rate_id);
            }
        }
    }

    // Events: one per distinct dose time.
    let mut events = Vec::new();
    let mut rates = vec![0.0; n_species];
    let mut i = 0;
    while i < inputs.len() {
        let t = inputs[i].time_h();
        let mut j = i;
        let mut boluses: Vec<(usize, f64)> = Vec::new();
        let mut switched: Vec<usize> = Vec::new();
        while j < inputs.len() && same_time(inputs[j].time_h(), t) {
            match inputs[j] {
                StateInput::Bolus {
                    species: s,
                    amount_nmol,
                    ..
                } => match boluses.iter_mut().find(|(b, _)| *b == s) {
                    Some(b) => b.1 += amount_nmol,
                    None => boluses.push((s, amount_nmol)),
                },
                StateInput::RateStep {
                    species: s,
                    delta_nmol_per_h,
                    ..
                } => {
                    // As the integrator does: switching off leaves exactly zero.
                    rates[s] += delta_nmol_per_h;
                    if rates[s].abs() < 1e-12 * delta_nmol_per_h.abs() {
                        rates[s] = 0.0;
                    }
                    if !switched.contains(&s) {
                        switched.push(s);
                    }
                }
            }
            j += 1;
        }
        let mut assignments = Vec::new();
        let mut notes = Vec::new();
        for &(s, a) in &boluses {
            let a = finite(a, "dose amount")?;
            let add = if is_amount(s) {
                quantity(a, "nmol")
            } else {
                divide(quantity(a, "nmol"), comp_of(s))
            };
            assignments.push((species_ids[s].clone(), Math::Plus(vec![sp(s), add])));
            notes.push(format!(
                "Adds {} nmol to {} (bioavailability and lag applied).",
                fmt_num(a),
                model.species[s].name
            ));
        }
        for &s in &switched {
            let rate_id = infusion_rate_ids[s]
                .clone()
                .expect("an infusion parameter exists for every rate step");
            let r = finite(rates[s], "infusion rate")?;
            assignments.push((rate_id.clone(), quantity(r, "nmol_per_hour")));
            notes.push(format!(
                "Infusion into {} now runs at {} nmol/h.",
                model.species[s].name,
                fmt_num(r)
            ));
        }
        let k = events.len() + 1;
        events.push(SbmlEvent {
            id: ids.claim(&format!("dose_{k}")),
            name: format!("dose at {} h", fmt_num(t)),
            time_h: finite(t, "dose time")?,
            assignments,
            notes,
        });
        i = j;
    }
    Ok(events)
}
