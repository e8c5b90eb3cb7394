//! `il1sim validate`: the validation targets as a table (quantity, published, model,
//! pass/fail/known, source); exit code 1 when any target fails or a known failure passes. `il1sim parameters` lists the
//! model's parameters with their sources.

use crate::output::{csv_text, write_atomic};
use il1sim_core::validation::targets::{
    fmt_num, load_targets, run_target, Outcome, Status, TARGETS_TOML,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// Targets file [default: the bundled validation/targets.toml]
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Only targets of this role: engine, calibration or prediction
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// Also write the table as CSV to this file
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ParametersArgs {
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Show the parameters of this disease overlay (values replaced by the overlay)
    #[arg(long, value_name = "DISEASE")]
    pub disease: Option<String>,
}

pub fn run(args: ValidateArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    let (text, origin) = match &args.targets {
        Some(p) => (
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read targets {}: {e}", p.display()))?,
            p.display().to_string(),
        ),
        None => (
            TARGETS_TOML.to_string(),
            "validation/targets.toml (bundled)".to_string(),
        ),
    };
    let mut targets = load_targets(&text, &origin).map_err(|e| e.to_string())?;
    if let Some(role) = &args.role {
        if !["engine", "calibration", "prediction"].contains(&role.as_str()) {
            return Err(format!(
                "--role '{role}': allowed: engine, calibration, prediction"
            ));
        }
        targets.retain(|t| &t.role == role);
    }
    let outcomes: Vec<Outcome> = targets.iter().map(|t| run_target(&model, t)).collect();
    print_table(&outcomes);
    if let Some(path) = &args.csv {
        let header: Vec<String> = [
            "id",
            "group",
            "role",
            "quantity",
            "published",
            "unit",
            "model",
            "status",
            "source",
            "tolerance_basis",
            "known_failure",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let rows: Vec<Vec<String>> = outcomes
            .iter()
            .map(|o| {
                let t = &o.target;
                vec![
                    t.id.clone(),
                    t.group.clone(),
                    t.role.clone(),
                    t.quantity.clone(),
                    t.check.describe(),
                    t.unit.clone(),
                    o.model_value
                        .as_ref()
                        .map(|v| format!("{v}"))
                        .unwrap_or_else(|e| format!("error: {e}")),
                    o.status().label().into(),
                    t.source.clone(),
                    t.tolerance_basis.clone(),
                    t.known_failure.clone().unwrap_or_default(),
                ]
            })
            .collect();
        write_atomic(path, &csv_text(&header, &rows)?)?;
    }
    let count = |f: &dyn Fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let passed = count(&|o| o.status() == Status::Pass);
    let passed_predictions =
        count(&|o| o.status() == Status::Pass && o.target.role == "prediction");
    let failed = count(&|o| o.status().is_failure());
    let known = count(&|o| o.status() == Status::Known);
    let by_role = |r: &str| count(&|o| o.target.role == r);
    println!(
        "\n{passed} passed ({passed_predictions} of them predictions), {failed} failed, {known} known \
         failure{} ({} targets: {} engine, {} calibration, {} prediction)",
        if known == 1 { "" } else { "s" },
        outcomes.len(),
        by_role("engine"),
        by_role("calibration"),
        by_role("prediction")
    );
    for o in &outcomes {
        if let (Status::Known, Some(reason)) = (o.status(), &o.target.known_failure) {
            println!("known failure {}: {reason}", o.target.id);
        }
        if let (Status::StaleMark, Some(m)) = (o.status(), o.failure_message()) {
            println!("{m}");
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(outcomes: &[Outcome]) {
    let mut group = String::new();
    for o in outcomes {
        let t = &o.target;
        if t.group != group {
            group = t.group.clone();
            println!("\n== {group}");
            println!(
                "   {:<62} {:<26} {:<12} {:<5} {:<11} source",
                "quantity", "published", "model", "", "role"
            );
        }
        let model = match &o.model_value {
            Ok(v) => fmt_num(*v),
            Err(e) => format!("error: {e}"),
        };
        let published = format!("{} {}", t.check.describe(), t.unit);
        println!(
            "   {:<62.62} {:<26.26} {:<12} {:<5} {:<11} {}",
            t.quantity,
            published,
            model,
            o.status().label(),
            t.role,
            t.source
        );
    }
}

pub fn parameters(args: ParametersArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    let overlay = match &args.disease {
        Some(d) => Some(model.diseases.get(d).ok_or_else(|| {
            format!(
                "--disease '{d}': allowed: {}",
                model.disease_names().join(", ")
            )
        })?),
        None => None,
    };
    println!("model '{}': {}", model.name, model.description);
    println!(
        "{} species, {} parameters, diseases: {}\n",
        model.species.len(),
        model.parameters.len(),
        model.disease_names().join(", ")
    );
    for (i, p) in model.parameters.iter().enumerate() {
        let over = overlay.and_then(|d| d.overrides.iter().find(|(id, _, _)| *id == i));
        let (value, source) = match (over, &p.expr) {
            (Some((_, v, s)), _) => (
                format!("{} {} (overlay)", fmt_num(v / p.to_canonical), p.unit),
                s.clone(),
            ),
            (None, Some(expr)) => (format!("= {expr} [{}]", p.unit), p.source.clone()),
            (None, None) => (
                format!("{} {}", fmt_num(p.value / p.to_canonical), p.unit),
                p.source.clone(),
            ),
        };
        println!("{:<24} {}\n{:<24}   source: {}", p.name, value, "", source);
    }
    // The clinical response model reads the mechanistic model's output (il1sim trial).
    let r = il1sim_core::response::acr::ResponseModel::ra_acr();
    println!(
        "\nresponse model '{}' (models/ra-acr-response.toml): {}; driver 1 - {}",
        r.name, r.description, r.driver
    );
    for (name, p) in &r.parameters {
        println!(
            "{:<24} {} {}\n{:<24}   source: {}",
            name,
            fmt_num(p.value),
            p.unit,
            "",
            p.source
        );
    }
    for l in &r.levels {
        println!(
            "{:<24} {} % improvement\n{:<24}   source: {}",
            l.name,
            fmt_num(l.improvement_percent),
            "",
            l.source
        );
    }
    Ok(ExitCode::SUCCESS)
}
