//! Estimation (layer 10): fitting the model to datasets. Simulated study designs (`study`);
//! one subject's parameters from its
//! data: the prior is the population's inter-individual variability (parameter = typical ×
//! exp(η), η ~ N(0, Ω)), the likelihood the residual error model of each observable with M3
//! for samples below the LLOQ (`residual`, `prior`, `objective`); the conditional mode (MAP)
//! with argmin's BFGS (`map`), its uncertainty from the Hessian there (`laplace`), the
//! individual fit (`fit`) and the recovery of known parameters (`recovery`). Population
//! estimation (FOCE-I) reuses the per-subject objective and conditional mode as its inner step.
//! It may import every layer below it (0–9).

pub mod dose;
pub mod error;
pub mod fit;
pub mod fit_spec;
pub mod foce;
pub mod laplace;
pub mod map;
pub mod objective;
pub mod prior;
pub mod recovery;
pub mod residual;
pub mod residuals;
pub mod study;
pub mod vpc;
