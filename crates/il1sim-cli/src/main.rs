//! `il1sim`: the command-line front end. It reads files, calls il1sim-core, and writes
//! results atomically; all science lives in the core library. The commands are the
//! modules of this package's library (`lib.rs`), which the Python package calls too.

use clap::{Parser, Subcommand};
use il1sim_cli::{
    bench, check, compare, data_records, dose_find, dose_response, export_sbml, fit_individual,
    fit_population, missed_dose, plan, population, sensitivity, serve, simulate, simulate_study,
    trial, validate, vpc,
};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "il1sim", version, about = "Mechanistic simulation of the IL-1 system and its blockade by anakinra", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate a scenario file, or one regimen given on the command line (quick form).
    Simulate(Box<simulate::SimulateArgs>),
    /// Run the validation targets (published figures) and print model vs published.
    Validate(validate::ValidateArgs),
    /// List the model's parameters with values, units and sources.
    Parameters(validate::ParametersArgs),
    /// Simulate a virtual population (optionally one shard of it).
    Population(Box<population::run::PopulationArgs>),
    /// Run a virtual clinical trial (ACR20/50/70 per arm with 95% intervals).
    Trial(Box<trial::TrialArgs>),
    /// Merge the shards of a population run into its outputs.
    Merge(population::merge::MergeArgs),
    /// Measure the cost per virtual subject on this machine.
    Bench(bench::BenchArgs),
    /// Compare a scenario's regimens or drugs side by side (HTML report and CSV).
    Compare(compare::CompareArgs),
    /// Write a scenario's model, patient and first regimen as SBML Level 3 to standard output.
    ExportSbml(export_sbml::ExportSbmlArgs),
    /// Is this regimen right for this patient, and why: the label rules that fire, with sources.
    Check(Box<check::CheckArgs>),
    /// Injection calendar for a patient file (.ics and printable HTML) with site rotation and ANC visits.
    Plan(Box<plan::PlanArgs>),
    /// Share of a population reaching a target over a grid of doses (table, CSV, curves).
    DoseResponse(Box<dose_response::DoseResponseArgs>),
    /// Rank the regimens the label allows against targets, for a patient or a population.
    DoseFind(Box<dose_find::DoseFindArgs>),
    /// A dose is late: compare taking it now, skipping it, shifting, doubling or splitting.
    MissedDose(Box<missed_dose::MissedDoseArgs>),
    /// Simulate a study design (population file with [study]) into a NONMEM-style dataset.
    SimulateStudy(Box<simulate_study::SimulateStudyArgs>),
    /// Population estimation (FOCE-I) on a dataset: estimates, SEs, OFV, shrinkage, table, plots.
    FitPopulation(Box<fit_population::FitPopulationArgs>),
    /// Visual predictive check of a fit-population run (SVG/PNG and CSV).
    Vpc(Box<vpc::VpcArgs>),
    /// A NONMEM-style dataset as il1sim reads it: doses (II/ADDL expanded), observations, CMT numbers.
    DataRecords(Box<data_records::DataRecordsArgs>),
    /// Which parameters a scenario's figures depend on: local coefficients, Morris screening, Sobol indices.
    Sensitivity(Box<sensitivity::SensitivityArgs>),
    /// The explorer in the browser: a local page and JSON API (http://127.0.0.1:8080).
    Serve(serve::server::ServeArgs),
    /// MAP Bayesian estimate of each subject of a dataset, with 90% intervals, and the label's dose for a target.
    FitIndividual(Box<fit_individual::FitIndividualArgs>),
}

fn main() -> ExitCode {
    // Behave like other Unix tools when the reader of our output goes away (`il1sim ... | head`):
    // end quietly instead of failing on a write to a closed pipe.
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(*args),
        Command::Validate(args) => validate::run(args),
        Command::Parameters(args) => validate::parameters(args),
        Command::ExportSbml(args) => export_sbml::run(args),
        Command::Population(args) => population::run::run(*args),
        Command::Trial(args) => trial::run(*args),
        Command::Merge(args) => population::merge::run_merge(args),
        Command::Bench(args) => bench::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Check(args) => check::run(*args),
        Command::Plan(args) => plan::run(*args),
        Command::DoseResponse(args) => dose_response::run(*args),
        Command::DoseFind(args) => dose_find::run(*args),
        Command::MissedDose(args) => missed_dose::run(*args),
        Command::SimulateStudy(args) => simulate_study::run(*args),
        Command::FitPopulation(args) => fit_population::run(*args),
        Command::Vpc(args) => vpc::run(*args),
        Command::DataRecords(args) => data_records::run(*args),
        Command::Sensitivity(args) => sensitivity::run(*args),
        Command::Serve(args) => serve::server::run(args),
        Command::FitIndividual(args) => fit_individual::run(*args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks (unique argument ids and flags, valid defaults) for
    /// every subcommand: a clash between two flattened argument groups fails here.
    #[test]
    fn command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
