//! Axes: linear and logarithmic, with precomputed tick positions and labels.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

/// A linear or logarithmic axis with precomputed tick positions.
///
/// plotters' own logarithmic axis only labels powers of ten (so a range
/// within one decade gets no label at all), and its linear axis does not
/// tell the label formatter the tick spacing; this type does both.
#[derive(Debug, Clone)]
pub(super) struct Axis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) log: bool,
    /// Labelled ticks (bold grid lines).
    pub(super) ticks: Vec<f64>,
    /// Light grid lines.
    pub(super) minor: Vec<f64>,
    /// How tick values are written.
    pub(super) format: TickFormat,
}

/// How the tick labels of an [`Axis`] are written.
#[derive(Debug, Clone, Copy)]
pub(super) enum TickFormat {
    /// Ticks are multiples of `step` (a power of ten times 1, 2 or 5): show
    /// as many digits as the spacing needs, in scientific notation if asked.
    Step { step: f64, scientific: bool },
    /// Ticks are 1, 2, 3 or 5 times a power of ten: write each one on its own.
    Mantissa,
}

impl Axis {
    /// Linear axis over `lo..hi` with about `target` labelled ticks.
    pub(super) fn linear(lo: f64, hi: f64, target: u32) -> Self {
        Self::stepped(lo, hi, target, false)
    }

    /// Axis over `lo..hi` with about `target` labelled ticks at round linear
    /// steps, mapped linearly or logarithmically.
    fn stepped(lo: f64, hi: f64, target: u32, log: bool) -> Self {
        let step = nice_step((hi - lo) / f64::from(target));
        // Scientific notation for tiny steps and for long labels.
        let scientific = !plain_magnitude(step) || lo.abs().max(hi.abs()) >= 1e6;
        Axis {
            lo,
            hi,
            log,
            ticks: multiples(lo, hi, step),
            minor: multiples(lo, hi, step / 2.0),
            format: TickFormat::Step { step, scientific },
        }
    }

    /// Logarithmic axis over `lo..hi` (both positive): ticks at 1, 2, 3, 5
    /// times powers of ten (fewer as the range grows), or at round linear
    /// steps when the range is within one decade.
    pub(super) fn log(lo: f64, hi: f64) -> Self {
        let decades = (hi / lo).log10();
        if decades < 1.0 {
            return Self::stepped(lo, hi, 5, true);
        }
        let (mantissas, stride): (&[f64], i32) = if decades <= 1.5 {
            (&[1.0, 2.0, 3.0, 5.0], 1)
        } else if decades <= 3.0 {
            (&[1.0, 2.0, 5.0], 1)
        } else {
            (&[1.0], (decades / 8.0).ceil() as i32)
        };
        let all_mantissas: &[f64] = if decades <= 6.0 {
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        } else {
            &[1.0]
        };
        // The range lies within 1e-300..1e300 (see `log_y_range`), so the
        // exponents fit an i32 comfortably.
        let exponents = lo.log10().floor() as i32..=hi.log10().ceil() as i32;
        let in_range = |v: &f64| (lo..=hi).contains(v);
        let ticks = exponents
            .clone()
            .filter(|e| e.rem_euclid(stride) == 0)
            .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
            .filter(in_range)
            .collect();
        let minor = exponents
            .flat_map(|e| all_mantissas.iter().map(move |m| m * 10f64.powi(e)))
            .filter(in_range)
            .collect();
        Axis {
            lo,
            hi,
            log: true,
            ticks,
            minor,
            format: TickFormat::Mantissa,
        }
    }

    /// Position of `v` as a fraction of the axis length (0 at `lo`).
    fn fraction(&self, v: f64) -> f64 {
        if self.log {
            (v / self.lo).ln() / (self.hi / self.lo).ln()
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    /// The value at fraction `f` of the axis length (0 at `lo`).
    pub(super) fn value_at(&self, f: f64) -> f64 {
        if self.log {
            self.lo * (self.hi / self.lo).powf(f)
        } else {
            self.lo + (self.hi - self.lo) * f
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = self.fraction(*value);
        // Everything drawn lies on the axis; keep stray values near it so
        // that the pixel arithmetic cannot overflow.
        let f = if f.is_nan() { 0.0 } else { f.clamp(-1.0, 2.0) };
        let length = f64::from(limit.1) - f64::from(limit.0);
        limit.0.saturating_add((length * f + 1e-3).floor() as i32)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl TickFormat {
    /// The label of tick value `v`.
    pub(super) fn label(self, v: f64) -> String {
        match self {
            TickFormat::Step { step, scientific } => {
                let step_exp = exponent(step);
                if !scientific {
                    let decimals = (-step_exp).clamp(0, 12) as usize;
                    format!("{v:.decimals$}")
                } else if v == 0.0 {
                    "0".to_owned()
                } else {
                    let digits = (exponent(v) - step_exp).clamp(0, 12) as usize;
                    scientific_label(v, digits)
                }
            }
            TickFormat::Mantissa => {
                if plain_magnitude(v) {
                    let decimals = (-exponent(v)).clamp(0, 12) as usize;
                    format!("{v:.decimals$}")
                } else {
                    scientific_label(v, 0)
                }
            }
        }
    }
}

/// Whether `v` is written without an exponent.
fn plain_magnitude(v: f64) -> bool {
    (1e-3..1e5).contains(&v.abs())
}

/// Decimal exponent of `v`: 0 for 1..10, -1 for 0.1..1 (robust to `log10`
/// rounding just below an integer); 0 for zero and non-finite values.
fn exponent(v: f64) -> i32 {
    let e = (v.abs().log10() + 1e-9).floor();
    if e.is_finite() {
        e.clamp(-400.0, 400.0) as i32
    } else {
        0
    }
}

/// The smallest power of ten times 1, 2 or 5 that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let base = 10f64.powi(exponent(raw));
    let m = raw / base;
    let factor = if m <= 1.0 + 1e-9 {
        1.0
    } else if m <= 2.0 + 1e-9 {
        2.0
    } else if m <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    factor * base
}

/// The multiples of `step` within `lo..=hi`, give or take rounding (none if
/// there would be unreasonably many, or `step` is degenerate).
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let (first, last) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
    if !(first.is_finite() && last.is_finite()) || last - first > 1000.0 {
        return Vec::new();
    }
    // The casts saturate (the axis ranges built here keep |first| far below
    // 2^63 anyway), and the check above bounds the count.
    (first as i64..=last as i64)
        .map(|k| k as f64 * step)
        .collect()
}

/// `v` in scientific notation with at most `digits` decimals in the
/// mantissa, trailing zeros removed: `1.50e3` becomes `1.5e3`.
fn scientific_label(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => {
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}e{exp}")
        }
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(axis: &Axis) -> Vec<String> {
        axis.ticks.iter().map(|&v| axis.format.label(v)).collect()
    }

    #[test]
    fn linear_ticks() {
        assert_eq!(
            labels(&Axis::linear(0.0, 28.0, 10)),
            ["0", "5", "10", "15", "20", "25"]
        );
        assert_eq!(
            labels(&Axis::linear(-0.1, 2.1, 6)),
            ["0.0", "0.5", "1.0", "1.5", "2.0"]
        );
        assert_eq!(
            labels(&Axis::linear(2.7, 3.3, 6)),
            ["2.7", "2.8", "2.9", "3.0", "3.1", "3.2", "3.3"]
        );
        assert_eq!(
            labels(&Axis::linear(-1.0, 1.05e6, 6)),
            ["0", "2e5", "4e5", "6e5", "8e5", "1e6"]
        );
        assert_eq!(labels(&Axis::linear(1234.0, 1234.5, 6))[1], "1234.1");
        assert_eq!(
            labels(&Axis::linear(0.0, 5e5, 6)),
            ["0", "1e5", "2e5", "3e5", "4e5", "5e5"]
        );
        assert_eq!(labels(&Axis::linear(1e7, 1.0005e7, 5))[1], "1.0001e7");
        assert_eq!(labels(&Axis::linear(0.0, 3e4, 6))[1], "5000");
        assert_eq!(labels(&Axis::linear(0.0, 3e-4, 6))[3], "1.5e-4");
        assert_eq!(
            labels(&Axis::linear(100.0, 900.0, 6)),
            ["200", "400", "600", "800"]
        );
        let axis = Axis::linear(0.0, 10.0, 5);
        assert_eq!(axis.map(&5.0, (0, 100)), 50);
        assert_eq!(axis.map(&f64::NAN, (0, 100)), 0);
        assert_eq!(axis.map(&1e300, (0, 100)), 200);
        assert!((axis.value_at(0.25) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn log_ticks() {
        assert_eq!(
            labels(&Axis::log(0.9, 600.0)),
            ["1", "2", "5", "10", "20", "50", "100", "200", "500"]
        );
        assert_eq!(
            labels(&Axis::log(0.04, 0.6)),
            ["0.05", "0.1", "0.2", "0.3", "0.5"]
        );
        // Within one decade: round linear steps.
        assert_eq!(labels(&Axis::log(2.0, 8.0)), ["2", "4", "6", "8"]);
        assert_eq!(labels(&Axis::log(2.1e-6, 2.9e-6))[0], "2.2e-6");
        // Many decades: every other power of ten.
        assert_eq!(
            labels(&Axis::log(1e-6, 2e6)),
            ["1e-6", "1e-4", "0.01", "1", "100", "10000", "1e6"]
        );
        let axis = Axis::log(1.0, 100.0);
        assert_eq!(axis.map(&10.0, (100, 0)), 50);
        assert_eq!(axis.map(&0.0, (100, 0)), 200);
        assert!((axis.value_at(0.5) - 10.0).abs() < 1e-9);
    }
}
