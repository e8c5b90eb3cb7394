//! The CMT column in the model's terms: a dose goes into a drug's route (`anakinra_sc`,
//! `anakinra_iv`), an observation reads an observable (`anakinra_plasma`, `crp`). CMT may be
//! written by name or by number. Numbers: the routes from 1, drug by drug in model order and
//! within a drug SC before IV; the observables from [`FIRST_OBSERVABLE_CMT`] in model order,
//! so that adding a route does not renumber observations. `il1sim data-records --cmt` lists
//! the table of the model in use.

use crate::model::definition::{Model, RouteKind};

/// CMT number of the model's first observable (the next ones follow in model order). Routes
/// are numbered from 1; a model has far fewer than 100 routes, so the two ranges never meet.
pub const FIRST_OBSERVABLE_CMT: u32 = 101;

/// What a CMT value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmt {
    /// A dose route of drug `drug` (index in `Model::drugs`).
    Route { drug: usize, route: RouteKind },
    /// An observable (index in `Model::observables`).
    Observable(usize),
}

/// One row of the CMT table.
#[derive(Debug, Clone, PartialEq)]
pub struct CmtEntry {
    pub number: u32,
    /// `<drug>_<route>` for a route, the observable's name for an observable.
    pub name: String,
    pub target: Cmt,
    /// What it is, with the unit of AMT or DV.
    pub description: String,
}

/// The model's CMT table: every route, then every observable.
pub fn cmt_table(model: &Model) -> Vec<CmtEntry> {
    let mut table = Vec::new();
    let mut number = 1;
    for (d, drug) in model.drugs.iter().enumerate() {
        for route in drug.routes.keys() {
            table.push(CmtEntry {
                number,
                name: format!("{}_{}", drug.name, route.label()),
                target: Cmt::Route {
                    drug: d,
                    route: *route,
                },
                description: format!(
                    "dose of {} {} (AMT in mg)",
                    drug.name,
                    match route {
                        RouteKind::Subcutaneous => "subcutaneous",
                        RouteKind::Intravenous => "intravenous (RATE for an infusion)",
                    }
                ),
            });
            number += 1;
        }
    }
    for (k, o) in model.observables.iter().enumerate() {
        table.push(CmtEntry {
            number: FIRST_OBSERVABLE_CMT + k as u32,
            name: o.name.clone(),
            target: Cmt::Observable(k),
            description: format!("observation of {} (DV in {})", o.description, o.unit),
        });
    }
    table
}

/// The entry a CMT value names: a whole number, or a name (any case).
pub fn lookup<'t>(table: &'t [CmtEntry], text: &str) -> Option<&'t CmtEntry> {
    let text = text.trim();
    match text.parse::<f64>() {
        Ok(v) => table
            .iter()
            .find(|e| v.fract() == 0.0 && v >= 1.0 && e.number as f64 == v),
        Err(_) => table.iter().find(|e| e.name.eq_ignore_ascii_case(text)),
    }
}

/// Short list of the allowed values for messages: "1 anakinra_sc, 2 anakinra_iv, …".
pub fn allowed(table: &[CmtEntry], routes: bool) -> String {
    table
        .iter()
        .filter(|e| matches!(e.target, Cmt::Route { .. }) == routes)
        .map(|e| format!("{} {}", e.number, e.name))
        .collect::<Vec<_>>()
        .join(", ")
}
