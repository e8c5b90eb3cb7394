//! Clinical response and trials (layer 6): the RA ACR20/50/70 latent-variable model driven
//! by a simulated IL-1 signal (`acr`) and virtual trials of it (`trial`: arms over a
//! population, per-patient response draws, Wilson intervals). It may import the population,
//! metrics, solving, dosing and model layers and the shared modules; the `[trial]` table's
//! format is in `exchange::trial_file`.

pub mod acr;
pub mod trial;
