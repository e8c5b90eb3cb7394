//! What every handler of the explorer shares: the model, the solver options, the bounded
//! job slots and the validation table.

use super::validation_table::ValidationTable;
use il1sim_core::model::definition::Model;
use il1sim_core::solve::options::SolverOptions;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Loaded once and kept for the life of the process (subjects borrow it).
    pub model: &'static Model,
    pub solver: SolverOptions,
    /// One permit per simulation that may run at once.
    pub simulate_slots: Arc<Semaphore>,
    /// One band at a time: a band already uses every core.
    pub band_slots: Arc<Semaphore>,
    pub validation: ValidationTable,
}

impl AppState {
    pub fn new(model: &'static Model, jobs: usize) -> AppState {
        AppState {
            model,
            solver: SolverOptions::DEFAULT,
            simulate_slots: Arc::new(Semaphore::new(jobs.max(1))),
            band_slots: Arc::new(Semaphore::new(1)),
            validation: ValidationTable::default(),
        }
    }
}
