//! A dataset in the model's terms: subjects, each with a patient, regimens built from its dose
//! records and observations by observable. The estimation layer fits these; the reader fills
//! them from a NONMEM-style CSV.

use crate::dosing::regimen::Regimen;
use crate::model::patient::Patient;

/// One measurement (EVID 0) or prediction-only time (MDV 1) of one observable.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Time on the dataset's clock (h): TIME as written, or with DATE and clock times the
    /// hours since the subject's first record.
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
    /// them their meaning. Each `start_h` counts from its occasion's start.
    pub regimens: Vec<Regimen>,
    /// Observations and prediction-only rows, in time order.
    pub observations: Vec<Observation>,
    /// 1-based line of the subject's first record.
    pub first_line: usize,
    /// The subject's occasions: a reset (EVID 3 or 4) or a steady-state dose (SS, which
    /// resets as in NONMEM) starts a new one from the untreated state (or the regimen's
    /// periodic steady state). Every regimen and observation belongs to exactly one; the
    /// first starts at the subject's first record.
    pub occasions: Vec<Occasion>,
}

/// One occasion of a subject: a stretch of the record from one untreated (or steady) state.
#[derive(Debug, Clone, PartialEq)]
pub struct Occasion {
    /// Start on the dataset's clock (h). The occasion's regimens count their `start_h` from
    /// here, so that a regimen means what it means anywhere (a steady-state regimen starts at
    /// 0 h); observation times stay on the dataset's clock.
    pub start_h: f64,
    /// Its regimens, as a range of `DataSubject::regimens` (file order).
    pub regimens: std::ops::Range<usize>,
    /// Its observations, as a range of `DataSubject::observations`.
    pub observations: std::ops::Range<usize>,
    /// 1-based line of the record that started it.
    pub line: usize,
}

/// A dataset: its subjects in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    pub subjects: Vec<DataSubject>,
    /// Columns of the file the reader does not know, as written (ignored).
    pub ignored_columns: Vec<String>,
    /// Patient values taken from the reader's defaults because the file has no column for
    /// them ("weight_kg = 70 (no WT column)"), so that a front end can say so.
    pub defaulted: Vec<String>,
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
