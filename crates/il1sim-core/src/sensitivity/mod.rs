//! Sensitivity analysis (layer 6): which model parameters the reported figures depend on.
//! `problem` is one patient and regimen evaluated at multiplied parameter values (the
//! figures a sensitivity refers to, the parameters that may be varied); `local` gives
//! normalised local sensitivities d ln y / d ln p by central differences with a
//! Richardson check; `morris` screens the parameters with a declared range by elementary
//! effects; `sobol` estimates first-order and total Sobol indices from Saltelli's sampling,
//! with bootstrap intervals, for any function of the unit hypercube (the model, or a test
//! function with known indices). It may import layers 0 to 5: the model, solving, the
//! one-subject figures (`metrics`) and the per-subject random streams of the population
//! layer, so that results do not depend on the number of threads.

pub mod local;
pub mod morris;
pub mod problem;
pub mod sobol;
