//! Virtual populations: covariates sampled from declared distributions (with correlations,
//! through a Gaussian copula) or taken from a table, log-normal inter-individual variability
//! with a checked variance–covariance matrix, residual error, per-subject figures, and
//! mergeable aggregates (percentile bands from fixed histograms, target-attainment counts).
//!
//! Reproducibility: subject `i` draws everything from its own ChaCha8 stream seeded from
//! (run seed, i), so results do not depend on thread count or sharding; aggregates are
//! integer counts, so merging shards in any order gives identical bytes.
//!
//! Populations (layer 5): the checked population (`definition`), covariate sampling,
//! covariate tables and random streams (`sampling`), one subject's outcome (`outcome`), and
//! the mergeable aggregates and shards (`aggregates`). It may import the model, dosing,
//! solving and metrics layers and the shared `error` and `time` modules; the population
//! file's format is in `exchange::population_file`.

pub mod aggregates;
pub mod definition;
pub mod outcome;
pub mod sampling;
