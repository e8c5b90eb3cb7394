//! Units in the document: the unit definitions (hour, nmol, litre and their combinations)
//! and the unit of a parameter, an observable and a conversion factor.

use super::document::SbmlUnitDefinition;
use crate::model::units::Dimension;

pub(super) fn unit_definitions() -> Vec<SbmlUnitDefinition> {
    const H: f64 = 3600.0;
    let d = |id, units| SbmlUnitDefinition { id, units };
    vec![
        d("hour", vec![("second", 1, 0, H)]),
        // Declared so that no tool has to guess; nothing in the model has an area.
        d("square_metre", vec![("metre", 2, 0, 1.0)]),
        d("per_hour", vec![("second", -1, 0, H)]),
        d("nmol", vec![("mole", 1, -9, 1.0)]),
        d("nM", vec![("mole", 1, -9, 1.0), ("litre", -1, 0, 1.0)]),
        d("pM", vec![("mole", 1, -12, 1.0), ("litre", -1, 0, 1.0)]),
        d(
            "litre_per_hour",
            vec![("litre", 1, 0, 1.0), ("second", -1, 0, H)],
        ),
        d(
            "nmol_per_hour",
            vec![("mole", 1, -9, 1.0), ("second", -1, 0, H)],
        ),
        d(
            "nM_per_hour",
            vec![
                ("mole", 1, -9, 1.0),
                ("litre", -1, 0, 1.0),
                ("second", -1, 0, H),
            ],
        ),
        d(
            "per_nM_per_hour",
            vec![
                ("mole", -1, -9, 1.0),
                ("litre", 1, 0, 1.0),
                ("second", -1, 0, H),
            ],
        ),
        // 1 kDa = 1 kg/mol.
        d("kDa", vec![("kilogram", 1, 0, 1.0), ("mole", -1, 0, 1.0)]),
        d(
            "ng_per_mL",
            vec![("gram", 1, -9, 1.0), ("litre", -1, -3, 1.0)],
        ),
        d(
            "pg_per_mL",
            vec![("gram", 1, -12, 1.0), ("litre", -1, -3, 1.0)],
        ),
        d(
            "ug_per_L",
            vec![("gram", 1, -6, 1.0), ("litre", -1, 0, 1.0)],
        ),
        d(
            "mg_per_L",
            vec![("gram", 1, -3, 1.0), ("litre", -1, 0, 1.0)],
        ),
        d(
            "ug_per_mL",
            vec![("gram", 1, -6, 1.0), ("litre", -1, -3, 1.0)],
        ),
        d(
            "mg_per_dL",
            vec![("gram", 1, -3, 1.0), ("litre", -1, -1, 1.0)],
        ),
        // Factors from nM to the observable units (mass units per nM are g/mol multiples).
        d("pM_per_nM", vec![("dimensionless", 1, -3, 1.0)]),
        d(
            "ng_per_mL_per_nM",
            vec![("gram", 1, 3, 1.0), ("mole", -1, 0, 1.0)],
        ),
        d(
            "pg_per_mL_per_nM",
            vec![("gram", 1, 0, 1.0), ("mole", -1, 0, 1.0)],
        ),
        d(
            "mg_per_L_per_nM",
            vec![("gram", 1, 6, 1.0), ("mole", -1, 0, 1.0)],
        ),
        d(
            "mg_per_dL_per_nM",
            vec![("gram", 1, 7, 1.0), ("mole", -1, 0, 1.0)],
        ),
    ]
}

/// SBML unit id of a model parameter, from its dimension (molar masses are in kDa).
pub(super) fn parameter_units(unit: &str, dim: Dimension) -> Option<&'static str> {
    if unit == "kDa" {
        return Some("kDa");
    }
    Some(match dim {
        Dimension::NONE => "dimensionless",
        Dimension::TIME => "hour",
        Dimension::RATE => "per_hour",
        Dimension::VOLUME => "litre",
        Dimension::AMOUNT => "nmol",
        Dimension::CONCENTRATION => "nM",
        Dimension::CLEARANCE => "litre_per_hour",
        Dimension::AMOUNT_RATE => "nmol_per_hour",
        Dimension::CONCENTRATION_RATE => "nM_per_hour",
        Dimension::SECOND_ORDER_RATE => "per_nM_per_hour",
        _ => return None,
    })
}

/// SBML unit id of an observable's output unit.
pub(super) fn observable_units(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "nM" => "nM",
        "pM" => "pM",
        "ng/mL" | "ug/L" | "µg/L" => "ng_per_mL",
        "pg/mL" => "pg_per_mL",
        "mg/L" | "ug/mL" | "µg/mL" => "mg_per_L",
        "mg/dL" => "mg_per_dL",
        "1" | "" | "fraction" | "ratio" => "dimensionless",
        _ => return None,
    })
}

/// SBML unit id of the factor from nM to an observable's output unit.
pub(super) fn factor_units(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "nM" => "dimensionless",
        "pM" => "pM_per_nM",
        "ng/mL" | "ug/L" | "µg/L" => "ng_per_mL_per_nM",
        "pg/mL" => "pg_per_mL_per_nM",
        "mg/L" | "ug/mL" | "µg/mL" => "mg_per_L_per_nM",
        "mg/dL" => "mg_per_dL_per_nM",
        _ => return None,
    })
}
