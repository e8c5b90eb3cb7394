//! What `fit-population` and `vpc` share: the dataset, the model and the design a fit uses
//! (files given on the command line, or the bundled PK defaults), and the fit file.
//! The dataset is read by `exchange::dataset`'s reader (`dataset_file::load`).

use il1sim_core::exchange::dataset::subjects::Dataset;
use il1sim_core::model::definition::Model;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The design used when `--design` is not given: the RA PK study, whose `[estimation]`
/// table fits CL, V and ka with IIV and a combined residual error.
pub const DEFAULT_DESIGN: &str = include_str!("../../../examples/designs/ra-pk-study.toml");
pub const DEFAULT_DESIGN_NAME: &str = "examples/designs/ra-pk-study.toml (bundled)";
/// The model used when `--model` is not given: the PK part of il1.toml alone.
pub const DEFAULT_MODEL: &str = include_str!("../../../models/anakinra-pk.toml");
pub const DEFAULT_MODEL_NAME: &str = "models/anakinra-pk.toml (bundled)";

/// The model of a fit: `--model` or the bundled PK model.
pub fn fit_model(path: Option<&Path>) -> Result<Model, String> {
    match path {
        Some(_) => crate::model_file::load_model(path),
        None => Model::from_toml(DEFAULT_MODEL, DEFAULT_MODEL_NAME).map_err(|e| e.to_string()),
    }
}

/// The design text and its name: `--design` or the bundled RA PK study.
pub fn design_text(path: Option<&Path>) -> Result<(String, String), String> {
    match path {
        Some(p) => Ok((
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
            p.display().to_string(),
        )),
        None => Ok((DEFAULT_DESIGN.to_string(), DEFAULT_DESIGN_NAME.to_string())),
    }
}

/// The fit file (`fit.json`) `vpc` reads: where the inputs are and the estimates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitFile {
    pub dataset: PathBuf,
    /// None: the bundled design.
    pub design: Option<PathBuf>,
    /// None: the bundled PK model.
    pub model: Option<PathBuf>,
    pub ofv: f64,
    /// Typical values, canonical units, by parameter name.
    pub theta: Vec<(String, f64)>,
    /// Variances of η, by parameter name.
    pub omega: Vec<(String, f64)>,
    /// (observable, additive SD, proportional SD).
    pub residual: Vec<(String, f64, f64)>,
}

/// Read a dataset through the dataset layer's reader (`dataset_file::load`), with the default
/// patient values for columns it lacks.
pub fn read_dataset(path: &Path, model: &Model) -> Result<Dataset, String> {
    crate::dataset_file::load(
        path,
        model,
        &crate::dataset_file::PatientDefaults::default(),
    )
}
