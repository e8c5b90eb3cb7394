//! `il1sim dose-response`: the share of a virtual population (or one patient) that reaches a
//! target over a grid of doses, from a file with a `[dose_response]` table or from the
//! command line (quick form). The evaluation is the core's (`clinical::dose_response`); this
//! module reads files, prints the table, writes the CSV and the curves.

use crate::output::{csv_text, ensure_dir, num, write_set_atomic};
use crate::plot::dose::{curves_png, curves_svg, CurvePanel, CurvePoint, CurveSeries};
use il1sim_core::clinical::dose_response::{DoseResponse, DoseUnit};
use il1sim_core::clinical::evaluation::{Cohort, PointSummary, SubjectResult};
use il1sim_core::clinical::files::{parse_dose_response, response_with_driver};
use il1sim_core::clinical::targets::{check_within, parse_target, Target};
use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen, Repeat, HOURS_PER_DAY};
use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::population::definition::{SimulationMethod, MAX_SUBJECTS};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Populations built into the binary for the quick form, by name.
pub const BUILT_IN_POPULATIONS: [(&str, &str); 2] = [
    (
        "caps-paediatric",
        include_str!("../../../scenarios/caps-paediatric-population.toml"),
    ),
    (
        "ra-renal",
        include_str!("../../../scenarios/ra-renal-population.toml"),
    ),
];

#[derive(clap::Args, Debug)]
pub struct DoseResponseArgs {
    /// Dose-response file: [scenario], [population] (or [patient]), [dose_response] and
    /// [[regimens]] (the templates given at every dose). Leave out for the quick form.
    pub file: Option<PathBuf>,
    /// Output directory
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Quick form: disease (a disease of the model; default: the population's)
    #[arg(long, value_name = "NAME")]
    pub disease: Option<String>,
    /// Quick form: drug [default: anakinra]
    #[arg(long, value_name = "NAME")]
    pub drug: Option<String>,
    /// Quick form: the dose grid with one unit, e.g. 0.5,1,2,3,4,6,8mg/kg or 30,75,100,150mg
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub doses: Option<String>,
    /// Quick form: dosing interval with unit (e.g. 24h, 2d) [default: 24h]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub every: Option<String>,
    /// Quick form: cap of each weight-based dose in mg (e.g. 100mg)
    #[arg(long, value_name = "AMOUNT", allow_hyphen_values = true)]
    pub max_dose: Option<String>,
    /// Quick form: a population file, or a built-in population: caps-paediatric, ra-renal
    #[arg(long, value_name = "FILE|NAME")]
    pub population: Option<String>,
    /// Quick form: a target (repeatable; all must be met), e.g. "crp_day_90<10",
    /// "trough:il1_signal_relative<0.2", "acr20_week_24"
    #[arg(long = "target", value_name = "TARGET", allow_hyphen_values = true)]
    pub targets: Vec<String>,
    /// Quick form: simulated days [default: the last target day, or the population's duration]
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true)]
    pub days: Option<f64>,
    /// Observable the ACR model reads [default: the response model's driver, il1_signal_relative]
    #[arg(long, value_name = "OBSERVABLE")]
    pub acr_driver: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options every clinical command over a cohort shares.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Number of virtual subjects, 1 to 100,000,000 (overrides the population's)
    #[arg(long, value_name = "N")]
    pub subjects: Option<u64>,
    /// Random seed (overrides the population's)
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// exact or fast (overrides the population's)
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Worker threads, at least 1 (results do not depend on it) [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Do not write the figures (and remove those of an earlier run in --out)
    #[arg(long)]
    pub no_plot: bool,
    #[command(flatten)]
    pub solver: crate::simulate::SolverArgs,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

impl RunArgs {
    /// Apply --subjects, --seed and --method to a population cohort (an error for one patient).
    pub fn apply(&self, cohort: &mut Cohort) -> Result<(), String> {
        match cohort {
            Cohort::Population(p) => {
                if let Some(n) = self.subjects {
                    if n == 0 || n > MAX_SUBJECTS {
                        return Err(format!(
                            "--subjects {n}: allowed: 1 to 100,000,000 (the limit of population.subjects)"
                        ));
                    }
                    p.subjects = n;
                }
                if let Some(s) = self.seed {
                    p.seed = s;
                }
                if let Some(m) = &self.method {
                    p.method = SimulationMethod::parse(m)
                        .ok_or_else(|| format!("--method '{m}': allowed: exact, fast"))?;
                }
            }
            Cohort::Patient { .. } => {
                for (flag, given) in [
                    ("--subjects", self.subjects.is_some()),
                    ("--seed", self.seed.is_some()),
                    ("--method", self.method.is_some()),
                ] {
                    if given {
                        return Err(format!(
                            "{flag}: only for a population; this file has one [patient]"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn pool(&self) -> Result<rayon::ThreadPool, String> {
        if self.threads == Some(0) {
            return Err(
                "--threads 0: allowed: 1 or more; leave --threads out to use all cores".into(),
            );
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads.unwrap_or(0))
            .build()
            .map_err(|e| e.to_string())
    }
}

/// A progress bar over `n` subjects × `regimens` simulations (hidden off a terminal).
pub fn progress_bar(n: u64) -> Result<ProgressBar, String> {
    let bar = ProgressBar::new(n);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} subjects  {per_sec}  ETA {eta}")
            .map_err(|e| e.to_string())?,
    );
    Ok(bar)
}

/// Three significant digits (or fewer decimals for large numbers).
pub fn sig(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{x:.2e}");
    }
    let d = (2 - a.log10().floor() as i32).max(0) as usize;
    format!("{x:.d$}")
}

/// A number with its unit ("4.51 mg/L"; "0.12" for a ratio, with the unit in the header).
pub fn with_unit(x: f64, unit: &str) -> String {
    if x.is_finite() {
        format!("{} {unit}", sig(x))
    } else {
        "—".into()
    }
}

/// Read a population cohort's covariate table (path relative to `file`).
pub fn load_table(file: &Path, cohort: &mut Cohort) -> Result<(), String> {
    if let Cohort::Population(p) = cohort {
        crate::population::run::load_covariate_table(file, p)?;
    }
    Ok(())
}

/// Describe a cohort in one line.
pub fn describe_cohort(c: &Cohort) -> String {
    match c {
        Cohort::Patient {
            patient, overrides, ..
        } => {
            let mut s = format!(
                "one patient: {} kg, {} years, {}, CrCl {} mL/min, {}",
                sig(patient.weight_kg),
                sig(patient.age_y),
                patient.sex.label(),
                sig(patient.crcl_ml_min),
                patient.disease
            );
            if !overrides.is_empty() {
                s.push_str(&format!(", {} parameter override(s)", overrides.len()));
            }
            s
        }
        Cohort::Population(p) => format!(
            "{} virtual subjects of '{}' ({}, seed {}, method {})",
            p.subjects,
            p.name,
            p.disease,
            p.seed,
            p.method.name()
        ),
    }
}

fn split_unit(item: &str) -> (&str, &str) {
    for u in ["mg/kg", "mg"] {
        if let Some(n) = item.strip_suffix(u) {
            return (n, u);
        }
    }
    (item, "")
}

/// Parse `0.5,1,2mg/kg` (the unit on the last item, or on each).
fn parse_doses(text: &str) -> Result<(Vec<f64>, DoseUnit), String> {
    let allowed = "allowed: ascending numbers > 0 separated by commas, with one unit, mg or mg/kg (e.g. 0.5,1,2mg/kg)";
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let items: Vec<&str> = t.split(',').collect();
    let unit_text = split_unit(items.last().copied().unwrap_or("")).1;
    let unit = DoseUnit::parse(unit_text)
        .ok_or_else(|| format!("--doses '{text}': a unit is needed; {allowed}"))?;
    let mut v: Vec<f64> = Vec::new();
    for item in items {
        let (n, u) = split_unit(item);
        if !u.is_empty() && u != unit_text {
            return Err(format!(
                "--doses '{text}': '{item}' has another unit; {allowed}"
            ));
        }
        let x: f64 = n
            .parse()
            .map_err(|_| format!("--doses '{text}': '{item}' is not a dose; {allowed}"))?;
        if !(x.is_finite() && x > 0.0) || v.last().is_some_and(|&p| x <= p) {
            return Err(format!(
                "--doses '{text}': '{item}' is not allowed; {allowed}"
            ));
        }
        v.push(x);
    }
    Ok((v, unit))
}

/// The study of the quick form.
fn quick(
    args: &DoseResponseArgs,
    model: &il1sim_core::model::definition::Model,
) -> Result<DoseResponse, String> {
    let need =
        |flag: &str| format!("{flag} is needed in the quick form (or give a dose-response file)");
    let doses_text = args.doses.as_deref().ok_or_else(|| need("--doses"))?;
    let (doses, unit) = parse_doses(doses_text)?;
    let pop_arg = args
        .population
        .as_deref()
        .ok_or_else(|| need("--population"))?;
    let (text, origin, path) = match BUILT_IN_POPULATIONS.iter().find(|(n, _)| *n == pop_arg) {
        Some((n, t)) => (t.to_string(), format!("built-in population {n}"), None),
        None => {
            let p = PathBuf::from(pop_arg);
            let t = std::fs::read_to_string(&p).map_err(|e| {
                format!(
                    "--population '{pop_arg}': cannot read it ({e}); allowed: a population file or a built-in name ({})",
                    BUILT_IN_POPULATIONS.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
                )
            })?;
            (t, p.display().to_string(), Some(p))
        }
    };
    let mut pop = parse_population(&text, &origin, model).map_err(|e| e.to_string())?;
    if let Some(p) = &path {
        crate::population::run::load_covariate_table(p, &mut pop)?;
    }
    if let Some(d) = &args.disease {
        if !model.diseases.contains_key(d) {
            return Err(format!(
                "--disease '{d}': allowed: {}",
                model.disease_names().join(", ")
            ));
        }
        pop.disease = d.clone();
    }
    if args.targets.is_empty() {
        return Err(need("--target"));
    }
    let response = response_with_driver(model, args.acr_driver.as_deref())
        .map_err(|m| format!("--acr-driver: {m}"))?;
    let targets: Vec<Target> = args
        .targets
        .iter()
        .map(|t| parse_target(t, model, &response).map_err(|m| format!("--target: {m}")))
        .collect::<Result<_, _>>()?;
    let duration_h = match args.days {
        Some(d) if d.is_finite() && d > 0.0 && d <= 3650.0 => d * HOURS_PER_DAY,
        Some(d) => {
            return Err(format!(
                "--days {d}: allowed: more than 0 and at most 3650 days"
            ))
        }
        None => targets
            .iter()
            .filter_map(|t| t.time_needed_h())
            .reduce(f64::max)
            .unwrap_or(pop.duration_h),
    };
    check_within(&targets, duration_h).map_err(|m| format!("--days: {m}"))?;
    let drug = args.drug.clone().unwrap_or_else(|| "anakinra".into());
    if model.drug(&drug).is_none() {
        let names: Vec<&str> = model.drugs.iter().map(|d| d.name.as_str()).collect();
        return Err(format!("--drug '{drug}': allowed: {}", names.join(", ")));
    }
    let interval_h = match &args.every {
        Some(e) => crate::quick::parse_duration("--every", e)?,
        None => 24.0,
    };
    let cap = match &args.max_dose {
        Some(m) => match crate::quick::parse_amount("--max-dose", m)? {
            DoseAmount::Mg(mg) => Some(mg),
            _ => {
                return Err(format!(
                    "--max-dose '{m}': allowed: an amount in mg, e.g. 100mg"
                ))
            }
        },
        None => None,
    };
    let dose = match unit {
        DoseUnit::Mg => DoseAmount::Mg(doses[0]),
        DoseUnit::MgPerKg => DoseAmount::MgPerKg {
            mg_per_kg: doses[0],
            max_mg: cap,
        },
    };
    let mut template = Regimen::repeated(
        &format!("{drug} SC every {} h", sig(interval_h)),
        &drug,
        dose,
        Administration::Subcutaneous,
        interval_h,
        1,
    );
    template.repeat = Repeat::UntilDay((duration_h / HOURS_PER_DAY).ceil() as u32);
    template.check("--doses").map_err(|e| e.to_string())?;
    let placebo_amplitude = response.placebo_amplitude;
    Ok(DoseResponse {
        name: format!("dose-response ({})", pop.name),
        description: format!("{} on {}", pop.disease, pop.description),
        duration_h,
        cohort: Cohort::Population(Box::new(pop)),
        templates: vec![template],
        doses,
        unit,
        targets,
        response,
        placebo_amplitude,
    })
}

pub fn run(args: DoseResponseArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.run.model.as_deref())?;
    let quick_given = args.doses.is_some()
        || args.population.is_some()
        || !args.targets.is_empty()
        || args.disease.is_some()
        || args.drug.is_some()
        || args.every.is_some()
        || args.max_dose.is_some()
        || args.days.is_some();
    let mut study = match &args.file {
        Some(f) => {
            if quick_given {
                return Err(
                    "give a dose-response file or the quick-form options (--doses, --population, --target, ...), not both"
                        .into(),
                );
            }
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            let mut s = parse_dose_response(&text, &f.display().to_string(), &model)
                .map_err(|e| e.to_string())?;
            if let Some(d) = &args.acr_driver {
                s.response = response_with_driver(&model, Some(d))
                    .map_err(|m| format!("--acr-driver: {m}"))?;
            }
            load_table(f, &mut s.cohort)?;
            s
        }
        None => quick(&args, &model)?,
    };
    args.run.apply(&mut study.cohort)?;
    let options = args.run.solver.options()?;
    let pool = args.run.pool()?;
    ensure_dir(&args.out)?;
    println!("{}: {}", study.name, study.description);
    println!(
        "{}; {} days; doses {} {}; {} regimen template(s)",
        describe_cohort(&study.cohort),
        sig(study.duration_h / HOURS_PER_DAY),
        study
            .doses
            .iter()
            .map(|d| sig(*d))
            .collect::<Vec<_>>()
            .join(", "),
        study.unit.label(),
        study.templates.len()
    );
    let bar = progress_bar(study.cohort.size())?;
    let started = Instant::now();
    let (points, summaries, results) = pool.install(|| study.run(&model, options, &|| bar.inc(1)));
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    print_table(&study, &points, &summaries);
    let failures: u64 = summaries.iter().map(|s| s.failures).sum();
    if let Some(m) = summaries.iter().find_map(|s| s.first_failure.clone()) {
        println!("{failures} simulations failed and are left out; the first: {m}");
    }
    println!(
        "attainment: share of subjects meeting the target, with its 95% Wilson interval; percentiles of the target's quantity over the subjects ({elapsed:.1} s)"
    );
    write_outputs(
        &args.out,
        &study,
        &points,
        &summaries,
        &results,
        args.run.no_plot,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", 100.0 * x)
    } else {
        "—".into()
    }
}

fn print_table(
    study: &DoseResponse,
    points: &[il1sim_core::clinical::dose_response::DosePoint],
    summaries: &[PointSummary],
) {
    let mut blocks: Vec<(String, String, Option<usize>)> = study
        .targets
        .iter()
        .enumerate()
        .map(|(k, t)| (t.text.clone(), format!("{} ({})", t.label, t.unit), Some(k)))
        .collect();
    if study.targets.len() > 1 {
        blocks.push(("all targets".into(), "all met".into(), None));
    }
    for (text, what, k) in blocks {
        println!();
        println!("target {text}: {what}");
        println!(
            "{:<28} {:>12} {:>5} {:>9} {:>15} {:>12} {:>12} {:>12} {:>12} {:>12}",
            "regimen", "dose", "n", "attained", "95% CI", "median", "5th", "25th", "75th", "95th"
        );
        for (p, s) in points.iter().zip(summaries) {
            let t = match k {
                Some(k) => &s.targets[k],
                None => &s.all,
            };
            let unit = k.map_or("", |k| study.targets[k].unit.as_str());
            let ci = t
                .interval
                .map(|(a, b)| format!("{}–{}", pct(a), pct(b)))
                .unwrap_or_else(|| "—".into());
            let q = |i: usize| {
                if k.is_some() {
                    with_unit(t.percentiles[i], unit)
                } else {
                    "—".into()
                }
            };
            println!(
                "{:<28} {:>12} {:>5} {:>9} {:>15} {:>12} {:>12} {:>12} {:>12} {:>12}",
                study.templates[p.template].name,
                format!("{} {}", sig(p.dose), study.unit.label()),
                t.evaluated,
                pct(t.fraction),
                ci,
                q(2),
                q(0),
                q(1),
                q(3),
                q(4)
            );
        }
    }
    println!();
}

fn write_outputs(
    out: &Path,
    study: &DoseResponse,
    points: &[il1sim_core::clinical::dose_response::DosePoint],
    summaries: &[PointSummary],
    _results: &[SubjectResult],
    no_plot: bool,
) -> Result<(), String> {
    let header: Vec<String> = [
        "regimen",
        "dose",
        "dose_unit",
        "target",
        "quantity",
        "quantity_unit",
        "n",
        "failures",
        "attained",
        "attainment",
        "ci_low",
        "ci_high",
        "p5",
        "p25",
        "median",
        "p75",
        "p95",
        "auc_median_ng_h_per_mL",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    for (p, s) in points.iter().zip(summaries) {
        let mut push =
            |target: &str,
             quantity: &str,
             unit: &str,
             t: &il1sim_core::clinical::evaluation::TargetSummary| {
                let mut r = vec![
                    study.templates[p.template].name.clone(),
                    num(p.dose),
                    study.unit.label().to_string(),
                    target.to_string(),
                    quantity.to_string(),
                    unit.to_string(),
                    t.evaluated.to_string(),
                    s.failures.to_string(),
                    num(t.attained),
                    num(t.fraction),
                    t.interval.map(|i| num(i.0)).unwrap_or_default(),
                    t.interval.map(|i| num(i.1)).unwrap_or_default(),
                ];
                r.extend(t.percentiles.iter().map(|&v| {
                    if v.is_finite() {
                        num(v)
                    } else {
                        String::new()
                    }
                }));
                r.push(num(s.auc_median));
                rows.push(r);
            };
        for (k, t) in study.targets.iter().enumerate() {
            push(&t.text, &t.label, &t.unit, &s.targets[k]);
        }
        if study.targets.len() > 1 {
            push("all", "all targets met", "", &s.all);
        }
    }
    let mut files = vec![(out.join("dose_response.csv"), csv_text(&header, &rows)?)];
    let figures = [out.join("dose_response.svg"), out.join("dose_response.png")];
    let mut remove = Vec::new();
    if no_plot {
        remove.extend(figures.iter().filter(|p| p.exists()).cloned());
    } else {
        let panels = panels(study, points, summaries);
        let title = format!("{}: dose-response", study.name);
        files.push((
            figures[0].clone(),
            curves_svg(&title, &panels)?.into_bytes(),
        ));
        files.push((figures[1].clone(), curves_png(&title, &panels)?));
    }
    write_set_atomic(&files, &remove)?;
    println!(
        "wrote {}/dose_response.csv{}",
        out.display(),
        if no_plot {
            ""
        } else {
            ", dose_response.svg, dose_response.png"
        }
    );
    Ok(())
}

fn panels(
    study: &DoseResponse,
    points: &[il1sim_core::clinical::dose_response::DosePoint],
    summaries: &[PointSummary],
) -> Vec<CurvePanel> {
    let x_label = format!("dose ({})", study.unit.label());
    let series = |f: &dyn Fn(&PointSummary) -> CurvePoint| -> Vec<CurveSeries> {
        study
            .templates
            .iter()
            .enumerate()
            .map(|(ti, t)| CurveSeries {
                label: t.name.clone(),
                points: points
                    .iter()
                    .zip(summaries)
                    .filter(|(p, _)| p.template == ti)
                    .map(|(p, s)| CurvePoint { x: p.dose, ..f(s) })
                    .collect(),
            })
            .collect()
    };
    let mut v = Vec::new();
    let pop = study.cohort.is_population();
    if study.targets.len() > 1 {
        v.push(CurvePanel {
            title: "all targets met".into(),
            x_label: x_label.clone(),
            y_label: "attainment (fraction)".into(),
            series: series(&|s| CurvePoint {
                x: 0.0,
                y: s.all.fraction,
                outer: s.all.interval,
                inner: None,
            }),
            y_range: Some((0.0, 1.0)),
            note: if pop {
                "band: 95% Wilson interval".into()
            } else {
                String::new()
            },
        });
    }
    for (k, t) in study.targets.iter().enumerate() {
        v.push(CurvePanel {
            title: format!("attainment of {}", t.text),
            x_label: x_label.clone(),
            y_label: "attainment (fraction)".into(),
            series: series(&|s| CurvePoint {
                x: 0.0,
                y: s.targets[k].fraction,
                outer: s.targets[k].interval,
                inner: None,
            }),
            y_range: Some((0.0, 1.0)),
            note: if pop {
                "band: 95% Wilson interval".into()
            } else {
                String::new()
            },
        });
        v.push(CurvePanel {
            title: t.label.clone(),
            x_label: x_label.clone(),
            y_label: format!("{} ({})", t.label, t.unit),
            series: series(&|s| {
                let p = s.targets[k].percentiles;
                CurvePoint {
                    x: 0.0,
                    y: p[2],
                    outer: Some((p[0], p[4])),
                    inner: Some((p[1], p[3])),
                }
            }),
            y_range: None,
            note: "line: median; bands: 25–75th and 5–95th percentiles".into(),
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dose_lists_parse() {
        assert_eq!(
            parse_doses("0.5,1,2,8mg/kg").unwrap(),
            (vec![0.5, 1.0, 2.0, 8.0], DoseUnit::MgPerKg)
        );
        assert_eq!(parse_doses("30mg, 75mg,100mg").unwrap().1, DoseUnit::Mg);
        assert!(parse_doses("1,2").unwrap_err().contains("a unit is needed"));
        assert!(parse_doses("2,1mg").unwrap_err().contains("'1mg'"));
        assert!(parse_doses("1mg,2mg/kg")
            .unwrap_err()
            .contains("another unit"));
    }
}
