//! Reading a model file: TOML into the types of `spec.rs`, every check (names, units against
//! the dimension each use requires, negative values, dangling species, unused parameters),
//! and the [`Model`] it describes. A checking error names the line of the offending entry.

use super::definition::*;
use super::spec::*;
use super::units::{known_units, parse_unit, Dimension};
use crate::error::ModelError;
use exmex::prelude::*;
use std::collections::{BTreeMap, HashMap};

impl Model {
    /// Parse and check a model file's text. `origin` (a file name) prefixes error messages.
    ///
    /// A checking error names the line of the offending entry (`file:line: location`); the
    /// lines are looked up only when there is an error, so loading a good file parses it once.
    pub fn from_toml(text: &str, origin: &str) -> Result<Model, ModelError> {
        let spec: ModelSpec =
            toml::from_str(text).map_err(|e| ModelError::Syntax(format!("{origin}: {e}")))?;
        Model::from_spec(spec, origin).map_err(|e| match e {
            ModelError::Invalid { location, message } => {
                let place = location
                    .strip_prefix(origin)
                    .and_then(|rest| rest.strip_prefix(": "));
                match place.and_then(|p| entry_line(text, p).map(|l| (p, l))) {
                    Some((place, line)) => ModelError::Invalid {
                        location: format!("{origin}:{line}: {place}"),
                        message,
                    },
                    None => ModelError::Invalid { location, message },
                }
            }
            other => other,
        })
    }

    pub fn from_spec(spec: ModelSpec, origin: &str) -> Result<Model, ModelError> {
        let err = |loc: String, msg: String| ModelError::invalid(format!("{origin}: {loc}"), msg);

        // Parameters (base, then derived).
        let mut parameters = Vec::new();
        let mut param_index = HashMap::new();
        for (name, p) in &spec.parameters {
            let unit = parse_unit(&p.unit).ok_or_else(|| {
                err(
                    format!("parameters.{name}.unit"),
                    format!("unknown unit '{}'; allowed: {}", p.unit, known_units()),
                )
            })?;
            check_value(p.value).map_err(|m| err(format!("parameters.{name}.value"), m))?;
            check_fraction(&p.unit, p.value)
                .map_err(|m| err(format!("parameters.{name}.value"), m))?;
            if p.source.trim().is_empty() {
                return Err(err(
                    format!("parameters.{name}.source"),
                    "every parameter needs a source (paper or label, or 'calibrated: ...')".into(),
                ));
            }
            let range = parameter_range(name, p).map_err(|(loc, m)| err(loc, m))?;
            param_index.insert(name.clone(), parameters.len());
            parameters.push(Parameter {
                name: name.clone(),
                value: p.value * unit.to_canonical,
                unit: p.unit.clone(),
                to_canonical: unit.to_canonical,
                dimension: unit.dimension,
                source: p.source.clone(),
                description: p.description.clone(),
                expr: None,
                range,
                structural: p.structural,
            });
        }
        for (name, d) in &spec.derived {
            if param_index.contains_key(name) || COVARIATE_NAMES.contains(&name.as_str()) {
                return Err(err(
                    format!("derived.{name}"),
                    "name already used by a parameter or covariate".into(),
                ));
            }
            let unit = parse_unit(&d.unit).ok_or_else(|| {
                err(
                    format!("derived.{name}.unit"),
                    format!("unknown unit '{}'; allowed: {}", d.unit, known_units()),
                )
            })?;
            if d.source.trim().is_empty() {
                return Err(err(
                    format!("derived.{name}.source"),
                    "every derived parameter needs a source".into(),
                ));
            }
            param_index.insert(name.clone(), parameters.len());
            parameters.push(Parameter {
                name: name.clone(),
                value: f64::NAN,
                unit: d.unit.clone(),
                to_canonical: unit.to_canonical,
                dimension: unit.dimension,
                source: d.source.clone(),
                description: d.description.clone(),
                expr: Some(d.expr.clone()),
                range: None,
                structural: false,
            });
        }
        // Derived expressions: parse, resolve inputs, order by dependency.
        let mut pending = Vec::new();
        for (name, d) in &spec.derived {
            let expr = exmex::parse::<f64>(&d.expr).map_err(|e| {
                err(
                    format!("derived.{name}.expr"),
                    format!("cannot parse '{}': {e}", d.expr),
                )
            })?;
            let mut inputs = Vec::new();
            for var in expr.var_names() {
                if let Some(i) = COVARIATE_NAMES.iter().position(|c| c == var) {
                    inputs.push(DerivedInput::Covariate(i));
                } else if let Some(&id) = param_index.get(var.as_str()) {
                    inputs.push(DerivedInput::Parameter(id));
                } else {
                    let mut known: Vec<&str> = param_index.keys().map(String::as_str).collect();
                    known.extend(COVARIATE_NAMES);
                    return Err(err(
                        format!("derived.{name}.expr"),
                        format!(
                            "{}; names are parameters, derived parameters and covariates ({})",
                            unknown_name("name", var, &known),
                            COVARIATE_NAMES.join(", ")
                        ),
                    ));
                }
            }
            pending.push(Derived {
                id: param_index[name.as_str()],
                expr,
                inputs,
            });
        }
        let n_base = spec.parameters.len();
        let mut derived = Vec::new();
        let mut ready = vec![false; parameters.len()];
        ready[..n_base].iter_mut().for_each(|r| *r = true);
        while !pending.is_empty() {
            let before = pending.len();
            let mut i = 0;
            while i < pending.len() {
                let ok = pending[i].inputs.iter().all(|inp| match inp {
                    DerivedInput::Parameter(p) => ready[*p],
                    DerivedInput::Covariate(_) => true,
                });
                if ok {
                    let d = pending.remove(i);
                    ready[d.id] = true;
                    derived.push(d);
                } else {
                    i += 1;
                }
            }
            if pending.len() == before {
                let names: Vec<_> = pending
                    .iter()
                    .map(|d| parameters[d.id].name.clone())
                    .collect();
                return Err(err(
                    "derived".into(),
                    format!("circular definitions among: {}", names.join(", ")),
                ));
            }
        }

        let mut used = vec![false; parameters.len()];
        for d in &derived {
            for inp in &d.inputs {
                if let DerivedInput::Parameter(p) = inp {
                    used[*p] = true;
                }
            }
        }
        let mut param =
            |loc: &str, name: &Option<String>, dims: &[Dimension]| -> Result<ParamId, ModelError> {
                let name = name.as_ref().ok_or_else(|| {
                    err(loc.to_string(), "missing (required for this kind)".into())
                })?;
                let id = *param_index.get(name.as_str()).ok_or_else(|| {
                    let known: Vec<&str> = param_index.keys().map(String::as_str).collect();
                    err(loc.to_string(), unknown_name("parameter", name, &known))
                })?;
                let dim = parameters[id].dimension;
                if !dims.contains(&dim) {
                    let allowed: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                    return Err(err(
                        loc.to_string(),
                        format!(
                            "parameter '{name}' has unit '{}' ({dim}); allowed here: {}",
                            parameters[id].unit,
                            allowed.join(" or ")
                        ),
                    ));
                }
                used[id] = true;
                Ok(id)
            };

        // Compartments and species.
        let mut compartments = Vec::new();
        let mut comp_index = HashMap::new();
        for (i, c) in spec.compartments.iter().enumerate() {
            let loc = format!("compartments[{i}] '{}'", c.name);
            if comp_index
                .insert(c.name.clone(), compartments.len())
                .is_some()
            {
                return Err(err(loc, "duplicate compartment name".into()));
            }
            let volume = match &c.volume {
                Some(_) => Some(param(
                    &format!("{loc}.volume"),
                    &c.volume,
                    &[Dimension::VOLUME],
                )?),
                None => None,
            };
            compartments.push(Compartment {
                name: c.name.clone(),
                description: c.description.clone(),
                volume,
            });
        }
        let mut species = Vec::new();
        let mut species_index = HashMap::new();
        for (i, s) in spec.species.iter().enumerate() {
            let loc = format!("species[{i}] '{}'", s.name);
            if species_index
                .insert(s.name.clone(), species.len())
                .is_some()
            {
                return Err(err(loc, "duplicate species name".into()));
            }
            let compartment = *comp_index.get(&s.compartment).ok_or_else(|| {
                let known: Vec<&str> = comp_index.keys().map(String::as_str).collect();
                err(
                    format!("{loc}.compartment"),
                    unknown_name("compartment", &s.compartment, &known),
                )
            })?;
            if !(s.scale.is_finite() && s.scale > 0.0) {
                return Err(err(
                    format!("{loc}.scale"),
                    format!("{} is not allowed; must be > 0", s.scale),
                ));
            }
            check_value(s.initial).map_err(|m| err(format!("{loc}.initial"), m))?;
            species.push(Species {
                name: s.name.clone(),
                compartment,
                description: s.description.clone(),
                scale: s.scale,
                initial: s.initial,
            });
        }
        let sp = |loc: &str, name: &Option<String>| -> Result<usize, ModelError> {
            let name = name
                .as_ref()
                .ok_or_else(|| err(loc.to_string(), "missing (required for this kind)".into()))?;
            species_index.get(name.as_str()).copied().ok_or_else(|| {
                let known: Vec<&str> = species_index.keys().map(String::as_str).collect();
                err(loc.to_string(), unknown_name("species", name, &known))
            })
        };

        // Signals.
        if spec.signals.len() > super::system::MAX_SIGNALS {
            return Err(err(
                "signals".into(),
                format!(
                    "{} signals declared; at most {} are allowed",
                    spec.signals.len(),
                    super::system::MAX_SIGNALS
                ),
            ));
        }
        let mut signals = Vec::new();
        for (i, s) in spec.signals.iter().enumerate() {
            let loc = format!("signals[{i}] '{}'", s.name);
            if s.kind != "operational" {
                return Err(err(
                    format!("{loc}.kind"),
                    format!("'{}' is not known; allowed: operational", s.kind),
                ));
            }
            let members = s
                .species
                .iter()
                .map(|n| sp(&format!("{loc}.species"), &Some(n.clone())))
                .collect::<Result<Vec<_>, _>>()?;
            signals.push(Signal {
                name: s.name.clone(),
                species: members,
                receptor_total: param(
                    &format!("{loc}.receptor_total"),
                    &Some(s.receptor_total.clone()),
                    &[Dimension::CONCENTRATION],
                )?,
                efficacy: param(
                    &format!("{loc}.efficacy"),
                    &Some(s.efficacy.clone()),
                    &[Dimension::NONE],
                )?,
                slope: param(
                    &format!("{loc}.slope"),
                    &Some(s.slope.clone()),
                    &[Dimension::NONE],
                )?,
                description: s.description.clone(),
            });
        }
        let signal_index = |loc: &str, name: &Option<String>| -> Result<usize, ModelError> {
            let name = name
                .as_ref()
                .ok_or_else(|| err(loc.to_string(), "missing".into()))?;
            signals.iter().position(|s| &s.name == name).ok_or_else(|| {
                let known: Vec<&str> = signals.iter().map(|s| s.name.as_str()).collect();
                err(loc.to_string(), unknown_name("signal", name, &known))
            })
        };

        // Reactions.
        let production = [Dimension::AMOUNT_RATE, Dimension::CONCENTRATION_RATE];
        let mut reactions = Vec::new();
        let mut reaction_names = Vec::new();
        let mut touched = vec![false; species.len()];
        for (i, r) in spec.reactions.iter().enumerate() {
            let loc = format!("reactions[{i}] '{}'", r.name);
            // Names identify reactions in exports (SBML ids); a second one would be renamed.
            if let Some(j) = reaction_names.iter().position(|n| n == &r.name) {
                return Err(err(
                    format!("{loc}.name"),
                    format!("duplicate reaction name: reactions[{j}] is also named '{}'; names must differ", r.name),
                ));
            }
            let l = |f: &str| format!("{loc}.{f}");
            let reaction = match r.kind.as_str() {
                "zero_order" => Reaction::ZeroOrder { species: sp(&l("species"), &r.species)?, rate: param(&l("rate"), &r.rate, &production)? },
                "first_order" => Reaction::FirstOrder { species: sp(&l("species"), &r.species)?, rate: param(&l("rate"), &r.rate, &[Dimension::RATE])? },
                "clearance" => Reaction::Clearance { species: sp(&l("species"), &r.species)?, clearance: param(&l("clearance"), &r.clearance, &[Dimension::CLEARANCE])? },
                "transfer" => Reaction::Transfer { from: sp(&l("from"), &r.from)?, to: sp(&l("to"), &r.to)?, rate: param(&l("rate"), &r.rate, &[Dimension::RATE])? },
                "exchange" => Reaction::Exchange { a: sp(&l("a"), &r.a)?, b: sp(&l("b"), &r.b)?, clearance: param(&l("clearance"), &r.clearance, &[Dimension::CLEARANCE])? },
                "binding" => Reaction::Binding {
                    a: sp(&l("a"), &r.a)?,
                    b: sp(&l("b"), &r.b)?,
                    complex: sp(&l("complex"), &r.complex)?,
                    kon: param(&l("kon"), &r.kon, &[Dimension::SECOND_ORDER_RATE])?,
                    koff: param(&l("koff"), &r.koff, &[Dimension::RATE])?,
                },
                "conversion" => Reaction::Conversion {
                    from: sp(&l("from"), &r.from)?,
                    to: sp(&l("to"), &r.to)?,
                    forward: param(&l("forward"), &r.forward, &[Dimension::RATE])?,
                    reverse: param(&l("reverse"), &r.reverse, &[Dimension::RATE])?,
                },
                "signal_production" => Reaction::SignalProduction {
                    species: sp(&l("species"), &r.species)?,
                    rate: param(&l("rate"), &r.rate, &production)?,
                    basal: param(&l("basal"), &r.basal, &[Dimension::NONE])?,
                    gain: param(&l("gain"), &r.gain, &[Dimension::NONE])?,
                    signal: signal_index(&l("signal"), &r.signal)?,
                },
                "driven_production" => Reaction::DrivenProduction {
                    species: sp(&l("species"), &r.species)?,
                    rate: param(&l("rate"), &r.rate, &production)?,
                    driver: sp(&l("driver"), &r.driver)?,
                    reference: param(&l("reference"), &r.reference, &[Dimension::CONCENTRATION])?,
                    exponent: param(&l("exponent"), &r.exponent, &[Dimension::NONE])?,
                },
                other => {
                    return Err(err(
                        l("kind"),
                        format!("'{other}' is not a reaction kind; allowed: zero_order, first_order, clearance, transfer, exchange, binding, conversion, signal_production, driven_production"),
                    ))
                }
            };
            // Structural checks: same-compartment binding, concentration species for clearance.
            let comp = |s: usize| species[s].compartment;
            match &reaction {
                Reaction::Binding { a, b, complex, .. } => {
                    if comp(*a) != comp(*b) || comp(*a) != comp(*complex) {
                        return Err(err(
                            loc,
                            "binding partners and complex must share one compartment".into(),
                        ));
                    }
                    for s in [a, b, complex] {
                        touched[*s] = true;
                    }
                }
                Reaction::Conversion { from, to, .. } => {
                    if comp(*from) != comp(*to) {
                        return Err(err(
                            loc,
                            "conversion must stay within one compartment".into(),
                        ));
                    }
                    touched[*from] = true;
                    touched[*to] = true;
                }
                Reaction::Clearance { species: s, .. } | Reaction::Exchange { a: s, .. } => {
                    if compartments[comp(*s)].volume.is_none() {
                        return Err(err(loc, format!("species '{}' is an amount (compartment without volume); clearance and exchange need concentrations", species[*s].name)));
                    }
                    touched[*s] = true;
                    if let Reaction::Exchange { b, .. } = &reaction {
                        if compartments[comp(*b)].volume.is_none() {
                            return Err(err(
                                loc,
                                format!(
                                    "species '{}' is an amount; exchange needs concentrations",
                                    species[*b].name
                                ),
                            ));
                        }
                        touched[*b] = true;
                    }
                }
                Reaction::Transfer { from, to, .. } => {
                    touched[*from] = true;
                    touched[*to] = true;
                }
                Reaction::ZeroOrder { species: s, .. }
                | Reaction::FirstOrder { species: s, .. }
                | Reaction::SignalProduction { species: s, .. } => touched[*s] = true,
                Reaction::DrivenProduction {
                    species: s, driver, ..
                } => {
                    touched[*s] = true;
                    touched[*driver] = true;
                }
            }
            reactions.push(reaction);
            reaction_names.push(r.name.clone());
        }
        if let Some(i) = touched.iter().position(|t| !t) {
            return Err(err(
                format!("species[{i}] '{}'", species[i].name),
                "dangling species: no reaction produces, removes or binds it".into(),
            ));
        }

        // Drugs and routes.
        let mut drugs = Vec::new();
        for (i, d) in spec.drugs.iter().enumerate() {
            let loc = format!("drugs[{i}] '{}'", d.name);
            // Regimens name their drug; a second drug of the same name could never be given.
            if let Some(j) = drugs.iter().position(|x: &Drug| x.name == d.name) {
                return Err(err(
                    format!("{loc}.name"),
                    format!(
                        "duplicate drug name: drugs[{j}] is also named '{}'; names must differ",
                        d.name
                    ),
                ));
            }
            let molar_mass = param(
                &format!("{loc}.molar_mass"),
                &Some(d.molar_mass.clone()),
                &[Dimension::MOLAR_MASS],
            )?;
            if parameters[molar_mass].unit != "kDa" {
                return Err(err(
                    format!("{loc}.molar_mass"),
                    "molar mass must be given in kDa".into(),
                ));
            }
            let mut routes = BTreeMap::new();
            for (rname, r) in &d.routes {
                let rloc = format!("{loc}.routes.{rname}");
                let kind = RouteKind::parse(rname).ok_or_else(|| {
                    err(
                        rloc.clone(),
                        format!("unknown route '{rname}'; allowed: sc, iv"),
                    )
                })?;
                let bioavailability = match &r.bioavailability {
                    Some(_) => Some(param(
                        &format!("{rloc}.bioavailability"),
                        &r.bioavailability,
                        &[Dimension::NONE],
                    )?),
                    None => None,
                };
                let lag = match &r.lag {
                    Some(_) => Some(param(&format!("{rloc}.lag"), &r.lag, &[Dimension::TIME])?),
                    None => None,
                };
                routes.insert(
                    kind,
                    Route {
                        target: sp(&format!("{rloc}.target"), &Some(r.target.clone()))?,
                        bioavailability,
                        lag,
                    },
                );
            }
            drugs.push(Drug {
                name: d.name.clone(),
                molar_mass,
                concentration_species: sp(
                    &format!("{loc}.concentration_species"),
                    &Some(d.concentration_species.clone()),
                )?,
                routes,
            });
        }

        // Observables.
        let mut observables = Vec::new();
        for (i, o) in spec.observables.iter().enumerate() {
            let loc = format!("observables[{i}] '{}'", o.name);
            // Names become output columns: a second one would be a second column of that name.
            if let Some(j) = spec.observables[..i].iter().position(|p| p.name == o.name) {
                return Err(err(
                    format!("{loc}.name"),
                    format!(
                        "duplicate observable name: observables[{j}] is also named '{}'; names \
                         must differ",
                        o.name
                    ),
                ));
            }
            let kind = match o.kind.as_str() {
                "concentration" => {
                    let species_id = sp(&format!("{loc}.species"), &o.species)?;
                    let molar_mass = match &o.molar_mass {
                        Some(_) => Some(param(&format!("{loc}.molar_mass"), &o.molar_mass, &[Dimension::MOLAR_MASS])?),
                        None => None,
                    };
                    let mw_probe = molar_mass.map(|_| 1.0);
                    if super::units::concentration_output_factor(&o.unit, mw_probe).is_none() {
                        return Err(err(
                            format!("{loc}.unit"),
                            format!("'{}' is not a concentration unit this observable can report; allowed: nM, pM, and with molar_mass: ng/mL, pg/mL, mg/L, ug/mL, mg/dL", o.unit),
                        ));
                    }
                    let plus = o
                        .plus
                        .iter()
                        .flatten()
                        .map(|n| sp(&format!("{loc}.plus"), &Some(n.clone())))
                        .collect::<Result<Vec<_>, _>>()?;
                    if plus.iter().any(|&k| species[k].compartment != species[species_id].compartment) {
                        return Err(err(format!("{loc}.plus"), "added species must be in the compartment of `species`".into()));
                    }
                    ObservableKind::Concentration { species: species_id, plus, molar_mass }
                }
                "fraction" => {
                    let list = |f: &str, v: &Option<Vec<String>>| -> Result<Vec<usize>, ModelError> {
                        v.as_ref()
                            .ok_or_else(|| err(format!("{loc}.{f}"), "missing".into()))?
                            .iter()
                            .map(|n| sp(&format!("{loc}.{f}"), &Some(n.clone())))
                            .collect()
                    };
                    ObservableKind::Fraction { numerator: list("numerator", &o.numerator)?, denominator: list("denominator", &o.denominator)? }
                }
                "signal" => ObservableKind::Signal { signal: signal_index(&format!("{loc}.signal"), &o.signal)? },
                "signal_relative" => ObservableKind::SignalRelative { signal: signal_index(&format!("{loc}.signal"), &o.signal)? },
                other => {
                    return Err(err(format!("{loc}.kind"), format!("'{other}' is not known; allowed: concentration, fraction, signal, signal_relative")))
                }
            };
            observables.push(Observable {
                name: o.name.clone(),
                unit: o.unit.clone(),
                description: o.description.clone(),
                kind,
            });
        }

        if let Some(i) = used.iter().position(|u| !u) {
            return Err(err(
                format!("parameters.{}", parameters[i].name),
                "parameter is never used (by a reaction, signal, route, observable or derived parameter)".into(),
            ));
        }

        // Disease overlays.
        let mut diseases = BTreeMap::new();
        for (dname, d) in &spec.diseases {
            let mut overrides = Vec::new();
            for (pname, p) in &d.parameters {
                let loc = format!("diseases.{dname}.parameters.{pname}");
                let id = *param_index.get(pname.as_str()).ok_or_else(|| {
                    let known: Vec<&str> = param_index.keys().map(String::as_str).collect();
                    err(loc.clone(), unknown_name("parameter", pname, &known))
                })?;
                if parameters[id].expr.is_some() {
                    return Err(err(
                        loc,
                        "a derived parameter cannot be overridden; override its inputs".into(),
                    ));
                }
                let unit = parse_unit(&p.unit).ok_or_else(|| {
                    err(format!("{loc}.unit"), format!("unknown unit '{}'", p.unit))
                })?;
                if unit.dimension != parameters[id].dimension {
                    return Err(err(
                        format!("{loc}.unit"),
                        format!(
                            "'{}' does not match the base unit '{}'",
                            p.unit, parameters[id].unit
                        ),
                    ));
                }
                check_value(p.value).map_err(|m| err(format!("{loc}.value"), m))?;
                check_fraction(&p.unit, p.value).map_err(|m| err(format!("{loc}.value"), m))?;
                if p.source.trim().is_empty() {
                    return Err(err(
                        format!("{loc}.source"),
                        "every override needs a source".into(),
                    ));
                }
                overrides.push((id, p.value * unit.to_canonical, p.source.clone()));
            }
            diseases.insert(
                dname.clone(),
                Disease {
                    name: dname.clone(),
                    description: d.description.clone(),
                    overrides,
                },
            );
        }
        if !diseases.contains_key(&spec.model.default_disease) {
            return Err(err(
                "model.default_disease".into(),
                format!(
                    "'{}' is not a disease overlay of this model",
                    spec.model.default_disease
                ),
            ));
        }

        Ok(Model {
            name: spec.model.name,
            origin: origin.to_string(),
            description: spec.model.description,
            default_disease: spec.model.default_disease,
            compartments,
            species,
            parameters,
            signals,
            drugs,
            observables,
            diseases,
            derived,
            reactions,
            reaction_names,
            param_index,
            species_index,
        })
    }
}

/// Most names listed in full after an unknown one; longer lists (the bundled model has over
/// a hundred parameters) show the closest few instead, since a message of hundreds of names
/// is not read.
const MAX_LISTED_NAMES: usize = 40;
/// How many of the closest names a long list is cut to.
const CLOSEST_SHOWN: usize = 5;

/// "unknown species 'plasma'; did you mean 'plasmaa'?" for a typo (within [`typo_distance`]
/// edits), else the allowed names, or the closest of them when there are many.
fn unknown_name(what: &str, name: &str, known: &[&str]) -> String {
    let mut by_distance: Vec<(usize, &str)> =
        known.iter().map(|k| (edit_distance(name, k), *k)).collect();
    by_distance.sort();
    match by_distance.first() {
        None => format!("unknown {what} '{name}'; none is declared"),
        Some(&(d, best)) if d <= typo_distance(name) => {
            format!("unknown {what} '{name}'; did you mean '{best}'?")
        }
        Some(_) if known.len() <= MAX_LISTED_NAMES => {
            let mut all: Vec<&str> = known.to_vec();
            all.sort();
            format!("unknown {what} '{name}'; allowed: {}", all.join(", "))
        }
        Some(_) => {
            let closest: Vec<&str> = by_distance
                .iter()
                .take(CLOSEST_SHOWN)
                .map(|(_, k)| *k)
                .collect();
            format!(
                "unknown {what} '{name}'; the closest of the {} declared: {}",
                known.len(),
                closest.join(", ")
            )
        }
    }
}

/// Edits up to which a name counts as a typo of another: a third of its length (so that short
/// names do not match unrelated ones), at least 1 and at most 3 (typing errors are one or two
/// characters, rarely three).
fn typo_distance(name: &str) -> usize {
    (name.chars().count() / 3).clamp(1, 3)
}

/// Edit distance between two names counting insertions, deletions, substitutions and swaps
/// of two neighbouring characters (optimal string alignment): `cnoc` is one edit from `conc`.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, v) in d[0].iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The entries of a model file with their spans, read only to put a line number on an error.
/// Unknown keys are ignored here: the real parse has already accepted the file.
#[derive(Debug, Default, serde::Deserialize)]
struct EntrySpans {
    #[serde(default)]
    model: Option<toml::Spanned<toml::Value>>,
    #[serde(default)]
    compartments: Vec<toml::Spanned<toml::Value>>,
    #[serde(default)]
    species: Vec<toml::Spanned<toml::Value>>,
    #[serde(default)]
    parameters: BTreeMap<String, toml::Spanned<toml::Value>>,
    #[serde(default)]
    derived: BTreeMap<String, toml::Spanned<toml::Value>>,
    #[serde(default)]
    signals: Vec<toml::Spanned<toml::Value>>,
    #[serde(default)]
    reactions: Vec<toml::Spanned<toml::Value>>,
    #[serde(default)]
    drugs: Vec<toml::Spanned<toml::Value>>,
    #[serde(default)]
    observables: Vec<toml::Spanned<toml::Value>>,
    #[serde(default)]
    diseases: BTreeMap<String, toml::Spanned<DiseaseSpans>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct DiseaseSpans {
    #[serde(default)]
    parameters: BTreeMap<String, toml::Spanned<toml::Value>>,
}

/// The line (1-based) of the entry an error location such as `reactions[3] 'x'.rate`,
/// `parameters.ka.value` or `diseases.ra.parameters.P.unit` refers to, if it can be found.
fn entry_line(text: &str, location: &str) -> Option<usize> {
    let spans: EntrySpans = toml::from_str(text).ok()?;
    let line =
        |span: std::ops::Range<usize>| text[..span.start.min(text.len())].matches('\n').count() + 1;
    let (section, rest) = location
        .find(['.', '['])
        .map_or((location, ""), |i| (&location[..i], &location[i..]));
    // `.name.field` → `name`; `[i] 'x'.field` → i.
    let key = || {
        rest.strip_prefix('.')
            .map(|r| r.split('.').next().unwrap_or(r))
    };
    let index = || -> Option<usize> { rest.strip_prefix('[')?.split(']').next()?.parse().ok() };
    let span = match section {
        "model" => spans.model?.span(),
        "parameters" => spans.parameters.get(key()?)?.span(),
        "derived" => spans.derived.get(key()?)?.span(),
        "compartments" => spans.compartments.get(index()?)?.span(),
        "species" => spans.species.get(index()?)?.span(),
        "signals" => spans.signals.get(index()?)?.span(),
        "reactions" => spans.reactions.get(index()?)?.span(),
        "drugs" => spans.drugs.get(index()?)?.span(),
        "observables" => spans.observables.get(index()?)?.span(),
        "diseases" => {
            let disease = spans.diseases.get(key()?)?;
            // `diseases.ra.parameters.P...`: the overriding entry's own line.
            let mut parts = rest.trim_start_matches('.').split('.').skip(1);
            match (parts.next(), parts.next()) {
                (Some("parameters"), Some(p)) => disease
                    .get_ref()
                    .parameters
                    .get(p)
                    .map_or(disease.span(), |s| s.span()),
                _ => disease.span(),
            }
        }
        _ => return None,
    };
    Some(line(span))
}

/// A parameter's plausible range, checked: 0 < low <= 1 <= high (fold changes of the value,
/// sampled on a log scale), a source, and not on a structural parameter. Errors are
/// (location, message).
fn parameter_range(
    name: &str,
    p: &ParameterSpec,
) -> Result<Option<ParameterRange>, (String, String)> {
    let Some([low, high]) = p.range_fold else {
        if !p.range_source.trim().is_empty() {
            return Err((
                format!("parameters.{name}.range_source"),
                "a range_source without a range; give range_fold = [low, high]".into(),
            ));
        }
        return Ok(None);
    };
    let loc = format!("parameters.{name}.range_fold");
    if !(low.is_finite()
        && high.is_finite()
        && low > 0.0
        && low <= 1.0
        && high >= 1.0
        && low < high)
    {
        return Err((
            loc,
            format!("[{low}, {high}]: a range is two fold changes of the value with 0 < low <= 1 <= high and low < high"),
        ));
    }
    if p.range_source.trim().is_empty() {
        return Err((
            format!("parameters.{name}.range_source"),
            "a range needs its source (a paper, a population's spread, or 'assumption: ...')"
                .into(),
        ));
    }
    if p.structural {
        return Err((loc, "a structural parameter (a switch) has no range".into()));
    }
    Ok(Some(ParameterRange {
        low_fold: low,
        high_fold: high,
        source: p.range_source.clone(),
    }))
}
