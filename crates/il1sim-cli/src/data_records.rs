//! `il1sim data-records FILE`: the records as il1sim reads them, for checking a dataset and
//! for the cross-check with an independent reader (benches/pharmpy): each subject's patient,
//! occasions, every dose as the engine gives it (II/ADDL expanded by `Regimen::dose_events`,
//! on the dataset's clock) and every observation; `--cmt` lists the model's CMT numbers and
//! names instead. Text, or JSON with `--json`.

use crate::dataset_file::{given_doses, load, notes, PatientDefaults};
use il1sim_core::dosing::regimen::Administration;
use il1sim_core::exchange::dataset::compartments::cmt_table;
use il1sim_core::model::definition::Model;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct DataRecordsArgs {
    /// Dataset (NONMEM-style CSV; docs/datasets.md)
    pub data: Option<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// List the model's CMT numbers and names (routes for doses, observables) and stop
    #[arg(long)]
    pub cmt: bool,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub defaults: PatientDefaults,
}

fn infusion_h(a: &Administration, amount_mg: f64) -> Option<f64> {
    a.infusion_hours(amount_mg)
}

pub fn run(args: DataRecordsArgs) -> Result<ExitCode, String> {
    let model: Model = crate::model_file::load_model(args.model.as_deref())?;
    if args.cmt {
        let table = cmt_table(&model);
        if args.json {
            let v: Vec<_> = table
                .iter()
                .map(|e| json!({"cmt": e.number, "name": e.name, "description": e.description}))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
            );
        } else {
            println!(
                "CMT numbers of model '{}' (CMT may also be written by name):",
                model.name
            );
            for e in &table {
                println!("{:>5}  {:<32} {}", e.number, e.name, e.description);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let path = args
        .data
        .as_ref()
        .ok_or("give a dataset file, or --cmt for the CMT table")?;
    let data = load(path, &model, &args.defaults)?;
    for n in notes(&data) {
        eprintln!("{n}");
    }
    let mut subjects = Vec::new();
    for s in &data.subjects {
        let doses: Vec<_> = given_doses(s)?
            .iter()
            .map(|g| {
                json!({
                    "time_h": g.event.time_h,
                    "amount_mg": g.event.amount_mg,
                    "drug": g.regimen.drug,
                    "route": g.event.administration.route().label(),
                    "infusion_h": infusion_h(&g.event.administration, g.event.amount_mg),
                    "steady_state": g.regimen.steady_state,
                    "record": g.regimen.name,
                })
            })
            .collect();
        let observations: Vec<_> = s
            .observations
            .iter()
            .map(|o| {
                json!({
                    "time_h": o.time_h,
                    "observable": model.observables[o.observable].name,
                    "dv": o.value,
                    "below_lloq": o.below_lloq,
                    "lloq": o.lloq,
                    "line": o.line,
                })
            })
            .collect();
        let p = &s.patient;
        subjects.push(json!({
            "id": s.id,
            "first_line": s.first_line,
            "patient": {"weight_kg": p.weight_kg, "age_y": p.age_y, "sex": p.sex.label(),
                        "crcl_ml_min": p.crcl_ml_min, "disease": p.disease},
            "occasions": s.occasions.iter().map(|o| json!({"start_h": o.start_h, "line": o.line})).collect::<Vec<_>>(),
            "doses": doses,
            "observations": observations,
        }));
    }
    if args.json {
        let v = json!({
            "file": path.display().to_string(),
            "ignored_columns": data.ignored_columns,
            "defaulted": data.defaulted,
            "subjects": subjects,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for s in &subjects {
        println!(
            "ID {} (line {}): {}",
            s["id"].as_str().unwrap_or(""),
            s["first_line"],
            s["patient"]
        );
        for o in s["occasions"].as_array().into_iter().flatten() {
            println!("  occasion from {} h (line {})", o["start_h"], o["line"]);
        }
        for d in s["doses"].as_array().into_iter().flatten() {
            println!(
                "  dose  {:>10} h  {} mg {} {}{}{}  ({})",
                d["time_h"],
                d["amount_mg"],
                d["drug"].as_str().unwrap_or(""),
                d["route"].as_str().unwrap_or(""),
                match d["infusion_h"].as_f64() {
                    Some(h) => format!(" over {h} h"),
                    None => String::new(),
                },
                if d["steady_state"].as_bool() == Some(true) {
                    ", from steady state"
                } else {
                    ""
                },
                d["record"].as_str().unwrap_or("")
            );
        }
        for o in s["observations"].as_array().into_iter().flatten() {
            println!(
                "  obs   {:>10} h  {} = {}{}  (line {})",
                o["time_h"],
                o["observable"].as_str().unwrap_or(""),
                o["dv"],
                if o["below_lloq"].as_bool() == Some(true) {
                    " (below LLOQ)"
                } else {
                    ""
                },
                o["line"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
