//! `il1sim simulate-study <design.toml> --out data.csv`: a study design (a population file with
//! a `[study]` table, `il1sim_core::estimation::study`) simulated into a NONMEM-style dataset.
//! Every dose is a record of its own (EVID 1, AMT in mg, CMT the drug's route as
//! `exchange::dataset` names it, `anakinra_sc`, RATE in mg/h for infusions); every sample a
//! record (EVID 0, CMT the observable, DV in its unit; a sample below the LLOQ has BLQ 1 and
//! DV '.'); the covariates WT (kg), AGE (years), SEX, CRCL (mL/min) and DISEASE are on every
//! record. Missing values are '.'.

use crate::output::{csv_text, num, write_atomic};
use il1sim_core::dosing::regimen::{Administration, Regimen};
use il1sim_core::estimation::study::{parse_study, simulate_study};
use il1sim_core::exchange::dataset::subjects::Dataset;
use il1sim_core::model::definition::Model;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct SimulateStudyArgs {
    /// Study design (a population file with a [study] table)
    pub design: PathBuf,
    /// Dataset to write (NONMEM-style CSV)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Random seed (overrides the design's population seed)
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Subjects (overrides the design's population subjects)
    #[arg(long, value_name = "N")]
    pub subjects: Option<u64>,
    /// Worker threads [default: all cores]; the dataset does not depend on it
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

pub fn run(args: SimulateStudyArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    let origin = args.design.display().to_string();
    let text =
        std::fs::read_to_string(&args.design).map_err(|e| format!("cannot read {origin}: {e}"))?;
    let mut design = parse_study(&text, &origin, &model).map_err(|e| e.to_string())?;
    crate::population::run::load_covariate_table(&args.design, &mut design.population)?;
    if let Some(s) = args.seed {
        design.population.seed = s;
    }
    if let Some(n) = args.subjects {
        if n == 0 {
            return Err("--subjects 0 is not allowed; 1 or more".into());
        }
        design.population.subjects = n;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let study = pool.install(|| {
        simulate_study(
            &model,
            &design,
            il1sim_core::solve::options::SolverOptions::DEFAULT,
        )
    })?;
    let bytes = dataset_csv(&model, &study.dataset, design.population.duration_h)?;
    write_atomic(&args.out, &bytes)?;
    let samples: usize = study
        .dataset
        .subjects
        .iter()
        .map(|s| s.observations.len())
        .sum();
    println!(
        "{}: {} subjects, {samples} samples, seed {} -> {} ({:.2} s)",
        design.population.name,
        study.dataset.subjects.len(),
        design.population.seed,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Dataset columns, in order.
pub const COLUMNS: [&str; 15] = [
    "ID", "TIME", "EVID", "MDV", "CMT", "AMT", "RATE", "DV", "LLOQ", "BLQ", "WT", "AGE", "SEX",
    "CRCL", "DISEASE",
];

/// One dose record of a regimen and the regimens given with it (time, mg, route, mg/h).
fn dose_records(
    regimen: &Regimen,
    weight_kg: f64,
    horizon_h: f64,
    out: &mut Vec<(f64, f64, String, f64)>,
) -> Result<(), String> {
    if regimen.steady_state {
        return Err(format!(
            "regimen '{}' starts at steady state, which a dataset of single dose records cannot say; remove steady_state",
            regimen.name
        ));
    }
    for d in regimen
        .dose_events(weight_kg, horizon_h)
        .map_err(|e| e.to_string())?
    {
        let rate = match d.administration {
            Administration::IvInfusion { duration_h } => d.amount_mg / duration_h,
            Administration::IvInfusionAtRate { mg_per_h } => mg_per_h,
            Administration::Subcutaneous | Administration::IvBolus => 0.0,
        };
        out.push((
            d.time_h,
            d.amount_mg,
            format!("{}_{}", regimen.drug, d.administration.route().label()),
            rate,
        ));
    }
    for w in &regimen.with {
        dose_records(w, weight_kg, horizon_h, out)?;
    }
    Ok(())
}

/// The dataset as NONMEM-style CSV: per subject, records in time order; a sample at a dose
/// time comes before the dose (it is taken before it, as the engine observes).
pub fn dataset_csv(model: &Model, dataset: &Dataset, horizon_h: f64) -> Result<Vec<u8>, String> {
    let header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut rows = Vec::new();
    for s in &dataset.subjects {
        let p = &s.patient;
        let covariates = [
            num(p.weight_kg),
            num(p.age_y),
            p.sex.label().to_string(),
            num(p.crcl_ml_min),
            p.disease.clone(),
        ];
        // (time, order at that time: samples 0 then doses 1, row)
        let mut records: Vec<(f64, u8, Vec<String>)> = Vec::new();
        let mut doses = Vec::new();
        for r in &s.regimens {
            dose_records(r, p.weight_kg, horizon_h, &mut doses)?;
        }
        for (t, amt, route, rate) in doses {
            let mut row = vec![
                s.id.clone(),
                num(t),
                "1".into(),
                "1".into(),
                route,
                num(amt),
                num(rate),
                ".".into(),
                ".".into(),
                ".".into(),
            ];
            row.extend(covariates.iter().cloned());
            records.push((t, 1, row));
        }
        for o in &s.observations {
            let mut row = vec![
                s.id.clone(),
                num(o.time_h),
                "0".into(),
                // A BLQ sample is an observation to fit (M3), so MDV 0.
                if o.value.is_some() || o.below_lloq {
                    "0"
                } else {
                    "1"
                }
                .into(),
                model.observables[o.observable].name.clone(),
                ".".into(),
                ".".into(),
                o.value.map(num).unwrap_or(".".into()),
                o.lloq.map(num).unwrap_or(".".into()),
                if o.below_lloq { "1" } else { "0" }.into(),
            ];
            row.extend(covariates.iter().cloned());
            records.push((o.time_h, 0, row));
        }
        records.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        rows.extend(records.into_iter().map(|(_, _, r)| r));
    }
    csv_text(&header, &rows)
}
