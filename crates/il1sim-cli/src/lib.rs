//! The commands of the `il1sim` binary as a library: `main.rs` parses the command line and
//! calls them; the Python package (`crates/il1sim-py`) calls the same functions, so both
//! front ends read the same files, give the same errors and write the same bytes.

pub mod bench;
pub mod check;
pub mod compare;
pub mod data_records;
pub mod data_simulate;
pub mod data_table;
pub mod dataset_file;
pub mod dose_find;
pub mod dose_response;
pub mod export_sbml;
pub mod fit_data;
pub mod fit_individual;
pub mod fit_population;
pub mod missed_dose;
pub mod model_file;
pub mod output;
pub mod plan;
pub mod plot;
pub mod population;
pub mod quick;
pub mod sensitivity;
pub mod serve;
pub mod simulate;
pub mod simulate_study;
pub mod trial;
pub mod validate;
pub mod vpc;
