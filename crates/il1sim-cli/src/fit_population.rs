//! `il1sim fit-population <dataset> [--design FILE] [--model FILE] --out DIR`: population
//! estimation by FOCE-I (`il1sim_core::estimation::foce`). The design file's `[estimation]`
//! table says what is estimated and from where; without `--design` the bundled RA PK study's
//! is used, and without `--model` the PK model `models/anakinra-pk.toml`.
//!
//! Writes `parameters.csv` (estimate, unit, SE, RSE%, shrinkage), `table.csv` and `table.parquet`
//! (NONMEM-style, the shared writer `data_table`: ID, TIME, DV, PRED, IPRED, RES, IRES, IWRES,
//! WRES, CWRES, ETAs), `gof.svg`/`gof.png` (DV vs
//! PRED and IPRED, CWRES vs time and PRED), `fit.json` (what `il1sim vpc` reads) and
//! `summary.txt` (what is printed).

use crate::data_table::{table_csv, table_parquet};
use crate::fit_data::{design_text, fit_model, read_dataset, FitFile};
use crate::output::{csv_text, ensure_dir, num, write_set_atomic};
use crate::plot::diagnostics::{gof_png, gof_svg, ScatterPanel};
use il1sim_core::estimation::fit_spec::parse_fit_spec;
use il1sim_core::estimation::foce::{
    fit_population, FoceOptions, PopulationFit, PopulationParameters, PopulationProblem,
};
use il1sim_core::estimation::residuals::table_rows;
use il1sim_core::exchange::dataset::subjects::TableRow;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct FitPopulationArgs {
    /// Dataset (NONMEM-style CSV, as `il1sim simulate-study` writes)
    pub dataset: PathBuf,
    /// Design file whose [estimation] table lists θ, Ω and residual error with initial values
    /// [default: the bundled examples/designs/ra-pk-study.toml]
    #[arg(long, value_name = "FILE")]
    pub design: Option<PathBuf>,
    /// Model file [default: the bundled models/anakinra-pk.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Output directory
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads [default: all cores]; the estimates do not depend on it
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Skip the covariance step (no standard errors)
    #[arg(long)]
    pub no_covariance: bool,
    /// Most outer iterations
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub max_iterations: u64,
}

/// Four significant digits for the printed table.
fn sig(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e5) {
        format!("{x:.3e}")
    } else {
        let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
    }
}

/// The printed summary: OFV, the parameter table, condition number, cost.
pub fn summary(fit: &PopulationFit, seconds: f64, subjects: usize, samples: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "FOCE-I: {subjects} subjects, {samples} samples; OFV {:.3} (start {:.3}; -2 log likelihood without the N ln 2π constant)",
        fit.ofv, fit.initial_ofv
    );
    let _ = writeln!(
        s,
        "{} after {} iterations ({}), {} OFV evaluations, {} simulations, {:.1} s",
        if fit.converged {
            "converged"
        } else {
            "NOT converged"
        },
        fit.iterations,
        fit.stop_reason,
        fit.evaluations,
        fit.simulations,
        seconds
    );
    let _ = writeln!(
        s,
        "{:<6} {:<34} {:>11} {:>11} {:>11} {:>7} {:>10}  unit",
        "kind", "parameter", "initial", "estimate", "SE", "RSE%", "shrink%"
    );
    for r in &fit.rows {
        let _ = writeln!(
            s,
            "{:<6} {:<34} {:>11} {:>11} {:>11} {:>7} {:>10}  {}",
            r.kind,
            r.name,
            sig(r.initial),
            sig(r.estimate),
            r.se.map(sig).unwrap_or("-".into()),
            r.rse_percent
                .map(|v| format!("{v:.1}"))
                .unwrap_or("-".into()),
            r.shrinkage_percent
                .map(|v| format!("{v:.1}"))
                .unwrap_or("-".into()),
            r.unit
        );
    }
    match (&fit.condition_number, &fit.covariance_failure) {
        (Some(c), _) => {
            let _ = writeln!(
                s,
                "covariance step: condition number {} (largest / smallest eigenvalue of the correlation matrix)",
                sig(*c)
            );
        }
        (None, Some(m)) => {
            let _ = writeln!(s, "covariance step failed: {m}");
        }
        (None, None) => {
            let _ = writeln!(s, "covariance step not run");
        }
    }
    s
}

/// The goodness-of-fit panels of an observable's rows.
pub fn gof_panels(rows: &[TableRow], observable: &str, unit: &str) -> Vec<ScatterPanel> {
    let rows: Vec<&TableRow> = rows.iter().filter(|r| r.observable == observable).collect();
    let dv_vs = |f: &dyn Fn(&TableRow) -> f64| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| r.dv.map(|y| (f(r), y)))
            .collect()
    };
    let cw_vs = |f: &dyn Fn(&TableRow) -> f64| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| r.cwres.map(|c| (f(r), c)))
            .collect()
    };
    vec![
        ScatterPanel {
            title: format!("{observable}: observed vs population prediction"),
            x_label: format!("PRED ({unit})"),
            y_label: format!("DV ({unit})"),
            points: dv_vs(&|r| r.pred),
            identity: true,
            zero_and_two: false,
        },
        ScatterPanel {
            title: format!("{observable}: observed vs individual prediction"),
            x_label: format!("IPRED ({unit})"),
            y_label: format!("DV ({unit})"),
            points: dv_vs(&|r| r.ipred),
            identity: true,
            zero_and_two: false,
        },
        ScatterPanel {
            title: format!("{observable}: CWRES vs time"),
            x_label: "time (h)".into(),
            y_label: "CWRES (1)".into(),
            points: cw_vs(&|r| r.time_h),
            identity: false,
            zero_and_two: true,
        },
        ScatterPanel {
            title: format!("{observable}: CWRES vs population prediction"),
            x_label: format!("PRED ({unit})"),
            y_label: "CWRES (1)".into(),
            points: cw_vs(&|r| r.pred),
            identity: false,
            zero_and_two: true,
        },
    ]
}

pub fn run(args: FitPopulationArgs) -> Result<ExitCode, String> {
    let model = fit_model(args.model.as_deref())?;
    let (text, origin) = design_text(args.design.as_deref())?;
    let spec = parse_fit_spec(&text, &origin, &model).map_err(|e| e.to_string())?;
    let dataset = read_dataset(&args.dataset, &model)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    let options = FoceOptions {
        covariance: !args.no_covariance,
        max_iterations: args.max_iterations,
        ..FoceOptions::default()
    };
    let problem = PopulationProblem {
        model: &model,
        dataset: &dataset,
        spec: &spec,
        options,
    };
    ensure_dir(&args.out)?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .map_err(|e| e.to_string())?,
    );
    let started = Instant::now();
    let progress = |k: usize, ofv: f64| {
        bar.set_message(format!("OFV evaluation {k}: {ofv:.3}"));
        bar.tick();
    };
    let fit = pool
        .install(|| fit_population(&problem, &PopulationParameters::initial(&spec), &progress))?;
    let rows = pool.install(|| table_rows(&problem, &fit))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let samples = dataset
        .subjects
        .iter()
        .flat_map(|s| &s.observations)
        .filter(|o| o.value.is_some())
        .count();
    let text_summary = summary(&fit, seconds, dataset.subjects.len(), samples);
    print!("{text_summary}");

    let eta_names: Vec<String> = spec.eta.iter().map(|e| e.name.clone()).collect();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let header: Vec<String> = [
        "kind",
        "parameter",
        "unit",
        "initial",
        "estimate",
        "se",
        "rse_percent",
        "shrinkage_percent",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let opt = |v: Option<f64>| v.map(num).unwrap_or_default();
    let prow: Vec<Vec<String>> = fit
        .rows
        .iter()
        .map(|r| {
            vec![
                r.kind.to_string(),
                r.name.clone(),
                r.unit.clone(),
                num(r.initial),
                num(r.estimate),
                opt(r.se),
                opt(r.rse_percent),
                opt(r.shrinkage_percent),
            ]
        })
        .collect();
    files.push((args.out.join("parameters.csv"), csv_text(&header, &prow)?));
    files.push((args.out.join("table.csv"), table_csv(&rows, &eta_names)?));
    files.push((
        args.out.join("table.parquet"),
        table_parquet(&rows, &eta_names)?,
    ));
    let mut panels = Vec::new();
    for r in &fit.parameters.residual {
        let o = &model.observables[r.observable];
        panels.extend(gof_panels(&rows, &o.name, &o.unit));
    }
    let title = format!("Goodness of fit (FOCE-I, OFV {:.2})", fit.ofv);
    files.push((
        args.out.join("gof.svg"),
        gof_svg(&title, &panels)?.into_bytes(),
    ));
    files.push((args.out.join("gof.png"), gof_png(&title, &panels)?));
    let fit_file = FitFile {
        dataset: std::fs::canonicalize(&args.dataset).unwrap_or(args.dataset.clone()),
        design: args
            .design
            .as_ref()
            .map(|d| std::fs::canonicalize(d).unwrap_or(d.clone())),
        model: args
            .model
            .as_ref()
            .map(|m| std::fs::canonicalize(m).unwrap_or(m.clone())),
        ofv: fit.ofv,
        theta: spec
            .theta
            .iter()
            .zip(&fit.parameters.theta)
            .map(|(t, &v)| (t.name.clone(), v))
            .collect(),
        omega: spec
            .eta
            .iter()
            .zip(&fit.parameters.omega)
            .map(|(e, &v)| (e.name.clone(), v))
            .collect(),
        residual: fit
            .parameters
            .residual
            .iter()
            .map(|r| {
                (
                    model.observables[r.observable].name.clone(),
                    r.additive,
                    r.proportional,
                )
            })
            .collect(),
    };
    files.push((
        args.out.join("fit.json"),
        serde_json::to_vec_pretty(&fit_file).map_err(|e| e.to_string())?,
    ));
    files.push((args.out.join("summary.txt"), text_summary.into_bytes()));
    write_set_atomic(&files, &[])?;
    println!("wrote {}", args.out.display());
    Ok(if fit.converged {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
