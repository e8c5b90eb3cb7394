//! Units: every number in a model file carries a unit string; the engine works in one
//! canonical system (time h, volume L, amount nmol, concentration nM) so that rate laws
//! never need conversion factors in the hot path.

use std::fmt;

/// Physical dimension as exponents of (amount, volume, time). Concentration is
/// amount·volume⁻¹; a dimensionless number is all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimension {
    pub amount: i8,
    pub volume: i8,
    pub time: i8,
}

impl Dimension {
    pub const NONE: Dimension = Dimension::new(0, 0, 0);
    pub const TIME: Dimension = Dimension::new(0, 0, 1);
    pub const RATE: Dimension = Dimension::new(0, 0, -1);
    pub const VOLUME: Dimension = Dimension::new(0, 1, 0);
    pub const AMOUNT: Dimension = Dimension::new(1, 0, 0);
    pub const CONCENTRATION: Dimension = Dimension::new(1, -1, 0);
    pub const CLEARANCE: Dimension = Dimension::new(0, 1, -1);
    pub const AMOUNT_RATE: Dimension = Dimension::new(1, 0, -1);
    pub const CONCENTRATION_RATE: Dimension = Dimension::new(1, -1, -1);
    pub const SECOND_ORDER_RATE: Dimension = Dimension::new(-1, 1, -1);
    /// Molecular mass in kDa (= ng/pmol = mg/µmol); kept separate from the molar system.
    pub const MOLAR_MASS: Dimension = Dimension::new(0, 0, 0);

    pub const fn new(amount: i8, volume: i8, time: i8) -> Self {
        Dimension {
            amount,
            volume,
            time,
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Dimension::NONE => "dimensionless",
            Dimension::TIME => "time",
            Dimension::RATE => "1/time",
            Dimension::VOLUME => "volume",
            Dimension::AMOUNT => "amount",
            Dimension::CONCENTRATION => "concentration",
            Dimension::CLEARANCE => "volume/time",
            Dimension::AMOUNT_RATE => "amount/time",
            Dimension::CONCENTRATION_RATE => "concentration/time",
            Dimension::SECOND_ORDER_RATE => "1/(concentration·time)",
            _ => {
                return write!(
                    f,
                    "amount^{} volume^{} time^{}",
                    self.amount, self.volume, self.time
                )
            }
        };
        f.write_str(name)
    }
}

/// A unit the model files may use: its spelling, dimension and factor to canonical units.
struct UnitDef {
    names: &'static [&'static str],
    dimension: Dimension,
    to_canonical: f64,
}

const UNITS: &[UnitDef] = &[
    UnitDef {
        names: &["1", "", "fraction", "ratio"],
        dimension: Dimension::NONE,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["%"],
        dimension: Dimension::NONE,
        to_canonical: 0.01,
    },
    UnitDef {
        names: &["kDa"],
        dimension: Dimension::MOLAR_MASS,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["h"],
        dimension: Dimension::TIME,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["min"],
        dimension: Dimension::TIME,
        to_canonical: 1.0 / 60.0,
    },
    UnitDef {
        names: &["d", "day"],
        dimension: Dimension::TIME,
        to_canonical: 24.0,
    },
    UnitDef {
        names: &["1/h", "h-1"],
        dimension: Dimension::RATE,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["1/min"],
        dimension: Dimension::RATE,
        to_canonical: 60.0,
    },
    UnitDef {
        names: &["1/d", "1/day"],
        dimension: Dimension::RATE,
        to_canonical: 1.0 / 24.0,
    },
    UnitDef {
        names: &["L"],
        dimension: Dimension::VOLUME,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["mL"],
        dimension: Dimension::VOLUME,
        to_canonical: 1e-3,
    },
    UnitDef {
        names: &["L/h"],
        dimension: Dimension::CLEARANCE,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["L/d", "L/day"],
        dimension: Dimension::CLEARANCE,
        to_canonical: 1.0 / 24.0,
    },
    UnitDef {
        names: &["mL/min"],
        dimension: Dimension::CLEARANCE,
        to_canonical: 0.06,
    },
    UnitDef {
        names: &["nmol"],
        dimension: Dimension::AMOUNT,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["pmol"],
        dimension: Dimension::AMOUNT,
        to_canonical: 1e-3,
    },
    UnitDef {
        names: &["umol", "µmol"],
        dimension: Dimension::AMOUNT,
        to_canonical: 1e3,
    },
    UnitDef {
        names: &["nM"],
        dimension: Dimension::CONCENTRATION,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["pM"],
        dimension: Dimension::CONCENTRATION,
        to_canonical: 1e-3,
    },
    UnitDef {
        names: &["uM", "µM"],
        dimension: Dimension::CONCENTRATION,
        to_canonical: 1e3,
    },
    UnitDef {
        names: &["nmol/h"],
        dimension: Dimension::AMOUNT_RATE,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["pmol/h"],
        dimension: Dimension::AMOUNT_RATE,
        to_canonical: 1e-3,
    },
    UnitDef {
        names: &["pmol/d", "pmol/day"],
        dimension: Dimension::AMOUNT_RATE,
        to_canonical: 1e-3 / 24.0,
    },
    UnitDef {
        names: &["nM/h"],
        dimension: Dimension::CONCENTRATION_RATE,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["pM/h"],
        dimension: Dimension::CONCENTRATION_RATE,
        to_canonical: 1e-3,
    },
    UnitDef {
        names: &["1/(nM*h)", "1/nM/h"],
        dimension: Dimension::SECOND_ORDER_RATE,
        to_canonical: 1.0,
    },
    UnitDef {
        names: &["1/(M*s)", "1/M/s"],
        dimension: Dimension::SECOND_ORDER_RATE,
        to_canonical: 3600.0 * 1e-9,
    },
];

/// A parsed unit: its dimension and the factor that converts a value to canonical units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    pub dimension: Dimension,
    pub to_canonical: f64,
}

/// Parse a unit string; `None` if it is not one of the units listed in [`known_units`].
pub fn parse_unit(text: &str) -> Option<Unit> {
    let text = text.trim();
    UNITS
        .iter()
        .find(|u| u.names.contains(&text))
        .map(|u| Unit {
            dimension: u.dimension,
            to_canonical: u.to_canonical,
        })
}

/// The unit spellings accepted in model files, for error messages.
pub fn known_units() -> String {
    UNITS
        .iter()
        .flat_map(|u| u.names.iter())
        .filter(|n| !n.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Output units for concentration observables, as a factor from nM given the molar mass in kDa.
/// 1 nM of a 1 kDa protein is 1 ng/mL.
pub fn concentration_output_factor(unit: &str, molar_mass_kda: Option<f64>) -> Option<f64> {
    match (unit, molar_mass_kda) {
        ("nM", _) => Some(1.0),
        ("pM", _) => Some(1e3),
        ("ng/mL", Some(mw)) | ("ug/L", Some(mw)) | ("µg/L", Some(mw)) => Some(mw),
        ("pg/mL", Some(mw)) => Some(mw * 1e3),
        ("mg/L", Some(mw)) | ("ug/mL", Some(mw)) | ("µg/mL", Some(mw)) => Some(mw * 1e-3),
        ("mg/dL", Some(mw)) => Some(mw * 1e-4),
        _ => None,
    }
}

/// Column-name-safe spelling of a unit (`mg/L` → `mg_per_L`).
pub fn unit_slug(unit: &str) -> String {
    unit.replace('/', "_per_")
        .replace('µ', "u")
        .replace('%', "percent")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearance_in_ml_per_min_converts_to_l_per_h() {
        let u = parse_unit("mL/min").unwrap();
        assert_eq!(u.dimension, Dimension::CLEARANCE);
        assert!((137.0 * u.to_canonical - 8.22).abs() < 1e-12);
    }

    #[test]
    fn kon_in_per_molar_per_second() {
        let u = parse_unit("1/(M*s)").unwrap();
        assert!((1e6 * u.to_canonical - 3.6).abs() < 1e-12);
    }

    #[test]
    fn nanomolar_to_mass_concentration() {
        assert_eq!(concentration_output_factor("ng/mL", Some(17.3)), Some(17.3));
        assert!((concentration_output_factor("mg/L", Some(115.0)).unwrap() - 0.115).abs() < 1e-15);
        assert_eq!(concentration_output_factor("ng/mL", None), None);
        assert!(parse_unit("furlong").is_none());
    }
}
