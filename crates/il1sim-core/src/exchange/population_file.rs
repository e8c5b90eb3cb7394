//! Population files: a scenario file with `[population]` instead of `[patient]`, parsed and
//! checked into a [`PopulationScenario`], every error with the line of its key.

use super::scenario::parse_file;
use super::spans::{line_of, ScenarioError};
use super::tables::*;
use crate::dosing::regimen::HOURS_PER_DAY;
use crate::model::definition::{Model, ObservableKind};
use crate::population::aggregates::{FRACTION_BINS, LOG_BINS, MAX_BAND_TIMES};
use crate::population::definition::*;
use crate::population::sampling::{
    box_probability, cholesky_checked, describe, draw_budget, first_failing_entry, fmt_sig,
    normal_mass, AcceptedRange,
};
use nalgebra::DMatrix;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

const DEFAULT_BAND_INTERVAL_H: f64 = 4.0;
const DEFAULT_CRP_DAYS: [u32; 4] = [1, 7, 14, 28];
pub const DEFAULT_BAND_OBSERVABLES: [&str; 5] = [
    "anakinra_plasma",
    "receptor_occupancy_antagonist",
    "il1_signal_relative",
    "il6_plasma",
    "crp",
];

fn perr(origin: &str, line: usize, key: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        origin: origin.into(),
        line: Some(line),
        key: key.into(),
        message: message.into(),
    }
}

/// The interval of the grid of [`MAX_BAND_TIMES`] band times from 0 to the end of
/// `duration_h` (duration / 1,999): the default interval is widened to it when 4 h would give
/// more band times.
fn widest_band_grid_interval(duration_h: f64) -> f64 {
    let mut v = duration_h / (MAX_BAND_TIMES - 1) as f64;
    while band_time_count(duration_h, v) > MAX_BAND_TIMES as f64 {
        v = v.next_up();
    }
    v
}

/// `x` rounded up to 4 significant digits, as text: a lower limit in a message, which must
/// itself be allowed.
fn round_up_sig(x: f64) -> String {
    if !(x.is_finite() && x > 0.0) {
        return format!("{x}");
    }
    let e = x.log10().floor() as i32 - 3;
    let up = (x / 10f64.powi(e)).ceil() * 10f64.powi(e);
    format!("{up:.*}", (-e).max(0) as usize)
}

/// Parse and check a population file (`[scenario]`, `[population]`, `[[regimens]]`).
pub fn parse_population(
    text: &str,
    origin: &str,
    model: &Model,
) -> Result<PopulationScenario, ScenarioError> {
    let f = parse_file(text, origin, model)?;
    if f.patient.is_some() {
        return Err(ScenarioError {
            origin: origin.into(),
            line: None,
            key: "patient".into(),
            message: "a population file has [population] instead of [patient]".into(),
        });
    }
    let (p, _) = f.population.ok_or_else(|| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "population".into(),
        message: "a [population] table is needed".into(),
    })?;
    // An error at the line of `span`, keyed `population.<key>`.
    let at = |span: &Range<usize>, key: &str, msg: String| {
        perr(
            origin,
            line_of(text, span),
            &format!("population.{key}"),
            msg,
        )
    };
    let subjects = *p.subjects.get_ref();
    if subjects < 1 || subjects as u64 > MAX_SUBJECTS {
        return Err(at(
            &p.subjects.span(),
            "subjects",
            format!("{subjects} is not allowed; 1 to 100,000,000"),
        ));
    }
    let seed = *p.seed.get_ref();
    if seed < 0 {
        return Err(at(
            &p.seed.span(),
            "seed",
            format!("{seed} is not allowed; 0 or more"),
        ));
    }
    let disease = p.disease.get_ref();
    if !model.diseases.contains_key(disease) {
        return Err(at(
            &p.disease.span(),
            "disease",
            format!(
                "'{disease}' is not allowed; allowed: {}",
                model.disease_names().join(", ")
            ),
        ));
    }
    let method = match &p.method {
        None => SimulationMethod::Exact,
        Some(m) => SimulationMethod::parse(m.get_ref()).ok_or_else(|| {
            at(
                &m.span(),
                "method",
                format!("'{}' is not allowed; allowed: exact, fast", m.get_ref()),
            )
        })?,
    };
    let band_interval_h = match &p.band_interval_h {
        // The default, cut to fit the duration, and widened when it would give more than
        // MAX_BAND_TIMES band times (a long file) to the grid of MAX_BAND_TIMES times that
        // runs from 0 to the end.
        None => DEFAULT_BAND_INTERVAL_H
            .min(f.duration_h)
            .max(widest_band_grid_interval(f.duration_h)),
        Some(b) => {
            let v = *b.get_ref();
            if !(v.is_finite() && v > 0.0 && v <= f.duration_h) {
                return Err(at(
                    &b.span(),
                    "band_interval_h",
                    format!(
                        "{v} h is not allowed; > 0 and at most the duration ({} h), so that the bands have a point after time 0",
                        f.duration_h
                    ),
                ));
            }
            let count = band_time_count(f.duration_h, v);
            if count > MAX_BAND_TIMES as f64 {
                return Err(at(
                    &b.span(),
                    "band_interval_h",
                    format!(
                        "{v} h is not allowed; it gives {count:.0} band times (0 to {} h), at most \
                         {MAX_BAND_TIMES} (at least {} h for this duration, which gives \
                         {MAX_BAND_TIMES} band times from 0 to the end): each band time holds a \
                         histogram of {} to {FRACTION_BINS} bins per observable and regimen",
                        f.duration_h,
                        round_up_sig(widest_band_grid_interval(f.duration_h)),
                        LOG_BINS + 1
                    ),
                ));
            }
            v
        }
    };
    let band_times_h = band_times(f.duration_h, band_interval_h);
    debug_assert!(band_times_h.len() <= MAX_BAND_TIMES);
    let mut band_observables = Vec::new();
    match &p.band_observables {
        None => {
            for name in DEFAULT_BAND_OBSERVABLES {
                let i = model.observable_id(name).ok_or_else(|| {
                    ScenarioError {
                        origin: origin.into(),
                        line: None,
                        key: "population.band_observables".into(),
                        message: format!("not given, and the default '{name}' is not an observable of model '{}'; list the observables to band", model.name),
                    }
                })?;
                band_observables.push(i);
            }
        }
        Some(list) => {
            if list.get_ref().is_empty() {
                return Err(at(
                    &list.span(),
                    "band_observables",
                    "[] is not allowed; at least one observable".into(),
                ));
            }
            for name in list.get_ref() {
                let i = model.observable_id(name.get_ref()).ok_or_else(|| {
                    let all: Vec<&str> =
                        model.observables.iter().map(|o| o.name.as_str()).collect();
                    at(
                        &name.span(),
                        "band_observables",
                        format!(
                            "'{}' is not an observable; allowed: {}",
                            name.get_ref(),
                            all.join(", ")
                        ),
                    )
                })?;
                if band_observables.contains(&i) {
                    return Err(at(
                        &name.span(),
                        "band_observables",
                        format!("'{}' is listed twice; list each once", name.get_ref()),
                    ));
                }
                band_observables.push(i);
            }
        }
    }
    let mut crp_days: Vec<u32> = Vec::new();
    match &p.crp_days {
        None => crp_days.extend(
            DEFAULT_CRP_DAYS
                .iter()
                .filter(|&&d| d as f64 * HOURS_PER_DAY <= f.duration_h),
        ),
        Some(days) => {
            for d in days {
                let v = *d.get_ref();
                if v < 1 || v as f64 * HOURS_PER_DAY > f.duration_h {
                    return Err(at(
                        &d.span(),
                        "crp_days",
                        format!(
                            "day {v} is not allowed; days from 1 to the duration ({} days)",
                            f.duration_h / HOURS_PER_DAY
                        ),
                    ));
                }
                if crp_days.contains(&(v as u32)) {
                    return Err(at(
                        &d.span(),
                        "crp_days",
                        format!("day {v} is listed twice; list each day once (each gives a column crp_day_{v})"),
                    ));
                }
                crp_days.push(v as u32);
            }
        }
    }
    let inclusion = match &p.inclusion_crp_untreated_at_least_mg_l {
        None => None,
        Some(v) => {
            let limit = *v.get_ref();
            if !(limit.is_finite() && limit > 0.0) {
                return Err(at(
                    &v.span(),
                    "inclusion_crp_untreated_at_least_mg_l",
                    format!("{limit} is not allowed; a CRP in mg/L above 0 (e.g. 10)"),
                ));
            }
            let crp_observable = model.observable_id("crp").ok_or_else(|| {
                at(
                    &v.span(),
                    "inclusion_crp_untreated_at_least_mg_l",
                    "the model has no observable 'crp' to screen on".to_string(),
                )
            })?;
            Some(crate::population::definition::Inclusion {
                crp_untreated_at_least_mg_l: limit,
                crp_observable,
            })
        }
    };
    let covariates = check_covariates(p.covariates.get_ref(), &p.covariates.span(), text, &at)?;
    let variability = match &p.variability {
        None => None,
        Some(v) => Some(check_variability(v.get_ref(), model, &at)?),
    };
    let mut residual = Vec::new();
    for r in &p.residual {
        let r = r.get_ref();
        let i = model.observable_id(r.observable.get_ref()).ok_or_else(|| {
            at(
                &r.observable.span(),
                "residual.observable",
                format!("'{}' is not an observable", r.observable.get_ref()),
            )
        })?;
        // A population run applies the error to the simulated trough, which is the drug's
        // plasma concentration in ng/mL: entries on that observable are simulated there; the
        // others (CRP, SAA, ...) are the residual errors estimation uses for those
        // measurements (crate::estimation).
        let on_trough = match model.observables[i].kind {
            ObservableKind::Concentration { species, .. } => model
                .drugs
                .iter()
                .any(|d| d.concentration_species == species),
            _ => false,
        } && model.observables[i].unit == "ng/mL";
        if p.residual
            .iter()
            .filter(|q| q.get_ref().observable.get_ref() == r.observable.get_ref())
            .count()
            > 1
        {
            return Err(at(
                &r.observable.span(),
                "residual.observable",
                format!(
                    "'{}' has more than one [[population.residual]] entry; give one per observable",
                    r.observable.get_ref()
                ),
            ));
        }
        let mut parts = [0.0; 2];
        for (slot, (name, given)) in parts
            .iter_mut()
            .zip([("additive", &r.additive), ("proportional", &r.proportional)])
        {
            if let Some(g) = given {
                let v = *g.get_ref();
                if !(v.is_finite() && v >= 0.0) {
                    return Err(at(
                        &g.span(),
                        &format!("residual.{name}"),
                        format!("{v} is not allowed; a finite number >= 0"),
                    ));
                }
                *slot = v;
            }
        }
        if parts[0] + parts[1] == 0.0 {
            return Err(at(
                &r.observable.span(),
                "residual",
                "additive and proportional are both 0 (or absent); give at least one > 0".into(),
            ));
        }
        residual.push((
            i,
            ResidualSpec {
                observable: r.observable.get_ref().clone(),
                additive: parts[0],
                proportional: parts[1],
                on_trough,
                source: r.source.clone(),
            },
        ));
    }
    let mut targets: Vec<(TargetSpec, usize)> = Vec::new();
    let names = figure_names(&crp_days);
    for t in &p.targets {
        let t = t.get_ref();
        let i = names
            .iter()
            .position(|n| n == t.figure.get_ref())
            .ok_or_else(|| {
                at(
                    &t.figure.span(),
                    "targets.figure",
                    format!(
                        "'{}' is not a per-subject figure; allowed: {}",
                        t.figure.get_ref(),
                        names.join(", ")
                    ),
                )
            })?;
        if targets.iter().any(|(x, _)| &x.name == t.name.get_ref()) {
            return Err(at(
                &t.name.span(),
                "targets.name",
                format!(
                    "'{}' is used twice; target names must differ",
                    t.name.get_ref()
                ),
            ));
        }
        let threshold = match (&t.at_least, &t.below) {
            (Some(x), None) | (None, Some(x)) => x,
            _ => {
                return Err(at(
                    &t.name.span(),
                    "targets",
                    format!(
                        "target '{}': give exactly one of at_least and below",
                        t.name.get_ref()
                    ),
                ))
            }
        };
        let key = if t.at_least.is_some() {
            "at_least"
        } else {
            "below"
        };
        if !threshold.get_ref().is_finite() {
            return Err(at(
                &threshold.span(),
                &format!("targets.{key}"),
                format!(
                    "{} is not allowed (target '{}'); a finite number",
                    threshold.get_ref(),
                    t.name.get_ref()
                ),
            ));
        }
        targets.push((
            TargetSpec {
                name: t.name.get_ref().clone(),
                figure: t.figure.get_ref().clone(),
                at_least: t.at_least.as_ref().map(|x| *x.get_ref()),
                below: t.below.as_ref().map(|x| *x.get_ref()),
            },
            i,
        ));
    }
    Ok(PopulationScenario {
        name: f.name,
        description: f.description,
        duration_h: f.duration_h,
        regimens: f.regimens,
        subjects: subjects as u64,
        seed: seed as u64,
        disease: disease.clone(),
        method,
        band_times_h,
        band_observables,
        crp_days,
        full_timecourses: p.full_timecourses,
        covariates,
        covariate_table: p
            .covariates
            .get_ref()
            .table
            .as_ref()
            .map(|t| t.get_ref().clone()),
        variability,
        residual,
        inclusion,
        targets,
    })
}

type ErrAt<'a> = dyn Fn(&Range<usize>, &str, String) -> ScenarioError + 'a;

/// Check `[population.covariates]` (`span`: its table) into [`Covariates`].
fn check_covariates(
    c: &CovariateSpec,
    span: &Range<usize>,
    text: &str,
    at: &ErrAt,
) -> Result<Covariates, ScenarioError> {
    let given: [Option<&Spanned<Marginal>>; 4] = [
        c.weight_kg.as_ref(),
        c.age_y.as_ref(),
        c.serum_creatinine_mg_dl.as_ref(),
        c.crcl_ml_min.as_ref(),
    ];
    if let Some(t) = &c.table {
        if let Some(k) = given.iter().position(|g| g.is_some()) {
            return Err(at(
                &t.span(),
                "covariates",
                format!(
                    "give a table or distributions, not both (table and {})",
                    CONTINUOUS[k]
                ),
            ));
        }
        if let Some(ff) = &c.female_fraction {
            return Err(at(
                &ff.span(),
                "covariates.female_fraction",
                "not allowed with a table: its sex column gives each patient's sex".into(),
            ));
        }
        if let Some(cor) = &c.correlations {
            return Err(at(
                &cor.span(),
                "covariates.correlations",
                "not allowed with a table: the rows are real patients, taken as they are".into(),
            ));
        }
        return Ok(Covariates::Table(vec![]));
    }
    for (k, name) in [(0, "weight_kg"), (1, "age_y")] {
        if given[k].is_none() {
            return Err(at(
                span,
                &format!("covariates.{name}"),
                "missing; weight and age distributions are required (or a table)".into(),
            ));
        }
    }
    if given[2].is_some() == given[3].is_some() {
        return Err(at(
            span,
            "covariates",
            "give exactly one of serum_creatinine_mg_dl (Cockcroft–Gault) and crcl_ml_min".into(),
        ));
    }
    let female_fraction = match &c.female_fraction {
        None => {
            return Err(at(
                span,
                "covariates.female_fraction",
                "missing; give the fraction of women, 0 to 1 (e.g. 0.5)".into(),
            ))
        }
        Some(ff) => {
            let v = *ff.get_ref();
            if !(0.0..=1.0).contains(&v) {
                return Err(at(
                    &ff.span(),
                    "covariates.female_fraction",
                    format!("{v} is not allowed; 0 to 1"),
                ));
            }
            v
        }
    };
    let mut marginals = Vec::new();
    let mut bounds = Vec::new();
    for (k, m) in given.iter().enumerate() {
        let Some(m) = m else { continue };
        let m = m.get_ref();
        let key = format!("covariates.{}", CONTINUOUS[k]);
        let val = |x: &Option<Spanned<f64>>| x.as_ref().map(|x| *x.get_ref());
        let kind = match (
            m.distribution.get_ref().as_str(),
            val(&m.mean),
            val(&m.sd),
            val(&m.median),
            val(&m.cv),
        ) {
            ("normal", Some(mean), Some(sd), None, None)
                if mean.is_finite() && sd.is_finite() && sd > 0.0 =>
            {
                MarginalKind::Normal { mean, sd }
            }
            ("lognormal", None, None, Some(median), Some(cv))
                if median.is_finite() && median > 0.0 && cv.is_finite() && cv > 0.0 =>
            {
                MarginalKind::LogNormal {
                    median,
                    sigma: (1.0 + cv * cv).ln().sqrt(),
                }
            }
            _ => return Err(at(&m.distribution.span(), &key, format!("'{}' with these fields is not allowed; allowed: distribution = \"normal\" with finite mean and sd > 0, or \"lognormal\" with median > 0 and cv > 0 (finite)", m.distribution.get_ref()))),
        };
        let accepted = AcceptedRange::of(k);
        let (min, max) = (*m.min.get_ref(), *m.max.get_ref());
        for (name, v, s) in [("min", min, m.min.span()), ("max", max, m.max.span())] {
            if !accepted.contains_limit(v) {
                return Err(at(
                    &s,
                    &format!("{key}.{name}"),
                    format!(
                        "{v} is not allowed; {} (what the model accepts)",
                        accepted.describe(false)
                    ),
                ));
            }
        }
        if min >= max {
            return Err(at(
                &m.min.span(),
                &key,
                format!("min {min} and max {max} are not allowed; min < max"),
            ));
        }
        let cm = CheckedMarginal { kind, min, max };
        let (za, zb) = cm.z_limits();
        let mass = normal_mass(za, zb);
        if mass < MIN_TRUNCATED_MASS {
            return Err(at(
                &m.min.span(),
                &key,
                format!(
                    "min {min} and max {max} hold {} of the {} distribution, below the threshold of {MIN_TRUNCATED_MASS:e}: almost every draw would fall outside; move the limits or the distribution",
                    fmt_sig(mass),
                    describe(&kind)
                ),
            ));
        }
        bounds.push((za, zb));
        marginals.push((k, cm));
    }
    let dim = marginals.len();
    let mut r = DMatrix::<f64>::identity(dim, dim);
    // Where each correlation was given, to name the one that fails.
    let mut given_at: BTreeMap<(usize, usize), Range<usize>> = BTreeMap::new();
    let pos = |name: &str| marginals.iter().position(|(k, _)| CONTINUOUS[*k] == name);
    for cor in c.correlations.iter().flat_map(|c| c.get_ref()) {
        let (s, cor) = (cor.span(), cor.get_ref());
        let (Some(i), Some(j)) = (pos(&cor.a), pos(&cor.b)) else {
            return Err(at(
                &s,
                "covariates.correlations",
                format!(
                    "'{}' with '{}': both must be sampled continuous covariates (here: {})",
                    cor.a,
                    cor.b,
                    marginals
                        .iter()
                        .map(|(k, _)| CONTINUOUS[*k])
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let rho = *cor.rho.get_ref();
        if i == j || !(rho > -1.0 && rho < 1.0) {
            return Err(at(&s, "covariates.correlations", format!("rho {rho} between '{}' and '{}' is not allowed; -1 < rho < 1 between different covariates", cor.a, cor.b)));
        }
        let pair = (i.max(j), i.min(j));
        if let Some(first) = given_at.get(&pair) {
            return Err(at(
                &s,
                "covariates.correlations",
                format!(
                    "'{}' and '{}' are correlated twice (also on line {}, rho {}); give each pair once",
                    cor.a,
                    cor.b,
                    line_of(text, first),
                    r[(i, j)]
                ),
            ));
        }
        given_at.insert(pair, s);
        r[(i, j)] = rho;
        r[(j, i)] = rho;
    }
    let chol = match cholesky_checked(&r) {
        Ok(l) => l,
        Err(_) => {
            let (k, j) = first_failing_entry(&r).unwrap_or((0, 0));
            let names: Vec<&str> = (0..=j)
                .chain([k])
                .map(|i| CONTINUOUS[marginals[i].0])
                .collect();
            let s = given_at
                .get(&(k, j))
                .cloned()
                .unwrap_or_else(|| span.clone());
            return Err(at(
                &s,
                "covariates.correlations",
                format!(
                    "the correlation matrix is not positive definite: rho {} between '{}' and '{}' is incompatible with the correlations before it (those of {} together are impossible); weaken one of them",
                    r[(k, j)],
                    CONTINUOUS[marginals[k].0],
                    CONTINUOUS[marginals[j].0],
                    names.join(", ")
                ),
            ));
        }
    };
    let acceptance = box_probability(&chol, &bounds);
    if acceptance < MIN_TRUNCATED_MASS {
        let s = c.correlations.as_ref().map_or(span.clone(), |c| c.span());
        return Err(at(
            &s,
            "covariates.correlations",
            format!(
                "with these correlations the limits of {} together hold {} of the distribution (estimated), below the threshold of {MIN_TRUNCATED_MASS:e}: almost every draw would fall outside; widen the limits or weaken the correlations",
                marginals
                    .iter()
                    .map(|(k, _)| CONTINUOUS[*k])
                    .collect::<Vec<_>>()
                    .join(", "),
                fmt_sig(acceptance)
            ),
        ));
    }
    Ok(Covariates::Sampled {
        marginals,
        chol,
        female_fraction,
        max_draws: draw_budget(acceptance),
        acceptance,
    })
}

/// Check `[population.variability]` (`span`: its table).
fn check_variability(
    v: &VariabilitySpec,
    model: &Model,
    at: &ErrAt,
) -> Result<Variability, ScenarioError> {
    let names: Vec<&str> = v
        .parameters
        .get_ref()
        .iter()
        .map(|p| p.get_ref().as_str())
        .collect();
    let n = names.len();
    let mut parameters = Vec::new();
    for p in v.parameters.get_ref() {
        let name = p.get_ref();
        let id = model.parameter_id(name).ok_or_else(|| {
            at(
                &p.span(),
                "variability.parameters",
                format!("'{name}' is not a parameter of model '{}'", model.name),
            )
        })?;
        if parameters.iter().any(|(x, _)| x == name) {
            return Err(at(
                &p.span(),
                "variability.parameters",
                format!("'{name}' is listed twice; list each parameter once"),
            ));
        }
        parameters.push((name.clone(), id));
    }
    let rows = v.omega.get_ref();
    if rows.len() != n || rows.iter().any(|r| r.get_ref().len() != n) {
        return Err(at(
            &v.omega.span(),
            "variability.omega",
            format!("must be a {n} x {n} matrix (one row and column per parameter)"),
        ));
    }
    let row_span = |i: usize| rows[i].span();
    for (i, row) in rows.iter().enumerate() {
        for (j, x) in row.get_ref().iter().enumerate() {
            if !x.is_finite() {
                return Err(at(
                    &row_span(i),
                    "variability.omega",
                    format!(
                        "row {}, column {}: {x} is not allowed; a finite number",
                        i + 1,
                        j + 1
                    ),
                ));
            }
        }
    }
    let m = DMatrix::from_fn(n, n, |i, j| rows[i].get_ref()[j]);
    for i in 0..n {
        for j in 0..i {
            if (m[(i, j)] - m[(j, i)]).abs() > 1e-12 * (1.0 + m[(i, j)].abs()) {
                return Err(at(
                    &row_span(i),
                    "variability.omega",
                    format!(
                        "not symmetric: row {}, column {} = {} but row {}, column {} = {} ({} / {})",
                        i + 1,
                        j + 1,
                        m[(i, j)],
                        j + 1,
                        i + 1,
                        m[(j, i)],
                        names[i],
                        names[j]
                    ),
                ));
            }
        }
    }
    let chol = match cholesky_checked(&m) {
        Ok(l) => l,
        Err(_) => {
            let (k, j) = first_failing_entry(&m).unwrap_or((0, 0));
            let message = if k == j {
                format!("not positive definite: row {0}, column {0} = {1} is the variance of '{2}', which must be > 0 (leave a parameter without variability out of `parameters`)", k + 1, m[(k, k)], names[k])
            } else {
                let c = m[(k, j)] / (m[(k, k)] * m[(j, j)]).sqrt();
                if c.abs() >= 1.0 {
                    format!("not positive definite: row {}, column {} = {} (covariance of '{}' and '{}') makes their correlation {}; it must be within (-1, 1), i.e. |covariance| < sqrt({} x {}) = {}", k + 1, j + 1, m[(k, j)], names[k], names[j], fmt_sig(c), m[(k, k)], m[(j, j)], fmt_sig((m[(k, k)] * m[(j, j)]).sqrt()))
                } else {
                    let block: Vec<&str> = (0..=j).chain([k]).map(|i| names[i]).collect();
                    format!("not positive definite: row {}, column {} = {} (covariance of '{}' and '{}', correlation {}) is incompatible with the covariances before it: those of {} together are impossible; reduce one of them", k + 1, j + 1, m[(k, j)], names[k], names[j], fmt_sig(c), block.join(", "))
                }
            };
            return Err(at(&row_span(k), "variability.omega", message));
        }
    };
    Ok(Variability { parameters, chol })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::patient::Sex;
    use crate::population::aggregates::Aggregates;
    use crate::population::outcome::simulate_subject;
    use crate::population::sampling::{
        cockcroft_gault, covariate_rows_from_records, crcl_from_creatinine, draw_subject,
    };
    use crate::solve::options::SolverOptions;

    // ---------------------------------------------------------------- file checks

    const RA: &str = include_str!("../../../../scenarios/ra-renal-population.toml");

    fn parse(text: &str) -> Result<PopulationScenario, String> {
        parse_population(text, "t.toml", &crate::il1_model()).map_err(|e| e.to_string())
    }

    /// The shipped RA population with its variability cut to the three PK parameters (the
    /// omega checks below edit a 3 x 3 matrix), `from` replaced by `to` (which must occur).
    fn edited(from: &str, to: &str) -> String {
        let ra = pk_only(RA);
        assert!(ra.contains(from), "{from}");
        ra.replacen(from, to, 1)
    }

    /// `text` with the shipped five-parameter variability block replaced by its PK part.
    fn pk_only(text: &str) -> String {
        let (p5, o5) = (
            r#"parameters = ["CL_anakinra", "V_central", "ka_anakinra", "P_il1b_basal", "il6_basal_drive"]"#,
            r#"omega = [[0.0784, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0396, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0704, 0.0, 0.0], [0.0, 0.0, 0.0, 0.2312, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0961]]"#,
        );
        assert!(
            text.contains(p5) && text.contains(o5),
            "the shipped variability block changed"
        );
        text.replacen(
            p5,
            r#"parameters = ["CL_anakinra", "V_central", "ka_anakinra"]"#,
            1,
        )
        .replacen(
            o5,
            r#"omega = [[0.0784, 0.0, 0.0], [0.0, 0.0396, 0.0], [0.0, 0.0, 0.0704]]"#,
            1,
        )
    }

    fn err(from: &str, to: &str) -> String {
        parse(&edited(from, to)).unwrap_err()
    }

    /// Line (1-based) of the first line of `text` that contains `needle`.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn errors_cite_the_line_of_the_key_and_its_full_path() {
        let text = edited("subjects = 1000", "subjects = -5");
        let e = parse(&text).unwrap_err();
        let want = format!(
            "t.toml:{}: population.subjects: -5 is not allowed",
            line_of(&text, "subjects = -5")
        );
        assert!(e.starts_with(&want), "{e}");
        assert_ne!(
            line_of(&text, "subjects = -5"),
            line_of(&text, "[population]")
        );
        let text = edited(
            "crp_days = [1, 7, 14, 28]",
            "crp_days = [1, 7, 14, 28]\nmethod2 = 1",
        );
        assert!(parse(&text).unwrap_err().contains("method2"));
        let text = edited("disease = \"ra\"", "disease = \"gout\"");
        let e = parse(&text).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "t.toml:{}: population.disease",
                line_of(&text, "gout")
            )),
            "{e}"
        );
    }

    #[test]
    fn omega_errors_name_the_entry_that_fails() {
        let omega = "omega = [[0.0784, 0.0, 0.0], [0.0, 0.0396, 0.0], [0.0, 0.0, 0.0704]]";
        // Each pair is fine alone (correlations 0.89, 0.53, -0.57) but not the three together.
        let text = edited(
            omega,
            "omega = [[0.0784, 0.05, 0.04],\n  [0.05, 0.0396, -0.03],\n  [0.04, -0.03, 0.0704]]",
        );
        let e = parse(&text).unwrap_err();
        assert!(e.starts_with(&format!("t.toml:{}: population.variability.omega: not positive definite: row 3, column 2 = -0.03 (covariance of 'ka_anakinra' and 'V_central'", line_of(&text, "[0.04, -0.03"))), "{e}");
        assert!(e.contains("CL_anakinra, V_central, ka_anakinra"), "{e}");
        // A covariance beyond the product of the standard deviations: its correlation.
        let e = err(
            omega,
            "omega = [[0.0784, 0.0, 0.0], [0.0, 0.0396, 0.09], [0.0, 0.09, 0.0704]]",
        );
        assert!(e.contains("row 3, column 2 = 0.09 (covariance of 'ka_anakinra' and 'V_central') makes their correlation 1.705"), "{e}");
        let e = err(
            omega,
            "omega = [[0.0784, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0704]]",
        );
        assert!(
            e.contains("row 2, column 2 = 0 is the variance of 'V_central'"),
            "{e}"
        );
        let e = err(
            omega,
            "omega = [[0.0784, 0.0, 0.0], [0.0, 0.0396, 0.0], [0.0, 0.0, inf]]",
        );
        assert!(e.contains("row 3, column 3: inf is not allowed"), "{e}");
    }

    #[test]
    fn bad_values_that_used_to_pass_are_refused() {
        let cases = [
            ("female_fraction = 0.77", "", "population.covariates.female_fraction: missing"),
            (
                "correlations = [{ a = \"age_y\", b = \"serum_creatinine_mg_dl\", rho = 0.3 }]",
                "correlations = [{ a = \"age_y\", b = \"serum_creatinine_mg_dl\", rho = 0.3 }, { a = \"serum_creatinine_mg_dl\", b = \"age_y\", rho = 0.5 }]",
                "correlated twice",
            ),
            ("at_least = 0.95", "at_least = nan", "population.targets.at_least: NaN is not allowed"),
            ("below = 10.0", "below = -inf", "population.targets.below: -inf is not allowed"),
            ("crp_days = [1, 7, 14, 28]", "crp_days = [1, 7, 7, 28]", "day 7 is listed twice"),
            ("band_interval_h = 4.0", "band_interval_h = 700.0", "at most the duration (672 h)"),
            ("band_interval_h = 4.0", "band_interval_h = 1e-7", "at most 2000"),
            ("max = 160.0", "max = inf", "population.covariates.weight_kg.max: inf is not allowed"),
            ("min = 18.0, max = 90.0", "min = 18.0, max = 150.0", "<= 120 years"),
            ("seed = 20261126", "seed = -1", "population.seed: -1 is not allowed"),
            ("subjects = 1000", "subjects = 100000001", "1 to 100,000,000"),
            ("additive = 72.0", "additive = inf", "population.residual.additive: inf"),
            (
                "parameters = [\"CL_anakinra\", \"V_central\", \"ka_anakinra\"]",
                "parameters = [\"CL_anakinra\", \"CL_anakinra\", \"ka_anakinra\"]",
                "'CL_anakinra' is listed twice",
            ),
        ];
        for (from, to, want) in cases {
            let e = err(from, to);
            assert!(e.contains(want), "{to}: {e}");
        }
    }

    #[test]
    fn truncation_with_negligible_mass_is_refused_at_parse_time() {
        // Weights of 300-400 kg under a log-normal with median 72 kg, CV 20%: 2.9e-13.
        let e = err("min = 35.0, max = 160.0", "min = 300.0, max = 400.0");
        assert!(
            e.contains("population.covariates.weight_kg: min 300 and max 400 hold 2.88e-13"),
            "{e}"
        );
        assert!(e.contains("below the threshold of 1e-6"), "{e}");
        // Each range possible alone, but not together with a strong correlation.
        let text = edited("rho = 0.3", "rho = 0.9")
            .replacen("min = 18.0, max = 90.0", "min = 80.0, max = 90.0", 1)
            .replacen("min = 0.4, max = 10.0", "min = 0.4, max = 0.5", 1);
        let e = parse(&text).unwrap_err();
        assert!(
            e.contains("population.covariates.correlations: with these correlations the limits"),
            "{e}"
        );
        assert!(e.contains("below the threshold of 1e-6"), "{e}");
    }

    #[test]
    fn unlikely_but_possible_truncations_are_sampled() {
        // Ages 100-120 under normal(55, 13) hold 2.7e-4: 1,000 tries failed for 3 subjects in
        // 4; the budget now follows the probability.
        let pop = parse(&edited(
            "min = 18.0, max = 90.0",
            "min = 100.0, max = 120.0",
        ))
        .unwrap();
        let Covariates::Sampled {
            acceptance,
            max_draws,
            ..
        } = pop.covariates
        else {
            panic!()
        };
        assert!((acceptance - 2.69e-4).abs() < 0.05e-4, "{acceptance}");
        assert!(max_draws as f64 >= 50.0 / acceptance);
        for id in 0..40 {
            let d = draw_subject(&pop, id).unwrap();
            assert!(
                (100.0..=120.0).contains(&d.patient.age_y),
                "{}",
                d.patient.age_y
            );
        }
        // Draws that succeeded within 1,000 tries are those of before: the shipped file's
        // budget is 1,000 and its subjects unchanged.
        let pop = parse(RA).unwrap();
        let Covariates::Sampled { max_draws, .. } = pop.covariates else {
            panic!()
        };
        assert_eq!(max_draws, 1000);
    }

    #[test]
    fn a_failed_covariate_draw_is_reported_as_such() {
        let mut pop = parse(&edited(
            "min = 18.0, max = 90.0",
            "min = 100.0, max = 120.0",
        ))
        .unwrap();
        if let Covariates::Sampled { max_draws, .. } = &mut pop.covariates {
            *max_draws = 1;
        }
        let model = crate::il1_model();
        let id = (0..100)
            .find(|&id| draw_subject(&pop, id).is_err())
            .expect("one try in 100 subjects fails");
        let o = simulate_subject(&model, &pop, id, SolverOptions::default());
        assert!(o.sampling_failed() && o.draw.is_none());
        for r in &o.regimens {
            let m = r.as_ref().unwrap_err();
            assert!(
                m.starts_with(&format!("subject {id}: covariate sampling failed")),
                "{m}"
            );
        }
        let mut agg = Aggregates::new(&model, &pop);
        agg.add(&pop, &o);
        assert_eq!((agg.unsampled, agg.failed.clone()), (1, vec![1, 1]));
        assert_eq!(Aggregates::from_bytes(&agg.to_bytes()).unwrap(), agg);
    }

    /// The limits of sampled covariates and the values of table rows are the ranges that
    /// `Patient::check` declares: what one accepts the other does, ends included.
    #[test]
    fn covariate_limits_are_the_patient_ranges() {
        use crate::model::patient::{AGE_RANGE_Y, CRCL_RANGE_ML_MIN, WEIGHT_RANGE_KG};
        for (k, range) in [
            (0, WEIGHT_RANGE_KG),
            (1, AGE_RANGE_Y),
            (3, CRCL_RANGE_ML_MIN),
        ] {
            let a = AcceptedRange::of(k);
            assert_eq!((a.lo, a.hi, a.lo_open), (range.0, range.1, false), "{k}");
        }
        // A sampled weight's min under 0.5 kg is refused at parse time (it used to give
        // subjects that failed at run time).
        let text = edited("min = 35.0, max = 160.0", "min = 0.1, max = 160.0");
        let e = parse(&text).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "t.toml:{}: population.covariates.weight_kg.min: 0.1 is not allowed; a number >= 0.5 and <= 400 kg (what the model accepts)",
                line_of(&text, "min = 0.1")
            )),
            "{e}"
        );
        let e = err("min = 35.0, max = 160.0", "min = 0.0, max = 160.0");
        assert!(e.contains("weight_kg.min: 0 is not allowed"), "{e}");
        assert!(err("min = 35.0, max = 160.0", "min = 35.0, max = 400.5")
            .contains("weight_kg.max: 400.5 is not allowed"));
        parse(&edited("min = 35.0, max = 160.0", "min = 0.5, max = 400.0")).unwrap();
        // Table rows at the ends of every range are accepted and make patients the model
        // accepts; just outside, they are refused at load.
        let row = |w: &str, a: &str, c: &str| {
            (
                2,
                [
                    ("weight_kg", w),
                    ("age_y", a),
                    ("sex", "f"),
                    ("crcl_ml_min", c),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            )
        };
        let rows =
            covariate_rows_from_records(&[row("0.5", "0", "0"), row("400", "120", "300")], "p.csv")
                .unwrap();
        let model = crate::il1_model();
        let mut pop = parse(RA).unwrap();
        pop.covariates = Covariates::Table(rows);
        for id in 0..2 {
            draw_subject(&pop, id)
                .unwrap()
                .patient
                .check(&model, "subject")
                .unwrap();
        }
        for (w, a, c, col) in [
            ("0.49", "50", "100", "weight_kg"),
            ("400.1", "50", "100", "weight_kg"),
            ("70", "-0.1", "100", "age_y"),
            ("70", "120.5", "100", "age_y"),
            ("70", "50", "-1", "crcl_ml_min"),
            ("70", "50", "300.5", "crcl_ml_min"),
        ] {
            let e = covariate_rows_from_records(&[row(w, a, c)], "p.csv").unwrap_err();
            assert!(e.starts_with(&format!("p.csv:2: column {col} = ")), "{e}");
        }
    }

    #[test]
    fn band_times_are_counted_as_generated_and_capped() {
        // The count is the length of the grid, whatever the interval.
        for (d, i) in [
            (672.0, 4.0),
            (672.0, 5.0),
            (672.0, 0.336),
            (672.0, 672.0 / 1999.0),
            (30.0, 4.0),
            (8760.0, 8760.0 / 1999.0),
            (0.1 * 3.0, 0.1),
        ] {
            let t = band_times(d, i);
            assert_eq!(band_time_count(d, i), t.len() as f64, "{d} / {i}");
            assert!(
                t.windows(2).all(|w| w[0] < w[1]) && t[t.len() - 1] <= d,
                "{t:?}"
            );
        }
        // 0.1 × 3 is 0.30000000000000004 h: the grid of 0.1 h still ends at the end.
        assert_eq!(band_times(0.1 * 3.0, 0.1).len(), 4);
        // Exactly duration / 2000 gives 2,001 band times (0 and the end): refused.
        let e = err("band_interval_h = 4.0", "band_interval_h = 0.336");
        assert!(
            e.contains("0.336 h is not allowed; it gives 2001 band times (0 to 672 h), at most 2000 (at least 0.3362 h for this duration"),
            "{e}"
        );
        // The limit the message gives is allowed.
        let pop = parse(&edited("band_interval_h = 4.0", "band_interval_h = 0.3362")).unwrap();
        assert_eq!(pop.band_times_h.len(), 1999);
        let pop = parse(&edited(
            "band_interval_h = 4.0",
            &format!("band_interval_h = {:?}", 672.0 / 1999.0),
        ))
        .unwrap();
        assert_eq!(pop.band_times_h.len(), 2000);
        assert_eq!(pop.band_times_h[1999], 672.0);
        // The default of 4 h is kept where it fits (28 days: 169 times) ...
        let pop = parse(&edited("band_interval_h = 4.0\n", "")).unwrap();
        assert_eq!(pop.band_times_h.len(), 169);
        assert_eq!((pop.band_times_h[1], pop.band_times_h[168]), (4.0, 672.0));
        // ... and widened where it would not (365 days: 2,191 times at 4 h) to the grid of
        // 2,000 times from 0 to the end; 4 h given outright stays an error.
        let year = edited("duration_days = 28", "duration_days = 365");
        let pop = parse(&year.replacen("band_interval_h = 4.0\n", "", 1)).unwrap();
        assert_eq!(pop.band_times_h.len(), MAX_BAND_TIMES);
        assert_eq!(pop.band_times_h[1], 8760.0 / 1999.0);
        assert_eq!(pop.band_times_h[1999], 8760.0);
        let e = parse(&year).unwrap_err();
        assert!(
            e.contains("4 h is not allowed; it gives 2191 band times (0 to 8760 h), at most 2000 (at least 4.383 h"),
            "{e}"
        );
        // The widest default fits any duration a scenario allows (up to 3,650 days).
        for days in [1.0, 28.0, 333.0, 334.0, 365.0, 3650.0] {
            let d: f64 = days * 24.0;
            let i = DEFAULT_BAND_INTERVAL_H
                .min(d)
                .max(widest_band_grid_interval(d));
            assert!(band_times(d, i).len() <= MAX_BAND_TIMES, "{days}");
        }
    }

    #[test]
    fn cockcroft_gault_is_capped_alike_in_tables_and_draws() {
        // 20-year-old, 120 kg man with SCr 0.3: Cockcroft–Gault 667 mL/min.
        let row = (
            2,
            [
                ("weight_kg", "120"),
                ("age_y", "20"),
                ("sex", "male"),
                ("serum_creatinine_mg_dl", "0.3"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        );
        let rows = covariate_rows_from_records(&[row], "p.csv").unwrap();
        assert_eq!(rows[0].crcl_ml_min, CRCL_CAP_ML_MIN);
        assert_eq!(
            crcl_from_creatinine(20.0, 120.0, 0.3, false),
            CRCL_CAP_ML_MIN
        );
        // The sampled path: subject 213 of the shipped file is above the cap.
        let pop = parse(RA).unwrap();
        let d = draw_subject(&pop, 213).unwrap();
        let cg = cockcroft_gault(
            d.patient.age_y,
            d.patient.weight_kg,
            d.serum_creatinine_mg_dl.unwrap(),
            d.patient.sex == Sex::Female,
        );
        assert!(
            cg > CRCL_CAP_ML_MIN && d.patient.crcl_ml_min == CRCL_CAP_ML_MIN,
            "{cg}"
        );
    }

    #[test]
    fn a_table_takes_no_distribution_settings() {
        let start = RA.find("weight_kg = {").unwrap();
        let end = RA.find("[population.variability]").unwrap();
        let table = format!("{}table = \"p.csv\"\n\n{}", &RA[..start], &RA[end..]);
        assert!(parse(&table).is_ok());
        let with_ff = table.replacen(
            "table = \"p.csv\"",
            "table = \"p.csv\"\nfemale_fraction = 0.5",
            1,
        );
        assert!(parse(&with_ff)
            .unwrap_err()
            .contains("female_fraction: not allowed with a table"));
    }
}
