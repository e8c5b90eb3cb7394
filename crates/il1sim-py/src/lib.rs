//! `il1sim._native`: the il1sim commands for Python. Each function fills the same argument
//! struct the `il1sim` binary's command line fills and calls the same command function
//! (`il1sim_cli::*::run`), so files, checks, error messages and output bytes are the CLI's;
//! the Python package (`python/il1sim/`) reads the outputs back as pyarrow tables.
//!
//! Errors: every error the CLI prints as `error: <message>` (exit status 2) is raised as
//! `il1sim.InputError(<message>)`, a subclass of `il1sim.Il1simError`. The GIL is released
//! while a command runs, so Dask's threads and other Python threads go on.

use il1sim_cli::population::merge::{run_merge, MergeArgs};
use il1sim_cli::population::run::PopulationArgs;
use il1sim_cli::quick::{day_number, dose_count, QuickArgs};
use il1sim_cli::simulate::{SimulateArgs, SolverArgs};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::process::ExitCode;

create_exception!(
    il1sim,
    Il1simError,
    PyException,
    "Base class of the errors il1sim raises."
);
create_exception!(
    il1sim,
    InputError,
    Il1simError,
    "A file, option or output folder il1sim cannot use; the message is the one the CLI prints \
     (file, line, key, the value and what is allowed)."
);

fn input_error(message: String) -> PyErr {
    InputError::new_err(message)
}

/// Run a command with the GIL released; its error message becomes an `InputError`.
fn call(
    py: Python<'_>,
    command: impl FnOnce() -> Result<ExitCode, String> + Send,
) -> PyResult<ExitCode> {
    py.detach(command).map_err(input_error)
}

fn solver(integrator: Option<String>, rtol: Option<f64>, atol: Option<f64>) -> SolverArgs {
    SolverArgs {
        integrator,
        rtol,
        atol,
    }
}

/// The quick form's options from keyword arguments named like the CLI's flags without the
/// dashes (`dose`, `every`, `missed_dose`, `steady_state`, ...). Values are checked by the
/// same code as the CLI's, so the messages name the CLI flag (`--dose '0mg': ...`).
fn quick_args(quick: Option<&Bound<'_, PyDict>>) -> PyResult<QuickArgs> {
    let mut q = QuickArgs::default();
    let Some(quick) = quick else { return Ok(q) };
    let flag = |key: &str| format!("--{}", key.replace('_', "-"));
    for (key, value) in quick.iter() {
        let key: String = key.extract()?;
        let wrong = |what: &str| {
            input_error(format!(
                "{} {value}: allowed: {what} (keyword argument {key})",
                flag(&key)
            ))
        };
        let text = || value.extract::<String>().map_err(|_| wrong("a text"));
        let number = || value.extract::<f64>().map_err(|_| wrong("a number"));
        let switch = || value.extract::<bool>().map_err(|_| wrong("True or False"));
        // The message clap gives for the same value on the command line.
        let parsed =
            |v: &Bound<'_, PyAny>, value_name: &str, parse: fn(&str) -> Result<u32, String>| {
                let shown = v.str()?.to_string();
                parse(&shown).map_err(|e| {
                    input_error(format!(
                        "invalid value '{shown}' for '{} <{value_name}>': {e}",
                        flag(&key)
                    ))
                })
            };
        let day = |v: &Bound<'_, PyAny>| parsed(v, "DAY", day_number);
        match key.as_str() {
            "drug" => q.drug = Some(text()?),
            "dose" => q.dose = Some(text()?),
            "max_dose" => q.max_dose = Some(text()?),
            "route" => q.route = Some(text()?),
            "iv" => q.iv = switch()?,
            "infusion_hours" => q.infusion_hours = Some(number()?),
            "infusion_rate" => q.infusion_rate = Some(number()?),
            "every" => q.every = Some(text()?),
            "days" => q.days = Some(number()?),
            "doses" => q.doses = Some(parsed(&value, "N", dose_count)?),
            "loading_dose" => q.loading_dose = Some(text()?),
            "missed_dose" => {
                q.missed_dose = if let Ok(days) = value.extract::<Vec<Bound<'_, PyAny>>>() {
                    days.iter().map(day).collect::<PyResult<_>>()?
                } else {
                    vec![day(&value)?]
                }
            }
            "stop_day" => q.stop_day = Some(day(&value)?),
            "weight" => q.weight = Some(number()?),
            "age" => q.age = Some(number()?),
            "sex" => q.sex = Some(text()?),
            "crcl" => q.crcl = Some(number()?),
            "disease" => q.disease = Some(text()?),
            "steady_state" => q.steady_state = switch()?,
            "output_interval" => q.output_interval = Some(text()?),
            other => {
                return Err(input_error(format!(
                    "unknown keyword argument '{other}'; allowed (the quick form's options): {}",
                    QUICK_KEYS.join(", ")
                )))
            }
        }
    }
    Ok(q)
}

/// The keyword arguments of the quick form, in `il1sim simulate --help` order.
const QUICK_KEYS: [&str; 20] = [
    "drug",
    "dose",
    "max_dose",
    "route",
    "iv",
    "infusion_hours",
    "infusion_rate",
    "every",
    "days",
    "doses",
    "loading_dose",
    "missed_dose",
    "stop_day",
    "weight",
    "age",
    "sex",
    "crcl",
    "disease",
    "steady_state",
    "output_interval",
];

/// `il1sim simulate`: a scenario file (`path`), a scenario as text (`text`, named `origin`
/// in errors) or the quick form (`quick`), written into `out`.
#[pyfunction]
#[pyo3(signature = (out, path=None, text=None, origin=None, quick=None, method="exact".to_string(), integrator=None, rtol=None, atol=None, model=None, plot=false))]
#[allow(clippy::too_many_arguments)]
fn simulate(
    py: Python<'_>,
    out: PathBuf,
    path: Option<PathBuf>,
    text: Option<String>,
    origin: Option<String>,
    quick: Option<&Bound<'_, PyDict>>,
    method: String,
    integrator: Option<String>,
    rtol: Option<f64>,
    atol: Option<f64>,
    model: Option<PathBuf>,
    plot: bool,
) -> PyResult<()> {
    let args = SimulateArgs {
        scenario: path.clone(),
        data: None,
        out,
        quick: quick_args(quick)?,
        solver: solver(integrator, rtol, atol),
        method,
        model,
        no_plot: !plot,
    };
    let source = text.map(|t| (t, origin.unwrap_or_else(|| "<scenario text>".into())));
    call(py, move || match source {
        Some(text) => il1sim_cli::simulate::run_with_text(args, Some(text)),
        None => il1sim_cli::simulate::run(args),
    })?;
    Ok(())
}

/// `il1sim population`: one run, or one shard (`shard = "K/N"`), written into `out`.
/// Returns True when the outputs were merged (a run that is not split).
#[pyfunction]
#[pyo3(signature = (path, out, shard=None, subjects=None, seed=None, method=None, csv=false, timecourses=false, threads=None, integrator=None, rtol=None, atol=None, model=None))]
#[allow(clippy::too_many_arguments)]
fn population(
    py: Python<'_>,
    path: PathBuf,
    out: PathBuf,
    shard: Option<String>,
    subjects: Option<u64>,
    seed: Option<u64>,
    method: Option<String>,
    csv: bool,
    timecourses: bool,
    threads: Option<usize>,
    integrator: Option<String>,
    rtol: Option<f64>,
    atol: Option<f64>,
    model: Option<PathBuf>,
) -> PyResult<()> {
    let args = PopulationArgs {
        file: path,
        out,
        shard,
        subjects,
        seed,
        method,
        csv,
        timecourses,
        threads,
        solver: solver(integrator, rtol, atol),
        model,
    };
    call(py, move || il1sim_cli::population::run::run(args))?;
    Ok(())
}

/// `il1sim merge`: the complete shards in `out/shards` into the outputs in `out`.
#[pyfunction]
#[pyo3(signature = (out, csv=false))]
fn merge(py: Python<'_>, out: PathBuf, csv: bool) -> PyResult<()> {
    call(py, move || run_merge(MergeArgs { dir: out, csv }))?;
    Ok(())
}

/// `il1sim validate --csv <csv>`: returns True when no target failed (the CLI's exit 0).
#[pyfunction]
#[pyo3(signature = (csv, targets=None, model=None, role=None))]
fn validate(
    py: Python<'_>,
    csv: PathBuf,
    targets: Option<PathBuf>,
    model: Option<PathBuf>,
    role: Option<String>,
) -> PyResult<bool> {
    let args = il1sim_cli::validate::ValidateArgs {
        targets,
        model,
        role,
        csv: Some(csv),
    };
    let code = call(py, move || il1sim_cli::validate::run(args))?;
    Ok(code == ExitCode::SUCCESS)
}

/// `il1sim compare`: compare.html and compare.csv in `out`.
#[pyfunction]
#[pyo3(signature = (path, out, integrator=None, rtol=None, atol=None, model=None))]
fn compare(
    py: Python<'_>,
    path: PathBuf,
    out: PathBuf,
    integrator: Option<String>,
    rtol: Option<f64>,
    atol: Option<f64>,
    model: Option<PathBuf>,
) -> PyResult<()> {
    let args = il1sim_cli::compare::CompareArgs {
        scenario: path,
        out,
        solver: solver(integrator, rtol, atol),
        model,
    };
    call(py, move || il1sim_cli::compare::run(args))?;
    Ok(())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Il1simError", py.get_type::<Il1simError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("QUICK_KEYS", QUICK_KEYS.to_vec())?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(population, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    Ok(())
}
