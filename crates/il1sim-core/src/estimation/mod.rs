//! Estimation (layer 10): fitting the model to datasets. Simulated study designs
//! (`study`) and population estimation by FOCE-I. It may import every layer below it (0–9).

pub mod study;
