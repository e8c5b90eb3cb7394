//! `il1sim export-sbml`: a scenario's model, disease overlay, patient and first regimen as
//! SBML Level 3 on standard output.

use il1sim_core::exchange::scenario::parse_scenario;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ExportSbmlArgs {
    /// Scenario file (TOML)
    pub scenario: PathBuf,
    /// Regimen to export, by name [default: the first regimen]
    #[arg(long, value_name = "NAME")]
    pub regimen: Option<String>,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

pub fn run(args: ExportSbmlArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    let path = &args.scenario;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
    let scenario =
        parse_scenario(&text, &path.display().to_string(), &model).map_err(|e| e.to_string())?;
    let regimen = match &args.regimen {
        None => scenario
            .regimens
            .first()
            .ok_or_else(|| format!("scenario '{}' has no regimen to export", scenario.name))?,
        Some(name) => scenario
            .regimens
            .iter()
            .find(|r| &r.name == name)
            .ok_or_else(|| {
                let names: Vec<String> = scenario
                    .regimens
                    .iter()
                    .map(|r| format!("'{}'", r.name))
                    .collect();
                format!(
                    "--regimen '{name}': scenario '{}' has no such regimen; allowed: {}",
                    scenario.name,
                    names.join(", ")
                )
            })?,
    };
    let subject = Subject::new(&model, &scenario.patient, &[], SolverOptions::default())
        .map_err(|e| format!("scenario '{}': {e}", scenario.name))?;
    let sbml =
        il1sim_core::exchange::sbml::xml::export_sbml(&subject, regimen, scenario.duration_h)
            .map_err(|e| {
                format!(
                    "scenario '{}', regimen '{}': {e}",
                    scenario.name, regimen.name
                )
            })?;
    let mut out = std::io::stdout().lock();
    out.write_all(sbml.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| format!("cannot write to standard output: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
