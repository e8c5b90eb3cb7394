//! `il1sim bench`: cost per virtual subject, measured on this machine. For a scenario file
//! the scenario's patient is simulated N times (untreated baseline and every regimen, as a
//! population subject would be); for a population file N subjects of the population are
//! simulated and aggregated without writing files. Tests never depend on these timings.

use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::exchange::scenario::parse_scenario;
use il1sim_core::metrics::{
    simulate_and_summarise, summarise_batched, summarise_fast, CRP_REPORT_DAYS,
};
use il1sim_core::population::aggregates::Aggregates;
use il1sim_core::population::definition::{SimulationMethod, MAX_SUBJECTS};
use il1sim_core::population::outcome::{simulate_subject, simulate_subjects, LANES};
use il1sim_core::solve::batch::WIDTHS;
use il1sim_core::solve::subject::Subject;
use rayon::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Scenario or population file
    pub file: PathBuf,
    /// Number of subjects to simulate, 1 to 100,000,000
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub subjects: u64,
    /// Worker threads (1 by default, so the figure is the cost on one core)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// exact, fast or batched (docs/solver.md, "Fast method", "Batched method") [default:
    /// the population file's, or exact for a scenario file]
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Subjects per batch of the batched method: 1, 4, 8 or 16
    #[arg(long, value_name = "N", default_value_t = LANES)]
    pub lanes: usize,
    #[command(flatten)]
    pub solver: crate::simulate::SolverArgs,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

pub fn run(args: BenchArgs) -> Result<ExitCode, String> {
    if args.subjects == 0 || args.subjects > MAX_SUBJECTS {
        return Err(format!(
            "--subjects {}: allowed: 1 to 100,000,000 (the limit of population.subjects)",
            args.subjects
        ));
    }
    if args.threads == 0 {
        return Err("--threads 0: allowed: 1 or more".into());
    }
    let model = crate::model_file::load_model(args.model.as_deref())?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let origin = args.file.display().to_string();
    let options = args.solver.options()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .map_err(|e| e.to_string())?;
    let n = args.subjects;
    let lanes = args.lanes;
    if !WIDTHS.contains(&lanes) {
        return Err(format!("--lanes {lanes}: allowed: 1, 4, 8, 16"));
    }
    let method = match args.method.as_deref() {
        None => None,
        Some(m) => Some(
            SimulationMethod::parse(m)
                .ok_or_else(|| format!("--method '{m}': allowed: exact, fast, batched"))?,
        ),
    };
    // Failed subject-regimens, and how many of them are subjects whose covariates could not
    // be sampled (population files only).
    let (label, regimens, failures, unsampled, wall, method) = if text.contains("\n[population]") {
        let mut pop = parse_population(&text, &origin, &model).map_err(|e| e.to_string())?;
        pop.subjects = n;
        // As in a run: a covariate table is read (and checked) here, not by the parser.
        crate::population::run::load_covariate_table(&args.file, &mut pop)?;
        if let Some(m) = method {
            pop.method = m;
        }
        let start = Instant::now();
        // As in a population run: subjects in parallel, aggregation in id order.
        let mut agg = Aggregates::new(&model, &pop);
        let outcomes: Vec<_> = pool.install(|| {
            if pop.method == SimulationMethod::Batched {
                let ids: Vec<u64> = (0..n).collect();
                ids.par_chunks(lanes)
                    .flat_map_iter(|b| simulate_subjects(&model, &pop, b, options, lanes))
                    .collect()
            } else {
                (0..n)
                    .into_par_iter()
                    .map(|id| simulate_subject(&model, &pop, id, options))
                    .collect()
            }
        });
        for o in &outcomes {
            agg.add(&pop, o);
        }
        let wall = start.elapsed().as_secs_f64();
        (
            format!("population '{}'", pop.name),
            pop.regimens.len(),
            agg.failed.iter().sum::<u64>(),
            agg.unsampled,
            wall,
            pop.method,
        )
    } else {
        let scenario = parse_scenario(&text, &origin, &model).map_err(|e| e.to_string())?;
        let grid = scenario.output_grid();
        let method = method.unwrap_or(SimulationMethod::Exact);
        let start = Instant::now();
        let batched = |count: usize| -> u64 {
            let subjects: Vec<Subject> = (0..count)
                .filter_map(|_| Subject::new(&model, &scenario.patient, &[], options).ok())
                .collect();
            let refs: Vec<&Subject> = subjects.iter().collect();
            let unbuilt = (count - subjects.len()) * scenario.regimens.len();
            let failed: usize = scenario
                .regimens
                .iter()
                .map(|r| {
                    let grid = &grid;
                    summarise_batched(&refs, r, scenario.duration_h, grid, &CRP_REPORT_DAYS, lanes)
                        .iter()
                        .filter(|x| x.is_err())
                        .count()
                })
                .sum();
            (unbuilt + failed) as u64
        };
        let failures: u64 = pool.install(|| {
            if method == SimulationMethod::Batched {
                let ids: Vec<u64> = (0..n).collect();
                return ids.par_chunks(lanes).map(|b| batched(b.len())).sum();
            }
            (0..n)
                .into_par_iter()
                .map(|_| {
                    let Ok(s) = Subject::new(&model, &scenario.patient, &[], options) else {
                        return scenario.regimens.len() as u64;
                    };
                    scenario
                        .regimens
                        .iter()
                        .filter(|r| match method {
                            SimulationMethod::Exact => {
                                simulate_and_summarise(&s, r, scenario.duration_h, &grid).is_err()
                            }
                            SimulationMethod::Fast => {
                                summarise_fast(&s, r, scenario.duration_h, &grid, &CRP_REPORT_DAYS)
                                    .is_err()
                            }
                            SimulationMethod::Batched => true,
                        })
                        .count() as u64
                })
                .sum()
        });
        let wall = start.elapsed().as_secs_f64();
        (
            format!("scenario '{}'", scenario.name),
            scenario.regimens.len(),
            failures,
            0,
            wall,
            method,
        )
    };
    let failed = if unsampled > 0 {
        format!("{failures} failed (subject x regimen), {unsampled} subject(s) of them because covariate sampling failed")
    } else {
        format!("{failures} failed solves")
    };
    let per_subject_ms = 1e3 * wall * args.threads as f64 / n as f64;
    println!("{label}: {n} subjects x {regimens} regimen(s) on {} thread(s), method {}{}, integrator {:?} rtol {:e}: {:.3} s wall, {failed}", args.threads, method.name(), if method == SimulationMethod::Batched { format!(" ({lanes} lanes, Rodas4)") } else { String::new() }, options.method, options.rtol, wall);
    println!("per_subject_ms={per_subject_ms:.4}");
    println!("per_subject_wall_ms={:.4}", 1e3 * wall / n as f64);
    println!(
        "machine: {} logical cores",
        std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1)
    );
    Ok(ExitCode::SUCCESS)
}
