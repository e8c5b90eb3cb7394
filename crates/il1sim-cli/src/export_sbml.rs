//! `il1sim export-sbml`: a scenario's model, disease overlay, patient and first regimen as
//! SBML Level 3 on standard output.

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
    let _ = args;
    Err("export-sbml is not implemented yet".into())
}
