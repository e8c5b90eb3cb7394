//! A dataset in the model's terms: subjects, each with a patient, regimens built from its dose
//! records and observations by observable. The estimation layer fits these; the reader fills
//! them from a NONMEM-style CSV.

use crate::dosing::regimen::Regimen;
use crate::model::patient::Patient;

/// One measurement (EVID 0) or prediction-only time (MDV 1) of one observable.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Time since the subject's first record (h).
    pub time_h: f64,
    /// Index of the observable in `Model::observables`; values are in its unit.
    pub observable: usize,
    /// The measured value (DV); `None` when MDV = 1 or when the sample is below LLOQ.
    pub value: Option<f64>,
    /// Lower limit of quantification in the observable's unit, when the dataset gives one.
    pub lloq: Option<f64>,
    /// The sample was reported below the LLOQ (BLQ = 1, or DV < LLOQ): censored, M3-ready.
    pub below_lloq: bool,
    /// 1-based line of the record in the dataset file (the header is line 1).
    pub line: usize,
}

/// One subject (ID) of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSubject {
    /// The ID column as written.
    pub id: String,
    /// Covariates from the subject's first record (weight, age, sex, CrCl) and the disease.
    pub patient: Patient,
    /// The dose records, each as a regimen (a single dose, or II/ADDL repeats, SS as a start
    /// from the periodic steady state), built with `Regimen` so that the dose engine gives
    /// them their meaning.
    pub regimens: Vec<Regimen>,
    /// Observations and prediction-only rows, in time order.
    pub observations: Vec<Observation>,
    /// 1-based line of the subject's first record.
    pub first_line: usize,
}

/// A dataset: its subjects in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    pub subjects: Vec<DataSubject>,
}

/// One row of a NONMEM-style output table ($TABLE): per observation, the data and the
/// population and individual predictions with their residuals. Columns absent from a run
/// (no ETAs in a plain simulation, no CWRES without a fit) are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub id: String,
    pub time_h: f64,
    /// Observable name.
    pub observable: String,
    pub dv: Option<f64>,
    pub mdv: bool,
    /// Population prediction (all ETAs zero).
    pub pred: f64,
    /// Individual prediction (the subject's ETAs).
    pub ipred: f64,
    /// DV − PRED.
    pub res: Option<f64>,
    /// DV − IPRED.
    pub ires: Option<f64>,
    /// Weighted residual (population).
    pub wres: Option<f64>,
    /// Conditional weighted residual (FOCE linearisation around the individual ETAs).
    pub cwres: Option<f64>,
    /// Individual weighted residual, (DV − IPRED) / SD.
    pub iwres: Option<f64>,
    /// The subject's ETAs, in the order of the fit's parameter names.
    pub etas: Vec<f64>,
}
