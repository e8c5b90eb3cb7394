//! The validation table of `/api/validation`: the bundled targets run once, in a background
//! thread started by the first request (all targets take about 22 s on one core, so they are
//! not run at start-up, where they would slow every other request). Rows are returned as
//! they are computed, with the count still to come, so the page fills in as they arrive.

use il1sim_core::model::definition::Model;
use il1sim_core::validation::targets::{load_targets, run_target, Status, TARGETS_TOML};
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    pub id: String,
    pub group: String,
    pub role: String,
    pub quantity: String,
    pub published: String,
    pub unit: String,
    /// The model's value, None when its experiment failed (then `error` says why).
    pub model: Option<f64>,
    pub error: Option<String>,
    /// pass, FAIL, known or FIXED, as `il1sim validate` prints them.
    pub status: &'static str,
    pub source: String,
    pub tolerance_basis: String,
    pub known_failure: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Table {
    pub total: usize,
    pub rows: Vec<Row>,
    pub passed: usize,
    pub failed: usize,
    pub known: usize,
    pub complete: bool,
}

/// The table being filled, shared with the thread that fills it.
#[derive(Clone, Default)]
pub struct ValidationTable {
    table: Arc<Mutex<Option<Table>>>,
}

impl ValidationTable {
    /// The rows so far; the first call starts the run.
    pub fn snapshot(&self, model: &'static Model) -> Result<Table, String> {
        let mut guard = self
            .table
            .lock()
            .map_err(|_| "validation table lock poisoned")?;
        if let Some(t) = guard.as_ref() {
            return Ok(t.clone());
        }
        let targets = load_targets(TARGETS_TOML, "validation/targets.toml (bundled)")
            .map_err(|e| e.to_string())?;
        let table = Table {
            total: targets.len(),
            ..Table::default()
        };
        *guard = Some(table.clone());
        let shared = self.table.clone();
        std::thread::spawn(move || {
            for t in &targets {
                let o = run_target(model, t);
                let status = o.status();
                let row = Row {
                    id: t.id.clone(),
                    group: t.group.clone(),
                    role: t.role.clone(),
                    quantity: t.quantity.clone(),
                    published: t.check.describe(),
                    unit: t.unit.clone(),
                    model: o.model_value.as_ref().ok().copied(),
                    error: o.model_value.as_ref().err().map(|e| e.to_string()),
                    status: status.label(),
                    source: t.source.clone(),
                    tolerance_basis: t.tolerance_basis.clone(),
                    known_failure: t.known_failure.clone(),
                };
                let Ok(mut g) = shared.lock() else { return };
                if let Some(table) = g.as_mut() {
                    table.rows.push(row);
                    match status {
                        Status::Pass => table.passed += 1,
                        Status::Known => table.known += 1,
                        _ => table.failed += 1,
                    }
                    table.complete = table.rows.len() == table.total;
                }
            }
        });
        Ok(table)
    }
}
