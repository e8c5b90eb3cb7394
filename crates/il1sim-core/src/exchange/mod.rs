//! Exchange formats (layer 7): scenario files (`scenario`), population files
//! (`population_file`) and trial files (`trial_file`), with the `[population]` and `[trial]`
//! tables as written (`tables`) and the file error with its line (`spans`), SBML export (`sbml`), and
//! NONMEM-style datasets (`dataset`). It may import every layer below it (0 to 6): a file format depends on the types
//! it describes (the model, dosing, population and response layers), never the other way
//! round.

pub mod dataset;
pub mod population_file;
pub mod sbml;
pub mod scenario;
pub mod spans;
pub mod tables;
pub mod trial_file;
