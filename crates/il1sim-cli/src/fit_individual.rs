//! `il1sim fit-individual DATASET --out DIR`: each subject of a dataset fitted on its own
//! (MAP Bayesian estimation, the core's `estimation::fit`): the prior and residual errors
//! from a population file (by default the bundled NOMID one for a NOMID patient), estimates
//! with 90% intervals (Laplace), the NONMEM-style table (PRED, IPRED, IWRES, ETAs), a figure of
//! the data with the individual prediction and its 90% band and the population prediction,
//! and the label's regimens ranked for the patient's individual parameters against targets.

use crate::data_simulate::{observed_series, with_grid};
use crate::data_table::{table_csv, table_parquet};
use crate::dataset_file::{load, notes, PatientDefaults};
use crate::output::{csv_text, ensure_dir, num, write_set_atomic};
use crate::plot::timecourse::{timecourse_png, timecourse_svg, DoseMarks, Panel, Series};
use il1sim_core::clinical::dose_find::{rank, LabelGrid, Ranked};
use il1sim_core::clinical::evaluation::percentile;
use il1sim_core::clinical::targets::parse_target;
use il1sim_core::dosing::regimen::HOURS_PER_DAY;
use il1sim_core::estimation::dose::individual_dose_find;
use il1sim_core::estimation::fit::{fit_individual, IndividualFit};
use il1sim_core::estimation::map::MapOptions;
use il1sim_core::estimation::objective::{IndividualProblem, ESTIMATION_SOLVER};
use il1sim_core::estimation::prior::Prior;
use il1sim_core::estimation::residual::ResidualModel;
use il1sim_core::exchange::dataset::predict::SubjectDesign;
use il1sim_core::exchange::dataset::subjects::{DataSubject, TableRow};
use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::model::definition::Model;
use il1sim_core::population::definition::PopulationScenario;
use il1sim_core::response::acr::ResponseModel;
use il1sim_core::solve::subject::Subject;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The bundled prior for NOMID patients (IIV and residual errors, with sources).
const NOMID_PRIOR: &str = include_str!("../../../scenarios/nomid-tdm-population.toml");
const NOMID_PRIOR_NAME: &str = "scenarios/nomid-tdm-population.toml (bundled)";

/// Targets when none is given: those of scenarios/nomid-dose-find.toml (IL-1 signal at trough
/// below 0.2 of untreated, an assumption of 80% inhibition; CRP below 10 mg/L on day 28, the
/// upper limit of normal in Goldbach-Mansky 2006).
const DEFAULT_TARGETS: [&str; 2] = ["trough:il1_signal_relative<0.2", "crp_day_28<10"];

/// Regimens printed from the ranking (all are written to dose_find.csv).
const PRINTED_REGIMENS: usize = 8;

#[derive(clap::Args, Debug)]
pub struct FitIndividualArgs {
    /// NONMEM-style dataset (ID, TIME, AMT, CMT, EVID, DV, LLOQ/BLQ, covariates)
    pub dataset: PathBuf,
    /// Population file giving the prior ([population.variability]) and the residual errors
    /// ([[population.residual]] for every observed observable) [default: by the patient's
    /// disease: nomid -> scenarios/nomid-tdm-population.toml, bundled]
    #[arg(long, value_name = "FILE")]
    pub population: Option<PathBuf>,
    /// Dose target, as in dose-find files ("trough:il1_signal_relative<0.2", "crp_day_28<10");
    /// repeat for several (all must be met) [default: those two]
    #[arg(long = "target", value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Output directory
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Posterior draws (Laplace) for the 90% band of the individual prediction
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub draws: usize,
    /// Seed of the posterior draws
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write no figure
    #[arg(long)]
    pub no_plot: bool,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub patient: PatientDefaults,
}

fn prior_file(
    args: &FitIndividualArgs,
    model: &Model,
    disease: &str,
) -> Result<(PopulationScenario, String), String> {
    let (text, name) = match &args.population {
        Some(p) => (
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read population file {}: {e}", p.display()))?,
            p.display().to_string(),
        ),
        None if disease == "nomid" => (NOMID_PRIOR.to_string(), NOMID_PRIOR_NAME.to_string()),
        None => {
            return Err(format!(
            "no bundled prior for disease '{disease}' (only nomid has one: {NOMID_PRIOR_NAME}); \
                 give --population FILE, a population file with [population.variability] and \
                 [[population.residual]] for every observed observable"
        ))
        }
    };
    let pop = parse_population(&text, &name, model).map_err(|e| e.to_string())?;
    if pop.variability.is_none() {
        return Err(format!(
            "{name}: [population.variability] is needed (the prior of the individual parameters)"
        ));
    }
    if pop.disease != disease {
        return Err(format!(
            "{name}: its disease is '{}' but the dataset's patient has '{disease}'; give a population file of the patient's disease",
            pop.disease
        ));
    }
    Ok((pop, name))
}

/// One subject's fit and its predictions.
struct SubjectFit {
    fit: IndividualFit,
    pred: Vec<f64>,
    ipred: Vec<f64>,
    /// Grid subject and, per grid point: IPRED, 5th and 95th percentile over draws, PRED.
    curve: Option<(DataSubject, Vec<[f64; 4]>)>,
    ranked: Vec<Ranked>,
    elapsed_ms: f64,
}

fn predict_with(
    model: &Model,
    s: &DataSubject,
    problem: &IndividualProblem,
    eta: &[f64],
) -> Result<Vec<f64>, String> {
    let built = Subject::with_variability(
        model,
        &s.patient,
        &problem.typical,
        &problem.prior.multipliers(eta),
        problem.options,
    )
    .map_err(|e| format!("dataset ID {}: {e}", s.id))?;
    SubjectDesign::new(s)
        .predict(&built)
        .map_err(|e| format!("dataset ID {}: {e}", s.id))
}

#[allow(clippy::too_many_arguments)]
fn fit_subject(
    model: &Model,
    s: &DataSubject,
    prior: &Prior,
    residual: &ResidualModel,
    args: &FitIndividualArgs,
    observables: &[usize],
    targets: &[il1sim_core::clinical::targets::Target],
) -> Result<SubjectFit, String> {
    let started = Instant::now();
    let problem = IndividualProblem::new(model, s, vec![], prior, residual, ESTIMATION_SOLVER)
        .map_err(|e| e.to_string())?;
    let fit = fit_individual(&problem, &vec![0.0; prior.len()], &MapOptions::default())
        .map_err(|e| e.to_string())?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    let ipred = predict_with(model, s, &problem, &fit.mode.eta)?;
    let pred = predict_with(model, s, &problem, &vec![0.0; prior.len()])?;
    let curve = if args.no_plot {
        None
    } else {
        let grid = with_grid(s, observables);
        let at = |eta: &[f64]| predict_with(model, &grid, &problem, eta);
        let ip = at(&fit.mode.eta)?;
        let pp = at(&vec![0.0; prior.len()])?;
        let draws: Vec<Vec<f64>> = fit
            .laplace
            .draws(args.draws, args.seed)
            .par_iter()
            .map(|e| at(e))
            .collect::<Result<_, _>>()?;
        let mut points = Vec::with_capacity(ip.len());
        for i in 0..ip.len() {
            let mut v: Vec<f64> = draws.iter().map(|d| d[i]).collect();
            v.sort_by(f64::total_cmp);
            let (lo, hi) = if v.is_empty() {
                (f64::NAN, f64::NAN)
            } else {
                (percentile(&v, 5.0), percentile(&v, 95.0))
            };
            points.push([ip[i], lo, hi, pp[i]]);
        }
        Some((grid, points))
    };
    let study = individual_dose_find(
        &problem,
        &fit.mode.eta,
        targets.to_vec(),
        LabelGrid {
            loading_dose: false,
            ..LabelGrid::default()
        },
        "anakinra",
    );
    let (ranked, _) = study.run(
        model,
        il1sim_core::solve::options::SolverOptions::DEFAULT,
        &|| {},
    );
    Ok(SubjectFit {
        fit,
        pred,
        ipred,
        curve,
        ranked: rank(ranked),
        elapsed_ms,
    })
}

pub fn run(args: FitIndividualArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    let data = load(&args.dataset, &model, &args.patient)?;
    for n in notes(&data) {
        eprintln!("{n}");
    }
    let first = data
        .subjects
        .first()
        .ok_or_else(|| format!("{}: no subject", args.dataset.display()))?;
    let disease = first.patient.disease.clone();
    if let Some(s) = data.subjects.iter().find(|s| s.patient.disease != disease) {
        return Err(format!(
            "dataset ID {} has disease '{}' but ID {} has '{disease}'; fit one disease at a time",
            s.id, s.patient.disease, first.id
        ));
    }
    let (pop, prior_name) = prior_file(&args, &model, &disease)?;
    let prior = Prior::from_variability(pop.variability.as_ref().expect("checked"));
    let residual = ResidualModel::from_specs(&pop.residual);
    let response = ResponseModel::ra_acr();
    let target_texts: Vec<String> = if args.targets.is_empty() {
        DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect()
    } else {
        args.targets.clone()
    };
    let targets = target_texts
        .iter()
        .map(|t| parse_target(t, &model, &response).map_err(|m| format!("--target '{t}': {m}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut observables: Vec<usize> = data
        .subjects
        .iter()
        .flat_map(|s| s.observations.iter().map(|o| o.observable))
        .collect();
    observables.sort_unstable();
    observables.dedup();
    println!(
        "il1sim {} — fit-individual {}: {} subject(s); prior and residual errors from {prior_name}",
        env!("CARGO_PKG_VERSION"),
        args.dataset.display(),
        data.subjects.len()
    );
    for (_, r) in &pop.residual {
        println!(
            "  residual error {}: additive {} {}, proportional {} ({})",
            r.observable,
            r.additive,
            model.observables[model.observable_id(&r.observable).expect("checked")].unit,
            r.proportional,
            r.source
        );
    }
    let fits: Vec<SubjectFit> = data
        .subjects
        .iter()
        .map(|s| fit_subject(&model, s, &prior, &residual, &args, &observables, &targets))
        .collect::<Result<_, _>>()?;
    let eta_names: Vec<String> = prior.parameters.iter().map(|(n, _)| n.clone()).collect();
    let mut rows = Vec::new();
    let mut estimate_rows = Vec::new();
    let mut dose_rows = Vec::new();
    let mut json = Vec::new();
    for (s, f) in data.subjects.iter().zip(&fits) {
        print_subject(s, f, &targets);
        for ((o, &p), &ip) in s.observations.iter().zip(&f.pred).zip(&f.ipred) {
            let e = residual
                .for_observable(o.observable)
                .expect("checked by the problem");
            rows.push(TableRow {
                id: s.id.clone(),
                time_h: o.time_h,
                observable: model.observables[o.observable].name.clone(),
                dv: o.value,
                mdv: o.value.is_none(),
                pred: p,
                ipred: ip,
                res: o.value.map(|v| v - p),
                ires: o.value.map(|v| v - ip),
                wres: None,
                cwres: None,
                iwres: o.value.map(|v| (v - ip) / e.sd(ip)),
                etas: f.fit.mode.eta.clone(),
            });
        }
        let shrink = f.fit.laplace.shrinkage(&prior.sd());
        for (k, p) in f.fit.parameters.iter().enumerate() {
            estimate_rows.push(vec![
                s.id.clone(),
                p.name.clone(),
                p.unit.clone(),
                num(p.typical),
                num(p.estimate),
                num(p.lower_90),
                num(p.upper_90),
                num(p.eta),
                num(p.eta_sd),
                num(p.prior_sd),
                num(shrink[k]),
            ]);
        }
        for (i, r) in f.ranked.iter().enumerate() {
            let mut row = vec![
                s.id.clone(),
                (i + 1).to_string(),
                r.regimen.name.clone(),
                num(r.summary.all.fraction),
            ];
            row.extend(r.summary.targets.iter().map(|t| num(t.percentiles[2])));
            row.push(num(r.summary.auc_median));
            row.push(num(r.injections_per_week));
            dose_rows.push(row);
        }
        json.push(serde_json::json!({
            "id": s.id,
            "objective_minus_2_log_posterior": f.fit.mode.objective,
            "converged": f.fit.mode.converged,
            "stop_reason": f.fit.mode.stop_reason,
            "bfgs_iterations": f.fit.mode.iterations,
            "simulations": f.fit.evaluations,
            "failed_simulations": f.fit.mode.failed_evaluations,
            "fit_ms": f.elapsed_ms,
            "eta_names": eta_names,
            "eta": f.fit.mode.eta,
            "eta_covariance": (0..prior.len()).map(|i| (0..prior.len()).map(|j| f.fit.laplace.covariance[(i, j)]).collect::<Vec<f64>>()).collect::<Vec<_>>(),
            "parameters": f.fit.parameters.iter().map(|p| serde_json::json!({
                "name": p.name, "unit": p.unit, "typical": p.typical, "estimate": p.estimate,
                "lower_90": p.lower_90, "upper_90": p.upper_90, "eta": p.eta, "eta_sd": p.eta_sd,
                "prior_sd": p.prior_sd,
            })).collect::<Vec<_>>(),
            "best_regimen": f.ranked.first().map(|r| r.regimen.name.clone()),
        }));
    }
    let est_header: Vec<String> = [
        "id",
        "parameter",
        "unit",
        "typical",
        "estimate",
        "lower_90",
        "upper_90",
        "eta",
        "eta_posterior_sd",
        "eta_prior_sd",
        "shrinkage",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut dose_header: Vec<String> = ["id", "rank", "regimen", "all_targets_met"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    dose_header.extend(targets.iter().map(|t| format!("{} ({})", t.text, t.unit)));
    dose_header.push("auc_ng_h_ml".into());
    dose_header.push("injections_per_week".into());
    let mut files = vec![
        ("estimates.csv", csv_text(&est_header, &estimate_rows)?),
        (
            "estimates.json",
            serde_json::to_vec_pretty(&serde_json::json!({
                "dataset": args.dataset.display().to_string(),
                "prior": prior_name,
                "targets": target_texts,
                "subjects": json,
            }))
            .map_err(|e| e.to_string())?,
        ),
        ("table.csv", table_csv(&rows, &eta_names)?),
        ("table.parquet", table_parquet(&rows, &eta_names)?),
        ("dose_find.csv", csv_text(&dose_header, &dose_rows)?),
    ];
    if !args.no_plot {
        let (svg, png) = figure(&model, &data.subjects, &fits, &observables, &args.dataset)?;
        files.push(("fit.svg", svg));
        files.push(("fit.png", png));
    }
    ensure_dir(&args.out)?;
    let files: Vec<(PathBuf, Vec<u8>)> = files
        .into_iter()
        .map(|(n, b)| (args.out.join(n), b))
        .collect();
    let stale: Vec<PathBuf> = if args.no_plot {
        ["fit.svg", "fit.png"]
            .iter()
            .map(|f| args.out.join(f))
            .collect()
    } else {
        Vec::new()
    };
    write_set_atomic(&files, &stale)?;
    println!(
        "wrote {}",
        files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

fn print_subject(
    s: &DataSubject,
    f: &SubjectFit,
    targets: &[il1sim_core::clinical::targets::Target],
) {
    let p = &s.patient;
    println!();
    println!(
        "dataset ID {}: {} kg, {} years, {}, CrCl {} mL/min, {}; {} observations ({} BLQ)",
        s.id,
        num(p.weight_kg),
        num(p.age_y),
        p.sex.label(),
        num(p.crcl_ml_min),
        p.disease,
        s.observations
            .iter()
            .filter(|o| o.value.is_some() || o.below_lloq)
            .count(),
        s.observations.iter().filter(|o| o.below_lloq).count()
    );
    println!(
        "{:<18} {:>8} {:>11} {:>11} {:>25} {:>8} {:>10}",
        "parameter", "unit", "typical", "estimate", "90% interval", "eta", "shrinkage"
    );
    let prior_sd: Vec<f64> = f.fit.parameters.iter().map(|p| p.prior_sd).collect();
    let shrink = f.fit.laplace.shrinkage(&prior_sd);
    for (k, e) in f.fit.parameters.iter().enumerate() {
        println!(
            "{:<18} {:>8} {:>11.5} {:>11.5} {:>25} {:>8.3} {:>9.0}%",
            e.name,
            e.unit,
            e.typical,
            e.estimate,
            format!("{:.5} – {:.5}", e.lower_90, e.upper_90),
            e.eta,
            100.0 * shrink[k]
        );
    }
    println!(
        "−2 log posterior {:.3}; BFGS {} iterations ({}), {} simulations ({} failed), {:.0} ms",
        f.fit.mode.objective,
        f.fit.mode.iterations,
        f.fit.mode.stop_reason,
        f.fit.evaluations,
        f.fit.mode.failed_evaluations,
        f.elapsed_ms
    );
    println!(
        "label regimens for this patient's parameters (MAP), targets: {}",
        targets
            .iter()
            .map(|t| format!("{} [{}]", t.text, t.unit))
            .collect::<Vec<_>>()
            .join("; ")
    );
    for (i, r) in f.ranked.iter().take(PRINTED_REGIMENS).enumerate() {
        let values: Vec<String> = r
            .summary
            .targets
            .iter()
            .zip(targets)
            .map(|(t, tg)| format!("{} {:.4} {}", tg.label, t.percentiles[2], tg.unit))
            .collect();
        println!(
            "{:>3}. {:<40} {:<8} {}; AUC {:.0} ng·h/mL",
            i + 1,
            r.regimen.name,
            if r.summary.all.fraction >= 1.0 {
                "meets"
            } else {
                "misses"
            },
            values.join(", "),
            r.summary.auc_median
        );
    }
}

/// Per observable: observed DV (dots), IPRED with its 90% band, PRED, per subject.
fn figure(
    model: &Model,
    subjects: &[DataSubject],
    fits: &[SubjectFit],
    observables: &[usize],
    path: &Path,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let panels: Vec<Panel> = observables
        .iter()
        .map(|&k| {
            let o = &model.observables[k];
            let mut series = Vec::new();
            for (s, f) in subjects.iter().zip(fits) {
                let (grid, values) = f.curve.as_ref().expect("curves unless --no-plot");
                let mut lines = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
                for (i, ob) in grid.observations.iter().enumerate() {
                    if ob.observable == k && ob.line == 0 {
                        for (c, line) in lines.iter_mut().enumerate() {
                            line.push((ob.time_h / HOURS_PER_DAY, values[i][c]));
                        }
                    }
                }
                let [ip, lo, hi, pp] = lines;
                let names = [
                    "IPRED",
                    "IPRED 5th percentile",
                    "IPRED 95th percentile",
                    "PRED",
                ];
                for (name, points) in names.iter().zip([ip, lo, hi, pp]) {
                    series.push(Series {
                        label: format!("ID {} {name}", s.id),
                        points,
                    });
                }
                series.push(observed_series(s, k, &format!("ID {} DV", s.id)));
            }
            Panel {
                title: o.description.clone(),
                y_label: format!("{} ({})", o.name, o.unit),
                series,
                log_y: false,
            }
        })
        .collect();
    let doses: Vec<DoseMarks> = Vec::new();
    let title = format!(
        "{} — DV, individual prediction (IPRED) with 90% band, population prediction (PRED)",
        path.display()
    );
    let svg = timecourse_svg(&title, &panels, &doses)?;
    let png = timecourse_png(&title, &panels, &doses)?;
    Ok((svg.into_bytes(), png))
}
