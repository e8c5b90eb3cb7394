//! `il1sim sensitivity`: which parameters a scenario's figures depend on. Local normalised
//! coefficients of every figure to every parameter (core `sensitivity::local`), then Morris
//! screening and Sobol indices over the parameters whose plausible range the model file
//! declares (`sensitivity::morris`, `sensitivity::sobol`). Prints the top parameters, writes
//! long CSV tables and tornado charts.

use crate::dose_response::{progress_bar, sig};
use crate::output::{csv_text, ensure_dir, num, write_set_atomic};
use crate::plot::tornado::{tornado_png, tornado_svg, TornadoBar, TornadoPanel};
use il1sim_core::exchange::scenario::parse_scenario;
use il1sim_core::model::definition::{Model, ParamId};
use il1sim_core::sensitivity::local::{local_sensitivities, LocalAnalysis, LOCAL_SOLVER_RTOL};
use il1sim_core::sensitivity::morris::{self, morris_screening, MorrisMeasures};
use il1sim_core::sensitivity::problem::{folds_at, SensitivityProblem};
use il1sim_core::sensitivity::sobol::{self, sobol_indices, SobolIndices};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct SensitivityArgs {
    /// Scenario file (one [patient]; its first regimen unless --regimen)
    pub scenario: PathBuf,
    /// Output folder
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Regimen of the scenario, by name [default: the first]
    #[arg(long, value_name = "NAME")]
    pub regimen: Option<String>,
    /// Global analysis after the local one: none, morris, sobol or all
    #[arg(long, value_name = "KIND", default_value = "all")]
    pub global: String,
    /// Morris trajectories, 2 to 10,000
    #[arg(long, value_name = "R", default_value_t = 20)]
    pub trajectories: usize,
    /// Sobol base samples N (N (k + 2) runs), 16 to 1,000,000
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub samples: usize,
    /// Bootstrap resamples for the Sobol intervals, 0 to 100,000
    #[arg(long, value_name = "B", default_value_t = 500)]
    pub bootstrap: usize,
    /// Random seed of the global samples
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Parameters shown per figure in the charts and printout
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Worker threads, at least 1 (results do not depend on it) [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Do not write the charts (and remove those of an earlier run in --out)
    #[arg(long)]
    pub no_plot: bool,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

/// Where a parameter's value comes from, read off its source (the disease overlay's when it
/// sets the value): calibrated by us, an assumption, or a published measurement.
fn basis(model: &Model, disease: &str, id: ParamId) -> &'static str {
    let overlay = model
        .diseases
        .get(disease)
        .and_then(|d| d.overrides.iter().find(|(p, _, _)| *p == id))
        .map(|(_, _, s)| s.as_str());
    let source = overlay.unwrap_or(&model.parameters[id].source);
    let s = source.trim_start().to_ascii_lowercase();
    if s.starts_with("calibrated") {
        "calibrated"
    } else if s.starts_with("assumption") {
        "assumption"
    } else {
        "published"
    }
}

const BASES: [&str; 3] = ["published", "calibrated", "assumption"];

fn check_range(flag: &str, v: usize, lo: usize, hi: usize) -> Result<(), String> {
    if v < lo || v > hi {
        return Err(format!("{flag} {v}: allowed: {lo} to {hi}"));
    }
    Ok(())
}

pub fn run(args: SensitivityArgs) -> Result<ExitCode, String> {
    let (morris_on, sobol_on) = match args.global.as_str() {
        "none" => (false, false),
        "morris" => (true, false),
        "sobol" => (false, true),
        "all" => (true, true),
        g => return Err(format!("--global '{g}': allowed: none, morris, sobol, all")),
    };
    check_range("--trajectories", args.trajectories, 2, 10_000)?;
    check_range("--samples", args.samples, 16, 1_000_000)?;
    check_range("--bootstrap", args.bootstrap, 0, 100_000)?;
    check_range("--top", args.top, 1, 1_000)?;
    if args.threads == Some(0) {
        return Err("--threads 0: allowed: 1 or more; leave --threads out to use all cores".into());
    }
    let model = crate::model_file::load_model(args.model.as_deref())?;
    let origin = args.scenario.display().to_string();
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|e| format!("cannot read scenario file {origin}: {e}"))?;
    let scenario = parse_scenario(&text, &origin, &model).map_err(|e| e.to_string())?;
    let regimen = match &args.regimen {
        None => scenario.regimens[0].clone(),
        Some(name) => scenario
            .regimens
            .iter()
            .find(|r| &r.name == name)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "--regimen '{name}': not a regimen of {origin}; allowed: {}",
                    scenario
                        .regimens
                        .iter()
                        .map(|r| format!("'{}'", r.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
    };
    let mut options = il1sim_core::solve::options::SolverOptions::TIGHT;
    options.rtol = LOCAL_SOLVER_RTOL;
    let problem = SensitivityProblem {
        model: &model,
        patient: scenario.patient.clone(),
        overrides: vec![],
        regimen: regimen.clone(),
        horizon_h: scenario.duration_h,
        crp_days: il1sim_core::metrics::CRP_REPORT_DAYS.to_vec(),
        options,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    let disease = scenario.patient.disease.clone();
    let params = problem.local_parameters().map_err(|e| e.to_string())?;
    println!(
        "sensitivity of '{}' ({}), regimen '{}': {} parameters, local then {}",
        scenario.name,
        scenario.description,
        regimen.name,
        params.len(),
        args.global
    );

    // Local.
    let t0 = Instant::now();
    let bar = progress_bar(params.len() as u64)?;
    bar.set_message("local");
    let local = pool
        .install(|| local_sensitivities(&problem, &params, &|| bar.inc(1)))
        .map_err(|e| format!("local sensitivity: {e}"))?;
    bar.finish_and_clear();
    let local_s = t0.elapsed().as_secs_f64();
    println!(
        "local: {} runs in {:.1} s ({} figures; d ln y / d ln p, central differences at ln-step {} with a Richardson check)",
        4 * params.len() + 1,
        local_s,
        local.nominal.names.len(),
        local.log_step
    );
    print_local(&model, &disease, &local, args.top.min(5));

    // Global.
    let ranged = problem.ranged_parameters().map_err(|e| e.to_string())?;
    let k = ranged.len();
    // Global runs use the default tolerances (rtol 1e-6, docs/solver.md): they compare
    // parameter sets whole ranges apart, not steps of 1e-3. Figures are relative to the
    // nominal figures at the same tolerances.
    let global_problem = SensitivityProblem {
        options: il1sim_core::solve::options::SolverOptions::DEFAULT,
        ..problem.clone()
    };
    let nominal = if morris_on || sobol_on {
        global_problem
            .figures(&[])
            .map_err(|e| e.to_string())?
            .values
    } else {
        vec![]
    };
    let relative = |u: &[f64]| -> Result<Vec<f64>, String> {
        let f = global_problem.figures(&folds_at(&ranged, u)).map_err(|e| {
            format!(
                "at parameter folds {}: {e}",
                describe_point(&model, &ranged, u)
            )
        })?;
        // ln(figure / nominal): the figures are positive and span orders of magnitude over
        // the ranges (CRP), where variance-based indices of the raw values are dominated by
        // a few samples.
        f.values
            .iter()
            .zip(&nominal)
            .zip(&f.names)
            .map(|((v, n), name)| {
                if *v > 0.0 && *n > 0.0 {
                    Ok((v / n).ln())
                } else {
                    Err(format!(
                        "{name} = {v} at parameter folds {}: global indices are of ln(figure), which needs a positive figure",
                        describe_point(&model, &ranged, u)
                    ))
                }
            })
            .collect()
    };
    let mut morris_result: Option<Vec<MorrisMeasures>> = None;
    let mut sobol_result: Option<Vec<SobolIndices>> = None;
    if (morris_on || sobol_on) && k == 0 {
        println!("global: no parameter of this patient has a declared range (range_fold in the model file)");
    }
    if morris_on && k > 0 {
        let t = Instant::now();
        let runs = morris::evaluation_count(args.trajectories, k);
        let bar = progress_bar(args.trajectories as u64)?;
        let m = pool.install(|| {
            morris_screening(k, args.trajectories, args.seed, &relative, &|| bar.inc(1))
        })?;
        bar.finish_and_clear();
        println!(
            "Morris: {k} ranged parameters, {} trajectories, {runs} runs in {:.1} s; μ* = mean |elementary effect| on ln(figure) over the whole (log) range",
            args.trajectories,
            t.elapsed().as_secs_f64()
        );
        print_ranked(
            &local.nominal.names,
            &model,
            &ranged,
            &m.iter().map(|x| x.mu_star.clone()).collect::<Vec<_>>(),
            "μ*",
            args.top.min(5),
        );
        morris_result = Some(m);
    }
    if sobol_on && k > 0 {
        let t = Instant::now();
        let runs = sobol::evaluation_count(args.samples, k);
        let bar = progress_bar(args.samples as u64)?;
        let s = pool.install(|| {
            sobol_indices(
                k,
                args.samples,
                args.seed,
                args.bootstrap,
                &relative,
                &|| bar.inc(1),
            )
        })?;
        bar.finish_and_clear();
        println!(
            "Sobol: N = {}, {runs} runs in {:.1} s; total indices ST (95% bootstrap interval, {} resamples)",
            args.samples,
            t.elapsed().as_secs_f64(),
            args.bootstrap
        );
        print_ranked(
            &local.nominal.names,
            &model,
            &ranged,
            &s.iter().map(|x| x.total.clone()).collect::<Vec<_>>(),
            "ST",
            args.top.min(5),
        );
        sobol_result = Some(s);
    }

    // Files.
    ensure_dir(&args.out)?;
    let mut files = vec![(
        args.out.join("local.csv"),
        local_csv(&model, &disease, &local)?,
    )];
    if let Some(m) = &morris_result {
        files.push((
            args.out.join("morris.csv"),
            morris_csv(&model, &disease, &local, &ranged, m)?,
        ));
    }
    if let Some(s) = &sobol_result {
        files.push((
            args.out.join("sobol.csv"),
            sobol_csv(&model, &disease, &local, &ranged, s)?,
        ));
    }
    let mut remove = vec![];
    let charts = ["tornado.svg", "tornado.png", "sobol.svg", "sobol.png"];
    if args.no_plot {
        remove.extend(charts.iter().map(|c| args.out.join(c)));
    } else {
        let groups: Vec<String> = BASES.iter().map(|b| b.to_string()).collect();
        let title = format!("Local sensitivity, {} ({})", scenario.name, regimen.name);
        let panels = tornado_panels(&model, &disease, &local, args.top);
        files.push((
            args.out.join("tornado.svg"),
            tornado_svg(&title, &groups, &panels)?.into_bytes(),
        ));
        files.push((
            args.out.join("tornado.png"),
            tornado_png(&title, &groups, &panels)?,
        ));
        if let Some(s) = &sobol_result {
            let title = format!("Sobol total indices, {} ({})", scenario.name, regimen.name);
            let panels = sobol_panels(&model, &disease, &local, &ranged, s, args.top);
            files.push((
                args.out.join("sobol.svg"),
                tornado_svg(&title, &groups, &panels)?.into_bytes(),
            ));
            files.push((
                args.out.join("sobol.png"),
                tornado_png(&title, &groups, &panels)?,
            ));
        } else {
            remove.extend([args.out.join("sobol.svg"), args.out.join("sobol.png")]);
        }
    }
    if morris_result.is_none() {
        remove.push(args.out.join("morris.csv"));
    }
    if sobol_result.is_none() {
        remove.push(args.out.join("sobol.csv"));
    }
    write_set_atomic(&files, &remove)?;
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

fn describe_point(model: &Model, ranged: &[(ParamId, f64, f64)], u: &[f64]) -> String {
    folds_at(ranged, u)
        .iter()
        .map(|(id, f)| format!("{} ×{}", model.parameters[*id].name, sig(*f)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_local(model: &Model, disease: &str, local: &LocalAnalysis, top: usize) {
    for (f, name) in local.nominal.names.iter().enumerate() {
        let ranked = local.ranking(f);
        let list: Vec<String> = ranked
            .iter()
            .take(top)
            .map(|p| {
                format!(
                    "{} {:+.3} ({})",
                    model.parameters[p.parameter].name,
                    p.coefficients[f],
                    basis(model, disease, p.parameter)
                )
            })
            .collect();
        println!(
            "  {name} = {} {}: {}",
            sig(local.nominal.values[f]),
            local.nominal.units[f],
            list.join(", ")
        );
    }
}

fn print_ranked(
    names: &[String],
    model: &Model,
    ranged: &[(ParamId, f64, f64)],
    values: &[Vec<f64>],
    what: &str,
    top: usize,
) {
    for (f, name) in names.iter().enumerate() {
        let mut order: Vec<usize> = (0..ranged.len()).collect();
        order.sort_by(|a, b| values[f][*b].abs().total_cmp(&values[f][*a].abs()));
        let list: Vec<String> = order
            .iter()
            .take(top)
            .map(|&i| {
                format!(
                    "{} {what} {}",
                    model.parameters[ranged[i].0].name,
                    sig(values[f][i])
                )
            })
            .collect();
        println!("  {name}: {}", list.join(", "));
    }
}

fn param_cells(model: &Model, disease: &str, id: ParamId) -> Vec<String> {
    let p = &model.parameters[id];
    vec![
        p.name.clone(),
        p.unit.clone(),
        basis(model, disease, id).into(),
    ]
}

fn local_csv(model: &Model, disease: &str, local: &LocalAnalysis) -> Result<Vec<u8>, String> {
    let header: Vec<String> = [
        "figure",
        "figure_unit",
        "figure_value",
        "rank",
        "parameter",
        "parameter_unit",
        "basis",
        "coefficient_dlny_dlnp",
        "step_difference",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = vec![];
    for (f, name) in local.nominal.names.iter().enumerate() {
        for (rank, p) in local.ranking(f).iter().enumerate() {
            let mut row = vec![
                name.clone(),
                local.nominal.units[f].clone(),
                num(local.nominal.values[f]),
                (rank + 1).to_string(),
            ];
            row.extend(param_cells(model, disease, p.parameter));
            row.push(num(p.coefficients[f]));
            row.push(num(p.step_difference[f]));
            rows.push(row);
        }
    }
    csv_text(&header, &rows)
}

fn morris_csv(
    model: &Model,
    disease: &str,
    local: &LocalAnalysis,
    ranged: &[(ParamId, f64, f64)],
    m: &[MorrisMeasures],
) -> Result<Vec<u8>, String> {
    let header: Vec<String> = [
        "figure",
        "parameter",
        "parameter_unit",
        "basis",
        "range_low_fold",
        "range_high_fold",
        "mu_star_ln",
        "mu_ln",
        "sigma_ln",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = vec![];
    for (f, name) in local.nominal.names.iter().enumerate() {
        for (i, &(id, lo, hi)) in ranged.iter().enumerate() {
            let mut row = vec![name.clone()];
            row.extend(param_cells(model, disease, id));
            row.extend([
                num(lo),
                num(hi),
                num(m[f].mu_star[i]),
                num(m[f].mu[i]),
                num(m[f].sigma[i]),
            ]);
            rows.push(row);
        }
    }
    csv_text(&header, &rows)
}

fn sobol_csv(
    model: &Model,
    disease: &str,
    local: &LocalAnalysis,
    ranged: &[(ParamId, f64, f64)],
    s: &[SobolIndices],
) -> Result<Vec<u8>, String> {
    let header: Vec<String> = [
        "figure",
        "parameter",
        "parameter_unit",
        "basis",
        "range_low_fold",
        "range_high_fold",
        "first_order",
        "first_order_low95",
        "first_order_high95",
        "total",
        "total_low95",
        "total_high95",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = vec![];
    for (f, name) in local.nominal.names.iter().enumerate() {
        for (i, &(id, lo, hi)) in ranged.iter().enumerate() {
            let mut row = vec![name.clone()];
            row.extend(param_cells(model, disease, id));
            let x = &s[f];
            row.extend([
                num(lo),
                num(hi),
                num(x.first_order[i]),
                num(x.first_order_ci[i].0),
                num(x.first_order_ci[i].1),
                num(x.total[i]),
                num(x.total_ci[i].0),
                num(x.total_ci[i].1),
            ]);
            rows.push(row);
        }
    }
    csv_text(&header, &rows)
}

fn group(b: &str) -> usize {
    BASES.iter().position(|x| *x == b).unwrap_or(0)
}

fn tornado_panels(
    model: &Model,
    disease: &str,
    local: &LocalAnalysis,
    top: usize,
) -> Vec<TornadoPanel> {
    local
        .nominal
        .names
        .iter()
        .enumerate()
        .map(|(f, name)| TornadoPanel {
            title: format!(
                "{name} = {} {}",
                sig(local.nominal.values[f]),
                local.nominal.units[f]
            ),
            x_label: "d ln(figure) / d ln(parameter)".into(),
            bars: local
                .ranking(f)
                .iter()
                .take(top)
                .filter(|p| p.coefficients[f].is_finite())
                .map(|p| TornadoBar {
                    label: model.parameters[p.parameter].name.clone(),
                    value: p.coefficients[f],
                    group: group(basis(model, disease, p.parameter)),
                })
                .collect(),
        })
        .collect()
}

fn sobol_panels(
    model: &Model,
    disease: &str,
    local: &LocalAnalysis,
    ranged: &[(ParamId, f64, f64)],
    s: &[SobolIndices],
    top: usize,
) -> Vec<TornadoPanel> {
    local
        .nominal
        .names
        .iter()
        .enumerate()
        .map(|(f, name)| {
            let mut order: Vec<usize> = (0..ranged.len()).collect();
            order.sort_by(|a, b| s[f].total[*b].total_cmp(&s[f].total[*a]));
            TornadoPanel {
                title: format!("{name}: total Sobol index over the declared ranges"),
                x_label: "total index ST".into(),
                bars: order
                    .iter()
                    .take(top)
                    .map(|&i| TornadoBar {
                        label: model.parameters[ranged[i].0].name.clone(),
                        value: s[f].total[i],
                        group: group(basis(model, disease, ranged[i].0)),
                    })
                    .collect(),
            }
        })
        .collect()
}
