//! `il1sim simulate`: scenario file or quick form → printed summary, timecourse.csv,
//! summary.json, timecourse.svg and timecourse.png in `--out`.

use crate::output::{csv_text, ensure_dir, num, write_set_atomic};
use crate::plot::timecourse::{timecourse_svg, DoseMarks, Panel, Series};
use crate::quick::QuickArgs;
use il1sim_core::dosing::regimen::HOURS_PER_DAY;
use il1sim_core::exchange::scenario::{parse_scenario, Scenario};
use il1sim_core::metrics::{simulate_and_summarise, RegimenSummary, CRP_REPORT_DAYS};
use il1sim_core::model::definition::Model;
use il1sim_core::population::definition::SimulationMethod;
use il1sim_core::solve::options::{Method, SolverOptions};
use il1sim_core::solve::subject::Subject;
use il1sim_core::solve::trajectory::Trajectory;
use il1sim_core::validation::targets::fmt_num;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Scenario file (TOML); omit it and give --dose etc. for the quick form
    pub scenario: Option<PathBuf>,
    /// A NONMEM-style dataset (CSV, docs/datasets.md) instead of a scenario: its doses,
    /// covariates and sampling times; writes table.csv, table.parquet, predictions.svg/.png.
    /// --weight, --age, --sex, --crcl and --disease fill columns the dataset does not have
    #[arg(long, value_name = "FILE", conflicts_with = "scenario")]
    pub data: Option<PathBuf>,
    /// Output directory (created if needed): timecourse.csv, summary.json, timecourse.svg and .png
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub quick: QuickArgs,
    #[command(flatten)]
    pub solver: SolverArgs,
    /// exact (integrate the whole horizon) or fast (repeat the periodic orbit once periodic
    /// dosing has reached it; docs/solver.md, "Fast method")
    #[arg(long, value_name = "METHOD", default_value = "exact")]
    pub method: String,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Do not draw timecourse.svg and timecourse.png; those of an earlier run in --out are
    /// removed, so that the folder holds the outputs of one run only
    #[arg(long)]
    pub no_plot: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct SolverArgs {
    /// Integrator: bdf, esdirk34 or tr_bdf2 [default: bdf]
    #[arg(long, value_name = "NAME")]
    pub integrator: Option<String>,
    /// Relative tolerance [default: 1e-6]
    #[arg(long, value_name = "RTOL")]
    pub rtol: Option<f64>,
    /// Absolute tolerance as a fraction of each state's typical size [default: 1e-6]
    #[arg(long, value_name = "ATOL")]
    pub atol: Option<f64>,
}

impl SolverArgs {
    pub fn options(&self) -> Result<SolverOptions, String> {
        let mut o = SolverOptions::DEFAULT;
        if let Some(m) = &self.integrator {
            o.method = Method::parse(m)
                .ok_or_else(|| format!("--integrator '{m}': allowed: bdf, esdirk34, tr_bdf2"))?;
        }
        for (flag, v, slot) in [
            ("--rtol", self.rtol, &mut o.rtol),
            ("--atol", self.atol, &mut o.atol),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0 && v < 1.0) {
                    return Err(format!("{flag} {v}: allowed: > 0 and < 1"));
                }
                *slot = v;
            }
        }
        Ok(o)
    }
}

pub fn run(args: SimulateArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    if let Some(data) = &args.data {
        return run_data(&args, data, &model);
    }
    let text = match &args.scenario {
        Some(path) => Some((
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?,
            path.display().to_string(),
        )),
        None => None,
    };
    run_loaded(args, &model, text)
}

/// [`run`] with the scenario given as text and the name its errors give for it (the Python
/// package passes a scenario written inline); `None` for the quick form. `args.scenario` and
/// `args.data` are not read.
pub fn run_with_text(
    args: SimulateArgs,
    scenario_text: Option<(String, String)>,
) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    run_loaded(args, &model, scenario_text)
}

fn run_loaded(
    args: SimulateArgs,
    model: &Model,
    scenario_text: Option<(String, String)>,
) -> Result<ExitCode, String> {
    let scenario = match &scenario_text {
        Some((text, origin)) => {
            let given = args.quick.given();
            if !given.is_empty() {
                return Err(format!(
                    "{} cannot be combined with a scenario file; edit {origin} instead",
                    given.join(", "),
                ));
            }
            parse_scenario(text, origin, model).map_err(|e| e.to_string())?
        }
        None => crate::quick::scenario(&args.quick, model)?,
    };
    let options = args.solver.options()?;
    let method = SimulationMethod::parse(&args.method)
        .ok_or_else(|| format!("--method '{}': allowed: exact, fast", args.method))?;
    let (subject, runs) = run_scenario(model, &scenario, options, method)?;
    let results = Results {
        model,
        scenario: &scenario,
        subject: &subject,
        runs,
    };
    results.print_summary();
    // Every output is made before any is written, and they are written as one set: a
    // failure leaves the folder as the previous run left it, not half replaced.
    let mut files = vec![
        ("timecourse.csv", results.timecourse_csv()?),
        ("summary.json", results.summary_json(&options, method)?),
    ];
    if !args.no_plot {
        let (svg, png) = results.plots()?;
        files.push(("timecourse.svg", svg));
        files.push(("timecourse.png", png));
    }
    // Without plots, the figures of an earlier run would no longer match the data beside them.
    let stale: Vec<PathBuf> = if args.no_plot {
        PLOT_FILES.iter().map(|f| args.out.join(f)).collect()
    } else {
        Vec::new()
    };
    let removed: Vec<String> = stale
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    ensure_dir(&args.out)?;
    let files: Vec<(PathBuf, Vec<u8>)> = files
        .into_iter()
        .map(|(name, bytes)| (args.out.join(name), bytes))
        .collect();
    write_set_atomic(&files, &stale)?;
    println!(
        "\nwrote {}",
        files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !removed.is_empty() {
        println!(
            "removed {} of an earlier run (--no-plot)",
            removed.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `simulate --data`: the dataset's own doses and times; of the quick form only the patient
/// flags apply (as defaults for absent columns), and only the exact method.
fn run_data(
    args: &SimulateArgs,
    data: &std::path::Path,
    model: &Model,
) -> Result<ExitCode, String> {
    let q = &args.quick;
    let patient_flags = ["--weight", "--age", "--sex", "--crcl", "--disease"];
    let other: Vec<&str> = q
        .given()
        .into_iter()
        .filter(|f| !patient_flags.contains(f))
        .collect();
    if !other.is_empty() {
        return Err(format!(
            "{} cannot be combined with --data: the dataset gives the doses and times (only {} \
             apply, for columns the dataset does not have)",
            other.join(", "),
            patient_flags.join(", ")
        ));
    }
    if args.method != "exact" {
        return Err(format!(
            "--method '{}' with --data: allowed: exact (a dataset's predictions are exact)",
            args.method
        ));
    }
    let defaults = crate::dataset_file::PatientDefaults {
        weight: q.weight,
        age: q.age,
        sex: q.sex.clone(),
        crcl: q.crcl,
        disease: q.disease.clone(),
    };
    crate::data_simulate::run(
        data,
        &args.out,
        model,
        &defaults,
        args.solver.options()?,
        args.no_plot,
    )
}

/// The figures `simulate` draws; with --no-plot, these exact names are removed from --out.
const PLOT_FILES: [&str; 2] = ["timecourse.svg", "timecourse.png"];

/// Simulate every regimen of a scenario for its patient on the scenario's output grid.
pub fn run_scenario<'m>(
    model: &'m Model,
    scenario: &Scenario,
    options: SolverOptions,
    method: SimulationMethod,
) -> Result<(Subject<'m>, Vec<(Trajectory, RegimenSummary)>), String> {
    let subject = Subject::new(model, &scenario.patient, &[], options)
        .map_err(|e| format!("scenario '{}': {e}", scenario.name))?;
    let grid = scenario.output_grid();
    let mut runs = Vec::new();
    for r in &scenario.regimens {
        let run = match method {
            SimulationMethod::Exact => {
                simulate_and_summarise(&subject, r, scenario.duration_h, &grid)
            }
            SimulationMethod::Fast => il1sim_core::metrics::summarise_fast(
                &subject,
                r,
                scenario.duration_h,
                &grid,
                &CRP_REPORT_DAYS,
            ),
            SimulationMethod::Batched => il1sim_core::metrics::summarise_batched(
                &[&subject],
                r,
                scenario.duration_h,
                &grid,
                &CRP_REPORT_DAYS,
                1,
            )
            .remove(0),
        }
        .map_err(|e| format!("scenario '{}', regimen '{}': {e}", scenario.name, r.name))?;
        runs.push(run);
    }
    Ok((subject, runs))
}

/// timecourse.csv: `time_h`, every observable (`<name>_<unit>`), `regimen`; one row per output
/// time and regimen. `il1sim serve` answers its CSV request with the same bytes.
pub fn timecourse_csv(
    model: &Model,
    subject: &Subject,
    runs: &[(Trajectory, RegimenSummary)],
) -> Result<Vec<u8>, String> {
    let mut header = vec!["time_h".to_string()];
    header.extend(model.observables.iter().map(|o| o.column()));
    header.push("regimen".into());
    let mut rows = Vec::new();
    for (traj, summary) in runs {
        for (t, y) in traj.times_h.iter().zip(&traj.states) {
            let mut row = vec![num(*t)];
            row.extend(subject.observe(y).into_iter().map(num));
            row.push(summary.regimen.clone());
            rows.push(row);
        }
    }
    csv_text(&header, &rows)
}

/// The patient-specific PK parameters of the drugs a scenario gives (`CL_<drug>` and, for
/// anakinra, `V_central`), in their declared units.
fn patient_parameters(
    model: &Model,
    subject: &Subject,
    scenario: &Scenario,
) -> Vec<(String, f64, String)> {
    let mut names: Vec<String> = Vec::new();
    for r in &scenario.regimens {
        for n in [
            format!("CL_{}", r.drug),
            if r.drug == "anakinra" {
                "V_central".to_string()
            } else {
                String::new()
            },
        ] {
            if !n.is_empty() && !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
        .into_iter()
        .filter_map(|n| {
            let id = model.parameter_id(&n)?;
            let p = &model.parameters[id];
            Some((
                n,
                subject.params.values[id] / p.to_canonical,
                p.unit.clone(),
            ))
        })
        .collect()
}

/// One simulated scenario: what every output is made from.
struct Results<'a> {
    model: &'a Model,
    scenario: &'a Scenario,
    subject: &'a Subject<'a>,
    runs: Vec<(Trajectory, RegimenSummary)>,
}

impl Results<'_> {
    fn print_summary(&self) {
        let (model, scenario, subject, runs) =
            (self.model, self.scenario, self.subject, &self.runs);
        let p = &scenario.patient;
        println!(
            "il1sim {} — scenario '{}': {}",
            env!("CARGO_PKG_VERSION"),
            scenario.name,
            scenario.description
        );
        println!(
            "patient: {} kg, {} years, {}, CrCl {} mL/min, disease {}; {} days",
            p.weight_kg,
            p.age_y,
            p.sex.label(),
            p.crcl_ml_min,
            p.disease,
            scenario.duration_h / HOURS_PER_DAY
        );
        for (name, value, unit) in patient_parameters(model, subject, scenario) {
            println!(
                "  {name} for this patient: {} {unit}",
                il1sim_core::validation::targets::fmt_num(value)
            );
        }
        println!();
        let names: Vec<&str> = runs.iter().map(|(_, s)| s.regimen.as_str()).collect();
        let w = names
            .iter()
            .map(|n| n.len())
            .max()
            .unwrap_or(10)
            .clamp(12, 36);
        print!("{:<42}{:<20}", "figure", "unit");
        for n in &names {
            print!("{:>w$}  ", n, w = w);
        }
        println!();
        let labels: &[(&str, &str)] = &[
            ("cmax", "Cmax (last interval)"),
            ("tmax", "Tmax"),
            ("trough", "trough"),
            ("auc_tau", "AUC over last interval"),
            ("c_average", "average concentration"),
            (
                "occupancy_antagonist_trough",
                "IL-1RI occupancy by antagonist, trough",
            ),
            ("il1_signal_relative_trough", "IL-1 signal at trough"),
            ("crp_untreated", "CRP untreated"),
            ("crp_day_1", "CRP day 1"),
            ("crp_day_7", "CRP day 7"),
            ("crp_day_14", "CRP day 14"),
            ("crp_end", "CRP at end"),
        ];
        for (key, label) in labels {
            let unit = runs
                .first()
                .and_then(|(_, s)| s.figures.iter().find(|f| f.name == *key))
                .map(|f| f.unit.clone());
            let Some(unit) = unit else { continue };
            print!("{:<42.42}{:<20.20}", label, unit);
            for (_, s) in runs {
                print!(
                    "{:>w$}  ",
                    s.get(key).map(fmt_num).unwrap_or_else(|| "-".into()),
                    w = w
                );
            }
            println!();
        }
        for (_, s) in runs {
            if let Some(ss) = &s.steady_state {
                println!("regimen '{}': periodic steady state by Newton in {} iterations, scaled residual {:.1e}", s.regimen, ss.newton_iterations, ss.scaled_residual);
            }
        }
        let iv = scenario.regimens.iter().any(|r| {
            r.administration.route() == il1sim_core::model::definition::RouteKind::Intravenous
        });
        if iv {
            println!(
                "note: IV disposition is calibrated from SC data; at high IV rates published plasma levels are \
                 1.4-2.7 times the model's (22 ± 4 µg/mL at 100 mg + 2 mg/kg/h, model 16; 34 ± 3 µg/mL after \
                 133 mg/h for 6 h, model 12.4): read high-dose IV exposure as a lower bound; see docs/model.md, high-dose IV"
            );
        }
    }

    fn timecourse_csv(&self) -> Result<Vec<u8>, String> {
        timecourse_csv(self.model, self.subject, &self.runs)
    }

    fn summary_json(
        &self,
        options: &SolverOptions,
        method: SimulationMethod,
    ) -> Result<Vec<u8>, String> {
        let (model, scenario, subject, runs) =
            (self.model, self.scenario, self.subject, &self.runs);
        let p = &scenario.patient;
        let value = json!({
            "il1sim_version": env!("CARGO_PKG_VERSION"),
            "model": model.name,
            "scenario": { "name": scenario.name, "description": scenario.description,
                          "duration": { "value": scenario.duration_h, "unit": "h" },
                          "output_interval": { "value": scenario.output_interval_h, "unit": "h" } },
            "patient": {
                "weight": { "value": p.weight_kg, "unit": "kg" },
                "age": { "value": p.age_y, "unit": "years" },
                "sex": p.sex.label(),
                "crcl": { "value": p.crcl_ml_min, "unit": "mL/min" },
                "disease": p.disease,
            },
            "patient_parameters": patient_parameters(model, subject, scenario)
                .into_iter()
                .map(|(name, value, unit)| (name, json!({ "value": value, "unit": unit })))
                .collect::<serde_json::Map<String, serde_json::Value>>(),
            "solver": { "method": method.name(), "integrator": format!("{:?}", options.method).to_lowercase(), "rtol": options.rtol, "atol_relative_to_state_scale": options.atol },
            "regimens": runs.iter().map(|(_, s)| s).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
        Ok(text.into_bytes())
    }

    /// timecourse.svg and timecourse.png.
    fn plots(&self) -> Result<(Vec<u8>, Vec<u8>), String> {
        let (model, scenario, subject, runs) =
            (self.model, self.scenario, self.subject, &self.runs);
        let panels: Vec<Panel> = model
            .observables
            .iter()
            .enumerate()
            .map(|(k, o)| Panel {
                title: o.description.clone(),
                y_label: format!("{} ({})", o.name, o.unit),
                series: runs
                    .iter()
                    .map(|(traj, s)| Series {
                        label: s.regimen.clone(),
                        points: traj
                            .times_h
                            .iter()
                            .zip(&traj.states)
                            .map(|(t, y)| (t / HOURS_PER_DAY, subject.observe(y)[k]))
                            .collect(),
                    })
                    .collect(),
                log_y: false,
            })
            .collect();
        let mut doses = Vec::new();
        for r in &scenario.regimens {
            let ev = r
                .dose_events(scenario.patient.weight_kg, scenario.duration_h)
                .map_err(|e| e.to_string())?;
            doses.push(DoseMarks {
                label: r.name.clone(),
                times_days: ev.iter().map(|e| e.time_h / HOURS_PER_DAY).collect(),
            });
        }
        let title = format!(
            "{} — {} kg, {}, CrCl {} mL/min",
            scenario.name,
            scenario.patient.weight_kg,
            scenario.patient.disease,
            scenario.patient.crcl_ml_min
        );
        let svg = timecourse_svg(&title, &panels, &doses)?;
        let png = crate::plot::timecourse::timecourse_png(&title, &panels, &doses)?;
        Ok((svg.into_bytes(), png))
    }
}
